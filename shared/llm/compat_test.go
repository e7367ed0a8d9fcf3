package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/llmsim"
	"github.com/kaleads/kaleads/shared/pipeline"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/template"
)

// compatServer is an OpenAI-compatible server whose quirks a test chooses.
// Its answers come from the simulator, given the schema the request
// carries (in response_format, or in the prompt).
type compatServer struct {
	refuse     map[string]bool // response_format types answered 400 ("json_schema", "json_object")
	refuseBody func(typ string) (int, string)
	fence      bool                              // wrap answers in ```json fences
	fail       func() (int, string)              // answer every call with this status and body
	noTemp     bool                              // 400 when the body has a temperature (a reasoning model)
	check      func(*http.Request) (int, string) // a non-zero status fails the call with the body

	sim http.Handler
	srv *httptest.Server

	mu     sync.Mutex
	bodies []map[string]any
	n      atomic.Int32
}

func newCompatServer(t testing.TB, s *compatServer) *compatServer {
	t.Helper()
	s.sim = llmsim.New(llmsim.Options{Seed: 5}).Handler()
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// vllmError is the body vLLM sends: no "error" envelope, which go-openai
// cannot parse ("message: %!s(<nil>)").
func vllmError(msg string) string {
	b, _ := json.Marshal(map[string]any{"object": "error", "message": msg, "type": "BadRequestError", "param": nil, "code": 400})
	return string(b)
}

func openaiError(msg, typ, param, code string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": param, "code": code}})
	return string(b)
}

func writeBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (s *compatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.n.Add(1)
	raw := readAll(r)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		writeBody(w, 400, openaiError("body is not JSON: "+err.Error(), "invalid_request_error", "", ""))
		return
	}
	var recorded map[string]any
	json.Unmarshal(raw, &recorded)
	s.mu.Lock()
	s.bodies = append(s.bodies, recorded)
	s.mu.Unlock()
	if s.check != nil {
		if st, msg := s.check(r); st != 0 {
			writeBody(w, st, openaiError(msg, "invalid_request_error", "", ""))
			return
		}
	}
	if s.fail != nil {
		st, b := s.fail()
		writeBody(w, st, b)
		return
	}
	rf, _ := body["response_format"].(map[string]any)
	typ, _ := rf["type"].(string)
	if s.refuse[typ] {
		st, b := 400, vllmError(fmt.Sprintf("response_format type %s is not supported by this server", typ))
		if s.refuseBody != nil {
			st, b = s.refuseBody(typ)
		}
		writeBody(w, st, b)
		return
	}
	if _, ok := body["temperature"]; ok && s.noTemp {
		writeBody(w, 400, openaiError(fmt.Sprintf("Unsupported value: 'temperature' does not support %v with this model. Only the default (1) value is supported.", body["temperature"]),
			"invalid_request_error", "temperature", "unsupported_value"))
		return
	}
	// Answer like the simulator would for the schema the request carries.
	var schema json.RawMessage
	if js, ok := rf["json_schema"].(map[string]any); ok {
		schema, _ = json.Marshal(js["schema"])
	} else {
		msgs, _ := body["messages"].([]any)
		sys, _ := msgs[0].(map[string]any)["content"].(string)
		i := strings.Index(sys, schemaInstructions)
		if i < 0 {
			writeBody(w, 200, `{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Bonjour !"}}]}`)
			return
		}
		schema = json.RawMessage(sys[i+len(schemaInstructions):])
	}
	body["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "x", "schema": schema, "strict": true}}
	fwd, _ := json.Marshal(body)
	rec := httptest.NewRecorder()
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v1/chat/completions"
	r2.Body = nopCloser(fwd)
	s.sim.ServeHTTP(rec, r2)
	var resp map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		writeBody(w, 500, openaiError("simulator: "+err.Error(), "server_error", "", ""))
		return
	}
	if s.fence {
		msg := resp["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
		msg["content"] = "```json\n" + msg["content"].(string) + "\n```"
	}
	out, _ := json.Marshal(resp)
	writeBody(w, rec.Code, string(out))
}

func (s *compatServer) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

// engineFor makes an engine on the server; all agents use one model unless
// mod says otherwise.
func (s *compatServer) engine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	return newEngine(t, s.srv.URL+"/v1", func(c *Config) {
		for a := range c.Models {
			c.Models[a] = "gpt-4o-mini"
		}
		if mod != nil {
			mod(c)
		}
	})
}

