package main

import (
	"bytes"
	"context"
	iofs "io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/storage/storagetest"
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
	if out := do("generate", "--batch", m[1], "--quiet"); !strings.Contains(out, "nothing to do (3 contacts: 3 completed") {
		t.Errorf("generate --batch of a finished batch: %q", out)
	}
	fail := func(want string, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("kaleads %s: %v, want %q", strings.Join(args, " "), err, want)
		}
	}
	fail("batch 00000000-0000-4000-8000-000000000000 not found", "generate", "--batch", "00000000-0000-4000-8000-000000000000")

	// A template that does not parse, or uses a variable nothing produces:
	// nothing is stored.
	bad := t.TempDir()
	copyTree(t, "../../examples/prospectia", bad)
	os.WriteFile(filepath.Join(bad, "template.md"), []byte("Subject: hi {{first_name}}\n\nHello {{favourite_colour}}, {{unclosed\n"), 0o644)
	fail(`"{{" is not closed`, "client", "add", bad, "--name", "Broken")
	os.WriteFile(filepath.Join(bad, "template.md"), []byte("Subject: hi {{first_name}}\n\nHello {{favourite_colour}}\n"), 0o644)
	fail("{{favourite_colour}} is neither a CSV column", "client", "add", bad, "--name", "Broken")
	if out := do("client", "add", bad, "--name", "Custom", "--columns", "favourite_colour"); !strings.Contains(out, "template") {
		t.Errorf("client add with a declared custom column: %q", out)
	}
	os.Remove(filepath.Join(bad, "template.md"))
	if out := do("client", "add", bad, "--name", "NoTemplate"); !strings.Contains(out, "add a template before uploading") {
		t.Errorf("client add without a template: %q", out)
	}
	fail("the client has no template", "upload", "../../examples/prospectia/contacts.csv", "--client", "NoTemplate")
	fail(`client "Broken": not found`, "upload", "../../examples/prospectia/contacts.csv", "--client", "Broken")
}

// A batch whose every contact fails exits non-zero; retry puts them back.
func TestBatchEveryContactFails(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.URL(t))
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"client", "add", "../../examples/prospectia", "--name", "Acme"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"upload", "../../examples/prospectia/contacts.csv", "--client", "Acme"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	batch := regexp.MustCompile(`batch ([0-9a-f-]{36})`).FindStringSubmatch(stdout.String())[1]
	// Break the stored context: every contact now fails for good.
	st, err := openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Pool().Exec(ctx, `update client_context_files set content = 'not json' where name = 'competitors.json'`)
	stdout.Reset()
	err = run(ctx, []string{"generate", "--batch", batch, "--quiet"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "every contact of batch") || !strings.Contains(stdout.String(), "competitors.json") ||
		!strings.Contains(stdout.String(), "kaleads retry --batch "+batch) {
		t.Fatalf("generate: %v\n%s", err, stdout.String())
	}
	st.Pool().Exec(ctx, `update client_context_files f set content = $1 where name = 'competitors.json'`, mustRead(t, "../../examples/prospectia/competitors.json"))
	stdout.Reset()
	if err := run(ctx, []string{"retry", "--batch", batch}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "24 failed contacts back to pending") {
		t.Fatalf("retry: %v %q", err, stdout.String())
	}
	stdout.Reset()
	if err := run(ctx, []string{"generate", "--batch", batch, "--quiet"}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "24 emails stored") {
		t.Fatalf("generate after the fix: %v %q", err, stdout.String())
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDatabaseURLRequired(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("got %v", err)
	}
}

// client add --storage uploads the context files to the Storage bucket.
func TestClientAddToStorage(t *testing.T) {
	t.Setenv("DATABASE_URL", storetest.URL(t))
	fake, _ := storagetest.New(t, "service-key", true)
	t.Setenv(envSupabaseURL, fake.URL)
	t.Setenv(envSupabaseKey, "service-key")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"client", "add", "../../examples/prospectia", "--name", "Acme", "--storage"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`client "Acme" \(([0-9a-f-]{36})\)`).FindStringSubmatch(stdout.String())
	if id == nil || !strings.Contains(stdout.String(), "uploaded to Supabase Storage clients/"+id[1]) {
		t.Fatalf("client add --storage: %q", stdout.String())
	}
	for _, name := range []string{"pci.md", "competitors.json", "case_studies/appelia.md", "template.md"} {
		got, ok := fake.Object("clients/" + id[1] + "/" + name)
		if want := mustRead(t, "../../examples/prospectia/"+name); !ok || string(got) != want {
			t.Errorf("%s in Storage: %v, %d bytes, want %d", name, ok, len(got), len(want))
		}
	}
}
