package slack

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
	"path"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// secretPath is the part of a webhook URL that is a credential.
const secretPath = "/services/T0SECRET/B0SECRET/xoxSECRETwebhookToken42"

// reply scripts the fake's answer to one request that passed its checks.
type reply struct {
	status     int
	body       string
	retryAfter string
	delay      time.Duration // answer after this long (or when the client gives up)
}

type hit struct {
	at          time.Time
	method      string
	path        string
	contentType string
	body        []byte
}

// fakeSlack implements the incoming-webhook contract and records every
// request: 404 no_service off the webhook's path, 400 invalid_payload for a
// non-JSON body or more than 50 blocks, 400 no_text without text, then the
// scripted replies in order, then 200 "ok".
type fakeSlack struct {
	mu     sync.Mutex
	hits   []hit
	script []reply
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.hits)
	f.hits = append(f.hits, hit{time.Now(), r.Method, r.URL.Path, r.Header.Get("Content-Type"), body})
	f.mu.Unlock()
	answer := func(status int, text string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		io.WriteString(w, text)
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != secretPath:
		answer(404, "no_service")
		return
	case r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &msg) != nil || len(msg.Blocks) > 50:
		answer(400, "invalid_payload")
		return
	case msg.Text == "":
		answer(400, "no_text")
		return
	}
	if n >= len(f.script) {
		answer(200, "ok")
		return
	}
	rp := f.script[n]
	if rp.delay > 0 {
		select {
		case <-time.After(rp.delay):
		case <-r.Context().Done():
			return
		}
	}
	if rp.retryAfter != "" {
		w.Header().Set("Retry-After", rp.retryAfter)
	}
	answer(rp.status, rp.body)
}

func (f *fakeSlack) recorded() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// serve starts f on a real loopback listener.
func serve(t *testing.T, f *fakeSlack) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// inMemory serves a handler without a network, for synctest bubbles.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err // the client gave up (its Timeout) before the answer
	}
	return rec.Result(), nil
}

