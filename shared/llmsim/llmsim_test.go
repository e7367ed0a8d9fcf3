package llmsim

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const personaSchema = `{"type":"object","properties":{
 "injection_detected":{"type":"boolean"},
 "reasoning":{"type":"string"},
 "evidence":{"type":"array","items":{"type":"object","properties":{"url":{"type":"string"},"quote":{"type":"string"}},"required":["url","quote"],"additionalProperties":false}},
 "values":{"type":"object","properties":{"target_persona":{"type":"string"},"product_category":{"type":"string"}},"required":["target_persona","product_category"],"additionalProperties":false},
 "fallback_level":{"type":"integer","enum":[1,2,3,4]},
 "confidence":{"type":"integer","enum":[1,2,3,4,5]}},
 "required":["injection_detected","reasoning","evidence","values","fallback_level","confidence"],"additionalProperties":false}`

const pageText = "Planifix aide les directeurs d'usine à planifier la production de leurs ateliers sans tableur depuis 2015."

func chatBody(system, user, schema string) []byte {
	req := map[string]any{
		"model": "gpt-4o-mini",
		"messages": []map[string]string{
			{"role": "system", "content": system},
			{"role": "user", "content": user},
		},
	}
	if schema != "" {
		req["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "t", "strict": true, "schema": json.RawMessage(schema)}}
	}
	b, _ := json.Marshal(req)
	return b
}

func userMsg(text string) string {
	return "# Prospect\n\n<untrusted_website_content>\n### Page 1 : https://planifix.fr/ (home)\nTexte : " + text + "\n</untrusted_website_content>\n"
}

type completion struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

func start(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	s := New(o)
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, url
}

func post(t *testing.T, client *http.Client, url string, body []byte) (*http.Response, completion) {
	t.Helper()
	resp, err := client.Post(url+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var c completion
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, b)
	}
	return resp, c
}

func TestAnswersFollowTheSchema(t *testing.T) {
	_, url := start(t, Options{Seed: 1})
	_, c := post(t, http.DefaultClient, url, chatBody("sys", userMsg(pageText), personaSchema))
	if len(c.Choices) != 1 || c.Choices[0].FinishReason != "stop" {
		t.Fatalf("completion = %+v", c)
	}
	var out struct {
		InjectionDetected bool                          `json:"injection_detected"`
		Reasoning         string                        `json:"reasoning"`
		Evidence          []struct{ URL, Quote string } `json:"evidence"`
		Values            map[string]string             `json:"values"`
		FallbackLevel     int                           `json:"fallback_level"`
		Confidence        int                           `json:"confidence"`
	}
	dec := json.NewDecoder(strings.NewReader(c.Choices[0].Message.Content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("content does not fit the schema: %v\n%s", err, c.Choices[0].Message.Content)
	}
	if len(out.Values) != 2 || out.Values["target_persona"] == "" || out.Values["product_category"] == "" || out.Reasoning == "" {
		t.Errorf("values = %+v", out)
	}
	if out.FallbackLevel != 1 || out.Confidence != 4 {
		t.Errorf("level %d confidence %d, want 1 and 4 when a quote backs the answer", out.FallbackLevel, out.Confidence)
	}
	if len(out.Evidence) != 1 || out.Evidence[0].URL != "https://planifix.fr/" || !strings.Contains(pageText, out.Evidence[0].Quote) || len(strings.Fields(out.Evidence[0].Quote)) < 5 {
		t.Errorf("evidence = %+v, want a verbatim quote of the page", out.Evidence)
	}
	if c.Usage.PromptTokens < 50 || c.Usage.CompletionTokens == 0 || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
		t.Errorf("usage = %+v", c.Usage)
	}

	// Without a website the answer drops to lower levels and quotes nothing.
	_, c = post(t, http.DefaultClient, url, chatBody("sys", "# Prospect\n\nSite indisponible", personaSchema))
	json.Unmarshal([]byte(c.Choices[0].Message.Content), &out)
	if out.FallbackLevel != 3 || len(out.Evidence) != 0 {
		t.Errorf("without a site: level %d evidence %v", out.FallbackLevel, out.Evidence)
	}
}

