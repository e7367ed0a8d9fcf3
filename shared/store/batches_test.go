package store_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestClaimCarriesTemplateVersionAndContextHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(1, "v"))
	got, err := s.ClaimBatch(ctx, rep.BatchID, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", got, err)
	}
	if got[0].TemplateVersion != tp.Version || got[0].ContextHash != c.ContextHash || got[0].ClaimedAt.IsZero() {
		t.Errorf("claimed %q/%q at %v, want %q/%q", got[0].TemplateVersion, got[0].ContextHash, got[0].ClaimedAt, tp.Version, c.ContextHash)
	}
}

func TestBatchCountsAndRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(3, "r"))
	if _, err := s.BatchCounts(ctx, "00000000-0000-4000-8000-000000000000", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown batch: %v, want ErrNotFound", err)
	}
	got, err := s.ClaimBatch(ctx, rep.BatchID, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("claim: %v %v", got, err)
	}
	for _, cc := range got[:2] {
		if _, err := s.Fail(ctx, cc, store.Permanent(errors.New("bad row"))); err != nil {
			t.Fatal(err)
		}
	}
	// The third looks abandoned: claimed an hour ago.
	if _, err := s.Pool().Exec(ctx, `update contacts_to_enrich set claimed_at = now() - interval '1 hour' where id = $1`, got[2].ID); err != nil {
		t.Fatal(err)
	}
	cn, err := s.BatchCounts(ctx, rep.BatchID, 10*time.Minute)
	if err != nil || cn.Total != 3 || cn.Failed != 2 || cn.Enriching != 1 || cn.Stale != 1 || cn.Done() {
		t.Fatalf("counts %+v (%v)", cn, err)
	}

	n, err := s.Retry(ctx, store.RetryScope{BatchID: rep.BatchID})
	if err != nil || n != 2 {
		t.Fatalf("retry batch = %d, %v; want 2", n, err)
	}
	var attempts int
	if err := s.Pool().QueryRow(ctx, `select max(attempts) from contacts_to_enrich where id = any($1)`, []string{got[0].ID, got[1].ID}).Scan(&attempts); err != nil || attempts != 0 {
		t.Errorf("attempts after retry %d (%v), want 0", attempts, err)
	}
	if n, err := s.Retry(ctx, store.RetryScope{ContactID: got[2].ID}); err != nil || n != 0 {
		t.Errorf("retry of a contact that is not failed = %d, %v; want 0", n, err)
	}
	if _, err := s.Retry(ctx, store.RetryScope{ContactID: "00000000-0000-4000-8000-000000000000"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry unknown contact: %v, want ErrNotFound", err)
	}
	if _, err := s.Retry(ctx, store.RetryScope{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("retry without scope: %v, want ErrInvalid", err)
	}
}

func TestResend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(3, "lost"))
	if ids, err := s.Resend(ctx, time.Minute, 10); err != nil || len(ids) != 0 {
		t.Fatalf("fresh contacts resent: %v %v", ids, err)
	}
	// Age the rows (with triggers off, or updated_at would be reset).
	err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "set local session_replication_role = replica"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `update contacts_to_enrich set updated_at = now() - interval '10 minutes' where batch_id = $1`, rep.BatchID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Resend(ctx, time.Minute, 2)
	if err != nil || len(ids) != 2 {
		t.Fatalf("resend = %v, %v; want 2", ids, err)
	}
	rest, err := s.Resend(ctx, time.Minute, 10)
	if err != nil || len(rest) != 1 || rest[0] == ids[0] || rest[0] == ids[1] {
		t.Fatalf("second resend = %v, %v; want only the third contact", rest, err)
	}
}

func TestMissingMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	if m, err := s.MissingMigrations(ctx); err != nil || len(m) != 0 {
		t.Errorf("migrated database misses %v (%v)", m, err)
	}
	empty, err := store.Open(ctx, storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	all, _ := store.Migrations()
	if m, err := empty.MissingMigrations(ctx); err != nil || len(m) != len(all) {
		t.Errorf("empty database misses %v (%v), want all %d", m, err, len(all))
	}
}

// A lost connection is ErrUnavailable (retry later), not a data error.
func TestUnavailableIsClassified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	// Kill this store's backends, as a server restart would.
	if _, err := s.Pool().Exec(ctx, `select pg_terminate_backend(pid) from pg_stat_activity
		where datname = current_database() and pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid)
	conn.Release()
	other, err := pgx.Connect(ctx, storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "select pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	_, err = s.BatchCounts(ctx, "00000000-0000-4000-8000-000000000000", time.Minute)
	if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("query on a killed connection: %v, want ErrUnavailable (or a reconnect)", err)
	}

	// Nothing listens here: connecting fails, and says so.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err = store.Open(ctx, "postgres://postgres@"+addr+"/x?connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), addr[strings.LastIndex(addr, ":")+1:]) {
		t.Errorf("open on a closed port: %v, want ErrUnavailable naming the port", err)
	}
}

// Inserting contacts or making them pending wakes LISTEN kaleads_contacts
// once per statement.
func TestNotifyOnPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := storetest.URL(t)
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, tp := newClient(t, s, "Acme")
	l, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if _, err := l.Exec(ctx, "listen kaleads_contacts"); err != nil {
		t.Fatal(err)
	}
	next := func() bool {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := l.WaitForNotification(ctx)
		return err == nil
	}
	rep := upload(t, s, c.ID, tp.ID, csvOf(20, "n"))
	if !next() {
		t.Fatal("no notification after an upload")
	}
	got, err := s.ClaimBatch(ctx, rep.BatchID, 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fail(ctx, got[0], errors.New("llm down")); err != nil {
		t.Fatal(err)
	}
	if !next() {
		t.Fatal("no notification when a contact went back to pending")
	}
	// Twenty rows, two statements: at most one more notification pending
	// (PostgreSQL folds identical ones within a transaction).
	ctx2, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := l.WaitForNotification(ctx2); err == nil {
		t.Error("a third notification for two statements")
	}
}
