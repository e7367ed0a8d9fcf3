package export_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestNextSlot(t *testing.T) {
	t.Parallel()
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct{ now, want string }{
		{"2026-12-02T09:00:00Z", "2026-12-02T13:00:00Z"}, // winter: 14:00 Paris is 13:00 UTC
		{"2026-12-02T13:00:00Z", "2026-12-03T13:00:00Z"}, // at the slot: the next day's
		{"2026-12-02T13:00:01Z", "2026-12-03T13:00:00Z"},
		{"2026-07-01T11:59:59Z", "2026-07-01T12:00:00Z"}, // summer: 12:00 UTC
		{"2026-03-28T13:30:00Z", "2026-03-29T12:00:00Z"}, // across the spring change
		{"2026-10-24T12:30:00Z", "2026-10-25T13:00:00Z"}, // across the autumn change
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.now)
		got := export.NextSlot(now)
		if got.UTC().Format(time.RFC3339) != tt.want || got.In(paris).Hour() != 14 {
			t.Errorf("NextSlot(%s) = %s, want %s (14:00 in Paris)", tt.now, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
}

// slackFake records what an incoming webhook receives.
type slackFake struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (s *slackFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m["text"] == "" {
		w.WriteHeader(400)
		io.WriteString(w, "invalid_payload")
		return
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

func (s *slackFake) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.msgs {
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

// The scheduled export runs every client that configured a destination,
// tells Slack, and the at-once pass only takes the full phase's clients
// that chose it, and only their auto-approved emails.
func TestScheduledExports(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	acme := seed(t, st, "Acme", 4, uniqueDomain)
	beta := seed(t, st, "Beta", 2, func(i int) string { return "beta" + uniqueDomain(i) })
	seed(t, st, "Gamma", 2, func(i int) string { return "gamma" + uniqueDomain(i) })                     // no destination
	addEmails(t, st, beta, 2, 1, func(i int) string { return "beta" + uniqueDomain(i) }, "approved", "") // approved by a person
	addEmails(t, st, acme, 4, 2, uniqueDomain, "pending_review", "held")

	slack := &slackFake{}
	hook := httptest.NewServer(slack)
	t.Cleanup(hook.Close)
	for id, s := range map[string]store.ExportSettings{
		acme: {Destination: "smartlead", CampaignID: "777", CampaignName: "Acme V1"},
		beta: {Destination: "smartlead", CampaignID: "777", AtOnce: true},
	} {
		if err := st.SetExportSettings(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetNotifications(ctx, acme, store.Notifications{SlackWebhookURL: hook.URL + "/services/T1/B1/secret", ReviewURL: "https://review.example"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAutomation(ctx, beta, store.Automation{Phase: store.PhaseFull, PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}); err != nil {
		t.Fatal(err)
	}
	f := newSmartlead(t, nil)
	x, err := export.New(export.Config{Store: st, Sequencers: map[string]export.Sequencer{"smartlead": f.seq},
		Notify: export.NewSlackNotifier(st, nil)})
	if err != nil {
		t.Fatal(err)
	}

	outs, err := x.Scheduled(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Client != "Beta" || len(outs[0].Report.Sent) != 2 {
		t.Fatalf("at-once pass: %+v, want Beta's 2 auto-approved emails", outs)
	}

	outs, err = x.Scheduled(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]int{}
	for _, o := range outs {
		if o.Err != nil {
			t.Errorf("%s: %v", o.Client, o.Err)
		}
		sent[o.Client] = len(o.Report.Sent)
	}
	if len(outs) != 2 || sent["Acme"] != 4 || sent["Beta"] != 1 {
		t.Errorf("daily: %v, want Acme 4 and Beta its person-approved one (Gamma has no destination)", sent)
	}
	msgs := slack.texts()
	if len(msgs) != 2 || !strings.Contains(msgs[0], "Export done") || !strings.Contains(msgs[0], "Acme V1") ||
		!strings.Contains(msgs[1], "2") || !strings.Contains(msgs[1], "review.example") {
		t.Errorf("slack got %d messages:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	// Nothing new the next day: no export message, but the waiting emails
	// are announced again.
	if _, err := x.Scheduled(ctx, false); err != nil {
		t.Fatal(err)
	}
	if msgs := slack.texts(); len(msgs) != 3 || strings.Contains(msgs[2], "Export done") {
		t.Errorf("slack after a day with nothing to send:\n%s", strings.Join(msgs, "\n"))
	}
}

// A finished batch is announced once, with its counts and the review
// link; an unfinished one is not.
func TestBatchNotifications(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	acme := seed(t, st, "Acme", 3, uniqueDomain)
	addEmails(t, st, acme, 3, 1, uniqueDomain, "pending_review", "held")
	slack := &slackFake{}
	hook := httptest.NewServer(slack)
	t.Cleanup(hook.Close)
	if err := st.SetNotifications(ctx, acme, store.Notifications{SlackWebhookURL: hook.URL + "/services/T1/B1/s", ReviewURL: "https://review.example"}); err != nil {
		t.Fatal(err)
	}
	const done, running = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	if _, err := st.Pool().Exec(ctx, `update public.contacts_to_enrich set batch_id = $1 where client_id = $2`, done, acme); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `insert into public.contacts_to_enrich (client_id, email, company_name, status, batch_id)
		values ($1, 'x@pending.example', 'Pending', 'pending', $2)`, acme, running); err != nil {
		t.Fatal(err)
	}
	n := export.NewSlackNotifier(st, nil)
	for i, want := range []int{1, 0} {
		got, err := n.Batches(ctx)
		if err != nil || got != want {
			t.Fatalf("pass %d: %d announced, %v; want %d", i+1, got, err, want)
		}
	}
	msgs := slack.texts()
	if len(msgs) != 1 || !strings.Contains(msgs[0], done) || !strings.Contains(msgs[0], "4/4") || !strings.Contains(msgs[0], "review.example") {
		t.Errorf("slack got:\n%s", strings.Join(msgs, "\n"))
	}
}
