// Package llmsim is an OpenAI-compatible Chat Completions server for tests,
// benchmarks and dry runs: it answers schema-valid JSON built from the
// request's response_format.json_schema and content, deterministically per
// seed and request, with configurable latency and faults (429s with
// Retry-After, 5xx, hung requests, malformed or truncated output, exhausted
// quota, a compromised model obeying injected instructions). It reports
// usage like the real API, including cached tokens for repeated prefixes.
package llmsim

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Options configure a simulator. Rates are probabilities in [0, 1], drawn
// independently for each request in this order: insufficient quota, 429,
// 5xx, hang, then for answers malformed and truncated output.
type Options struct {
	// Latency is the mean time to answer; each answer takes a duration
	// drawn uniformly from [Latency-Jitter, Latency+Jitter] (at least 0).
	// 429s and quota errors answer at once.
	Latency time.Duration
	Jitter  time.Duration
	// Rate429 answers 429 rate_limit_exceeded with Retry-After,
	// retry-after-ms and x-ratelimit-reset-requests headers.
	Rate429 float64
	// RetryAfter is the hint sent with 429s (default 1s; Retry-After is
	// whole seconds, at least 1, retry-after-ms is exact). Negative: no hint
	// headers at all.
	RetryAfter time.Duration
	// Rate5xx answers 500 or 503 server_error after the latency.
	Rate5xx float64
	// TimeoutRate hangs the request until the client gives up.
	TimeoutRate float64
	// Malformed answers content that is not the schema's JSON (prose around
	// it, a missing brace, a missing field).
	Malformed float64
	// Truncated answers the first part of the JSON with finish_reason
	// "length".
	Truncated float64
	// InsufficientQuota answers every request 429 insufficient_quota.
	InsufficientQuota bool
	// Compromised answers schema-valid JSON whose values obey injected
	// instructions: English text and an excerpt of the client context found
	// in the system message.
	Compromised bool
	// Seed makes answers and faults reproducible.
	Seed int64
	// Record keeps every request for Requests().
	Record bool
}

// AddFlags registers the options on fs: --latency, --jitter, --rate-429,
// --retry-after, --rate-5xx, --timeout-rate, --malformed, --truncated,
// --insufficient-quota, --compromised, --seed.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.DurationVar(&o.Latency, "latency", o.Latency, "mean response latency")
	fs.DurationVar(&o.Jitter, "jitter", o.Jitter, "latency spread: uniform in [latency-jitter, latency+jitter]")
	fs.Float64Var(&o.Rate429, "rate-429", o.Rate429, "fraction of requests answered 429 rate_limit_exceeded")
	fs.DurationVar(&o.RetryAfter, "retry-after", o.RetryAfter, "hint sent with 429s (0: 1s, negative: none)")
	fs.Float64Var(&o.Rate5xx, "rate-5xx", o.Rate5xx, "fraction of requests answered 500/503")
	fs.Float64Var(&o.TimeoutRate, "timeout-rate", o.TimeoutRate, "fraction of requests that hang until the client gives up")
	fs.Float64Var(&o.Malformed, "malformed", o.Malformed, "fraction of answers that are not valid schema JSON")
	fs.Float64Var(&o.Truncated, "truncated", o.Truncated, "fraction of answers cut off with finish_reason length")
	fs.BoolVar(&o.InsufficientQuota, "insufficient-quota", o.InsufficientQuota, "answer every request 429 insufficient_quota")
	fs.BoolVar(&o.Compromised, "compromised", o.Compromised, "answer like a model that obeyed injected instructions")
	fs.Int64Var(&o.Seed, "seed", o.Seed, "seed for answers and faults")
}

// Validate checks the rates and durations.
func (o Options) Validate() error {
	for name, r := range map[string]float64{"rate-429": o.Rate429, "rate-5xx": o.Rate5xx, "timeout-rate": o.TimeoutRate, "malformed": o.Malformed, "truncated": o.Truncated} {
		if r < 0 || r > 1 || math.IsNaN(r) {
			return fmt.Errorf("llmsim: %s must be between 0 and 1, got %v", name, r)
		}
	}
	if o.Latency < 0 || o.Jitter < 0 {
		return errors.New("llmsim: latency and jitter must not be negative")
	}
	return nil
}

