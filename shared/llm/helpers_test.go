package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/llmsim"
	"github.com/kaleads/kaleads/shared/scrape"
)

// fakeFallback stands in for the offline engine.
type fakeFallback struct{ calls atomic.Int32 }

func (f *fakeFallback) Name() string          { return "fake" }
func (f *fakeFallback) Version(string) string { return "fake@1" }
func (f *fakeFallback) Answer(ctx context.Context, req agents.Request) (email.Answer, error) {
	if err := ctx.Err(); err != nil {
		return email.Answer{}, err
	}
	f.calls.Add(1)
	vals := map[string]string{}
	for _, v := range req.Spec.Produces() {
		vals[v] = "valeur de repli"
	}
	return email.Answer{Agent: req.Spec.Name, Values: vals, Confidence: 2, FallbackLevel: email.LevelContext,
		Reasoning: "repli", Engine: "fake", Version: "fake@1"}, nil
}

func loadContext(t testing.TB) *clientctx.Context {
	t.Helper()
	c, err := clientctx.Load(context.Background(), clientctx.Dir("testdata/client"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const homeText = "Planifix aide les directeurs d'usine à planifier la production de leurs ateliers sans tableur. " +
	"Plus de 200 PME industrielles nous font confiance depuis 2015 pour organiser leurs équipes, leurs machines et leurs commandes urgentes."

func testSite(extra ...scrape.Page) *scrape.Site {
	s := &scrape.Site{Host: "planifix.fr", Pages: []scrape.Page{
		{URL: "https://planifix.fr/", Kind: "home", Title: "Planifix, le planning de production des PME", Description: "Logiciel de planification de production", Headings: []string{"Planifiez vos ateliers"}, Text: homeText},
		{URL: "https://planifix.fr/clients", Kind: "customers", Text: "Nos clients sont des sous-traitants mécaniques, des fabricants de meubles et des ateliers de découpe laser.",
			Quotes: []scrape.Testimonial{{Quote: "Nous avons gagné une journée par semaine.", Author: "Claire Martin", Title: "Directrice de production"}}},
	}}
	s.Pages = append(s.Pages, extra...)
	return s
}

func testContact() contacts.Contact {
	f := map[string]string{"company_name": "Planifix", "website": "https://planifix.fr", "industry": "logiciel industriel", "first_name": "Paul"}
	return contacts.Contact{FirstName: "Paul", CompanyName: "Planifix", Website: "https://planifix.fr", Industry: "logiciel industriel", Fields: f}
}

func testRequest(t testing.TB, spec agents.Spec, site *scrape.Site) agents.Request {
	in := map[string]string{
		"target_persona": "directeurs de production de pme", "product_category": "logiciel de planification",
		"specific_target_1": "pme industrielles recrutant des techniciens", "specific_target_2": "ateliers de découpe laser ayant investi",
		"solve_specific_pain": "un pipeline qui dépend trop des salons",
	}
	inputs := map[string]string{}
	for _, n := range spec.Needs {
		inputs[n] = in[n]
	}
	return agents.Request{Spec: spec, Contact: testContact(), Site: site, Context: loadContext(t), Inputs: inputs, Language: "fr"}
}

// testConfig points at baseURL with fast back-off and no rate budget.
func testConfig(baseURL string) Config {
	c := DefaultConfig()
	c.BaseURL = baseURL
	c.Timeout = Duration(5 * time.Second)
	c.BackoffBase = Duration(time.Millisecond)
	c.BackoffMax = Duration(10 * time.Millisecond)
	c.RPM, c.TPM = 0, 0
	return c
}

// startSim starts a simulator and an engine on it.
func startSim(t testing.TB, o llmsim.Options, mod func(*Config)) (*Engine, *llmsim.Server) {
	t.Helper()
	sim := llmsim.New(o)
	url, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return newEngine(t, url, mod), sim
}

func newEngine(t testing.TB, url string, mod func(*Config)) *Engine {
	t.Helper()
	cfg := testConfig(url)
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, &fakeFallback{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fallbackOf(e *Engine) *fakeFallback { return e.fallback.(*fakeFallback) }

// script is a server that answers its steps in order, then hands every
// further request to the simulator. It records request bodies.
type script struct {
	mu     sync.Mutex
	steps  []http.HandlerFunc
	bodies [][]byte
	sim    http.Handler
}

func startScript(t testing.TB, steps ...http.HandlerFunc) (*Engine, *script) {
	t.Helper()
	s := &script{steps: steps, sim: llmsim.New(llmsim.Options{Seed: 1}).Handler()}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return newEngine(t, srv.URL+"/v1", nil), s
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := readAll(r)
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	var step http.HandlerFunc
	if len(s.steps) > 0 {
		step, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	r.Body = http.NoBody
	if step != nil {
		step(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.Body = nopCloser(body)
	s.sim.ServeHTTP(w, r2)
}

func (s *script) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

func readAll(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// apiError answers an OpenAI-shaped error with headers.
func apiError(status int, code string, headers map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "scripted " + code, "type": code, "code": code}})
	}
}

// reply answers a chat completion with the given content.
func reply(content, finish string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-scripted", "object": "chat.completion", "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": finish,
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]any{"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
				"prompt_tokens_details": map[string]any{"cached_tokens": 0}},
		})
	}
}

// chatBody decodes a recorded request body.
type chatBody struct {
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func decodeBody(t testing.TB, b []byte) chatBody {
	t.Helper()
	var c chatBody
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("request body: %v", err)
	}
	return c
}

// sleeps records the engine's sleeps instead of sleeping. With advance
// set, sleeping moves its fake clock (install s.now as the engine's clock).
type sleeps struct {
	mu      sync.Mutex
	d       []time.Duration
	advance bool
	t       time.Time
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	if s.advance {
		s.t = s.t.Add(d)
	}
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t.IsZero() {
		s.t = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return s.t
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}
