package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// stallAfter serves a Smartlead stand-in whose add-leads call number n is
// applied and then never answered, to kill the exporter in that window.
type stallAfter struct {
	*sequencertest.Smartlead
	n       int32
	adds    atomic.Int32
	stalled chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stallAfter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/leads") && s.adds.Add(1) == s.n {
		s.Smartlead.ServeHTTP(httptest.NewRecorder(), r) // applied...
		s.once.Do(func() { close(s.stalled) })
		<-s.release // ...never answered
		return
	}
	s.Smartlead.ServeHTTP(w, r)
}

// TestExportKilledMidway: `kaleads export` is SIGKILLed after Smartlead
// accepted its third batch and before any confirmation; the next run finds
// those leads in the campaign, confirms them without sending them again,
// and sends the rest: every approved email once.
func TestExportKilledMidway(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "kaleads")
	build := exec.Command(goTool(), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbURL := storetest.URL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var clientID string
	if err := st.Pool().QueryRow(ctx, `insert into public.clients (client_name) values ('Acme') returning id::text`).Scan(&clientID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.contacts_to_enrich (client_id, email, first_name, company_name, status)
		select $1, 'lead' || i || '@co' || i || '.example', 'P' || i, 'Co ' || i, 'completed' from generate_series(1, 500) i`, clientID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.emails_generated (contact_id, client_id, subject, email_generated, quality_score, review_status)
		select id, client_id, 'Sujet', 'Bonjour', 90, 'approved' from public.contacts_to_enrich`); err != nil {
		t.Fatal(err)
	}
	fake := &stallAfter{Smartlead: &sequencertest.Smartlead{Key: "k", Limit: 1000}, n: 3, stalled: make(chan struct{}), release: make(chan struct{})}
	fake.AddCampaign("777")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer close(fake.release)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "SMARTLEAD_API_KEY=k", "SMARTLEAD_BASE_URL="+srv.URL+"/api/v1")
	args := []string{"export", "--client", "Acme", "--to", "smartlead", "--campaign", "777"}

	first := exec.Command(bin, args...)
	first.Env = env
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fake.stalled:
	case <-time.After(60 * time.Second):
		first.Process.Kill()
		t.Fatal("the third batch never came")
	}
	if err := first.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
		t.Fatal(err)
	}
	_ = first.Wait()
	count := func(sql string) int {
		var n int
		if err := st.Pool().QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`select count(*) from public.exports where status = 'pending'`); n != 300 {
		t.Fatalf("%d pending ledger rows after the kill, want the 3 batches' 300", n)
	}
	if n := count(`select count(*) from public.emails_generated where review_status = 'sent'`); n != 0 {
		t.Fatalf("%d emails marked sent without a confirmation", n)
	}

	second := exec.Command(bin, args...)
	second.Env = env
	out, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "reconciled: 300") || !strings.Contains(string(out), "sent 200 emails") {
		t.Errorf("second run:\n%s", out)
	}
	inserted, submitted := fake.Leads("777")
	if len(inserted) != 500 {
		t.Errorf("campaign holds %d leads, want 500", len(inserted))
	}
	for a, n := range submitted {
		if n != 1 || inserted[a] != 1 {
			t.Errorf("%s submitted %d times, inserted %d", a, n, inserted[a])
		}
	}
	if n := count(`select count(*) from public.emails_generated where review_status = 'sent' and sequencer_lead_id is not null`); n != 500 {
		t.Errorf("%d emails sent, want 500", n)
	}
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
