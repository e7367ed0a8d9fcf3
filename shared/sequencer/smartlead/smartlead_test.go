package smartlead

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
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
)

const testKey = "sl-SECRET-key-123"

type recorded struct {
	N      int
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   map[string]any
	At     time.Time
}

// fault lets a test answer request n (1-based). apply reports whether the
// server should still process the request before answering.
type fault func(n int, r *http.Request) (status int, hdr map[string]string, body string, apply bool)

// fakeSmartlead implements the documented contract and records every request.
type fakeSmartlead struct {
	t     *testing.T
	clock *sequencertest.FakeClock
	mu    sync.Mutex
	reqs  []recorded
	leads map[string]map[string]int // campaign -> email -> times inserted
	fault fault
	extra map[string]string // headers on every success
}

func newFake(t *testing.T, clock *sequencertest.FakeClock) (*fakeSmartlead, *httptest.Server) {
	f := &fakeSmartlead{t: t, clock: clock, leads: map[string]map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeSmartlead) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	n := len(f.reqs) + 1
	f.reqs = append(f.reqs, recorded{N: n, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: f.clock.Now()})
	flt := f.fault
	f.mu.Unlock()
	if r.URL.Query().Get("api_key") != testKey {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"message":"Invalid API Key"}`)
		return
	}
	status, apply := 0, true
	var hdr map[string]string
	var fbody string
	if flt != nil {
		status, hdr, fbody, apply = flt(n, r)
	}
	var out any
	if apply {
		out = f.apply(r.URL.Path, body)
	}
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprint(w, fbody)
		return
	}
	for k, v := range f.extra {
		w.Header().Set(k, v)
	}
	if out == nil {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":"not found"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeSmartlead) apply(path string, body map[string]any) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.Trim(path, "/"), "/") // api v1 campaigns ...
	switch {
	case path == "/api/v1/campaigns/create":
		return map[string]any{"ok": true, "id": 125, "name": body["name"], "created_at": "2026-12-01T14:00:00Z", "unknown": 1}
	case len(parts) == 5 && parts[4] == "sequences":
		return map[string]any{"ok": true, "data": "saved"}
	case len(parts) == 5 && parts[4] == "leads":
		camp := parts[3]
		if f.leads[camp] == nil {
			f.leads[camp] = map[string]int{}
		}
		list, _ := body["lead_list"].([]any)
		if len(list) > MaxBatchSize {
			return nil
		}
		added, already := 0, 0
		for _, l := range list {
			e := l.(map[string]any)["email"].(string)
			if f.leads[camp][e] > 0 {
				already++ // server dedupes on email within a campaign
				continue
			}
			f.leads[camp][e]++
			added++
		}
		return map[string]any{"ok": true, "upload_count": added, "total_leads": len(list),
			"already_added_to_campaign": already, "duplicate_count": 0, "invalid_email_count": 0,
			"invalid_emails": []any{}, "unsubscribed_leads": []any{}, "block_count": 0, "bounce_count": 0,
			"is_lead_limit_exhausted": false, "lead_import_stopped_count": 0, "brand_new_field": "x"}
	}
	return nil
}

func (f *fakeSmartlead) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeSmartlead) check(t *testing.T, camp string, want int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := len(f.leads[camp]); got != want {
		t.Errorf("server holds %d leads, want %d (lost %d)", got, want, want-got)
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
		out[i] = sequencer.Lead{Email: fmt.Sprintf("p%05d@acme%d.com", i, i%37), FirstName: "P", CompanyName: "Acme",
			Subject: fmt.Sprintf("Subject %d", i), Body: fmt.Sprintf("Body %d\nline two", i)}
	}
	return out
}

func newClient(t *testing.T, srv *httptest.Server, clock sequencer.Clock, mut func(*Config)) *Client {
	cfg := Config{APIKey: testKey, BaseURL: srv.URL + "/api/v1", Clock: clock, HTTPClient: srv.Client()}
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func noKey(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, testKey) || strings.Contains(s, "SECRET") {
		t.Fatalf("API key leaked: %s", s)
	}
}

func TestCreateCampaignShape(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	c := newClient(t, srv, clock, nil)
	camp, err := c.CreateCampaign(context.Background(), "Acme – Cold V1", sequencer.PlanSequence("f4", "f7", "f14"))
	if err != nil {
		t.Fatal(err)
	}
	if camp.ID != 125 || camp.Name != "Acme – Cold V1" {
		t.Fatalf("campaign %+v", camp)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Path != "/api/v1/campaigns/create" || reqs[1].Path != "/api/v1/campaigns/125/sequences" {
		t.Fatalf("requests %+v", reqs)
	}
	for _, r := range reqs {
		if r.Method != "POST" || r.Query["api_key"][0] != testKey || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") == "" {
			t.Fatalf("bad request %+v", r)
		}
	}
	if len(reqs[0].Body) != 1 || reqs[0].Body["name"] != "Acme – Cold V1" {
		t.Fatalf("create body %v", reqs[0].Body)
	}
	seqs := reqs[1].Body["sequences"].([]any)
	want := []struct {
		subj, body string
		delay      float64
	}{{"{{subject}}", "{{email_body}}", 0}, {"", "f4", 3}, {"", "f7", 3}, {"", "f14", 7}}
	if len(seqs) != len(want) {
		t.Fatalf("sequences %v", seqs)
	}
	for i, w := range want {
		s := seqs[i].(map[string]any)
		if s["seq_number"].(float64) != float64(i+1) || s["subject"] != w.subj || s["email_body"] != w.body ||
			s["seq_delay_details"].(map[string]any)["delay_in_days"].(float64) != w.delay {
			t.Errorf("step %d = %v", i+1, s)
		}
	}
}

func TestAddLeadsBatchingAndShape(t *testing.T) {
	for _, tc := range []struct{ batch, n, wantReqs int }{{0, 1050, 11}, {400, 1050, 3}, {1000, 1050, 3}, {100, 100, 1}} {
		t.Run(fmt.Sprintf("batch%d_n%d", tc.batch, tc.n), func(t *testing.T) {
			clock := sequencertest.NewFakeClock()
			f, srv := newFake(t, clock)
			c := newClient(t, srv, clock, func(c *Config) { c.BatchSize = tc.batch })
			leads := mkLeads(tc.n)
			res, err := c.AddLeads(context.Background(), 42, leads)
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != tc.wantReqs || res.Requests != tc.wantReqs || len(res.Batches) != tc.wantReqs {
				t.Fatalf("requests %d (reported %d), want %d", len(reqs), res.Requests, tc.wantReqs)
			}
			if res.Added != tc.n || res.Skipped != 0 {
				t.Fatalf("added %d skipped %d", res.Added, res.Skipped)
			}
			seen := 0
			for _, r := range reqs {
				if r.Path != "/api/v1/campaigns/42/leads" || r.Query.Get("api_key") != testKey {
					t.Fatalf("path %s query %v", r.Path, r.Query)
				}
				list := r.Body["lead_list"].([]any)
				if len(list) > c.BatchSize() || len(list) > MaxBatchSize {
					t.Fatalf("batch of %d", len(list))
				}
				for _, l := range list {
					m := l.(map[string]any)
					cf := m["custom_fields"].(map[string]any)
					exp := leads[seen]
					if m["email"] != exp.Email || m["company_name"] != "Acme" || cf["subject"] != exp.Subject || cf["email_body"] != exp.Body {
						t.Fatalf("lead %d = %v", seen, m)
					}
					if _, bad := m["company"]; bad {
						t.Fatal("sent company instead of company_name")
					}
					seen++
				}
				st := r.Body["settings"].(map[string]any)
				wantKeys := []string{"ignore_global_block_list", "ignore_unsubscribe_list", "ignore_community_bounce_list", "ignore_duplicate_leads_in_other_campaign"}
				if len(st) != len(wantKeys) {
					t.Fatalf("settings %v", st)
				}
				for _, k := range wantKeys {
					if v, ok := st[k]; !ok || v != false {
						t.Fatalf("settings[%s] = %v", k, v)
					}
				}
			}
			if seen != tc.n {
				t.Fatalf("sent %d leads", seen)
			}
			f.check(t, "42", tc.n)
		})
	}
}

// maxInWindow is the largest number of requests in any window of length w.
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

// TestFiveThousandLeads measures the fake-clock wall time to add 5,000 leads
// against the bound leads / batch / rate, under the documented 60 req/min.
func TestFiveThousandLeads(t *testing.T) {
	for _, batch := range []int{100, 400} {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		c := newClient(t, srv, clock, func(c *Config) { c.BatchSize = batch })
		start := clock.Now()
		res, err := c.AddLeads(context.Background(), 7, mkLeads(5000))
		if err != nil {
			t.Fatal(err)
		}
		elapsed := clock.Now().Sub(start)
		reqs := f.requests()
		nreq := (5000 + batch - 1) / batch
		boundOurs := time.Duration(float64(nreq) / DefaultRatePerMinute * float64(time.Minute))
		boundDoc := time.Duration(float64(nreq) / 60 * float64(time.Minute))
		win := maxInWindow(reqs, time.Minute)
		t.Logf("5000 leads, batch %d: %d requests, fake wall time %v; bound at throttle %d/min = %v, at documented 60/min = %v; max requests in any 60 s window = %d",
			batch, len(reqs), elapsed, DefaultRatePerMinute, boundOurs, boundDoc, win)
		if len(reqs) != nreq || res.Requests != nreq || res.Added != 5000 {
			t.Fatalf("requests %d added %d", len(reqs), res.Added)
		}
		if win > 60 {
			t.Fatalf("%d requests in a 60 s window exceeds the documented 60/min", win)
		}
		if elapsed > boundOurs {
			t.Fatalf("elapsed %v above bound %v", elapsed, boundOurs)
		}
		minElapsed := time.Duration(float64(nreq-DefaultBurst) / DefaultRatePerMinute * float64(time.Minute))
		if elapsed < minElapsed-time.Second {
			t.Fatalf("elapsed %v below what the throttle allows (%v)", elapsed, minElapsed)
		}
		f.check(t, "7", 5000)
	}
}

func TestThrottleHonoursRateHeaders(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	reset := clock.Now().Add(45 * time.Second)
	f.fault = func(n int, r *http.Request) (int, map[string]string, string, bool) {
		if n == 1 {
			return 0, map[string]string{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)}, "", true
		}
		return 0, nil, "", true
	}
	c := newClient(t, srv, clock, nil)
	if _, err := c.AddLeads(context.Background(), 1, mkLeads(200)); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].At.Before(reset) {
		t.Fatalf("second request at %v, before reset %v", reqs[1].At, reset)
	}
}

func TestRetry429StormWithRetryAfter(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	f.fault = func(n int, r *http.Request) (int, map[string]string, string, bool) {
		if n >= 2 && n <= 6 { // 5 consecutive 429s on batch 2
			return 429, map[string]string{"Retry-After": "7"}, `{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests. Please retry after 30 seconds.","retry_after":30}}`, false
		}
		return 0, nil, "", true
	}
	var logs bytes.Buffer
	c := newClient(t, srv, clock, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	res, err := c.AddLeads(context.Background(), 9, mkLeads(300))
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 8 || res.Requests != 8 {
		t.Fatalf("requests %d (reported %d), want 8", len(reqs), res.Requests)
	}
	for i := 2; i <= 6; i++ { // request i+1 follows the 429 of request i
		if d := reqs[i].At.Sub(reqs[i-1].At); d < 7*time.Second {
			t.Fatalf("request %d only %v after a 429 with Retry-After: 7", i+1, d)
		}
	}
	if res.Batches[1].Attempts != 6 || res.Batches[1].Uncertain {
		t.Fatalf("batch 2 %+v", res.Batches[1])
	}
	f.check(t, "9", 300)
	noKey(t, logs.String())
	if !strings.Contains(logs.String(), "retry") {
		t.Fatal("no retry log")
	}
}

