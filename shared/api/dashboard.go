package api

import (
	"net/http"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// Dashboard is GET /api/v1/dashboard: the key's client's review figures
// (the plan's phase 1) and automation figures (phases 2 and 3) for a
// period. Rates are 0..1.
type Dashboard struct {
	ClientID string  `json:"client_id"`
	From     *string `json:"from"` // first day (UTC), null = open
	To       *string `json:"to"`   // last day, included; null = open

	// Emails generated in the period, their average quality score.
	Generated  int     `json:"generated"`
	AvgQuality float64 `json:"avg_quality"`
	// Decisions made by people (the review UI or an API key) in the
	// period, not undone; rates of the decided (approval counts edits).
	Approved         int            `json:"approved"`
	Edited           int            `json:"edited"`
	Rejected         int            `json:"rejected"`
	Decided          int            `json:"decided"`
	ApprovalRate     float64        `json:"approval_rate"`
	EditRate         float64        `json:"edit_rate"`
	RejectionRate    float64        `json:"rejection_rate"` // among the reviewed emails
	AvgReviewSeconds float64        `json:"avg_review_seconds"`
	RejectionReasons map[string]int `json:"rejection_reasons"`
	Weekly           []WeekPoint    `json:"weekly"`
	ScoreBuckets     []ScoreBucket  `json:"score_buckets"`
	// Readiness for phase 2 and what is missing.
	Ready   bool     `json:"ready"`
	Missing []string `json:"missing"`

	// Emails generated in the period with a phase outcome, by outcome.
	AutoApproved     int     `json:"auto_approved"`
	Held             int     `json:"held"`
	ToReview         int     `json:"to_review"`
	Sampled          int     `json:"sampled"`
	Automated        int     `json:"automated"`
	AutoApprovalRate float64 `json:"auto_approval_rate"` // auto_approved / automated
	ReviewShare      float64 `json:"review_share"`       // (held + to_review + sampled) / automated
	// The random sample's decisions in the period; the rate is null when
	// none was decided.
	SampleDecided       int      `json:"sample_decided"`
	SampleRejected      int      `json:"sample_rejected"`
	SampleRejectionRate *float64 `json:"sample_rejection_rate"`
	// Recurring rejections: the same reason on the same variable (null:
	// not named) at least twice, most frequent first, at most 10.
	RejectionPatterns []RejectionPattern `json:"rejection_patterns"`
	// Reviewer hours the auto-approved emails saved: auto_approved ×
	// review_seconds_used / 3600; review_seconds_from is "period",
	// "all_time" (the period has no timed decision) or "default" (60 s:
	// nothing ever measured).
	HoursSaved        float64 `json:"hours_saved"`
	ReviewSecondsUsed float64 `json:"review_seconds_used"`
	ReviewSecondsFrom string  `json:"review_seconds_from"`
	// The client is in the partial or full phase now.
	AutomationOn bool `json:"automation_on"`
}

// WeekPoint is one ISO week (UTC) of decisions.
type WeekPoint struct {
	Week     string `json:"week"` // its Monday, YYYY-MM-DD
	Decided  int    `json:"decided"`
	Approved int    `json:"approved"`
}

// ScoreBucket counts the decisions on emails scored in [min, max].
type ScoreBucket struct {
	Min      int `json:"min"`
	Max      int `json:"max"`
	Decided  int `json:"decided"`
	Approved int `json:"approved"`
}

// RejectionPattern counts the rejections giving one reason about one
// variable.
type RejectionPattern struct {
	Reason   string  `json:"reason"`
	Variable *string `json:"variable"`
	Count    int     `json:"count"`
}

// secondsFrom names store.Dashboard.ReviewSecondsFrom in the JSON.
var secondsFrom = map[string]string{
	store.SecondsFromPeriod:  "period",
	store.SecondsFromAllTime: "all_time",
	store.SecondsFromDefault: "default",
}

const dayLayout = "2006-01-02"

// dashboard: GET /api/v1/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD (UTC days,
// both included, each optional: all time by default).
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	q := r.URL.Query()
	var p store.Period
	out := Dashboard{ClientID: k.ClientID}
	for _, b := range []struct {
		name string
		t    *time.Time
		s    **string
		add  int
	}{{"from", &p.From, &out.From, 0}, {"to", &p.To, &out.To, 1}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		d, err := time.Parse(dayLayout, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeInvalidRequest, `"`+b.name+`" must be a date, YYYY-MM-DD`)
			return
		}
		*b.t = d.AddDate(0, 0, b.add) // the store's To is exclusive
		day := d.Format(dayLayout)
		*b.s = &day
	}
	if !p.From.IsZero() && !p.To.IsZero() && !p.To.After(p.From) {
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `"to" is before "from"`)
		return
	}
	d, err := h.cfg.Store.Dashboard(r.Context(), scope(k), k.ClientID, p)
	if err != nil {
		h.storeError(w, r, err, "")
		return
	}
	out.Generated, out.AvgQuality = d.Generated, d.AvgQuality
	out.Approved, out.Edited, out.Rejected, out.Decided = d.Approved, d.Edited, d.Rejected, d.Approved+d.Edited+d.Rejected
	out.ApprovalRate, out.EditRate, out.RejectionRate, out.AvgReviewSeconds = d.ApprovalRate, d.EditRate, d.RejectionRate, d.AvgReviewSeconds
	out.RejectionReasons = d.RejectionReasons
	if out.RejectionReasons == nil {
		out.RejectionReasons = map[string]int{}
	}
	out.Weekly = make([]WeekPoint, 0, len(d.Weekly))
	for _, wk := range d.Weekly {
		out.Weekly = append(out.Weekly, WeekPoint{Week: wk.Week.UTC().Format(dayLayout), Decided: wk.Decided, Approved: wk.Approved})
	}
	out.ScoreBuckets = make([]ScoreBucket, 0, len(d.ScoreBuckets))
	for _, b := range d.ScoreBuckets {
		out.ScoreBuckets = append(out.ScoreBuckets, ScoreBucket{Min: b.Min, Max: b.Max, Decided: b.Decided, Approved: b.Approved})
	}
	out.Ready, out.Missing = d.Ready, append([]string{}, d.Missing...)

	out.AutoApproved, out.Held, out.ToReview, out.Sampled, out.Automated = d.AutoApproved, d.Held, d.ToReview, d.Sampled, d.Automated
	out.AutoApprovalRate, out.ReviewShare = d.AutoApprovalRate, d.ReviewShare
	out.SampleDecided, out.SampleRejected = d.SampleDecided, d.SampleRejected
	if d.SampleDecided > 0 {
		rate := d.SampleRejectionRate
		out.SampleRejectionRate = &rate
	}
	out.RejectionPatterns = make([]RejectionPattern, 0, len(d.RejectionPatterns))
	for _, pt := range d.RejectionPatterns {
		rp := RejectionPattern{Reason: pt.Reason, Count: pt.Count}
		if pt.Variable != "" {
			v := pt.Variable
			rp.Variable = &v
		}
		out.RejectionPatterns = append(out.RejectionPatterns, rp)
	}
	out.HoursSaved, out.ReviewSecondsUsed = d.HoursSaved, d.ReviewSecondsUsed
	out.ReviewSecondsFrom = secondsFrom[d.ReviewSecondsFrom]
	out.AutomationOn = d.AutomationOn
	writeJSON(w, http.StatusOK, out)
}