// Stats count what the simulator answered.
type Stats struct {
	Requests     int // chat completion requests received
	Completions  int // 200 answers (malformed and truncated included)
	RateLimited  int // 429 rate_limit_exceeded
	QuotaErrors  int // 429 insufficient_quota
	ServerErrors int // 5xx
	Hung         int // requests held until the client gave up
	Malformed    int
	Truncated    int
	Compromised  int
	BadRequests  int // 400s: unreadable requests
	CachedTokens int // total cached prompt tokens reported
}

// Message is one chat message of a recorded request.
type Message struct {
	Role    string
	Content string
}

// Request is a recorded chat completion request.
type Request struct {
	Model    string
	Messages []Message
	Schema   json.RawMessage // response_format.json_schema.schema, nil when absent
	Outcome  string          // "ok", "malformed", "truncated", "compromised", "429", "quota", "5xx", "hung"
}

// Server is a simulator. Its handler is safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	seen     map[uint64]int  // request hash -> times seen (faults differ per occurrence)
	prefixes map[uint64]bool // system messages already answered (prompt caching)
	stats    Stats
	requests []Request

	done      chan struct{}
	closeOnce sync.Once
	srv       *http.Server
}

// New returns a simulator; invalid options are clamped to their range (use
// Options.Validate to report them).
func New(o Options) *Server {
	clamp := func(r float64) float64 {
		if math.IsNaN(r) {
			return 0
		}
		return min(max(r, 0), 1)
	}
	o.Rate429, o.Rate5xx, o.TimeoutRate, o.Malformed, o.Truncated = clamp(o.Rate429), clamp(o.Rate5xx), clamp(o.TimeoutRate), clamp(o.Malformed), clamp(o.Truncated)
	o.Latency, o.Jitter = max(o.Latency, 0), max(o.Jitter, 0)
	if o.RetryAfter == 0 {
		o.RetryAfter = time.Second
	}
	return &Server{opts: o, seen: map[uint64]int{}, prefixes: map[uint64]bool{}, done: make(chan struct{})}
}

// Handler serves /v1/chat/completions and /v1/models.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.models)
	return mux
}

// Start serves on a free loopback port and returns the base URL to give an
// OpenAI client ("http://127.0.0.1:PORT/v1").
func (s *Server) Start() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("llmsim: %w", err)
	}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on Close
	return "http://" + ln.Addr().String() + "/v1", nil
}

// Close releases hung requests and stops a started server.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	if s.srv != nil {
		s.srv.Close()
	}
}

