package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
)

// *store.Store is what the server wires in.
var _ Store = (*store.Store)(nil)

var t0 = time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	h     http.Handler
	st    *fakeStore
	clock *clock
	woken []string
}

const (
	clientA = "11111111-1111-4111-8111-111111111111"
	clientB = "22222222-2222-4222-8222-222222222222"
)

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, st: newFakeStore(), clock: &clock{t: t0}}
	e.st.addUser(store.User{ID: "u-ana", Email: "ana@agency.fr", Clients: []store.Membership{{ClientID: clientA, ClientName: "Acme", Role: "reviewer"}}}, "correct horse")
	e.st.addUser(store.User{ID: "u-bob", Email: "bob@other.fr", Clients: []store.Membership{{ClientID: clientB, ClientName: "Beta", Role: "reviewer"}}}, "battery staple")
	e.st.addUser(store.User{ID: "u-root", Email: "root@agency.fr", Admin: true}, "admin pass")
	for i, sc := range []int{55, 80, 92, 70} {
		e.st.addEmail(sampleEmail("a"+string(rune('1'+i)), clientA, "Acme", sc, t0.Add(time.Duration(i)*time.Minute)))
	}
	e.st.addEmail(sampleEmail("b1", clientB, "Beta", 40, t0))
	var mu sync.Mutex
	h, err := New(Config{Store: e.st, Now: e.clock.Now, Wake: func(ctx context.Context, ids ...string) error {
		mu.Lock()
		defer mu.Unlock()
		e.woken = append(e.woken, ids...)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return e
}

func sampleEmail(id, clientID, clientName string, score int, created time.Time) store.EmailDetail {
	return store.EmailDetail{
		EmailSummary: store.EmailSummary{ID: id, ClientID: clientID, ClientName: clientName, TemplateID: "t1", BatchID: "b1",
			FirstName: "Sophie", LastName: "Durand " + id, ContactEmail: "sophie@aircall.io", CompanyName: "Aircall", JobTitle: "Head of Support",
			Website: "aircall.io", Subject: "Support Aircall " + id, Score: score, CreatedAt: created},
		Body: "Bonjour Sophie,\nquand les équipes Support passent de 15 à 150 agents…",
		Variables: map[string]email.Variable{
			"competitor": {Value: "Zendesk", Agent: "competitor", Engine: "llm", Confidence: 4, FallbackLevel: 1,
				Reasoning: "The careers page names Zendesk.", Evidence: []email.Evidence{{URL: "https://aircall.io/careers", Quote: "experience with Zendesk"}}},
			"first_name": {Value: "Sophie"},
		},
		Quality: email.Report{Score: score, Flags: []email.Flag{{Code: "low_confidence", Points: 5, Message: "persona: confidence 2/5"}}},
	}
}

// session opens a session for a user and returns its cookie and CSRF token.
func (e *env) session(userID string) (*http.Cookie, string) {
	tok, err := e.st.CreateSession(context.Background(), userID, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Cookie{Name: "__Host-kaleads_session", Value: tok}, csrfToken(tok)
}

type req struct {
	method, path string
	form         url.Values
	cookie       *http.Cookie
	htmx         bool
	header       map[string]string
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.RemoteAddr = "203.0.113.7:5555"
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	if r.htmx {
		hr.Header.Set("HX-Request", "true")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	return w
}

// post sends an htmx POST as the browser does: the CSRF header, the form
// and the queue's hidden fields.
func (e *env) post(c *http.Cookie, csrf, path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("list") == "" {
		form.Set("list", "1") // as from the queue page
	}
	return e.do(req{method: "POST", path: path, form: form, cookie: c, htmx: true, header: map[string]string{"X-CSRF-Token": csrf}})
}

func parse(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// byID finds the element with an id.
func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, "id"); ok && v == id && found == nil && n.Type == html.ElementNode {
			found = n
		}
	})
	return found
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

// loginForm fetches the sign-in page and returns the pre-session cookie and
// the form's CSRF token.
func (e *env) loginForm() (*http.Cookie, string) {
	e.t.Helper()
	w := e.do(req{method: "GET", path: "/login"})
	if w.Code != 200 {
		e.t.Fatalf("GET /login: %d", w.Code)
	}
	var pre *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-kaleads_login" {
			pre = c
		}
	}
	if pre == nil {
		e.t.Fatal("no pre-session cookie")
	}
	var tok string
	walk(parse(e.t, w.Body.String()), func(n *html.Node) {
		if v, _ := attr(n, "name"); n.Data == "input" && v == "csrf" {
			tok, _ = attr(n, "value")
		}
	})
	return pre, tok
}

