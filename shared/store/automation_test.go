package store_test

import (
	"context"
	"testing"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// The phase decision is stored with the email: an auto-approved email is
// approved with no reviewer, the others stay pending review with their
// outcome and reason.
func TestCompleteStoresTheAutomationDecision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(3, "auto"))
	got, err := s.ClaimBatch(ctx, rep.BatchID, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("claim: %v %v", got, err)
	}
	decisions := []*email.Automation{
		{Outcome: "auto_approved", Reason: "auto-approved: score 93 ≥ 90 (partial phase), no hard gate"},
		{Outcome: "held", Reason: "held for review by ungrounded_evidence", Gates: []string{"ungrounded_evidence"}},
		nil, // outside a phase decision (older workers): stays as before
	}
	ids := make([]string, len(got))
	for i, cc := range got {
		res := resultFor(cc)
		res.Automation = decisions[i]
		if ids[i], _, err = s.Complete(ctx, cc.ID, res); err != nil {
			t.Fatal(err)
		}
	}
	// The review UI's card reads the decision.
	d, err := s.Email(ctx, store.Scope{All: true}, ids[1])
	if err != nil || d.AutomationOutcome != "held" || d.AutomationReason != decisions[1].Reason {
		t.Errorf("email detail: %q %q (%v)", d.AutomationOutcome, d.AutomationReason, err)
	}
	rows, err := s.Pool().Query(ctx, `select e.review_status::text, coalesce(e.automation_outcome, ''), coalesce(e.automation_reason, ''),
		e.reviewer_id is null, e.reviewed_at is not null
		from public.emails_generated e where e.contact_id = any($1::uuid[]) order by array_position($1::uuid[], e.contact_id)`,
		[]string{got[0].ID, got[1].ID, got[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := []struct {
		status, outcome string
		reviewed        bool
	}{{"approved", "auto_approved", true}, {"pending_review", "held", false}, {"pending_review", "", false}}
	i := 0
	for rows.Next() {
		var status, outcome, reason string
		var noReviewer, reviewed bool
		if err := rows.Scan(&status, &outcome, &reason, &noReviewer, &reviewed); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if status != w.status || outcome != w.outcome || !noReviewer || reviewed != w.reviewed || (decisions[i] != nil && reason != decisions[i].Reason) {
			t.Errorf("email %d: status %s outcome %q reason %q reviewed %v, want %+v", i, status, outcome, reason, reviewed, w)
		}
		i++
	}
	if i != 3 {
		t.Fatalf("%d emails", i)
	}
}
