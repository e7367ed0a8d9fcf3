package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/store"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	st    *fakeStore
	clock *fakeClock
	h     http.Handler
	mu    sync.Mutex
	woken []string
}

func newEnv(t *testing.T, adjust ...func(*Config)) *env {
	t.Helper()
	e := &env{st: newFake(), clock: &fakeClock{now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}}
	cfg := Config{Store: e.st, Clock: e.clock.Now, Wake: func(_ context.Context, id string) {
		e.mu.Lock()
		e.woken = append(e.woken, id)
		e.mu.Unlock()
	}}
	for _, a := range adjust {
		a(&cfg)
	}
	e.h = New(cfg)
	return e
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errCode() string {
	var b errorBody
	_ = json.Unmarshal(a.body, &b)
	return b.Error.Code
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// do sends a request; body may be a string (sent as is) or a value sent as
// JSON.
func (e *env) do(t *testing.T, method, path, key string, body any, header ...string) answer {
	t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r, ctype = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, path, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); len(b) > 0 && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if res.StatusCode >= 400 {
		var eb errorBody
		if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			t.Errorf("%s %s: %d error body %s is not {\"error\": {\"code\", \"message\"}}", method, path, res.StatusCode, b)
		}
	}
	return answer{res.StatusCode, res.Header, b}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name, header string
	}{
		{"missing", ""},
		{"not bearer", "Basic " + keyA},
		{"empty bearer", "Bearer "},
		{"unknown key", "Bearer kl_nosuchkey"},
		{"revoked key", "Bearer " + keyOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/api/v1/emails", "/api/v1/emails/" + emailOfA, "/api/v1/campaigns/" + batchA} {
				a := e.do(t, "GET", path, "", nil, "Authorization", tc.header)
				if a.status != 401 || a.errCode() != "unauthorized" || a.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: %d %s %v, want 401 unauthorized with WWW-Authenticate", path, a.status, a.body, a.header)
				}
			}
			a := e.do(t, "POST", "/api/v1/emails/"+emailOfA+"/approve", "", nil, "Authorization", tc.header)
			if a.status != 401 || e.st.status(emailOfA) != "pending_review" {
				t.Errorf("approve: %d, status %s", a.status, e.st.status(emailOfA))
			}
		})
	}
	// Bearer is case-insensitive; the public routes need no key.
	if a := e.do(t, "GET", "/api/v1/emails", "", nil, "Authorization", "bearer "+keyA); a.status != 200 {
		t.Errorf("lower-case bearer: %d %s", a.status, a.body)
	}
	for _, p := range []string{"/api/v1/healthz", "/api/openapi.json"} {
		if a := e.do(t, "GET", p, "", nil); a.status != 200 {
			t.Errorf("%s: %d", p, a.status)
		}
	}
}