func TestRetry500MidBatchZeroDuplicates(t *testing.T) {
	for _, applied := range []bool{false, true} {
		t.Run(fmt.Sprintf("applied=%v", applied), func(t *testing.T) {
			clock := sequencertest.NewFakeClock()
			f, srv := newFake(t, clock)
			f.fault = func(n int, r *http.Request) (int, map[string]string, string, bool) {
				if n == 3 {
					return 500, nil, `{"error":"internal"}`, applied
				}
				return 0, nil, "", true
			}
			c := newClient(t, srv, clock, nil)
			res, err := c.AddLeads(context.Background(), 5, mkLeads(500))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.requests()) != 6 || res.Requests != 6 {
				t.Fatalf("requests %d", len(f.requests()))
			}
			b := res.Batches[2]
			if !b.Uncertain || b.Attempts != 2 {
				t.Fatalf("batch 3 %+v", b)
			}
			if applied && (b.Response.AlreadyAddedToCampaign != 100 || res.Reasons["already_added_to_campaign"] != 100) {
				t.Fatalf("expected server dedupe on retry: %+v", b.Response)
			}
			f.check(t, "5", 500)
		})
	}
}

func TestBadRequestNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 404, 409, 422} {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		f.fault = func(n int, r *http.Request) (int, map[string]string, string, bool) {
			return status, nil, `{"error":{"code":"VALIDATION_ERROR","message":"bad lead for key ` + testKey + `","details":{"field":"lead_list[2].email"}}}`, false
		}
		c := newClient(t, srv, clock, nil)
		res, err := c.AddLeads(context.Background(), 5, mkLeads(250))
		if len(f.requests()) != 1 || res.Requests != 1 {
			t.Fatalf("%d: %d requests, want 1", status, len(f.requests()))
		}
		var se *sequencer.Error
		if !errors.As(err, &se) || se.StatusCode != status || se.Code != "VALIDATION_ERROR" {
			t.Fatalf("err %v", err)
		}
		if !errors.Is(err, sequencer.ErrPermanent) || errors.Is(err, sequencer.ErrRetryable) || errors.Is(err, sequencer.ErrUnknownOutcome) {
			t.Fatalf("%d misclassified: %v", status, err)
		}
		noKey(t, err.Error())
		if clock.Slept() != 0 {
			t.Fatalf("slept %v", clock.Slept())
		}
	}
}

