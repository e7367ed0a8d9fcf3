package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
)

// Contact statuses (the contact_status enum).
const (
	StatusPending   = "pending"
	StatusEnriching = "enriching"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// ClaimedContact is a contact a worker now owns (status enriching).
type ClaimedContact struct {
	ID         string
	ClientID   string // "" when the row has no client (inserted by hand while several clients exist)
	TemplateID string // "" when none
	BatchID    string // "" for rows inserted outside an upload
	Attempts   int    // including this claim
	// ClaimedAt identifies this claim: Fail only acts on the contact while
	// it is still this claim's (a sweeper may have handed it to another
	// worker since).
	ClaimedAt time.Time
	// TemplateVersion and ContextHash identify what the email will be made
	// from (the template's text and the client's stored context files).
	TemplateVersion string
	ContextHash     string
	// Contact is the row as stored; rows inserted outside an upload are not
	// validated yet (see contacts.Check).
	Contact contacts.Contact
}

const claimReturning = `returning c.id::text, coalesce(c.client_id::text, ''), coalesce(c.template_id::text, ''),
	coalesce(c.batch_id::text, ''), c.attempts, c.claimed_at,
	coalesce((select t.version from public.templates t where t.id = c.template_id), ''),
	coalesce((select k.context_hash from public.clients k where k.id = c.client_id), ''),
	coalesce(c.line, 0), coalesce(c.first_name, ''), coalesce(c.last_name, ''),
	coalesce(c.email, ''), c.company_name, coalesce(c.website, ''), coalesce(c.linkedin_url, ''),
	coalesce(c.industry, ''), coalesce(c.job_title, ''), c.fields::text`

// claimSQL claims up to $1 pending contacts, oldest first, skipping rows
// other claimers hold; where is an extra condition on the pending rows.
func claimSQL(where string) string {
	return `with picked as (
		select id from public.contacts_to_enrich
		 where status = 'pending' and (retry_at is null or retry_at <= now())` + where + `
		 order by created_at, line, id
		 limit $1
		 for update skip locked
	)
	update public.contacts_to_enrich c
	   set status = 'enriching', attempts = c.attempts + 1, claimed_at = clock_timestamp(), retry_at = null, claimed_by = $2
	  from picked where c.id = picked.id
	` + claimReturning
}

// ClaimBatch claims up to n pending contacts of an upload batch: one UPDATE
// over rows selected FOR UPDATE SKIP LOCKED, so concurrent claimers never get
// the same contact. Each claimed contact becomes enriching, its attempts
// counter grows by one and its claim time is set. An empty result means the
// batch has no pending contact left.
func (s *Store) ClaimBatch(ctx context.Context, batchID string, n int) ([]ClaimedContact, error) {
	if err := checkID("batch id", batchID); err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	return s.claim(ctx, "store: claim batch "+batchID, claimSQL(" and batch_id = $3"), n, batchID)
}

// ClaimNext claims up to n pending contacts of any client and batch, rows
// inserted straight into the table included; see ClaimBatch.
func (s *Store) ClaimNext(ctx context.Context, n int) ([]ClaimedContact, error) {
	return s.claim(ctx, "store: claim", claimSQL(""), n)
}

// ClaimContact claims one contact if it is pending (a webhook or queue
// message names it). ok is false when it is not pending (another worker has
// it, or it is done) or does not exist.
func (s *Store) ClaimContact(ctx context.Context, contactID string) (c ClaimedContact, ok bool, err error) {
	if err := checkID("contact id", contactID); err != nil {
		return c, false, fmt.Errorf("store: claim: %w", err)
	}
	cs, err := s.claim(ctx, "store: claim contact "+contactID, claimSQL(" and id = $3"), 1, contactID)
	if err != nil || len(cs) == 0 {
		return c, false, err
	}
	return cs[0], true, nil
}

func (s *Store) claim(ctx context.Context, op, sql string, n int, args ...any) ([]ClaimedContact, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, sql, append([]any{n, nullID(s.claimer)}, args...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []ClaimedContact
	var cc ClaimedContact
	var fields string
	c := &cc.Contact
	_, err = pgx.ForEachRow(rows, []any{&cc.ID, &cc.ClientID, &cc.TemplateID, &cc.BatchID, &cc.Attempts, &cc.ClaimedAt,
		&cc.TemplateVersion, &cc.ContextHash, &c.Line, &c.FirstName, &c.LastName, &c.Email, &c.CompanyName, &c.Website, &c.LinkedInURL,
		&c.Industry, &c.JobTitle, &fields}, func() error {
		x := cc
		x.Contact.Fields = contactFields(&x.Contact, fields)
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contact.Line < out[j].Contact.Line })
	return out, nil
}

// contactFields rebuilds Contact.Fields from the stored CSV row and the
// columns (a row inserted by hand may have only the columns).
func contactFields(c *contacts.Contact, raw string) map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(raw), &m) // a non-object from a hand-made row leaves m empty
	for k, v := range map[string]string{
		contacts.ColFirstName: c.FirstName, contacts.ColLastName: c.LastName, contacts.ColEmail: c.Email,
		contacts.ColCompanyName: c.CompanyName, contacts.ColWebsite: c.Website,
		contacts.ColLinkedInURL: c.LinkedInURL, contacts.ColIndustry: c.Industry, contacts.ColJobTitle: c.JobTitle,
	} {
		if v != "" || m[k] == "" {
			m[k] = v
		}
	}
	return m
}

