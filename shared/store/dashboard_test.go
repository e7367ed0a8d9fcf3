package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// TestDashboardReadiness: the plan's criteria for leaving shadow mode —
// approval above 95 % on at least 200 decided emails, edits under 5 %,
// review under 60 s — each reported while it is not met.
func TestDashboardReadiness(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	type mix struct{ approve, edit, reject, secs int } // secs < 0: no time recorded
	tests := []struct {
		name    string
		mix     mix
		missing []string // words of each message expected, in order
	}{
		{"ready", mix{approve: 197, edit: 2, reject: 1, secs: 20}, nil},
		{"too few", mix{approve: 199, secs: 20}, []string{"199 decided emails, 200 needed"}},
		{"approval at 95 %", mix{approve: 190, reject: 10, secs: 20}, []string{"approval rate 95.0 %"}},
		{"edits", mix{approve: 180, edit: 20, secs: 20}, []string{"edit rate 10.0 %"}},
		{"slow", mix{approve: 200, secs: 75}, []string{"average review time 75 s"}},
		{"no time", mix{approve: 200, secs: -1}, []string{"no review time recorded"}},
		{"nothing decided", mix{}, []string{"0 decided emails", "approval rate 0.0 %", "no review time"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, s, fmt.Sprintf("Client %d", i))
			secs := any(tt.mix.secs * 1000)
			if tt.mix.secs < 0 {
				secs = nil
			}
			_, err := s.Pool().Exec(ctx, `insert into review_decisions (client_id, via, action, previous_status, new_status, reason,
					quality_score, time_to_decision_ms)
				select $1, 'ui', a::review_action, 'pending_review',
					case a when 'approve' then 'approved' when 'edit' then 'approved_edited' else 'rejected' end::review_status,
					case when a = 'reject' then 'low_quality'::rejection_reason end, 92, $5
				from (select 'approve' as a from generate_series(1, $2)
				      union all select 'edit' from generate_series(1, $3)
				      union all select 'reject' from generate_series(1, $4)) x`,
				c.ID, tt.mix.approve, tt.mix.edit, tt.mix.reject, secs)
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.Dashboard(ctx, store.Scope{ClientIDs: []string{c.ID}}, c.ID, store.Period{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Ready != (tt.missing == nil) || len(d.Missing) != len(tt.missing) {
				t.Fatalf("ready %v, missing %q; want %q", d.Ready, d.Missing, tt.missing)
			}
			for j, m := range tt.missing {
				if !strings.Contains(d.Missing[j], m) {
					t.Errorf("missing[%d] = %q, want it to say %q", j, d.Missing[j], m)
				}
			}
			if decided := tt.mix.approve + tt.mix.edit + tt.mix.reject; decided > 0 && d.ScoreBuckets[3].Decided != decided {
				t.Errorf("score buckets %+v: want the %d decisions at 92 in 90-100", d.ScoreBuckets, decided)
			}
		})
	}
}

// TestDashboardWeeksAndScope: decisions fall in their ISO week (UTC), the
// period bounds them, and a dashboard of several clients adds them up.
func TestDashboardWeeksAndScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	a, ta := newClient(t, s, "Acme")
	b, tb := newClient(t, s, "Beta")
	ida := seed(t, s, a, ta, "wa", 55, 65, 80, 95)
	idb := seed(t, s, b, tb, "wb", 30, 40)
	ana := newUser(t, s, "ana@agency.example", false, a, b)
	sc := ana.Scope()
	for i, id := range append(slices.Clone(ida), idb...) {
		d := store.Decision{EmailID: id, ReviewerID: ana.ID, Action: "approve", ShownAt: time.Now().Add(-30 * time.Second)}
		if i%3 == 2 {
			d.Action, d.Reason = "reject", "other"
		}
		if _, err := s.Decide(ctx, sc, d); err != nil {
			t.Fatal(err)
		}
	}
	// Two of Acme's decisions were made on a Sunday three weeks ago.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	sunday := monday.AddDate(0, 0, -15).Add(23*time.Hour + 30*time.Minute)
	if _, err := s.Pool().Exec(ctx, `update review_decisions set decided_at = $2 where email_id = any($1::uuid[])`, ida[:2], sunday); err != nil {
		t.Fatal(err)
	}
	all, err := s.Dashboard(ctx, sc, "", store.Period{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Generated != 6 || all.Approved != 4 || all.Rejected != 2 || all.RejectionReasons["other"] != 2 {
		t.Errorf("both clients: %+v", all)
	}
	if len(all.Weekly) != 2 || !all.Weekly[0].Week.Equal(monday.AddDate(0, 0, -21)) ||
		all.Weekly[0].Decided != 2 || all.Weekly[0].Approved != 2 || all.Weekly[1].Decided != 4 || all.Weekly[1].Approved != 2 {
		t.Errorf("weeks %+v: want the week of the Monday three weeks ago (2 approved), then this one (4 decided, 2 approved)", all.Weekly)
	}
	// Scores: 55 ok, 65 ok, 80 rejected, 95 ok; 30 ok, 40 rejected.
	want := []store.ScoreBucket{{0, 59, 3, 2}, {60, 74, 1, 1}, {75, 89, 1, 0}, {90, 100, 1, 1}}
	if !slices.Equal(all.ScoreBuckets, want) {
		t.Errorf("score buckets %+v, want %+v", all.ScoreBuckets, want)
	}
	recent, err := s.Dashboard(ctx, sc, a.ID, store.Period{From: sunday.Add(time.Hour)})
	if err != nil || recent.Approved != 1 || recent.Rejected != 1 || len(recent.Weekly) != 1 || recent.AvgReviewSeconds < 29 || recent.AvgReviewSeconds > 35 {
		t.Errorf("Acme since the Sunday: %+v %v", recent, err)
	}
	onlyB, err := s.Dashboard(ctx, store.Scope{ClientIDs: []string{b.ID}}, "", store.Period{})
	if err != nil || onlyB.Generated != 2 || onlyB.Approved != 1 || onlyB.Rejected != 1 {
		t.Errorf("Beta's scope: %+v %v", onlyB, err)
	}
	none, err := s.Dashboard(ctx, store.Scope{}, "", store.Period{})
	if err != nil || none.Generated != 0 || none.Ready || len(none.ScoreBuckets) != 4 {
		t.Errorf("empty scope: %+v %v", none, err)
	}
}
