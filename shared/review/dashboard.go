package review

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

type periodChoice struct {
	Value, Label string
	Days         int
}

var periods = []periodChoice{
	{"7d", "Last 7 days", 7},
	{"30d", "Last 30 days", 30},
	{"90d", "Last 90 days", 90},
	{"365d", "Last 12 months", 365},
	{"all", "Everything", 0},
}

type dashView struct {
	Periods, Clients []option
	From, To         string // custom range, as typed
	PeriodLabel      string
	D                store.Dashboard
	Decided          int
	Reasons          []reasonRow
	Weekly, Scores   chart
	Problems         []string
	Auto             autoView
}

// autoView is the Automation section: shown when some email of the period
// has a phase outcome or a client is in the partial or full phase.
type autoView struct {
	Show     bool
	Patterns []patternRow
	Basis    string // how the hours saved are counted
}

type patternRow struct {
	Reason, Label, Variable string
	Count                   int
}

type reasonRow struct {
	Code, Label string
	Count       int
	Share       float64
}

// dashboard: GET /dashboard?period=30d&client=ID (or from/to dates).
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	now := h.now().UTC()
	v := dashView{From: clip(q.Get("from"), 10), To: clip(q.Get("to"), 10)}
	sel := q.Get("period")
	if !slices.ContainsFunc(periods, func(p periodChoice) bool { return p.Value == sel }) {
		sel = "30d"
	}
	var p store.Period
	for _, pr := range periods {
		v.Periods = append(v.Periods, option{Value: pr.Value, Label: pr.Label, Selected: pr.Value == sel})
		if pr.Value == sel {
			v.PeriodLabel = pr.Label
			if pr.Days > 0 {
				day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
				p.From = day.AddDate(0, 0, -pr.Days+1)
			}
		}
	}
	if v.From != "" || v.To != "" {
		from, errF := time.Parse(dateLayout, v.From)
		to, errT := time.Parse(dateLayout, v.To)
		switch {
		case v.From != "" && errF != nil, v.To != "" && errT != nil:
			v.Problems = append(v.Problems, "The dates must be written YYYY-MM-DD: the period is used instead.")
		case v.From != "" && v.To != "" && to.Before(from):
			v.Problems = append(v.Problems, "The end date is before the start date: the period is used instead.")
		default:
			p = store.Period{From: from} // zero when not given: open
			if v.To != "" {
				p.To = to.AddDate(0, 0, 1) // the store's To is exclusive
			}
			v.PeriodLabel = periodLabel(v.From, v.To)
		}
	}
	client := strings.ToLower(clip(q.Get("client"), 64))
	if client != "" && !isUUID(client) {
		v.Problems = append(v.Problems, "The client is not an id: every client is shown.")
		client = ""
	}
	d, err := h.cfg.Store.Dashboard(r.Context(), s.user.Scope(), client, p)
	if errors.Is(err, store.ErrNotFound) && client != "" {
		v.Problems = append(v.Problems, "That client is not one of yours: every client is shown.")
		client = ""
		d, err = h.cfg.Store.Dashboard(r.Context(), s.user.Scope(), client, p)
	}
	v.Clients = clientOptions(s.user, client, nil)
	if err != nil {
		h.serverError(w, r, "dashboard", err)
		return
	}
	v.D = d
	v.Decided = d.Approved + d.Edited + d.Rejected
	total := 0
	for _, n := range d.RejectionReasons {
		total += n
	}
	for code, n := range d.RejectionReasons {
		v.Reasons = append(v.Reasons, reasonRow{Code: code, Label: reasonLabel(code), Count: n, Share: float64(n) / float64(max(total, 1))})
	}
	slices.SortFunc(v.Reasons, func(a, b reasonRow) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Code, b.Code)
	})
	v.Weekly = weeklyChart(d.Weekly)
	v.Scores = scoreChart(d.ScoreBuckets)
	v.Auto = automation(d)
	h.render(w, r, http.StatusOK, "dashboard", h.newPage(s, "dashboard", "Dashboard", v))
}

// automation lays out the Automation section.
func automation(d store.Dashboard) autoView {
	a := autoView{Show: d.Automated > 0 || d.AutomationOn}
	for _, p := range d.RejectionPatterns {
		a.Patterns = append(a.Patterns, patternRow{Reason: p.Reason, Label: reasonLabel(p.Reason), Variable: p.Variable, Count: p.Count})
	}
	emails := "emails"
	if d.AutoApproved == 1 {
		emails = "email"
	}
	a.Basis = fmt.Sprintf("%d auto-approved %s × %.0f s", d.AutoApproved, emails, d.ReviewSecondsUsed)
	switch d.ReviewSecondsFrom {
	case store.SecondsFromPeriod:
		a.Basis += ", the average review time of the period."
	case store.SecondsFromAllTime:
		a.Basis += ", the average review time of all time (nothing was reviewed in the period)."
	default:
		a.Basis += ", assumed: no review time has been measured yet."
	}
	return a
}

func periodLabel(from, to string) string {
	switch {
	case from != "" && to != "":
		return from + " to " + to
	case from != "":
		return "since " + from
	default:
		return "until " + to
	}
}

// chart is an SVG chart laid out in Go; the template only draws it.
type chart struct {
	ID, Title, Desc string
	W, H            float64
	Empty           bool
	Bars            []shape
	Line            string // polyline points
	Dots            []shape
	Labels          []text
	Grid            []shape // horizontal lines: X, Y, W
	Target          *shape
}