// answerAll asks n answers concurrently (agents in turn, distinct
// companies) and returns how many the model produced (not the fallback).
func answerAll(t *testing.T, e *Engine, n int) int {
	t.Helper()
	var llm atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := agents.All[i%len(agents.All)]
			req := testRequest(t, spec, testSite())
			req.Contact.Fields["company_name"] = fmt.Sprintf("Planifix %d", i)
			a, err := e.Answer(context.Background(), req)
			if err != nil {
				t.Errorf("%s: %v", spec.Name, err)
				return
			}
			if a.Engine == "llm" {
				llm.Add(1)
			} else {
				t.Errorf("%s fell back: %v", spec.Name, a.Notes)
			}
		}()
	}
	wg.Wait()
	return int(llm.Load())
}

func responseType(body map[string]any) string {
	rf, _ := body["response_format"].(map[string]any)
	typ, _ := rf["type"].(string)
	return typ
}

func systemOf(body map[string]any) string {
	s, _ := body["messages"].([]any)[0].(map[string]any)["content"].(string)
	return s
}

func TestStrictServerKeepsJSONSchema(t *testing.T) {
	t.Parallel()
	s := newCompatServer(t, &compatServer{})
	e := s.engine(t, nil)
	if got := answerAll(t, e, 12); got != 12 {
		t.Fatalf("%d of 12 answers from the model", got)
	}
	reqs := s.requests()
	if len(reqs) != 12 {
		t.Fatalf("%d requests for 12 answers", len(reqs))
	}
	for _, b := range reqs {
		rf := b["response_format"].(map[string]any)
		if rf["type"] != "json_schema" || rf["json_schema"].(map[string]any)["strict"] != true {
			t.Fatalf("response_format = %v", rf)
		}
		if strings.Contains(systemOf(b), schemaInstructions) {
			t.Error("the schema is in the prompt although the server takes it as response_format")
		}
		for _, k := range []string{"temperature", "reasoning_effort", "max_tokens"} {
			if _, ok := b[k]; ok {
				t.Errorf("%s sent although not configured", k)
			}
		}
		if b["max_completion_tokens"] != float64(1000) {
			t.Errorf("max_completion_tokens = %v", b["max_completion_tokens"])
		}
	}
	if m := e.OutputModes(); len(m) != 1 || m[0].Mode != FormatJSONSchema || !m[0].Settled || m[0].Rejected != 0 {
		t.Errorf("output modes = %+v", m)
	}
}

