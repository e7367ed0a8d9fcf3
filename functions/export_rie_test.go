package functions_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/functions/internal/exportfn"
	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
	"github.com/kaleads/kaleads/shared/store"
)

// TestExportUnderEmulator runs the export binary under the Runtime
// Interface Emulator with the events EventBridge Scheduler sends: the
// daily run puts the client's approved emails into its (fake) Smartlead
// campaign exactly once and marks them sent; a second run sends nothing;
// the "at once" pass leaves a client in the shadow phase alone, and takes
// it once it is in the full phase; an unknown mode is a function error.
func TestExportUnderEmulator(t *testing.T) {
	t.Parallel()
	ctx, dbURL, st, client, _ := exampleDB(t)
	const apiKey = "sl-smoke-test-key"
	const campaignName = "Prospectia – Cold V1"
	approved := []string{"camille.rousseau@voxaly.example", "hugo.lambert@brevia.example", "lea.fontaine@ortalis.example"}
	const pendingAddr = "nina.garnier@quartzia.example"
	for _, a := range approved {
		exportAddEmail(t, ctx, st, client.ID, a, "approved", "auto_approved")
	}
	pendingID := exportAddEmail(t, ctx, st, client.ID, pendingAddr, "pending_review", "")
	// AtOnce on: the shadow phase alone keeps the "at once" pass away.
	if err := st.SetExportSettings(ctx, client.ID, store.ExportSettings{Destination: store.DestSmartlead, CampaignID: "777",
		CampaignName: campaignName, DomainDailyCap: 3, AtOnce: true}); err != nil {
		t.Fatal(err)
	}

	fake := &sequencertest.Smartlead{Key: apiKey}
	fake.AddCampaign("777")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	emu := startEmulator(t, buildFunction(t, "export"), map[string]string{
		"DATABASE_URL":          dbURL,
		"SMARTLEAD_API_KEY":     apiKey,
		"SMARTLEAD_BASE_URL":    srv.URL + "/api/v1",
		"AWS_REGION":            "eu-west-3",
		"AWS_ACCESS_KEY_ID":     "AKIDSMOKETEST",
		"AWS_SECRET_ACCESS_KEY": "smoke-test-secret-key",
	})
	// exampleDB's ctx ran while the binaries were built: a fresh one for
	// the checks.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// What EventBridge Scheduler sends: the schedule's Input, as is.
	daily := json.RawMessage(`{"mode": "daily"}`)
	start := time.Now()
	var res exportfn.Result
	emu.invoke(t, daily, &res)
	firstInvoke := time.Since(start)
	if res.Mode != "daily" || len(res.Clients) != 1 {
		t.Fatalf("result %+v, want mode daily and one client\n%s", res, emu.out.String())
	}
	if o := res.Clients[0]; o.Client != client.Name || o.Destination != store.DestSmartlead || o.Campaign != "777" ||
		o.Sent != 3 || o.Held != 0 || o.Refused != 0 || o.Unconfirmed != 0 || o.Error != "" {
		t.Fatalf("outcome %+v, want 3 sent to smartlead 777\n%s", o, emu.out.String())
	}

	inserted, submitted := fake.Leads("777")
	if len(inserted) != len(approved) {
		t.Errorf("campaign holds %v, want %v", inserted, approved)
	}
	for _, a := range approved {
		if inserted[a] != 1 || submitted[a] != 1 {
			t.Errorf("%s: inserted %d, submitted %d times; want once", a, inserted[a], submitted[a])
		}
	}
	if inserted[pendingAddr] != 0 {
		t.Errorf("the email waiting for review went to the campaign")
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `select count(*) from public.emails_generated e
		join public.contacts_to_enrich c on c.id = e.contact_id
		where e.client_id = $1 and lower(c.email) = any($2) and e.review_status = 'sent' and e.campaign_id = '777'
			and e.campaign_name = $3 and e.sequencer_lead_id is not null and e.sent_at is not null`,
		client.ID, approved, campaignName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(approved) {
		t.Errorf("%d emails marked sent to campaign 777 (%s) with a lead id and sent_at, want %d", n, campaignName, len(approved))
	}
	var status string
	var sentAt *time.Time
	var camp *string
	if err := st.Pool().QueryRow(ctx, `select review_status::text, sent_at, campaign_id from public.emails_generated where id = $1`,
		pendingID).Scan(&status, &sentAt, &camp); err != nil {
		t.Fatal(err)
	}
	if status != "pending_review" || sentAt != nil || camp != nil {
		t.Errorf("the email waiting for review: %s, sent_at %v, campaign %v", status, sentAt, camp)
	}
	if err := st.Pool().QueryRow(ctx, `select count(*) from public.exports where client_id = $1 and status = 'sent'
		and destination = 'smartlead' and campaign_id = '777' and external_id is not null`, client.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := st.Pool().QueryRow(ctx, `select count(*) from public.exports where client_id = $1`, client.ID).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if n != len(approved) || total != len(approved) {
		t.Errorf("ledger: %d rows sent of %d, want %d of %d", n, total, len(approved), len(approved))
	}
	if !exportLogged(emu, func(l map[string]any) bool { return l["client"] == client.Name && l["sent"] == float64(3) }) {
		t.Errorf("no \"export done\" log line with client %s and sent 3:\n%s", client.Name, emu.out.String())
	}

	// The scheduler retries, or the next day comes: nothing goes twice.
	before := exportAddLeadsRequests(fake)
	emu.invoke(t, daily, &res)
	if res.Mode != "daily" || len(res.Clients) != 1 || res.Clients[0].Sent != 0 || res.Clients[0].Error != "" {
		t.Fatalf("second daily run: %+v, want one client with 0 sent", res)
	}
	if after := exportAddLeadsRequests(fake); after != before {
		t.Errorf("second daily run: %d add-leads requests, want none", after-before)
	}
	if inserted, _ := fake.Leads("777"); len(inserted) != len(approved) {
		t.Errorf("campaign holds %v after the second run", inserted)
	}

	// The "at once" pass: a client in the shadow phase is not taken.
	atOnce := json.RawMessage(`{"mode": "at_once"}`)
	exportAddEmail(t, ctx, st, client.ID, "theo.mercier@lumenor.example", "approved", "auto_approved")
	emu.invoke(t, atOnce, &res)
	if res.Mode != "at_once" || len(res.Clients) != 0 {
		t.Fatalf("at_once in the shadow phase: %+v, want no client", res)
	}
	if inserted, _ := fake.Leads("777"); len(inserted) != len(approved) {
		t.Errorf("at_once in the shadow phase sent: %v", inserted)
	}
	// In the full phase it is: its new auto-approved email goes.
	if err := st.SetAutomation(ctx, client.ID, store.Automation{Phase: store.PhaseFull, PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}); err != nil {
		t.Fatal(err)
	}
	emu.invoke(t, atOnce, &res)
	if res.Mode != "at_once" || len(res.Clients) != 1 || res.Clients[0].Sent != 1 || res.Clients[0].Error != "" {
		t.Fatalf("at_once in the full phase: %+v, want one client with 1 sent\n%s", res, emu.out.String())
	}
	if inserted, _ := fake.Leads("777"); len(inserted) != len(approved)+1 || inserted["theo.mercier@lumenor.example"] != 1 {
		t.Errorf("at_once in the full phase: campaign holds %v", inserted)
	}

	// A mode no schedule sends is the function's error, naming it.
	fe := invokeError(t, emu, json.RawMessage(`{"mode": "weekly"}`))
	if !strings.Contains(fe.ErrorMessage, `"weekly"`) {
		t.Errorf("weekly: error %+v, want it to name the mode", fe)
	}

	t.Logf("export: init %v (emulator's Init Duration), first invoke answered in %v, emulator start to answer %v",
		emu.initDuration(t), firstInvoke, time.Since(emu.started))
}

// exportAddEmail adds a completed contact with the address and its
// generated email in the given review status; it returns the email's id.
func exportAddEmail(t *testing.T, ctx context.Context, st *store.Store, clientID, addr, status, outcome string) string {
	t.Helper()
	first, rest, _ := strings.Cut(addr, ".")
	last, domain, _ := strings.Cut(rest, "@")
	company, _, _ := strings.Cut(domain, ".")
	var contactID, emailID string
	if err := st.Pool().QueryRow(ctx, `insert into public.contacts_to_enrich (client_id, email, first_name, last_name, company_name, website, status)
		values ($1, $2, $3, $4, $5, $6, 'completed') returning id::text`,
		clientID, addr, first, last, company, "https://"+domain).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool().QueryRow(ctx, `insert into public.emails_generated (contact_id, client_id, subject, email_generated, quality_score,
			review_status, automation_outcome)
		values ($1, $2, $3, $4, 92, $5::text::public.review_status, nullif($6, '')) returning id::text`,
		contactID, clientID, "Question pour "+company, "Bonjour "+first+",\n\nUne question rapide sur la R&D chez "+company+".",
		status, outcome).Scan(&emailID); err != nil {
		t.Fatal(err)
	}
	return emailID
}

// exportLogged waits a little for an "export done" log line matching ok
// (the emulator copies the function's output as it comes).
func exportLogged(emu *emulator, ok func(map[string]any) bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range emu.logLines("export done") {
			if ok(l) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exportAddLeadsRequests counts the add-leads calls (POST .../leads) the
// fake Smartlead received.
func exportAddLeadsRequests(fake *sequencertest.Smartlead) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/leads") {
			n++
		}
	}
	return n
}

// invokeError sends one event and returns the function error it must
// answer with (emu.invoke fails the test on one).
func invokeError(t *testing.T, emu *emulator, event any) fnError {
	t.Helper()
	status, body := emu.call(t, event)
	var fe fnError
	if err := json.Unmarshal(body, &fe); err != nil || fe.ErrorType == "" || fe.ErrorMessage == "" {
		t.Fatalf("invoke: HTTP %d %s, want a function error", status, body)
	}
	return fe
}
