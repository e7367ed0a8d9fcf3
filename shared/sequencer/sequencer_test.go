package sequencer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/sequencer/sequencertest"
)

func TestErrorClassification(t *testing.T) {
	e := &sequencer.Error{Provider: "p", Op: "op", StatusCode: 503, Retryable: true, UnknownOutcome: true, Err: context.DeadlineExceeded}
	w := fmt.Errorf("wrapped: %w", e)
	if !errors.Is(w, sequencer.ErrRetryable) || errors.Is(w, sequencer.ErrPermanent) || !errors.Is(w, sequencer.ErrUnknownOutcome) || !errors.Is(w, context.DeadlineExceeded) {
		t.Fatal("classification")
	}
	p := fmt.Errorf("x: %w", &sequencer.Error{StatusCode: 400})
	if !errors.Is(p, sequencer.ErrPermanent) || sequencer.IsRetryable(p) || sequencer.IsUnknownOutcome(p) {
		t.Fatal("permanent")
	}
}

func TestLimiterRate(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	l := sequencer.NewLimiter(clock, 60, time.Minute, 3)
	start := clock.Now()
	for range 13 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := clock.Now().Sub(start); got != 10*time.Second {
		t.Fatalf("13 tokens at 1/s burst 3 took %v, want 10s", got)
	}
	l.PauseUntil(clock.Now().Add(30 * time.Second))
	before := clock.Now()
	_ = l.Wait(context.Background())
	if d := clock.Now().Sub(before); d < 30*time.Second {
		t.Fatalf("pause ignored: %v", d)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	clock := sequencertest.NewFakeClock()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.Header().Set("Retry-After", clock.Now().Add(20*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(429)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	r := &sequencer.Requester{Provider: "p", HTTP: srv.Client(), Clock: clock, Secret: "k"}
	resp, err := r.Do(context.Background(), sequencer.Request{Op: "x", Method: "POST", URL: srv.URL, Body: map[string]int{}})
	if err != nil || resp.Attempts != 2 || clock.Slept() != 20*time.Second {
		t.Fatalf("%v %+v slept %v", err, resp, clock.Slept())
	}
}

func TestPlanSequenceAndChunk(t *testing.T) {
	s := sequencer.PlanSequence("a", "b", "c", "ignored")
	if len(s) != 4 || s[0].Day != 1 || s[0].Subject != "{{subject}}" || s[0].Body != "{{email_body}}" || s[1].Day != 4 || s[2].Day != 7 || s[3].Day != 14 || s[3].Body != "c" {
		t.Fatalf("%+v", s)
	}
	if c := sequencer.Chunk(1050, 100); len(c) != 11 || c[10] != [2]int{1000, 1050} {
		t.Fatalf("%v", c)
	}
}