func TestServerRefusingJSONSchemaFallsBackToJSONObject(t *testing.T) {
	t.Parallel()
	s := newCompatServer(t, &compatServer{refuse: map[string]bool{"json_schema": true}})
	e := s.engine(t, nil)
	const n = 24
	if got := answerAll(t, e, n); got != n {
		t.Fatalf("%d of %d answers from the model", got, n)
	}
	reqs := s.requests()
	if len(reqs) != n+1 {
		t.Errorf("%d requests for %d answers: want one refused json_schema, then the remembered mode", len(reqs), n)
	}
	refused := 0
	for _, b := range reqs {
		switch responseType(b) {
		case "json_schema":
			refused++
		case "json_object":
			if sys := systemOf(b); !strings.Contains(sys, schemaInstructions+`{"type":"object"`) {
				t.Errorf("json_object request without the schema in its prompt:\n%s", clip(sys, 300))
			}
		default:
			t.Errorf("response_format %q", responseType(b))
		}
	}
	if refused != 1 {
		t.Errorf("%d json_schema requests, want 1", refused)
	}
	if m := e.OutputModes(); len(m) != 1 || m[0].Mode != FormatJSONObject || !m[0].Settled || m[0].Rejected != 1 {
		t.Errorf("output modes = %+v", m)
	}
	if st := e.Stats(); st.Fallbacks != 0 || st.Retries != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestServerRefusingJSONSchemaAndObjectFallsBackToText(t *testing.T) {
	t.Parallel()
	s := newCompatServer(t, &compatServer{
		refuse: map[string]bool{"json_schema": true, "json_object": true},
		// Older Ollama's shape: an "error" envelope with a message only.
		refuseBody: func(typ string) (int, string) {
			return 400, `{"error":{"message":"invalid response_format type: ` + typ + `"}}`
		},
		fence: true, // text mode: models fence their JSON
	})
	e := s.engine(t, func(c *Config) { c.Models["signal"] = "gpt-4o" })
	const n = 18
	if got := answerAll(t, e, n); got != n {
		t.Fatalf("%d of %d answers from the model", got, n)
	}
	// Two routes (gpt-4o-mini, gpt-4o), each pays two refusals once.
	if got := len(s.requests()); got != n+4 {
		t.Errorf("%d requests for %d answers, want %d", got, n, n+4)
	}
	for _, m := range e.OutputModes() {
		if m.Mode != FormatText || m.Rejected != 2 || !m.Settled {
			t.Errorf("output mode %+v", m)
		}
	}
	if st := e.Stats(); st.Repairs != 0 || st.Fallbacks != 0 {
		t.Errorf("stats = %+v: fenced JSON must be accepted without a repair", st)
	}
	types := map[string]int{}
	for _, b := range s.requests() {
		types[responseType(b)]++
		if _, ok := b["response_format"]; !ok && !strings.Contains(systemOf(b), schemaInstructions) {
			t.Error("text-mode request without the schema in its prompt")
		}
	}
	if types["json_schema"] != 2 || types["json_object"] != 2 || types[""] != n {
		t.Errorf("requests by response_format: %v, want 2 json_schema, 2 json_object, %d without", types, n)
	}
}

func TestFencedJSONAcceptedInEveryMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{FormatJSONSchema, FormatJSONObject, FormatText} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := newCompatServer(t, &compatServer{fence: true})
			e := s.engine(t, func(c *Config) { c.ResponseFormat = mode })
			if got := answerAll(t, e, 6); got != 6 {
				t.Fatalf("%d of 6 answers from the model", got)
			}
			if st := e.Stats(); st.Calls != 6 || st.Repairs != 0 {
				t.Errorf("stats = %+v: want 6 calls, no repair", st)
			}
		})
	}
}