func TestLogin(t *testing.T) {
	cases := []struct {
		name, email, password string
		badCSRF               bool
		want                  int
		wantMsg               string
	}{
		{name: "ok", email: "ana@agency.fr", password: "correct horse", want: 303},
		{name: "ok, e-mail typed with capitals and spaces", email: " Ana@Agency.fr ", password: "correct horse", want: 303},
		{name: "wrong password", email: "ana@agency.fr", password: "wrong", want: 401, wantMsg: badLogin},
		{name: "unknown e-mail, same message", email: "nobody@agency.fr", password: "wrong", want: 401, wantMsg: badLogin},
		{name: "empty password", email: "ana@agency.fr", password: "", want: 401, wantMsg: badLogin},
		{name: "no CSRF token", email: "ana@agency.fr", password: "correct horse", badCSRF: true, want: 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			pre, tok := e.loginForm()
			if c.badCSRF {
				tok = ""
			}
			w := e.do(req{method: "POST", path: "/login", cookie: pre,
				form: url.Values{"email": {c.email}, "password": {c.password}, "csrf": {tok}, "next": {"/dashboard"}}})
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if c.wantMsg != "" && !strings.Contains(w.Body.String(), c.wantMsg) {
				t.Errorf("body lacks %q", c.wantMsg)
			}
			if c.want != 303 {
				return
			}
			if loc := w.Header().Get("Location"); loc != "/dashboard" {
				t.Errorf("redirect to %q, want /dashboard", loc)
			}
			var sess *http.Cookie
			for _, ck := range w.Result().Cookies() {
				if ck.Name == "__Host-kaleads_session" {
					sess = ck
				}
			}
			if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
				t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/", sess)
			}
			if got := e.do(req{method: "GET", path: "/", cookie: sess}); got.Code != 200 {
				t.Errorf("queue with the new session: %d", got.Code)
			}
		})
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	pre, tok := e.loginForm()
	try := func(email, password string) *httptest.ResponseRecorder {
		return e.do(req{method: "POST", path: "/login", cookie: pre, form: url.Values{"email": {email}, "password": {password}, "csrf": {tok}}})
	}
	for i := range 5 {
		if w := try("ana@agency.fr", "guess"); w.Code != 401 {
			t.Fatalf("attempt %d: %d", i+1, w.Code)
		}
	}
	auths := e.st.auths
	w := try("ana@agency.fr", "correct horse")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if e.st.auths != auths {
		t.Error("a throttled attempt still checked the password")
	}
	if strings.Contains(w.Body.String(), badLogin) {
		t.Error("throttled page says the password is wrong")
	}
	// Another e-mail from the same IP still may (the IP allows 20).
	if w := try("bob@other.fr", "battery staple"); w.Code != 303 {
		t.Errorf("other e-mail: %d", w.Code)
	}
	// One more attempt a minute later.
	e.clock.Add(61 * time.Second)
	if w := try("ana@agency.fr", "correct horse"); w.Code != 303 {
		t.Errorf("after a minute: %d", w.Code)
	}
	// Per IP: 20 attempts, whatever the e-mails.
	e2 := newEnv(t)
	pre, tok = e2.loginForm()
	for i := range 25 {
		w := e2.do(req{method: "POST", path: "/login", cookie: pre,
			form: url.Values{"email": {"x" + string(rune('a'+i)) + "@spray.fr"}, "password": {"p"}, "csrf": {tok}}})
		if want := map[bool]int{true: 401, false: 429}[i < 20]; w.Code != want {
			t.Fatalf("spray attempt %d: %d, want %d", i+1, w.Code, want)
		}
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(Limit{Burst: 2, Every: time.Minute}, 100)
	for i := range 1000 {
		l.allow(strings.Repeat("k", i%7)+string(rune(i)), t0)
	}
	if len(l.m) > 100 {
		t.Fatalf("%d keys kept, bound is 100", len(l.m))
	}
	l.allow("x", t0)
	l.allow("x", t0)
	if ok, wait := l.allow("x", t0); ok || wait <= 0 || wait > time.Minute {
		t.Errorf("third attempt: ok=%v wait=%v", ok, wait)
	}
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "GET", path: "/dashboard"})
	if w.Code != 303 || w.Header().Get("Location") != "/login?next=%2Fdashboard" {
		t.Errorf("GET /dashboard: %d → %q", w.Code, w.Header().Get("Location"))
	}
	w = e.do(req{method: "GET", path: "/emails/a1", htmx: true})
	if w.Code != 401 || !strings.HasPrefix(w.Header().Get("HX-Redirect"), "/login") {
		t.Errorf("htmx GET: %d, HX-Redirect %q", w.Code, w.Header().Get("HX-Redirect"))
	}
	w = e.do(req{method: "GET", path: "/", cookie: &http.Cookie{Name: "__Host-kaleads_session", Value: "forged"}})
	if w.Code != 303 {
		t.Errorf("forged session: %d", w.Code)
	}
	w = e.do(req{method: "POST", path: "/emails/a1/approve", form: url.Values{}})
	if w.Code != 303 || e.st.status("a1") != statusPending {
		t.Errorf("POST without a session: %d, status %s", w.Code, e.st.status("a1"))
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/dashboard?period=7d": "/dashboard?period=7d", "//evil.example/": "/",
		"https://evil.example/": "/", "/\\evil.example": "/", "dashboard": "/", "/login": "/", "/%0d%0aSet-Cookie:x": "/%0d%0aSet-Cookie:x",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSRF(t *testing.T) {
	cases := []struct {
		name   string
		header string
		field  string
		want   int
	}{
		{"missing", "", "", 403},
		{"wrong header", "nope", "", 403},
		{"other session's token", "OTHER", "", 403},
		{"header", "OK", "", 200},
		{"form field (no JavaScript)", "", "OK", 303},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ck, tok := e.session("u-ana")
			_, other := e.session("u-ana")
			sub := func(s string) string {
				return map[string]string{"OK": tok, "OTHER": other}[s] + map[bool]string{true: s}[s != "OK" && s != "OTHER"]
			}
			form := url.Values{"queued": {"a1", "a4"}}
			if c.field != "" {
				form.Set("csrf", sub(c.field))
			}
			r := req{method: "POST", path: "/emails/a1/approve", form: form, cookie: ck, htmx: c.header != ""}
			if c.header != "" {
				r.header = map[string]string{"X-CSRF-Token": sub(c.header)}
			}
			w := e.do(r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			decided := e.st.status("a1") == "approved"
			if decided != (c.want != 403) {
				t.Errorf("decided = %v with status %d", decided, w.Code)
			}
		})
	}
	// Every POST route checks it.
	e := newEnv(t)
	ck, _ := e.session("u-ana")
	for _, p := range []string{"/logout", "/undo", "/emails/a1/approve", "/emails/a1/edit", "/emails/a1/reject", "/emails/a1/regenerate"} {
		if w := e.do(req{method: "POST", path: p, form: url.Values{"reason": {"other"}}, cookie: ck}); w.Code != 403 {
			t.Errorf("POST %s without a token: %d, want 403", p, w.Code)
		}
	}
	if len(e.st.decisions) != 0 || len(e.st.regen) != 0 {
		t.Error("a refused POST changed something")
	}
}