// ListenAndServe serves on addr until ctx ends, then shuts down.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.closeOnce.Do(func() { close(s.done) })
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Requests returns the recorded requests (Options.Record), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	var data []map[string]any
	for _, m := range []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1-mini", "kaleads-sim"} {
		data = append(data, map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "kaleads-sim"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// chatRequest is the part of a request the simulator reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	var cr chatRequest
	if err == nil {
		err = json.Unmarshal(body, &cr)
	}
	if err == nil && len(cr.Messages) == 0 {
		err = errors.New("messages must not be empty")
	}
	if err != nil {
		s.count(func(st *Stats) { st.Requests++; st.BadRequests++ })
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_request", "Invalid request: "+err.Error())
		return
	}
	req := Request{Model: cr.Model}
	for _, m := range cr.Messages {
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: contentText(m.Content)})
	}
	if rf := cr.ResponseFormat; rf != nil && rf.JSONSchema != nil {
		req.Schema = rf.JSONSchema.Schema
	}
	jsonObject := cr.ResponseFormat != nil && cr.ResponseFormat.Type == "json_object"

	h := s.hash(req)
	s.mu.Lock()
	occ := s.seen[h]
	s.seen[h]++
	if len(s.seen) > 200000 {
		s.seen = map[uint64]int{}
	}
	s.stats.Requests++
	s.mu.Unlock()

	rng := rand.New(rand.NewPCG(h, uint64(occ)+1))
	latency := s.opts.Latency
	if j := s.opts.Jitter; j > 0 {
		latency += time.Duration(rng.Int64N(int64(2*j)+1)) - j
	}
	latency = max(latency, 0)
	hit := func(p float64) bool { return rng.Float64() < p }
	finish := func(outcome string, f func(*Stats)) {
		req.Outcome = outcome
		s.count(func(st *Stats) {
			f(st)
			if s.opts.Record {
				s.requests = append(s.requests, req)
			}
		})
	}

	switch {
	case s.opts.InsufficientQuota:
		finish("quota", func(st *Stats) { st.QuotaErrors++ })
		apiError(w, http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota",
			"You exceeded your current quota, please check your plan and billing details. (simulated)")
		return
	case hit(s.opts.Rate429):
		finish("429", func(st *Stats) { st.RateLimited++ })
		if ra := s.opts.RetryAfter; ra > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(ra.Seconds())))))
			w.Header().Set("retry-after-ms", strconv.FormatInt(ra.Milliseconds(), 10))
			w.Header().Set("x-ratelimit-remaining-requests", "0")
			w.Header().Set("x-ratelimit-reset-requests", ra.String())
		}
		apiError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
			"Rate limit reached for requests. Please try again later. (simulated)")
		return
	case hit(s.opts.Rate5xx):
		if !s.wait(r.Context(), latency) {
			return
		}
		finish("5xx", func(st *Stats) { st.ServerErrors++ })
		status := http.StatusInternalServerError
		if hit(0.5) {
			status = http.StatusServiceUnavailable
		}
		apiError(w, status, "server_error", "", "The server had an error while processing your request. (simulated)")
		return
	case hit(s.opts.TimeoutRate):
		finish("hung", func(st *Stats) { st.Hung++ })
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	}

	g := newGenerator(s.opts.Seed, h, req)
	var content string
	outcome, reason := "ok", "stop"
	switch {
	case req.Schema == nil && !jsonObject:
		content = g.sentence()
	case req.Schema == nil:
		content = `{"reponse": "` + g.sentence() + `"}`
	case s.opts.Compromised:
		outcome, content = "compromised", g.compromised()
	default:
		content = g.answer()
	}
	switch {
	case req.Schema == nil:
	case hit(s.opts.Malformed):
		outcome, content = "malformed", g.malform(content)
	case hit(s.opts.Truncated):
		outcome, reason = "truncated", "length"
		content = content[:len(content)*3/5]
	}
	if !s.wait(r.Context(), latency) {
		return
	}

	prompt, system := 0, 0
	for i, m := range req.Messages {
		n := utf8.RuneCountInString(m.Content)
		prompt += n
		if i == 0 {
			system = n
		}
	}
	prompt = max(1, (prompt+len(req.Schema))/4)
	system = (system + len(req.Schema)) / 4
	cached := 0
	ph := prefixHash(req)
	s.mu.Lock()
	if s.prefixes[ph] && prompt >= 1024 && system >= 1024 {
		cached = min(system, prompt) / 128 * 128
	}
	s.prefixes[ph] = true
	s.mu.Unlock()
	completion := max(1, utf8.RuneCountInString(content)/4)
	finish(outcome, func(st *Stats) {
		st.Completions++
		st.CachedTokens += cached
		switch outcome {
		case "malformed":
			st.Malformed++
		case "truncated":
			st.Truncated++
		case "compromised":
			st.Compromised++
		}
	})
	w.Header().Set("x-request-id", fmt.Sprintf("req_sim_%016x_%d", h, occ))
	model := req.Model
	if model == "" {
		model = "kaleads-sim"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                 fmt.Sprintf("chatcmpl-sim-%016x-%d", h, occ),
		"object":             "chat.completion",
		"created":            time.Now().Unix(),
		"model":              model,
		"system_fingerprint": "fp_kaleads_sim",
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": content, "refusal": nil},
			"finish_reason": reason,
			"logprobs":      nil,
		}},
		"usage": map[string]any{
			"prompt_tokens":             prompt,
			"completion_tokens":         completion,
			"total_tokens":              prompt + completion,
			"prompt_tokens_details":     map[string]int{"cached_tokens": cached, "audio_tokens": 0},
			"completion_tokens_details": map[string]int{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
		},
	})
}

// wait sleeps d unless the client goes away or the server closes.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// hash identifies a request's content under the seed.
func (s *Server) hash(r Request) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(s.opts.Seed))
	h.Write(b[:])
	h.Write([]byte(r.Model))
	for _, m := range r.Messages {
		fmt.Fprintf(h, "\x00%s\x00%s", m.Role, m.Content)
	}
	h.Write([]byte{0})
	h.Write(r.Schema)
	return h.Sum64()
}

// prefixHash identifies the static prefix: model, schema, system message.
func prefixHash(r Request) uint64 {
	h := fnv.New64a()
	h.Write([]byte(r.Model))
	h.Write([]byte{0})
	h.Write(r.Schema)
	if len(r.Messages) > 0 {
		h.Write([]byte{0})
		h.Write([]byte(r.Messages[0].Content))
	}
	return h.Sum64()
}

// contentText reads a message content: a string or an array of text parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		out := ""
		for _, p := range parts {
			out += p.Text
		}
		return out
	}
	return ""
}

func apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a write error means the client left
}
