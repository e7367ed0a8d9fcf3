package sequencertest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what a fault hook makes the server answer instead of the
// normal response: Status (0: the normal answer), with Header and Body.
// Apply says whether the request takes effect anyway (a 500 from a
// gateway after the backend applied it).
type Fault struct {
	Status int
	Header map[string]string
	Body   string
	Apply  bool
}

// Request is one recorded request.
type Request struct {
	N      int
	Method string
	Path   string
	Query  map[string][]string
	Body   map[string]any
	At     time.Time
	Status int
}

// Smartlead is an httptest handler following Smartlead API v1's documented
// contract for what the exporter uses: POST /api/v1/campaigns/create, POST
// /campaigns/{id}/sequences, POST /campaigns/{id}/leads (at most 400 leads,
// dedupe on the address within a campaign, invalid addresses refused by
// name), GET /campaigns/{id}/leads (offset/limit ≤ 1000, leads under
// "data" each holding a "lead"), the api_key query parameter, and the rate
// limit: Limit requests per Window per key (sliding), over which it answers
// 429 with Retry-After and X-RateLimit-* headers. Every request is recorded.
type Smartlead struct {
	Key    string
	Clock  interface{ Now() time.Time }
	Limit  int           // default 60
	Window time.Duration // default 1 minute
	// Fault, when set, is asked before each request (n counts from 1).
	Fault func(n int, r *http.Request) Fault

	state
	times  []time.Time
	nextID int
	leadID int
}

type campaign struct {
	order    []string
	ids      map[string]int
	inserted map[string]int // address → times inserted (must stay 1)
	submits  map[string]int // address → times it came in an applied add
}

// state is what a fake sequencer holds: the requests it got and its
// campaigns. Its exported methods are the fakes'.
type state struct {
	mu        sync.Mutex
	reqs      []Request
	campaigns map[string]*campaign
}

// Requests returns the recorded requests.
func (s *state) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Leads returns the campaign's addresses with the times each was inserted
// (more than 1 would be a duplicate send) and submitted.
func (s *state) Leads(campaignID string) (inserted, submitted map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inserted, submitted = map[string]int{}, map[string]int{}
	if c := s.campaigns[campaignID]; c != nil {
		maps.Copy(inserted, c.inserted)
		maps.Copy(submitted, c.submits)
	}
	return inserted, submitted
}

// AddCampaign makes a campaign exist (as if created in the app).
func (s *state) AddCampaign(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.campaign(id)
}

// campaign returns the campaign, made when missing (under s.mu).
func (s *state) campaign(id string) *campaign {
	if s.campaigns == nil {
		s.campaigns = map[string]*campaign{}
	}
	c := s.campaigns[id]
	if c == nil {
		c = &campaign{ids: map[string]int{}, inserted: map[string]int{}, submits: map[string]int{}}
		s.campaigns[id] = c
	}
	return c
}

// record appends a request and returns its number (from 1).
func (s *state) record(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.N = len(s.reqs) + 1
	s.reqs = append(s.reqs, r)
	return r.N
}

// reply answers request n: the fault's status, headers and body when
// status is set, else the normal answer (code, res as JSON); the status is
// recorded.
func (s *state) reply(w http.ResponseWriter, n, status int, hdr map[string]string, out string, code int, res any) {
	if status == 0 {
		status = code
		if b, err := json.Marshal(res); err == nil {
			out = string(b)
		}
	}
	s.mu.Lock()
	s.reqs[n-1].Status = status
	s.mu.Unlock()
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, out)
}

func (s *Smartlead) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// ServeHTTP implements http.Handler.
func (s *Smartlead) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	now := s.now()
	n := s.record(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, At: now})
	s.mu.Lock()
	status, hdr, out, apply := s.limit(now)
	s.mu.Unlock()
	if r.URL.Query().Get("api_key") != s.Key {
		status, out, apply = 401, `{"message":"Invalid API Key"}`, false
	}
	if status == 0 && s.Fault != nil {
		if f := s.Fault(n, r); f.Status != 0 {
			status, hdr, out, apply = f.Status, f.Header, f.Body, f.Apply
		}
	}
	var res any
	var code int
	if status == 0 || apply {
		res, code = s.apply(r.Method, r.URL.Path, r.URL.Query(), body)
	}
	s.reply(w, n, status, hdr, out, code, res)
}