// cardID is the data-email-id of the #card in a response.
func cardID(t *testing.T, body string) string {
	t.Helper()
	c := byID(parse(t, body), "card")
	if c == nil {
		t.Fatalf("no #card in %s", body)
	}
	v, _ := attr(c, "data-email-id")
	return v
}

func TestApproveShowsNextCard(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-ana")
	// The queue: a1 (55), a4 (70), a2 (80), a3 (92), worst first.
	w := e.do(req{method: "GET", path: "/", cookie: ck})
	doc := parse(t, w.Body.String())
	var order []string
	walk(byID(doc, "queue-list"), func(n *html.Node) {
		if id, ok := attr(n, "data-email-id"); ok {
			order = append(order, id)
		}
	})
	if !slices.Equal(order, []string{"a1", "a4", "a2", "a3"}) {
		t.Fatalf("queue order %v", order)
	}
	if got := cardID(t, w.Body.String()); got != "a1" {
		t.Fatalf("first card %s, want a1", got)
	}
	var shown string
	walk(byID(doc, "card"), func(n *html.Node) {
		if v, _ := attr(n, "name"); v == "shown" {
			shown, _ = attr(n, "value")
		}
	})
	e.clock.Add(12 * time.Second)

	// Approving a4 (selected with j) shows the next one in the list: a2.
	w = e.post(ck, tok, "/emails/a4/approve", url.Values{"queued": order, "shown": {shown}})
	if w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	if got := cardID(t, w.Body.String()); got != "a2" {
		t.Errorf("next card %s, want a2", got)
	}
	body := w.Body.String()
	if !strings.Contains(body, `id="row-a4" hx-swap-oob="delete"`) || !strings.Contains(body, `id="notice"`) {
		t.Errorf("response lacks the row removal or the notice: %s", body)
	}
	if e.st.status("a4") != "approved" {
		t.Errorf("a4 is %s", e.st.status("a4"))
	}
	d := e.st.decisions[0]
	if d.Action != "approve" || d.ReviewerID != "u-ana" || d.Via != "ui" || !d.ShownAt.Equal(t0) {
		t.Errorf("decision %+v", d)
	}
	// The last of the list: the one above it.
	w = e.post(ck, tok, "/emails/a3/approve", url.Values{"queued": {"a1", "a2", "a3"}})
	if got := cardID(t, w.Body.String()); got != "a2" {
		t.Errorf("after the last row: %s, want a2", got)
	}
	// The list on screen is used up: a fresh page replaces it.
	w = e.post(ck, tok, "/emails/a2/approve", url.Values{"queued": {"a2"}})
	if got := cardID(t, w.Body.String()); got != "a1" {
		t.Errorf("refill: %s, want a1", got)
	}
	if !strings.Contains(w.Body.String(), `id="queue-list"`) {
		t.Error("refill does not replace the list")
	}
	// Nothing left.
	w = e.post(ck, tok, "/emails/a1/approve", nil)
	if got := cardID(t, w.Body.String()); got != "" || !strings.Contains(w.Body.String(), `id="queue-empty"`) {
		t.Errorf("empty queue: card %q", got)
	}
	// Without htmx: back to the queue with the filters.
	e.st.addEmail(sampleEmail("a9", clientA, "Acme", 10, t0))
	w = e.do(req{method: "POST", path: "/emails/a9/approve", cookie: ck, form: url.Values{"csrf": {tok}, "q": {"Aircall"}}})
	if w.Code != 303 || w.Header().Get("Location") != "/?q=Aircall" {
		t.Errorf("no-JS approve: %d → %q", w.Code, w.Header().Get("Location"))
	}
}

