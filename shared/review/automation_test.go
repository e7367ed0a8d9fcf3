package review

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
)

// automatedDashboard is a client in the full phase: 120 emails with an
// outcome, 5 sampled emails decided, 2 rejected.
func automatedDashboard() store.Dashboard {
	d := sampleDashboard()
	d.AutoApproved, d.Held, d.ToReview, d.Sampled, d.Automated = 90, 6, 18, 6, 120
	d.AutoApprovalRate, d.ReviewShare = 0.75, 0.25
	d.SampleDecided, d.SampleRejected, d.SampleRejectionRate = 5, 2, 0.4
	d.RejectionPatterns = []store.RejectionPattern{
		{Reason: "incorrect_competitor", Variable: "competitor_name", Count: 7},
		{Reason: "grammar_issues", Count: 3},
	}
	d.HoursSaved, d.ReviewSecondsUsed, d.ReviewSecondsFrom = 90*42.0/3600, 42, store.SecondsFromPeriod
	d.AutomationOn = true
	return d
}

// TestDashboardAutomationSection: the Automation section shows the phase
// figures — auto-approval rate, share sent to review, the counts by
// outcome, both rejection rates (the sample's with its size, "—" when no
// sampled email was decided), the hours saved and how they are counted,
// the recurring patterns — and only when something is automated.
func TestDashboardAutomationSection(t *testing.T) {
	tests := []struct {
		name  string
		dash  func() store.Dashboard
		shown bool
		want  map[string]string // data-stat or data-count → text it contains
		text  []string          // in the section
	}{
		{"full phase", automatedDashboard, true,
			map[string]string{"auto-approval-rate": "75.0 %", "review-share": "25.0 %", "sample-rejection-rate": "40.0 % n = 5",
				"reviewed-rejection-rate": "8.6 %", "hours-saved": "1.1 h",
				"auto_approved": "90", "held": "6", "review": "18", "sampled": "6"},
			[]string{"90 auto-approved emails × 42 s, the average review time of the period.", "The 120 emails generated"}},
		{"phase on, nothing decided yet", func() store.Dashboard {
			return store.Dashboard{AutomationOn: true, ReviewSecondsUsed: 60, ReviewSecondsFrom: store.SecondsFromDefault}
		}, true,
			map[string]string{"auto-approval-rate": "0.0 %", "sample-rejection-rate": "— n = 0", "hours-saved": "0.0 h"},
			[]string{"assumed: no review time has been measured yet", "No reason given twice"}},
		{"back in shadow with automated emails", func() store.Dashboard {
			return store.Dashboard{AutoApproved: 1, Automated: 1, AutoApprovalRate: 1, HoursSaved: 45.0 / 3600,
				ReviewSecondsUsed: 45, ReviewSecondsFrom: store.SecondsFromAllTime}
		}, true,
			map[string]string{"auto-approval-rate": "100.0 %", "hours-saved": "0.0 h"},
			[]string{"1 auto-approved email × 45 s, the average review time of all time (nothing was reviewed in the period)."}},
		{"shadow", sampleDashboard, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.st.dash = tt.dash()
			ck, _ := e.session("u-ana")
			w := e.do(req{method: "GET", path: "/dashboard?client=" + clientA, cookie: ck})
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			doc := parse(t, w.Body.String())
			sec := byID(doc, "automation")
			if (sec != nil) != tt.shown {
				t.Fatalf("Automation section shown: %v, want %v", sec != nil, tt.shown)
			}
			if sec == nil {
				return
			}
			got := map[string]string{}
			walk(sec, func(n *html.Node) {
				for _, k := range []string{"data-stat", "data-count"} {
					if v, ok := attr(n, k); ok {
						got[v] = strings.Join(strings.Fields(textOf(n)), " ")
					}
				}
			})
			for k, want := range tt.want {
				if !strings.Contains(got[k], want) {
					t.Errorf("%s: %q, want %q", k, got[k], want)
				}
			}
			all := strings.Join(strings.Fields(textOf(sec)), " ")
			for _, want := range tt.text {
				if !strings.Contains(all, want) {
					t.Errorf("the section lacks %q: %s", want, all)
				}
			}
		})
	}

	// The patterns, most frequent first; a rejection that named no
	// variable says so.
	e := newEnv(t)
	e.st.dash = automatedDashboard()
	ck, _ := e.session("u-ana")
	doc := parse(t, e.do(req{method: "GET", path: "/dashboard", cookie: ck}).Body.String())
	var rows []string
	walk(byID(doc, "patterns"), func(n *html.Node) {
		if n.Data == "tr" {
			if _, ok := attr(n, "data-reason"); ok {
				var cells []string
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Data == "td" {
						cells = append(cells, strings.TrimSpace(textOf(c)))
					}
				}
				rows = append(rows, strings.Join(cells, " | "))
			}
		}
	})
	want := []string{"Incorrect competitor | competitor_name | 7", "Grammar issues | variable not named | 3"}
	if !slices.Equal(rows, want) {
		t.Errorf("patterns %q, want %q", rows, want)
	}
	if s := textOf(byID(doc, "stats")); !strings.Contains(s, "Rejection rate of reviewed emails") {
		t.Errorf("the review rejection rate is not labelled: %s", s)
	}
}

