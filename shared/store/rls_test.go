package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

const (
	userA = "aaaaaaaa-0000-4000-8000-000000000001"
	userB = "bbbbbbbb-0000-4000-8000-000000000002"
)

// tenants makes clients A and B, each with contacts, an email with its agent
// runs, a cache entry and one member (A's an owner, B's a reviewer).
func tenants(t *testing.T) (s *store.Store, a, b store.Client) {
	t.Helper()
	ctx := context.Background()
	s = storetest.Open(t)
	a, ta := newClient(t, s, "Client A")
	b, tb := newClient(t, s, "Client B")
	for _, x := range []struct {
		c    store.Client
		tmpl string
		user string
		role string
	}{{a, ta.ID, userA, "owner"}, {b, tb.ID, userB, "reviewer"}} {
		rep := upload(t, s, x.c.ID, x.tmpl, csvOf(3, "tenant"))
		got, err := s.ClaimBatch(ctx, rep.BatchID, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim: %v %v", got, err)
		}
		if _, _, err := s.Complete(ctx, got[0].ID, resultFor(got[0])); err != nil {
			t.Fatal(err)
		}
		if err := s.CachePut(ctx, x.c.ID, "k", resultFor(got[0]).Answers["persona"]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pool().Exec(ctx, `insert into auth.users (id, email) values ($1, $2)`, x.user, x.role+"@kaleads.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pool().Exec(ctx, `insert into client_members (client_id, user_id, role) values ($1, $2, $3)`, x.c.ID, x.user, x.role); err != nil {
			t.Fatal(err)
		}
	}
	return s, a, b
}

// as runs fn in a transaction as the Supabase role with the user's JWT
// claims, the way PostgREST does, and rolls it back.
func as(t *testing.T, s *store.Store, role, user string, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "set local role "+role); err != nil {
		t.Fatal(err)
	}
	claims := fmt.Sprintf(`{"role":%q}`, role)
	if user != "" {
		claims = fmt.Sprintf(`{"sub":%q,"role":%q}`, user, role)
	}
	if _, err := tx.Exec(ctx, "select set_config('request.jwt.claims', $1, true)", claims); err != nil {
		t.Fatal(err)
	}
	fn(tx)
}

// pgCode runs sql in a savepoint and returns the PostgreSQL error code ("" on
// success) and the rows affected.
func pgCode(t *testing.T, tx pgx.Tx, sql string, args ...any) (string, int64) {
	t.Helper()
	ctx := context.Background()
	sp, err := tx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Rollback(ctx)
	tag, err := sp.Exec(ctx, sql, args...)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, 0
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return "", tag.RowsAffected()
}

func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s, a, b := tenants(t)
	tables := []struct{ table, client string }{
		{"clients", "id"}, {"templates", "client_id"}, {"contacts_to_enrich", "client_id"},
		{"emails_generated", "client_id"}, {"agent_runs", "client_id"}, {"client_context_files", "client_id"},
		{"client_members", "client_id"},
	}

	as(t, s, "authenticated", userA, func(tx pgx.Tx) {
		for _, x := range tables {
			var mine, theirs int
			err := tx.QueryRow(ctx, fmt.Sprintf(`select count(*) filter (where %[2]s = $1), count(*) filter (where %[2]s <> $1) from %[1]s`, x.table, x.client), a.ID).
				Scan(&mine, &theirs)
			if err != nil {
				t.Fatalf("%s: %v", x.table, err)
			}
			if mine == 0 || theirs != 0 {
				t.Errorf("user A sees %d of client A's and %d of other clients' rows in %s; want some and none", mine, theirs, x.table)
			}
		}
		// Joins and lookups by id do not leak either.
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from emails_generated e join contacts_to_enrich c on c.id = e.contact_id
			where c.client_id = $1 or e.client_id = $1`, b.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("user A reaches %d of client B's emails through a join (%v)", n, err)
		}
		if code, _ := pgCode(t, tx, `insert into contacts_to_enrich (client_id, company_name, email) values ($1, 'Intrus', 'x@intrus.example')`, b.ID); code != "42501" {
			t.Errorf("user A inserting a contact for client B: code %q, want 42501 (row-level security)", code)
		}
		if code, n := pgCode(t, tx, `update emails_generated set review_status = 'approved' where client_id = $1`, b.ID); code != "" || n != 0 {
			t.Errorf("user A approving client B's emails: code %q, %d rows", code, n)
		}
		if code, n := pgCode(t, tx, `delete from contacts_to_enrich where client_id = $1`, b.ID); code != "" || n != 0 {
			t.Errorf("user A deleting client B's contacts: code %q, %d rows", code, n)
		}
		if code, _ := pgCode(t, tx, `update contacts_to_enrich set client_id = $1 where client_id = $2`, b.ID, a.ID); code != "42501" {
			t.Errorf("user A moving contacts to client B: code %q, want 42501", code)
		}
		if code, _ := pgCode(t, tx, `insert into client_members (client_id, user_id) values ($1, $2)`, b.ID, userA); code != "42501" {
			t.Errorf("user A joining client B: code %q, want 42501", code)
		}
		if code, _ := pgCode(t, tx, `select * from agent_cache`); code != "42501" {
			t.Errorf("user A reading the agent cache: code %q, want 42501 (service only)", code)
		}
		// What A may do on its own client.
		if code, n := pgCode(t, tx, `update emails_generated set review_status = 'approved' where client_id = $1`, a.ID); code != "" || n != 1 {
			t.Errorf("user A approving its own email: code %q, %d rows", code, n)
		}
		if code, n := pgCode(t, tx, `insert into contacts_to_enrich (client_id, company_name) values ($1, 'Nouveau')`, a.ID); code != "" || n != 1 {
			t.Errorf("user A adding a contact to its client: code %q, %d rows", code, n)
		}
	})

	// B is a reviewer: reviews, but does not manage templates.
	as(t, s, "authenticated", userB, func(tx pgx.Tx) {
		if code, _ := pgCode(t, tx, `insert into templates (client_id, template_name, body) values ($1, 'x', 'Subject: x')`, b.ID); code != "42501" {
			t.Errorf("reviewer adding a template: code %q, want 42501", code)
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from contacts_to_enrich where client_id = $1`, a.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("user B sees %d of client A's contacts (%v)", n, err)
		}
	})

	// No claims: no rows. anon: no access at all. service_role: everything.
	as(t, s, "authenticated", "", func(tx pgx.Tx) {
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from contacts_to_enrich`).Scan(&n); err != nil || n != 0 {
			t.Errorf("signed-in role without a user sees %d contacts (%v)", n, err)
		}
	})
	as(t, s, "anon", "", func(tx pgx.Tx) {
		if code, _ := pgCode(t, tx, `select * from contacts_to_enrich`); code != "42501" {
			t.Errorf("anon reading contacts: code %q, want 42501", code)
		}
	})
	as(t, s, "service_role", "", func(tx pgx.Tx) {
		var n int
		if err := tx.QueryRow(ctx, `select count(distinct client_id) from emails_generated`).Scan(&n); err != nil || n != 2 {
			t.Errorf("service_role sees emails of %d clients (%v), want 2", n, err)
		}
	})
}
