package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/api"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// TestDashboardWithStore: over a real database, rejections made through
// the API name their variable (an unknown one is a 400 that stores
// nothing), and the dashboard counts the emails by phase outcome, the
// random sample's rejections and the recurring (reason, variable) pair.
func TestDashboardWithStore(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl, err := os.ReadFile("../../examples/prospectia/template.md")
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.AddClient(ctx, "Prospectia", clientctx.Dir("../../examples/prospectia"))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := st.AddTemplate(ctx, c.ID, "Cold Email V1", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetAutomation(ctx, c.ID, store.Automation{Phase: store.PhaseFull, PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}); err != nil {
		t.Fatal(err)
	}
	key, _, err := st.CreateAPIKey(ctx, c.ID, "n8n")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := st.Upload(ctx, c.ID, tp.ID, strings.NewReader("first_name,email,company_name,website\n"+
		"Camille,camille@voxaly.example,Voxaly,voxaly.example\n"+
		"Bob,bob@ringo.example,Ringo,ringo.example\n"+
		"Ana,ana@calla.example,Calla,calla.example\n"))
	if err != nil || rep.Imported != 3 {
		t.Fatalf("upload %+v %v", rep, err)
	}
	claimed, err := st.ClaimBatch(ctx, rep.BatchID, 3)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	outcomes := []string{"auto_approved", "sampled", "sampled"}
	var ids []string
	for i, cc := range claimed {
		id, _, err := st.Complete(ctx, cc.ID, email.Result{
			Contact: cc.Contact, Subject: "Prospection", Body: "Bonjour " + cc.Contact.FirstName,
			Variables: map[string]email.Variable{
				"first_name":      {Value: cc.Contact.FirstName},
				"competitor_name": {Value: "Aircall", Agent: "competitor", Confidence: 3, FallbackLevel: 3},
			},
			Quality: email.Report{Score: 92, Flags: []email.Flag{}}, Status: email.StatusGenerated,
			Automation: &email.Automation{Outcome: outcomes[i], Reason: "test"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}

	h := api.New(api.Config{Store: api.FromStore(st)})
	do := func(method, path, body string) (int, []byte) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.Bytes()
	}
	code, body := do("POST", "/api/v1/emails/"+ids[1]+"/reject", `{"reason": "wrong_persona", "variable": "target_persona"}`)
	if code != 400 || !strings.Contains(string(body), `\"target_persona\" is not one of the email's variables (competitor_name, first_name)`) {
		t.Errorf("unknown variable: %d %s", code, body)
	}
	for _, id := range ids[1:] {
		code, body := do("POST", "/api/v1/emails/"+id+"/reject", `{"reason": "incorrect_competitor", "variable": "competitor_name"}`)
		if code != 200 || !strings.Contains(string(body), `"status":"rejected"`) {
			t.Fatalf("reject: %d %s", code, body)
		}
	}
	var stored int
	if err := st.Pool().QueryRow(ctx, `select count(*) from review_decisions
		where variable = 'competitor_name' and automation_outcome = 'sampled' and reason = 'incorrect_competitor'`).Scan(&stored); err != nil || stored != 2 {
		t.Errorf("stored decisions with the variable: %d %v, want the 2 rejections (and nothing of the refused one)", stored, err)
	}

	code, body = do("GET", "/api/v1/dashboard", "")
	var d api.Dashboard
	if err := json.Unmarshal(body, &d); code != 200 || err != nil {
		t.Fatalf("dashboard: %d %s", code, body)
	}
	if d.Generated != 3 || d.Rejected != 2 || d.RejectionRate != 1 || d.AutoApproved != 1 || d.Sampled != 2 || d.Automated != 3 ||
		d.SampleDecided != 2 || d.SampleRejected != 2 || d.SampleRejectionRate == nil || *d.SampleRejectionRate != 1 ||
		len(d.RejectionPatterns) != 1 || d.RejectionPatterns[0].Reason != "incorrect_competitor" ||
		d.RejectionPatterns[0].Variable == nil || *d.RejectionPatterns[0].Variable != "competitor_name" || d.RejectionPatterns[0].Count != 2 ||
		d.ReviewSecondsFrom != "default" || d.HoursSaved != 60.0/3600 || !d.AutomationOn {
		t.Errorf("dashboard %s", body)
	}
}
