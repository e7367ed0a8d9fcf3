package llm

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/llmsim"
	"github.com/kaleads/kaleads/shared/scrape"
)

func noteCodes(a email.Answer) []string {
	var c []string
	for _, n := range a.Notes {
		c = append(c, n.Code)
	}
	return c
}

func hasNote(a email.Answer, code string) (email.Note, bool) {
	for _, n := range a.Notes {
		if n.Code == code {
			return n, true
		}
	}
	return email.Note{}, false
}

func TestAnswerEveryAgentFromSimulator(t *testing.T) {
	e, sim := startSim(t, llmsim.Options{Seed: 1}, nil)
	versionRe := regexp.MustCompile(`^gpt-4o(-mini)?@[0-9a-f]{10}$`)
	for _, spec := range agents.All {
		t.Run(spec.Name, func(t *testing.T) {
			req := testRequest(t, spec, testSite())
			a, err := e.Answer(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if a.Engine != "llm" {
				t.Fatalf("engine = %q, notes %v", a.Engine, a.Notes)
			}
			if err := agents.Validate(spec, a, "fr"); err != nil {
				t.Errorf("answer breaks the rules: %v", err)
			}
			if a.Version != e.Version(spec.Name) || !versionRe.MatchString(a.Version) {
				t.Errorf("version = %q, engine says %q", a.Version, e.Version(spec.Name))
			}
			a = agents.Check(req, a) // grounding, as the pipeline does
			// Agents shown the site's text answer from it, with quotes; the
			// others (signal, system: upstream values; case study: the
			// pages' outline) answer without claiming a quote they lack.
			// (The simulator's values come from phrase banks, not from its
			// quote: a level-1 claim whose quote does not mention them is
			// downgraded, with a note.)
			if siteFor[spec.Name] == siteFull && len(a.Evidence) == 0 {
				t.Errorf("want evidence from the site, got level %d evidence %v", a.FallbackLevel, a.Evidence)
			}
			if _, ok := hasNote(a, "downgraded"); a.FallbackLevel != email.LevelSite && siteFor[spec.Name] == siteFull && !ok {
				t.Errorf("level %d without the note saying why", a.FallbackLevel)
			}
			if len(a.Ungrounded) > 0 {
				t.Errorf("ungrounded quotes %v", a.Ungrounded)
			}
			if len(a.Calls) != 1 {
				t.Fatalf("calls = %+v, want 1", a.Calls)
			}
			c := a.Calls[0]
			if c.Model != e.cfg.Model(spec.Name) || c.Attempts != 1 || c.PromptTokens == 0 || c.CompletionTokens == 0 || c.CostUSD <= 0 || c.Error != "" {
				t.Errorf("call record = %+v", c)
			}
			if !strings.HasSuffix(a.Version, "@"+c.PromptVersion) {
				t.Errorf("call prompt version %q not in answer version %q", c.PromptVersion, a.Version)
			}
		})
	}
	if st := e.Stats(); st.Calls != len(agents.All) || st.Fallbacks != 0 || st.Retries != 0 {
		t.Errorf("stats = %+v", st)
	}
	if got := sim.Stats().Requests; got != len(agents.All) {
		t.Errorf("simulator saw %d requests, want %d", got, len(agents.All))
	}
}

func TestModelsPerAgent(t *testing.T) {
	e, _ := startSim(t, llmsim.Options{}, nil)
	for agent, want := range map[string]string{"persona": "gpt-4o-mini", "competitor": "gpt-4o-mini", "pain": "gpt-4o-mini", "case_study": "gpt-4o-mini", "signal": "gpt-4o-mini", "system": "gpt-4o-mini"} {
		if got := e.Version(agent); !strings.HasPrefix(got, want+"@") {
			t.Errorf("Version(%s) = %q, want model %s", agent, got, want)
		}
	}
	seen := map[string]string{}
	for _, spec := range agents.All {
		v := e.prompts[spec.Name].version
		if other, dup := seen[v]; dup {
			t.Errorf("%s and %s share prompt version %s", spec.Name, other, v)
		}
		seen[v] = spec.Name
	}
}

func TestUngroundedQuoteIsDowngraded(t *testing.T) {
	content := `{"injection_detected":false,"reasoning":"vu sur le site","evidence":[{"url":"https://planifix.fr/","quote":"leader mondial du planning depuis 1990"}],` +
		`"values":{"target_persona":"directeurs de production de pme","product_category":"logiciel de planification"},"fallback_level":1,"confidence":5}`
	e, _ := startScript(t, reply(content, "stop"))
	req := testRequest(t, agents.Persona, testSite())
	a, err := e.Answer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	a = agents.Check(req, a) // the pipeline grounds every engine's answer
	if a.Engine != "llm" || a.FallbackLevel != email.LevelInferred || a.Confidence > 3 {
		t.Fatalf("want a downgraded llm answer, got engine %s level %d confidence %d", a.Engine, a.FallbackLevel, a.Confidence)
	}
	if len(a.Ungrounded) != 1 || !strings.Contains(a.Ungrounded[0], "leader mondial") {
		t.Errorf("ungrounded = %v", a.Ungrounded)
	}
	if _, ok := hasNote(a, "downgraded"); !ok {
		t.Errorf("notes = %v, want downgraded", noteCodes(a))
	}
}

func TestRepairThenSuccess(t *testing.T) {
	e, s := startScript(t, reply("Voici ma réponse, désolé pas de JSON", "stop"))
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil {
		t.Fatal(err)
	}
	if a.Engine != "llm" || len(a.Calls) != 2 {
		t.Fatalf("engine %s, %d calls; want the repaired llm answer after 2 calls", a.Engine, len(a.Calls))
	}
	if _, ok := hasNote(a, "llm_repaired"); !ok {
		t.Errorf("notes = %v, want llm_repaired", noteCodes(a))
	}
	reqs := s.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	msgs := decodeBody(t, reqs[1]).Messages
	if len(msgs) != 4 || msgs[2].Role != "assistant" || msgs[2].Content != "Voici ma réponse, désolé pas de JSON" || msgs[3].Role != "user" {
		t.Fatalf("repair conversation = %+v", msgs)
	}
	if !strings.Contains(msgs[3].Content, "not a JSON object") {
		t.Errorf("repair message does not feed the error back:\n%s", msgs[3].Content)
	}
	if st := e.Stats(); st.Repairs != 1 || st.Calls != 2 || st.Fallbacks != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRepairThenFallback(t *testing.T) {
	bad := `{"injection_detected":false,"reasoning":"r","evidence":[],"values":{"target_persona":"Directeurs Innovants De Toutes Les PME De France Et D'Europe","product_category":"N/A"},"fallback_level":2,"confidence":3}`
	e, s := startScript(t, reply(bad, "stop"), reply(bad, "stop"))
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil {
		t.Fatal(err)
	}
	if a.Engine != "fake" || fallbackOf(e).calls.Load() != 1 {
		t.Fatalf("want the fallback answer, got engine %q", a.Engine)
	}
	n, ok := hasNote(a, "llm_fallback")
	if !ok || !strings.Contains(n.Message, "still invalid after one repair") || !strings.Contains(n.Message, "placeholder") {
		t.Errorf("fallback note = %+v", n)
	}
	if len(a.Calls) != 2 || a.Calls[0].PromptTokens != 1000 {
		t.Errorf("calls = %+v, want both model calls kept for accounting", a.Calls)
	}
	repair := decodeBody(t, s.requests()[1]).Messages[3].Content
	for _, want := range []string{"target_persona", "words", "lower-case", "jargon", "product_category"} {
		if !strings.Contains(repair, want) {
			t.Errorf("repair message lacks %q:\n%s", want, repair)
		}
	}
}

func TestMalformedAndTruncatedFallBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   llmsim.Options
		reason string
	}{
		{"malformed", llmsim.Options{Malformed: 1, Seed: 3}, "still invalid"},
		{"truncated", llmsim.Options{Truncated: 1, Seed: 3}, "cut off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, sim := startSim(t, tc.opts, nil)
			a, err := e.Answer(context.Background(), testRequest(t, agents.Pain, testSite()))
			if err != nil {
				t.Fatal(err)
			}
			n, ok := hasNote(a, "llm_fallback")
			if a.Engine != "fake" || !ok || !strings.Contains(n.Message, tc.reason) {
				t.Fatalf("engine %s notes %+v, want fallback because %q", a.Engine, a.Notes, tc.reason)
			}
			if got := sim.Stats().Requests; got != 2 {
				t.Errorf("simulator saw %d requests, want the call and one repair", got)
			}
		})
	}
}

