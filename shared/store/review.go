package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/email"
)

// Review statuses (the review_status enum).
const (
	ReviewPending        = "pending_review"
	ReviewApproved       = "approved"
	ReviewApprovedEdited = "approved_edited"
	ReviewRejected       = "rejected"
	ReviewSent           = "sent"
)

// Decision actions.
const (
	ActionApprove = "approve"
	ActionEdit    = "edit"
	ActionReject  = "reject"
)

// RejectionReasons are the values of the rejection_reason enum, in the
// plan's order.
var RejectionReasons = []string{
	"wrong_persona", "incorrect_competitor", "grammar_issues", "tone_too_corporate",
	"incorrect_info", "low_quality", "other",
}

// variableName is what a template variable's name looks like
// (review_decisions.variable's check).
var variableName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// UndoWindow is how long a decision can be undone.
const UndoWindow = 30 * time.Minute

// Page sizes of Emails.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Bounds on what a reviewer writes.
const (
	maxSubjectLen = 1000
	maxBodyLen    = 64 << 10
	maxDetailsLen = 4000
	// maxDecisionMS caps time_to_decision_ms: a card left open overnight
	// is a day, not an overflow.
	maxDecisionMS = 24 * 60 * 60 * 1000
)

// EmailFilter selects the emails of the review queue.
type EmailFilter struct {
	ClientID, TemplateID, BatchID string
	Status                        string    // "" = pending_review; or approved, approved_edited, rejected, sent, "any"
	From, To                      time.Time // created_at in [From, To); zero = open
	MinScore, MaxScore            int       // 0..100; MaxScore 0 = 100
	Text                          string    // case-insensitive match in subject, body, company, contact name/e-mail
	After                         string    // opaque cursor from the previous page
	Limit                         int       // default 50, max 200
}

// EmailSummary is one line of the review queue.
type EmailSummary struct {
	ID, ClientID, ClientName, TemplateID, BatchID                     string
	FirstName, LastName, ContactEmail, CompanyName, JobTitle, Website string
	Subject                                                           string
	Score                                                             int
	Gated                                                             bool // carries a blocking flag
	Status                                                            string
	CreatedAt                                                         time.Time
}

// EmailDetail is one email as a reviewer sees it.
type EmailDetail struct {
	EmailSummary
	Body             string                    // email_generated
	Final            string                    // email_final ("" until edited)
	FinalSubject     string                    // subject_final ("" until edited)
	Variables        map[string]email.Variable // agent, engine, confidence, fallback level, reasoning, evidence
	Quality          email.Report              // score + flags with messages
	ReviewerID       string
	ReviewedAt       time.Time
	RejectionReason  string
	RejectionDetails string
	// AutomationOutcome and AutomationReason: what the client's phase
	// decided when the email was stored (auto_approved, held, review,
	// sampled; "" for emails stored before phases existed).
	AutomationOutcome, AutomationReason string
	// Sent: the export that confirmed the email (zero until sent).
	SentAt                                    time.Time
	CampaignID, CampaignName, SequencerLeadID string
}

// Decision is a reviewer's (or an API key's) verdict on one email.
type Decision struct {
	EmailID, ReviewerID string // ReviewerID "" for an API key decision (the key id goes in Via)
	Via                 string // "ui" | "api:<key id>"; "" = "ui"
	Action              string // "approve" | "edit" | "reject"
	Subject, Body       string // edit: the new text (saving approves as approved_edited); Subject "" keeps the generated one
	Reason, Details     string // reject: a rejection_reason enum value + free text
	Variable            string // reject, optional: the template variable it is about, one of the email's ("" = not named)
	ShownAt             time.Time
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// query collects a statement's conditions and arguments.
type query struct {
	args  []any
	conds []string
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) where(cond string) { q.conds = append(q.conds, cond) }

func (q *query) and() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " and " + strings.Join(q.conds, " and ")
}

