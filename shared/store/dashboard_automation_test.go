package store_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// emailVariables is what setOutcome gives every email: a CSV column and
// two agents' variables.
const emailVariables = `{"first_name": {"value": "Léa"},
	"target_persona": {"value": "directeurs commerciaux", "agent": "persona"},
	"competitor_name": {"value": "Voxaly", "agent": "competitor"}}`

// setOutcome stores the phase outcome of emails, as Complete does: an
// auto-approved email is approved with no reviewer; every email gets
// emailVariables.
func setOutcome(t *testing.T, s *store.Store, outcome string, ids ...string) {
	t.Helper()
	_, err := s.Pool().Exec(context.Background(), `update emails_generated
		set automation_outcome = $2, variables = $3::jsonb,
		    review_status = case when $2 = 'auto_approved' then 'approved' else review_status end,
		    reviewed_at = case when $2 = 'auto_approved' then now() else reviewed_at end
		where id = any($1::uuid[])`, ids, outcome, emailVariables)
	if err != nil {
		t.Fatal(err)
	}
}

// automationFigures are the dashboard's automation figures.
type automationFigures struct {
	AutoApproved, Held, ToReview, Sampled, Automated int
	AutoApprovalRate, ReviewShare                    float64
	SampleDecided, SampleRejected                    int
	SampleRejectionRate                              float64
	Patterns                                         []store.RejectionPattern
	HoursSaved, ReviewSecondsUsed                    float64
	ReviewSecondsFrom                                string
	AutomationOn                                     bool
}

func figuresOf(d store.Dashboard) automationFigures {
	return automationFigures{AutoApproved: d.AutoApproved, Held: d.Held, ToReview: d.ToReview, Sampled: d.Sampled, Automated: d.Automated,
		AutoApprovalRate: d.AutoApprovalRate, ReviewShare: d.ReviewShare,
		SampleDecided: d.SampleDecided, SampleRejected: d.SampleRejected, SampleRejectionRate: d.SampleRejectionRate,
		Patterns: d.RejectionPatterns, HoursSaved: d.HoursSaved, ReviewSecondsUsed: d.ReviewSecondsUsed,
		ReviewSecondsFrom: d.ReviewSecondsFrom, AutomationOn: d.AutomationOn}
}

func (a automationFigures) equal(b automationFigures) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	counts := func(f automationFigures) [7]int {
		return [7]int{f.AutoApproved, f.Held, f.ToReview, f.Sampled, f.Automated, f.SampleDecided, f.SampleRejected}
	}
	return counts(a) == counts(b) && a.ReviewSecondsFrom == b.ReviewSecondsFrom && a.AutomationOn == b.AutomationOn &&
		slices.Equal(a.Patterns, b.Patterns) &&
		near(a.AutoApprovalRate, b.AutoApprovalRate) && near(a.ReviewShare, b.ReviewShare) &&
		near(a.SampleRejectionRate, b.SampleRejectionRate) && near(a.HoursSaved, b.HoursSaved) &&
		near(a.ReviewSecondsUsed, b.ReviewSecondsUsed)
}