func TestStripFences(t *testing.T) {
	t.Parallel()
	obj := `{"a": "b"}`
	for in, want := range map[string]string{
		obj:                                       obj,
		"  " + obj + "\n":                         obj,
		"```json\n" + obj + "\n```":               obj,
		"```JSON\n" + obj + "\n```\n":             obj,
		"```\n" + obj + "\n```":                   obj,
		"Voici :\n```json\n" + obj + "\n```":      obj,
		"<think>hmm</think>\n" + obj:              obj,
		"<think>x</think>```json\n" + obj + "```": obj,
		"```python\nprint(1)\n```":                "```python\nprint(1)\n```",
		"Voici ma réponse, désolé pas de JSON":    "Voici ma réponse, désolé pas de JSON",
		"Voici la réponse :\n" + obj:              "Voici la réponse :\n" + obj, // prose stays: a repair says why
	} {
		if got := stripFences(in); got != want {
			t.Errorf("stripFences(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestParameters(t *testing.T) {
	t.Parallel()
	f := func(v float32) *float32 { return &v }
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		model string
		want  map[string]any // key → value; nil value: absent
	}{
		{"temperature unset", nil, "gpt-4o-mini", map[string]any{"temperature": nil, "max_completion_tokens": 1000.0, "max_tokens": nil}},
		{"temperature 0 is sent", func(c *Config) { c.Temperature = f(0) }, "gpt-4o-mini", map[string]any{"temperature": 0.0}},
		{"temperature 0.3", func(c *Config) { c.Temperature = f(0.25) }, "gpt-4o-mini", map[string]any{"temperature": 0.25}},
		{"max_tokens", func(c *Config) { c.MaxTokensParam = "max_tokens" }, "llama3.1", map[string]any{"max_tokens": 1000.0, "max_completion_tokens": nil}},
		{"both", func(c *Config) { c.MaxTokensParam = "both" }, "llama3.1", map[string]any{"max_tokens": 1000.0, "max_completion_tokens": 1000.0}},
		{"reasoning effort to a reasoning model", func(c *Config) { c.ReasoningEffort = "low" }, "gpt-5-mini", map[string]any{"reasoning_effort": "low", "max_completion_tokens": 1000.0, "temperature": nil}},
		{"reasoning effort not to others", func(c *Config) { c.ReasoningEffort = "low" }, "gpt-4o-mini", map[string]any{"reasoning_effort": nil}},
		{"vendor prefix", func(c *Config) { c.ReasoningEffort = "minimal" }, "openai/o4-mini", map[string]any{"reasoning_effort": "minimal"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newCompatServer(t, &compatServer{})
			e := s.engine(t, func(c *Config) {
				c.Models["persona"] = tc.model
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
			if err != nil || a.Engine != "llm" {
				t.Fatalf("engine %s err %v notes %v", a.Engine, err, a.Notes)
			}
			b := s.requests()[0]
			for k, want := range tc.want {
				got, ok := b[k]
				if want == nil && ok {
					t.Errorf("%s = %v, want it absent", k, got)
				}
				if want != nil && got != want {
					t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
				}
			}
		})
	}
}

func TestReasoningModelTemperatureIsAConfigError(t *testing.T) {
	t.Parallel()
	f := func(v float32) *float32 { return &v }
	// go-openai refuses these before sending: New says so, nothing is sent.
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"temperature 0.2", func(c *Config) { c.Temperature = f(0.2) }, "temperature"},
		{"temperature 0", func(c *Config) { c.Temperature = f(0) }, "temperature"},
		{"max_tokens", func(c *Config) { c.MaxTokensParam = "both" }, "max_tokens_param"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newCompatServer(t, &compatServer{noTemp: true})
			cfg := testConfig(s.srv.URL + "/v1")
			cfg.Models["signal"] = "gpt-5-mini"
			tc.mod(&cfg)
			_, err := New(cfg, &fakeFallback{})
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || !StopsRun(err) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			for _, w := range []string{tc.want, "gpt-5-mini", "models.signal"} {
				if !strings.Contains(err.Error(), w) && !strings.Contains(ce.Setting, w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if s.n.Load() != 0 {
				t.Errorf("%d requests sent", s.n.Load())
			}
		})
	}

	// A reasoning model go-openai does not know: the server refuses the
	// temperature; the first call stops the run, without retry or fallback.
	t.Run("server refuses", func(t *testing.T) {
		t.Parallel()
		s := newCompatServer(t, &compatServer{noTemp: true})
		e := s.engine(t, func(c *Config) { c.Temperature = f(0); c.Models["persona"] = "qwq-32b" })
		_, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
		if !errors.Is(err, ErrConfig) || !StopsRun(err) {
			t.Fatalf("err = %v, want a configuration error", err)
		}
		for _, w := range []string{"check temperature", "qwq-32b", "HTTP 400", "Only the default (1) value is supported"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message %q lacks %q", err, w)
			}
		}
		if s.n.Load() != 1 || fallbackOf(e).calls.Load() != 0 || e.Stats().Retries != 0 {
			t.Errorf("%d requests, %d fallbacks, stats %+v: want one request, no retry, no fallback", s.n.Load(), fallbackOf(e).calls.Load(), e.Stats())
		}
	})
}

func TestRequestRefusedBeforeSendingStops(t *testing.T) {
	t.Parallel()
	s := newCompatServer(t, &compatServer{})
	// go-openai refuses completion-only models on the chat endpoint, at call time.
	e := s.engine(t, func(c *Config) { c.Models["pain"] = "text-davinci-003" })
	_, err := e.Answer(context.Background(), testRequest(t, agents.Pain, testSite()))
	if !errors.Is(err, ErrConfig) || !StopsRun(err) {
		t.Fatalf("err = %v, want a configuration error", err)
	}
	for _, w := range []string{"models.pain", "KALEADS_MODEL_PAIN", "before sending", "text-davinci-003"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q lacks %q", err, w)
		}
	}
	if st := e.Stats(); s.n.Load() != 0 || st.Retries != 0 || st.Attempts != 1 || fallbackOf(e).calls.Load() != 0 {
		t.Errorf("%d requests, stats %+v: want one attempt, nothing sent, no retry, no fallback", s.n.Load(), st)
	}
}

// runUntilStopped answers contacts one after the other like a campaign,
// until an error stops the run; it returns the contacts answered and the
// error.
func runUntilStopped(t *testing.T, e *Engine, contacts int) (int, error) {
	t.Helper()
	for i := range contacts {
		req := testRequest(t, agents.Persona, testSite())
		req.Contact.Fields["company_name"] = fmt.Sprintf("Co %d", i)
		if _, err := e.Answer(context.Background(), req); err != nil {
			if !StopsRun(err) {
				t.Fatalf("contact %d: %v does not stop the run", i, err)
			}
			return i, err
		}
	}
	return contacts, nil
}

func TestSame4xxEveryCallStopsRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		limit    int
		status   int
		body     string
		answered int
		want     []string
	}{
		{"400 vLLM body", 0, 400, vllmError("This model's maximum context length is 4096 tokens. However, you requested 9000 tokens."),
			4, []string{"5 calls in a row failed with HTTP 400", "maximum context length is 4096", "check max_site_chars"}},
		{"404 limit 2", 2, 404, openaiError("The model `gpt-4o-mini` does not exist or you do not have access to it.", "invalid_request_error", "", "model_not_found"),
			1, []string{"2 calls in a row failed with HTTP 404", "does not exist", "check models.persona", "base_url"}},
		{"401 at once", 0, 401, openaiError("Incorrect API key provided: sk-***", "invalid_request_error", "", "invalid_api_key"),
			0, []string{"check OPENAI_API_KEY", "401", "Incorrect API key"}},
		{"empty body", 0, 400, "", 4, []string{"HTTP 400 Bad Request: (empty body)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newCompatServer(t, &compatServer{fail: func() (int, string) { return tc.status, tc.body }})
			e := s.engine(t, func(c *Config) {
				if tc.limit > 0 {
					c.StopAfterClientErrors = tc.limit
				}
			})
			answered, err := runUntilStopped(t, e, 20)
			if answered != tc.answered || !errors.Is(err, ErrConfig) {
				t.Fatalf("stopped after %d contacts with %v; want %d, a configuration error", answered, err, tc.answered)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "%!") {
				t.Errorf("unreadable message %q", msg)
			}
			if got := int(s.n.Load()); got != tc.answered+1 {
				t.Errorf("%d requests, want %d (a 4xx is not retried)", got, tc.answered+1)
			}
			if got := int(fallbackOf(e).calls.Load()); got != tc.answered {
				t.Errorf("%d fallbacks before the stop, want %d", got, tc.answered)
			}
		})
	}
}

