package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

	// Automation phases (the plan's phases 2 and 3), over the emails
	// generated in the period with a phase outcome (emails stored before
	// phases existed have none and do not count here).
	AutoApproved, Held, ToReview, Sampled int // by outcome: auto_approved, held, review, sampled
	Automated                             int // with an outcome: the sum of the four
	// AutoApprovalRate is AutoApproved / Automated; ReviewShare is the
	// share sent to people, (Held + ToReview + Sampled) / Automated. 0
	// when Automated is 0.
	AutoApprovalRate, ReviewShare float64
	// The full phase's safety check: the decisions made in the period on
	// emails drawn for the random sample, how many rejected, and
	// SampleRejected / SampleDecided (0 when none was decided).
	SampleDecided, SampleRejected int
	SampleRejectionRate           float64
	// RejectionPatterns are the recurring rejections of the period: the
	// same reason on the same variable (Variable "" when the reviewer named
	// none) at least PatternMinCount times, most frequent first, at most
	// MaxPatterns.
	RejectionPatterns []RejectionPattern
	// HoursSaved is the reviewers' time the auto-approved emails saved:
	// AutoApproved × ReviewSecondsUsed / 3600. ReviewSecondsUsed is
	// AvgReviewSeconds of the period, else of all time when the period has
	// no timed decision, else DefaultReviewSeconds; ReviewSecondsFrom says
	// which: "period", "all time" or "default".
	HoursSaved        float64
	ReviewSecondsUsed float64
	ReviewSecondsFrom string
	// AutomationOn: a client of the dashboard is in the partial or full
	// phase now.
	AutomationOn bool
}

// RejectionPattern counts the rejections giving one reason about one
// variable ("" = not named).
type RejectionPattern struct {
	Reason, Variable string
	Count            int
}

// The recurring rejection patterns shown: at least PatternMinCount
// rejections each, the MaxPatterns most frequent.
const (
	PatternMinCount = 2
	MaxPatterns     = 10
)

// outcomeSampled is the automation_outcome of an email drawn for the full
// phase's random review sample (automation.Sampled).
const outcomeSampled = "sampled"

// DefaultReviewSeconds is the review time HoursSaved assumes when no
// review time was ever measured.
const DefaultReviewSeconds = 60

// Where ReviewSecondsUsed comes from.
const (
	SecondsFromPeriod  = "period"
	SecondsFromAllTime = "all time"
	SecondsFromDefault = "default"
)