// TestDashboardAutomation: the phase 2 and 3 figures — emails by outcome
// and the auto-approval and review shares, the random sample's rejection
// rate, the recurring (reason, variable) rejections and the reviewer hours
// saved, with the review time they are based on — per client, for several
// clients, and for a period.
func TestDashboardAutomation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	acme, ta := newClient(t, s, "Acme")
	delta, td := newClient(t, s, "Delta")
	gamma, tg := newClient(t, s, "Gamma")
	eps, te := newClient(t, s, "Epsilon")
	ana := newUser(t, s, "ana@agency.example", true)
	all := store.Scope{All: true}
	for c, phase := range map[string]string{acme.ID: store.PhaseFull, delta.ID: store.PhasePartial, gamma.ID: store.PhaseShadow} {
		if err := s.SetAutomation(ctx, c, store.Automation{Phase: phase, PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}); err != nil {
			t.Fatal(err)
		}
	}

	// Acme (full phase): 6 auto-approved, 3 held, 4 to review, 5 sampled,
	// 2 stored before phases existed.
	a := seed(t, s, acme, ta, "acme", 95, 95, 95, 95, 95, 95, 50, 50, 50, 70, 70, 70, 70, 92, 92, 92, 92, 92, 80, 80)
	setOutcome(t, s, "auto_approved", a[0:6]...)
	setOutcome(t, s, "held", a[6:9]...)
	setOutcome(t, s, "review", a[9:13]...)
	setOutcome(t, s, "sampled", a[13:18]...)
	decide := func(id, action, reason, variable string) {
		t.Helper()
		d := store.Decision{EmailID: id, ReviewerID: ana.ID, Action: action, Reason: reason, Variable: variable}
		if action == store.ActionEdit {
			d.Body = "Bonjour, texte revu"
		}
		if _, err := s.Decide(ctx, all, d); err != nil {
			t.Fatalf("%s %s %s on %s: %v", action, reason, variable, id, err)
		}
	}
	// The sample: 2 rejected of 5.
	decide(a[13], "reject", "incorrect_competitor", "competitor_name")
	decide(a[14], "reject", "incorrect_competitor", "competitor_name")
	decide(a[15], "approve", "", "")
	decide(a[16], "approve", "", "")
	decide(a[17], "edit", "", "")
	// Held and to review.
	decide(a[6], "reject", "incorrect_competitor", "competitor_name") // 3rd: incorrect_competitor on competitor_name
	decide(a[7], "reject", "wrong_persona", "target_persona")
	decide(a[8], "approve", "", "")
	decide(a[9], "reject", "wrong_persona", "target_persona") // 2nd: wrong_persona on target_persona
	decide(a[10], "reject", "grammar_issues", "")
	decide(a[11], "reject", "grammar_issues", "")        // 2nd: grammar_issues, no variable named
	decide(a[12], "reject", "low_quality", "first_name") // once: no pattern
	decide(a[18], "reject", "incorrect_competitor", "")  // once without a variable: no pattern
	// Every Acme decision took 40 s.
	if _, err := s.Pool().Exec(ctx, `update review_decisions set time_to_decision_ms = 40000 where client_id = $1`, acme.ID); err != nil {
		t.Fatal(err)
	}
	// A sampled email rejected then regenerated: its email is gone until
	// the worker stores it again (4 sampled emails left), its rejection
	// stays in the sample.
	if _, err := s.Regenerate(ctx, all, a[13]); err != nil {
		t.Fatal(err)
	}

	// Delta (partial): 2 emails auto-approved 100 days ago; one to review,
	// created and decided 200 days ago in 90 s.
	d := seed(t, s, delta, td, "delta", 93, 94, 60)
	setOutcome(t, s, "auto_approved", d[:2]...)
	setOutcome(t, s, "review", d[2])
	decide(d[2], "approve", "", "")
	now := time.Now()
	if _, err := s.Pool().Exec(ctx, `update emails_generated set created_at = now() - interval '100 days' where id = any($1::uuid[])`, d[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `update emails_generated set created_at = now() - interval '200 days' where id = $1`, d[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `update review_decisions set decided_at = now() - interval '200 days', time_to_decision_ms = 90000
		where client_id = $1`, delta.ID); err != nil {
		t.Fatal(err)
	}

	// Gamma (shadow): an email with no outcome. Epsilon (no settings:
	// shadow): 3 emails auto-approved before it went back to shadow, never
	// a decision.
	seed(t, s, gamma, tg, "gamma", 88)
	e := seed(t, s, eps, te, "eps", 91, 92, 93)
	setOutcome(t, s, "auto_approved", e...)

	acmeFigures := automationFigures{
		AutoApproved: 6, Held: 3, ToReview: 4, Sampled: 4, Automated: 17,
		AutoApprovalRate: 6.0 / 17, ReviewShare: 11.0 / 17,
		SampleDecided: 5, SampleRejected: 2, SampleRejectionRate: 0.4,
		Patterns: []store.RejectionPattern{
			{Reason: "incorrect_competitor", Variable: "competitor_name", Count: 3},
			{Reason: "grammar_issues", Variable: "", Count: 2},
			{Reason: "wrong_persona", Variable: "target_persona", Count: 2},
		},
		HoursSaved: 6 * 40.0 / 3600, ReviewSecondsUsed: 40, ReviewSecondsFrom: store.SecondsFromPeriod, AutomationOn: true,
	}
	tests := []struct {
		name   string
		sc     store.Scope
		client string
		p      store.Period
		want   automationFigures
	}{
		{"full phase", all, acme.ID, store.Period{}, acmeFigures},
		{"partial phase, all time", all, delta.ID, store.Period{}, automationFigures{
			AutoApproved: 2, ToReview: 1, Automated: 3, AutoApprovalRate: 2.0 / 3, ReviewShare: 1.0 / 3,
			HoursSaved: 2 * 90.0 / 3600, ReviewSecondsUsed: 90, ReviewSecondsFrom: store.SecondsFromPeriod, AutomationOn: true}},
		// No decision in the period: the review time of all time.
		{"partial phase, a period without decisions", all, delta.ID, store.Period{From: now.AddDate(0, 0, -110), To: now.AddDate(0, 0, -90)}, automationFigures{
			AutoApproved: 2, Automated: 2, AutoApprovalRate: 1,
			HoursSaved: 2 * 90.0 / 3600, ReviewSecondsUsed: 90, ReviewSecondsFrom: store.SecondsFromAllTime, AutomationOn: true}},
		{"shadow, nothing automated", all, gamma.ID, store.Period{}, automationFigures{
			ReviewSecondsUsed: store.DefaultReviewSeconds, ReviewSecondsFrom: store.SecondsFromDefault}},
		// Never a review time measured: 60 s.
		{"back in shadow, never reviewed", all, eps.ID, store.Period{}, automationFigures{
			AutoApproved: 3, Automated: 3, AutoApprovalRate: 1,
			HoursSaved: 3 * 60.0 / 3600, ReviewSecondsUsed: 60, ReviewSecondsFrom: store.SecondsFromDefault}},
		{"clients in shadow", store.Scope{ClientIDs: []string{gamma.ID, eps.ID}}, "", store.Period{}, automationFigures{
			AutoApproved: 3, Automated: 3, AutoApprovalRate: 1,
			HoursSaved: 3 * 60.0 / 3600, ReviewSecondsUsed: 60, ReviewSecondsFrom: store.SecondsFromDefault}},
		{"a client in full phase among others", store.Scope{ClientIDs: []string{gamma.ID, acme.ID}}, "", store.Period{}, acmeFigures},
		// Every client: Acme's, Delta's and Epsilon's emails; decisions of
		// Acme (13 × 40 s) and Delta (90 s).
		{"every client", all, "", store.Period{}, automationFigures{
			AutoApproved: 11, Held: 3, ToReview: 5, Sampled: 4, Automated: 23,
			AutoApprovalRate: 11.0 / 23, ReviewShare: 12.0 / 23,
			SampleDecided: 5, SampleRejected: 2, SampleRejectionRate: 0.4, Patterns: acmeFigures.Patterns,
			HoursSaved: 11 * (610.0 / 14) / 3600, ReviewSecondsUsed: 610.0 / 14, ReviewSecondsFrom: store.SecondsFromPeriod, AutomationOn: true}},
		{"the last 30 days", all, "", store.Period{From: now.AddDate(0, 0, -30)}, automationFigures{
			AutoApproved: 9, Held: 3, ToReview: 4, Sampled: 4, Automated: 20,
			AutoApprovalRate: 9.0 / 20, ReviewShare: 11.0 / 20,
			SampleDecided: 5, SampleRejected: 2, SampleRejectionRate: 0.4, Patterns: acmeFigures.Patterns,
			HoursSaved: 9 * 40.0 / 3600, ReviewSecondsUsed: 40, ReviewSecondsFrom: store.SecondsFromPeriod, AutomationOn: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Dashboard(ctx, tt.sc, tt.client, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if g := figuresOf(got); !g.equal(tt.want) {
				t.Errorf("automation figures\n got %+v\nwant %+v", g, tt.want)
			}
		})
	}

	// The existing figures are unchanged: the rejection rate among the
	// reviewed emails counts every decision of people.
	got, err := s.Dashboard(ctx, all, acme.ID, store.Period{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Generated != 19 || got.Approved != 3 || got.Edited != 1 || got.Rejected != 9 ||
		math.Abs(got.RejectionRate-9.0/13) > 1e-9 || got.RejectionReasons["incorrect_competitor"] != 4 || got.AvgReviewSeconds != 40 {
		t.Errorf("review figures %+v", got)
	}
}

// TestDecideRejectionVariable: a rejection may name one of the email's
// variables, stored with the decision (with the email's outcome); a name
// the email does not have, a malformed one, or a variable on another
// action is refused and changes nothing.
func TestDecideRejectionVariable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	c, tp := newClient(t, s, "Acme")
	ids := seed(t, s, c, tp, "var", 70, 70, 70, 70, 70, 70)
	setOutcome(t, s, "sampled", ids...)
	ana := newUser(t, s, "ana@agency.example", false, c)
	tests := []struct {
		name, action, reason, variable string
		ok                             bool
	}{
		{"named", "reject", "incorrect_competitor", "competitor_name", true},
		{"a CSV column", "reject", "incorrect_info", "first_name", true},
		{"not named", "reject", "grammar_issues", "", true},
		{"not one of the email's", "reject", "wrong_persona", "system_1", false},
		{"not a name", "reject", "wrong_persona", "Target-Persona", false},
		{"on an approval", "approve", "", "target_persona", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Decide(ctx, ana.Scope(), store.Decision{EmailID: ids[i], ReviewerID: ana.ID, Action: tt.action, Reason: tt.reason, Variable: tt.variable})
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Decide: %v, want ok %v (else ErrInvalid)", err, tt.ok)
			}
			var variable, outcome *string
			n := 0
			rows, err := s.Pool().Query(ctx, `select variable, automation_outcome from review_decisions where email_id = $1`, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				n++
				if err := rows.Scan(&variable, &outcome); err != nil {
					t.Fatal(err)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			switch {
			case !tt.ok:
				if n != 0 || status(t, s, ids[i]) != store.ReviewPending {
					t.Errorf("a refused decision was stored (%d rows, email %s)", n, status(t, s, ids[i]))
				}
			case n != 1 || outcome == nil || *outcome != "sampled" || (tt.variable == "") != (variable == nil) ||
				variable != nil && *variable != tt.variable:
				t.Errorf("stored %d decisions, variable %v, outcome %v; want %q and sampled", n, variable, outcome, tt.variable)
			}
		})
	}
}