func TestSchemaWalkerHandlesGeneralSchemas(t *testing.T) {
	schema := `{"type":"object","$defs":{"step":{"type":"object","properties":{"n":{"type":"integer","minimum":10,"maximum":12}},"required":["n"],"additionalProperties":false}},
	"properties":{
	 "kind":{"type":"string","enum":["a","b"]},
	 "maybe":{"anyOf":[{"type":"string"},{"type":"null"}]},
	 "nullable":{"type":["string","null"]},
	 "steps":{"type":"array","minItems":2,"items":{"$ref":"#/$defs/step"}},
	 "score":{"type":"number"},
	 "ok":{"type":"boolean"},
	 "fixed":{"const":"x"}},
	"required":["kind","maybe","nullable","steps","score","ok","fixed"],"additionalProperties":false}`
	_, url := start(t, Options{})
	_, c := post(t, http.DefaultClient, url, chatBody("sys", "user", schema))
	var out struct {
		Kind     string  `json:"kind"`
		Maybe    *string `json:"maybe"`
		Nullable *string `json:"nullable"`
		Steps    []struct {
			N int `json:"n"`
		} `json:"steps"`
		Score float64 `json:"score"`
		OK    bool    `json:"ok"`
		Fixed string  `json:"fixed"`
	}
	if err := json.Unmarshal([]byte(c.Choices[0].Message.Content), &out); err != nil {
		t.Fatal(err)
	}
	if (out.Kind != "a" && out.Kind != "b") || out.Maybe == nil || out.Nullable == nil || len(out.Steps) != 2 || out.Fixed != "x" || out.Score < 1 || out.Score > 5 {
		t.Errorf("answer = %+v", out)
	}
	for _, s := range out.Steps {
		if s.N < 10 || s.N > 12 {
			t.Errorf("n = %d outside [10, 12]", s.N)
		}
	}
}

func TestDeterministicPerSeedAndRequest(t *testing.T) {
	answers := func(seed int64) []string {
		_, url := start(t, Options{Seed: seed, Malformed: 0.3, Truncated: 0.2})
		var out []string
		for i := 0; i < 8; i++ {
			_, c := post(t, http.DefaultClient, url, chatBody("sys", userMsg(fmt.Sprintf("%s Client numéro %d.", pageText, i)), personaSchema))
			out = append(out, c.Choices[0].FinishReason+" "+c.Choices[0].Message.Content+fmt.Sprint(c.Usage))
		}
		return out
	}
	a, b, other := answers(42), answers(42), answers(43)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Error("same seed and requests gave different answers")
	}
	if strings.Join(a, "\n") == strings.Join(other, "\n") {
		t.Error("another seed gave the same answers")
	}
}

