package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/evaluation"
)

// TestEvalCommand runs the dev half of the evaluation set offline (a
// fraction of a second) with --details and --json.
func TestEvalCommand(t *testing.T) {
	t.Parallel()
	jsonFile := filepath.Join(t.TempDir(), "eval.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"eval", "--set", "../../examples/eval", "--engine", "offline", "--split", "dev", "--details", "--json", jsonFile}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"offline engine, split dev", "category accuracy", "persona accuracy", "competitor accuracy",
		"self-competitors", "partners named as competitors", "quotes grounded", "average quality", "emails with a gate flag", "leaks",
		"aircall.io [dev] generated", "    competitor "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "heldout") || strings.Contains(out, "ringover.com") {
		t.Errorf("--split dev shows the held-out half:\n%s", out)
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep evaluation.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Engine != "offline" || len(rep.Figures) != 1 || rep.Figures[0].Split != "dev" || rep.Figures[0].Generated == 0 || rep.Figures[0].Generated != len(rep.Companies) {
		t.Errorf("json report: engine %q, %d figures, %d companies", rep.Engine, len(rep.Figures), len(rep.Companies))
	}
}

func TestEvalCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--split", "test"}, `--split "test": want dev, heldout or all`},
		{[]string{"eval", "--set", "nowhere"}, "eval: set nowhere"},
		{[]string{"eval", "--set", "../../examples/eval", "--engine", "gpt"}, "gpt"},
		{[]string{"eval", "extra"}, `unexpected argument "extra"`},
		{[]string{"eval", "--concurrency", "0"}, "--concurrency must be ≥ 1"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tt.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
}