// scope adds the condition restricting col (a client id column) to sc. It
// reports false when the scope holds no client at all.
func (q *query) scope(sc Scope, col string) bool {
	if sc.All {
		return true
	}
	ids := sc.ids()
	if len(ids) == 0 {
		return false
	}
	q.where(col + " = any(" + q.arg(ids) + "::uuid[])")
	return true
}

// The columns of an EmailSummary, over emails_generated e,
// contacts_to_enrich c and clients k.
const summaryColumns = `e.id::text as id, e.client_id::text as client_id, k.client_name,
	coalesce(e.template_id::text, '') as template_id, coalesce(c.batch_id::text, '') as batch_id,
	coalesce(c.first_name, '') as first_name, coalesce(c.last_name, '') as last_name, coalesce(c.email, '') as contact_email,
	c.company_name, coalesce(c.job_title, '') as job_title, coalesce(c.website, '') as website,
	coalesce(e.subject, '') as subject, coalesce(e.quality_score, 0) as score,
	coalesce(e.quality_metrics -> 'flags', '[]') @> '[{"gate": true}]' as gated,
	e.review_status::text as status, e.created_at`

const summaryOuter = `x.id, x.client_id, x.client_name, x.template_id, x.batch_id, x.first_name, x.last_name,
	x.contact_email, x.company_name, x.job_title, x.website, x.subject, x.score, x.gated, x.status, x.created_at`

const emailFrom = ` from public.emails_generated e
	join public.contacts_to_enrich c on c.id = e.contact_id
	join public.clients k on k.id = e.client_id`

// queueOrder is the review queue's order, worst score first; the indexes
// idx_emails_queue and idx_emails_client_queue hold it.
const queueOrder = `coalesce(e.quality_score, 0), e.created_at, e.id`

func (m *EmailSummary) dest() []any {
	return []any{&m.ID, &m.ClientID, &m.ClientName, &m.TemplateID, &m.BatchID, &m.FirstName, &m.LastName,
		&m.ContactEmail, &m.CompanyName, &m.JobTitle, &m.Website, &m.Subject, &m.Score, &m.Gated, &m.Status, &m.CreatedAt}
}

// cursor is a position in the queue order.
type cursor struct {
	score   int
	created time.Time
	id      string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d.%s", c.score, c.created.UnixMicro(), c.id))
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(b), ".")
	if err != nil || len(parts) != 3 {
		return c, fmt.Errorf("%w: bad page cursor", ErrInvalid)
	}
	score, err1 := strconv.Atoi(parts[0])
	micros, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || score < 0 || score > 100 || !isUUID(parts[2]) {
		return c, fmt.Errorf("%w: bad page cursor", ErrInvalid)
	}
	return cursor{score: score, created: time.UnixMicro(micros), id: parts[2]}, nil
}