// TestRejectVariable: the reject form lists the email's variables; the
// variable chosen is stored with the rejection, "" takes the reason's
// obvious one when the email has it, "none" names none, and a variable the
// email does not have is refused.
func TestRejectVariable(t *testing.T) {
	persona := sampleEmail("p1", clientA, "Acme", 50, t0)
	persona.Variables = map[string]email.Variable{
		"first_name":      {Value: "Sophie"},
		"target_persona":  {Value: "équipes support", Agent: "persona"},
		"competitor_name": {Value: "Zendesk", Agent: "competitor"},
	}
	tests := []struct {
		name, email, reason, variable string
		want                          int
		stored                        string
	}{
		{"chosen", "p1", "incorrect_info", "first_name", 200, "first_name"},
		{"from a wrong persona", "p1", "wrong_persona", "", 200, "target_persona"},
		{"from an incorrect competitor", "p1", "incorrect_competitor", "", 200, "competitor_name"},
		{"chosen over the reason's", "p1", "incorrect_competitor", "target_persona", 200, "target_persona"},
		{"none", "p1", "wrong_persona", "none", 200, ""},
		{"no obvious one", "p1", "grammar_issues", "", 200, ""},
		// sampleEmail's competitor variable is not named competitor_name.
		{"the email lacks the reason's", "a1", "incorrect_competitor", "", 200, ""},
		{"not the email's", "p1", "wrong_persona", "system_1", 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.st.addEmail(persona)
			ck, tok := e.session("u-ana")
			w := e.post(ck, tok, "/emails/"+tt.email+"/reject", url.Values{"reason": {tt.reason}, "variable": {tt.variable}})
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want != 200 {
				if len(e.st.decisions) != 0 {
					t.Error("a refused rejection was stored")
				}
				if !strings.Contains(w.Body.String(), "Choose one of the email") {
					t.Error("the refusal does not say why")
				}
				return
			}
			if d := e.st.decisions[0]; d.Action != "reject" || d.Reason != tt.reason || d.Variable != tt.stored {
				t.Errorf("decision %+v, want variable %q", d, tt.stored)
			}
		})
	}

	// The form: the email's variables, and each reason's obvious one.
	e := newEnv(t)
	e.st.addEmail(persona)
	ck, _ := e.session("u-ana")
	doc := parse(t, e.do(req{method: "GET", path: "/emails/p1", cookie: ck}).Body.String())
	var vars []string
	walk(byID(doc, "reject-variable"), func(n *html.Node) {
		if v, ok := attr(n, "value"); ok && n.Data == "option" {
			vars = append(vars, v)
		}
	})
	if want := []string{"", "none", "competitor_name", "first_name", "target_persona"}; !slices.Equal(vars, want) {
		t.Errorf("variable options %q, want %q", vars, want)
	}
	defaults := map[string]string{}
	walk(byID(doc, "reject-reason"), func(n *html.Node) {
		if v, ok := attr(n, "data-variable"); ok {
			r, _ := attr(n, "value")
			defaults[r] = v
		}
	})
	if len(defaults) != 2 || defaults["wrong_persona"] != "target_persona" || defaults["incorrect_competitor"] != "competitor_name" {
		t.Errorf("reasons' variables %v", defaults)
	}
}

// TestCardSaysWhereASentEmailWent: an exported email's card names the
// campaign, the sequencer's lead id and when; an unsent one says nothing.
func TestCardSaysWhereASentEmailWent(t *testing.T) {
	e := newEnv(t)
	ck, _ := e.session("u-ana")
	sent := sampleEmail("s1", clientA, "Acme", 91, t0)
	sent.Status, sent.SentAt, sent.CampaignID, sent.CampaignName, sent.SequencerLeadID = "sent", t0.Add(time.Hour), "777", "Acme – Cold V1", "5000001"
	e.st.addEmail(sent)
	w := e.do(req{method: "GET", path: "/emails/s1", cookie: ck, htmx: true})
	doc := parse(t, w.Body.String())
	p := byID(doc, "sent")
	if p == nil {
		t.Fatalf("no sent line on the card: %s", w.Body)
	}
	if got := textOf(p); !strings.Contains(got, "Acme – Cold V1") || !strings.Contains(got, "lead 5000001") || !strings.Contains(got, t0.Add(time.Hour).Format("2 Jan 2006 15:04")) {
		t.Errorf("sent line %q", got)
	}
	w = e.do(req{method: "GET", path: "/emails/a1", cookie: ck, htmx: true})
	if byID(parse(t, w.Body.String()), "sent") != nil {
		t.Errorf("an unsent email says it was sent")
	}
}
