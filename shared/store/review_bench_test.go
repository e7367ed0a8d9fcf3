package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// reviewFixture is a database with 100,000 generated emails over 10
// clients and 90 days: half pending review, the rest approved (35 %),
// edited (5 %) or rejected (10 %) with their decisions.
type reviewFixture struct {
	s         *store.Store
	clients   []string
	templates []string
}

const benchEmails = 100_000

func newReviewFixture(b *testing.B) reviewFixture {
	b.Helper()
	ctx := context.Background()
	f := reviewFixture{s: storetest.Open(b)}
	var batches []string
	for i := range 10 {
		c, tp := newClient(b, f.s, fmt.Sprintf("Bench %d", i))
		f.clients = append(f.clients, c.ID)
		f.templates = append(f.templates, tp.ID)
		batches = append(batches, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	start := time.Now()
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`insert into contacts_to_enrich (client_id, template_id, first_name, last_name, email, company_name, website,
			job_title, status, batch_id, line, processed_at)
		select ($1::uuid[])[1 + i % 10], ($2::uuid[])[1 + i % 10], 'Prénom' || i, 'Nom' || i,
			'p' || i || '@company' || (i % 5000) || '.example', 'Company ' || (i % 5000),
			'https://company' || (i % 5000) || '.example', 'Directeur commercial', 'completed',
			($3::uuid[])[1 + i % 10], i / 10 + 2, now()
		from generate_series(0, $4 - 1) as i`, []any{f.clients, f.templates, batches, benchEmails}},
		{`insert into emails_generated (contact_id, client_id, template_id, subject, email_generated, quality_score,
			quality_metrics, review_status, reviewed_at, rejection_reason, email_final, created_at)
		select x.id, x.client_id, x.template_id, 'Prospection chez ' || x.company_name,
			'Bonjour ' || x.first_name || E',\n\n' || repeat('Un message de prospection assez long. ', 15), x.score,
			jsonb_build_object('overall_score', x.score, 'flags', case when x.score < 40
				then '[{"code": "unfilled", "points": 30, "message": "variable vide", "gate": true}]'::jsonb else '[]'::jsonb end),
			x.st::review_status, case when x.st <> 'pending_review' then least(x.created + interval '1 hour', now()) end,
			case when x.st = 'rejected' then 'wrong_persona'::rejection_reason end,
			case when x.st = 'approved_edited' then 'Bonjour, texte revu' end, x.created
		from (select c.id, c.client_id, c.template_id, c.company_name, c.first_name,
				(random() * 100)::int as score, now() - random() * interval '90 days' as created,
				(array['pending_review', 'pending_review', 'pending_review', 'pending_review', 'pending_review', 'pending_review',
				       'pending_review', 'pending_review', 'pending_review', 'pending_review',
				       'approved', 'approved', 'approved', 'approved', 'approved', 'approved', 'approved',
				       'approved_edited', 'rejected', 'rejected'])[1 + (random() * 19)::int] as st
			from contacts_to_enrich c) x`, nil},
		{`insert into review_decisions (email_id, contact_id, client_id, via, action, previous_status, new_status, reason,
			quality_score, decided_at, time_to_decision_ms)
		select e.id, e.contact_id, e.client_id, 'ui',
			case e.review_status when 'approved' then 'approve' when 'approved_edited' then 'edit' else 'reject' end::review_action,
			'pending_review', e.review_status, e.rejection_reason, e.quality_score, e.reviewed_at, (5000 + random() * 90000)::int
		from emails_generated e where e.review_status <> 'pending_review'`, nil},
	} {
		if _, err := f.s.Pool().Exec(ctx, st.sql, st.args...); err != nil {
			b.Fatal(err)
		}
	}
	for _, table := range []string{"contacts_to_enrich", "emails_generated", "review_decisions", "clients"} {
		if _, err := f.s.Pool().Exec(ctx, "vacuum analyze "+table); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("fixture: %d emails, %d decisions in %v", count(b, f.s, `select count(*) from emails_generated`),
		count(b, f.s, `select count(*) from review_decisions`), time.Since(start).Round(time.Millisecond))
	return f
}

// timed runs call in b.Loop and reports the p50 and p95 of its durations.
func timed(b *testing.B, call func() error) {
	b.Helper()
	var d []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}

// BenchmarkQueue measures one page of the review queue (Emails) over
// 100,000 emails: the first page for an admin, a reviewer of one client and
// of three; a page deep in the queue; with filters; with a text search.
func BenchmarkQueue(b *testing.B) {
	ctx := context.Background()
	f := newReviewFixture(b)
	all := store.Scope{All: true}
	deep := store.EmailFilter{}
	for range 20 { // page 21: after 1,000 emails
		_, next, err := f.s.Emails(ctx, all, deep)
		if err != nil {
			b.Fatal(err)
		}
		deep.After = next
	}
	month := time.Now().AddDate(0, -1, 0)
	cases := []struct {
		name string
		sc   store.Scope
		f    store.EmailFilter
	}{
		{"admin/first-page", all, store.EmailFilter{}},
		{"reviewer-1-client/first-page", store.Scope{ClientIDs: f.clients[:1]}, store.EmailFilter{}},
		{"reviewer-3-clients/first-page", store.Scope{ClientIDs: f.clients[:3]}, store.EmailFilter{}},
		{"admin/page-21", all, deep},
		{"admin/client-template-score-month", all, store.EmailFilter{ClientID: f.clients[2], TemplateID: f.templates[2], MinScore: 60, MaxScore: 90, From: month}},
		{"admin/any-status", all, store.EmailFilter{Status: "any"}},
		{"admin/rejected", all, store.EmailFilter{Status: "rejected"}},
		{"admin/text-company", all, store.EmailFilter{Text: "company 4321"}},
		{"admin/text-common", all, store.EmailFilter{Text: "bonjour"}},
		{"reviewer-1-client/text-rare", store.Scope{ClientIDs: f.clients[:1]}, store.EmailFilter{Text: "nothing like this"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			timed(b, func() error {
				items, _, err := f.s.Emails(ctx, c.sc, c.f)
				if err == nil && len(items) == 0 && c.f.Text == "" {
					err = fmt.Errorf("empty page")
				}
				return err
			})
		})
	}
}

// withAutomation makes the fixture's last 45 days automated (issue 12):
// each email created then has a phase outcome, 60 % of those waiting for
// review were auto-approved instead (approved, no decision), 10 % of the
// others were sampled; rejections name a variable (two in three).
func (f reviewFixture) withAutomation(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	for _, sql := range []string{
		`update emails_generated set automation_outcome = case
				when review_status = 'pending_review' and random() < 0.6 then 'auto_approved'
				when random() < 0.1 then 'sampled' when quality_score < 40 then 'held' else 'review' end
			where created_at > now() - interval '45 days'`,
		`update emails_generated set review_status = 'approved', reviewed_at = created_at
			where automation_outcome = 'auto_approved'`,
		`update review_decisions r set automation_outcome = e.automation_outcome
			from emails_generated e where e.id = r.email_id and e.automation_outcome is not null`,
		`update review_decisions set variable = (array['target_persona', 'competitor_name', null])[1 + (random() * 2)::int]
			where action = 'reject'`,
		`vacuum analyze emails_generated`,
		`vacuum analyze review_decisions`,
	} {
		if _, err := f.s.Pool().Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDashboard measures Dashboard over 100,000 emails and 50,000
// decisions, the last 45 days automated: every client and one, all time
// and the last 30 days.
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	f := newReviewFixture(b)
	f.withAutomation(b)
	month := store.Period{From: time.Now().AddDate(0, 0, -30)}
	cases := []struct {
		name   string
		sc     store.Scope
		client string
		p      store.Period
	}{
		{"admin/all-clients/all-time", store.Scope{All: true}, "", store.Period{}},
		{"admin/all-clients/30-days", store.Scope{All: true}, "", month},
		{"admin/one-client/all-time", store.Scope{All: true}, f.clients[0], store.Period{}},
		{"reviewer-3-clients/30-days", store.Scope{ClientIDs: f.clients[:3]}, "", month},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			timed(b, func() error {
				d, err := f.s.Dashboard(ctx, c.sc, c.client, c.p)
				if err == nil && (d.Generated == 0 || len(d.Weekly) == 0 || d.AutoApproved == 0 || d.SampleDecided == 0 || len(d.RejectionPatterns) == 0) {
					err = fmt.Errorf("empty dashboard %+v", d)
				}
				return err
			})
		})
	}
}