func TestConflict(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-ana")
	e.post(ck, tok, "/emails/a1/approve", nil)
	w := e.post(ck, tok, "/emails/a1/reject", url.Values{"reason": {"low_quality"}, "queued": {"a1", "a4"}})
	if w.Code != http.StatusConflict {
		t.Fatalf("second decision: %d, want 409", w.Code)
	}
	if !strings.Contains(w.Body.String(), "already decided (approved)") || cardID(t, w.Body.String()) != "a4" {
		t.Errorf("conflict response: %s", w.Body)
	}
	if e.st.status("a1") != "approved" {
		t.Error("the first decision was overwritten")
	}
}

func TestEdit(t *testing.T) {
	cases := []struct {
		name, subject, body string
		want                int
		wantStatus          string
	}{
		{"edited", "Support Aircall", "Bonjour Sophie,\r\nune version plus courte.", 200, "approved_edited"},
		{"unchanged text is an approval", "Support Aircall a1", "Bonjour Sophie,\r\nquand les équipes Support passent de 15 à 150 agents…", 200, "approved"},
		{"empty body", "Support", "  ", 422, statusPending},
		{"two-line subject", "a\nb", "body", 422, statusPending},
		{"too long", "s", strings.Repeat("x", maxBody+1), 422, statusPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ck, tok := e.session("u-ana")
			w := e.post(ck, tok, "/emails/a1/edit", url.Values{"subject": {c.subject}, "body": {c.body}, "queued": {"a1", "a4"}})
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if got := e.st.status("a1"); got != c.wantStatus {
				t.Errorf("status %s, want %s", got, c.wantStatus)
			}
			if c.wantStatus == "approved_edited" {
				d := e.st.decisions[0]
				if d.Action != "edit" || d.Body != "Bonjour Sophie,\nune version plus courte." || d.Subject != "Support Aircall" {
					t.Errorf("decision %+v", d)
				}
			}
			if c.want == 422 {
				doc := parse(t, w.Body.String())
				if p := byID(doc, "edit-panel"); p == nil {
					t.Fatal("no edit panel")
				} else if _, open := attr(p, "open"); !open {
					t.Error("the edit panel is not reopened")
				}
				if byID(doc, "card-error") == nil {
					t.Error("no error on the card")
				}
			}
		})
	}
}

func TestReject(t *testing.T) {
	cases := []struct {
		name, reason, details string
		want                  int
	}{
		{"valid", "wrong_persona", "The persona is the CFO, not support.", 200},
		{"valid without details", "grammar_issues", "", 200},
		{"no reason", "", "bad", 422},
		{"unknown reason", "too_long", "", 422},
		{"other needs details", "other", "  ", 422},
		{"other with details", "other", "Mentions a competitor twice", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ck, tok := e.session("u-ana")
			w := e.post(ck, tok, "/emails/a1/reject", url.Values{"reason": {c.reason}, "details": {c.details}})
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if c.want == 422 {
				if len(e.st.decisions) != 0 {
					t.Error("an invalid rejection was stored")
				}
				if p := byID(parse(t, w.Body.String()), "reject-panel"); p == nil {
					t.Error("no reject panel")
				} else if _, open := attr(p, "open"); !open {
					t.Error("reject panel not reopened")
				}
				return
			}
			d := e.st.decisions[0]
			if d.Action != "reject" || d.Reason != c.reason || d.Details != strings.TrimSpace(c.details) || e.st.status("a1") != "rejected" {
				t.Errorf("decision %+v, status %s", d, e.st.status("a1"))
			}
		})
	}
}

func TestUndo(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-ana")
	e.post(ck, tok, "/emails/a1/reject", url.Values{"reason": {"low_quality"}})
	w := e.post(ck, tok, "/undo", url.Values{"queued": {"a4", "a2"}})
	if w.Code != 200 {
		t.Fatalf("undo: %d %s", w.Code, w.Body)
	}
	if cardID(t, w.Body.String()) != "a1" || e.st.status("a1") != statusPending {
		t.Errorf("undo shows %s, status %s", cardID(t, w.Body.String()), e.st.status("a1"))
	}
	if !strings.Contains(w.Body.String(), `hx-swap-oob="afterbegin:#queue-list"`) || !strings.Contains(w.Body.String(), `id="row-a1"`) {
		t.Error("the row does not come back in the list")
	}
	w = e.post(ck, tok, "/undo", nil)
	if w.Code != http.StatusConflict || w.Header().Get("HX-Reswap") != "none" || !strings.Contains(w.Body.String(), "Nothing to undo") {
		t.Errorf("undo with nothing to undo: %d %q %s", w.Code, w.Header().Get("HX-Reswap"), w.Body)
	}
	// Another reviewer cannot undo ana's decision.
	e.post(ck, tok, "/emails/a1/approve", nil)
	ckR, tokR := e.session("u-root")
	if w := e.post(ckR, tokR, "/undo", nil); w.Code != http.StatusConflict || e.st.status("a1") != "approved" {
		t.Errorf("someone else's undo: %d, status %s", w.Code, e.st.status("a1"))
	}
}