// variableColumns are the emails_generated columns filled from the
// variables of the same name.
var variableColumns = []string{
	"hook", "specific_signal_1", "specific_signal_2", "specific_target_1", "specific_target_2",
	"competitor_name", "competitor_product_category", "problem_specific", "impact_measurable",
	"target_persona", "product_category", "solve_specific_pain", "system_1", "system_2", "system_3",
	"case_study_insight", "case_study_result",
}

// QualityMetrics is what emails_generated.quality_metrics holds.
type QualityMetrics struct {
	OverallScore     int            `json:"overall_score"`
	ConfidenceScores map[string]int `json:"confidence_scores"` // per agent-produced variable, 1-5
	FallbackLevels   map[string]int `json:"fallback_levels"`   // per agent-produced variable, 1-4
	Flags            []email.Flag   `json:"flags"`
}

// Complete stores a generated email for a claimed contact and marks the
// contact completed, in one transaction: the emails_generated row
// (review_status pending_review, the variables in their columns, quality
// metrics, time, tokens, cost, provenance), one agent_runs row per agent
// answer, and the status change. It is idempotent: emails_generated has one
// row per contact, so completing a contact twice (two workers, a retried
// message) keeps the first email and returns its id with created false.
// res must be a generated result; a failed one goes to Fail.
func (s *Store) Complete(ctx context.Context, contactID string, res email.Result) (emailID string, created bool, err error) {
	op := "store: complete contact " + contactID
	if err := checkID("contact id", contactID); err != nil {
		return "", false, fmt.Errorf("store: complete: %w", err)
	}
	if res.Status == email.StatusFailed {
		return "", false, fmt.Errorf("%s: %w: the result failed (%s): record it with Fail", op, ErrInvalid, clip(res.Error, 200))
	}
	qm := QualityMetrics{OverallScore: res.Quality.Score, ConfidenceScores: map[string]int{}, FallbackLevels: map[string]int{}, Flags: res.Quality.Flags}
	if qm.Flags == nil {
		qm.Flags = []email.Flag{}
	}
	for name, v := range res.Variables {
		if v.Agent == "" {
			continue
		}
		qm.ConfidenceScores[name] = v.Confidence
		qm.FallbackLevels[name] = v.FallbackLevel
	}
	metrics, err := json.Marshal(qm)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	vars, err := json.Marshal(res.Variables)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	prov, err := json.Marshal(res.Provenance)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}

	cols := "contact_id, client_id, template_id, subject, email_generated, variables, quality_score, quality_metrics, " +
		"generation_time_ms, tokens_used, prompt_tokens, completion_tokens, cached_tokens, cost_usd, " +
		"agent_version, template_version, context_hash, provenance"
	vals := "c.id, c.client_id, c.template_id, $2, $3, $4::jsonb, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb"
	args := []any{contactID, text(res.Subject), text(res.Body), jsonb(vars), min(max(res.Quality.Score, 0), 100), jsonb(metrics),
		res.Timings.TotalMS, res.Usage.PromptTokens + res.Usage.CompletionTokens, res.Usage.PromptTokens,
		res.Usage.CompletionTokens, res.Usage.CachedTokens, res.Usage.CostUSD,
		text(res.Provenance.Engine), text(res.Provenance.TemplateVersion), text(res.Provenance.ContextHash), jsonb(prov)}
	if a := res.Automation; a != nil {
		// The phase decision (shared/automation): an auto-approved email is
		// stored approved, with no reviewer.
		args = append(args, text(a.Outcome), text(a.Reason))
		cols += ", automation_outcome, automation_reason"
		vals += fmt.Sprintf(", $%d, $%d", len(args)-1, len(args))
		if a.Outcome == "auto_approved" {
			cols += ", review_status, reviewed_at"
			vals += ", 'approved', now()"
		}
	}
	for _, col := range variableColumns {
		if v, ok := res.Variables[col]; ok {
			args = append(args, text(v.Value))
			cols += ", " + col
			vals += fmt.Sprintf(", $%d", len(args))
		}
	}

	err = s.inTx(ctx, func(tx pgx.Tx) error {
		created = false // a retried transaction starts over
		err := tx.QueryRow(ctx, `insert into public.emails_generated (`+cols+`)
			select `+vals+` from public.contacts_to_enrich c where c.id = $1
			on conflict (contact_id) do nothing
			returning id::text`, args...).Scan(&emailID)
		if errors.Is(err, pgx.ErrNoRows) {
			// Already completed, or no such contact.
			err = tx.QueryRow(ctx, `select id::text from public.emails_generated where contact_id = $1`, contactID).Scan(&emailID)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `update public.contacts_to_enrich
				set status = 'completed', processed_at = coalesce(processed_at, now()), claimed_at = null
				where id = $1 and status <> 'completed'`, contactID)
			return err
		}
		if err != nil {
			return err
		}
		created = true
		if err := insertRuns(ctx, tx, emailID, contactID, res); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update public.contacts_to_enrich
			set status = 'completed', processed_at = now(), error_message = null, claimed_at = null
			where id = $1`, contactID)
		return err
	})
	if err != nil {
		return "", false, wrap(op, err)
	}
	return emailID, created, nil
}

// insertRuns writes one agent_runs row per answer.
func insertRuns(ctx context.Context, tx pgx.Tx, emailID, contactID string, res email.Result) error {
	names := make([]string, 0, len(res.Answers))
	for n := range res.Answers {
		names = append(names, n)
	}
	sort.Strings(names)
	b := &pgx.Batch{}
	for _, n := range names {
		a := res.Answers[n]
		cached := false
		for _, v := range res.Variables {
			if v.Agent == n && v.Cached {
				cached = true
			}
		}
		var pt, ct, kt int
		var cost float64
		var latency int64
		for _, c := range a.Calls {
			pt, ct, kt, cost, latency = pt+c.PromptTokens, ct+c.CompletionTokens, kt+c.CachedTokens, cost+c.CostUSD, latency+c.LatencyMS
		}
		values, err := json.Marshal(a.Values)
		if err != nil {
			return err
		}
		evidence, err := json.Marshal(orEmpty(a.Evidence))
		if err != nil {
			return err
		}
		notes, err := json.Marshal(orEmpty(a.Notes))
		if err != nil {
			return err
		}
		calls, err := json.Marshal(orEmpty(a.Calls))
		if err != nil {
			return err
		}
		b.Queue(`insert into public.agent_runs (email_id, contact_id, client_id, agent, engine, version, answer_values,
				confidence, fallback_level, reasoning, evidence, notes, calls, cached,
				prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms)
			select $1, c.id, c.client_id, $3, $4, $5, $6::jsonb, $7, $8, $9, $10::jsonb, $11::jsonb, $12::jsonb, $13,
				$14, $15, $16, $17, $18
			from public.contacts_to_enrich c where c.id = $2`,
			emailID, contactID, text(n), text(a.Engine), text(a.Version), jsonb(values), a.Confidence, a.FallbackLevel,
			text(a.Reasoning), jsonb(evidence), jsonb(notes), jsonb(calls), cached, pt, ct, kt, cost, latency)
	}
	return tx.SendBatch(ctx, b).Close()
}

// orEmpty makes a nil slice marshal as [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that Fail marks the contact failed at once, whatever
// its attempts (no client, no template, a contact that can never succeed).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// maxErrorLen bounds the stored error message.
const maxErrorLen = 2000

// RetryBackoff is how long a contact given back after its n-th attempt
// waits before it can be claimed again: 30 s, 1 min, 2 min… capped at 15 min.
func RetryBackoff(attempts int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempts && d < 15*time.Minute; i++ {
		d *= 2
	}
	return min(d, 15*time.Minute)
}

// Fail records why processing a claimed contact failed. A Permanent cause
// (invalid template, context or contact row) fails the contact for good.
// Any other cause gives it back: pending again, claimable after
// RetryBackoff(attempts), while its attempts are below s.MaxAttempts; then
// failed. The message is kept as the contact's last error either way.
//
// Fail acts only while the contact is still held by this claim: when a
// sweeper has meanwhile handed it to another worker, or it was completed,
// nothing changes and the current status is returned.
func (s *Store) Fail(ctx context.Context, c ClaimedContact, cause error) (status string, err error) {
	op := "store: fail contact " + c.ID
	if err := checkID("contact id", c.ID); err != nil {
		return "", fmt.Errorf("store: fail: %w", err)
	}
	msg := "unknown error"
	if cause != nil {
		msg = clip(text(cause.Error()), maxErrorLen)
	}
	var perm permanent
	isPerm := errors.As(cause, &perm)
	maxAttempts := s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	err = s.pool.QueryRow(ctx, `update public.contacts_to_enrich
		set status = case when $3 or attempts >= $2 then 'failed'::public.contact_status else 'pending' end,
		    error_message = case when not $3 and attempts >= $2
		        then 'gave up after ' || attempts || ' attempts: ' || $4 else $4 end,
		    claimed_at = null,
		    retry_at = case when $3 or attempts >= $2 then null else now() + make_interval(secs => $6) end,
		    processed_at = case when $3 or attempts >= $2 then now() end
		where id = $1 and status = 'enriching' and claimed_at = $5
		returning status::text`, c.ID, maxAttempts, isPerm, msg, c.ClaimedAt, RetryBackoff(c.Attempts).Seconds()).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `select status::text from public.contacts_to_enrich where id = $1`, c.ID).Scan(&status)
	}
	if err != nil {
		return "", wrap(op, err)
	}
	return status, nil
}

// SweepReport counts what Sweep changed.
type SweepReport struct {
	Requeued int // stale enriching contacts back to pending
	Failed   int // stale contacts that had used their attempts
}

// Sweep finds contacts claimed more than staleAfter ago and still enriching
// (their worker died or timed out) and returns them to pending, or marks
// them failed when they already had maxAttempts claims.
func (s *Store) Sweep(ctx context.Context, staleAfter time.Duration, maxAttempts int) (SweepReport, error) {
	var rep SweepReport
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	rows, err := s.pool.Query(ctx, `with stale as (
			select id from public.contacts_to_enrich
			 where status = 'enriching' and claimed_at < now() - make_interval(secs => $1::double precision)
			 for update skip locked
		)
		update public.contacts_to_enrich c
		   set status = case when c.attempts >= $2 then 'failed'::public.contact_status else 'pending' end,
		       error_message = case when c.attempts >= $2
		           then 'abandoned: no result after ' || c.attempts || ' attempts (worker stopped or timed out)'
		           else c.error_message end,
		       processed_at = case when c.attempts >= $2 then now() end,
		       claimed_at = null
		  from stale where c.id = stale.id
		returning c.status::text`, staleAfter.Seconds(), maxAttempts)
	if err != nil {
		return rep, wrap("store: sweep", err)
	}
	var st string
	_, err = pgx.ForEachRow(rows, []any{&st}, func() error {
		if st == StatusFailed {
			rep.Failed++
		} else {
			rep.Requeued++
		}
		return nil
	})
	return rep, wrap("store: sweep", err)
}

// ReleaseOrphans gives back the contacts this Store's claimer holds (see
// Claimer): call it when the process has none in flight, so every such
// claim is one whose reply was lost with the connection. They go back to
// pending without spending an attempt. It returns how many.
func (s *Store) ReleaseOrphans(ctx context.Context) (int, error) {
	if s.claimer == "" {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `update public.contacts_to_enrich
		set status = 'pending', claimed_at = null, claimed_by = null, attempts = greatest(attempts - 1, 0)
		where status = 'enriching' and claimed_by = $1`, s.claimer)
	if err != nil {
		return 0, wrap("store: release orphans", err)
	}
	return int(tag.RowsAffected()), nil
}

// CacheGet returns the client's cached agent answer for key.
func (s *Store) CacheGet(ctx context.Context, clientID, key string) (email.Answer, bool, error) {
	var a email.Answer
	if err := checkID("client id", clientID); err != nil {
		return a, false, fmt.Errorf("store: cache: %w", err)
	}
	var raw string
	err := s.pool.QueryRow(ctx, `select answer::text from public.agent_cache where client_id = $1 and cache_key = $2`,
		clientID, text(key)).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, wrap("store: cache get", err)
	}
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, false, fmt.Errorf("store: cache get %q: %w", key, err)
	}
	return a, true, nil
}

// CachePut stores (or replaces) the client's agent answer for key.
func (s *Store) CachePut(ctx context.Context, clientID, key string, a email.Answer) error {
	if err := checkID("client id", clientID); err != nil {
		return fmt.Errorf("store: cache: %w", err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: cache put %q: %w", key, err)
	}
	_, err = s.pool.Exec(ctx, `insert into public.agent_cache (client_id, cache_key, answer) values ($1, $2, $3::jsonb)
		on conflict (client_id, cache_key) do update set answer = excluded.answer`, clientID, text(key), jsonb(b))
	return wrap("store: cache put", err)
}

// AgentCache is one client's answer cache; it satisfies the pipeline's
// Cache interface.
type AgentCache struct {
	s        *Store
	clientID string
}

// AgentCache returns the client's answer cache.
func (s *Store) AgentCache(clientID string) *AgentCache { return &AgentCache{s: s, clientID: clientID} }

// Get returns the cached answer for key.
func (c *AgentCache) Get(ctx context.Context, key string) (email.Answer, bool, error) {
	return c.s.CacheGet(ctx, c.clientID, key)
}

// Put stores the answer for key.
func (c *AgentCache) Put(ctx context.Context, key string, a email.Answer) error {
	return c.s.CachePut(ctx, c.clientID, key, a)
}
