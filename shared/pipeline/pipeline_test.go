package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/template"
)

// fakeEngine answers every agent with "<var> of <company>", recording the
// order of calls, the inputs it got and the peak concurrency.
type fakeEngine struct {
	delay   time.Duration
	delays  map[string]time.Duration // per agent, overrides delay
	fail    error
	mu      sync.Mutex
	calls   map[string]int // agent -> calls
	started map[string]time.Time
	order   []string
	inputs  map[string]map[string]string
	running atomic.Int32
	peak    atomic.Int32
}

func (f *fakeEngine) Name() string          { return "fake" }
func (f *fakeEngine) Version(string) string { return "fake/v1" }
func (f *fakeEngine) Answer(ctx context.Context, req agents.Request) (email.Answer, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls, f.inputs = map[string]int{}, map[string]map[string]string{}
	}
	f.calls[req.Spec.Name]++
	if f.started == nil {
		f.started = map[string]time.Time{}
	}
	f.started[req.Spec.Name] = time.Now()
	f.order = append(f.order, req.Spec.Name)
	f.inputs[req.Spec.Name] = req.Inputs
	f.mu.Unlock()
	if f.fail != nil {
		return email.Answer{}, f.fail
	}
	d := f.delay
	if v, ok := f.delays[req.Spec.Name]; ok {
		d = v
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return email.Answer{}, ctx.Err()
	}
	vals := map[string]string{}
	for _, v := range req.Spec.Produces() {
		vals[v] = v + " of " + req.Contact.CompanyName
	}
	return email.Answer{Agent: req.Spec.Name, Engine: "fake", Values: vals, Confidence: 4, FallbackLevel: 1, Reasoning: "fake",
		Version: "fake/v1", Calls: []email.Call{{Model: "m", PromptTokens: 100, CompletionTokens: 10, CostUSD: 0.001}}}, nil
}

type fakeScraper struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (s *fakeScraper) Scrape(_ context.Context, website string) (*scrape.Site, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return &scrape.Site{Host: website, Pages: []scrape.Page{{URL: website, Kind: "home", Text: "hello"}}}, nil
}

const allVarsTemplate = `Subject: {{company_name}}

Bonjour {{first_name}}, {{target_persona}} {{product_category}} {{competitor_name}} {{solve_specific_pain}}
{{specific_target_1}} {{specific_target_2}} {{system_1}} {{system_2}} {{system_3}} {{case_study_insight}} ?`