func TestOutOfScope(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-bob") // client B only
	for _, c := range []struct {
		method, path string
		form         url.Values
		htmx         bool
	}{
		{"GET", "/emails/a1", nil, false},
		{"GET", "/emails/a1", nil, true},
		{"GET", "/?email=a1", nil, false},
		{"POST", "/emails/a1/approve", url.Values{"csrf": {tok}}, true},
		{"POST", "/emails/a1/edit", url.Values{"csrf": {tok}, "subject": {"s"}, "body": {"b"}}, true},
		{"POST", "/emails/a1/reject", url.Values{"csrf": {tok}, "reason": {"low_quality"}}, true},
		{"POST", "/emails/a1/reject", url.Values{"csrf": {tok}, "reason": {""}}, true},
		{"POST", "/emails/a1/regenerate", url.Values{"csrf": {tok}}, true},
		{"GET", "/emails/does-not-exist", nil, false},
	} {
		w := e.do(req{method: c.method, path: c.path, form: c.form, cookie: ck, htmx: c.htmx})
		if w.Code != 404 {
			t.Errorf("%s %s (htmx %v): %d, want 404", c.method, c.path, c.htmx, w.Code)
		}
		if strings.Contains(w.Body.String(), "Aircall a1") {
			t.Errorf("%s %s leaks the email", c.method, c.path)
		}
	}
	if e.st.status("a1") != statusPending || len(e.st.regen) != 0 {
		t.Error("an out-of-scope request changed an email")
	}
	// Bob's queue holds only client B's email.
	w := e.do(req{method: "GET", path: "/", cookie: ck})
	if strings.Contains(w.Body.String(), "row-a1") || !strings.Contains(w.Body.String(), "row-b1") {
		t.Error("bob's queue is not scoped")
	}
}

func TestRegenerate(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-ana")
	w := e.post(ck, tok, "/emails/a1/regenerate", url.Values{"queued": {"a1", "a4"}})
	if w.Code != 200 || cardID(t, w.Body.String()) != "a4" || !strings.Contains(w.Body.String(), `id="row-a1" hx-swap-oob="delete"`) {
		t.Fatalf("regenerate: %d, card %s", w.Code, cardID(t, w.Body.String()))
	}
	if !slices.Equal(e.woken, []string{"contact-of-a1"}) {
		t.Errorf("woken %v", e.woken)
	}
	// A rejected email may be regenerated from its card; an approved one not.
	e.post(ck, tok, "/emails/a4/reject", url.Values{"reason": {"low_quality"}})
	w = e.do(req{method: "GET", path: "/emails/a4", cookie: ck, htmx: true})
	if byID(parse(t, w.Body.String()), "regenerate") == nil {
		t.Error("a rejected card has no regenerate button")
	}
	if w := e.post(ck, tok, "/emails/a4/regenerate", nil); w.Code != 200 {
		t.Errorf("regenerate a rejected email: %d", w.Code)
	}
	e.post(ck, tok, "/emails/a2/approve", nil)
	w = e.post(ck, tok, "/emails/a2/regenerate", nil)
	if w.Code != http.StatusConflict || cardID(t, w.Body.String()) != "a2" || !strings.Contains(w.Body.String(), "Not regenerated") {
		t.Errorf("regenerate an approved email: %d %s", w.Code, w.Body)
	}
	if len(e.woken) != 2 {
		t.Errorf("woken %v", e.woken)
	}
}

func TestStoreRefusesDecision(t *testing.T) {
	e := newEnv(t)
	e.st.decideErr = fmt.Errorf("store: decide: %w: body too long", store.ErrInvalid)
	ck, tok := e.session("u-ana")
	w := e.post(ck, tok, "/emails/a1/edit", url.Values{"subject": {"s"}, "body": {"b"}})
	if w.Code != http.StatusUnprocessableEntity || strings.Contains(w.Body.String(), "too long") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if p := byID(parse(t, w.Body.String()), "edit-body"); p == nil || textOf(p) != "b" {
		t.Error("the typed text is not kept")
	}
	e.st.decideErr = errors.New("connection reset")
	if w := e.post(ck, tok, "/emails/a1/approve", nil); w.Code != 500 || strings.Contains(w.Body.String(), "reset") {
		t.Errorf("store failure: %d %s", w.Code, w.Body)
	}
}

