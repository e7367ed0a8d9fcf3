package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/llmsim"
)

func TestMaxFallbackShareFlag(t *testing.T) {
	t.Parallel()
	base := []string{"generate", "--client", "../../examples/prospectia", "--contacts", "../../examples/prospectia/contacts.csv", "--engine", "offline", "--quiet"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--max-fallback-share", "1.5"}, "--max-fallback-share 1.5: want a share between 0 and 1"},
		{[]string{"--max-fallback-share", "-0.1"}, "--max-fallback-share -0.1: want a share between 0 and 1"},
		{[]string{"--max-fallback-share", "NaN"}, "want a share between 0 and 1"},
		{[]string{"--max-fallback-share", "lots"}, "invalid value"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		args := append(append([]string{}, base...), tt.args...)
		err := run(context.Background(), append(args, "--out", t.TempDir()), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"generate", "--batch", "b", "--max-fallback-share", "0.5"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--max-fallback-share cannot be used with --batch") {
		t.Errorf("--batch with --max-fallback-share: %v", err)
	}
}

// Against a model whose every answer is cut off, generate writes the
// emails from the offline engine, prints what happened by agent and
// reason, and exits non-zero naming the share and the reason — unless the
// limit allows it.
func TestGenerateFailsOnFallbackShare(t *testing.T) {
	sim := llmsim.New(llmsim.Options{Truncated: 1, Seed: 1})
	url, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	for k, v := range map[string]string{"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sim", "KALEADS_LLM_CONFIG": "", "KALEADS_LLM_PROVIDER": "",
		"KALEADS_LLM_RPM": "1000000", "KALEADS_LLM_TPM": "1000000000"} {
		t.Setenv(k, v)
	}
	tests := []struct {
		share   string
		wantErr string // "" : no error
	}{
		{"0.2", "100.0 % of the agent answers fell back"},
		{"1", ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"generate", "--client", "../../examples/prospectia", "--contacts", "../../examples/prospectia/contacts.csv",
			"--sites", "../../examples/prospectia/sites", "--out", t.TempDir(), "--limit", "2", "--engine", "llm", "--quiet", "--max-fallback-share", tt.share}, &stdout, &stderr)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("--max-fallback-share %s: %v", tt.share, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "answer still invalid after one repair")):
			t.Errorf("--max-fallback-share %s: got %v, want %q and the reason", tt.share, err, tt.wantErr)
		}
		for _, w := range []string{"emails generated    2: ", "by agent", "answer still invalid after one repair", "fallbacks           ", "model time"} {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("--max-fallback-share %s: summary lacks %q:\n%s", tt.share, w, stdout.String())
			}
		}
	}
}
