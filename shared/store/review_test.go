package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaleads/kaleads/shared/store"
)

const nobody = "00000000-0000-4000-8000-00000000dead"

// seed uploads one contact per score for the client and stores a generated
// email for each (subject "Sujet pour <company>", body "Bonjour <first
// name>"), created a millisecond apart in upload order, and marks the
// contacts completed. It returns the email ids in upload order.
func seed(t testing.TB, s *store.Store, c store.Client, tp store.Template, tag string, scores ...int) []string {
	t.Helper()
	ctx := context.Background()
	rep := upload(t, s, c.ID, tp.ID, csvOf(len(scores), tag))
	_, err := s.Pool().Exec(ctx, `with c as (
			select id, client_id, template_id, company_name, first_name, row_number() over (order by line) as i
			from contacts_to_enrich where batch_id = $1)
		insert into emails_generated (contact_id, client_id, template_id, subject, email_generated, quality_score,
			quality_metrics, created_at)
		select c.id, c.client_id, c.template_id, 'Sujet pour ' || c.company_name, 'Bonjour ' || c.first_name,
			($2::int[])[c.i], jsonb_build_object('overall_score', ($2::int[])[c.i], 'flags', '[]'::jsonb),
			now() - ($3 - c.i) * interval '1 millisecond'
		from c`, rep.BatchID, scores, len(scores))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `update contacts_to_enrich set status = 'completed', processed_at = now() where batch_id = $1`, rep.BatchID); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, `select e.id::text from emails_generated e join contacts_to_enrich c on c.id = e.contact_id
		where c.batch_id = $1 order by c.line`, rep.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// status returns an email's review status.
