package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Period is a time range [From, To); a zero bound is open.
type Period struct{ From, To time.Time }

// WeekPoint counts the decisions of one week (Week: its Monday, 00:00 UTC).
type WeekPoint struct {
	Week              time.Time
	Decided, Approved int
}

// ScoreBucket counts the decisions on emails whose quality score (when
// decided) was in [Min, Max]: 0-59, 60-74, 75-89, 90-100.
type ScoreBucket struct{ Min, Max, Decided, Approved int }

// scoreBuckets are the plan's thresholds (60 / 75 / 90).
var scoreBuckets = []ScoreBucket{{Min: 0, Max: 59}, {Min: 60, Max: 74}, {Min: 75, Max: 89}, {Min: 90, Max: 100}}

// The plan's criteria for leaving shadow mode (phase 1 → 2).
const (
	ReadyMinDecided    = 200
	ReadyMinApproval   = 0.95 // approval rate above
	ReadyMaxEdit       = 0.05 // edit rate under
	ReadyMaxReviewSecs = 60   // average review time under
)

// Dashboard is the review's figures for a period.
type Dashboard struct {
	Generated                  int // emails generated (created) in the period
	Approved, Edited, Rejected int // decisions made in the period, not undone
	// Rates of the decided, 0..1; approval counts approved + approved_edited.
	ApprovalRate, EditRate, RejectionRate float64
	AvgQuality                            float64 // of the emails generated in the period
	AvgReviewSeconds                      float64 // time to decision, over the decisions that have one
	RejectionReasons                      map[string]int
	Weekly                                []WeekPoint   // weeks with decisions, oldest first
	ScoreBuckets                          []ScoreBucket // always the four buckets
	// The plan's readiness for the next phase: approval > 95 % on >= 200
	// decided emails, edit < 5 %, review < 60 s.
	Ready   bool
	Missing []string // what is not met yet, human-readable
}