func TestStandaloneEmailPage(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-ana")
	w := e.do(req{method: "GET", path: "/emails/a2", cookie: ck})
	doc := parse(t, w.Body.String())
	if byID(doc, "queue") != nil || byID(doc, "card") == nil || byID(doc, "undo") == nil {
		t.Fatal("the email page is not a card alone")
	}
	// Its forms send no list: no row to remove.
	w = e.post(ck, tok, "/emails/a2/approve", url.Values{"list": {"0"}})
	if w.Code != 200 || strings.Contains(w.Body.String(), "hx-swap-oob=\"delete\"") || strings.Contains(w.Body.String(), `id="queue-list"`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestQueueFiltersAndPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 60 {
		e.st.addEmail(sampleEmail("z"+string(rune('A'+i)), clientA, "Acme", 30, t0.Add(time.Duration(i)*time.Second)))
	}
	ck, _ := e.session("u-ana")
	const tmpl, batch = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"
	w := e.do(req{method: "GET", path: "/?client=" + clientA + "&min=20&max=95&from=2026-03-01&to=2026-03-09&q=aircall&template=" + tmpl + "&batch=" + batch, cookie: ck})
	if w.Code != 200 {
		t.Fatalf("%d", w.Code)
	}
	f := e.st.filters[len(e.st.filters)-1]
	want := store.EmailFilter{ClientID: clientA, TemplateID: tmpl, BatchID: batch, MinScore: 20, MaxScore: 95, Text: "aircall",
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), Limit: 50}
	if f != want {
		t.Errorf("filter %+v\nwant   %+v", f, want)
	}
	doc := parse(t, w.Body.String())
	rows := 0
	walk(byID(doc, "queue-list"), func(n *html.Node) {
		if _, ok := attr(n, "data-email-id"); ok {
			rows++
		}
	})
	if rows != 50 {
		t.Errorf("%d rows, want 50", rows)
	}
	next := byID(doc, "next-page")
	if next == nil {
		t.Fatal("no next page link")
	}
	href, _ := attr(next, "href")
	u, _ := url.Parse(href)
	if u.Query().Get("after") != "c50" || u.Query().Get("client") != clientA || u.Query().Get("q") != "aircall" {
		t.Errorf("next page %q", href)
	}
	w = e.do(req{method: "GET", path: href, cookie: ck})
	if f := e.st.filters[len(e.st.filters)-1]; f.After != "c50" {
		t.Errorf("second page cursor %q", f.After)
	}
	// Bad values are ignored with a message, not a 500.
	for _, q := range []string{"min=abc", "from=yesterday", "to=2026-13-01", "min=80&max=20", "template=t1", "batch=1%3Bdrop", "client=acme"} {
		n := len(e.st.filters)
		w = e.do(req{method: "GET", path: "/?" + q, cookie: ck})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "ignored") {
			t.Errorf("%s: %d, no message", q, w.Code)
		}
		if f := e.st.filters[n]; f.TemplateID != "" || f.BatchID != "" || f.ClientID != "" || f.MinScore != 0 || f.MaxScore != 0 || !f.From.IsZero() || !f.To.IsZero() {
			t.Errorf("%s: filter %+v", q, f)
		}
	}
	// A client of someone else: every client of one's own.
	w = e.do(req{method: "GET", path: "/?client=" + clientB, cookie: ck})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "not one of yours") || strings.Contains(w.Body.String(), "row-b1") {
		t.Errorf("other's client: %d", w.Code)
	}
}

// hostile is prospect-controlled text trying to run a script.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`

func TestHostileTextIsEscaped(t *testing.T) {
	e := newEnv(t)
	ev := sampleEmail("h1", clientA, "Acme "+hostile, 1, t0)
	ev.CompanyName = "Evil " + hostile
	ev.FirstName = hostile
	ev.JobTitle = hostile
	ev.Subject = "Subject " + hostile
	ev.Body = "Body " + hostile
	ev.Website = "javascript:alert(3)"
	ev.Variables["competitor"] = email.Variable{Value: hostile, Agent: "competitor", Engine: "llm", Reasoning: hostile,
		Evidence: []email.Evidence{{URL: "javascript:alert(4)", Quote: "quote " + hostile}, {URL: `https://x.example/"onmouseover="alert(5)`, Quote: "q"}}}
	ev.Quality.Flags = append(ev.Quality.Flags, email.Flag{Code: "x" + hostile, Message: hostile, Points: 1})
	e.st.addEmail(ev)
	ck, tok := e.session("u-ana")
	e.st.users["u-ana"] = store.User{ID: "u-ana", Email: "ana@agency.fr", Clients: []store.Membership{{ClientID: clientA, ClientName: hostile}}}
	var bodies []string
	for _, r := range []req{
		{method: "GET", path: "/", cookie: ck},
		{method: "GET", path: "/?email=h1", cookie: ck},
		{method: "GET", path: "/emails/h1", cookie: ck},
		{method: "GET", path: "/emails/h1", cookie: ck, htmx: true},
		{method: "GET", path: "/dashboard", cookie: ck},
	} {
		w := e.do(r)
		if w.Code != 200 {
			t.Fatalf("%s: %d", r.path, w.Code)
		}
		bodies = append(bodies, w.Body.String())
	}
	w := e.post(ck, tok, "/emails/h1/edit", url.Values{"subject": {hostile}, "body": {""}})
	bodies = append(bodies, w.Body.String())
	for i, b := range bodies {
		if strings.Contains(b, "<script>alert") || strings.Contains(b, "<img") || strings.Contains(b, "javascript:") {
			t.Errorf("response %d carries the hostile text unescaped", i)
		}
		walk(parse(t, b), func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("response %d: <%s %s=%q>", i, n.Data, a.Key, a.Val)
				}
				if (a.Key == "href" || a.Key == "src") && (strings.Contains(a.Val, "javascript") || strings.Contains(a.Val, `"`)) {
					t.Errorf("response %d: <%s %s=%q>", i, n.Data, a.Key, a.Val)
				}
			}
			if n.Data == "img" {
				t.Errorf("response %d has an <img>", i)
			}
		})
	}
	if !strings.Contains(bodies[1], "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile text is not shown escaped")
	}
}

