// Package storetest gives a test package scratch PostgreSQL databases with
// the Supabase shim and the migrations applied.
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
//	func TestX(t *testing.T) {
//		s := storetest.Open(t) // a fresh migrated database for this test
//		...
//	}
//
// The server is reached through KALEADS_TEST_DATABASE_URL (a postgres:// URL
// of a role that may create databases and roles), by default
// postgres://postgres@127.0.0.1:5432/postgres. When it cannot be reached the
// tests that need it are skipped, except in CI (CI set), where that is a
// failure.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/store"
)

// EnvURL names the variable that overrides the admin URL.
const EnvURL = "KALEADS_TEST_DATABASE_URL"

// DefaultURL is the admin URL used when EnvURL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var state struct {
	mu       sync.Mutex
	admin    *url.URL
	prefix   string // kaleads_test_<random>
	template string // migrated database the per-test ones are copied from
	skip     string // why tests that need the database are skipped
	n        atomic.Int64
}

// Main prepares the package's template database (shim and migrations
// applied), runs the tests and drops every database it created, then exits.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	err := setup(ctx)
	cancel()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
			return 1
		}
		state.skip = fmt.Sprintf("PostgreSQL is not available (%v); set %s to a server's admin URL", err, EnvURL)
		fmt.Fprintf(os.Stderr, "storetest: skipping the tests that need a database: %s\n", state.skip)
	}
	code := m.Run()
	if state.prefix != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropAll(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "storetest: cleanup: %v\n", err)
		}
	}
	return code
}

func setup(ctx context.Context) error {
	raw := os.Getenv(EnvURL)
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("%s must be a postgres:// URL", EnvURL)
	}
	state.admin = u
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, u.String())
	if err != nil {
		return err
	}
	conn.Close(ctx)

	var b [4]byte
	_, _ = rand.Read(b[:])
	state.prefix = "kaleads_test_" + hex.EncodeToString(b[:])
	state.template = state.prefix + "_tmpl"
	if err := exec(ctx, "create database "+pgx.Identifier{state.template}.Sanitize()); err != nil {
		return err
	}
	s, err := store.Open(ctx, dbURL(state.template))
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate the template database: %w", err)
	}
	return nil
}

// exec runs one statement on the admin database.
func exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, state.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func dbURL(name string) string {
	u := *state.admin
	u.Path = "/" + name
	return u.String()
}

func dropAll(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, state.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "select datname from pg_database where starts_with(datname, $1)", state.prefix)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, "drop database if exists "+pgx.Identifier{n}.Sanitize()+" with (force)"); err != nil {
			return err
		}
	}
	return nil
}

// newDB creates a database for t (a copy of from, or empty when from is
// "") and drops it when t ends.
func newDB(t testing.TB, from string) string {
	t.Helper()
	if state.skip != "" {
		t.Skip(state.skip)
	}
	if state.prefix == "" {
		t.Fatal("storetest: call storetest.Main from TestMain")
	}
	name := fmt.Sprintf("%s_%d", state.prefix, state.n.Add(1))
	sql := "create database " + pgx.Identifier{name}.Sanitize()
	if from != "" {
		sql += " template " + pgx.Identifier{from}.Sanitize()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Copies of one template are made one at a time: PostgreSQL refuses a
	// copy while another session uses the template.
	state.mu.Lock()
	err := exec(ctx, sql)
	state.mu.Unlock()
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
			t.Errorf("storetest: drop %s: %v", name, err)
		}
	})
	return dbURL(name)
}

// URL returns the URL of a fresh database for t with the shim and the
// migrations applied, dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	return newDB(t, state.template)
}

// EmptyURL returns the URL of a fresh empty database for t (no shim, no
// migrations), dropped when t ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return newDB(t, "")
}

// Open returns a Store on a fresh migrated database (see URL), closed when t
// ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	u := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