// Dashboard computes the figures of one client (clientID) or of every
// client in sc (clientID "") for p: generated and average quality from
// emails_generated, the rest from review_decisions (every decision not
// undone, those of regenerated emails included). Two queries run at once:
// a count over the emails, and the decisions grouped by week, score bucket,
// action and reason (grouped by the enum columns themselves, so the planner
// knows there are few groups and hashes them), from which every other
// figure is derived. A client outside sc is ErrNotFound. Weeks are ISO
// weeks (from Monday) in UTC.
func (s *Store) Dashboard(ctx context.Context, sc Scope, clientID string, p Period) (Dashboard, error) {
	const op = "store: dashboard"
	db := Dashboard{RejectionReasons: map[string]int{}, ScoreBuckets: append([]ScoreBucket(nil), scoreBuckets...)}
	eq, dq := &query{}, &query{}
	switch {
	case clientID != "":
		if err := s.inScope(ctx, sc, clientID); err != nil {
			return Dashboard{}, fmt.Errorf("%s: client %s: %w", op, clip(clientID, 40), err)
		}
		eq.where("e.client_id = " + eq.arg(clientID) + "::uuid")
		dq.where("r.client_id = " + dq.arg(clientID) + "::uuid")
	case !sc.All:
		ids := sc.ids()
		if len(ids) == 0 {
			db.readiness(0)
			return db, nil
		}
		eq.where("e.client_id = any(" + eq.arg(ids) + "::uuid[])")
		dq.where("r.client_id = any(" + dq.arg(ids) + "::uuid[])")
	}
	if !p.From.IsZero() {
		eq.where("e.created_at >= " + eq.arg(p.From))
		dq.where("r.decided_at >= " + dq.arg(p.From))
	}
	if !p.To.IsZero() {
		eq.where("e.created_at < " + eq.arg(p.To))
		dq.where("r.decided_at < " + dq.arg(p.To))
	}

	var qualitySum int64
	var scored int
	emails := make(chan error, 1)
	go func() {
		emails <- s.pool.QueryRow(ctx, `select count(*)::int, coalesce(sum(e.quality_score), 0)::bigint, count(e.quality_score)::int
			from public.emails_generated e where true`+eq.and(), eq.args...).Scan(&db.Generated, &qualitySum, &scored)
	}()

	rows, err := s.pool.Query(ctx, `select ((r.decided_at at time zone 'UTC')::date - date '1970-01-05') / 7,
			case when coalesce(r.quality_score, 0) < 60 then 0 when r.quality_score < 75 then 1
			     when r.quality_score < 90 then 2 else 3 end,
			r.action::text, coalesce(r.reason::text, ''), count(*)::int,
			coalesce(sum(r.time_to_decision_ms), 0)::bigint, count(r.time_to_decision_ms)::int
		from public.review_decisions r where r.undone_at is null`+dq.and()+`
		group by 1, 2, r.action, r.reason`, dq.args...)
	var week, bucket, n, timed int
	var action, reason string
	var ms, totalMS int64
	var timedAll int
	weeks := map[int]*WeekPoint{}
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&week, &bucket, &action, &reason, &n, &ms, &timed}, func() error {
			w := weeks[week]
			if w == nil {
				w = &WeekPoint{Week: mondayOfWeek(week)}
				weeks[week] = w
			}
			w.Decided += n
			db.ScoreBuckets[bucket].Decided += n
			switch action {
			case ActionApprove:
				db.Approved += n
			case ActionEdit:
				db.Edited += n
			case ActionReject:
				db.Rejected += n
				db.RejectionReasons[reason] += n
			}
			if action != ActionReject {
				w.Approved += n
				db.ScoreBuckets[bucket].Approved += n
			}
			totalMS += ms
			timedAll += timed
			return nil
		})
	}
	if eerr := <-emails; err == nil {
		err = eerr
	}
	if err != nil {
		return Dashboard{}, wrap(op, err)
	}

	for _, w := range weeks {
		db.Weekly = append(db.Weekly, *w)
	}
	slices.SortFunc(db.Weekly, func(a, b WeekPoint) int { return a.Week.Compare(b.Week) })
	if scored > 0 {
		db.AvgQuality = float64(qualitySum) / float64(scored)
	}
	if timedAll > 0 {
		db.AvgReviewSeconds = float64(totalMS) / float64(timedAll) / 1000
	}
	if decided := db.Approved + db.Edited + db.Rejected; decided > 0 {
		db.ApprovalRate = float64(db.Approved+db.Edited) / float64(decided)
		db.EditRate = float64(db.Edited) / float64(decided)
		db.RejectionRate = float64(db.Rejected) / float64(decided)
	}
	db.readiness(timedAll)
	return db, nil
}

// mondayOfWeek returns the Monday (00:00 UTC) of week w, counted from the
// week of Monday 5 January 1970.
func mondayOfWeek(w int) time.Time {
	return time.Date(1970, 1, 5+7*w, 0, 0, 0, 0, time.UTC)
}

// readiness sets Ready and Missing; timed counts the decisions with a time
// to decision.
func (db *Dashboard) readiness(timed int) {
	decided := db.Approved + db.Edited + db.Rejected
	db.Missing = nil
	if decided < ReadyMinDecided {
		db.Missing = append(db.Missing, fmt.Sprintf("%d decided emails, %d needed", decided, ReadyMinDecided))
	}
	if decided == 0 || db.ApprovalRate <= ReadyMinApproval {
		db.Missing = append(db.Missing, fmt.Sprintf("approval rate %.1f %%, more than %.0f %% needed", 100*db.ApprovalRate, 100*ReadyMinApproval))
	}
	if db.EditRate >= ReadyMaxEdit {
		db.Missing = append(db.Missing, fmt.Sprintf("edit rate %.1f %%, under %.0f %% needed", 100*db.EditRate, 100*ReadyMaxEdit))
	}
	switch {
	case timed == 0:
		db.Missing = append(db.Missing, fmt.Sprintf("no review time recorded yet, under %d s needed", ReadyMaxReviewSecs))
	case db.AvgReviewSeconds >= ReadyMaxReviewSecs:
		db.Missing = append(db.Missing, fmt.Sprintf("average review time %.0f s, under %d s needed", db.AvgReviewSeconds, ReadyMaxReviewSecs))
	}
	db.Ready = len(db.Missing) == 0
}