// Dashboard computes the figures of one client (clientID) or of every
// client in sc (clientID "") for p: generated and average quality from
// emails_generated, the rest from review_decisions (every decision not
// undone, those of regenerated emails included). Three queries run at
// once: a count over the emails; the emails with a phase outcome counted by
// outcome (idx_emails_automation), with whether a client is in the partial
// or full phase; and the decisions grouped by week, score bucket, action,
// reason, variable and the email's outcome (grouped by the columns
// themselves, so the planner knows there are few groups and hashes them;
// idx_review_decisions_client holds them all), from which every other
// figure is derived. When the period has no timed decision, a fourth query
// reads the average review time of all time for HoursSaved. A client
// outside sc is ErrNotFound. Weeks are ISO weeks (from Monday) in UTC.
func (s *Store) Dashboard(ctx context.Context, sc Scope, clientID string, p Period) (Dashboard, error) {
	const op = "store: dashboard"
	db := Dashboard{RejectionReasons: map[string]int{}, ScoreBuckets: append([]ScoreBucket(nil), scoreBuckets...)}
	// clients restricts a query's client column (col) to the dashboard's
	// clients and returns the condition.
	var clients func(q *query, col string) string
	switch {
	case clientID != "":
		if err := s.inScope(ctx, sc, clientID); err != nil {
			return Dashboard{}, fmt.Errorf("%s: client %s: %w", op, clip(clientID, 40), err)
		}
		clients = func(q *query, col string) string { return col + " = " + q.arg(clientID) + "::uuid" }
	case !sc.All:
		ids := sc.ids()
		if len(ids) == 0 {
			db.readiness(0)
			db.hoursSaved(0, false)
			return db, nil
		}
		clients = func(q *query, col string) string { return col + " = any(" + q.arg(ids) + "::uuid[])" }
	default:
		clients = func(*query, string) string { return "true" }
	}
	// eq: the emails; aq: the emails with an outcome; dq: the decisions.
	eq, aq, dq := &query{}, &query{}, &query{}
	eq.where(clients(eq, "e.client_id"))
	aq.where(clients(aq, "e.client_id"))
	dq.where(clients(dq, "r.client_id"))
	phased := clients(aq, "a.client_id")
	if !p.From.IsZero() {
		eq.where("e.created_at >= " + eq.arg(p.From))
		aq.where("e.created_at >= " + aq.arg(p.From))
		dq.where("r.decided_at >= " + dq.arg(p.From))
	}
	if !p.To.IsZero() {
		eq.where("e.created_at < " + eq.arg(p.To))
		aq.where("e.created_at < " + aq.arg(p.To))
		dq.where("r.decided_at < " + dq.arg(p.To))
	}

	var qualitySum int64
	var scored int
	emails := make(chan error, 1)
	go func() {
		emails <- s.pool.QueryRow(ctx, `select count(*)::int, coalesce(sum(e.quality_score), 0)::bigint, count(e.quality_score)::int
			from public.emails_generated e where true`+eq.and(), eq.args...).Scan(&db.Generated, &qualitySum, &scored)
	}()
	outcomes := make(chan error, 1)
	go func() {
		// Counted by (client, outcome), the index's order, then added up:
		// no hashing, one cheap step per index entry.
		outcomes <- s.pool.QueryRow(ctx, `select coalesce(sum(x.n) filter (where x.o = 'auto_approved'), 0)::int,
				coalesce(sum(x.n) filter (where x.o = 'held'), 0)::int,
				coalesce(sum(x.n) filter (where x.o = 'review'), 0)::int,
				coalesce(sum(x.n) filter (where x.o = 'sampled'), 0)::int,
				exists (select 1 from public.automation_settings a where a.phase <> 'shadow' and `+phased+`)
			from (select e.automation_outcome as o, count(*) as n from public.emails_generated e
				where e.automation_outcome is not null`+aq.and()+`
				group by e.client_id, e.automation_outcome) x`, aq.args...).
			Scan(&db.AutoApproved, &db.Held, &db.ToReview, &db.Sampled, &db.AutomationOn)
	}()

	// The week: date_bin from a Monday, 00:00 UTC (cheaper per row than
	// converting to a UTC date).
	rows, err := s.pool.Query(ctx, `select date_bin('7 days', r.decided_at, timestamptz '1970-01-05 00:00:00+00'),
			case when coalesce(r.quality_score, 0) < 60 then 0 when r.quality_score < 75 then 1
			     when r.quality_score < 90 then 2 else 3 end,
			r.action::text, coalesce(r.reason::text, ''), coalesce(r.variable, ''), coalesce(r.automation_outcome, ''), count(*)::int,
			coalesce(sum(r.time_to_decision_ms), 0)::bigint, count(r.time_to_decision_ms)::int
		from public.review_decisions r where r.undone_at is null`+dq.and()+`
		group by 1, 2, r.action, r.reason, r.variable, r.automation_outcome`, dq.args...)
	var week time.Time
	var bucket, n, timed int
	var action, reason, variable, outcome string
	var ms, totalMS int64
	var timedAll int
	weeks := map[int64]*WeekPoint{}
	patterns := map[RejectionPattern]int{}
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&week, &bucket, &action, &reason, &variable, &outcome, &n, &ms, &timed}, func() error {
			w := weeks[week.Unix()]
			if w == nil {
				w = &WeekPoint{Week: week.UTC()}
				weeks[week.Unix()] = w
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
				patterns[RejectionPattern{Reason: reason, Variable: variable}] += n
			}
			if outcome == outcomeSampled {
				db.SampleDecided += n
				if action == ActionReject {
					db.SampleRejected += n
				}
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
	if oerr := <-outcomes; err == nil {
		err = oerr
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

	db.Automated = db.AutoApproved + db.Held + db.ToReview + db.Sampled
	if db.Automated > 0 {
		db.AutoApprovalRate = float64(db.AutoApproved) / float64(db.Automated)
		db.ReviewShare = float64(db.Held+db.ToReview+db.Sampled) / float64(db.Automated)
	}
	if db.SampleDecided > 0 {
		db.SampleRejectionRate = float64(db.SampleRejected) / float64(db.SampleDecided)
	}
	for pt, n := range patterns {
		if n >= PatternMinCount {
			pt.Count = n
			db.RejectionPatterns = append(db.RejectionPatterns, pt)
		}
	}
	slices.SortFunc(db.RejectionPatterns, func(a, b RejectionPattern) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if c := strings.Compare(a.Reason, b.Reason); c != 0 {
			return c
		}
		return strings.Compare(a.Variable, b.Variable)
	})
	db.RejectionPatterns = db.RejectionPatterns[:min(len(db.RejectionPatterns), MaxPatterns)]

	// The review time of the hours saved: the period's, else all time's
	// (a period with no decision says nothing about how long one takes).
	if timedAll == 0 && (!p.From.IsZero() || !p.To.IsZero()) {
		q := &query{}
		q.where(clients(q, "r.client_id"))
		if err := s.pool.QueryRow(ctx, `select coalesce(sum(r.time_to_decision_ms), 0)::bigint, count(r.time_to_decision_ms)::int
			from public.review_decisions r where r.undone_at is null`+q.and(), q.args...).Scan(&totalMS, &timedAll); err != nil {
			return Dashboard{}, wrap(op, err)
		}
		db.ReviewSecondsUsed = 0
		if timedAll > 0 {
			db.ReviewSecondsUsed = float64(totalMS) / float64(timedAll) / 1000
		}
		db.hoursSaved(timedAll, false)
	} else {
		db.ReviewSecondsUsed = db.AvgReviewSeconds
		db.hoursSaved(timedAll, true)
	}
	return db, nil
}

// hoursSaved sets HoursSaved and where its review time comes from, given
// ReviewSecondsUsed measured over timed decisions of the period (inPeriod)
// or of all time.
func (db *Dashboard) hoursSaved(timed int, inPeriod bool) {
	switch {
	case timed == 0:
		db.ReviewSecondsUsed, db.ReviewSecondsFrom = DefaultReviewSeconds, SecondsFromDefault
	case inPeriod:
		db.ReviewSecondsFrom = SecondsFromPeriod
	default:
		db.ReviewSecondsFrom = SecondsFromAllTime
	}
	db.HoursSaved = float64(db.AutoApproved) * db.ReviewSecondsUsed / 3600
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