// likePattern makes a case-insensitive substring pattern for ILIKE: the
// user's % and _ match themselves.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Emails lists the emails matching f in sc, worst score first, then oldest
// (created_at), then id, f.Limit at a time: next is the cursor of the
// following page (f.After), "" after the last. Paging is by key, so a page
// neither repeats nor skips emails when others are decided meanwhile.
// A client filter outside sc is ErrNotFound; a malformed filter ErrInvalid.
//
// Each (client, status) pair of the query is read in queue order from
// idx_emails_client_queue or idx_emails_queue, at most one page each, and
// merged, so a page costs the same with 1 or 100,000 emails behind it. A
// text search first looks the words up in the trigram indexes (see
// searchIDs).
func (s *Store) Emails(ctx context.Context, sc Scope, f EmailFilter) (items []EmailSummary, next string, err error) {
	const op = "store: emails"
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	q := &query{}

	var statuses []string
	switch f.Status {
	case "":
		statuses = []string{ReviewPending}
	case "any":
		statuses = []string{ReviewPending, ReviewApproved, ReviewApprovedEdited, ReviewRejected, ReviewSent}
	case ReviewPending, ReviewApproved, ReviewApprovedEdited, ReviewRejected, ReviewSent:
		statuses = []string{f.Status}
	default:
		return nil, "", fmt.Errorf("%s: %w: status %q", op, ErrInvalid, clip(f.Status, 40))
	}
	lo, hi := f.MinScore, f.MaxScore
	if hi == 0 {
		hi = 100
	}
	if lo < 0 || hi > 100 || lo > hi {
		return nil, "", fmt.Errorf("%s: %w: score range %d-%d", op, ErrInvalid, f.MinScore, f.MaxScore)
	}
	if lo > 0 {
		q.where("coalesce(e.quality_score, 0) >= " + q.arg(lo))
	}
	if hi < 100 {
		q.where("coalesce(e.quality_score, 0) <= " + q.arg(hi))
	}
	if !f.From.IsZero() {
		q.where("e.created_at >= " + q.arg(f.From))
	}
	if !f.To.IsZero() {
		q.where("e.created_at < " + q.arg(f.To))
	}
	if f.TemplateID != "" {
		if err := checkID("template id", f.TemplateID); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		q.where("e.template_id = " + q.arg(f.TemplateID) + "::uuid")
	}
	if f.BatchID != "" {
		if err := checkID("batch id", f.BatchID); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		q.where("c.batch_id = " + q.arg(f.BatchID) + "::uuid")
	}
	if f.After != "" {
		c, err := parseCursor(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		q.where("(" + queueOrder + ") > (" + q.arg(c.score) + "::int, " + q.arg(c.created) + "::timestamptz, " + q.arg(c.id) + "::uuid)")
	}

	var clients []string // nil: every client
	switch {
	case f.ClientID != "":
		if err := checkID("client id", f.ClientID); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		if err := s.inScope(ctx, sc, f.ClientID); err != nil {
			return nil, "", fmt.Errorf("%s: client %s: %w", op, f.ClientID, err)
		}
		clients = []string{strings.ToLower(f.ClientID)}
	case !sc.All:
		clients = sc.ids()
		if len(clients) == 0 {
			return nil, "", nil
		}
	}

	// few: the text matches few emails, listed; the page is sorted from them.
	few := false
	if t := searchText(f.Text); t != "" {
		pattern := likePattern(t)
		// Under three characters there is no trigram to look up.
		ids, common := []string(nil), true
		if utf8.RuneCountInString(t) >= 3 {
			if ids, common, err = s.searchIDs(ctx, pattern, clients); err != nil {
				return nil, "", wrap(op, err)
			}
		}
		if !common {
			if len(ids) == 0 {
				return nil, "", nil
			}
			q.where("e.id = any(" + q.arg(ids) + "::uuid[])")
			few = true
		} else {
			p := q.arg(pattern)
			q.where("(" + emailSearchText + " ilike " + p + " or " + contactSearchText + " ilike " + p + ")")
		}
	}

	n := q.arg(limit + 1)
	var sql string
	if few || len(statuses) == 1 && len(clients) <= 1 {
		if len(statuses) == 1 {
			q.where("e.review_status = " + q.arg(statuses[0]) + "::text::public.review_status")
		} else {
			q.where("e.review_status = any(" + q.arg(statuses) + "::text[]::public.review_status[])")
		}
		if len(clients) == 1 {
			q.where("e.client_id = " + q.arg(clients[0]) + "::uuid")
		} else if clients != nil {
			q.where("e.client_id = any(" + q.arg(clients) + "::uuid[])")
		}
		sql = `select ` + summaryColumns + emailFrom + ` where true` + q.and() + ` order by ` + queueOrder + ` limit ` + n
	} else {
		from := ""
		if clients != nil {
			from = `unnest(` + q.arg(clients) + `::uuid[]) as sc(cid) cross join `
			q.where("e.client_id = sc.cid")
		}
		from += `unnest(` + q.arg(statuses) + `::text[]::public.review_status[]) as st(s)`
		q.where("e.review_status = st.s")
		sql = `select ` + summaryOuter + ` from ` + from + `
			cross join lateral (select ` + summaryColumns + `, e.id as uid` + emailFrom + `
				where true` + q.and() + ` order by ` + queueOrder + ` limit ` + n + `) x
			order by x.score, x.created_at, x.uid limit ` + n
	}

	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, "", wrap(op, err)
	}
	var m EmailSummary
	_, err = pgx.ForEachRow(rows, m.dest(), func() error {
		items = append(items, m)
		return nil
	})
	if err != nil {
		return nil, "", wrap(op, err)
	}
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		next = cursor{score: last.Score, created: last.CreatedAt, id: last.ID}.String()
	}
	return items, next, nil
}

