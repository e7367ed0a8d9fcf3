package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateCommand(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"generate", "--client", "../../examples/prospectia", "--contacts", "../../examples/prospectia/contacts.csv",
		"--sites", "../../examples/prospectia/sites", "--out", out, "--limit", "5"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, want := range []string{"contacts read       24", "contacts processed  5", "emails generated    5: 5 ready (emails.csv), 0 blocked, needs review (report.html)", "success rate        100.0 %", "average quality", "cache hit rate", "wall time", "report.html"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "progress: 5/5 (100%)") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}
	for _, f := range []string{"emails.jsonl", "emails.csv", "errors.csv", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"generate"}, "--client and --contacts required"},
		{[]string{"generate", "--client", "nowhere", "--contacts", "x.csv"}, "pci.md: required file is missing"},
		{[]string{"generate", "--client", "../../examples/prospectia", "--contacts", "missing.csv"}, "missing.csv"},
		{[]string{"generate", "--batch", "b", "--out", "x", "--limit", "3"}, "--limit, --out cannot be used with --batch"},
		{[]string{"generate", "--client", "../../examples/prospectia", "--contacts", "testdata/all_bad.csv", "--out", "OUT", "--quiet"}, "every row of testdata/all_bad.csv was rejected"},
		{[]string{"retry"}, "usage: kaleads retry --batch ID | --contact ID"},
	}
	for _, tt := range tests {
		for i, a := range tt.args {
			if a == "OUT" {
				tt.args[i] = t.TempDir()
			}
		}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tt.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"generate", "-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-batch") {
		t.Errorf("generate -h: %v, usage %q", err, stderr.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"--version"}, &stdout, &stderr); err != nil || !strings.HasPrefix(stdout.String(), "kaleads ") {
		t.Errorf("--version: %v %q", err, stdout.String())
	}
}
