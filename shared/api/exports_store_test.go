package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/api"
	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
	"github.com/kaleads/kaleads/shared/sequencer/smartlead"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// TestExportsWithStore: POST /api/v1/exports over a real database and a
// Smartlead stand-in — a dry run says what would go and sends nothing, the
// export sends each approved email once to the client's configured
// campaign, a second call sends nothing, a running export is a 409.
func TestExportsWithStore(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var clientID string
	if err := st.Pool().QueryRow(ctx, `insert into public.clients (client_name) values ('Acme') returning id::text`).Scan(&clientID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.contacts_to_enrich (client_id, email, first_name, company_name, status)
		select $1, 'lead' || i || '@co' || i || '.example', 'P' || i, 'Co ' || i, 'completed' from generate_series(1, 5) i`, clientID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.emails_generated (contact_id, client_id, subject, email_generated, quality_score, review_status)
		select id, client_id, 'Sujet', 'Bonjour', 90, case when email like 'lead5@%' then 'pending_review' else 'approved' end::public.review_status
		from public.contacts_to_enrich`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetExportSettings(ctx, clientID, store.ExportSettings{Destination: "smartlead", CampaignID: "777", CampaignName: "Acme V1"}); err != nil {
		t.Fatal(err)
	}
	key, _, err := st.CreateAPIKey(ctx, clientID, "n8n")
	if err != nil {
		t.Fatal(err)
	}
	fake := &sequencertest.Smartlead{Key: "k"}
	fake.AddCampaign("777")
	sl := httptest.NewServer(fake)
	t.Cleanup(sl.Close)
	c, err := smartlead.New(smartlead.Config{APIKey: "k", BaseURL: sl.URL + "/api/v1"})
	if err != nil {
		t.Fatal(err)
	}
	x, err := export.New(export.Config{Store: st, Sequencers: map[string]export.Sequencer{"smartlead": export.Smartlead{C: c}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: api.FromStore(st), Export: x.RunConfigured}))
	t.Cleanup(srv.Close)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/exports", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	n := func(v any) int {
		if l, ok := v.([]any); ok {
			return len(l)
		}
		f, _ := v.(float64)
		return int(f)
	}

	code, out := post(`{"dry_run": true}`)
	if code != 200 || out["dry_run"] != true || n(out["sent"]) != 4 || n(out["waiting_review"]) != 1 || out["campaign_id"] != "777" {
		t.Fatalf("dry run: %d %v", code, out)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("the dry run made %d requests", len(fake.Requests()))
	}
	code, out = post(`{"destination": "csv"}`)
	if code != 400 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "csv files come from the CLI") {
		t.Errorf("csv: %d %v", code, out)
	}
	code, out = post(`{"campain_id": "1"}`)
	if code != 400 {
		t.Errorf("unknown field: %d %v", code, out)
	}

	code, out = post(``)
	if code != 200 || n(out["sent"]) != 4 || out["campaign_name"] != "Acme V1" {
		t.Fatalf("export: %d %v", code, out)
	}
	inserted, _ := fake.Leads("777")
	if len(inserted) != 4 {
		t.Errorf("campaign holds %d leads, want 4", len(inserted))
	}
	// The email shows where it went.
	id := out["sent"].([]any)[0].(map[string]any)["email_id"].(string)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/emails/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var detail map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&detail)
	resp.Body.Close()
	if detail["status"] != "sent" || detail["campaign_id"] != "777" || detail["campaign_name"] != "Acme V1" ||
		detail["sequencer_lead_id"] == nil || detail["sent_at"] == nil {
		t.Errorf("email after the export: %v", detail)
	}
	code, out = post(`{}`)
	if code != 200 || n(out["sent"]) != 0 {
		t.Errorf("second export: %d %v", code, out)
	}

	unlock, err := st.LockExport(ctx, clientID, false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, out = post(`{}`)
	if code != 409 || out["error"].(map[string]any)["code"] != "export_running" {
		t.Errorf("while another export runs: %d %v", code, out)
	}
}
