package store_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
	"github.com/kaleads/kaleads/supabase"
)

func TestMigrateFreshDatabaseTwice(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) < 3 {
		t.Fatalf("found %d migrations, want the 3 of supabase/migrations at least", len(migs))
	}

	rep, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Shim {
		t.Error("a plain PostgreSQL database got no shim")
	}
	if len(rep.Applied) != len(migs) {
		t.Errorf("applied %d migrations, want %d", len(rep.Applied), len(migs))
	}

	rep, err = s.Migrate(ctx)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if rep.Shim || len(rep.Applied) != 0 {
		t.Errorf("second migrate did something: %+v", rep)
	}

	for _, m := range migs {
		var name string
		var stmts int
		err := s.Pool().QueryRow(ctx, `select name, cardinality(statements) from supabase_migrations.schema_migrations where version = $1`, m.Version).Scan(&name, &stmts)
		if err != nil {
			t.Fatalf("migration %s not recorded: %v", m.Version, err)
		}
		if name != m.Name || stmts != len(store.SplitStatements(m.SQL)) {
			t.Errorf("migration %s recorded as %q with %d statements", m.Version, name, stmts)
		}
	}
	for _, table := range []string{"clients", "templates", "contacts_to_enrich", "emails_generated", "review_analytics",
		"client_members", "client_context_files", "agent_cache", "agent_runs", "api_keys", "automation_settings", "exports",
		"app_admins", "sessions", "review_decisions"} {
		var rls bool
		if err := s.Pool().QueryRow(ctx, `select relrowsecurity from pg_class where oid = ('public.' || $1)::regclass`, table).Scan(&rls); err != nil {
			t.Errorf("table %s: %v", table, err)
		} else if !rls {
			t.Errorf("table %s: row level security is off", table)
		}
	}
}

// TestMigrateUpgradesAnOldShim: a local database made before auth.users had
// the Supabase Auth columns the store uses gets them from the shim on the
// next Migrate, and users can then be created.
func TestMigrateUpgradesAnOldShim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := store.Open(ctx, storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.PasswordCost = 4
	if _, err := s.Pool().Exec(ctx, `alter table auth.users drop column encrypted_password, drop column raw_app_meta_data`); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Migrate(ctx)
	if err != nil || !rep.Shim || len(rep.Applied) != 0 {
		t.Fatalf("Migrate on an old shim: %+v %v; want the shim reloaded and no migration", rep, err)
	}
	if _, err := s.CreateUser(ctx, "ana@agency.example", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "ana@agency.example", "correct horse battery"); err != nil {
		t.Error(err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	u := storetest.EmptyURL(t)
	var wg sync.WaitGroup
	applied := make([]int, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, u)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			rep, err := s.Migrate(ctx)
			applied[i], errs[i] = len(rep.Applied), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range applied {
		if errs[i] != nil {
			t.Errorf("migrate %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	migs, _ := store.Migrations()
	if total != len(migs) {
		t.Errorf("4 concurrent migrates applied %d migrations in all, want %d (each once)", total, len(migs))
	}
}

func TestOpenUnreachableDatabase(t *testing.T) {
	ctx := context.Background()
	_, err := store.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want []string
	}{
		{"plain", "create table a (x int);\ncreate table b (y int);", []string{"create table a (x int)", "create table b (y int)"}},
		{"no final semicolon", "select 1;select 2", []string{"select 1", "select 2"}},
		{"semicolon in strings", `select 'a;b', "we;ird" from t; select 'it''s;'`, []string{`select 'a;b', "we;ird" from t`, `select 'it''s;'`}},
		{"dollar quoted body", "create function f() returns int language sql as $$ select 1; $$;\ncreate function g() returns int as $body$ begin; return 2; end $body$ language plpgsql;",
			[]string{"create function f() returns int language sql as $$ select 1; $$", "create function g() returns int as $body$ begin; return 2; end $body$ language plpgsql"}},
		{"positional parameter is not a tag", "select $1; select 2", []string{"select $1", "select 2"}},
		{"comments", "-- it's a comment; really\nselect 1; /* a; /* nested; */ still */ select 2;\n-- trailing only",
			[]string{"-- it's a comment; really\nselect 1", "/* a; /* nested; */ still */ select 2"}},
		{"empty statements", ";;\n;", nil},
		{"unterminated quote", "select 'abc; select 2", []string{"select 'abc; select 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := store.SplitStatements(tt.sql)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d statements %q, want %q", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("statement %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestSupabaseCLIAgrees runs the real Supabase CLI, named by
// KALEADS_SUPABASE_CLI (e.g. "npx --yes supabase@2.117.0"; skipped when
// unset, see scripts/supabase-push-check.sh): after `supabase db push`,
// Migrate finds nothing to apply and the CLI recorded the statements
// SplitStatements gives; after Migrate, `supabase db push` finds nothing to
// push.
func TestSupabaseCLIAgrees(t *testing.T) {
	cli := strings.Fields(os.Getenv("KALEADS_SUPABASE_CLI"))
	if len(cli) == 0 {
		t.Skip("KALEADS_SUPABASE_CLI is not set")
	}
	ctx := context.Background()
	push := func(url string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, cli[0], append(append(cli[1:], "db", "push", "--db-url", url, "--workdir", "../..", "--yes"), args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("supabase db push: %v\n%s", err, out)
		}
		return string(out)
	}
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}

	// The CLI first, onto plain PostgreSQL with the shim.
	u := storetest.EmptyURL(t)
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Pool().Exec(ctx, supabase.Shim); err != nil {
		t.Fatal(err)
	}
	push(u, "--include-all")
	for _, m := range migs {
		var stmts []string
		if err := s.Pool().QueryRow(ctx, `select statements from supabase_migrations.schema_migrations where version = $1`, m.Version).Scan(&stmts); err != nil {
			t.Fatalf("the CLI did not record %s: %v", m.Version, err)
		}
		if mine := store.SplitStatements(m.SQL); !slices.Equal(stmts, mine) {
			t.Errorf("%s: the CLI recorded %d statements, SplitStatements gives %d", m.Version, len(stmts), len(mine))
		}
	}
	rep, err := s.Migrate(ctx)
	if err != nil || rep.Shim || len(rep.Applied) != 0 {
		t.Errorf("Migrate after supabase db push: %+v %v, want nothing to do", rep, err)
	}

	// Migrate first.
	u2 := storetest.EmptyURL(t)
	s2, err := store.Open(ctx, u2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if out := push(u2); !strings.Contains(out, "up to date") {
		t.Errorf("supabase db push after Migrate:\n%s", out)
	}
}

func TestNotMigratedError(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.ClientByName(ctx, "Acme")
	if !errors.Is(err, store.ErrNotMigrated) || !strings.Contains(err.Error(), "kaleads migrate") {
		t.Errorf("query on an empty database: %v, want ErrNotMigrated naming `kaleads migrate`", err)
	}
}
