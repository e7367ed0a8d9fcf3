package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/sequencer/instantly"
	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
	"github.com/kaleads/kaleads/shared/sequencer/smartlead"
	"github.com/kaleads/kaleads/shared/storage/storagetest"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const key = "sl-secret-key-123"

// seed adds a client and n approved emails: lead<i>@<domain(i)>.
func seed(t testing.TB, st *store.Store, name string, n int, domain func(i int) string) string {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := st.Pool().QueryRow(ctx, `insert into public.clients (client_name) values ($1) returning id::text`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	addEmails(t, st, id, 0, n, domain, "approved", "auto_approved")
	return id
}

func addEmails(t testing.TB, st *store.Store, clientID string, from, n int, domain func(i int) string, status, outcome string) {
	t.Helper()
	ctx := context.Background()
	b := &strings.Builder{}
	args := []any{clientID}
	for i := from; i < from+n; i++ {
		if b.Len() > 0 {
			b.WriteString(",")
		}
		args = append(args, fmt.Sprintf("lead%d@%s", i, domain(i)), fmt.Sprintf("Prénom%d", i))
		fmt.Fprintf(b, "($1, $%d, $%d, 'Nom', 'Société %d', 'https://%s', 'completed')", len(args)-1, len(args), i, domain(i))
		if len(args) > 60000 {
			t.Fatal("too many rows for one statement")
		}
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.contacts_to_enrich (client_id, email, first_name, last_name, company_name, website, status)
		values `+b.String(), args...); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.emails_generated (contact_id, client_id, subject, email_generated, quality_score,
			review_status, automation_outcome)
		select c.id, c.client_id, 'Question pour ' || c.company_name, 'Bonjour ' || c.first_name || E',\n\nR&D <chez> vous ?', 92,
			$2::text::public.review_status, nullif($3, '')
		from public.contacts_to_enrich c left join public.emails_generated e on e.contact_id = c.id
		where c.client_id = $1 and e.id is null`, clientID, status, outcome); err != nil {
		t.Fatal(err)
	}
}

func count(t testing.TB, st *store.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func uniqueDomain(i int) string { return fmt.Sprintf("co%d.example", i) }

type smartleadFixture struct {
	fake  *sequencertest.Smartlead
	clock *sequencertest.FakeClock
	seq   export.Smartlead
}

func newSmartlead(t testing.TB, transport http.RoundTripper) *smartleadFixture {
	t.Helper()
	clock := sequencertest.NewFakeClock()
	fake := &sequencertest.Smartlead{Key: key, Clock: clock}
	fake.AddCampaign("777")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	hc := &http.Client{Timeout: 10 * time.Second}
	if transport != nil {
		hc.Transport = transport
	}
	c, err := smartlead.New(smartlead.Config{APIKey: key, BaseURL: srv.URL + "/api/v1", Clock: clock, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return &smartleadFixture{fake: fake, clock: clock, seq: export.Smartlead{C: c}}
}

func newExporter(t testing.TB, st *store.Store, seqs map[string]export.Sequencer, files export.Sink) *export.Exporter {
	t.Helper()
	x, err := export.New(export.Config{Store: st, Sequencers: seqs, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// checkExactlyOnce: every approved email of the client is in the campaign
// exactly once and marked sent with its lead id; nothing else is.
func checkExactlyOnce(t *testing.T, st *store.Store, clientID string, inserted map[string]int, want int) {
	t.Helper()
	checkExactlyOnceIn(t, st, clientID, "777", inserted, want)
}

func checkExactlyOnceIn(t *testing.T, st *store.Store, clientID, campaign string, inserted map[string]int, want int) {
	t.Helper()
	dup := 0
	for _, n := range inserted {
		if n > 1 {
			dup++
		}
	}
	if dup > 0 {
		t.Errorf("%d addresses inserted more than once", dup)
	}
	if len(inserted) != want {
		t.Errorf("campaign holds %d addresses, want %d", len(inserted), want)
	}
	if n := count(t, st, `select count(*) from public.emails_generated where client_id = $1 and review_status = 'sent'
		and sent_at is not null and campaign_id = $2 and sequencer_lead_id is not null`, clientID, campaign); n != want {
		t.Errorf("%d emails marked sent with campaign and lead id, want %d", n, want)
	}
	if n := count(t, st, `select count(*) from public.exports where client_id = $1 and status = 'sent' and external_id is not null`, clientID); n != want {
		t.Errorf("%d ledger rows sent, want %d", n, want)
	}
	rows, err := st.Pool().Query(context.Background(), `select lower(c.email) from public.emails_generated e
		join public.contacts_to_enrich c on c.id = e.contact_id where e.client_id = $1 and e.review_status = 'sent'`, clientID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		if inserted[a] != 1 {
			t.Errorf("%s marked sent but inserted %d times", a, inserted[a])
		}
	}
}

func TestSmartleadExport(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 250, uniqueDomain)
	// One address the sequencer refuses, two excluded, one still in review.
	if _, err := st.Pool().Exec(ctx, `update public.contacts_to_enrich set email = 'bad@nowhere.invalid' where email = 'lead7@co7.example'`); err != nil {
		t.Fatal(err)
	}
	addEmails(t, st, clientID, 250, 1, uniqueDomain, "pending_review", "held")
	if _, err := st.AddExclusions(ctx, clientID, []store.Exclusion{{Kind: "domain", Value: "co3.example", Note: "customer"}, {Kind: "email", Value: "lead4@co4.example"}}); err != nil {
		t.Fatal(err)
	}
	f := newSmartlead(t, nil)
	x := newExporter(t, st, map[string]export.Sequencer{"smartlead": f.seq}, nil)
	req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: "smartlead", CampaignID: "777", CampaignName: "Acme – Cold V1"}

	// The dry run says what would go and changes nothing.
	dry := req
	dry.DryRun = true
	rep, err := x.Run(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 248 || len(rep.Held) != 2 || rep.WaitingReview != 1 {
		t.Fatalf("dry run: %d to send, %d held, %d waiting; want 248, 2, 1: %+v", len(rep.Sent), len(rep.Held), rep.WaitingReview, rep.Held)
	}
	if got := rep.HeldReasons(); got["excluded"] != 2 {
		t.Errorf("held reasons %v", got)
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("dry run made %d requests", n)
	}
	if n := count(t, st, `select count(*) from public.exports`); n != 0 {
		t.Errorf("dry run wrote %d ledger rows", n)
	}

	rep, err = x.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 247 || len(rep.Refused) != 1 || !strings.Contains(rep.Refused[0].Reason, "invalid") {
		t.Fatalf("sent %d refused %+v; want 247 and the invalid address", len(rep.Sent), rep.Refused)
	}
	inserted, _ := f.fake.Leads("777")
	checkExactlyOnce(t, st, clientID, inserted, 247)
	if n := count(t, st, `select count(*) from public.exports where status = 'failed' and last_error like 'invalid%'`); n != 1 {
		t.Errorf("%d failed ledger rows, want the invalid address", n)
	}
	// Requests: 3 batches of at most 100, one listing; each add carries the
	// day-1 copy as custom fields and every block list respected.
	var adds, lists int
	for _, r := range f.fake.Requests() {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/leads"):
			adds++
			list := r.Body["lead_list"].([]any)
			if len(list) > 100 {
				t.Errorf("batch of %d leads", len(list))
			}
			l := list[0].(map[string]any)
			cf := l["custom_fields"].(map[string]any)
			if !strings.HasPrefix(cf["subject"].(string), "Question pour Société") || cf["email_body"] == nil ||
				!strings.Contains(cf["email_body"].(string), "<br><br>R&amp;D &lt;chez&gt; vous ?") {
				t.Errorf("custom fields %v", cf)
			}
			if l["company_name"] == nil || l["first_name"] == nil {
				t.Errorf("lead %v", l)
			}
			s := r.Body["settings"].(map[string]any)
			if s["ignore_unsubscribe_list"] != false || s["ignore_global_block_list"] != false {
				t.Errorf("settings %v", s)
			}
		case r.Method == http.MethodGet:
			lists++
		}
	}
	if adds != 3 || lists != 1 {
		t.Errorf("%d add-leads and %d listing requests, want 3 and 1", adds, lists)
	}

	// The next run sends nothing again.
	before := len(f.fake.Requests())
	rep, err = x.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 0 || len(f.fake.Requests()) != before {
		t.Errorf("second run sent %d, made %d requests", len(rep.Sent), len(f.fake.Requests())-before)
	}
	// The refused one is held with the reason, not retried.
	found := false
	for _, h := range rep.Held {
		found = found || strings.Contains(h.Reason, "refused by the destination earlier: invalid")
	}
	if !found {
		t.Errorf("held %+v: the refused address is not reported", rep.Held)
	}
}

// crashing wraps a sequencer: the adds go through, but the run "crashes"
// (an error as if the process died) before it could confirm.
type crashing struct {
	export.Sequencer
	crashAfterAdd atomic.Bool
	listings      atomic.Int32
}

func (c *crashing) AddLeads(ctx context.Context, id string, leads []sequencer.Lead) (export.Added, error) {
	a, err := c.Sequencer.AddLeads(ctx, id, leads)
	if err == nil && c.crashAfterAdd.Load() {
		// The answer is lost: nothing of it reaches the exporter.
		return export.Added{Requests: a.Requests}, &sequencer.Error{Provider: "fake", Op: "add leads", Message: "timeout", Retryable: true, UnknownOutcome: true}
	}
	return a, err
}

func (c *crashing) CampaignLeads(ctx context.Context, id string) (map[string]string, int, error) {
	c.listings.Add(1)
	if c.crashAfterAdd.Load() {
		return nil, 0, errors.New("process killed")
	}
	return c.Sequencer.CampaignLeads(ctx, id)
}

func TestUnconfirmedSendIsReconciledWithoutASecondSend(t *testing.T) {
	t.Parallel()
	type fake interface {
		Leads(string) (map[string]int, map[string]int)
	}
	for _, tc := range []struct {
		dest, campaign string
		make           func(t *testing.T) (export.Sequencer, fake)
	}{
		{"smartlead", "777", func(t *testing.T) (export.Sequencer, fake) {
			f := newSmartlead(t, nil)
			return f.seq, f.fake
		}},
		{"instantly", "c0000000-0000-4000-8000-000000000777", func(t *testing.T) (export.Sequencer, fake) {
			f := &sequencertest.Instantly{Key: "inst-key"}
			f.AddCampaign("c0000000-0000-4000-8000-000000000777")
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			c, err := instantly.New(instantly.Config{APIKey: "inst-key", BaseURL: srv.URL, BatchSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			return export.Instantly{C: c}, f
		}},
	} {
		t.Run(tc.dest, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t)
			ctx := context.Background()
			clientID := seed(t, st, "Acme", 150, uniqueDomain)
			seq, f := tc.make(t)
			cr := &crashing{Sequencer: seq}
			cr.crashAfterAdd.Store(true)
			x := newExporter(t, st, map[string]export.Sequencer{tc.dest: cr}, nil)
			req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: tc.dest, CampaignID: tc.campaign}
			rep, err := x.Run(ctx, req)
			if err == nil || !sequencer.IsUnknownOutcome(err) {
				t.Fatalf("first run: %v, want the unknown outcome", err)
			}
			if len(rep.Sent) != 0 || len(rep.Unconfirmed) != 100 {
				t.Fatalf("first run: %d sent, %d unconfirmed; want 0 and the first batch", len(rep.Sent), len(rep.Unconfirmed))
			}
			if n := count(t, st, `select count(*) from public.exports where status = 'pending'`); n != 100 {
				t.Fatalf("%d pending ledger rows, want 100", n)
			}
			if n := count(t, st, `select count(*) from public.emails_generated where review_status = 'sent'`); n != 0 {
				t.Fatalf("%d emails marked sent before any confirmation", n)
			}

			cr.crashAfterAdd.Store(false)
			rep, err = x.Run(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Reconciled != 100 || len(rep.Sent) != 50 {
				t.Errorf("second run: %d reconciled, %d sent; want 100 and 50", rep.Reconciled, len(rep.Sent))
			}
			inserted, submitted := f.Leads(tc.campaign)
			checkExactlyOnceIn(t, st, clientID, tc.campaign, inserted, 150)
			for a, n := range submitted {
				if n != 1 {
					t.Errorf("%s submitted %d times: the reconcile sent it again", a, n)
				}
			}
		})
	}
}

func TestFaultsEndWithEveryEmailOnce(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 1000, uniqueDomain)
	var adds atomic.Int32
	// The 3rd add-leads call is accepted, then times out on the client.
	tr := sequencertest.AcceptThenTimeout{Fail: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/leads") && adds.Add(1) == 3
	}}
	f := newSmartlead(t, tr)
	var n500 atomic.Int32
	f.fake.Fault = func(n int, r *http.Request) sequencertest.Fault {
		switch {
		case n >= 10 && n < 14: // a 429 storm
			return sequencertest.Fault{Status: 429, Header: map[string]string{"Retry-After": "7"}, Body: `{"error":"rate limited"}`}
		case r.Method == http.MethodPost && n > 13 && n500.Add(1) == 1: // a 500 mid-batch, applied by the backend
			return sequencertest.Fault{Status: 500, Body: `{"error":"upstream"}`, Apply: true}
		}
		return sequencertest.Fault{}
	}
	x := newExporter(t, st, map[string]export.Sequencer{"smartlead": f.seq}, nil)
	rep, err := x.Run(ctx, export.Request{ClientID: clientID, ClientName: "Acme", Destination: "smartlead", CampaignID: "777"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 1000 {
		t.Errorf("sent %d, want 1000", len(rep.Sent))
	}
	inserted, _ := f.fake.Leads("777")
	checkExactlyOnce(t, st, clientID, inserted, 1000)
	status := map[int]int{}
	for _, r := range f.fake.Requests() {
		status[r.Status]++
	}
	if status[429] < 4 || status[500] != 1 || adds.Load() < 3 {
		t.Errorf("answers %v, %d add calls: the faults did not all happen", status, adds.Load())
	}
	_, submitted := f.fake.Leads("777")
	resent := 0
	for _, n := range submitted {
		resent += n - 1
	}
	// The two batches whose answer was lost were sent again (the dedupe
	// counted them as already added); nothing else was.
	if resent != 200 {
		t.Errorf("%d leads submitted again, want the 2 batches with a lost answer (200)", resent)
	}
	t.Logf("answers %v, %d requests, %d resubmitted, fake time %v", status, rep.Requests, resent, f.clock.Slept())
}

func TestLockOneExportPerClient(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 3, uniqueDomain)
	unlock, err := st.LockExport(ctx, clientID, false)
	if err != nil {
		t.Fatal(err)
	}
	f := newSmartlead(t, nil)
	x := newExporter(t, st, map[string]export.Sequencer{"smartlead": f.seq}, nil)
	req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: "smartlead", CampaignID: "777"}
	if _, err := x.Run(ctx, req); !errors.Is(err, export.ErrBusy) {
		t.Fatalf("run while locked: %v, want ErrBusy", err)
	}
	done := make(chan error, 1)
	req.Wait = true
	go func() {
		_, err := x.Run(ctx, req)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a waiting export ran while the lock was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `select count(*) from public.emails_generated where review_status = 'sent'`); n != 3 {
		t.Errorf("%d sent after the wait, want 3", n)
	}
}

func TestDomainCapAcrossRuns(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 10, func(i int) string { return "same.example" })
	f := newSmartlead(t, nil)
	x := newExporter(t, st, map[string]export.Sequencer{"smartlead": f.seq}, nil)
	req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: "smartlead", CampaignID: "777"}
	rep, err := x.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 3 || len(rep.Held) != 7 || !strings.Contains(rep.Held[0].Reason, "domain daily cap (3) reached for same.example") {
		t.Fatalf("first run sent %d, held %+v", len(rep.Sent), rep.Held)
	}
	rep, err = x.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 0 {
		t.Errorf("second run the same day sent %d past the cap", len(rep.Sent))
	}
}

func TestInstantlyExport(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 30, uniqueDomain)
	fake := &sequencertest.Instantly{Key: "inst-key"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := instantly.New(instantly.Config{APIKey: "inst-key", BaseURL: srv.URL, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	x := newExporter(t, st, map[string]export.Sequencer{"instantly": export.Instantly{C: c}}, nil)
	rep, err := x.Run(ctx, export.Request{ClientID: clientID, ClientName: "Acme", Destination: "instantly", CreateCampaign: "Acme – Cold V1"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Created || rep.CampaignID == "" || len(rep.Sent) != 30 {
		t.Fatalf("report %+v", rep)
	}
	reqs := fake.Requests()
	if reqs[0].Path != "/api/v2/campaigns" {
		t.Fatalf("first request %s", reqs[0].Path)
	}
	steps := reqs[0].Body["sequences"].([]any)[0].(map[string]any)["steps"].([]any)
	if len(steps) != 4 {
		t.Errorf("campaign has %d steps, want the plan's 4 (days 1, 4, 7, 14)", len(steps))
	}
	for _, r := range reqs[1:] {
		if r.Path == "/api/v2/leads/list" {
			t.Errorf("listing requested although every lead came back with its id")
		}
		if r.Path == "/api/v2/leads/add" && r.Body["skip_if_in_campaign"] != true {
			t.Errorf("add without skip_if_in_campaign")
		}
	}
	if n := count(t, st, `select count(*) from public.emails_generated where review_status = 'sent' and campaign_id = $1
		and campaign_name = 'Acme – Cold V1' and sequencer_lead_id like '00000000-%'`, rep.CampaignID); n != 30 {
		t.Errorf("%d emails sent with the campaign and lead ids, want 30", n)
	}
	// The created campaign became the client's.
	s, err := st.ExportSettings(ctx, clientID)
	if err != nil || s.Destination != "instantly" || s.CampaignID != rep.CampaignID {
		t.Errorf("settings %+v, %v", s, err)
	}
}

func TestCSVExport(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 5, uniqueDomain)
	if _, err := st.Pool().Exec(ctx, `update public.emails_generated set subject_final = '=HYPERLINK("x")' where id =
		(select id from public.emails_generated order by created_at, id limit 1)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	x := newExporter(t, st, nil, nil)
	out := filepath.Join(dir, "approved.csv")
	rep, err := x.Run(ctx, export.Request{ClientID: clientID, ClientName: "Acme", Destination: "csv", Format: "lemlist", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\ufeffemail,firstName,lastName,companyName,companyDomain,subject,email_body\n")) {
		t.Errorf("header: %q", b[:min(len(b), 120)])
	}
	if !bytes.Contains(b, []byte(`"'=HYPERLINK(""x"")"`)) || bytes.Contains(b, []byte("<br>")) {
		t.Errorf("formula not neutralised, or HTML in a file: %s", b)
	}
	if len(rep.Sent) != 5 || rep.Location != out {
		t.Errorf("report %+v", rep)
	}
	if n := count(t, st, `select count(*) from public.emails_generated where review_status = 'sent' and campaign_name = 'approved.csv'`); n != 5 {
		t.Errorf("%d emails marked sent", n)
	}
	// Again: nothing new, no file overwritten.
	rep, err = x.Run(ctx, export.Request{ClientID: clientID, ClientName: "Acme", Destination: "csv", Format: "lemlist", Out: filepath.Join(dir, "again.csv")})
	if err != nil || len(rep.Sent) != 0 {
		t.Fatalf("second run sent %d: %v", len(rep.Sent), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "again.csv")); !os.IsNotExist(err) {
		t.Errorf("an empty export wrote a file")
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	clientID := seed(t, st, "Acme", 1, uniqueDomain)
	f := newSmartlead(t, nil)
	x := newExporter(t, st, map[string]export.Sequencer{"smartlead": f.seq}, nil)
	for _, tt := range []struct {
		req  export.Request
		want string
	}{
		{export.Request{Destination: "mailchimp"}, `destination "mailchimp"`},
		{export.Request{Destination: "instantly", CampaignID: "x"}, "no instantly client configured (set INSTANTLY_API_KEY)"},
		{export.Request{Destination: "smartlead"}, "needs a campaign id"},
		{export.Request{Destination: "smartlead", CampaignID: "1", CreateCampaign: "x"}, "not both"},
		{export.Request{Destination: "csv", Format: "excel", Out: "x.csv"}, `csv format "excel"`},
		{export.Request{Destination: "smartlead", CampaignID: "abc"}, `smartlead campaign id "abc" is not a positive number`},
	} {
		tt.req.ClientID, tt.req.ClientName = clientID, "Acme"
		_, err := x.Run(context.Background(), tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.req, err, tt.want)
		}
	}
	if n := count(t, st, `select count(*) from public.exports`); n != 0 {
		t.Errorf("bad requests wrote %d ledger rows", n)
	}
}

// cancelAfter cancels the run's context once n add-leads calls have been
// accepted: the process "dies" between the sequencer's acceptance and the
// confirmation.
type cancelAfter struct {
	export.Sequencer
	n      int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelAfter) AddLeads(ctx context.Context, id string, leads []sequencer.Lead) (export.Added, error) {
	a, err := c.Sequencer.AddLeads(ctx, id, leads)
	if c.calls.Add(1) == c.n {
		c.cancel()
		return a, context.Canceled
	}
	return a, err
}

// BenchmarkExport5000Smartlead is the figure: 5,000 approved
// emails to a Smartlead stand-in enforcing its documented limit (60
// requests a minute per key, 429 with Retry-After past it), under injected
// faults — a 429 storm, a 500 after the backend applied the batch, an
// answer lost after the server accepted, and the process killed once
// mid-export (the second run reconciles) — on the fake clock, so the
// reported wall time is what the real API's limit would cost. It asserts
// zero duplicates and zero lost emails.
func BenchmarkExport5000Smartlead(b *testing.B) {
	b.Run("clean", func(b *testing.B) { benchExport(b, false) })
	b.Run("faults", func(b *testing.B) { benchExport(b, true) })
}

func benchExport(b *testing.B, faults bool) {
	for range b.N {
		st := storetest.Open(b)
		ctx := context.Background()
		clientID := seed(b, st, "Acme", 5000, uniqueDomain)
		var adds atomic.Int32
		tr := sequencertest.AcceptThenTimeout{Fail: func(r *http.Request) bool {
			return faults && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/leads") && adds.Add(1) == 7
		}}
		f := newSmartlead(b, tr)
		var n500 atomic.Int32
		f.fake.Fault = func(n int, r *http.Request) sequencertest.Fault {
			if !faults {
				return sequencertest.Fault{}
			}
			switch {
			case n >= 30 && n < 35:
				return sequencertest.Fault{Status: 429, Header: map[string]string{"Retry-After": "10"}, Body: `{"error":"storm"}`}
			case r.Method == http.MethodPost && n > 40 && n500.Add(1) == 1:
				return sequencertest.Fault{Status: 500, Body: `{"error":"upstream"}`, Apply: true}
			}
			return sequencertest.Fault{}
		}
		start := time.Now()
		req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: "smartlead", CampaignID: "777", DomainDailyCap: 10}
		var rep1 export.Report
		if faults {
			x1ctx, cancel := context.WithCancel(ctx)
			killed := &cancelAfter{Sequencer: f.seq, n: 20, cancel: cancel}
			x := newExporter(b, st, map[string]export.Sequencer{"smartlead": killed}, nil)
			var err error
			if rep1, err = x.Run(x1ctx, req); err == nil {
				b.Fatal("the killed run reported no error")
			}
		}
		x := newExporter(b, st, map[string]export.Sequencer{"smartlead": f.seq}, nil)
		rep2, err := x.Run(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		real := time.Since(start)
		inserted, submitted := f.fake.Leads("777")
		dup, lost, resent := 0, 0, 0
		for _, n := range inserted {
			dup += n - 1
		}
		for _, n := range submitted {
			resent += n - 1
		}
		sent := count(b, st, `select count(*) from public.emails_generated where client_id = $1 and review_status = 'sent' and sequencer_lead_id is not null`, clientID)
		lost = 5000 - sent
		if dup != 0 || lost != 0 || len(inserted) != 5000 {
			b.Fatalf("duplicates %d, lost %d, campaign holds %d", dup, lost, len(inserted))
		}
		reqs := f.fake.Requests()
		status := map[int]int{}
		for _, r := range reqs {
			status[r.Status]++
		}
		sim := f.clock.Slept()
		// The documented limit's bound: the requests that succeeded, at 60 a
		// minute (the first one free).
		bound := time.Duration(float64(status[200]-1) / 60 * float64(time.Minute))
		b.ReportMetric(sim.Seconds(), "sim_wall_s")
		b.ReportMetric(bound.Seconds(), "bound_s")
		b.ReportMetric(float64(len(reqs)), "requests")
		b.ReportMetric(float64(dup), "duplicates")
		b.ReportMetric(float64(lost), "lost")
		b.ReportMetric(float64(resent), "resubmitted")
		b.ReportMetric(real.Seconds(), "real_s")
		b.Logf("faults %v: run 1 (killed after 20 accepted batches): %d confirmed, %d unconfirmed; run 2: %d reconciled, %d sent; answers %v; fake time %v vs bound %v at 60/min; real %v",
			faults, len(rep1.Sent), len(rep1.Unconfirmed), rep2.Reconciled, len(rep2.Sent), status, sim.Round(time.Second), bound.Round(time.Second), real.Round(time.Millisecond))
	}
}

type failingSink struct{}

func (failingSink) Location(name string) string { return "/nowhere/" + name }
func (failingSink) Put(context.Context, string, []byte) error {
	return errors.New("disk full")
}
func (failingSink) Exists(context.Context, string) (bool, error) { return false, nil }

// A file that could not be written leaves the emails to export; an
// unconfirmed file export whose file exists is confirmed, not written again.
func TestCSVExportRecovers(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 4, uniqueDomain)
	req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: "csv", Format: "smartlead"}
	if _, err := newExporter(t, st, nil, failingSink{}).Run(ctx, req); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("failing sink: %v", err)
	}
	if n := count(t, st, `select count(*) from public.exports`); n != 0 {
		t.Fatalf("%d ledger rows left by a file never written", n)
	}
	// An earlier run recorded email 1's intent and wrote its file, then died.
	dir := t.TempDir()
	old := filepath.Join(dir, "earlier.csv")
	os.WriteFile(old, []byte("email\nlead0@co0.example\n"), 0o644)
	if _, err := st.Pool().Exec(ctx, `insert into public.exports (email_id, client_id, destination, campaign_id, status, address, domain, attempts)
		select e.id, e.client_id, 'csv', $2, 'pending', 'lead0@co0.example', 'co0.example', 1 from public.emails_generated e
		join public.contacts_to_enrich c on c.id = e.contact_id where c.email = 'lead0@co0.example' and e.client_id = $1`, clientID, old); err != nil {
		t.Fatal(err)
	}
	rep, err := newExporter(t, st, nil, export.Dir(dir)).Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reconciled != 1 || len(rep.Sent) != 3 {
		t.Fatalf("reconciled %d, sent %d; want 1 and 3", rep.Reconciled, len(rep.Sent))
	}
	b, err := os.ReadFile(rep.Location)
	if err != nil || bytes.Contains(b, []byte("lead0@")) || !bytes.Contains(b, []byte("lead3@co3.example")) {
		t.Errorf("new file %s: %v\n%s", rep.Location, err, b)
	}
	if n := count(t, st, `select count(*) from public.emails_generated where review_status = 'sent'`); n != 4 {
		t.Errorf("%d emails sent, want 4", n)
	}
}

// A csv export into a Storage bucket (the Lambda's) records where the
// object is, and a run that died after the upload is reconciled from it:
// confirmed, not written again.
func TestCSVExportToStorageReconciles(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	clientID := seed(t, st, "Acme", 5, uniqueDomain)
	fake, sc := storagetest.New(t, "service-key", true)
	sink := export.Storage{C: sc}
	x := newExporter(t, st, nil, sink)
	req := export.Request{ClientID: clientID, ClientName: "Acme", Destination: "csv", Format: "smartlead"}
	rep, err := x.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := fake.Object(rep.Location); !ok || !bytes.Contains(b, []byte("lead4@co4.example")) || len(rep.Sent) != 5 {
		t.Fatalf("location %q: object %v, sent %d", rep.Location, ok, len(rep.Sent))
	}
	// As if the run had died after the upload, before the confirmation.
	if _, err := st.Pool().Exec(ctx, `update public.exports set status = 'pending', sent_at = null`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `update public.emails_generated set review_status = 'approved', sent_at = null`); err != nil {
		t.Fatal(err)
	}
	rep2, err := x.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Reconciled != 5 || len(rep2.Sent) != 0 || rep2.Location != "" {
		t.Errorf("rerun: reconciled %d, sent %d, wrote %q; want 5 reconciled from %s and no new file", rep2.Reconciled, len(rep2.Sent), rep2.Location, rep.Location)
	}
}