type shape struct {
	X, Y, W, H float64
	Class      string
	Tip        string
}

// X2 is the right end of a horizontal line.
func (s shape) X2() float64 { return s.X + s.W }

type text struct {
	X, Y   float64
	Text   string
	Anchor string // start, middle, end
	Class  string
}

const (
	chartW, chartH         = 640.0, 240.0
	padL, padR, padT, padB = 44.0, 12.0, 14.0, 44.0
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	approvalTarget         = 0.95
	maxWeekLabels          = 12
	maxBarW                = 80.0
)

func rate(approved, decided int) float64 {
	if decided == 0 {
		return 0
	}
	return float64(approved) / float64(decided)
}

func yOf(r float64) float64 { return padT + plotH*(1-r) }

func percentGrid(c *chart) {
	for _, r := range []float64{0, 0.5, 1} {
		c.Grid = append(c.Grid, shape{X: padL, Y: yOf(r), W: plotW})
		c.Labels = append(c.Labels, text{X: padL - 6, Y: yOf(r) + 4, Text: fmt.Sprintf("%.0f %%", r*100), Anchor: "end", Class: "axis"})
	}
}

// weeklyChart: decided emails per week (bars, scaled to the busiest week)
// and the approval rate (line, 0–100 %), with the 95 % target.
func weeklyChart(weeks []store.WeekPoint) chart {
	c := chart{ID: "chart-weekly", Title: "Weekly approval rate",
		Desc: "Bars: emails decided each week (the count at their foot). Line: share approved, edited included (left axis). Dashed: the 95 % target.",
		W:    chartW, H: chartH}
	if len(weeks) == 0 {
		c.Empty = true
		return c
	}
	percentGrid(&c)
	t := yOf(approvalTarget)
	c.Target = &shape{X: padL, Y: t, W: plotW}
	maxDecided := 1
	for _, wk := range weeks {
		maxDecided = max(maxDecided, wk.Decided)
	}
	slot := plotW / float64(len(weeks))
	every := 1
	if len(weeks) > maxWeekLabels {
		every = (len(weeks) + maxWeekLabels - 1) / maxWeekLabels
	}
	var pts []string
	for i, wk := range weeks {
		x := padL + slot*float64(i)
		cx := x + slot/2
		bh := plotH * float64(wk.Decided) / float64(maxDecided)
		r := rate(wk.Approved, wk.Decided)
		tip := fmt.Sprintf("Week of %s: %d decided, %d approved (%.1f %%)", wk.Week.Format("2 Jan 2006"), wk.Decided, wk.Approved, r*100)
		bw := min(slot*0.6, maxBarW)
		c.Bars = append(c.Bars, shape{X: cx - bw/2, Y: padT + plotH - bh, W: bw, H: bh, Class: "bar-volume", Tip: tip})
		c.Labels = append(c.Labels, text{X: cx, Y: padT + plotH - 5, Text: fmt.Sprint(wk.Decided), Anchor: "middle", Class: "bar-count"})
		if wk.Decided > 0 {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", cx, yOf(r)))
			c.Dots = append(c.Dots, shape{X: cx, Y: yOf(r), Class: dotClass(r), Tip: tip})
		}
		if i%every == 0 {
			c.Labels = append(c.Labels, text{X: cx, Y: chartH - padB + 16, Text: wk.Week.Format("2 Jan"), Anchor: "middle", Class: "axis"})
		}
	}
	c.Line = strings.Join(pts, " ")
	c.Labels = append(c.Labels, text{X: padL + plotW, Y: t - 4, Text: "target 95 %", Anchor: "end", Class: "target-label"})
	return c
}

func dotClass(r float64) string {
	if r > approvalTarget {
		return "dot-ok"
	}
	return "dot"
}

// scoreChart: approval rate per quality-score bucket — does a high score
// predict approval?
func scoreChart(buckets []store.ScoreBucket) chart {
	c := chart{ID: "chart-scores", Title: "Approval rate by quality score",
		Desc: "Each bar is the share of decided emails approved in a score range; n is how many were decided.",
		W:    chartW, H: chartH}
	decided := 0
	for _, b := range buckets {
		decided += b.Decided
	}
	if len(buckets) == 0 || decided == 0 {
		c.Empty = true
		return c
	}
	percentGrid(&c)
	slot := plotW / float64(len(buckets))
	for i, b := range buckets {
		x := padL + slot*float64(i)
		r := rate(b.Approved, b.Decided)
		bh := plotH * r
		tip := fmt.Sprintf("Score %d–%d: %d decided, %d approved (%.1f %%)", b.Min, b.Max, b.Decided, b.Approved, r*100)
		cx := x + slot/2
		bw := min(slot*0.6, maxBarW)
		c.Bars = append(c.Bars, shape{X: cx - bw/2, Y: padT + plotH - bh, W: bw, H: bh, Class: "bar " + badgeClass(b.Min), Tip: tip})
		if b.Decided > 0 {
			c.Labels = append(c.Labels, text{X: cx, Y: padT + plotH - bh - 5, Text: fmt.Sprintf("%.0f %%", r*100), Anchor: "middle", Class: "value"})
		}
		c.Labels = append(c.Labels,
			text{X: cx, Y: chartH - padB + 16, Text: fmt.Sprintf("%d–%d", b.Min, b.Max), Anchor: "middle", Class: "axis"},
			text{X: cx, Y: chartH - padB + 32, Text: fmt.Sprintf("n = %d", b.Decided), Anchor: "middle", Class: "axis muted"})
	}
	return c
}