// The texts a search looks in, as the trigram indexes idx_emails_search and
// idx_contacts_search hold them (the same expressions, or the indexes are
// not used): subject, body and their edited versions; company, contact
// name and e-mail. A line break separates the fields, and a search never
// contains one, so a match never spans two fields.
const (
	emailSearchText   = `(coalesce(e.subject, '') || E'\n' || e.email_generated || E'\n' || coalesce(e.email_final, '') || E'\n' || coalesce(e.subject_final, ''))`
	contactSearchText = `(c.company_name || E'\n' || coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || E'\n' || coalesce(c.email, ''))`
)

// maxSearchIDs is how many matching emails searchIDs lists; beyond, the
// text is common and the queue is read in order with the text as a filter.
const maxSearchIDs = 2000

// searchText makes a user's search text one line of valid text, at most
// 200 bytes.
func searchText(s string) string {
	s = strings.Join(strings.Fields(text(s)), " ")
	return strings.TrimSpace(clip(s, 200))
}

// searchIDs lists the emails whose text matches pattern (an ILIKE
// pattern), of the given clients (nil: all), from the trigram indexes. When
// more than maxSearchIDs match, common is true and ids is nil: reading the
// queue in order and filtering then finds a page sooner than sorting every
// match.
func (s *Store) searchIDs(ctx context.Context, pattern string, clients []string) (ids []string, common bool, err error) {
	var ce, cc string
	args := []any{pattern, maxSearchIDs + 1}
	if clients != nil {
		args = append(args, clients)
		ce, cc = " and e.client_id = any($3::uuid[])", " and c.client_id = any($3::uuid[])"
	}
	rows, err := s.pool.Query(ctx, `(select e.id::text from public.emails_generated e
			where `+emailSearchText+` ilike $1`+ce+` limit $2)
		union all
		(select e.id::text from public.contacts_to_enrich c join public.emails_generated e on e.contact_id = c.id
			where `+contactSearchText+` ilike $1`+cc+` limit $2)`, args...)
	if err != nil {
		return nil, false, err
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, false, err
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if len(all) > maxSearchIDs {
		return nil, true, nil
	}
	return all, false, nil
}

// inScope returns ErrNotFound unless the client exists and sc includes it.
func (s *Store) inScope(ctx context.Context, sc Scope, clientID string) error {
	if !isUUID(clientID) || !sc.has(clientID) {
		return ErrNotFound
	}
	var ok bool
	if err := s.pool.QueryRow(ctx, `select exists (select 1 from public.clients where id = $1)`, clientID).Scan(&ok); err != nil {
		return wrap("store", err)
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// Email returns one email of sc; an id outside sc, unknown or malformed,
// is ErrNotFound.
func (s *Store) Email(ctx context.Context, sc Scope, id string) (EmailDetail, error) {
	return s.email(ctx, s.pool, sc, id, "store: email "+clip(id, 40))
}

func (s *Store) email(ctx context.Context, db querier, sc Scope, id, op string) (EmailDetail, error) {
	var d EmailDetail
	if !isUUID(id) {
		return d, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	q := &query{}
	q.where("e.id = " + q.arg(id) + "::uuid")
	if !q.scope(sc, "e.client_id") {
		return d, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var vars, metrics string
	var reviewedAt, sentAt *time.Time
	err := db.QueryRow(ctx, `select `+summaryColumns+`, e.email_generated, coalesce(e.email_final, ''), coalesce(e.subject_final, ''),
			e.variables::text, e.quality_metrics::text, coalesce(e.reviewer_id::text, ''), e.reviewed_at,
			coalesce(e.rejection_reason::text, ''), coalesce(e.rejection_details, ''),
			coalesce(e.automation_outcome, ''), coalesce(e.automation_reason, ''),
			e.sent_at, coalesce(e.campaign_id, ''), coalesce(e.campaign_name, ''), coalesce(e.sequencer_lead_id, '')`+emailFrom+` where true`+q.and(), q.args...).
		Scan(append(d.dest(), &d.Body, &d.Final, &d.FinalSubject, &vars, &metrics, &d.ReviewerID, &reviewedAt,
			&d.RejectionReason, &d.RejectionDetails, &d.AutomationOutcome, &d.AutomationReason,
			&sentAt, &d.CampaignID, &d.CampaignName, &d.SequencerLeadID)...)
	if err != nil {
		return EmailDetail{}, wrap(op, err)
	}
	if reviewedAt != nil {
		d.ReviewedAt = *reviewedAt
	}
	if sentAt != nil {
		d.SentAt = *sentAt
	}
	// Rows written by Complete always parse; a hand-made row that does not
	// shows without variables or flags rather than not at all.
	if json.Unmarshal([]byte(vars), &d.Variables) != nil || d.Variables == nil {
		d.Variables = map[string]email.Variable{}
	}
	var qm QualityMetrics
	_ = json.Unmarshal([]byte(metrics), &qm)
	d.Quality = email.Report{Score: d.Score, Flags: qm.Flags}
	return d, nil
}

// Decide records a decision in one transaction: the email moves from
// pending_review only (else ErrConflict naming its current status) to
// approved, approved_edited (email_final and subject_final set) or rejected
// (reason and details), with reviewer and time; a review_decisions row
// records reviewer or API key (Via), action, previous status, time,
// time-to-decision (from ShownAt; zero = unknown), the variable a rejection
// names and the email's automation outcome (for the random sample's
// rejection rate); and the client's review_analytics row for the day (UTC)
// is recounted. Two decisions on one email at once: one wins, the other is
// ErrConflict. An email outside sc is ErrNotFound; a bad action, reason or
// text, or a variable that is not one of the email's, ErrInvalid. It
// returns the email as decided.
func (s *Store) Decide(ctx context.Context, sc Scope, d Decision) (EmailDetail, error) {
	op := "store: decide email " + clip(d.EmailID, 40)
	if !isUUID(d.EmailID) {
		return EmailDetail{}, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var status string
	var body, subject, reason, details *string
	switch d.Action {
	case ActionApprove:
		status = ReviewApproved
	case ActionEdit:
		status = ReviewApprovedEdited
		b := strings.TrimSpace(text(d.Body))
		sub := strings.TrimSpace(text(d.Subject))
		if b == "" || len(b) > maxBodyLen || len(sub) > maxSubjectLen || strings.ContainsAny(sub, "\r\n") {
			return EmailDetail{}, fmt.Errorf("%s: %w: an edit needs a body (at most %d bytes) and a one-line subject", op, ErrInvalid, maxBodyLen)
		}
		body, subject = &b, &sub
	case ActionReject:
		status = ReviewRejected
		if !slices.Contains(RejectionReasons, d.Reason) {
			return EmailDetail{}, fmt.Errorf("%s: %w: rejection reason %q (one of %s)", op, ErrInvalid, clip(d.Reason, 40), strings.Join(RejectionReasons, ", "))
		}
		det := strings.TrimSpace(text(d.Details))
		if len(det) > maxDetailsLen {
			return EmailDetail{}, fmt.Errorf("%s: %w: details longer than %d bytes", op, ErrInvalid, maxDetailsLen)
		}
		reason, details = &d.Reason, &det
		if det == "" {
			details = nil
		}
		if d.Variable != "" && !variableName.MatchString(d.Variable) {
			return EmailDetail{}, fmt.Errorf("%s: %w: variable %q is not a variable name", op, ErrInvalid, clip(d.Variable, 70))
		}
	default:
		return EmailDetail{}, fmt.Errorf("%s: %w: action %q (approve, edit or reject)", op, ErrInvalid, clip(d.Action, 40))
	}
	if d.Variable != "" && d.Action != ActionReject {
		return EmailDetail{}, fmt.Errorf("%s: %w: only a rejection names a variable", op, ErrInvalid)
	}
	if d.ReviewerID != "" && !isUUID(d.ReviewerID) {
		return EmailDetail{}, fmt.Errorf("%s: %w: reviewer id %q", op, ErrInvalid, clip(d.ReviewerID, 40))
	}
	via := strings.TrimSpace(text(d.Via))
	if via == "" {
		via = "ui"
	}
	if d.ReviewerID == "" && via == "ui" || len(via) > 200 {
		return EmailDetail{}, fmt.Errorf("%s: %w: a decision names its reviewer, or its API key in Via", op, ErrInvalid)
	}
	var ttd *int64
	if !d.ShownAt.IsZero() {
		ms := min(max(time.Since(d.ShownAt).Milliseconds(), 0), maxDecisionMS)
		ttd = &ms
	}

	var out EmailDetail
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		q := &query{}
		q.where("e.id = " + q.arg(d.EmailID) + "::uuid")
		if !q.scope(sc, "e.client_id") {
			return fmt.Errorf("%w", ErrNotFound)
		}
		// The row lock makes a second decision wait for the first, then
		// read the status the first one left.
		var current, clientID, contactID string
		var score int
		var final, finalSubject, outcome *string
		var hasVariable bool
		err := tx.QueryRow(ctx, `select e.review_status::text, e.client_id::text, e.contact_id::text,
				coalesce(e.quality_score, 0), e.email_final, e.subject_final, e.automation_outcome,
				jsonb_typeof(e.variables) = 'object' and e.variables ? `+q.arg(d.Variable)+`
			from public.emails_generated e where true`+q.and()+` for update`, q.args...).
			Scan(&current, &clientID, &contactID, &score, &final, &finalSubject, &outcome, &hasVariable)
		if err != nil {
			return err
		}
		if current != ReviewPending {
			return fmt.Errorf("%w: the email is already %s", ErrConflict, current)
		}
		if d.Variable != "" && !hasVariable {
			return fmt.Errorf("%w: variable %q is not one of the email's variables", ErrInvalid, d.Variable)
		}
		_, err = tx.Exec(ctx, `update public.emails_generated
			set review_status = $2::text::public.review_status, reviewer_id = $3, reviewed_at = now(),
			    rejection_reason = $4::text::public.rejection_reason, rejection_details = $5,
			    email_final = case when $6::text is not null then $6 else email_final end,
			    subject_final = case when $6::text is not null then coalesce(nullif($7, ''), subject) else subject_final end
			where id = $1`, d.EmailID, status, nullID(d.ReviewerID), reason, details, body, subject)
		if err != nil {
			return err
		}
		var day time.Time
		err = tx.QueryRow(ctx, `insert into public.review_decisions (email_id, contact_id, client_id, reviewer_id, via, action,
				previous_status, new_status, reason, details, quality_score, previous_final, previous_subject_final,
				decided_at, time_to_decision_ms, variable, automation_outcome)
			values ($1, $2, $3, $4, $5, $6::text::public.review_action, $7::text::public.review_status,
				$8::text::public.review_status, $9::text::public.rejection_reason, $10, $11, $12, $13, now(), $14,
				nullif($15, ''), $16)
			returning (decided_at at time zone 'UTC')::date`,
			d.EmailID, contactID, clientID, nullID(d.ReviewerID), via, d.Action, current, status, reason, details,
			min(max(score, 0), 100), final, finalSubject, ttd, d.Variable, outcome).Scan(&day)
		if err != nil {
			return err
		}
		if err := recount(ctx, tx, clientID, day); err != nil {
			return err
		}
		out, err = s.email(ctx, tx, Scope{All: true}, d.EmailID, op)
		return err
	})
	if err != nil {
		return EmailDetail{}, wrap(op, err)
	}
	return out, nil
}

// Undo reverts the reviewer's most recent decision of the last UndoWindow
// (30 minutes) in sc when the email is still in the state it left: the
// email goes back to pending_review with its text as before, the decision
// is marked undone and the day's review_analytics recounted. Undoing again
// reverts the decision before. ErrNothingToUndo when there is no such
// decision, or its email has moved on (sent, regenerated).
func (s *Store) Undo(ctx context.Context, sc Scope, reviewerID string) (EmailDetail, error) {
	op := "store: undo"
	if !isUUID(reviewerID) {
		return EmailDetail{}, fmt.Errorf("%s: %w", op, ErrNothingToUndo)
	}
	var out EmailDetail
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		q := &query{}
		q.where("r.reviewer_id = " + q.arg(reviewerID) + "::uuid")
		q.where("r.decided_at > now() - make_interval(secs => " + q.arg(UndoWindow.Seconds()) + ")")
		if !q.scope(sc, "r.client_id") {
			return ErrNothingToUndo
		}
		var decisionID, clientID, newStatus, prevStatus string
		var emailID, prevFinal, prevSubject *string
		var day time.Time
		err := tx.QueryRow(ctx, `select r.id::text, r.email_id::text, r.client_id::text, r.new_status::text, r.previous_status::text,
				r.previous_final, r.previous_subject_final, (r.decided_at at time zone 'UTC')::date
			from public.review_decisions r
			where r.undone_at is null`+q.and()+`
			order by r.decided_at desc, r.id desc limit 1
			for update`, q.args...).Scan(&decisionID, &emailID, &clientID, &newStatus, &prevStatus, &prevFinal, &prevSubject, &day)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && emailID == nil {
			return ErrNothingToUndo
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `update public.emails_generated
			set review_status = $3::text::public.review_status, reviewer_id = null, reviewed_at = null,
			    rejection_reason = null, rejection_details = null, email_final = $4, subject_final = $5
			where id = $1 and review_status = $2::text::public.review_status`, *emailID, newStatus, prevStatus, prevFinal, prevSubject)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: the email has changed since", ErrNothingToUndo)
		}
		if _, err := tx.Exec(ctx, `update public.review_decisions set undone_at = now() where id = $1`, decisionID); err != nil {
			return err
		}
		if err := recount(ctx, tx, clientID, day); err != nil {
			return err
		}
		out, err = s.email(ctx, tx, Scope{All: true}, *emailID, op)
		return err
	})
	if err != nil {
		return EmailDetail{}, wrap(op, err)
	}
	return out, nil
}

// recount rewrites the client's review_analytics row for day (a UTC date)
// from the day's emails and decisions not undone: generated (created that
// day) and their average score; approved, edited and rejected (decided
// that day); approval (approved + edited), edit and rejection rates in
// percent of the decided; average time to decision in seconds; rejection
// reasons with count and percentage. Concurrent decisions of one client
// and day take turns on the row's lock, so each recount sees the ones
// committed before it.
func recount(ctx context.Context, tx pgx.Tx, clientID string, day time.Time) error {
	if _, err := tx.Exec(ctx, `insert into public.review_analytics (date, client_id) values ($1, $2)
		on conflict (date, client_id) do nothing`, day, clientID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `select 1 from public.review_analytics where date = $1 and client_id = $2 for update`, day, clientID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `with b as (
			select ($1::date)::timestamp at time zone 'UTC' as lo, ($1::date + 1)::timestamp at time zone 'UTC' as hi
		), g as (
			select count(*)::int as n, round(avg(e.quality_score), 2) as q
			from public.emails_generated e, b where e.client_id = $2 and e.created_at >= b.lo and e.created_at < b.hi
		), d as (
			select r.action, r.reason, r.time_to_decision_ms as ms
			from public.review_decisions r, b
			where r.client_id = $2 and r.undone_at is null and r.decided_at >= b.lo and r.decided_at < b.hi
		), c as (
			select count(*) filter (where action = 'approve')::int as approved,
			       count(*) filter (where action = 'edit')::int as edited,
			       count(*) filter (where action = 'reject')::int as rejected,
			       count(*)::int as decided,
			       round(avg(ms) / 1000.0)::int as secs
			from d
		), r as (
			select coalesce(jsonb_agg(jsonb_build_object('reason', reason, 'count', n, 'percentage', pct) order by n desc, reason), '[]') as breakdown
			from (select reason, n, round(100.0 * n / sum(n) over ())::int as pct
			      from (select reason::text as reason, count(*)::int as n from d where action = 'reject' group by reason) x) y
		)
		update public.review_analytics ra
		   set total_generated = g.n, total_approved = c.approved, total_edited = c.edited, total_rejected = c.rejected,
		       approval_rate = case when c.decided > 0 then round(100.0 * (c.approved + c.edited) / c.decided, 2) end,
		       edit_rate = case when c.decided > 0 then round(100.0 * c.edited / c.decided, 2) end,
		       rejection_rate = case when c.decided > 0 then round(100.0 * c.rejected / c.decided, 2) end,
		       avg_review_time_seconds = c.secs, avg_quality_score = g.q, rejection_reasons_breakdown = r.breakdown
		  from g, c, r
		 where ra.date = $1 and ra.client_id = $2`, day, clientID)
	return err
}

// Regenerate puts the email's contact back to pending (attempts kept, last
// error cleared) so the worker generates it again, and returns the contact
// id; the caller wakes the worker (the status change also notifies
// kaleads_contacts). Only a pending_review or rejected email can be
// regenerated (else ErrConflict naming its status: an approved one may be
// on its way to a sequencer); one outside sc is ErrNotFound.
//
// The email row is deleted in the same transaction, with its agent_runs:
// Complete inserts with "on conflict (contact_id) do nothing" and keeps the
// first email of a contact (so that two workers completing one contact
// store one email), so a row left in place would make the worker's new
// email vanish. The new email gets a new id and lands in the queue as
// pending_review when the worker completes the contact. Decisions already
// recorded stay in review_decisions (email_id null, contact_id kept) and
// keep counting in the dashboard. The agent answer cache is not cleared:
// unless the client's context, the template's language or the engine
// changed, the agents' cached answers for the company are reused.
func (s *Store) Regenerate(ctx context.Context, sc Scope, emailID string) (contactID string, err error) {
	op := "store: regenerate email " + clip(emailID, 40)
	if !isUUID(emailID) {
		return "", fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		q := &query{}
		q.where("e.id = " + q.arg(emailID) + "::uuid")
		if !q.scope(sc, "e.client_id") {
			return ErrNotFound
		}
		var status, contactStatus string
		err := tx.QueryRow(ctx, `select e.contact_id::text, e.review_status::text from public.emails_generated e
			where true`+q.and()+` for update`, q.args...).Scan(&contactID, &status)
		if err != nil {
			return err
		}
		if status != ReviewPending && status != ReviewRejected {
			return fmt.Errorf("%w: the email is %s; only a pending or rejected email is regenerated", ErrConflict, status)
		}
		if err := tx.QueryRow(ctx, `select status::text from public.contacts_to_enrich where id = $1 for update`, contactID).
			Scan(&contactStatus); err != nil {
			return err
		}
		if contactStatus != StatusCompleted {
			return fmt.Errorf("%w: the contact is %s", ErrConflict, contactStatus)
		}
		if _, err := tx.Exec(ctx, `delete from public.emails_generated where id = $1`, emailID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update public.contacts_to_enrich
			set status = 'pending', retry_at = null, claimed_at = null, claimed_by = null, processed_at = null, error_message = null
			where id = $1`, contactID)
		return err
	})
	if err != nil {
		return "", wrap(op, err)
	}
	return contactID, nil
}