// limit applies the sliding-window rate limit (under s.mu).
func (s *Smartlead) limit(now time.Time) (int, map[string]string, string, bool) {
	limit, win := s.Limit, s.Window
	if limit <= 0 {
		limit = 60
	}
	if win <= 0 {
		win = time.Minute
	}
	i := 0
	for i < len(s.times) && !s.times[i].After(now.Add(-win)) {
		i++
	}
	s.times = s.times[i:]
	reset := now.Add(win)
	if len(s.times) > 0 {
		reset = s.times[0].Add(win)
	}
	if len(s.times) >= limit {
		wait := max(1, int(reset.Sub(now).Seconds()+0.999))
		return 429, map[string]string{"Retry-After": strconv.Itoa(wait), "X-RateLimit-Limit": strconv.Itoa(limit),
				"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10)},
			fmt.Sprintf(`{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests. Please retry after %d seconds.","retry_after":%d}}`, wait, wait), false
	}
	s.times = append(s.times, now)
	return 0, nil, "", false
}

func (s *Smartlead) apply(method, path string, q map[string][]string, body map[string]any) (any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := strings.Split(strings.Trim(path, "/"), "/") // api v1 campaigns {id} ...
	switch {
	case method == http.MethodPost && path == "/api/v1/campaigns/create":
		name, _ := body["name"].(string)
		if name == "" {
			return map[string]any{"error": "name is required"}, 400
		}
		s.nextID++
		id := strconv.Itoa(1000 + s.nextID)
		s.campaign(id)
		return map[string]any{"ok": true, "id": 1000 + s.nextID, "name": name, "created_at": s.now().UTC().Format(time.RFC3339)}, 200
	case len(parts) == 5 && parts[2] == "campaigns" && parts[4] == "sequences" && method == http.MethodPost:
		if s.campaigns[parts[3]] == nil {
			return map[string]any{"error": "Campaign not found"}, 404
		}
		return map[string]any{"ok": true, "data": "sequences saved"}, 200
	case len(parts) == 5 && parts[2] == "campaigns" && parts[4] == "leads" && method == http.MethodPost:
		c := s.campaigns[parts[3]]
		if c == nil {
			return map[string]any{"error": "Campaign not found"}, 404
		}
		list, _ := body["lead_list"].([]any)
		if len(list) == 0 || len(list) > 400 {
			return map[string]any{"error": map[string]any{"code": "VALIDATION_ERROR", "message": "lead_list must hold 1 to 400 leads"}}, 400
		}
		added, already := 0, 0
		invalid := []string{}
		for _, l := range list {
			m, _ := l.(map[string]any)
			e, _ := m["email"].(string)
			e = strings.ToLower(e)
			if !strings.Contains(e, "@") || strings.HasSuffix(e, ".invalid") {
				invalid = append(invalid, e)
				continue
			}
			c.submits[e]++
			if c.inserted[e] > 0 {
				already++
				continue
			}
			c.inserted[e]++
			s.leadID++
			c.ids[e] = 5000000 + s.leadID
			c.order = append(c.order, e)
			added++
		}
		return map[string]any{"ok": true, "upload_count": added, "total_leads": added, "already_added_to_campaign": already,
			"duplicate_count": 0, "invalid_email_count": len(invalid), "invalid_emails": invalid, "unsubscribed_leads": []any{},
			"block_count": 0, "bounce_count": 0, "is_lead_limit_exhausted": false, "lead_import_stopped_count": 0}, 200
	case len(parts) == 5 && parts[2] == "campaigns" && parts[4] == "leads" && method == http.MethodGet:
		c := s.campaigns[parts[3]]
		if c == nil {
			return map[string]any{"error": "Campaign not found"}, 404
		}
		offset, _ := strconv.Atoi(first(q["offset"]))
		limit, _ := strconv.Atoi(first(q["limit"]))
		if limit <= 0 {
			limit = 100
		}
		if limit > 1000 || offset < 0 {
			return map[string]any{"error": "limit must be at most 1000"}, 400
		}
		data := []any{}
		for i := offset; i < len(c.order) && i < offset+limit; i++ {
			e := c.order[i]
			data = append(data, map[string]any{"campaign_lead_map_id": 9000000 + c.ids[e], "status": "STARTED",
				"lead": map[string]any{"id": c.ids[e], "email": e}})
		}
		return map[string]any{"total_leads": strconv.Itoa(len(c.order)), "offset": offset, "limit": limit, "data": data}, 200
	}
	return map[string]any{"error": "not found"}, 404
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// AcceptThenTimeout is a transport that lets a request reach the server,
// reads the answer, and then reports a timeout to the client when Fail
// says so: the request took effect but the client does not know.
type AcceptThenTimeout struct {
	Base http.RoundTripper
	Fail func(r *http.Request) bool
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout (simulated, after the server accepted)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// RoundTrip implements http.RoundTripper.
func (a AcceptThenTimeout) RoundTrip(r *http.Request) (*http.Response, error) {
	base := a.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil || a.Fail == nil || !a.Fail(r) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, timeoutError{}
}