// A key of client A sees nothing of client B: every id of B is 404, the
// same answer as an id that does not exist, and nothing changes.
func TestOtherClientIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/emails/" + emailOfB, nil},
		{"POST", "/api/v1/emails/" + emailOfB + "/approve", nil},
		{"POST", "/api/v1/emails/" + emailOfB + "/edit", map[string]string{"body": "x"}},
		{"POST", "/api/v1/emails/" + emailOfB + "/reject", map[string]string{"reason": "other"}},
		{"GET", "/api/v1/campaigns/" + batchB, nil},
		{"POST", "/api/v1/campaigns", map[string]string{"batch_id": batchB}},
	} {
		a := e.do(t, tc.method, tc.path, keyA, tc.body)
		if a.status != 404 || a.errCode() != "not_found" {
			t.Errorf("%s %s: %d %s, want 404 not_found", tc.method, tc.path, a.status, a.body)
		}
		if strings.Contains(string(a.body), "client b") || strings.Contains(string(a.body), clientB) {
			t.Errorf("%s %s: the answer names the other client: %s", tc.method, tc.path, a.body)
		}
		// The same request for an id that does not exist answers the same.
		missing := e.do(t, tc.method, strings.NewReplacer(emailOfB, noSuchID, batchB, noSuchID).Replace(tc.path), keyA,
			map[bool]any{true: map[string]string{"batch_id": noSuchID}, false: tc.body}[tc.path == "/api/v1/campaigns"])
		if missing.status != 404 {
			t.Errorf("%s %s (missing id): %d", tc.method, tc.path, missing.status)
		}
	}
	if s := e.st.status(emailOfB); s != "pending_review" {
		t.Errorf("B's email is %s", s)
	}
	if len(e.st.decisions) != 0 || len(e.woken) != 0 {
		t.Errorf("decisions %v, woken %v", e.st.decisions, e.woken)
	}
	// The list shows A's email only.
	var page EmailPage
	e.do(t, "GET", "/api/v1/emails?status=any", keyA, nil).decode(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != emailOfA {
		t.Errorf("A's list: %+v", page.Data)
	}
	// B's key sees B's email.
	if a := e.do(t, "GET", "/api/v1/emails/"+emailOfB, keyB, nil); a.status != 200 {
		t.Errorf("B's key: %d %s", a.status, a.body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Rate, c.Burst = 0.5, 3 })
	for i := range 3 {
		if a := e.do(t, "GET", "/api/v1/emails", keyA, nil); a.status != 200 {
			t.Fatalf("request %d: %d", i, a.status)
		}
	}
	checks := e.st.checkCalls()
	a := e.do(t, "GET", "/api/v1/emails", keyA, nil)
	if a.status != 429 || a.errCode() != "rate_limited" || a.header.Get("Retry-After") != "2" {
		t.Fatalf("4th request: %d %s Retry-After %q, want 429 rate_limited after 2 s", a.status, a.body, a.header.Get("Retry-After"))
	}
	if n := e.st.checkCalls() - checks; n != 0 {
		t.Errorf("a limited request checked the key %d times in the database", n)
	}
	// Another key of the same client has its own bucket; refused requests
	// took no token.
	if a := e.do(t, "GET", "/api/v1/emails", keyA2, nil); a.status != 200 {
		t.Errorf("second key: %d", a.status)
	}
	e.clock.Add(1500 * time.Millisecond)
	if a := e.do(t, "GET", "/api/v1/emails", keyA, nil); a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Errorf("after 1.5 s: %d Retry-After %q, want 429 and 1", a.status, a.header.Get("Retry-After"))
	}
	e.clock.Add(500 * time.Millisecond)
	if a := e.do(t, "GET", "/api/v1/emails", keyA, nil); a.status != 200 {
		t.Errorf("after 2 s: %d", a.status)
	}
	// A key revoked while its bucket has tokens is refused at once.
	e.st.revoke(keyA2)
	if a := e.do(t, "GET", "/api/v1/emails", keyA2, nil); a.status != 401 {
		t.Errorf("revoked key: %d", a.status)
	}
	// Unauthenticated requests are refused before the limiter (and use no
	// key's tokens); public routes are not limited.
	for range 5 {
		if a := e.do(t, "GET", "/api/v1/healthz", "", nil); a.status != 200 {
			t.Fatalf("healthz: %d", a.status)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxBody, c.MaxSmallBody = 1024, 100 })
	big := `{"csv": "` + strings.Repeat("x", 2000) + `"}`
	for _, tc := range []struct {
		name, path, body string
		chunked          bool
	}{
		{"campaign, Content-Length", "/api/v1/campaigns", big, false},
		{"campaign, chunked", "/api/v1/campaigns", big, true},
		{"edit", "/api/v1/emails/" + emailOfA + "/edit", `{"body": "` + strings.Repeat("y", 200) + `"}`, false},
		{"reject, chunked", "/api/v1/emails/" + emailOfA + "/reject", `{"reason": "other", "details": "` + strings.Repeat("z", 200) + `"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
			if tc.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(strings.NewReader(tc.body))
			}
			req.Header.Set("Authorization", "Bearer "+keyA)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, req)
			a := answer{w.Code, w.Header(), w.Body.Bytes()}
			if a.status != 413 || a.errCode() != "payload_too_large" {
				t.Errorf("%d %s, want 413 payload_too_large", a.status, a.body)
			}
		})
	}
	if len(e.st.uploads) != 0 || e.st.status(emailOfA) != "pending_review" {
		t.Errorf("uploads %v, status %s", e.st.uploads, e.st.status(emailOfA))
	}
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var d EmailDetail
	e.do(t, "POST", "/api/v1/emails/"+emailOfA+"/approve", keyA, nil).decode(t, &d)
	if d.Status != "approved" || d.ID != emailOfA || d.ReviewedAt == nil {
		t.Errorf("approved email %+v", d)
	}
	if len(e.st.decisions) != 1 || e.st.decisions[0].Via != "api:"+keyAID || e.st.decisions[0].Action != "approve" || e.st.decisions[0].ReviewerID != "" {
		t.Errorf("decisions %+v", e.st.decisions)
	}
	// Decided twice: 409 conflict naming the status.
	for _, tc := range []struct {
		action string
		body   any
	}{{"approve", "{}"}, {"edit", map[string]string{"body": "new"}}, {"reject", map[string]string{"reason": "low_quality"}}} {
		a := e.do(t, "POST", "/api/v1/emails/"+emailOfA+"/"+tc.action, keyA, tc.body, "Content-Type", "application/json")
		var eb errorBody
		a.decode(t, &eb)
		if a.status != 409 || eb.Error.Code != "conflict" || !strings.Contains(eb.Error.Message, "approved") ||
			eb.Error.Details.(map[string]any)["status"] != "approved" {
			t.Errorf("%s again: %d %s, want 409 conflict naming approved", tc.action, a.status, a.body)
		}
	}

	// Edit: the subject is left to the store when left out.
	e.st.addEmail("ffffffff-0000-4000-8000-0000000000a2", clientA, 80, time.Now())
	e.do(t, "POST", "/api/v1/emails/ffffffff-0000-4000-8000-0000000000a2/edit", keyA, map[string]string{"body": "  Bonjour,\n\nMieux.  "}).decode(t, &d)
	last := e.st.decisions[len(e.st.decisions)-1]
	if d.Status != "approved_edited" || last.Subject != "" || last.Body != "Bonjour,\n\nMieux." {
		t.Errorf("edit: %+v, decision %+v", d, last)
	}
	// Reject with a reason.
	e.st.addEmail("ffffffff-0000-4000-8000-0000000000a3", clientA, 80, time.Now())
	e.do(t, "POST", "/api/v1/emails/ffffffff-0000-4000-8000-0000000000a3/reject", keyA2, map[string]string{"reason": "wrong_persona", "details": "not a buyer"}).decode(t, &d)
	last = e.st.decisions[len(e.st.decisions)-1]
	if d.Status != "rejected" || d.RejectionReason != "wrong_persona" || last.Via != "api:"+keyA2ID || last.Details != "not a buyer" {
		t.Errorf("reject: %+v, decision %+v", d, last)
	}

	// Bad requests change nothing.
	e.st.addEmail("ffffffff-0000-4000-8000-0000000000a4", clientA, 80, time.Now())
	id := "ffffffff-0000-4000-8000-0000000000a4"
	n := len(e.st.decisions)
	for _, tc := range []struct {
		action, body string
	}{
		{"reject", `{"reason": "ugly"}`},
		{"reject", `{}`},
		{"reject", ``},
		{"edit", `{"body": "  "}`},
		{"edit", `{"body": "x", "subject": ""}`},
		{"edit", `{"body": "x", "subject": "two\nlines"}`},
		{"edit", `{"body": "x", "sujet": "typo"}`},
		{"edit", `{"body": "x"} {}`},
		{"edit", `{"body": 3}`},
		{"approve", `{"force": true}`},
		{"approve", `not json`},
	} {
		a := e.do(t, "POST", "/api/v1/emails/"+id+"/"+tc.action, keyA, tc.body, "Content-Type", "application/json")
		if a.status != 400 || a.errCode() != "invalid_request" {
			t.Errorf("%s %s: %d %s, want 400 invalid_request", tc.action, tc.body, a.status, a.body)
		}
	}
	if len(e.st.decisions) != n || e.st.status(id) != "pending_review" {
		t.Errorf("a bad request decided: %v", e.st.decisions[n:])
	}
	// A malformed id is a plain 404.
	if a := e.do(t, "POST", "/api/v1/emails/not-a-uuid/approve", keyA, nil); a.status != 404 {
		t.Errorf("malformed id: %d", a.status)
	}
}

func TestGetEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.do(t, "GET", "/api/v1/emails/"+emailOfA, keyA, nil)
	var raw map[string]any
	a.decode(t, &raw)
	for _, k := range []string{"id", "client_id", "subject", "body", "final_body", "variables", "quality", "score", "status", "created_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %s", k, a.body)
		}
	}
	var d EmailDetail
	a.decode(t, &d)
	if d.Variables["target_persona"].Agent != "persona" || d.Quality.Score != 70 || len(d.Quality.Flags) != 1 {
		t.Errorf("detail %+v", d)
	}
}

func TestEmailPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	// Seven pending emails of A (with the fake's own): scores 10..60 and 70.
	for i := range 6 {
		e.st.addEmail(fmt.Sprintf("ffffffff-0000-4000-8000-00000000010%d", i), clientA, 60-10*i, t0.Add(time.Duration(i)*time.Minute))
	}
	var ids []string
	var scores []int
	path := "/api/v1/emails?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		var p EmailPage
		a := e.do(t, "GET", path, keyA, nil)
		a.decode(t, &p)
		if a.status != 200 || len(p.Data) == 0 || len(p.Data) > 3 {
			t.Fatalf("%s: %d %s", path, a.status, a.body)
		}
		for _, it := range p.Data {
			ids = append(ids, it.ID)
			scores = append(scores, it.Score)
		}
		if p.HasMore != (p.NextCursor != "") || p.HasMore != (p.Next != "") {
			t.Errorf("page %+v", p)
		}
		if p.Next != "" && (!strings.Contains(p.Next, "limit=3") || !strings.Contains(p.Next, "after=")) {
			t.Errorf("next %q keeps neither the limit nor the cursor", p.Next)
		}
		path = p.Next
	}
	if len(ids) != 7 || fmt.Sprint(scores) != "[10 20 30 40 50 60 70]" {
		t.Errorf("pages gave %d emails, scores %v", len(ids), scores)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("%s twice", id)
		}
		seen[id] = true
	}
	// Filters reach the store; bad ones are 400.
	var p EmailPage
	e.do(t, "GET", "/api/v1/emails?min_score=35&max_score=55&status=pending_review", keyA, nil).decode(t, &p)
	if len(p.Data) != 2 || p.Data[0].Score != 40 || p.Data[1].Score != 50 {
		t.Errorf("score filter: %+v", p.Data)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "status=done", "min_score=101", "max_score=0",
		"min_score=50&max_score=40", "batch_id=nope", "from=yesterday", "from=2026-12-02&to=2026-12-01", "after=bogus"} {
		a := e.do(t, "GET", "/api/v1/emails?"+q, keyA, nil)
		if a.status != 400 || a.errCode() != "invalid_request" {
			t.Errorf("%s: %d %s, want 400 invalid_request", q, a.status, a.body)
		}
	}
}

func TestEmailFilter(t *testing.T) {
	t.Parallel()
	q := map[string][]string{"status": {"any"}, "batch_id": {batchA}, "from": {"2026-12-01"}, "to": {"2026-12-01"},
		"q": {" voxaly "}, "min_score": {"60"}, "limit": {"10"}}
	f, msg := emailFilter(q)
	if msg != "" {
		t.Fatal(msg)
	}
	want := store.EmailFilter{Status: "any", BatchID: batchA, Text: "voxaly", MinScore: 60, Limit: 10,
		From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}
	if f != want {
		t.Errorf("filter %+v\nwant %+v", f, want)
	}
	if f, _ := emailFilter(nil); f.Limit != DefaultLimit || f.Status != "" {
		t.Errorf("default filter %+v", f)
	}
}

func TestCreateCampaignInline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := map[string]any{
		"template": "Cold Email V1",
		"contacts": []map[string]any{
			{"first_name": "Camille", "Last Name": "Rousseau", "email": "camille@voxaly.example", "Company": "Voxaly", "website": "https://voxaly.example", "employees": 42},
			{"first_name": "NoCompany", "email": "x@y.example"},
			{"first_name": "Léa", "email": "lea@nova.example", "company_name": "Nova, \"Inc\"\nParis", "vip": true, "notes": nil},
			{},
			{"first_name": "Bad", "email": "not-an-email", "company_name": "Acme"},
			{"email": knownMail, "company_name": "Acme"},
			{"email": "CAMILLE@voxaly.example", "company_name": "Voxaly again"},
			{"email": "z@z.example", "Company": "A", "company_name": "B"},
		},
	}
	a := e.do(t, "POST", "/api/v1/campaigns", keyA, body)
	if a.status != 202 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var c Campaign
	a.decode(t, &c)
	if c.BatchID != newBatch || c.Status != "queued" || c.URL != "/api/v1/campaigns/"+newBatch || a.header.Get("Location") != c.URL {
		t.Errorf("campaign %+v, Location %q", c, a.header.Get("Location"))
	}
	if c.Upload == nil || c.Upload.Imported != 2 || c.Upload.Read != 8 || c.Counts.Total != 2 || c.Counts.Pending != 2 {
		t.Fatalf("upload %+v counts %+v", c.Upload, c.Counts)
	}
	rejected := map[int]string{}
	for _, r := range c.Upload.Rejected {
		if r.Index == nil || r.Line != 0 {
			t.Errorf("rejected %+v: want an index, no line", r)
			continue
		}
		rejected[*r.Index] = r.Reason
	}
	if len(rejected) != 5 || rejected[1] == "" || rejected[3] == "" || !strings.Contains(rejected[4], "email") ||
		!strings.Contains(rejected[6], "duplicate") || !strings.Contains(rejected[7], "both mean company_name") {
		t.Errorf("rejected %v, want indexes 1, 3, 4, 6, 7", rejected)
	}
	for i, r := range c.Upload.Rejected {
		if i > 0 && *r.Index < *c.Upload.Rejected[i-1].Index {
			t.Errorf("rejected not in order: %+v", c.Upload.Rejected)
		}
	}
	if len(c.Upload.Duplicates) != 1 || *c.Upload.Duplicates[0].Index != 5 || c.Upload.Duplicates[0].ContactID != noSuchID {
		t.Errorf("duplicates %+v", c.Upload.Duplicates)
	}
	// The store got the contacts as CSV, for A and the named template.
	if len(e.st.uploads) != 1 || e.st.uploads[0].ClientID != clientA || e.st.uploads[0].TemplateID != tmplA {
		t.Fatalf("uploads %+v", e.st.uploads)
	}
	f, err := contacts.Read(strings.NewReader(e.st.uploads[0].CSV))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ct := range f.Contacts {
		got = append(got, ct.FirstName+"|"+ct.LastName+"|"+ct.Email+"|"+ct.CompanyName+"|"+ct.Get("employees")+"|"+ct.Get("vip"))
	}
	want := []string{"Camille|Rousseau|camille@voxaly.example|Voxaly|42|", "Léa||lea@nova.example|Nova, \"Inc\"\nParis||true", "||" + knownMail + "|Acme||"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the store saw\n%q\nwant\n%q", got, want)
	}
	if len(e.woken) != 1 || e.woken[0] != newBatch {
		t.Errorf("woken %v", e.woken)
	}
	// The campaign can then be read.
	var again Campaign
	e.do(t, "GET", c.URL, keyA, nil).decode(t, &again)
	if again.BatchID != newBatch || again.Counts.Total != 2 || again.Upload != nil {
		t.Errorf("GET %+v", again)
	}
}

func TestCreateCampaignCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	csvText := "prénom;e-mail;entreprise\nCamille;camille@voxaly.example;Voxaly\nBob;bob@;Acme\n"
	// As a JSON field, the latest template.
	var c Campaign
	a := e.do(t, "POST", "/api/v1/campaigns", keyB, map[string]any{"csv": csvText})
	a.decode(t, &c)
	if a.status != 202 || c.Upload.Imported != 1 || len(c.Upload.Rejected) != 1 || c.Upload.Rejected[0].Line != 3 || c.Upload.Rejected[0].Index != nil {
		t.Errorf("csv field: %d %s", a.status, a.body)
	}
	if e.st.uploads[0].ClientID != clientB || e.st.uploads[0].TemplateID != "" {
		t.Errorf("upload %+v", e.st.uploads[0])
	}
	// As the body, the template by id in the query.
	a = e.do(t, "POST", "/api/v1/campaigns?template_id="+tmplA, keyA, csvText, "Content-Type", "text/csv; charset=utf-8")
	if a.status != 202 || e.st.uploads[1].TemplateID != tmplA || e.st.uploads[1].ClientID != clientA {
		t.Errorf("csv body: %d %s %+v", a.status, a.body, e.st.uploads)
	}
	// Another client's template is not found.
	a = e.do(t, "POST", "/api/v1/campaigns?template_id="+tmplB, keyA, csvText, "Content-Type", "text/csv")
	if a.status != 404 || strings.Contains(string(a.body), clientB) {
		t.Errorf("B's template: %d %s", a.status, a.body)
	}
}

func TestCreateCampaignRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		body  any
		ctype string
		code  int
		err   string
	}{
		{"empty body", "", "application/json", 400, "invalid_request"},
		{"nothing", map[string]any{"template": "Cold Email V1"}, "", 400, "invalid_request"},
		{"two sources", map[string]any{"csv": "a", "batch_id": batchA}, "", 400, "invalid_request"},
		{"empty contacts", map[string]any{"contacts": []any{}}, "", 400, "invalid_request"},
		{"nested value", map[string]any{"contacts": []any{map[string]any{"email": "a@b.example", "company_name": "X", "tags": []string{"a"}}}}, "", 400, "invalid_request"},
		{"not objects", map[string]any{"contacts": []any{"a@b.example"}}, "", 400, "invalid_request"},
		{"unknown field", map[string]any{"contact": []any{}}, "", 400, "invalid_request"},
		{"template twice", map[string]any{"template": "Cold Email V1", "template_id": tmplA, "csv": "x"}, "", 400, "invalid_request"},
		{"template with batch", map[string]any{"template": "Cold Email V1", "batch_id": batchA}, "", 400, "invalid_request"},
		{"unknown template", map[string]any{"template": "Nope", "csv": "email,company_name\na@b.example,X\n"}, "", 404, "not_found"},
		{"no company column", map[string]any{"csv": "email\na@b.example\n"}, "", 422, "unprocessable"},
		{"all rejected", map[string]any{"contacts": []any{map[string]any{"email": "bad", "company_name": "X"}}}, "", 422, "unprocessable"},
		{"all known", map[string]any{"contacts": []any{map[string]any{"email": knownMail, "company_name": "X"}}}, "", 422, "unprocessable"},
		{"xml", "<contacts/>", "application/xml", 415, "unsupported_media_type"},
		{"bad batch id", map[string]any{"batch_id": "12"}, "", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			a := e.do(t, "POST", "/api/v1/campaigns", keyA, tc.body, hdr...)
			if a.status != tc.code || a.errCode() != tc.err {
				t.Errorf("%d %s, want %d %s", a.status, a.body, tc.code, tc.err)
			}
		})
	}
	// Nothing imported reports why, in details.
	a := e.do(t, "POST", "/api/v1/campaigns", keyA, map[string]any{"contacts": []any{map[string]any{"email": "bad", "company_name": "X"}}})
	var eb struct {
		Error struct {
			Details uploadJSON `json:"details"`
		} `json:"error"`
	}
	a.decode(t, &eb)
	if len(eb.Error.Details.Rejected) != 1 || *eb.Error.Details.Rejected[0].Index != 0 {
		t.Errorf("details %s", a.body)
	}
	if len(e.woken) != 0 {
		t.Errorf("woken %v", e.woken)
	}
}

func TestCampaignOfBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.do(t, "POST", "/api/v1/campaigns", keyA, map[string]string{"batch_id": batchA})
	var c Campaign
	a.decode(t, &c)
	if a.status != 202 || c.BatchID != batchA || c.Status != "running" || c.Progress != 0.5 || c.Counts.Total != 4 || c.Upload != nil {
		t.Errorf("%d %s", a.status, a.body)
	}
	if len(e.woken) != 1 || e.woken[0] != batchA {
		t.Errorf("woken %v", e.woken)
	}
	e.do(t, "GET", "/api/v1/campaigns/"+batchB, keyB, nil).decode(t, &c)
	if c.Status != "completed" || c.Progress != 1 {
		t.Errorf("B's campaign %+v", c)
	}
	for _, tc := range []struct {
		c    store.Counts
		want string
	}{
		{store.Counts{Total: 3, Pending: 3}, "queued"},
		{store.Counts{Total: 3, Pending: 2, Enriching: 1}, "running"},
		{store.Counts{Total: 3, Pending: 2, Failed: 1}, "running"},
		{store.Counts{Total: 3, Completed: 2, Failed: 1}, "completed"},
	} {
		if got := campaignOf(batchA, tc.c).Status; got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.c, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		code         int
		err          string
	}{
		{"GET", "/api/v1/nope", 404, "not_found"},
		{"GET", "/api/v2/emails", 404, "not_found"},
		{"PUT", "/api/v1/emails/" + emailOfA, 405, "method_not_allowed"},
		{"DELETE", "/api/v1/campaigns", 405, "method_not_allowed"},
	} {
		a := e.do(t, tc.method, tc.path, keyA, nil)
		if a.status != tc.code || a.errCode() != tc.err {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.status, a.body)
		}
	}
	if a := e.do(t, "PUT", "/api/v1/emails/"+emailOfA, keyA, nil); !strings.Contains(a.header.Get("Allow"), "GET") {
		t.Errorf("405 without Allow: %v", a.header)
	}

	// Store failures: unavailable is 503 with Retry-After, anything else a
	// 500 that tells nothing of the cause.
	e.st.err = fmt.Errorf("store: emails: %w: connection refused", store.ErrUnavailable)
	a := e.do(t, "GET", "/api/v1/emails", keyA, nil)
	if a.status != 503 || a.errCode() != "unavailable" || a.header.Get("Retry-After") == "" {
		t.Errorf("unavailable: %d %s", a.status, a.body)
	}
	e.st.err = errors.New("store: emails: secret detail of the database")
	a = e.do(t, "GET", "/api/v1/emails/"+emailOfA, keyA, nil)
	if a.status != 500 || a.errCode() != "internal" || strings.Contains(string(a.body), "secret") {
		t.Errorf("internal: %d %s", a.status, a.body)
	}
}

func TestUserMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("store: upload: %w: the client has no template", store.ErrInvalid), "the client has no template"},
		{fmt.Errorf("store: decide x: %w: the email is approved", store.ErrConflict), "the email is approved"},
		{fmt.Errorf("store: batch 1: %w", store.ErrNotFound), "batch 1: not found"},
	} {
		if got := userMessage(tc.err); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}
