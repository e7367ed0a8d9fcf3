package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/llmsim"
)

// refuse answers a chat completion with a refusal.
func refuse(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-refused", "object": "chat.completion", "model": "gpt-4o-mini",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": "", "refusal": "I can't help with that."}}},
		"usage": map[string]any{"prompt_tokens": 1000, "completion_tokens": 5, "total_tokens": 1005},
	})
}

// An answer that fell back carries a short reason, the same for every
// answer that fell back for that cause (the note keeps the details), and
// each call its retries.
func TestFallbackReasonAndRetries(t *testing.T) {
	t.Parallel()
	unavailable := apiError(503, "server_error", nil)
	bad := reply("Voici ma réponse, désolé pas de JSON", "stop")
	tests := []struct {
		name     string
		steps    []http.HandlerFunc
		engine   string
		reason   string
		note     string // in the llm_fallback note
		retries  []int  // per call
		attempts []int
	}{
		{"valid answer", nil, "llm", "", "", []int{0}, []int{1}},
		{"retried then valid", []http.HandlerFunc{unavailable, unavailable}, "llm", "", "", []int{2}, []int{3}},
		{"bad request", []http.HandlerFunc{apiError(400, "invalid_request_error", nil)}, "fake", "model call failed", "HTTP 400", []int{0}, []int{1}},
		{"server down", []http.HandlerFunc{unavailable, unavailable, unavailable, unavailable}, "fake", "model call failed", "gave up after 4 attempts", []int{3}, []int{4}},
		{"refusal", []http.HandlerFunc{refuse}, "fake", "model refused", "can't help", []int{0}, []int{1}},
		{"invalid twice", []http.HandlerFunc{bad, bad}, "fake", "answer still invalid after one repair", "not a JSON object", []int{0, 0}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := startScript(t, tt.steps...)
			var sl sleeps
			e.sleep = sl.sleep // back-off recorded, not slept
			a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
			if err != nil {
				t.Fatal(err)
			}
			if a.Engine != tt.engine || a.FallbackReason != tt.reason {
				t.Errorf("engine %q, fallback reason %q; want %q, %q", a.Engine, a.FallbackReason, tt.engine, tt.reason)
			}
			n, ok := hasNote(a, "llm_fallback")
			if ok != (tt.note != "") || !strings.Contains(n.Message, tt.note) {
				t.Errorf("fallback note %+v, want one containing %q", n, tt.note)
			}
			if len(a.Calls) != len(tt.retries) {
				t.Fatalf("%d calls, want %d", len(a.Calls), len(tt.retries))
			}
			for i, c := range a.Calls {
				if c.Retries != tt.retries[i] || c.Attempts != tt.attempts[i] {
					t.Errorf("call %d: %d retries in %d attempts, want %d in %d", i, c.Retries, c.Attempts, tt.retries[i], tt.attempts[i])
				}
			}
			if st, sum := e.Stats(), tt.retries[0]; st.Retries != sum {
				t.Errorf("engine retries %d, calls say %d", st.Retries, sum)
			}
		})
	}
}

// latency_ms is the model's time; the time waiting for the rate budget is
// wait_ms. The server moves a fake clock by 400 ms per answer; a budget of
// 6 requests a minute (bursts of one) makes the second call wait 10 s
// after the first was sent.
func TestLatencyIsTheModelsAndWaitApart(t *testing.T) {
	t.Parallel()
	sl := &sleeps{advance: true, t: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	sim := llmsim.New(llmsim.Options{Seed: 1}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sl.mu.Lock()
		sl.t = sl.t.Add(400 * time.Millisecond)
		sl.mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e := newEngine(t, srv.URL+"/v1", func(c *Config) { c.RPM = 6 })
	e.now, e.sleep = sl.now, sl.sleep
	var got [][2]int64
	for range 2 {
		a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
		if err != nil {
			t.Fatal(err)
		}
		if a.Engine != "llm" || len(a.Calls) != 1 {
			t.Fatalf("engine %s, %d calls: want one valid model call", a.Engine, len(a.Calls))
		}
		got = append(got, [2]int64{a.Calls[0].LatencyMS, a.Calls[0].WaitMS})
	}
	if want := [][2]int64{{400, 0}, {400, 9600}}; got[0] != want[0] || got[1] != want[1] {
		t.Errorf("[latency_ms wait_ms] per call = %v, want %v", got, want)
	}
}