func TestReadableErrorInFallbackNote(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ body, want string }{
		"vLLM":         {vllmError("max_tokens must be at least 1, got -3."), "HTTP 400 Bad Request: max_tokens must be at least 1, got -3."},
		"FastAPI":      {`{"detail":"Not Found"}`, "HTTP 400 Bad Request: Not Found"},
		"FastAPI list": {`{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`, "field required [body messages]"},
		"error string": {`{"error":"model 'llama9' not found"}`, "HTTP 400 Bad Request: model 'llama9' not found"},
		"OpenAI":       {openaiError("Invalid 'messages[0].content'", "invalid_request_error", "messages", ""), "Invalid 'messages[0].content' (param messages, type invalid_request_error)"},
		"HTML":         {"<html>bad gateway</html>", "HTTP 400 Bad Request: <html>bad gateway</html>"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newCompatServer(t, &compatServer{fail: func() (int, string) { return 400, tc.body }})
			e := s.engine(t, nil)
			a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
			if err != nil {
				t.Fatal(err)
			}
			n, ok := hasNote(a, "llm_fallback")
			if !ok || !strings.Contains(n.Message, tc.want) || strings.Contains(n.Message, "%!") {
				t.Errorf("fallback note %q, want it to contain %q", n.Message, tc.want)
			}
		})
	}
}

