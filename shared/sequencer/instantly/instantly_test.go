package instantly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
)

const testKey = "inst-SECRET-key-456"

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
	At           time.Time
}

type fault func(n int) (status int, hdr map[string]string, body string, apply bool)

// fakeInstantly implements POST /api/v2/leads/add and /api/v2/campaigns.
type fakeInstantly struct {
	clock *sequencertest.FakeClock
	mu    sync.Mutex
	reqs  []recorded
	leads map[string]map[string]int
	fault fault
}

func newFake(t *testing.T, clock *sequencertest.FakeClock) (*fakeInstantly, *httptest.Server) {
	f := &fakeInstantly{clock: clock, leads: map[string]map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeInstantly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	n := len(f.reqs) + 1
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: f.clock.Now()})
	flt := f.fault
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+testKey || r.URL.RawQuery != "" {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`)
		return
	}
	status, apply := 0, true
	var hdr map[string]string
	var fb string
	if flt != nil {
		status, hdr, fb, apply = flt(n)
	}
	var out any
	if apply {
		out = f.apply(r, body)
	}
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprint(w, fb)
		return
	}
	if out == nil {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"message":"body/leads must NOT have more than 1000 items"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeInstantly) apply(r *http.Request, body map[string]any) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/api/v2/campaigns":
		return map[string]any{"id": "0196-camp", "name": body["name"], "status": 0, "extra": true}
	case "/api/v2/leads/add":
		camp, _ := body["campaign_id"].(string)
		leads, _ := body["leads"].([]any)
		if len(leads) > MaxBatchSize || len(leads) == 0 {
			return nil
		}
		if f.leads[camp] == nil {
			f.leads[camp] = map[string]int{}
		}
		skip := body["skip_if_in_campaign"] == true
		up, skipped := 0, 0
		var created []any
		for i, l := range leads {
			e := l.(map[string]any)["email"].(string)
			if skip && f.leads[camp][e] > 0 {
				skipped++
				continue
			}
			f.leads[camp][e]++
			up++
			created = append(created, map[string]any{"id": fmt.Sprintf("lead-%s", e), "email": e, "index": i})
		}
		return map[string]any{"status": "success", "total_sent": len(leads), "leads_uploaded": up, "skipped_count": skipped,
			"in_blocklist": 0, "duplicated_leads": 0, "invalid_email_count": 0, "remaining_in_plan": 99999, "created_leads": created}
	}
	return nil
}

func (f *fakeInstantly) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeInstantly) check(t *testing.T, camp string, want int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := len(f.leads[camp]); got != want {
		t.Errorf("server holds %d leads, want %d", got, want)
	}
	for e, n := range f.leads[camp] {
		if n != 1 {
			t.Errorf("lead %s inserted %d times", e, n)
		}
	}
}

func mkLeads(n int) []sequencer.Lead {
	out := make([]sequencer.Lead, n)
	for i := range out {
		out[i] = sequencer.Lead{Email: fmt.Sprintf("p%05d@acme.com", i), FirstName: "P", CompanyName: "Acme",
			Subject: fmt.Sprintf("S%d", i), Body: fmt.Sprintf("B%d", i), Custom: map[string]string{"sector": "saas"}}
	}
	return out
}

func newClient(t *testing.T, srv *httptest.Server, clock sequencer.Clock, mut func(*Config)) *Client {
	cfg := Config{APIKey: testKey, BaseURL: srv.URL, Clock: clock, HTTPClient: srv.Client()}
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAddLeadsShapeAndBatching(t *testing.T) {
	for _, tc := range []struct{ batch, n, want int }{{0, 1050, 2}, {0, 2500, 3}, {5000, 1000, 1}, {100, 1050, 11}} {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		c := newClient(t, srv, clock, func(c *Config) { c.BatchSize = tc.batch })
		leads := mkLeads(tc.n)
		res, err := c.AddLeads(context.Background(), "camp-1", leads)
		if err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != tc.want || res.Requests != tc.want || res.Uploaded != tc.n || len(res.Created) != tc.n {
			t.Fatalf("%+v: %d requests, uploaded %d", tc, len(reqs), res.Uploaded)
		}
		for i, cl := range res.Created {
			if cl.Index != i || cl.Email != leads[i].Email {
				t.Fatalf("created[%d] = %+v", i, cl)
			}
		}
		seen := 0
		for _, r := range reqs {
			if r.Method != "POST" || r.Path != "/api/v2/leads/add" || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("req %+v", r)
			}
			if r.Body["campaign_id"] != "camp-1" || r.Body["skip_if_in_campaign"] != true {
				t.Fatalf("body %v", r.Body)
			}
			if _, ok := r.Body["list_id"]; ok {
				t.Fatal("list_id sent with campaign_id")
			}
			for _, l := range r.Body["leads"].([]any) {
				m := l.(map[string]any)
				cv := m["custom_variables"].(map[string]any)
				for k, v := range cv {
					if _, ok := v.(string); !ok {
						t.Fatalf("custom_variables[%s] not flat: %v", k, v)
					}
				}
				if m["email"] != leads[seen].Email || cv["subject"] != leads[seen].Subject || cv["email_body"] != leads[seen].Body || cv["sector"] != "saas" || m["company_name"] != "Acme" {
					t.Fatalf("lead %v", m)
				}
				seen++
			}
		}
		f.check(t, "camp-1", tc.n)
	}
}

func TestCreateCampaignSchedule(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	c := newClient(t, srv, clock, nil)
	camp, err := c.CreateCampaign(context.Background(), CampaignSpec{Name: "Acme – Cold V1",
		Schedule: Schedule{Timezone: "Europe/Paris", From: "08:30", To: "18:00"},
		Steps:    sequencer.PlanSequence("f4", "f7", "f14")})
	if err != nil || camp.ID != "0196-camp" {
		t.Fatalf("%+v %v", camp, err)
	}
	r := f.requests()[0]
	if r.Path != "/api/v2/campaigns" || r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Fatalf("req %+v", r)
	}
	sch := r.Body["campaign_schedule"].(map[string]any)["schedules"].([]any)[0].(map[string]any)
	days := sch["days"].(map[string]any)
	if sch["timezone"] != "Europe/Paris" || sch["timing"].(map[string]any)["from"] != "08:30" || len(days) != 7 || days["0"] != false || days["1"] != true || days["5"] != true || days["6"] != false {
		t.Fatalf("schedule %v", sch)
	}
	steps := r.Body["sequences"].([]any)[0].(map[string]any)["steps"].([]any)
	wantDelay := []float64{3, 3, 7, 0}
	for i, s := range steps {
		m := s.(map[string]any)
		if m["type"] != "email" || m["delay_unit"] != "days" || m["delay"].(float64) != wantDelay[i] {
			t.Fatalf("step %d %v", i, m)
		}
	}
	v0 := steps[0].(map[string]any)["variants"].([]any)[0].(map[string]any)
	if v0["subject"] != "{{subject}}" || v0["body"] != "{{email_body}}" {
		t.Fatalf("variant %v", v0)
	}
	for k := range r.Body {
		switch k {
		case "name", "campaign_schedule", "sequences":
		default:
			t.Fatalf("unexpected key %s (additionalProperties: false)", k)
		}
	}
	// Invalid schedules are rejected before any request.
	for _, s := range []Schedule{{Timezone: "America/New_York"}, {Timezone: "Europe/Paris", From: "9:00"}, {Timezone: "Europe/Paris", From: "18:00", To: "09:00"}, {}, {Timezone: "Mars/Base"}} {
		_, err := c.CreateCampaign(context.Background(), CampaignSpec{Name: "x", Schedule: s})
		if !errors.Is(err, sequencer.ErrPermanent) {
			t.Fatalf("%+v: %v", s, err)
		}
	}
	if len(f.requests()) != 1 {
		t.Fatal("invalid spec reached the server")
	}
}

func TestFaults(t *testing.T) {
	t.Run("429 storm", func(t *testing.T) {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		f.fault = func(n int) (int, map[string]string, string, bool) {
			if n >= 2 && n <= 5 {
				return 429, map[string]string{"Retry-After": "2"}, `{"message":"Too Many Requests"}`, false
			}
			return 0, nil, "", true
		}
		c := newClient(t, srv, clock, func(c *Config) { c.BatchSize = 500 })
		res, err := c.AddLeads(context.Background(), "c", mkLeads(1500))
		if err != nil || len(f.requests()) != 7 || res.Requests != 7 {
			t.Fatalf("%v %d", err, len(f.requests()))
		}
		reqs := f.requests()
		for i := 2; i <= 5; i++ {
			if reqs[i].At.Sub(reqs[i-1].At) < 2*time.Second {
				t.Fatal("Retry-After not honoured")
			}
		}
		f.check(t, "c", 1500)
	})
	t.Run("500 after apply", func(t *testing.T) {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		f.fault = func(n int) (int, map[string]string, string, bool) {
			if n == 2 {
				return 502, nil, "bad gateway", true
			}
			return 0, nil, "", true
		}
		c := newClient(t, srv, clock, nil)
		res, err := c.AddLeads(context.Background(), "c", mkLeads(2500))
		if err != nil || len(f.requests()) != 4 || !res.Batches[1].Uncertain || res.Batches[1].Response.SkippedCount != 1000 {
			t.Fatalf("%v %d %+v", err, len(f.requests()), res.Batches)
		}
		f.check(t, "c", 2500)
	})
	t.Run("400 not retried", func(t *testing.T) {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		f.fault = func(n int) (int, map[string]string, string, bool) {
			return 400, nil, `{"statusCode":400,"error":"Bad Request","message":"body/leads/0/custom_variables must be flat"}`, false
		}
		c := newClient(t, srv, clock, nil)
		_, err := c.AddLeads(context.Background(), "c", mkLeads(10))
		var se *sequencer.Error
		if !errors.As(err, &se) || se.StatusCode != 400 || !errors.Is(err, sequencer.ErrPermanent) || len(f.requests()) != 1 || !strings.Contains(err.Error(), "must be flat") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("timeout after accept", func(t *testing.T) {
		for _, attempts := range []int{1, 0} {
			clock := sequencertest.NewFakeClock()
			f, srv := newFake(t, clock)
			hc := &http.Client{Transport: &acceptThenTimeout{next: srv.Client().Transport}}
			var logs bytes.Buffer
			c := newClient(t, srv, clock, func(c *Config) {
				c.HTTPClient, c.MaxAttempts = hc, attempts
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			res, err := c.AddLeads(context.Background(), "c", mkLeads(10))
			if attempts == 1 {
				if !sequencer.IsRetryable(err) || !sequencer.IsUnknownOutcome(err) {
					t.Fatalf("err %v", err)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatal("key leaked")
				}
			} else if err != nil || !res.Batches[0].Uncertain || res.Batches[0].Response.SkippedCount != 10 {
				t.Fatalf("%v %+v", err, res)
			}
			if strings.Contains(logs.String(), testKey) {
				t.Fatal("key in logs")
			}
			f.check(t, "c", 10)
		}
	})
}

type acceptThenTimeout struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "context deadline exceeded (Client.Timeout exceeded)" }
func (timeoutErr) Timeout() bool { return true }

func (a *acceptThenTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.n++
	first := a.n == 1
	a.mu.Unlock()
	resp, err := a.next.RoundTrip(r)
	if err == nil && first {
		resp.Body.Close()
		return nil, timeoutErr{}
	}
	return resp, err
}

func maxInWindow(reqs []recorded, w time.Duration) int {
	best := 0
	for i := range reqs {
		n := 0
		for j := i; j < len(reqs) && reqs[j].At.Sub(reqs[i].At) < w; j++ {
			n++
		}
		best = max(best, n)
	}
	return best
}

func TestThrottle(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	c := newClient(t, srv, clock, func(c *Config) { c.BatchSize = 5 })
	if _, err := c.AddLeads(context.Background(), "c", mkLeads(2000)); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	w1 := maxInWindow(reqs, time.Second)
	t.Logf("%d requests over %v; max %d in any 1 s window", len(reqs), reqs[len(reqs)-1].At.Sub(reqs[0].At), w1)
	if len(reqs) != 400 || w1 > 100 || w1 > DefaultRatePerSecond+DefaultBurst {
		t.Fatalf("%d requests, %d per second", len(reqs), w1)
	}
	f.check(t, "c", 2000)
}