// acceptThenTimeout forwards the request (the server applies it) and then
// reports a timeout, as if the response was lost.
type acceptThenTimeout struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
	when func(n int) bool
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (a *acceptThenTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.n++
	n := a.n
	a.mu.Unlock()
	resp, err := a.next.RoundTrip(r)
	if err == nil && a.when(n) {
		resp.Body.Close()
		return nil, timeoutErr{}
	}
	return resp, err
}

func TestTimeoutAfterAccept(t *testing.T) {
	t.Run("reported", func(t *testing.T) {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		hc := &http.Client{Transport: &acceptThenTimeout{next: srv.Client().Transport, when: func(n int) bool { return n == 2 }}}
		c := newClient(t, srv, clock, func(c *Config) { c.HTTPClient = hc; c.MaxAttempts = 1 })
		res, err := c.AddLeads(context.Background(), 3, mkLeads(300))
		if !sequencer.IsRetryable(err) || !sequencer.IsUnknownOutcome(err) || errors.Is(err, sequencer.ErrPermanent) {
			t.Fatalf("err %v", err)
		}
		var te timeoutErr
		if !errors.As(err, &te) {
			t.Fatalf("cause lost: %v", err)
		}
		noKey(t, err.Error())
		noKey(t, fmt.Sprintf("%+v", err))
		if len(res.Batches) != 1 || !strings.Contains(err.Error(), "[100,200)") {
			t.Fatalf("partial result %+v / %v", res.Batches, err)
		}
		f.check(t, "3", 200) // batch 2 was applied although the client saw a timeout
		// The caller re-runs the uncertain range: the server dedupes, nothing is sent twice.
		res2, err := c.AddLeads(context.Background(), 3, mkLeads(300)[100:])
		if err != nil {
			t.Fatal(err)
		}
		if res2.Added != 100 || res2.Reasons["already_added_to_campaign"] != 100 {
			t.Fatalf("reconcile %+v", res2)
		}
		f.check(t, "3", 300)
	})
	t.Run("retried", func(t *testing.T) {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		hc := &http.Client{Transport: &acceptThenTimeout{next: srv.Client().Transport, when: func(n int) bool { return n == 2 || n == 5 }}}
		c := newClient(t, srv, clock, func(c *Config) { c.HTTPClient = hc })
		res, err := c.AddLeads(context.Background(), 3, mkLeads(400))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.requests()) != 6 || !res.Batches[1].Uncertain || !res.Batches[3].Uncertain || res.Batches[0].Uncertain {
			t.Fatalf("requests %d batches %+v", len(f.requests()), res.Batches)
		}
		f.check(t, "3", 400)
	})
	t.Run("create campaign not retried", func(t *testing.T) {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		hc := &http.Client{Transport: &acceptThenTimeout{next: srv.Client().Transport, when: func(n int) bool { return n == 1 }}}
		c := newClient(t, srv, clock, func(c *Config) { c.HTTPClient = hc })
		_, err := c.CreateCampaign(context.Background(), "x", sequencer.PlanSequence("a"))
		if !sequencer.IsRetryable(err) || !sequencer.IsUnknownOutcome(err) || len(f.requests()) != 1 {
			t.Fatalf("err %v, %d requests", err, len(f.requests()))
		}
		noKey(t, err.Error())
	})
}