// checkPage checks the security headers and that the page has no inline
// script or style, only same-origin scripts.
func checkPage(t *testing.T, name string, w *httptest.ResponseRecorder) {
	t.Helper()
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", name, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows unsafe-*: %q", name, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
		t.Errorf("%s: headers %v", name, h)
	}
	scripts := 0
	walk(parse(t, w.Body.String()), func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "script":
			scripts++
			src, ok := attr(n, "src")
			if !ok || !strings.HasPrefix(src, "/static/") || n.FirstChild != nil {
				t.Errorf("%s: inline or foreign script (src %q)", name, src)
			}
		case "style":
			t.Errorf("%s: inline <style>", name)
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") || strings.HasPrefix(a.Key, "hx-on") {
				t.Errorf("%s: <%s %s=…> (inline style or handler)", name, n.Data, a.Key)
			}
			if strings.HasPrefix(a.Val, "js:") || strings.HasPrefix(a.Val, "javascript:") {
				t.Errorf("%s: <%s %s=%q>", name, n.Data, a.Key, a.Val)
			}
		}
	})
	if name != "404" && name != "css" && scripts != 2 {
		t.Errorf("%s: %d scripts, want htmx and review.js", name, scripts)
	}
}

func TestPagesSecurityHeadersAndNoInlineScript(t *testing.T) {
	e := newEnv(t)
	ck, _ := e.session("u-ana")
	e.st.dash = sampleDashboard()
	for _, c := range []struct {
		name string
		r    req
		want int
	}{
		{"login", req{method: "GET", path: "/login"}, 200},
		{"queue", req{method: "GET", path: "/", cookie: ck}, 200},
		{"email page", req{method: "GET", path: "/emails/a2", cookie: ck}, 200},
		{"dashboard", req{method: "GET", path: "/dashboard", cookie: ck}, 200},
		{"not found page", req{method: "GET", path: "/emails/nope", cookie: ck}, 404},
	} {
		w := e.do(c.r)
		if w.Code != c.want {
			t.Fatalf("%s: %d", c.name, w.Code)
		}
		checkPage(t, c.name, w)
	}
	w := e.do(req{method: "GET", path: "/nothing-here"})
	if w.Code != 404 || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("unknown path: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
}

func TestStaticFiles(t *testing.T) {
	e := newEnv(t)
	for path, ctype := range map[string]string{"/static/" + htmxFile: "text/javascript", "/static/review.js": "text/javascript", "/static/review.css": "text/css"} {
		w := e.do(req{method: "GET", path: path})
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %q", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

func TestVendoredHTMX(t *testing.T) {
	data, err := fs.ReadFile(files, "static/"+htmxFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717" {
		t.Errorf("%s changed: sha256 %s (see static/README.md)", htmxFile, got)
	}
	if _, err := fs.ReadFile(files, "static/htmx-LICENSE.txt"); err != nil {
		t.Error("htmx licence missing")
	}
}

func sampleDashboard() store.Dashboard {
	return store.Dashboard{Generated: 240, Approved: 180, Edited: 12, Rejected: 18,
		ApprovalRate: 192.0 / 210, EditRate: 12.0 / 210, RejectionRate: 18.0 / 210, AvgQuality: 81.5, AvgReviewSeconds: 42,
		RejectionReasons: map[string]int{"wrong_persona": 8, "incorrect_competitor": 5, "grammar_issues": 3, "other": 2},
		Weekly: []store.WeekPoint{{Week: t0.AddDate(0, 0, -21), Decided: 40, Approved: 35}, {Week: t0.AddDate(0, 0, -14), Decided: 60, Approved: 55},
			{Week: t0.AddDate(0, 0, -7), Decided: 70, Approved: 66}, {Week: t0, Decided: 40, Approved: 39}},
		ScoreBuckets: []store.ScoreBucket{{Min: 0, Max: 59, Decided: 20, Approved: 8}, {Min: 60, Max: 74, Decided: 40, Approved: 33},
			{Min: 75, Max: 89, Decided: 80, Approved: 75}, {Min: 90, Max: 100, Decided: 70, Approved: 69}},
		Missing: []string{"approval 91.4 % (needs > 95 %)", "edit rate 5.7 % (needs < 5 %)"}}
}

func TestDashboard(t *testing.T) {
	e := newEnv(t)
	e.st.dash = sampleDashboard()
	ck, _ := e.session("u-ana")
	w := e.do(req{method: "GET", path: "/dashboard?period=7d&client=" + clientA, cookie: ck})
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := e.st.dashArgs[0]; got != "false|"+clientA+"|2026-03-03|0001-01-01" {
		t.Errorf("store asked %q", got)
	}
	doc := parse(t, w.Body.String())
	d := byID(doc, "dashboard")
	if d == nil {
		t.Fatal("no #dashboard")
	}
	for k, want := range map[string]string{"data-generated": "240", "data-approved": "180", "data-edited": "12", "data-rejected": "18", "data-ready": "false"} {
		if v, _ := attr(d, k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	stats := textOf(byID(doc, "stats"))
	for _, want := range []string{"91.4 %", "5.7 %", "8.6 %", "81.5", "42.0 s"} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats lack %q: %s", want, stats)
		}
	}
	if m := textOf(byID(doc, "missing")); !strings.Contains(m, "edit rate 5.7 %") {
		t.Errorf("readiness: %q", m)
	}
	for _, id := range []string{"chart-weekly", "chart-scores"} {
		c := byID(doc, id)
		if c == nil {
			t.Fatalf("no %s", id)
		}
		rects := 0
		walk(c, func(n *html.Node) {
			if n.Data == "rect" {
				rects++
			}
		})
		if rects != 4 {
			t.Errorf("%s: %d bars, want 4", id, rects)
		}
	}
	if !strings.Contains(w.Body.String(), "<polyline") {
		t.Error("no approval trend line")
	}
	reasons := textOf(byID(doc, "reasons"))
	if i, j := strings.Index(reasons, "Wrong persona"), strings.Index(reasons, "Incorrect competitor"); i < 0 || j < i {
		t.Errorf("reasons not sorted by count: %s", reasons)
	}
	// Custom dates; a bad range falls back to the period.
	e.do(req{method: "GET", path: "/dashboard?from=2026-01-01&to=2026-01-31", cookie: ck})
	if got := e.st.dashArgs[1]; got != "false||2026-01-01|2026-02-01" {
		t.Errorf("custom range: %q", got)
	}
	w = e.do(req{method: "GET", path: "/dashboard?from=2026-02-01&to=2026-01-01", cookie: ck})
	if !strings.Contains(w.Body.String(), "before the start") {
		t.Error("inverted range not reported")
	}
	// Someone else's client: every client of one's own.
	w = e.do(req{method: "GET", path: "/dashboard?client=" + clientB, cookie: ck})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "not one of yours") {
		t.Errorf("other's client: %d", w.Code)
	}
	// Ready, empty charts.
	e.st.dash = store.Dashboard{Ready: true}
	w = e.do(req{method: "GET", path: "/dashboard?period=all", cookie: ck})
	if r := byID(parse(t, w.Body.String()), "readiness"); r == nil || !strings.Contains(textOf(r), "Ready for phase 2") {
		t.Error("ready not shown")
	}
	e.st.failDash = errors.New("boom")
	if w := e.do(req{method: "GET", path: "/dashboard", cookie: ck}); w.Code != 500 || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("store error: %d", w.Code)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	ck, tok := e.session("u-ana")
	w := e.do(req{method: "POST", path: "/logout", cookie: ck, form: url.Values{"csrf": {tok}}})
	if w.Code != 303 || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", w.Code, w.Header().Get("Location"))
	}
	if _, err := e.st.SessionUser(context.Background(), ck.Value); err == nil {
		t.Error("the session survived logout")
	}
	if w := e.do(req{method: "GET", path: "/", cookie: ck}); w.Code != 303 {
		t.Errorf("after logout: %d", w.Code)
	}
}

func TestInsecureCookiesForLocalHTTP(t *testing.T) {
	st := newFakeStore()
	h, err := New(Config{Store: st, InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	for _, c := range w.Result().Cookies() {
		if c.Secure || strings.HasPrefix(c.Name, "__Host-") || !c.HttpOnly {
			t.Errorf("cookie %+v", c)
		}
	}
}

// BenchmarkQueuePage measures the handler's own cost of a queue page (50
// rows and a card) and of an approve round-trip, the fake store answering
// at once: the database's share is the store's benchmark.
func BenchmarkQueuePage(b *testing.B) {
	e := newEnv(&testing.T{})
	for i := range 100 {
		e.st.addEmail(sampleEmail(fmt.Sprintf("q%03d", i), clientA, "Acme", 10+i%80, t0))
	}
	tok, _ := e.st.CreateSession(context.Background(), "u-ana", time.Hour)
	ck := &http.Cookie{Name: "__Host-kaleads_session", Value: tok}
	b.Run("queue", func(b *testing.B) {
		for b.Loop() {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(ck)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("dashboard", func(b *testing.B) {
		e.st.dash = sampleDashboard()
		for b.Loop() {
			r := httptest.NewRequest("GET", "/dashboard", nil)
			r.AddCookie(ck)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