func TestFaults(t *testing.T) {
	body := chatBody("sys", userMsg(pageText), personaSchema)
	t.Run("429", func(t *testing.T) {
		s, url := start(t, Options{Rate429: 1, RetryAfter: 1500 * time.Millisecond})
		resp, c := post(t, http.DefaultClient, url, body)
		if resp.StatusCode != 429 || c.Error == nil || c.Error.Code != "rate_limit_exceeded" {
			t.Fatalf("status %d error %+v", resp.StatusCode, c.Error)
		}
		if resp.Header.Get("Retry-After") != "2" || resp.Header.Get("retry-after-ms") != "1500" || resp.Header.Get("x-ratelimit-reset-requests") != "1.5s" {
			t.Errorf("headers = %v", resp.Header)
		}
		if s.Stats().RateLimited != 1 {
			t.Errorf("stats = %+v", s.Stats())
		}
	})
	t.Run("429 without hint", func(t *testing.T) {
		_, url := start(t, Options{Rate429: 1, RetryAfter: -1})
		resp, _ := post(t, http.DefaultClient, url, body)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
			t.Errorf("status %d headers %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("insufficient_quota", func(t *testing.T) {
		_, url := start(t, Options{InsufficientQuota: true})
		resp, c := post(t, http.DefaultClient, url, body)
		if resp.StatusCode != 429 || c.Error == nil || c.Error.Code != "insufficient_quota" || c.Error.Type != "insufficient_quota" {
			t.Fatalf("status %d error %+v", resp.StatusCode, c.Error)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		s, url := start(t, Options{Rate5xx: 1})
		for i := 0; i < 6; i++ {
			resp, c := post(t, http.DefaultClient, url, body)
			if resp.StatusCode != 500 && resp.StatusCode != 503 || c.Error == nil || c.Error.Type != "server_error" {
				t.Fatalf("status %d error %+v", resp.StatusCode, c.Error)
			}
		}
		if s.Stats().ServerErrors != 6 {
			t.Errorf("stats = %+v", s.Stats())
		}
	})
	t.Run("truncated", func(t *testing.T) {
		_, url := start(t, Options{Truncated: 1})
		_, c := post(t, http.DefaultClient, url, body)
		if c.Choices[0].FinishReason != "length" || json.Valid([]byte(c.Choices[0].Message.Content)) {
			t.Errorf("finish %q content %q", c.Choices[0].FinishReason, c.Choices[0].Message.Content)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		_, url := start(t, Options{Malformed: 1})
		for i := 0; i < 10; i++ {
			_, c := post(t, http.DefaultClient, url, chatBody("sys", userMsg(fmt.Sprint(pageText, i)), personaSchema))
			var out struct {
				Values map[string]string `json:"values"`
			}
			if err := json.Unmarshal([]byte(c.Choices[0].Message.Content), &out); err == nil && out.Values != nil {
				t.Errorf("malformed answer is valid: %s", c.Choices[0].Message.Content)
			}
		}
	})
	t.Run("hung until the client gives up", func(t *testing.T) {
		s, url := start(t, Options{TimeoutRate: 1})
		client := &http.Client{Timeout: 100 * time.Millisecond}
		if _, err := client.Post(url+"/chat/completions", "application/json", bytes.NewReader(body)); err == nil {
			t.Fatal("a hung request answered")
		}
		if s.Stats().Hung != 1 {
			t.Errorf("stats = %+v", s.Stats())
		}
	})
	t.Run("bad request", func(t *testing.T) {
		_, url := start(t, Options{})
		resp, c := post(t, http.DefaultClient, url, []byte(`{"model":`))
		if resp.StatusCode != 400 || c.Error == nil {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestCloseReleasesHungRequests(t *testing.T) {
	s := New(Options{TimeoutRate: 1})
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post(url+"/chat/completions", "application/json", bytes.NewReader(chatBody("s", "u", "")))
		if err == nil {
			resp.Body.Close()
		}
	}()
	for s.Stats().Hung == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close left a hung request waiting")
	}
}

func TestCachedTokensForRepeatedPrefix(t *testing.T) {
	_, url := start(t, Options{})
	system := strings.Repeat("Consignes statiques du prompt système. ", 150) // ~5,800 chars
	var cached []int
	for _, user := range []string{"prospect A", "prospect B"} {
		_, c := post(t, http.DefaultClient, url, chatBody(system, userMsg(user), personaSchema))
		cached = append(cached, c.Usage.PromptTokensDetails.CachedTokens)
		if c.Usage.PromptTokensDetails.CachedTokens > c.Usage.PromptTokens {
			t.Errorf("cached %d > prompt %d", c.Usage.PromptTokensDetails.CachedTokens, c.Usage.PromptTokens)
		}
	}
	if cached[0] != 0 || cached[1] < 1024 || cached[1]%128 != 0 {
		t.Errorf("cached tokens = %v, want 0 then a multiple of 128 >= 1024", cached)
	}
	// A short prefix is never cached.
	_, c := post(t, http.DefaultClient, url, chatBody("court", userMsg("x"), personaSchema))
	_, c = post(t, http.DefaultClient, url, chatBody("court", userMsg("y"), personaSchema))
	if c.Usage.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("short prompt cached %d tokens", c.Usage.PromptTokensDetails.CachedTokens)
	}
}

func TestManyConcurrentRequestsWithLatency(t *testing.T) {
	s, url := start(t, Options{Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond, Record: true})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	const n = 128
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fastest time.Duration = time.Hour
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client.Post(url+"/chat/completions", "application/json", bytes.NewReader(chatBody("s", userMsg(fmt.Sprint(pageText, i)), personaSchema)))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			fastest = min(fastest, time.Since(t0))
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if st := s.Stats(); st.Completions != n || len(s.Requests()) != n {
		t.Errorf("stats = %+v", st)
	}
	if fastest < 50*time.Millisecond {
		t.Errorf("fastest answer took %v, below latency-jitter", fastest)
	}
	// Concurrent, not serial: 128 × 100ms would be 12.8s.
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("128 concurrent requests took %v", el)
	}
}

func TestCompromisedAnswer(t *testing.T) {
	_, url := start(t, Options{Compromised: true})
	system := "# Agent\n\nConsignes.\n\n# Contexte client\n\n## Profil client idéal (PCI)\n\nNous ciblons les éditeurs de logiciels B2B et les PME industrielles françaises de 20 à 500 salariés.\n"
	_, c := post(t, http.DefaultClient, url, chatBody(system, userMsg(pageText), personaSchema))
	var out struct {
		Values map[string]string `json:"values"`
	}
	if err := json.Unmarshal([]byte(c.Choices[0].Message.Content), &out); err != nil {
		t.Fatal(err)
	}
	if out.Values["product_category"] != "Nous ciblons les éditeurs de logiciels B2B et les PME" || !strings.Contains(out.Values["target_persona"], "please ignore") {
		t.Errorf("values = %v", out.Values)
	}
}

func TestModelsEndpoint(t *testing.T) {
	_, url := start(t, Options{})
	resp, err := http.Get(url + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&l)
	if l.Object != "list" || len(l.Data) == 0 {
		t.Errorf("models = %+v", l)
	}
}

func TestFlagsAndValidate(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	o.AddFlags(fs)
	err := fs.Parse(strings.Fields("--latency 800ms --jitter 200ms --rate-429 0.1 --rate-5xx 0.02 --timeout-rate 0 --malformed 0.05 --truncated 0.02 --seed 1 --retry-after 2s"))
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Latency: 800 * time.Millisecond, Jitter: 200 * time.Millisecond, Rate429: 0.1, Rate5xx: 0.02, Malformed: 0.05, Truncated: 0.02, Seed: 1, RetryAfter: 2 * time.Second}
	if o != want {
		t.Errorf("options = %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	o.Rate429 = 1.5
	if err := o.Validate(); err == nil {
		t.Error("rate 1.5 accepted")
	}
}

func TestListenAndServeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- New(Options{}).ListenAndServe(ctx, "127.0.0.1:0") }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return")
	}
}
