package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kaleads/kaleads/shared/ingest"
)

const (
	secret   = "s3cr3t-webhook-value-9f8e7d"
	insertID = "6a1f4c2e-8b3d-4e5f-9a0b-1c2d3e4f5a6b"
)

type fakeQueue struct {
	mu  sync.Mutex
	ids []string
	err error
	// what the enqueue context was like during the call
	ctxErr      error
	hasDeadline bool
}

func (q *fakeQueue) Enqueue(ctx context.Context, ids ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ctxErr = ctx.Err()
	_, q.hasDeadline = ctx.Deadline()
	if q.err != nil {
		return q.err
	}
	q.ids = append(q.ids, ids...)
	return nil
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer is a log sink safe for the handler's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type logLine map[string]any

func lines(t *testing.T, s string) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m logLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandler(t *testing.T) {
	t.Parallel()
	bad := errors.New("sqs: throttled")
	for _, tc := range []struct {
		name     string
		method   string // default POST
		file     string // fixture, or
		body     string // a literal body
		secret   *string
		config   string // the configured secret; default secret
		queueErr error

		status   int
		key      string // the one key of the JSON answer
		contains string // in its value
		enqueued []string
		logLevel string // the level of the handler's line
		logID    string // contact_id on that line
	}{
		{name: "insert", file: "insert.json", status: 202, key: "enqueued", contains: insertID, enqueued: []string{insertID}, logLevel: "INFO", logID: insertID},
		{name: "insert with user_id", file: "with_user_id.json", status: 202, key: "enqueued", contains: "7b2e5d3f-9c4e-4f60-8b1c-2d3e4f5a6b7c", enqueued: []string{"7b2e5d3f-9c4e-4f60-8b1c-2d3e4f5a6b7c"}, logLevel: "INFO", logID: "7b2e5d3f-9c4e-4f60-8b1c-2d3e4f5a6b7c"},
		{name: "update", file: "update.json", status: 200, key: "ignored", contains: "UPDATE", logLevel: "INFO", logID: insertID},
		{name: "delete", file: "delete.json", status: 200, key: "ignored", contains: "DELETE", logLevel: "INFO", logID: insertID},
		{name: "other table", file: "other_table.json", status: 200, key: "ignored", contains: "public.emails_generated", logLevel: "INFO"},
		{name: "other schema", file: "other_schema.json", status: 200, key: "ignored", contains: "archive.contacts_to_enrich", logLevel: "INFO"},
		{name: "malformed", file: "malformed.json", status: 400, key: "error", contains: "malformed JSON", logLevel: "WARN"},
		{name: "not an object", body: `[1,2]`, status: 400, key: "error", contains: "malformed JSON", logLevel: "WARN"},
		{name: "trailing data", body: `{"type":"INSERT"} x`, status: 400, key: "error", contains: "data after"},
		{name: "missing id", file: "missing_id.json", status: 400, key: "error", contains: "record.id is missing", logLevel: "WARN"},
		{name: "non-uuid id", file: "non_uuid_id.json", status: 400, key: "error", contains: `record.id "42" is not a UUID`, logLevel: "WARN"},
		{name: "numeric id", file: "numeric_id.json", status: 400, key: "error", contains: "record.id is not a string"},
		{name: "null record", file: "null_record.json", status: 400, key: "error", contains: "record is missing"},
		{name: "missing record", file: "missing_record.json", status: 400, key: "error", contains: "record is missing"},
		{name: "missing type", file: "missing_type.json", status: 400, key: "error", contains: "type is missing"},
		{name: "missing table", file: "missing_table.json", status: 400, key: "error", contains: "table is missing"},
		{name: "empty body", body: ``, status: 400, key: "error", contains: "malformed JSON"},
		{name: "wrong secret", file: "insert.json", secret: ptr("nope"), status: 401, key: "error", contains: "wrong X-Webhook-Secret", logLevel: "WARN"},
		{name: "secret with a different case", file: "insert.json", secret: ptr(strings.ToUpper(secret)), status: 401, key: "error", contains: "wrong"},
		{name: "secret prefix", file: "insert.json", secret: ptr(secret[:10]), status: 401, key: "error", contains: "wrong"},
		{name: "missing secret", file: "insert.json", secret: ptr(""), status: 401, key: "error", contains: "missing X-Webhook-Secret", logLevel: "WARN"},
		{name: "secret not configured", file: "insert.json", config: "-", status: 500, key: "error", contains: "webhook secret not configured", logLevel: "ERROR"},
		{name: "not configured, no header", file: "insert.json", config: "-", secret: ptr(""), status: 500, key: "error", contains: "webhook secret not configured"},
		{name: "GET", method: "GET", status: 405, key: "error", contains: "use POST"},
		{name: "PUT", method: "PUT", file: "insert.json", status: 405, key: "error", contains: "use POST"},
		{name: "oversize", body: `{"type":"INSERT","table":"contacts_to_enrich","schema":"public","record":{"id":"` + insertID + `","fields":"` + strings.Repeat("x", ingest.MaxBody) + `"}}`, status: 413, key: "error", contains: "larger than"},
		{name: "enqueue fails", file: "insert.json", queueErr: bad, status: 503, key: "error", contains: "could not enqueue", logLevel: "ERROR", logID: insertID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tc.body)
			if tc.file != "" {
				body = fixture(t, tc.file)
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.secret == nil {
				req.Header.Set("X-Webhook-Secret", secret)
			} else if *tc.secret != "" {
				req.Header.Set("x-webhook-secret", *tc.secret) // any case, as pg_net sends it
			}
			config := secret
			if tc.config == "-" {
				config = ""
			}
			q := &fakeQueue{err: tc.queueErr}
			var logs syncBuffer
			h := ingest.New(config, q, slog.New(slog.NewJSONHandler(&logs, nil)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("answer %q is not a JSON object of strings: %v", rec.Body, err)
			}
			if len(got) != 1 || !strings.Contains(got[tc.key], tc.contains) {
				t.Errorf("answer %v, want {%q: …%s…}", got, tc.key, tc.contains)
			}
			if !slices.Equal(q.ids, tc.enqueued) {
				t.Errorf("enqueued %v, want %v", q.ids, tc.enqueued)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}

			out := logs.String()
			for _, leak := range []string{secret, "claire.martin", "Directrice"} {
				if strings.Contains(out, leak) {
					t.Errorf("the log holds %q: %s", leak, out)
				}
			}
			if tc.logLevel != "" {
				ls := lines(t, out)
				if len(ls) != 1 {
					t.Fatalf("%d log lines, want 1: %s", len(ls), out)
				}
				if ls[0]["level"] != tc.logLevel {
					t.Errorf("log level %v, want %s: %s", ls[0]["level"], tc.logLevel, out)
				}
				if id, _ := ls[0]["contact_id"].(string); id != tc.logID {
					t.Errorf("log contact_id %q, want %q: %s", id, tc.logID, out)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// The enqueue outlives a caller that hangs up (pg_net's 1 s timeout).
func TestEnqueueSurvivesCallerCancel(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	h := ingest.New(secret, q, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(fixture(t, "insert.json")))
	req.Header.Set("X-Webhook-Secret", secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 202 {
		t.Fatalf("status %d", rec.Code)
	}
	if q.ctxErr != nil {
		t.Fatalf("the enqueue context was done: %v", q.ctxErr)
	}
	if !q.hasDeadline {
		t.Fatal("the enqueue context has no deadline")
	}
}

// Through a real server: what pg_net does, end to end over HTTP.
func TestOverHTTP(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	srv := httptest.NewServer(ingest.New(secret, q, nil))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(fixture(t, "insert.json")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-webhook-secret", secret)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 || !slices.Equal(q.ids, []string{insertID}) {
		t.Fatalf("status %d, enqueued %v", resp.StatusCode, q.ids)
	}
}

// A chunked body (no Content-Length) is cut at MaxBody too.
func TestOversizeChunked(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	body := `{"type":"INSERT","table":"contacts_to_enrich","schema":"public","record":{"id":"` + insertID + `","fields":"` + strings.Repeat("x", ingest.MaxBody) + `"}}`
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.ContentLength = -1
	req.Header.Set("X-Webhook-Secret", secret)
	rec := httptest.NewRecorder()
	ingest.New(secret, q, nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || len(q.ids) != 0 {
		t.Fatalf("status %d, enqueued %v", rec.Code, q.ids)
	}
}