func TestAzure(t *testing.T) {
	t.Parallel()
	const key, version = "azure-key-1", "2024-10-21"
	var paths sync.Map
	s := newCompatServer(t, &compatServer{check: func(r *http.Request) (int, string) {
		paths.Store(r.URL.Path, true)
		switch {
		case r.Header.Get("api-key") != key:
			return 401, "api-key header = " + r.Header.Get("api-key")
		case r.Header.Get("Authorization") != "":
			return 400, "unexpected Authorization header"
		case r.URL.Query().Get("api-version") != version:
			return 400, "api-version = " + r.URL.Query().Get("api-version")
		case r.URL.Path != "/openai/deployments/kaleads-mini/chat/completions" && r.URL.Path != "/openai/deployments/kaleads-signal/chat/completions":
			return 404, "DeploymentNotFound: " + r.URL.Path
		}
		return 0, ""
	}})
	file := t.TempDir() + "/llm.json"
	if err := os.WriteFile(file, []byte(`{"models": {"signal": "gpt-4o"}, "azure": {"deployments": {"gpt-4o": "kaleads-signal"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{
		EnvConfig: file, EnvAzureEndpoint: s.srv.URL + "/", EnvAzureAPIKey: key,
		EnvAzureAPIVersion: version, EnvAzureDeployment: "kaleads-mini",
	})
	eng, err := NewEngine(ChoiceAuto, getenv) // the Azure variables select the LLM
	if err != nil {
		t.Fatal(err)
	}
	e, ok := eng.(*Engine)
	if !ok {
		t.Fatalf("auto chose %s, want the LLM engine", eng.Name())
	}
	e.fallback = &fakeFallback{}
	for _, spec := range []agents.Spec{agents.Persona, agents.Signal} {
		a, err := e.Answer(context.Background(), testRequest(t, spec, testSite()))
		if err != nil || a.Engine != "llm" {
			t.Fatalf("%s: engine %s err %v notes %v", spec.Name, a.Engine, err, a.Notes)
		}
	}
	for _, p := range []string{"/openai/deployments/kaleads-mini/chat/completions", "/openai/deployments/kaleads-signal/chat/completions"} {
		if _, ok := paths.Load(p); !ok {
			t.Errorf("no request to %s", p)
		}
	}

	// A wrong deployment is a configuration error naming the deployment settings.
	cfg := e.cfg
	cfg.Azure.Deployment, cfg.StopAfterClientErrors = "nope", 1
	cfg.Azure.Deployments = nil
	e2, err := New(cfg, &fakeFallback{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e2.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "azure.deployment") || !strings.Contains(err.Error(), "DeploymentNotFound") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadConfigProvider(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		env               map[string]string
		provider, key, ep string
		llm               bool // --engine auto picks the LLM
	}{
		{"nothing", nil, ProviderOpenAI, "", "https://api.openai.com/v1", false},
		{"openai key", map[string]string{EnvAPIKey: "sk"}, ProviderOpenAI, "sk", "https://api.openai.com/v1", true},
		{"azure variables", map[string]string{EnvAzureEndpoint: "https://r.openai.azure.com/", EnvAzureAPIKey: "az"}, ProviderAzure, "az", "https://r.openai.azure.com", true},
		{"an OpenAI key wins over a stray Azure endpoint", map[string]string{EnvAPIKey: "sk", EnvAzureEndpoint: "https://r.openai.azure.com"}, ProviderOpenAI, "sk", "https://api.openai.com/v1", true},
		{"explicit azure, OpenAI key reused", map[string]string{EnvProvider: "Azure", EnvAPIKey: "sk", EnvAzureEndpoint: "https://r.openai.azure.com"}, ProviderAzure, "sk", "https://r.openai.azure.com", true},
	} {
		c, err := LoadConfig("", env(tc.env))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.Provider != tc.provider || c.APIKey != tc.key || c.Endpoint() != tc.ep || envSelectsLLM(env(tc.env)) != tc.llm {
			t.Errorf("%s: provider %q key %q endpoint %q auto-LLM %v", tc.name, c.Provider, c.APIKey, c.Endpoint(), envSelectsLLM(env(tc.env)))
		}
		if tc.provider == ProviderAzure && c.Azure.APIVersion == "" {
			t.Errorf("%s: no default api_version", tc.name)
		}
	}
	c, err := LoadConfig("", env(map[string]string{EnvResponseFormat: "text", EnvReasoningEffort: "low"}))
	if err != nil || c.ResponseFormat != FormatText || c.ReasoningEffort != "low" || c.StopAfterClientErrors != 5 || c.MaxTokensParam != "max_completion_tokens" {
		t.Errorf("config %+v, err %v", c, err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"azure without endpoint": {map[string]string{EnvProvider: "azure"}, EnvAzureEndpoint},
		"unknown provider":       {map[string]string{EnvProvider: "bedrock"}, "provider"},
		"bad response format":    {map[string]string{EnvResponseFormat: "yaml"}, EnvResponseFormat},
		"bad reasoning effort":   {map[string]string{EnvReasoningEffort: "lots"}, EnvReasoningEffort},
	} {
		if _, err := LoadConfig("", env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %s", name, err, tc.want)
		}
	}
	// Azure needs a key; the error names its variable.
	c, _ = LoadConfig("", env(map[string]string{EnvAzureEndpoint: "https://r.openai.azure.com"}))
	if _, err := New(c, &fakeFallback{}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), EnvAzureAPIKey) {
		t.Errorf("azure without key: %v", err)
	}
}

// The first call to a route goes alone; once it has ended, whatever its
// outcome, the others run concurrently.
func TestFirstCallAloneThenConcurrent(t *testing.T) {
	t.Parallel()
	const n = 5
	var inflight, maxFirst, seen, others atomic.Int32
	all := make(chan struct{})
	var once sync.Once
	sim := llmsim.New(llmsim.Options{Seed: 1}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		if seen.Add(1) == 1 {
			maxFirst.Store(cur)
			writeBody(w, 503, openaiError("overloaded", "server_error", "", ""))
			return
		}
		if others.Add(1) == n-1 { // every call after the first is in flight, waiting
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e := newEngine(t, srv.URL+"/v1", func(c *Config) {
		c.MaxAttempts = 1
		for a := range c.Models {
			c.Models[a] = "gpt-4o-mini"
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a deadlock fails, not hangs
	defer cancel()
	var wg sync.WaitGroup
	var llm atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := testRequest(t, agents.Pain, testSite())
			req.Contact.Fields["company_name"] = fmt.Sprintf("Co %d", i)
			a, err := e.Answer(ctx, req)
			if err == nil && a.Engine == "llm" {
				llm.Add(1)
			}
		}()
	}
	wg.Wait()
	if maxFirst.Load() != 1 {
		t.Errorf("%d requests in flight during the first call, want it alone", maxFirst.Load())
	}
	if llm.Load() != n-1 || fallbackOf(e).calls.Load() != 1 {
		t.Errorf("%d model answers, %d fallbacks: want the %d calls after the first to run together", llm.Load(), fallbackOf(e).calls.Load(), n-1)
	}
}

type siteScraper struct{}

func (siteScraper) Scrape(context.Context, string) (*scrape.Site, error) { return testSite(), nil }

// A campaign against a server that refuses every call: the run stops with
// the configuration error, the emails finished before it are kept.
func TestConfigErrorStopsCampaign(t *testing.T) {
	t.Parallel()
	s := newCompatServer(t, &compatServer{fail: func() (int, string) {
		return 400, vllmError("model \"llama-3-70b\" is not served here; available: qwen2.5-7b")
	}})
	e := s.engine(t, func(c *Config) { c.StopAfterClientErrors = 3 })
	tm, err := template.Parse("t.md", []byte("Subject: {{company_name}}\n\nBonjour {{first_name}}, {{target_persona}} ?"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Template: tm, Context: loadContext(t), Engine: e, Scraper: siteScraper{},
		Columns: []string{"first_name", "company_name", "website"}})
	if err != nil {
		t.Fatal(err)
	}
	var cs []contacts.Contact
	for i := range 10 {
		c := testContact()
		c.Line, c.CompanyName = i+2, fmt.Sprintf("Co%d", i)
		c.Website = fmt.Sprintf("https://co%d.example", i)
		c.Fields = map[string]string{"first_name": "Paul", "company_name": c.CompanyName, "website": c.Website}
		cs = append(cs, c)
	}
	emitted := 0
	sum, err := p.Run(context.Background(), cs, pipeline.RunOptions{Concurrency: 1}, func(email.Result) error { emitted++; return nil })
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("run ended with %v, want the configuration error", err)
	}
	if emitted != 2 || sum.Generated != 2 {
		t.Errorf("%d emitted, %d generated: want the 2 contacts finished before the 3rd refused call", emitted, sum.Generated)
	}
	t.Log(sum.StoppedEarly)
	for _, w := range []string{"3 calls in a row failed with HTTP 400", `model "llama-3-70b" is not served here`, "check models.persona"} {
		if !strings.Contains(sum.StoppedEarly, w) {
			t.Errorf("stopped early %q lacks %q", sum.StoppedEarly, w)
		}
	}
}
