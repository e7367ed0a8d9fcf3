package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// roundTrip is an in-memory transport: the test's receiver.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type delivery struct {
	at     time.Time
	header http.Header
	body   []byte
}

func TestNotifierRetriesAndSigns(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []delivery
		answers := []int{503, 0, 429, 200} // 0: a network error
		n := &Notifier{URL: "https://hooks.example/n8n", Secret: "s3cret", Backoff: time.Second, Attempts: 5,
			Client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				got = append(got, delivery{time.Now(), r.Header.Clone(), b})
				code := answers[len(got)-1]
				if code == 0 {
					return nil, errors.New("connection reset")
				}
				h := http.Header{}
				if code == 429 {
					h.Set("Retry-After", "10")
				}
				return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
			})}}
		start := time.Now()
		n.Send(context.Background(), EventEmailDecided, map[string]string{"email_id": emailOfA, "action": "approve"})
		n.Wait()

		if len(got) != 4 {
			t.Fatalf("%d attempts, want 4", len(got))
		}
		// Back-off: 1 s, 2 s, then the 10 s the receiver asked for.
		var waits []time.Duration
		for _, d := range got {
			waits = append(waits, d.at.Sub(start))
		}
		if waits[0] != 0 || waits[1] != time.Second || waits[2] != 3*time.Second || waits[3] != 13*time.Second {
			t.Errorf("attempts at %v", waits)
		}
		var ev struct {
			ID, Type string
			Data     map[string]string
		}
		if err := json.Unmarshal(got[0].body, &ev); err != nil || ev.Type != EventEmailDecided || ev.Data["email_id"] != emailOfA || ev.ID == "" {
			t.Errorf("body %s: %v", got[0].body, err)
		}
		for i, d := range got {
			if string(d.body) != string(got[0].body) || d.header.Get(HeaderDelivery) != ev.ID || d.header.Get(HeaderEvent) != EventEmailDecided {
				t.Errorf("attempt %d differs: %v %s", i, d.header, d.body)
			}
			ts := d.header.Get(HeaderTimestamp)
			if err := Verify("s3cret", ts, d.body, d.header.Get(HeaderSignature), time.Now(), 5*time.Minute); err != nil {
				t.Errorf("attempt %d: %v", i, err)
			}
		}
		last := got[3]
		if Verify("other", last.header.Get(HeaderTimestamp), last.body, last.header.Get(HeaderSignature), time.Now(), time.Minute) == nil {
			t.Error("a wrong secret verifies")
		}
		if Verify("s3cret", last.header.Get(HeaderTimestamp), append(last.body, ' '), last.header.Get(HeaderSignature), time.Now(), time.Minute) == nil {
			t.Error("a changed body verifies")
		}
		if Verify("s3cret", last.header.Get(HeaderTimestamp), last.body, last.header.Get(HeaderSignature), time.Now().Add(time.Hour), time.Minute) == nil {
			t.Error("an old delivery verifies")
		}
	})
}

func TestNotifierGivesUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			code, attempts int
		}{{400, 1}, {410, 1}, {500, 3}} {
			var mu sync.Mutex
			calls := 0
			n := &Notifier{URL: "https://hooks.example/x", Secret: "s", Attempts: 3,
				Client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
					mu.Lock()
					calls++
					mu.Unlock()
					return &http.Response{StatusCode: tc.code, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
				})}}
			n.Send(context.Background(), EventEmailDecided, nil)
			n.Wait()
			if calls != tc.attempts {
				t.Errorf("HTTP %d: %d attempts, want %d", tc.code, calls, tc.attempts)
			}
		}
	})
}

// A decision made through the API is notified.
func TestDecisionNotified(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bodies := make(chan []byte, 1)
		n := &Notifier{URL: "https://hooks.example/x", Secret: "s",
			Client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
				b, _ := io.ReadAll(r.Body)
				bodies <- b
				return &http.Response{StatusCode: 204, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
			})}}
		e := newEnv(t, func(c *Config) { c.Notifier = n })
		if a := e.do(t, "POST", "/api/v1/emails/"+emailOfA+"/reject", keyA, map[string]string{"reason": "other"}); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		n.Wait()
		var ev struct{ Type string }
		b := <-bodies
		if err := json.Unmarshal(b, &ev); err != nil || ev.Type != EventEmailDecided ||
			!strings.Contains(string(b), `"via":"api:`+keyAID+`"`) || !strings.Contains(string(b), `"status":"rejected"`) {
			t.Errorf("notified %s (%v)", b, err)
		}
	})
}
