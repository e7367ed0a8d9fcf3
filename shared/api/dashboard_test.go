package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store"
)

// TestDashboardJSON: GET /api/v1/dashboard asks the store for the key's
// client and period, and answers the review figures and the automation
// ones in snake_case.
func TestDashboardJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := store.Dashboard{Generated: 120, Approved: 20, Edited: 2, Rejected: 3, RejectionRate: 3.0 / 25}
	d.RejectionReasons = map[string]int{"incorrect_competitor": 3}
	d.AutoApproved, d.Held, d.ToReview, d.Sampled, d.Automated = 90, 6, 18, 6, 120
	d.AutoApprovalRate, d.ReviewShare = 0.75, 0.25
	d.SampleDecided, d.SampleRejected, d.SampleRejectionRate = 5, 2, 0.4
	d.RejectionPatterns = []store.RejectionPattern{{Reason: "incorrect_competitor", Variable: "competitor_name", Count: 7}, {Reason: "grammar_issues", Count: 2}}
	d.HoursSaved, d.ReviewSecondsUsed, d.ReviewSecondsFrom, d.AutomationOn = 1.25, 50, store.SecondsFromAllTime, true
	e.st.dash = d
	a := e.do(t, "GET", "/api/v1/dashboard?from=2026-11-01&to=2026-11-30", keyA, nil)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if got := e.st.dashArgs; len(got) != 1 || got[0] != clientA+"|"+clientA+"|2026-11-01|2026-12-01" {
		t.Errorf("store asked %q", got)
	}
	var got map[string]any
	a.decode(t, &got)
	want := map[string]any{
		"client_id": clientA, "from": "2026-11-01", "to": "2026-11-30",
		"generated": 120.0, "decided": 25.0, "rejection_rate": 0.12,
		"auto_approved": 90.0, "held": 6.0, "to_review": 18.0, "sampled": 6.0, "automated": 120.0,
		"auto_approval_rate": 0.75, "review_share": 0.25,
		"sample_decided": 5.0, "sample_rejected": 2.0, "sample_rejection_rate": 0.4,
		"rejection_patterns": []any{
			map[string]any{"reason": "incorrect_competitor", "variable": "competitor_name", "count": 7.0},
			map[string]any{"reason": "grammar_issues", "variable": nil, "count": 2.0},
		},
		"hours_saved": 1.25, "review_seconds_used": 50.0, "review_seconds_from": "all_time", "automation_on": true,
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	// Every field the OpenAPI document requires is there.
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range asList(resolve(doc, "#/components/schemas/Dashboard/required")) {
		if _, ok := got[k.(string)]; !ok {
			t.Errorf("%s is missing from the answer", k)
		}
	}
	if len(got) != len(asList(resolve(doc, "#/components/schemas/Dashboard/required"))) {
		t.Errorf("%d fields, the document requires %d", len(got), len(asList(resolve(doc, "#/components/schemas/Dashboard/required"))))
	}

	// No sampled email decided: the sample's rate is null; no period: open.
	e.st.dash = store.Dashboard{ReviewSecondsUsed: 60, ReviewSecondsFrom: store.SecondsFromDefault}
	got = nil
	e.do(t, "GET", "/api/v1/dashboard", keyA, nil).decode(t, &got)
	for k, w := range map[string]any{"from": nil, "to": nil, "sample_rejection_rate": nil, "review_seconds_from": "default",
		"rejection_patterns": []any{}, "weekly": []any{}, "rejection_reasons": map[string]any{}} {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("empty dashboard: %s = %#v, want %#v", k, g, w)
		}
	}

	for _, q := range []string{"from=2026-13-01", "to=yesterday", "from=2026-11-30&to=2026-11-01"} {
		if a := e.do(t, "GET", "/api/v1/dashboard?"+q, keyA, nil); a.status != 400 || a.errCode() != codeInvalidRequest {
			t.Errorf("%s: %d %s", q, a.status, a.body)
		}
	}
	if a := e.do(t, "GET", "/api/v1/dashboard", "", nil); a.status != 401 {
		t.Errorf("without a key: %d", a.status)
	}
}

// TestRejectVariable: a rejection may name one of the email's variables;
// another one is a 400 naming it, and nothing is decided.
func TestRejectVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		status     int
		variable   string // stored
		message    string // in the error
	}{
		{"known", `{"reason": "wrong_persona", "variable": "target_persona"}`, 200, "target_persona", ""},
		{"none", `{"reason": "wrong_persona"}`, 200, "", ""},
		{"unknown", `{"reason": "incorrect_competitor", "variable": "competitor_name"}`, 400, "", `"variable" "competitor_name" is not one of the email's variables (target_persona)`},
		{"not a name", `{"reason": "other", "details": "x", "variable": "Robert'); drop table"}`, 400, "", `"variable" "Robert'); drop table"`},
		{"not a string", `{"reason": "other", "variable": 3}`, 400, "", "variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			a := e.do(t, "POST", "/api/v1/emails/"+emailOfA+"/reject", keyA, tt.body)
			if a.status != tt.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tt.status)
			}
			if tt.status != 200 {
				if a.errCode() != codeInvalidRequest || !strings.Contains(string(a.body), jsonText(tt.message)) {
					t.Errorf("error %s, want it to say %s", a.body, tt.message)
				}
				if len(e.st.decisions) != 0 || e.st.status(emailOfA) != "pending_review" {
					t.Errorf("a refused rejection was stored: %+v", e.st.decisions)
				}
				return
			}
			if d := e.st.decisions; len(d) != 1 || d[0].Variable != tt.variable || d[0].Reason == "" {
				t.Errorf("decisions %+v, want variable %q", d, tt.variable)
			}
		})
	}
	// Another client's email: 404, whatever the variable.
	e := newEnv(t)
	if a := e.do(t, "POST", "/api/v1/emails/"+emailOfB+"/reject", keyA, `{"reason": "other", "variable": "x"}`); a.status != 404 {
		t.Errorf("another client's email: %d %s", a.status, a.body)
	}
}

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
