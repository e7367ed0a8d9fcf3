package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Counts counts contacts by status.
type Counts struct {
	Total, Pending, Enriching, Completed, Failed int
	// Waiting are pending contacts given back after a retryable failure and
	// not claimable before NextRetry.
	Waiting   int
	NextRetry time.Time // earliest retry time among them (zero when none)
	// Stale are enriching contacts claimed longer ago than the staleness
	// asked for: their worker probably died (Sweep returns them).
	Stale int
}

// Done reports whether every contact is completed or failed.
func (c Counts) Done() bool { return c.Completed+c.Failed == c.Total }

// BatchCounts counts an upload batch's contacts by status; enriching
// contacts claimed more than staleAfter ago are also counted as Stale. A
// batch with no contact is ErrNotFound.
func (s *Store) BatchCounts(ctx context.Context, batchID string, staleAfter time.Duration) (Counts, error) {
	op := "store: batch " + batchID
	if err := checkID("batch id", batchID); err != nil {
		return Counts{}, fmt.Errorf("%s: %w", op, err)
	}
	var c Counts
	var next *time.Time
	err := s.pool.QueryRow(ctx, `select count(*),
			count(*) filter (where status = 'pending'),
			count(*) filter (where status = 'enriching'),
			count(*) filter (where status = 'completed'),
			count(*) filter (where status = 'failed'),
			count(*) filter (where status = 'pending' and retry_at > now()),
			min(retry_at) filter (where status = 'pending' and retry_at > now()),
			count(*) filter (where status = 'enriching' and claimed_at < now() - make_interval(secs => $2::double precision))
		from public.contacts_to_enrich where batch_id = $1`, batchID, staleAfter.Seconds()).
		Scan(&c.Total, &c.Pending, &c.Enriching, &c.Completed, &c.Failed, &c.Waiting, &next, &c.Stale)
	if err != nil {
		return Counts{}, wrap(op, err)
	}
	if c.Total == 0 {
		return Counts{}, fmt.Errorf("%s: %w: no contact was uploaded with this batch id", op, ErrNotFound)
	}
	if next != nil {
		c.NextRetry = *next
	}
	return c, nil
}

// RetryScope selects the failed contacts Retry gives another chance: those
// of a batch, or one contact.
type RetryScope struct {
	BatchID   string
	ContactID string
}

// Retry puts failed contacts back to pending with their attempts reset,
// once the cause of their failure is fixed (a template corrected, an outage
// over). It returns how many contacts it changed; the contacts' last error
// stays until they are processed again.
func (s *Store) Retry(ctx context.Context, scope RetryScope) (int, error) {
	var where string
	var arg string
	switch {
	case scope.BatchID != "" && scope.ContactID == "":
		where, arg = "batch_id = $1", scope.BatchID
		if err := checkID("batch id", arg); err != nil {
			return 0, fmt.Errorf("store: retry: %w", err)
		}
	case scope.ContactID != "" && scope.BatchID == "":
		where, arg = "id = $1", scope.ContactID
		if err := checkID("contact id", arg); err != nil {
			return 0, fmt.Errorf("store: retry: %w", err)
		}
	default:
		return 0, fmt.Errorf("store: retry: %w: give a batch or a contact", ErrInvalid)
	}
	var known bool
	if err := s.pool.QueryRow(ctx, `select exists (select 1 from public.contacts_to_enrich where `+where+`)`, arg).Scan(&known); err != nil {
		return 0, wrap("store: retry", err)
	}
	if !known {
		return 0, fmt.Errorf("store: retry: %w: no contact matches %s", ErrNotFound, arg)
	}
	tag, err := s.pool.Exec(ctx, `update public.contacts_to_enrich
		set status = 'pending', attempts = 0, retry_at = null, processed_at = null, claimed_at = null
		where `+where+` and status = 'failed'`, arg)
	if err != nil {
		return 0, wrap("store: retry", err)
	}
	return int(tag.RowsAffected()), nil
}

// Resend returns up to n pending, claimable contacts that have waited more
// than olderThan since they were inserted or last touched (their webhook or
// queue message was lost), oldest first, and marks them touched so the next
// call does not return them again before olderThan has passed once more.
func (s *Store) Resend(ctx context.Context, olderThan time.Duration, n int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `with lost as (
			select id from public.contacts_to_enrich
			 where status = 'pending' and (retry_at is null or retry_at <= now())
			   and updated_at < now() - make_interval(secs => $1::double precision)
			 order by updated_at, id
			 limit $2
			 for update skip locked
		)
		update public.contacts_to_enrich c set updated_at = now()
		  from lost where c.id = lost.id
		returning c.id::text`, olderThan.Seconds(), n)
	if err != nil {
		return nil, wrap("store: resend", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("store: resend", err)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("store: ping", s.pool.Ping(ctx))
}