func newTestPipeline(t *testing.T, tmpl string, e agents.Engine, s Scraper) *Pipeline {
	t.Helper()
	tm, err := template.Parse("template.md", []byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Template: tm, Context: &clientctx.Context{}, Engine: e, Scraper: s,
		Columns: []string{"first_name", "last_name", "email", "company_name", "website"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func contact(line int, first, company string) contacts.Contact {
	site := "https://" + strings.ToLower(company) + ".example"
	return contacts.Contact{Line: line, FirstName: first, CompanyName: company, Website: site, Email: strings.ToLower(first) + "@" + strings.ToLower(company) + ".example",
		Fields: map[string]string{"first_name": first, "company_name": company, "website": site}}
}

func TestProcessRunsTheDAGInOrder(t *testing.T) {
	e := &fakeEngine{delay: 20 * time.Millisecond}
	p := newTestPipeline(t, allVarsTemplate, e, &fakeScraper{})
	r, err := p.Process(context.Background(), contact(2, "Léa", "Acme"))
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, a := range e.order {
		pos[a] = i
	}
	for _, first := range []string{"persona", "competitor", "pain", "case_study"} {
		if pos[first] > 3 {
			t.Errorf("%s ran at position %d, want in the first parallel stage", first, pos[first])
		}
	}
	if !(pos["signal"] == 4 && pos["system"] == 5) {
		t.Errorf("order %v: signal then system must follow the first stage", e.order)
	}
	if e.peak.Load() != 4 {
		t.Errorf("peak concurrency %d, want the 4 independent agents at once", e.peak.Load())
	}
	if got := e.inputs["system"]["specific_target_2"]; got != "specific_target_2 of Acme" {
		t.Errorf("system agent got specific_target_2=%q", got)
	}
	if !strings.HasPrefix(r.Body, "Bonjour Léa, target_persona of Acme product_category of Acme") || strings.Contains(r.Body, "{{") {
		t.Errorf("body %q", r.Body)
	}
	if len(r.Calls) != 6 || r.Calls[0].Model != "m" || r.Calls[0].Agent == "" {
		t.Errorf("call trace %+v", r.Calls)
	}
	if r.Subject != "Acme" || r.Status != email.StatusGenerated || r.Usage.Calls != 6 {
		t.Errorf("subject %q status %s calls %d", r.Subject, r.Status, r.Usage.Calls)
	}
	if v := r.Variables["signal_1"]; v.Value != "" {
		t.Errorf("unexpected variable")
	}
	// The fake answers level 1 without a quote: agents.Check downgrades it.
	if v := r.Variables["specific_target_1"]; v.Agent != "signal" || v.Confidence != 3 || v.FallbackLevel != 2 {
		t.Errorf("variable provenance %+v", v)
	}
}

func TestCacheReusesCompanyAnswers(t *testing.T) {
	e := &fakeEngine{delay: 5 * time.Millisecond}
	s := &fakeScraper{}
	p := newTestPipeline(t, allVarsTemplate, e, s)
	cs := []contacts.Contact{contact(2, "Léa", "Acme"), contact(3, "Paul", "Acme"), contact(4, "Zoé", "Beta"), contact(5, "Jean", "Acme")}
	var got []email.Result
	sum, err := p.Run(context.Background(), cs, RunOptions{Concurrency: 4}, func(r email.Result) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for agent, n := range e.calls {
		if n != 2 {
			t.Errorf("agent %s ran %d times, want once per company (2)", agent, n)
		}
	}
	if sum.CacheHits != 12 || sum.CacheMisses != 12 || sum.CacheHitRate() != 0.5 {
		t.Errorf("cache hits %d misses %d", sum.CacheHits, sum.CacheMisses)
	}
	if sum.Usage.Calls != 12 {
		t.Errorf("usage counts %d calls, want 12 (cache hits are free)", sum.Usage.Calls)
	}
	for i, r := range got {
		if r.Contact.Line != cs[i].Line {
			t.Fatalf("emitted out of order: %d at %d", r.Contact.Line, i)
		}
	}
	// Contact-level values differ, company-level values are shared.
	if !strings.HasPrefix(got[1].Body, "Bonjour Paul, target_persona of Acme") || !got[1].Variables["target_persona"].Cached && !got[0].Variables["target_persona"].Cached {
		t.Errorf("second Acme contact: %q", got[1].Body)
	}
}

func TestUnknownVariableFailsBeforeAnyContact(t *testing.T) {
	tm, _ := template.Parse("examples/acme/template.md", []byte("Subject: hi\n\nBonjour {{first_name}}, {{favourite_colour}}"))
	_, err := New(Config{Template: tm, Context: &clientctx.Context{}, Engine: &fakeEngine{}, Scraper: &fakeScraper{}, Columns: []string{"first_name"}})
	var uv *agents.UnknownVariableError
	if !errors.As(err, &uv) || uv.Var != "favourite_colour" || !strings.Contains(err.Error(), "examples/acme/template.md:3") {
		t.Fatalf("got %v", err)
	}
}

func TestSiteFailureStillMakesAnEmail(t *testing.T) {
	p := newTestPipeline(t, allVarsTemplate, &fakeEngine{}, &fakeScraper{err: errors.New("connection refused")})
	r, err := p.Process(context.Background(), contact(2, "Léa", "Acme"))
	if err != nil || r.Status != email.StatusGenerated || r.SiteError != "connection refused" {
		t.Fatalf("status %s site error %q err %v", r.Status, r.SiteError, err)
	}
}

func TestEmptyContactValueStaysVisible(t *testing.T) {
	p := newTestPipeline(t, "Subject: hi {{company_name}}\n\nBonjour {{first_name}} ?", &fakeEngine{}, &fakeScraper{})
	c := contact(2, "", "Acme")
	r, err := p.Process(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Body, "{{first_name}}") {
		t.Errorf("an empty first name must not vanish silently: %q", r.Body)
	}
	found := false
	for _, f := range r.Quality.Flags {
		found = found || (f.Code == "unfilled_variable" && f.Gate)
	}
	if !found {
		t.Errorf("flags %+v lack a gating unfilled_variable", r.Quality.Flags)
	}
}

// A fatal engine error (exhausted quota) stops the run; results finished
// before are still emitted, none twice.
func TestFatalErrorStopsRunKeepingFinished(t *testing.T) {
	var n atomic.Int32
	quota := errors.New("insufficient_quota")
	e := &switchEngine{after: 3, err: quota, n: &n}
	p := newTestPipeline(t, "Subject: {{company_name}}\n\n{{first_name}} {{target_persona}} ?", e, &fakeScraper{})
	var cs []contacts.Contact
	for i := range 50 {
		cs = append(cs, contact(i+2, "A", fmt.Sprintf("Co%d", i)))
	}
	seen := map[int]bool{}
	sum, err := p.Run(context.Background(), cs, RunOptions{Concurrency: 2}, func(r email.Result) error {
		if seen[r.Contact.Line] {
			t.Errorf("line %d emitted twice", r.Contact.Line)
		}
		seen[r.Contact.Line] = true
		return nil
	})
	if !errors.Is(err, quota) {
		t.Fatalf("err %v, want the quota error", err)
	}
	if sum.Generated < 3 || sum.Contacts >= 50 || !strings.Contains(sum.StoppedEarly, "insufficient_quota") {
		t.Errorf("generated %d of %d, stopped %q", sum.Generated, sum.Contacts, sum.StoppedEarly)
	}
}

type switchEngine struct {
	after int32
	err   error
	n     *atomic.Int32
}

func (s *switchEngine) Name() string          { return "switch" }
func (s *switchEngine) Version(string) string { return "v" }
func (s *switchEngine) Answer(ctx context.Context, req agents.Request) (email.Answer, error) {
	if s.n.Add(1) > s.after {
		return email.Answer{}, s.err
	}
	// A call counted as a success succeeds, even if the run was stopped
	// meanwhile by another contact's failure (with ctx, the fake's zero
	// delay raced the cancellation).
	return (&fakeEngine{}).Answer(context.WithoutCancel(ctx), req)
}

func TestCancelKeepsFinishedResults(t *testing.T) {
	e := &fakeEngine{delay: 30 * time.Millisecond}
	p := newTestPipeline(t, "Subject: {{company_name}}\n\n{{first_name}} {{target_persona}} ?", e, &fakeScraper{})
	var cs []contacts.Contact
	for i := range 40 {
		cs = append(cs, contact(i+2, "A", fmt.Sprintf("Co%d", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	emitted := 0
	sum, err := p.Run(ctx, cs, RunOptions{Concurrency: 4}, func(r email.Result) error {
		emitted++
		if emitted == 5 {
			cancel()
		}
		if r.Status != email.StatusGenerated {
			t.Errorf("a cancelled contact was emitted: %+v", r.Error)
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || sum.Contacts != emitted || emitted < 5 || emitted >= 40 {
		t.Errorf("err %v, emitted %d, summary %d", err, emitted, sum.Contacts)
	}
}

// The in-process answer cache keeps at most its size, most recent first.
func TestMemoryCacheIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := NewMemoryCache(2)
	for _, k := range []string{"a", "b", "c"} {
		c.Put(ctx, k, email.Answer{Agent: k})
	}
	if c.Len() != 2 {
		t.Fatalf("%d answers kept, want 2", c.Len())
	}
	if _, ok, _ := c.Get(ctx, "a"); ok {
		t.Error("the oldest answer was kept")
	}
	if a, ok, _ := c.Get(ctx, "c"); !ok || a.Agent != "c" {
		t.Error("the newest answer was lost")
	}
}

// TestAgentsRunAsADAG: the signal agent needs only persona; it must not
// wait for a slow case_study agent of the same first stage.
func TestAgentsRunAsADAG(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := &fakeEngine{delay: time.Second, delays: map[string]time.Duration{"case_study": time.Minute}}
		p := newTestPipeline(t, allVarsTemplate, e, &fakeScraper{})
		start := time.Now()
		r, err := p.Process(context.Background(), contact(2, "Léa", "Acme"))
		if err != nil || r.Status != email.StatusGenerated {
			t.Fatalf("status %s err %v", r.Status, err)
		}
		// persona (1 s) → signal (1 s) → system starts at 2 s, while
		// case_study still runs until 60 s.
		if got := e.started["system"].Sub(start); got != 2*time.Second {
			t.Errorf("system started after %v; want 2 s, not after the slow case study", got)
		}
		if total := time.Since(start); total != time.Minute {
			t.Errorf("contact took %v, want the slowest chain, 1 min", total)
		}
	})
}

// groupEngine answers the reading agents and the signal+system pair in one
// call each, like the LLM engine.
type groupEngine struct {
	fakeEngine
	groupCalls atomic.Int32
	sizes      sync.Map // call number → agents
}

func (g *groupEngine) Groups() [][]string {
	return [][]string{{"persona", "competitor", "pain", "case_study"}, {"signal", "system"}}
}

func (g *groupEngine) AnswerGroup(ctx context.Context, reqs []agents.Request) ([]email.Answer, error) {
	n := g.groupCalls.Add(1)
	var names []string
	var out []email.Answer
	produced := map[string]string{}
	for _, r := range reqs {
		names = append(names, r.Spec.Name)
		for _, need := range r.Spec.Needs {
			if v, ok := produced[need]; ok && r.Inputs[need] != "" && r.Inputs[need] != v {
				return nil, fmt.Errorf("%s got %s=%q, want the value of the same call", r.Spec.Name, need, r.Inputs[need])
			}
		}
		a, err := g.fakeEngine.Answer(ctx, r)
		if err != nil {
			return nil, err
		}
		for k, v := range a.Values {
			produced[k] = v
		}
		out = append(out, a)
	}
	g.sizes.Store(n, strings.Join(names, "+"))
	return out, nil
}

// With a group engine, a company costs two calls (the reading agents, then
// signals and systems); answers are still cached per agent, so the other
// contacts of the company make no call.
func TestGroupEngineCallsPerCompany(t *testing.T) {
	e := &groupEngine{}
	p := newTestPipeline(t, allVarsTemplate, e, &fakeScraper{})
	cs := []contacts.Contact{contact(2, "Léa", "Acme"), contact(3, "Paul", "Acme"), contact(4, "Zoé", "Beta"), contact(5, "Jean", "Acme")}
	var got []email.Result
	sum, err := p.Run(context.Background(), cs, RunOptions{Concurrency: 4}, func(r email.Result) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n := e.groupCalls.Load(); n != 4 {
		t.Errorf("%d group calls, want 2 per company", n)
	}
	e.sizes.Range(func(_, v any) bool {
		if v != "persona+competitor+pain+case_study" && v != "signal+system" {
			t.Errorf("group call for %v", v)
		}
		return true
	})
	if sum.CacheMisses != 12 || sum.CacheHits != 12 {
		t.Errorf("cache hits %d misses %d, want 12 and 12 (per agent)", sum.CacheHits, sum.CacheMisses)
	}
	for _, r := range got {
		if r.Status != email.StatusGenerated || !strings.Contains(r.Body, "system_1 of "+r.Contact.CompanyName) {
			t.Errorf("line %d: %s %q", r.Contact.Line, r.Status, r.Body)
		}
	}
}
