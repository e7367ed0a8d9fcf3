package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store/storetest"
)

// Moving a client out of shadow needs the readiness check of its review
// numbers; --force moves anyway and says so; shadow is always allowed.
func TestClientSetPhase(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.URL(t))
	ctx := context.Background()
	do := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	if _, stderr, err := do("client", "add", "../../examples/prospectia", "--name", "Acme"); err != nil {
		t.Fatalf("client add: %v\n%s", err, stderr)
	}
	for _, tc := range []struct {
		args    []string
		wantErr string
		wantOut string
		wantLog string
	}{
		{[]string{"client", "set", "Acme", "--phase", "sometimes"}, "--phase must be shadow, partial or full", "", ""},
		{[]string{"client", "set", "Nobody", "--phase", "shadow"}, "client set", "", ""},
		{[]string{"client", "set", "Acme", "--phase", "partial"}, "not ready for the partial phase", "", ""},
		{[]string{"client", "set", "Acme", "--phase", "partial", "--threshold", "92", "--force"}, "", "phase partial (partial threshold 92", "phase forced"},
		{[]string{"client", "set", "Acme", "--phase", "full", "--sample-rate", "0.1", "--force"}, "", "phase full (partial threshold 92, full threshold 85, review sample 10 %)", "phase forced"},
		{[]string{"client", "set", "Acme", "--phase", "shadow"}, "", "phase shadow", ""},
	} {
		out, stderr, err := do(tc.args...)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case !strings.Contains(out, tc.wantOut) || !strings.Contains(stderr, tc.wantLog):
			t.Errorf("%v: stdout %q stderr %q, want %q / %q", tc.args, out, stderr, tc.wantOut, tc.wantLog)
		}
	}
}