func status(t testing.TB, s *store.Store, id string) string {
	t.Helper()
	var st string
	if err := s.Pool().QueryRow(context.Background(), `select review_status::text from emails_generated where id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestScopeIsolation: a reviewer of client A, an API key of A, a user with
// no client, reach nothing of client B, whatever id they try: every
// operation answers ErrNotFound, as for an id that does not exist, and B's
// data is untouched.
func TestScopeIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	a, ta := newClient(t, s, "Client A")
	b, tb := newClient(t, s, "Client B")
	mineA := seed(t, s, a, ta, "a", 50, 60)
	theirs := seed(t, s, b, tb, "b", 40, 70)
	ana := newUser(t, s, "ana@a.example", false, a)
	_, key, err := s.CreateAPIKey(ctx, a.ID, "n8n")
	if err != nil {
		t.Fatal(err)
	}
	// Ana decides one of A's emails, so Undo has something of hers.
	if _, err := s.Decide(ctx, ana.Scope(), store.Decision{EmailID: mineA[0], ReviewerID: ana.ID, Action: "approve"}); err != nil {
		t.Fatal(err)
	}

	scopes := []struct {
		name string
		sc   store.Scope
	}{
		{"reviewer of A", ana.Scope()},
		{"API key of A", store.Scope{ClientIDs: []string{key.ClientID}}},
		{"no client", store.Scope{}},
		{"ids that are not ids", store.Scope{ClientIDs: []string{"' or true --", ""}}},
	}
	guesses := []string{theirs[0], theirs[1], nobody, "not-an-id", "", strings.ToUpper(theirs[0])}
	for _, x := range scopes {
		t.Run(x.name, func(t *testing.T) {
			for _, id := range guesses {
				if _, err := s.Email(ctx, x.sc, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Email(%q): %v, want ErrNotFound", id, err)
				}
				for _, action := range []string{"approve", "reject"} {
					_, err := s.Decide(ctx, x.sc, store.Decision{EmailID: id, ReviewerID: ana.ID, Action: action, Reason: "other"})
					if !errors.Is(err, store.ErrNotFound) {
						t.Errorf("Decide(%s %q): %v, want ErrNotFound", action, id, err)
					}
				}
				if _, err := s.Regenerate(ctx, x.sc, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Regenerate(%q): %v, want ErrNotFound", id, err)
				}
			}
			for _, id := range []string{b.ID, nobody, strings.ToUpper(b.ID)} {
				if _, err := s.Dashboard(ctx, x.sc, id, store.Period{}); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Dashboard(client %s): %v, want ErrNotFound", id, err)
				}
				if _, _, err := s.Emails(ctx, x.sc, store.EmailFilter{ClientID: id}); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Emails(client %s): %v, want ErrNotFound", id, err)
				}
			}
			items, _, err := s.Emails(ctx, x.sc, store.EmailFilter{Status: "any"})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.ClientID != a.ID {
					t.Errorf("the queue shows %s of client %s", it.ID, it.ClientName)
				}
			}
			d, err := s.Dashboard(ctx, x.sc, "", store.Period{})
			if err != nil || d.Generated > 2 || d.Approved > 1 {
				t.Errorf("Dashboard of the scope: %+v %v, want client A's figures at most", d, err)
			}
		})
	}
	// Undo in a scope without A reaches nothing, and leaves Ana's decision.
	if _, err := s.Undo(ctx, store.Scope{ClientIDs: []string{b.ID}}, ana.ID); !errors.Is(err, store.ErrNothingToUndo) {
		t.Errorf("Undo in client B's scope: %v, want ErrNothingToUndo", err)
	}
	if st := status(t, s, mineA[0]); st != "approved" {
		t.Errorf("A's decided email is %s after an undo out of scope", st)
	}
	for _, id := range theirs {
		if st := status(t, s, id); st != "pending_review" {
			t.Errorf("client B's email %s is %s", id, st)
		}
	}
	if n := count(t, s, `select count(*) from review_decisions where client_id = $1`, b.ID); n != 0 {
		t.Errorf("%d decisions recorded on client B", n)
	}
	if n := count(t, s, `select count(*) from contacts_to_enrich where client_id = $1 and status <> 'completed'`, b.ID); n != 0 {
		t.Errorf("%d of client B's contacts were re-queued", n)
	}
	// The admin sees both.
	boss := newUser(t, s, "boss@agency.example", true)
	items, _, err := s.Emails(ctx, boss.Scope(), store.EmailFilter{Status: "any"})
	if err != nil || len(items) != 4 {
		t.Errorf("admin queue: %d emails (%v), want 4", len(items), err)
	}
}

// TestDecideConcurrently: several reviewers deciding the same email at once:
// exactly one decision is recorded, the others are told it is decided.
func TestDecideConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	c, tp := newClient(t, s, "Acme")
	ids := seed(t, s, c, tp, "race", 50, 60, 70, 80, 90)
	var reviewers []store.User
	for i := range 4 {
		reviewers = append(reviewers, newUser(t, s, fmt.Sprintf("r%d@agency.example", i), false, c))
	}
	actions := []store.Decision{
		{Action: "approve"}, {Action: "reject", Reason: "wrong_persona"}, {Action: "edit", Body: "Bonjour, autre texte"},
		{Action: "approve", Via: "api:key"},
	}
	for _, id := range ids {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := actions[i%len(actions)]
				d.EmailID, d.ReviewerID = id, reviewers[i%len(reviewers)].ID
				if d.Via != "" {
					d.ReviewerID = ""
				}
				<-start
				_, errs[i] = s.Decide(ctx, store.Scope{All: true}, d)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrConflict) && strings.Contains(err.Error(), "already "):
			default:
				t.Errorf("email %s: %v, want success or ErrConflict naming the status", id, err)
			}
		}
		if won != 1 {
			t.Errorf("email %s: %d decisions won, want 1", id, won)
		}
		if n := count(t, s, `select count(*) from review_decisions where email_id = $1`, id); n != 1 {
			t.Errorf("email %s: %d decisions recorded, want 1", id, n)
		}
	}
	if n := count(t, s, `select total_approved + total_edited + total_rejected from review_analytics where client_id = $1`, c.ID); n != len(ids) {
		t.Errorf("review_analytics counts %d decisions, want %d", n, len(ids))
	}

	// Different emails of one client decided at once: the day's counts
	// miss none of them.
	more := seed(t, s, c, tp, "many", make([]int, 16)...)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, id := range more {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := actions[i%3]
			d.EmailID, d.ReviewerID = id, reviewers[i%len(reviewers)].ID
			<-start
			if _, err := s.Decide(ctx, store.Scope{All: true}, d); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	var appr, edited, rej int
	if err := s.Pool().QueryRow(ctx, `select total_approved, total_edited, total_rejected from review_analytics where client_id = $1`, c.ID).
		Scan(&appr, &edited, &rej); err != nil {
		t.Fatal(err)
	}
	if total := appr + edited + rej; total != len(ids)+len(more) || rej < 5 {
		t.Errorf("review_analytics counts %d approved, %d edited, %d rejected; want %d in all", appr, edited, rej, len(ids)+len(more))
	}
}

func TestDecideAndAnalytics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	c, tp := newClient(t, s, "Acme")
	ids := seed(t, s, c, tp, "an", 50, 65, 80, 95, 70, 85)
	ana := newUser(t, s, "ana@agency.example", false, c)
	sc := ana.Scope()

	decisions := []struct {
		d                         store.Decision
		status, final, finalSubj  string
		reason, details, reviewer string
	}{
		{store.Decision{EmailID: ids[0], Action: "approve"}, "approved", "", "", "", "", ana.ID},
		{store.Decision{EmailID: ids[1], Action: "approve", Via: "api:1234"}, "approved", "", "", "", "", ""},
		{store.Decision{EmailID: ids[2], Action: "edit", Subject: "Nouveau sujet", Body: "Bonjour, texte revu"}, "approved_edited", "Bonjour, texte revu", "Nouveau sujet", "", "", ana.ID},
		{store.Decision{EmailID: ids[3], Action: "reject", Reason: "wrong_persona", Details: "pas la bonne cible"}, "rejected", "", "", "wrong_persona", "pas la bonne cible", ana.ID},
		{store.Decision{EmailID: ids[4], Action: "reject", Reason: "wrong_persona"}, "rejected", "", "", "wrong_persona", "", ana.ID},
		{store.Decision{EmailID: ids[5], Action: "reject", Reason: "grammar_issues"}, "rejected", "", "", "grammar_issues", "", ana.ID},
	}
	for _, x := range decisions {
		t.Run(x.d.Action+"/"+x.d.EmailID[:8], func(t *testing.T) {
			d := x.d
			d.ShownAt = time.Now().Add(-10 * time.Second)
			if d.Via == "" {
				d.ReviewerID = ana.ID
			}
			got, err := s.Decide(ctx, sc, d)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != x.status || got.Final != x.final || got.FinalSubject != x.finalSubj ||
				got.RejectionReason != x.reason || got.RejectionDetails != x.details || got.ReviewerID != x.reviewer ||
				got.ReviewedAt.IsZero() || got.ID != d.EmailID {
				t.Errorf("Decide returned %+v", got)
			}
			again, err := s.Email(ctx, sc, d.EmailID)
			if err != nil || again.Status != x.status || again.Final != x.final {
				t.Errorf("Email after the decision: %+v %v", again, err)
			}
		})
	}
	if got, err := s.Email(ctx, sc, ids[2]); err != nil || got.Subject != "Sujet pour Company 2" || got.Body != "Bonjour Prénom2" {
		t.Errorf("an edit keeps the generated subject and body beside the final ones: %+v %v", got, err)
	}
	var via string
	var reviewer *string
	if err := s.Pool().QueryRow(ctx, `select via, reviewer_id::text from review_decisions where email_id = $1`, ids[1]).Scan(&via, &reviewer); err != nil ||
		via != "api:1234" || reviewer != nil {
		t.Errorf("API decision recorded via %q reviewer %v (%v), want api:1234 and no reviewer", via, reviewer, err)
	}

	refused := []struct {
		name string
		d    store.Decision
		want error
	}{
		{"decided already", store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "reject", Reason: "other"}, store.ErrConflict},
		{"unknown reason", store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "reject", Reason: "rude"}, store.ErrInvalid},
		{"edit without a body", store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "edit", Body: "  "}, store.ErrInvalid},
		{"edit with a two-line subject", store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "edit", Body: "x", Subject: "a\nBcc: x"}, store.ErrInvalid},
		{"unknown action", store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "maybe"}, store.ErrInvalid},
		{"no reviewer, no key", store.Decision{EmailID: ids[0], Action: "approve"}, store.ErrInvalid},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Decide(ctx, sc, tt.d); !errors.Is(err, tt.want) {
				t.Errorf("Decide: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := s.Decide(ctx, sc, refused[0].d); err == nil || !strings.Contains(err.Error(), "approved") {
		t.Errorf("a conflict names the current status: %v", err)
	}

	// review_analytics: one row for today, recounted from the decisions.
	var gen, appr, edited, rej, secs int
	var apprRate, editRate, rejRate, avgQ float64
	var breakdown string
	err := s.Pool().QueryRow(ctx, `select total_generated, total_approved, total_edited, total_rejected,
			approval_rate::float8, edit_rate::float8, rejection_rate::float8, avg_review_time_seconds,
			avg_quality_score::float8, rejection_reasons_breakdown::text
		from review_analytics where client_id = $1 and date = (now() at time zone 'UTC')::date`, c.ID).
		Scan(&gen, &appr, &edited, &rej, &apprRate, &editRate, &rejRate, &secs, &avgQ, &breakdown)
	if err != nil {
		t.Fatal(err)
	}
	if gen != 6 || appr != 2 || edited != 1 || rej != 3 || apprRate != 50 || editRate != 16.67 || rejRate != 50 || secs != 10 || avgQ != 74.17 {
		t.Errorf("review_analytics: generated %d, approved %d, edited %d, rejected %d, rates %v/%v/%v, %d s, quality %v;"+
			" want 6, 2, 1, 3, 50/16.67/50, 10 s, 74.17", gen, appr, edited, rej, apprRate, editRate, rejRate, secs, avgQ)
	}
	if want := `[{"count": 2, "reason": "wrong_persona", "percentage": 67}, {"count": 1, "reason": "grammar_issues", "percentage": 33}]`; breakdown != want {
		t.Errorf("rejection_reasons_breakdown = %s, want %s", breakdown, want)
	}

	// The dashboard shows the same figures.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	d, err := s.Dashboard(ctx, sc, c.ID, store.Period{From: today.Add(-24 * time.Hour), To: today.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generated != 6 || d.Approved != 2 || d.Edited != 1 || d.Rejected != 3 || d.ApprovalRate != 0.5 ||
		d.RejectionRate != 0.5 || d.AvgQuality < 74.16 || d.AvgQuality > 74.17 || d.AvgReviewSeconds < 9.5 || d.AvgReviewSeconds > 12 {
		t.Errorf("dashboard %+v", d)
	}
	if d.RejectionReasons["wrong_persona"] != 2 || d.RejectionReasons["grammar_issues"] != 1 || len(d.RejectionReasons) != 2 {
		t.Errorf("rejection reasons %v", d.RejectionReasons)
	}
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	if len(d.Weekly) != 1 || !d.Weekly[0].Week.Equal(monday) || d.Weekly[0].Decided != 6 || d.Weekly[0].Approved != 3 {
		t.Errorf("weekly %+v, want this week (%s): 6 decided, 3 approved", d.Weekly, monday)
	}
	// Scores 50 (approved), 65 (approved), 80 (edited), 95, 70, 85 (rejected).
	wantBuckets := []store.ScoreBucket{{0, 59, 1, 1}, {60, 74, 2, 1}, {75, 89, 2, 1}, {90, 100, 1, 0}}
	if !slices.Equal(d.ScoreBuckets, wantBuckets) {
		t.Errorf("score buckets %+v, want %+v", d.ScoreBuckets, wantBuckets)
	}
	if d.Ready || len(d.Missing) != 3 {
		t.Errorf("ready %v, missing %q: want not ready for the count, approval and edit rates", d.Ready, d.Missing)
	}
	// A period without these decisions.
	d, err = s.Dashboard(ctx, sc, "", store.Period{To: today.Add(-24 * time.Hour)})
	if err != nil || d.Generated != 0 || d.Approved+d.Edited+d.Rejected != 0 || len(d.Weekly) != 0 || len(d.ScoreBuckets) != 4 {
		t.Errorf("dashboard of the day before yesterday: %+v %v", d, err)
	}
}

func TestUndo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	c, tp := newClient(t, s, "Acme")
	ids := seed(t, s, c, tp, "undo", 50, 60, 70, 80)
	ana := newUser(t, s, "ana@agency.example", false, c)
	bob := newUser(t, s, "bob@agency.example", false, c)
	sc := ana.Scope()
	decide := func(d store.Decision) {
		t.Helper()
		if _, err := s.Decide(ctx, sc, d); err != nil {
			t.Fatal(err)
		}
	}
	decided := func() int {
		return count(t, s, `select coalesce(sum(total_approved + total_edited + total_rejected), 0) from review_analytics where client_id = $1`, c.ID)
	}
	decide(store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "approve"})
	decide(store.Decision{EmailID: ids[1], ReviewerID: ana.ID, Action: "edit", Subject: "S", Body: "Texte revu"})
	decide(store.Decision{EmailID: ids[2], ReviewerID: ana.ID, Action: "reject", Reason: "low_quality", Details: "vide"})
	decide(store.Decision{EmailID: ids[3], ReviewerID: bob.ID, Action: "approve"})

	// Ana's decisions come back last first; Bob's stays.
	for i, want := range []string{ids[2], ids[1], ids[0]} {
		got, err := s.Undo(ctx, sc, ana.ID)
		if err != nil {
			t.Fatalf("undo %d: %v", i+1, err)
		}
		if got.ID != want || got.Status != "pending_review" || got.Final != "" || got.FinalSubject != "" ||
			got.RejectionReason != "" || got.RejectionDetails != "" || got.ReviewerID != "" || !got.ReviewedAt.IsZero() {
			t.Errorf("undo %d: %+v, want %s pending as generated", i+1, got, want)
		}
		if n := decided(); n != 3-i {
			t.Errorf("after undo %d, review_analytics counts %d decisions, want %d", i+1, n, 3-i)
		}
	}
	if _, err := s.Undo(ctx, sc, ana.ID); !errors.Is(err, store.ErrNothingToUndo) {
		t.Errorf("a fourth undo: %v, want ErrNothingToUndo", err)
	}
	if st := status(t, s, ids[3]); st != "approved" {
		t.Errorf("Bob's decision was undone by Ana: %s", st)
	}
	if n := count(t, s, `select count(*) from review_decisions where undone_at is not null`); n != 3 {
		t.Errorf("%d decisions marked undone, want 3 (they are kept)", n)
	}

	// Decided again after an undo: the new decision counts, once.
	decide(store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "reject", Reason: "other"})
	if d, err := s.Dashboard(ctx, sc, c.ID, store.Period{}); err != nil || d.Approved != 1 || d.Rejected != 1 || d.Edited != 0 {
		t.Errorf("dashboard after undo and a new decision: %+v %v, want Bob's approval and Ana's rejection", d, err)
	}

	cases := []struct {
		name  string
		setup string // SQL run on Ana's latest decision ($1: its email id)
	}{
		{"older than 30 minutes", `update review_decisions set decided_at = decided_at - interval '31 minutes' where email_id = $1 and undone_at is null`},
		{"email sent since", `update emails_generated set review_status = 'sent', sent_at = now() where id = $1`},
	}
	for i, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			id := ids[i]
			if i > 0 {
				decide(store.Decision{EmailID: id, ReviewerID: ana.ID, Action: "approve"})
			}
			if _, err := s.Pool().Exec(ctx, tt.setup, id); err != nil {
				t.Fatal(err)
			}
			before := status(t, s, id)
			if _, err := s.Undo(ctx, sc, ana.ID); !errors.Is(err, store.ErrNothingToUndo) {
				t.Errorf("Undo: %v, want ErrNothingToUndo", err)
			}
			if st := status(t, s, id); st != before {
				t.Errorf("the email went from %s to %s", before, st)
			}
		})
	}
	if _, err := s.Undo(ctx, sc, "not-a-user"); !errors.Is(err, store.ErrNothingToUndo) {
		t.Errorf("Undo for a malformed reviewer: %v", err)
	}
}

func TestEmailsPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	a, ta := newClient(t, s, "Acme")
	b, tb := newClient(t, s, "Beta")
	c, tc := newClient(t, s, "Gamma")
	var scores []int
	for i := range 23 {
		scores = append(scores, []int{70, 40, 70, 90, 40}[i%5]) // many ties
	}
	seed(t, s, a, ta, "pa", scores...)
	seed(t, s, b, tb, "pb", 55, 40, 99, 70, 10, 40, 40)
	seed(t, s, c, tc, "pc", 1, 2, 3)
	ana := newUser(t, s, "ana@agency.example", false, a, b)

	// The queue order, as SQL gives it.
	order := func(clients ...string) []string {
		rows, err := s.Pool().Query(ctx, `select id::text from emails_generated where review_status = 'pending_review'
			and client_id = any($1::uuid[]) order by quality_score, created_at, id`, clients)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	pages := func(sc store.Scope, f store.EmailFilter) (ids []string, n int) {
		t.Helper()
		for {
			items, next, err := s.Emails(ctx, sc, f)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if len(items) > f.Limit {
				t.Fatalf("page of %d, limit %d", len(items), f.Limit)
			}
			for i, it := range items {
				ids = append(ids, it.ID)
				if i > 0 && it.Score < items[i-1].Score {
					t.Errorf("score %d after %d", it.Score, items[i-1].Score)
				}
			}
			if next == "" {
				return ids, n
			}
			f.After = next
		}
	}
	for _, tt := range []struct {
		name    string
		sc      store.Scope
		clients []string
	}{
		{"one client", store.Scope{ClientIDs: []string{a.ID}}, []string{a.ID}},
		{"two clients", ana.Scope(), []string{a.ID, b.ID}},
		{"admin", store.Scope{All: true}, []string{a.ID, b.ID, c.ID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := order(tt.clients...)
			got, n := pages(tt.sc, store.EmailFilter{Limit: 5})
			if !slices.Equal(got, want) {
				t.Errorf("paged %d emails %v,\nwant %d %v", len(got), got, len(want), want)
			}
			if wantPages := (len(want) + 4) / 5; n != wantPages && n != wantPages+1 {
				t.Errorf("%d pages for %d emails", n, len(want))
			}
		})
	}

	// Decisions between pages neither repeat nor skip the others.
	want := order(a.ID)
	first, next, err := s.Emails(ctx, store.Scope{ClientIDs: []string{a.ID}}, store.EmailFilter{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first[0].ID, want[7]} { // one already shown, one to come
		if _, err := s.Decide(ctx, ana.Scope(), store.Decision{EmailID: id, ReviewerID: ana.ID, Action: "approve"}); err != nil {
			t.Fatal(err)
		}
	}
	rest, _ := pages(store.Scope{ClientIDs: []string{a.ID}}, store.EmailFilter{Limit: 5, After: next})
	var got []string
	for _, it := range first {
		got = append(got, it.ID)
	}
	got = append(got, rest...)
	want = slices.Delete(slices.Clone(want), 7, 8)
	if !slices.Equal(got, want) {
		t.Errorf("paging while deciding gave %v,\nwant %v", got, want)
	}

	if items, next, err := s.Emails(ctx, store.Scope{All: true}, store.EmailFilter{}); err != nil || len(items) != 31 || next != "" {
		t.Errorf("default page: %d emails, next %q, %v; want the 31 pending on one page", len(items), next, err)
	}
	if items, _, err := s.Emails(ctx, store.Scope{All: true}, store.EmailFilter{Limit: 1000, Status: "any"}); err != nil || len(items) != 33 {
		t.Errorf("limit 1000: %d emails %v", len(items), err)
	}
	for _, f := range []store.EmailFilter{{After: "garbage"}, {After: "MS4yLjM"}, {Status: "maybe"}, {MinScore: 80, MaxScore: 20},
		{MaxScore: 101}, {MinScore: -1}, {TemplateID: "x"}, {BatchID: "x"}, {ClientID: "x"}} {
		if _, _, err := s.Emails(ctx, store.Scope{All: true}, f); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Emails(%+v): %v, want ErrInvalid", f, err)
		}
	}
}

func TestEmailsFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	a, ta := newClient(t, s, "Acme")
	b, tb := newClient(t, s, "Beta")
	ids := seed(t, s, a, ta, "fa", 30, 60, 75, 90, 100)
	other := seed(t, s, b, tb, "fb", 45, 80)
	all := store.Scope{All: true}
	ana := newUser(t, s, "ana@agency.example", false, a, b)
	if _, err := s.Decide(ctx, all, store.Decision{EmailID: ids[1], ReviewerID: ana.ID, Action: "reject", Reason: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, all, store.Decision{EmailID: ids[2], ReviewerID: ana.ID, Action: "edit", Body: "Texte 50% revu"}); err != nil {
		t.Fatal(err)
	}
	// Odd text and a blocking flag on one email.
	if _, err := s.Pool().Exec(ctx, `update emails_generated set subject = 'Remise de 100% pour vous',
			quality_metrics = '{"flags": [{"code": "unfilled", "points": 30, "message": "x", "gate": true}]}' where id = $1`, ids[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `update emails_generated set created_at = now() - interval '10 days' where id = $1`, ids[4]); err != nil {
		t.Fatal(err)
	}
	batchB := ""
	if err := s.Pool().QueryRow(ctx, `select c.batch_id::text from contacts_to_enrich c join emails_generated e on e.contact_id = c.id where e.id = $1`, other[0]).Scan(&batchB); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		f    store.EmailFilter
		want []string
	}{
		{"pending by default", store.EmailFilter{}, []string{ids[0], other[0], other[1], ids[3], ids[4]}},
		{"any status", store.EmailFilter{Status: "any"}, []string{ids[0], other[0], ids[1], ids[2], other[1], ids[3], ids[4]}},
		{"rejected", store.EmailFilter{Status: "rejected"}, []string{ids[1]}},
		{"approved_edited", store.EmailFilter{Status: "approved_edited"}, []string{ids[2]}},
		{"client", store.EmailFilter{ClientID: b.ID}, []string{other[0], other[1]}},
		{"template", store.EmailFilter{TemplateID: ta.ID, Status: "any"}, ids},
		{"batch", store.EmailFilter{BatchID: batchB}, []string{other[0], other[1]}},
		{"score range", store.EmailFilter{MinScore: 45, MaxScore: 90}, []string{other[0], other[1], ids[3]}},
		{"score from", store.EmailFilter{MinScore: 90}, []string{ids[3], ids[4]}},
		{"created before", store.EmailFilter{To: time.Now().Add(-24 * time.Hour)}, []string{ids[4]}},
		{"created after", store.EmailFilter{From: time.Now().Add(-24 * time.Hour), Status: "any"}, []string{ids[0], other[0], ids[1], ids[2], other[1], ids[3]}},
		{"text in the subject, any case", store.EmailFilter{Text: "REMISE"}, []string{ids[3]}},
		{"a percent sign", store.EmailFilter{Text: "100%", Status: "any"}, []string{ids[3]}},
		{"a percent sign is not a wildcard", store.EmailFilter{Text: "t%c", Status: "any"}, nil},
		{"percent in an edited body", store.EmailFilter{Text: "50% revu", Status: "any"}, []string{ids[2]}},
		{"an underscore is an underscore", store.EmailFilter{Text: "Company_1", Status: "any"}, nil},
		{"company", store.EmailFilter{Text: "company 4", Status: "any"}, []string{ids[4]}},
		{"contact name", store.EmailFilter{Text: "prénom1 nom1", Status: "any"}, []string{ids[1], other[1]}},
		{"contact e-mail", store.EmailFilter{Text: "fb0@", Status: "any"}, []string{other[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, _, err := s.Emails(ctx, all, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	items, _, err := s.Emails(ctx, all, store.EmailFilter{Text: "remise"})
	if err != nil || len(items) != 1 || !items[0].Gated || items[0].ClientName != "Acme" || items[0].CompanyName != "Company 3" ||
		items[0].FirstName != "Prénom3" || items[0].ContactEmail != "fa3@company3.example" || items[0].BatchID == "" || items[0].TemplateID != ta.ID {
		t.Errorf("summary %+v %v", items, err)
	}
	if items, _, _ := s.Emails(ctx, all, store.EmailFilter{ClientID: a.ID, Status: "any", MaxScore: 40}); len(items) != 1 || items[0].Gated {
		t.Errorf("an email without a blocking flag: %+v", items)
	}
}

// TestEmailDetailAndRegenerate: an email completed by the worker shows its
// variables and flags; regenerating it re-queues its contact, and the
// worker's next Complete stores a new email for the queue.
func TestEmailDetailAndRegenerate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(3, "regen"))
	claimed, err := s.ClaimBatch(ctx, rep.BatchID, 3)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	var ids []string
	for _, cc := range claimed {
		id, _, err := s.Complete(ctx, cc.ID, resultFor(cc))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	ana := newUser(t, s, "ana@agency.example", false, c)
	sc := ana.Scope()

	d, err := s.Email(ctx, sc, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	v := d.Variables["competitor_name"]
	if d.Body != "Bonjour Prénom0, ..." || d.Subject != "prospection chez Company 0" || d.Score != 78 || d.Quality.Score != 78 ||
		len(d.Quality.Flags) != 1 || d.Quality.Flags[0].Message == "" || v.Agent != "competitor" || v.FallbackLevel != 3 ||
		d.Variables["target_persona"].Confidence != 4 || d.Status != "pending_review" || d.ContactEmail != "regen0@company0.example" {
		t.Errorf("detail %+v", d)
	}

	// A rejected email is regenerated; its rejection stays in the history.
	if _, err := s.Decide(ctx, sc, store.Decision{EmailID: ids[0], ReviewerID: ana.ID, Action: "reject", Reason: "wrong_persona"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, sc, store.Decision{EmailID: ids[1], ReviewerID: ana.ID, Action: "approve"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Regenerate(ctx, sc, ids[1]); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "approved") {
		t.Errorf("regenerating an approved email: %v, want ErrConflict naming approved", err)
	}
	for _, id := range []string{ids[0], ids[2]} {
		contact, err := s.Regenerate(ctx, sc, id)
		if err != nil {
			t.Fatal(err)
		}
		var st string
		var attempts int
		if err := s.Pool().QueryRow(ctx, `select status::text, attempts from contacts_to_enrich where id = $1`, contact).Scan(&st, &attempts); err != nil {
			t.Fatal(err)
		}
		if st != "pending" || attempts != 1 {
			t.Errorf("contact after Regenerate: %s with %d attempts, want pending with its 1 attempt", st, attempts)
		}
		if _, err := s.Email(ctx, sc, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the old email is still there: %v", err)
		}
		if _, err := s.Regenerate(ctx, sc, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("regenerating twice: %v, want ErrNotFound", err)
		}
		cc, ok, err := s.ClaimContact(ctx, contact)
		if err != nil || !ok {
			t.Fatalf("the worker cannot claim the contact again: %v %v", ok, err)
		}
		res := resultFor(cc)
		res.Body = "Bonjour, version 2"
		newID, created, err := s.Complete(ctx, cc.ID, res)
		if err != nil || !created || newID == id {
			t.Fatalf("Complete after Regenerate: %s created %v %v; want a new email", newID, created, err)
		}
		got, err := s.Email(ctx, sc, newID)
		if err != nil || got.Body != "Bonjour, version 2" || got.Status != "pending_review" {
			t.Errorf("regenerated email %+v %v", got, err)
		}
	}
	dash, err := s.Dashboard(ctx, sc, c.ID, store.Period{})
	if err != nil || dash.Rejected != 1 || dash.RejectionReasons["wrong_persona"] != 1 || dash.Approved != 1 || dash.Generated != 3 {
		t.Errorf("dashboard after regenerating: %+v %v; want the rejection kept, 3 emails", dash, err)
	}
	if _, err := s.Undo(ctx, sc, ana.ID); err != nil { // the approval of ids[1]
		t.Fatal(err)
	}
	if _, err := s.Undo(ctx, sc, ana.ID); !errors.Is(err, store.ErrNothingToUndo) {
		t.Errorf("undoing the rejection of a regenerated email: %v, want ErrNothingToUndo", err)
	}
}

// TestReviewRowLevelSecurity: through Supabase (role authenticated), a
// member reads their clients' decisions only, their own admin row only,
// and no session at all.
func TestReviewRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, a, b := tenants(t)
	for _, x := range []struct {
		c    store.Client
		user string
	}{{a, userA}, {b, userB}} {
		var id string
		if err := s.Pool().QueryRow(ctx, `select id::text from emails_generated where client_id = $1`, x.c.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, store.Scope{All: true}, store.Decision{EmailID: id, ReviewerID: x.user, Action: "approve"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSession(ctx, x.user, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pool().Exec(ctx, `insert into app_admins (user_id) values ($1)`, x.user); err != nil {
			t.Fatal(err)
		}
	}
	as(t, s, "authenticated", userA, func(tx pgx.Tx) {
		var mine, theirs int
		if err := tx.QueryRow(ctx, `select count(*) filter (where client_id = $1), count(*) filter (where client_id <> $1) from review_decisions`, a.ID).
			Scan(&mine, &theirs); err != nil || mine != 1 || theirs != 0 {
			t.Errorf("user A sees %d of A's and %d of other decisions (%v); want 1 and 0", mine, theirs, err)
		}
		var admins int
		if err := tx.QueryRow(ctx, `select count(*) from app_admins`).Scan(&admins); err != nil || admins != 1 {
			t.Errorf("user A sees %d admin rows (%v), want their own", admins, err)
		}
		if code, _ := pgCode(t, tx, `select * from sessions`); code != "42501" {
			t.Errorf("user A reading sessions: code %q, want 42501", code)
		}
		if code, _ := pgCode(t, tx, `insert into app_admins (user_id) values ($1)`, userA); code != "42501" {
			t.Errorf("user A making themselves admin: code %q, want 42501", code)
		}
		if code, _ := pgCode(t, tx, `update review_decisions set action = 'reject'`); code != "42501" {
			t.Errorf("user A rewriting decisions: code %q, want 42501", code)
		}
	})
	as(t, s, "anon", "", func(tx pgx.Tx) {
		for _, table := range []string{"review_decisions", "app_admins", "sessions"} {
			if code, _ := pgCode(t, tx, `select * from `+table); code != "42501" {
				t.Errorf("anon reading %s: code %q, want 42501", table, code)
			}
		}
	})
}

// TestEmailsTextSearch: a search finds the same emails, in the same order,
// whether its text is rare (looked up in the trigram indexes, then sorted)
// or common (more than 2,000 matches: the queue read in order, filtered).
func TestEmailsTextSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	a, ta := newClient(t, s, "Acme")
	b, tb := newClient(t, s, "Beta")
	scores := make([]int, 2100)
	for i := range scores {
		scores[i] = (i * 37) % 101
	}
	seed(t, s, a, ta, "ts", scores...)
	seed(t, s, b, tb, "tb", 10, 20, 30)
	if _, err := s.Pool().Exec(ctx, `update emails_generated set review_status = 'approved' where quality_score % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	// What the search means, said plainly (and slowly).
	reference := func(text string, statuses []string, clients []string, minScore int) []string {
		rows, err := s.Pool().Query(ctx, `select e.id::text from emails_generated e join contacts_to_enrich c on c.id = e.contact_id
			where e.review_status::text = any($2) and e.client_id = any($3::uuid[]) and e.quality_score >= $4 and (e.subject ilike $1 or e.email_generated ilike $1
				or e.email_final ilike $1 or e.subject_final ilike $1 or c.company_name ilike $1 or c.email ilike $1
				or (c.first_name || ' ' || c.last_name) ilike $1)
			order by e.quality_score, e.created_at, e.id`, "%"+text+"%", statuses, clients, minScore)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	pending, any := []string{"pending_review"}, []string{"pending_review", "approved", "approved_edited", "rejected", "sent"}
	tests := []struct {
		name    string
		sc      store.Scope
		f       store.EmailFilter
		clients []string
		pages   int // pages of f.Limit compared (0: all)
	}{
		{"common word", store.Scope{All: true}, store.EmailFilter{Text: "bonjour", Limit: 50}, []string{a.ID, b.ID}, 3},
		{"common word, any status, two clients", store.Scope{ClientIDs: []string{a.ID, b.ID}}, store.EmailFilter{Text: "BONJOUR", Status: "any", Limit: 100}, []string{a.ID, b.ID}, 2},
		{"common word, high scores", store.Scope{All: true}, store.EmailFilter{Text: "sujet", MinScore: 95, Limit: 20}, []string{a.ID, b.ID}, 0},
		{"rare word", store.Scope{All: true}, store.EmailFilter{Text: "prénom7", Limit: 20}, []string{a.ID, b.ID}, 0},
		{"rare word, any status", store.Scope{ClientIDs: []string{a.ID}}, store.EmailFilter{Text: "Prénom7", Status: "any", Limit: 30}, []string{a.ID}, 0},
		{"one contact", store.Scope{All: true}, store.EmailFilter{Text: "ts1999@", Status: "any"}, []string{a.ID, b.ID}, 0},
		{"company", store.Scope{All: true}, store.EmailFilter{Text: "company 4", Limit: 200}, []string{a.ID, b.ID}, 0},
		{"other client's contact", store.Scope{ClientIDs: []string{a.ID}}, store.EmailFilter{Text: "tb1@", Status: "any"}, []string{a.ID}, 0},
		{"nothing", store.Scope{All: true}, store.EmailFilter{Text: "zzz"}, []string{a.ID, b.ID}, 0},
		{"two letters", store.Scope{All: true}, store.EmailFilter{Text: "s1", Limit: 40}, []string{a.ID, b.ID}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			statuses := pending
			if tt.f.Status == "any" {
				statuses = any
			}
			want := reference(tt.f.Text, statuses, tt.clients, tt.f.MinScore)
			var got []string
			f := tt.f
			for page := 1; ; page++ {
				items, next, err := s.Emails(ctx, tt.sc, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					got = append(got, it.ID)
				}
				if next == "" || page == tt.pages {
					break
				}
				f.After = next
			}
			if tt.pages > 0 {
				want = want[:min(len(want), tt.pages*tt.f.Limit)]
			}
			if !slices.Equal(got, want) {
				t.Errorf("found %d emails, want %d:\n got %v\nwant %v", len(got), len(want), got[:min(len(got), 5)], want[:min(len(want), 5)])
			}
		})
	}
}
