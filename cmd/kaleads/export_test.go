package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// The export commands end to end: the example campaign is generated,
// approved, then exported to a Smartlead stand-in, dry first.
func TestExportCommands(t *testing.T) {
	dbURL := storetest.URL(t)
	t.Setenv("DATABASE_URL", dbURL)
	fake := &sequencertest.Smartlead{Key: "sl-test-key"}
	fake.AddCampaign("4242")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Setenv("SMARTLEAD_API_KEY", "sl-test-key")
	t.Setenv("SMARTLEAD_BASE_URL", srv.URL+"/api/v1")
	t.Setenv("INSTANTLY_API_KEY", "")
	ctx := context.Background()
	do := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		if strings.Contains(stdout.String()+stderr.String(), "sl-test-key") {
			t.Errorf("kaleads %s printed the API key", strings.Join(args, " "))
		}
		return stdout.String() + stderr.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := do(args...)
		if err != nil {
			t.Fatalf("kaleads %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("client", "add", "../../examples/prospectia", "--name", "Acme")
	out := must("upload", "../../examples/prospectia/contacts.csv", "--client", "Acme")
	batch := regexp.MustCompile(`batch ([0-9a-f-]{36})`).FindStringSubmatch(out)[1]
	must("generate", "--batch", batch, "--sites", "../../examples/prospectia/sites", "--quiet")

	// Nothing approved yet: a dry run has nothing to send and says why.
	out = must("export", "--client", "Acme", "--to", "smartlead", "--campaign", "4242", "--dry-run")
	if !strings.Contains(out, "would send 0 emails") || !strings.Contains(out, "waiting for review: 24 emails") {
		t.Errorf("dry run before review:\n%s", out)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Pool().Exec(ctx, `update public.emails_generated set review_status = 'approved'`); err != nil {
		t.Fatal(err)
	}

	// An exclusion file with a bad line stores nothing; a good one does.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("voxaly.example, existing customer\nnot a domain\n"), 0o644)
	if out, err := do("client", "exclude", "Acme", "--file", bad); err == nil || !strings.Contains(err.Error(), `line 2: "not a domain" is not a domain`) {
		t.Errorf("bad exclusion file: %v\n%s", err, out)
	}
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte("# customers\nvoxaly.example, existing customer\n"), 0o644)
	if out := must("client", "exclude", "Acme", "--file", good); !strings.Contains(out, "1 exclusions read, 1 new") {
		t.Errorf("client exclude: %q", out)
	}
	if out := must("client", "exclude", "Acme", "--list"); !strings.Contains(out, "domain\tvoxaly.example\texisting customer") {
		t.Errorf("client exclude --list: %q", out)
	}

	var wantSent int
	if err := st.Pool().QueryRow(ctx, `select count(*) from (select c.email, row_number() over
		(partition by split_part(lower(c.email), '@', 2) order by e.created_at, e.id) as k
		from public.emails_generated e join public.contacts_to_enrich c on c.id = e.contact_id
		where split_part(lower(c.email), '@', 2) <> 'voxaly.example') x where k <= 3`).Scan(&wantSent); err != nil {
		t.Fatal(err)
	}
	out = must("export", "--client", "Acme", "--to", "smartlead", "--campaign", "4242", "--dry-run")
	if !strings.Contains(out, "DRY RUN") || !strings.Contains(out, "would send "+strconv.Itoa(wantSent)+" emails") ||
		!regexp.MustCompile(`held\s+\S+@voxaly\.example\s+.*excluded: domain voxaly\.example \(existing customer\)`).MatchString(out) {
		t.Errorf("dry run, want %d to send:\n%s", wantSent, out)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("the dry run made %d requests", n)
	}

	out = must("export", "--client", "Acme", "--to", "smartlead", "--campaign", "4242", "--campaign-name", "Acme – Cold V1")
	if !strings.Contains(out, "sent "+strconv.Itoa(wantSent)+" emails to smartlead campaign \"Acme – Cold V1\" (4242)") {
		t.Errorf("export, want %d sent:\n%s", wantSent, out)
	}
	inserted, _ := fake.Leads("4242")
	if len(inserted) != wantSent {
		t.Errorf("campaign holds %d leads, want %d", len(inserted), wantSent)
	}
	out = must("export", "--client", "Acme", "--to", "smartlead", "--campaign", "4242")
	if !strings.Contains(out, "sent 0 emails") {
		t.Errorf("second export:\n%s", out)
	}

	// The configured destination is the default; "none" removes it.
	if _, err := do("client", "export", "Acme", "--to", "smartlead"); err == nil || !strings.Contains(err.Error(), "needs --campaign") {
		t.Errorf("client export without a campaign: %v", err)
	}
	if out := must("client", "export", "Acme", "--to", "smartlead", "--campaign", "4242", "--campaign-name", "Acme – Cold V1", "--domain-cap", "5"); !strings.Contains(out, "daily export at 14:00 Europe/Paris to smartlead 4242, at most 5 addresses per domain") {
		t.Errorf("client export: %q", out)
	}
	if out := must("export", "--client", "Acme", "--dry-run"); !strings.Contains(out, `would send`) || !strings.Contains(out, `campaign "Acme – Cold V1" (4242)`) {
		t.Errorf("export with the configured destination:\n%s", out)
	}

	// The batch's files, rebuilt from the database.
	files := filepath.Join(dir, "files")
	if out := must("export", "--batch", batch, "--to", "files", "--out", files); !strings.Contains(out, "24 emails") {
		t.Errorf("export --batch: %q", out)
	}
	f, err := os.Open(filepath.Join(files, "emails.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		if !strings.Contains(sc.Text(), `"status":"generated"`) {
			t.Errorf("emails.jsonl line %d: %.200s", lines+1, sc.Text())
		}
	}
	if lines != 24 {
		t.Errorf("emails.jsonl has %d lines, want 24", lines)
	}
	if b, err := os.ReadFile(filepath.Join(files, "report.html")); err != nil || !bytes.Contains(b, []byte("Acme")) {
		t.Errorf("report.html: %v", err)
	}
	if _, err := do("export", "--batch", "00000000-0000-4000-8000-000000000000", "--to", "files", "--out", files); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown batch: %v", err)
	}
}