func TestMalformedSometimesIsRepaired(t *testing.T) {
	// With half the answers malformed, every answer ends valid: llm (maybe
	// repaired) or fallback, never an error or a broken answer.
	e, sim := startSim(t, llmsim.Options{Malformed: 0.5, Truncated: 0.1, Seed: 7}, nil)
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spec := agents.All[i%len(agents.All)]
			req := testRequest(t, spec, testSite())
			req.Contact.Fields["company_name"] = "Planifix " + string(rune('A'+i))
			a, err := e.Answer(context.Background(), req)
			if err != nil {
				t.Error(err)
				return
			}
			if a.Engine == "llm" {
				if err := agents.Validate(spec, a, "fr"); err != nil {
					t.Error(err)
				}
			}
		}(i)
	}
	wg.Wait()
	st := e.Stats()
	if st.Repairs == 0 || sim.Stats().Malformed == 0 {
		t.Errorf("stats %+v sim %+v: expected repairs", st, sim.Stats())
	}
	if st.Repairs+24 != st.Calls {
		t.Errorf("calls %d != 24 answers + %d repairs", st.Calls, st.Repairs)
	}
}

func TestRetryHonoursServerHints(t *testing.T) {
	for _, tc := range []struct {
		name     string
		step     http.HandlerFunc
		min, max time.Duration
	}{
		{"Retry-After seconds", apiError(429, "rate_limit_exceeded", map[string]string{"Retry-After": "2"}), 2 * time.Second, 2200 * time.Millisecond},
		{"retry-after-ms", apiError(429, "rate_limit_exceeded", map[string]string{"retry-after-ms": "250", "Retry-After": "1"}), 250 * time.Millisecond, 275 * time.Millisecond},
		{"reset-requests", apiError(429, "rate_limit_exceeded", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s", "x-ratelimit-remaining-tokens": "900", "x-ratelimit-reset-tokens": "6m0s"}), 1500 * time.Millisecond, 1650 * time.Millisecond},
		{"reset-tokens capped", apiError(429, "rate_limit_exceeded", map[string]string{"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}), maxHint, maxHint + maxHint/10},
		{"503 without hint", apiError(503, "server_error", nil), time.Millisecond / 2, time.Millisecond + time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := startScript(t, tc.step)
			sl := sleeps{advance: true}
			e.sleep, e.now = sl.sleep, sl.now
			a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
			if err != nil {
				t.Fatal(err)
			}
			if a.Engine != "llm" || a.Calls[0].Attempts != 2 {
				t.Fatalf("engine %s calls %+v, want llm after 2 attempts", a.Engine, a.Calls)
			}
			d := sl.all()
			if len(d) != 1 || d[0] < tc.min || d[0] > tc.max {
				t.Errorf("slept %v, want one sleep in [%v, %v]", d, tc.min, tc.max)
			}
			if st := e.Stats(); st.Retries != 1 || st.Attempts != 2 || st.Calls != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestRetryHintPausesOtherCallers(t *testing.T) {
	e, _ := startScript(t, apiError(429, "rate_limit_exceeded", map[string]string{"Retry-After": "3"}))
	var sl sleeps
	e.sleep = sl.sleep
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }
	if _, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite())); err != nil {
		t.Fatal(err)
	}
	// Clock frozen: the next call from any agent waits for the pause.
	if _, err := e.Answer(context.Background(), testRequest(t, agents.Pain, testSite())); err != nil {
		t.Fatal(err)
	}
	// Frozen clock: the retry itself and the other agent's call both wait
	// for the pause the 429 set.
	d := sl.all()
	if len(d) != 3 || d[0] < 3*time.Second || d[1] != d[0] || d[2] != d[0] {
		t.Errorf("sleeps = %v, want the back-off then the same shared pause twice", d)
	}
}

func TestBackoffGrowsAndGivesUp(t *testing.T) {
	e, sim := startSim(t, llmsim.Options{Rate5xx: 1}, func(c *Config) {
		c.MaxAttempts = 4
		c.BackoffBase = Duration(100 * time.Millisecond)
		c.BackoffMax = Duration(250 * time.Millisecond)
	})
	var sl sleeps
	e.sleep = sl.sleep
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := hasNote(a, "llm_fallback")
	if a.Engine != "fake" || !ok || !strings.Contains(n.Message, "gave up after 4 attempts") {
		t.Fatalf("engine %s notes %+v", a.Engine, a.Notes)
	}
	if got := sim.Stats().ServerErrors; got != 4 {
		t.Errorf("server errors = %d, want 4 attempts", got)
	}
	d := sl.all()
	bounds := [][2]time.Duration{{50, 100}, {100, 200}, {125, 250}}
	if len(d) != 3 {
		t.Fatalf("sleeps = %v", d)
	}
	for i, b := range bounds {
		if d[i] < b[0]*time.Millisecond || d[i] > b[1]*time.Millisecond {
			t.Errorf("back-off %d = %v, want in [%dms, %dms]", i+1, d[i], b[0], b[1])
		}
	}
	if len(a.Calls) != 1 || a.Calls[0].Attempts != 4 || a.Calls[0].Error == "" {
		t.Errorf("call = %+v", a.Calls)
	}
}

func TestInsufficientQuotaStops(t *testing.T) {
	e, sim := startSim(t, llmsim.Options{InsufficientQuota: true}, nil)
	_, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if !errors.Is(err, ErrInsufficientQuota) || !StopsRun(err) {
		t.Fatalf("err = %v, want ErrInsufficientQuota", err)
	}
	if !strings.Contains(err.Error(), "add credit") {
		t.Errorf("message %q does not tell the user what to do", err)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("%d requests: insufficient_quota must not be retried", got)
	}
	if fallbackOf(e).calls.Load() != 0 {
		t.Error("fell back instead of stopping")
	}
}

func TestUnauthorizedStops(t *testing.T) {
	e, s := startScript(t, apiError(401, "invalid_api_key", nil))
	_, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if !errors.Is(err, ErrUnauthorized) || !StopsRun(err) {
		t.Fatalf("err = %v", err)
	}
	if len(s.requests()) != 1 {
		t.Errorf("%d requests, want no retry", len(s.requests()))
	}
}

func TestBadRequestFallsBackWithoutRetry(t *testing.T) {
	e, s := startScript(t, apiError(400, "invalid_request_error", nil))
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil || a.Engine != "fake" {
		t.Fatalf("answer %s err %v", a.Engine, err)
	}
	if len(s.requests()) != 1 {
		t.Errorf("%d requests, want no retry on 400", len(s.requests()))
	}
}

func TestHungRequestsTimeOut(t *testing.T) {
	e, sim := startSim(t, llmsim.Options{TimeoutRate: 1}, func(c *Config) {
		c.Timeout = Duration(50 * time.Millisecond)
		c.MaxAttempts = 2
	})
	start := time.Now()
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil {
		t.Fatal(err)
	}
	if a.Engine != "fake" || sim.Stats().Hung != 2 {
		t.Fatalf("engine %s, hung %d; want fallback after 2 timed-out attempts", a.Engine, sim.Stats().Hung)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestCancellationStopsPromptly(t *testing.T) {
	e, _ := startSim(t, llmsim.Options{Latency: 10 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.Answer(ctx, testRequest(t, agents.Persona, testSite()))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("returned after %v", el)
	}
	if fallbackOf(e).calls.Load() != 0 {
		t.Error("fell back after cancellation")
	}
}

func TestCancelledDuringBackoff(t *testing.T) {
	e, _ := startSim(t, llmsim.Options{Rate429: 1, RetryAfter: 10 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.Answer(ctx, testRequest(t, agents.Persona, testSite()))
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestAccountingAndCachedTokens(t *testing.T) {
	e, sim := startSim(t, llmsim.Options{Seed: 2}, nil)
	site2 := &scrape.Site{Host: "autre.fr", Pages: []scrape.Page{{URL: "https://autre.fr/", Kind: "home", Text: "Autre fabrique des meubles de bureau sur mesure pour les entreprises de la région lyonnaise depuis vingt ans."}}}
	var calls []email.Call
	for _, site := range []*scrape.Site{testSite(), site2} {
		a, err := e.Answer(context.Background(), testRequest(t, agents.Signal, site))
		if err != nil || a.Engine != "llm" {
			t.Fatalf("engine %s err %v notes %v", a.Engine, err, a.Notes)
		}
		calls = append(calls, a.Calls...)
	}
	if calls[0].CachedTokens != 0 || calls[1].CachedTokens == 0 || calls[1].CachedTokens%128 != 0 {
		t.Errorf("cached tokens = %d then %d; want 0 then a multiple of 128 (same static prefix)", calls[0].CachedTokens, calls[1].CachedTokens)
	}
	var cost float64
	for _, c := range calls {
		want := (float64(c.PromptTokens-c.CachedTokens)*0.15 + float64(c.CachedTokens)*0.075 + float64(c.CompletionTokens)*0.60) / 1e6 // gpt-4o-mini
		if math.Abs(c.CostUSD-want) > 1e-12 {
			t.Errorf("cost = %v, want %v for %+v", c.CostUSD, want, c)
		}
		cost += c.CostUSD
	}
	st := e.Stats()
	if st.Calls != 2 || st.PromptTokens != calls[0].PromptTokens+calls[1].PromptTokens || st.CachedTokens != calls[1].CachedTokens || math.Abs(st.CostUSD-cost) > 1e-12 {
		t.Errorf("stats = %+v, calls %+v", st, calls)
	}
	if sim.Stats().CachedTokens != calls[1].CachedTokens {
		t.Errorf("simulator reported %d cached tokens", sim.Stats().CachedTokens)
	}
}

func TestCostTable(t *testing.T) {
	prices := DefaultConfig().Prices
	if prices.AsOf == "" {
		t.Error("price table has no date")
	}
	for _, tc := range []struct {
		model                      string
		prompt, cached, completion int
		want                       float64
		ok                         bool
	}{
		{"gpt-4o-mini", 1_000_000, 0, 0, 0.15, true},
		{"gpt-4o-mini", 1000, 200, 300, (800*0.15 + 200*0.075 + 300*0.60) / 1e6, true},
		{"gpt-4o-mini-2024-07-18", 0, 0, 1_000_000, 0.60, true}, // longest prefix, not gpt-4o
		{"gpt-4o", 2000, 1024, 500, (976*2.50 + 1024*1.25 + 500*10.0) / 1e6, true},
		{"gpt-4o-2024-08-06", 1_000_000, 1_000_000, 0, 1.25, true},
		{"gpt-4o", 100, 500, 0, 100 * 1.25 / 1e6, true}, // cached clamped to prompt
		{"llama3.1:8b", 1000, 0, 1000, 0, false},
	} {
		got, ok := prices.Cost(tc.model, tc.prompt, tc.cached, tc.completion)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Cost(%s, %d, %d, %d) = %v, %v; want %v, %v", tc.model, tc.prompt, tc.cached, tc.completion, got, ok, tc.want, tc.ok)
		}
	}
	noCached := PriceTable{Models: map[string]Price{"m": {Input: 1, Output: 2}}}
	if got, _ := noCached.Cost("m", 1_000_000, 500_000, 0); got != 1 {
		t.Errorf("without a cached price, cached tokens cost the input price: got %v", got)
	}
}

func TestUnpricedModelCounted(t *testing.T) {
	e, _ := startSim(t, llmsim.Options{}, func(c *Config) { c.Models["persona"] = "llama3.1:8b" })
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil || a.Engine != "llm" {
		t.Fatal(err, a.Notes)
	}
	if a.Calls[0].CostUSD != 0 || e.Stats().UnpricedCalls != 1 {
		t.Errorf("call %+v stats %+v", a.Calls[0], e.Stats())
	}
}