func TestRetryCapAndContext(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	f.fault = func(n int, r *http.Request) (int, map[string]string, string, bool) {
		return 503, nil, "upstream unavailable", false
	}
	c := newClient(t, srv, clock, func(c *Config) { c.MaxAttempts = 4; c.BaseBackoff = time.Second; c.MaxBackoff = 2 * time.Second })
	_, err := c.AddLeads(context.Background(), 1, mkLeads(10))
	var se *sequencer.Error
	if !errors.As(err, &se) || se.Attempts != 4 || !se.Retryable || se.StatusCode != 503 || len(f.requests()) != 4 {
		t.Fatalf("err %v requests %d", err, len(f.requests()))
	}
	// back-off 1s, 2s, 2s (capped)
	if clock.Slept() != 5*time.Second {
		t.Fatalf("slept %v", clock.Slept())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.AddLeads(ctx, 1, mkLeads(10))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ctx err %v", err)
	}
}

func TestTolerantDecoding(t *testing.T) {
	cases := map[string]struct {
		body          string
		added, skiped int
		reason        string
	}{
		"docs":     {`{"ok":true,"added_count":"3","skipped_count":2,"skipped_leads":[{"email":"a@b.c","reason":"unsubscribed"},"x@y.z"],"new":{}}`, 3, 2, "unsubscribed"},
		"spec":     {`{"inserted_count":4,"duplicate_count":1,"blocked_count":2}`, 4, 3, "blocked"},
		"observed": {`{"ok":true,"upload_count":1,"total_leads":5,"already_added_to_campaign":1,"invalid_email_count":1,"invalid_emails":["bad"],"unsubscribed_leads":[{"email":"u@x.y"}],"block_count":1,"bounce_count":null}`, 1, 4, "invalid_email"},
	}
	for name, tc := range cases {
		var r AddLeadsResponse
		if err := json.Unmarshal([]byte(tc.body), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Added() != tc.added || r.Skipped() != tc.skiped || r.Reasons()[tc.reason] == 0 {
			t.Errorf("%s: added %d skipped %d reasons %v", name, r.Added(), r.Skipped(), r.Reasons())
		}
	}
}

func TestLeadLimitAndEmptyAcceptance(t *testing.T) {
	for _, tc := range []struct {
		body      string
		retryable bool
	}{{`{"ok":true,"upload_count":10,"is_lead_limit_exhausted":true}`, false}, {`{"ok":true,"total_leads":0}`, true}} {
		clock := sequencertest.NewFakeClock()
		f, srv := newFake(t, clock)
		f.fault = func(n int, r *http.Request) (int, map[string]string, string, bool) { return 200, nil, tc.body, false }
		c := newClient(t, srv, clock, nil)
		res, err := c.AddLeads(context.Background(), 1, mkLeads(250))
		if err == nil || sequencer.IsRetryable(err) != tc.retryable || len(f.requests()) != 1 || len(res.Batches) != 1 {
			t.Fatalf("%s: err %v requests %d", tc.body, err, len(f.requests()))
		}
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	// Unreachable server: the transport error carries the full URL.
	clock := sequencertest.NewFakeClock()
	var logs bytes.Buffer
	c, err := New(Config{APIKey: testKey, BaseURL: "http://127.0.0.1:1/api/v1", Clock: clock, MaxAttempts: 2,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AddLeads(context.Background(), 1, mkLeads(1))
	if err == nil || !sequencer.IsRetryable(err) {
		t.Fatalf("err %v", err)
	}
	noKey(t, err.Error())
	noKey(t, fmt.Sprintf("%#v", err.Error()))
	noKey(t, logs.String())
	if !strings.Contains(err.Error(), "REDACTED") {
		t.Fatalf("expected redacted URL in %v", err)
	}
	// Wrong key: 401 body echo is not retried.
	_, srv := newFake(t, clock)
	c2, _ := New(Config{APIKey: "other-SECRET", BaseURL: srv.URL + "/api/v1", Clock: clock})
	_, err = c2.CreateCampaign(context.Background(), "x", nil)
	var se *sequencer.Error
	if !errors.As(err, &se) || se.StatusCode != 401 || !errors.Is(err, sequencer.ErrPermanent) {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "other-SECRET") {
		t.Fatal("key leaked")
	}
}

func BenchmarkAddLeads5000(b *testing.B) {
	for b.Loop() {
		clock := sequencertest.NewFakeClock()
		f := &fakeSmartlead{clock: clock, leads: map[string]map[string]int{}}
		srv := httptest.NewServer(f)
		c, _ := New(Config{APIKey: testKey, BaseURL: srv.URL + "/api/v1", Clock: clock, HTTPClient: srv.Client()})
		start := clock.Now()
		if _, err := c.AddLeads(context.Background(), 1, mkLeads(5000)); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(clock.Now().Sub(start).Seconds(), "fake-s/op")
		b.ReportMetric(float64(len(f.requests())), "requests/op")
		srv.Close()
	}
}

func TestThrottleNeverExceedsLimit(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	f, srv := newFake(t, clock)
	c := newClient(t, srv, clock, func(c *Config) { c.BatchSize = 10 })
	if _, err := c.AddLeads(context.Background(), 2, mkLeads(1500)); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	win := maxInWindow(reqs, time.Minute)
	t.Logf("%d requests over %v, max %d in any 60 s window", len(reqs), reqs[len(reqs)-1].At.Sub(reqs[0].At), win)
	if len(reqs) != 150 || win > DefaultRatePerMinute+DefaultBurst || win > 60 {
		t.Fatalf("%d requests, %d in a minute", len(reqs), win)
	}
	if w10 := maxInWindow(reqs, 10*time.Second); w10 > 10+DefaultBurst {
		t.Fatalf("%d requests in 10 s", w10)
	}
}