func bubbleClient(t *testing.T, f *fakeSlack, opts Options) *Client {
	t.Helper()
	opts.HTTP = &http.Client{Transport: inMemory{f}}
	c, err := New("https://hooks.slack.com"+secretPath, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var simple = Message{Text: "hello", Blocks: []Block{Section("*hello*")}}

// The JSON is exactly the contract's example.
func TestMessageJSONMatchesContract(t *testing.T) {
	t.Parallel()
	m := Message{Text: "Fallback text (required for notifications)", Blocks: []Block{
		Section("*Batch 42 exported* to Smartlead: 97/100 uploaded"),
		Fields("*Skipped:*\n3", "*Cost:*\n$0.41"),
		Context("campaign 123 · <https://app/x|open>"),
	}}
	want := `{"text": "Fallback text (required for notifications)",
 "blocks": [
   {"type":"section","text":{"type":"mrkdwn","text":"*Batch 42 exported* to Smartlead: 97/100 uploaded"}},
   {"type":"section","fields":[{"type":"mrkdwn","text":"*Skipped:*\n3"},{"type":"mrkdwn","text":"*Cost:*\n$0.41"}]},
   {"type":"context","elements":[{"type":"mrkdwn","text":"campaign 123 · <https://app/x|open>"}]}
 ]}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(want)); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json escapes <, > and & as \u003c…; Slack decodes them the same.
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(compact.Bytes(), &b)
	if ga, gb := fmt.Sprint(a), fmt.Sprint(b); ga != gb {
		t.Errorf("JSON\n got %s\nwant %s", got, compact.Bytes())
	}
	if bytes.Contains(got, []byte(`"blocks":null`)) || bytes.Contains(got, []byte(`"fields":null`)) {
		t.Errorf("empty members not omitted: %s", got)
	}
}

func TestPostRequestShape(t *testing.T) {
	t.Parallel()
	f := &fakeSlack{}
	srv := serve(t, f)
	c, err := New(srv.URL+secretPath, Options{HTTP: srv.Client(), Every: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m := BatchGenerated(BatchInfo{Client: "Acme", BatchID: "42", Total: 25, Completed: 24, ReviewURL: "https://app.example/review/42"})
	if err := c.Post(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	hits := f.recorded()
	if len(hits) != 1 {
		t.Fatalf("%d requests, want 1", len(hits))
	}
	h := hits[0]
	if h.method != "POST" || h.path != secretPath || h.contentType != "application/json" {
		t.Errorf("request %s %s (%s)", h.method, h.path, h.contentType)
	}
	var got Message
	if err := json.Unmarshal(h.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Text != "Batch 42 generated for Acme: 24/25 emails" || len(got.Blocks) != len(m.Blocks) {
		t.Errorf("sent %s", h.body)
	}
	for i, b := range got.Blocks {
		if b.Type != m.Blocks[i].Type {
			t.Errorf("block %d: type %q, want %q", i, b.Type, m.Blocks[i].Type)
		}
	}
}

// Hostile names, reasons and errors reach Slack escaped: no mention, no
// foreign link, only the builders' own links and dates.
func TestHostileContentEscapedOnTheWire(t *testing.T) {
	t.Parallel()
	f := &fakeSlack{}
	srv := serve(t, f)
	c, err := New(srv.URL+secretPath, Options{HTTP: srv.Client(), Every: -1})
	if err != nil {
		t.Fatal(err)
	}
	const evil = "<!channel> AT&T <https://evil.example|click> <@U123> & >"
	msgs := hostileMessages(evil)
	for _, m := range msgs {
		if err := c.Post(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	hits := f.recorded()
	if len(hits) != len(msgs) {
		t.Fatalf("%d requests for %d messages", len(hits), len(msgs))
	}
	for i, h := range hits {
		var got Message
		if err := json.Unmarshal(h.body, &got); err != nil {
			t.Fatal(err)
		}
		texts := allTexts(got)
		if !strings.Contains(strings.Join(texts, "\n"), "&lt;!channel&gt; AT&amp;T &lt;https://evil.example|click&gt;") {
			t.Errorf("message %d: the hostile text is not shown escaped: %q", i, texts)
		}
		for _, s := range texts {
			checkMrkdwn(t, s)
		}
	}
}

func TestPostErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name      string
		script    []reply
		wantHits  int
		want      error // nil: success
		status    int
		inMessage string
	}{
		{"ok", nil, 1, nil, 0, ""},
		{"ok with spaces", []reply{{status: 200, body: " ok\n"}}, 1, nil, 0, ""},
		{"invalid_payload not retried", []reply{{status: 400, body: "invalid_payload"}}, 1, ErrPermanent, 400, "invalid_payload"},
		{"no_service permanent", []reply{{status: 404, body: "no_service"}}, 1, ErrPermanent, 404, "no_service"},
		{"channel_not_found permanent", []reply{{status: 404, body: "channel_not_found"}}, 1, ErrPermanent, 404, "channel_not_found"},
		{"channel_is_archived permanent", []reply{{status: 410, body: "channel_is_archived"}}, 1, ErrPermanent, 410, "channel_is_archived"},
		{"429 then ok", []reply{{status: 429, body: "rate_limited"}}, 2, nil, 0, ""},
		{"503 then ok", []reply{{status: 503, body: "unavailable"}}, 2, nil, 0, ""},
		{"500 storm", []reply{{status: 500}, {status: 502}, {status: 500}, {status: 500}}, 4, ErrRetryable, 500, "after 4 attempts"},
		{"429 storm", []reply{{status: 429, body: "rate_limited"}, {status: 429, body: "rate_limited"},
			{status: 429, body: "rate_limited"}, {status: 429, body: "rate_limited"}}, 4, ErrRetryable, 429, "rate_limited"},
		{"200 not ok", []reply{{status: 200, body: "maybe"}}, 1, ErrPermanent, 200, `"maybe"`},
		{"200 empty", []reply{{status: 200}}, 1, ErrPermanent, 200, `""`},
		{"200 long body truncated", []reply{{status: 200, body: long}}, 1, ErrPermanent, 200, strings.Repeat("x", 200) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeSlack{script: tc.script}
			srv := serve(t, f)
			c, err := New(srv.URL+secretPath, Options{HTTP: srv.Client(), BaseBackoff: time.Millisecond, Every: -1})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Post(context.Background(), simple)
			if n := len(f.recorded()); n != tc.wantHits {
				t.Errorf("%d requests, want %d", n, tc.wantHits)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Post: %v", err)
				}
				return
			}
			other := ErrPermanent
			if tc.want == ErrPermanent {
				other = ErrRetryable
			}
			if !errors.Is(err, tc.want) || errors.Is(err, other) {
				t.Fatalf("Post: %v, want %v only", err, tc.want)
			}
			var se *Error
			if !errors.As(err, &se) || se.StatusCode != tc.status || se.Attempts != tc.wantHits {
				t.Errorf("error %#v, want status %d after %d attempts", se, tc.status, tc.wantHits)
			}
			if !strings.Contains(err.Error(), tc.inMessage) || strings.Contains(err.Error(), long[:201]) {
				t.Errorf("error %q does not name %q (or is not truncated)", err, tc.inMessage)
			}
		})
	}
}

// An invalid message is refused before any request.
func TestPostRefusesInvalidMessage(t *testing.T) {
	t.Parallel()
	f := &fakeSlack{}
	srv := serve(t, f)
	c, err := New(srv.URL+secretPath, Options{HTTP: srv.Client(), Every: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{{}, {Text: " \n", Blocks: simple.Blocks}, {Text: "x", Blocks: make([]Block, 51)}} {
		if err := c.Post(context.Background(), m); !errors.Is(err, ErrPermanent) {
			t.Errorf("Post(%d blocks, text %q): %v, want ErrPermanent", len(m.Blocks), m.Text, err)
		}
	}
	if n := len(f.recorded()); n != 0 {
		t.Errorf("%d requests for invalid messages", n)
	}
	var nilClient *Client
	if err := nilClient.Post(context.Background(), simple); err == nil {
		t.Error("a nil client posted")
	}
	var nilCtx context.Context
	if err := c.Post(nilCtx, simple); err != nil || len(f.recorded()) != 1 {
		t.Errorf("Post with a nil context: %v", err)
	}
}

// Post sends a truncated copy and leaves the caller's message alone.
func TestPostTruncatesACopy(t *testing.T) {
	t.Parallel()
	f := &fakeSlack{}
	srv := serve(t, f)
	c, _ := New(srv.URL+secretPath, Options{HTTP: srv.Client(), Every: -1})
	long := strings.Repeat("é", 4000)
	m := Message{Text: "t", Blocks: []Block{Section(long)}}
	if err := c.Post(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.Blocks[0].Text.Text != long {
		t.Error("Post modified the caller's message")
	}
	var got Message
	json.Unmarshal(f.recorded()[0].body, &got)
	if s := got.Blocks[0].Text.Text; len([]rune(s)) != MaxSectionText || !strings.HasSuffix(s, "é…") {
		t.Errorf("sent %d characters ending %q", len([]rune(s)), s[len(s)-8:])
	}
}

// The schedule is exact inside a synctest bubble: Retry-After is honoured
// (capped at 30 s), otherwise the back-off doubles from BaseBackoff.
func TestRetrySchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		script []reply
		opts   Options
		at     []time.Duration // when each request was made
		want   error
	}{
		{"Retry-After then ok", []reply{{status: 429, body: "rate_limited", retryAfter: "3"}}, Options{},
			[]time.Duration{0, 3 * time.Second}, nil},
		{"Retry-After capped", []reply{{status: 429, body: "rate_limited", retryAfter: "3600"}}, Options{},
			[]time.Duration{0, 30 * time.Second}, nil},
		{"bad Retry-After uses back-off", []reply{{status: 429, retryAfter: "soon"}}, Options{BaseBackoff: 2 * time.Second},
			[]time.Duration{0, 2 * time.Second}, nil},
		{"500 storm doubles", []reply{{status: 500}, {status: 500}, {status: 500}, {status: 500}}, Options{},
			[]time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second}, ErrRetryable},
		{"back-off capped", []reply{{status: 500}, {status: 500}, {status: 500}}, Options{MaxAttempts: 3, BaseBackoff: 20 * time.Second},
			[]time.Duration{0, 20 * time.Second, 50 * time.Second}, ErrRetryable},
		{"timeouts retried", []reply{{delay: time.Minute}, {delay: time.Minute}}, Options{MaxAttempts: 2},
			[]time.Duration{0, 10*time.Second + time.Second}, ErrRetryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := &fakeSlack{script: tc.script}
				tc.opts.HTTP = &http.Client{Transport: inMemory{f}, Timeout: 10 * time.Second}
				c, err := New("https://hooks.slack.com"+secretPath, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				err = c.Post(context.Background(), simple)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("Post: %v, want %v", err, tc.want)
				}
				var at []time.Duration
				for _, h := range f.recorded() {
					at = append(at, h.at.Sub(start))
				}
				if fmt.Sprint(at) != fmt.Sprint(tc.at) {
					t.Errorf("requests at %v, want %v", at, tc.at)
				}
			})
		})
	}
}

// Messages are spaced by Every, sequential or concurrent.
func TestSpacing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		every      time.Duration
		concurrent bool
		want       time.Duration // between consecutive requests
	}{
		{"default 1s", 0, false, time.Second},
		{"20ms", 20 * time.Millisecond, false, 20 * time.Millisecond},
		{"concurrent 250ms", 250 * time.Millisecond, true, 250 * time.Millisecond},
		{"disabled", -1, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := &fakeSlack{}
				c := bubbleClient(t, f, Options{Every: tc.every})
				start := time.Now()
				var wg sync.WaitGroup
				for range 5 {
					post := func() {
						if err := c.Post(context.Background(), simple); err != nil {
							t.Error(err)
						}
					}
					if tc.concurrent {
						wg.Go(post)
					} else {
						post()
					}
				}
				wg.Wait()
				hits := f.recorded()
				if len(hits) != 5 {
					t.Fatalf("%d requests", len(hits))
				}
				for i, h := range hits {
					if got, want := h.at.Sub(start), time.Duration(i)*tc.want; got != want {
						t.Errorf("request %d at %v, want %v", i, got, want)
					}
				}
			})
		})
	}
}

// A Post whose context ends while it waits gives up, retryable, and says why.
func TestPostContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSlack{script: []reply{{status: 500}, {status: 500}}}
		c := bubbleClient(t, f, Options{BaseBackoff: 10 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := c.Post(ctx, simple)
		if !errors.Is(err, ErrRetryable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Post: %v, want a retryable deadline error", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("waited %v for a back-off past the deadline", d)
		}
		// The next slot (1 s away) is past this deadline too.
		short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel2()
		if err := c.Post(short, simple); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrRetryable) {
			t.Errorf("Post: %v", err)
		}
		canceled, cancel3 := context.WithCancel(context.Background())
		cancel3()
		if err := c.Post(canceled, simple); !errors.Is(err, context.Canceled) {
			t.Errorf("Post: %v", err)
		}
		if n := len(f.recorded()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestNewValidatesURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://hooks.slack.com" + secretPath, true},
		{" https://hooks.slack.com" + secretPath + "\n", true},
		{"http://127.0.0.1:8080" + secretPath, true},
		{"http://localhost" + secretPath, true},
		{"http://[::1]:9" + secretPath, true},
		{"http://hooks.slack.com" + secretPath, false},
		{"http://10.0.0.1" + secretPath, false},
		{"ftp://hooks.slack.com" + secretPath, false},
		{"hooks.slack.com" + secretPath, false},
		{"https://" + secretPath, false},
		{"https://user:xoxSECRETwebhookToken42@hooks.slack.com/x", false},
		{"https://hooks.slack.com/%zz" + secretPath, false},
		{"", false},
	} {
		_, err := New(tc.url, Options{})
		if (err == nil) != tc.ok {
			t.Errorf("New(%q): %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("New(%q): error %q shows the secret", tc.url, err)
		}
	}
}

// Neither errors (down the whole chain) nor log lines ever contain the URL.
func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		fmt.Fprintf(w, "error at http://%s%s (token %s)", r.Host, r.URL.Path, path.Base(r.URL.Path)) // a server echoing the URL
	})
	closed := httptest.NewServer(echo)
	closed.Close()
	for _, tc := range []struct {
		name    string
		handler http.Handler
		url     string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		want    error
		tries   int // requests made (Attempts)
	}{
		{"400", &fakeSlack{script: []reply{{status: 400, body: "invalid_payload"}}}, "", 0, nil, ErrPermanent, 1},
		{"404", &fakeSlack{script: []reply{{status: 404, body: "no_service"}}}, "", 0, nil, ErrPermanent, 1},
		{"500 storm echoing the URL", echo, "", 0, nil, ErrRetryable, 2},
		{"200 echoing the URL", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "not ok: %s", r.URL)
		}), "", 0, nil, ErrPermanent, 1},
		{"timeouts", &fakeSlack{script: []reply{{delay: time.Second}, {delay: time.Second}}}, "", 30 * time.Millisecond, nil, ErrRetryable, 2},
		// Retryable for the caller, but not retried: only 429, 5xx and timeouts are.
		{"connection refused", nil, closed.URL + secretPath, 0, nil, ErrRetryable, 1},
		{"canceled", &fakeSlack{}, "", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url
			hc := http.DefaultClient
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				t.Cleanup(srv.Close)
				url, hc = srv.URL+secretPath, srv.Client()
			}
			if tc.timeout > 0 {
				hc = &http.Client{Transport: hc.Transport, Timeout: tc.timeout}
			}
			var logs bytes.Buffer
			c, err := New(url, Options{HTTP: hc, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				MaxAttempts: 2, BaseBackoff: time.Millisecond, Every: -1})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			err = c.Post(ctx, simple)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Post: %v, want %v", err, tc.want)
			}
			if se := (*Error)(nil); !errors.As(err, &se) || se.Attempts != tc.tries {
				t.Errorf("error %#v, want %d attempts", se, tc.tries)
			}
			texts := []string{logs.String(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
			for e := err; e != nil; e = errors.Unwrap(e) {
				texts = append(texts, e.Error())
			}
			if se := (*Error)(nil); errors.As(err, &se) {
				texts = append(texts, fmt.Sprintf("%+v", *se))
			}
			for _, s := range texts {
				if strings.Contains(s, "SECRET") || strings.Contains(s, "Token42") {
					t.Errorf("leaks the webhook URL: %s", s)
				}
			}
			if !strings.HasPrefix(err.Error(), "slack webhook") {
				t.Errorf("error %q does not name the slack webhook", err)
			}
		})
	}
}

// Retries are logged, with what failed, and nothing else is.
func TestRetryLogged(t *testing.T) {
	t.Parallel()
	f := &fakeSlack{script: []reply{{status: 503, body: "down"}}}
	srv := serve(t, f)
	var logs bytes.Buffer
	c, _ := New(srv.URL+secretPath, Options{HTTP: srv.Client(), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		BaseBackoff: time.Millisecond, Every: -1})
	if err := c.Post(context.Background(), simple); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "HTTP 503: down") || !strings.Contains(got, "attempt=1") {
		t.Errorf("logs: %q", got)
	}
}
