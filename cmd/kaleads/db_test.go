package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The README's database walk-through, command by command.
func TestDatabaseCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.EmptyURL(t))
	ctx := context.Background()
	do := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("kaleads %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	if out := do("migrate"); !strings.Contains(out, "applied") {
		t.Errorf("first migrate: %q", out)
	}
	if out := do("migrate"); !strings.Contains(out, "up to date") {
		t.Errorf("second migrate: %q", out)
	}
	if out := do("client", "add", "../../examples/prospectia", "--name", "Acme"); !strings.Contains(out, `template "Cold Email V1"`) {
		t.Errorf("client add: %q", out)
	}
	out := do("upload", "../../examples/prospectia/contacts_bad.csv", "--client", "Acme", "--template", "Cold Email V1")
	m := regexp.MustCompile(`batch ([0-9a-f-]{36}): 10 rows read, 3 imported, 7 rejected`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "line 4: email \"jean@@x.fr\"") {
		t.Fatalf("upload: %q", out)
	}
	if out := do("generate", "--batch", m[1], "--sites", "../../examples/prospectia/sites", "--quiet"); !strings.Contains(out, "3 contacts to do, 3 emails stored for review, 0 already had one, 0 failed") {
		t.Errorf("generate --batch: %q", out)
	}
	if out := do("upload", "../../examples/prospectia/contacts_bad.csv", "--client", "Acme"); !strings.Contains(out, "0 imported, 7 rejected, 3 already known") {
		t.Errorf("second upload: %q", out)
	}
	if out := do("sweep"); !strings.Contains(out, "0 stale contacts back to pending") {
		t.Errorf("sweep: %q", out)
	}
}

func TestDatabaseURLRequired(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("got %v", err)
	}
}
