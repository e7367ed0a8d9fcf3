// Package pipeline makes one contact's email — scrape, agents, assemble,
// score — and runs whole campaigns with bounded concurrency. Process is the
// one function every trigger (CLI, worker, Lambda) calls for a contact.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/quality"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/template"
)

// Scraper fetches a prospect's site.
type Scraper interface {
	Scrape(ctx context.Context, website string) (*scrape.Site, error)
}

// Cache stores agent answers per company across contacts (and, with the
// database cache, across runs).
type Cache interface {
	Get(ctx context.Context, key string) (email.Answer, bool, error)
	Put(ctx context.Context, key string, a email.Answer) error
}

// Config assembles a pipeline.
type Config struct {
	Template *template.Template
	Context  *clientctx.Context
	Engine   agents.Engine
	Scraper  Scraper
	Cache    Cache    // nil: an in-memory cache for the pipeline's lifetime
	Columns  []string // canonical CSV columns available to the template
}

// Pipeline makes emails for one template and client context.
type Pipeline struct {
	cfg  Config
	plan *agents.Plan

	mu       sync.Mutex
	inflight map[string]*flight

	hits, misses atomic.Int64
}

type flight struct {
	done  chan struct{}
	ans   email.Answer
	group map[string]email.Answer // a group call's answers by agent (answerGroup)
	// cached is set when the group's answers were all in the cache by the
	// time the call would have been made (another contact's call put them)
	cached bool
	err    error
}

// New checks the template against the agents and the CSV columns: a
// variable that nothing produces is an error before any contact is processed.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Template == nil || cfg.Context == nil || cfg.Engine == nil || cfg.Scraper == nil {
		return nil, errors.New("pipeline: template, context, engine and scraper are required")
	}
	var vars []agents.TemplateVar
	for _, v := range cfg.Template.Variables() {
		vars = append(vars, agents.TemplateVar{Name: v.Name, Line: v.Line})
	}
	plan, err := agents.NewPlan(cfg.Template.Name, vars, cfg.Columns)
	if err != nil {
		return nil, err
	}
	if cfg.Cache == nil {
		cfg.Cache = NewMemoryCache(0)
	}
	return &Pipeline{cfg: cfg, plan: plan, inflight: map[string]*flight{}}, nil
}

// Plan returns the agents the template needs, in stages.
func (p *Pipeline) Plan() *agents.Plan { return p.plan }

// CacheStats returns agent-answer cache hits and misses so far.
func (p *Pipeline) CacheStats() (hits, misses int64) { return p.hits.Load(), p.misses.Load() }

// Process makes one contact's email. Problems of this contact (site down,
// nothing found) still give an email at higher fallback levels; the error
// is non-nil only when the run must stop (ctx done, or the engine failed in
// a way that will fail every contact, such as an exhausted API quota).
func (p *Pipeline) Process(ctx context.Context, c contacts.Contact) (email.Result, error) {
	start := time.Now()
	r := email.Result{
		Contact:   c,
		Variables: map[string]email.Variable{},
		Answers:   map[string]email.Answer{},
		Provenance: email.Provenance{
			TemplateVersion: p.cfg.Template.Version,
			ContextHash:     p.cfg.Context.Hash(),
			Engine:          p.cfg.Engine.Name(),
			AgentVersions:   map[string]string{},
		},
	}
	var site *scrape.Site
	siteErr := ""
	if strings.TrimSpace(c.Website) == "" {
		siteErr = "the contact has no website"
	} else {
		s, err := p.cfg.Scraper.Scrape(ctx, c.Website)
		if err != nil {
			if ctx.Err() != nil {
				return p.fail(r, start, ctx.Err()), ctx.Err()
			}
			siteErr = err.Error()
		} else {
			site = s
			for _, pg := range s.Pages {
				r.SitePages = append(r.SitePages, pg.URL)
			}
		}
	}
	r.SiteError = siteErr
	r.Timings.ScrapeMS = time.Since(start).Milliseconds()

	agentsStart := time.Now()
	values := map[string]string{}
	company := companyKey(c)
	results, err := p.runAgents(ctx, c, site, siteErr, company)
	if err != nil {
		return p.fail(r, start, err), err
	}
	for _, spec := range p.plan.Agents() {
		res := results[spec.Name]
		a := res.answer
		r.Answers[spec.Name] = a
		r.Provenance.AgentVersions[spec.Name] = a.Version
		if !res.cached {
			for _, call := range a.Calls {
				r.Usage.AddCall(call)
				r.Calls = append(r.Calls, email.AgentCall{Agent: spec.Name, Call: call})
			}
		}
		for _, v := range spec.Produces() {
			values[v] = a.Values[v]
			r.Variables[v] = email.Variable{Value: a.Values[v], Agent: spec.Name, Confidence: a.Confidence, FallbackLevel: a.FallbackLevel,
				Reasoning: a.Reasoning, Evidence: a.Evidence, Cached: res.cached, Engine: a.Engine, FallbackReason: a.FallbackReason}
		}
	}
	r.Timings.AgentsMS = time.Since(agentsStart).Milliseconds()

	for _, col := range p.plan.Columns {
		if v := strings.TrimSpace(c.Get(col)); v != "" {
			values[col] = v
			r.Variables[col] = email.Variable{Value: v}
		} else {
			r.Variables[col] = email.Variable{}
		}
	}
	r.Subject, r.Body = p.cfg.Template.Render(values)
	r.Quality = quality.Score(p.qualityInput(r))
	r.Status = email.StatusGenerated
	r.Timings.TotalMS = time.Since(start).Milliseconds()
	return r, nil
}

// agentResult is one agent's outcome for a contact.
type agentResult struct {
	answer email.Answer
	cached bool
	err    error
}

// errUpstream marks an agent that did not run because an agent it needs
// failed: the upstream error is the one reported.
var errUpstream = errors.New("an agent it needs failed")

// runAgents runs the plan as a DAG: each agent, or each group of agents
// the engine answers in one call (agents.GroupEngine), starts as soon as
// the agents producing its inputs are done, not when the slowest agent of
// an earlier stage is. The first failure cancels the others; the errors
// returned are the agents' own (not the cancellations they caused).
func (p *Pipeline) runAgents(ctx context.Context, c contacts.Contact, site *scrape.Site, siteErr, company string) (map[string]*agentResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	specs := p.plan.Agents()
	results := make(map[string]*agentResult, len(specs))
	done := make(map[string]chan struct{}, len(specs))
	for _, s := range specs {
		results[s.Name] = &agentResult{}
		done[s.Name] = make(chan struct{})
	}
	base := agents.Request{Contact: c, Site: site, SiteErr: siteErr, Context: p.cfg.Context, Language: p.cfg.Template.Language}
	var wg sync.WaitGroup
	for _, unit := range p.units() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				for _, s := range unit {
					close(done[s.Name])
				}
			}()
			fail := func(err error) {
				for _, s := range unit {
					results[s.Name].err = err
				}
			}
			inUnit := map[string]bool{}
			for _, s := range unit {
				for _, v := range s.Produces() {
					inUnit[v] = true
				}
			}
			// Wait for the agents outside the unit that it needs.
			for _, s := range unit {
				for _, n := range s.Needs {
					if inUnit[n] {
						continue
					}
					prod, _ := agents.Producer(n) // NewPlan planned every producer
					select {
					case <-done[prod.Name]:
					case <-ctx.Done():
						fail(ctx.Err())
						return
					}
					if results[prod.Name].err != nil {
						fail(errUpstream)
						return
					}
				}
			}
			if err := p.runUnit(ctx, unit, base, company, results); err != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	var errs, cancelled []error
	for _, s := range specs {
		switch err := results[s.Name].err; {
		case err == nil, errors.Is(err, errUpstream):
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			cancelled = append(cancelled, err)
		default:
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && len(cancelled) > 0 {
		return nil, cancelled[0]
	}
	return results, errors.Join(errs...)
}

// units partitions the planned agents into what runs as one: the engine's
// groups (their planned members, when two or more are planned) and single
// agents.
func (p *Pipeline) units() [][]agents.Spec {
	planned := map[string]agents.Spec{}
	for _, s := range p.plan.Agents() {
		planned[s.Name] = s
	}
	var out [][]agents.Spec
	grouped := map[string]bool{}
	if ge, ok := p.cfg.Engine.(agents.GroupEngine); ok {
		for _, g := range ge.Groups() {
			var unit []agents.Spec
			for _, name := range g {
				if s, ok := planned[name]; ok && !grouped[name] {
					unit = append(unit, s)
				}
			}
			if len(unit) > 1 {
				for _, s := range unit {
					grouped[s.Name] = true
				}
				out = append(out, unit)
			}
		}
	}
	for _, s := range p.plan.Agents() {
		if !grouped[s.Name] {
			out = append(out, []agents.Spec{s})
		}
	}
	return out
}

// runUnit answers the agents of a unit whose outside inputs are ready:
// each from the cache when its key can be computed and is cached, the
// rest in one group call (or one agent call when one is left).
func (p *Pipeline) runUnit(ctx context.Context, unit []agents.Spec, base agents.Request, company string, results map[string]*agentResult) error {
	inUnit := map[string]bool{}
	for _, s := range unit {
		for _, v := range s.Produces() {
			inUnit[v] = true
		}
	}
	// The values this unit may read: those of the agents outside it that
	// it needs (done: the caller waited for them), then its own as they
	// come.
	values := map[string]string{}
	for _, s := range unit {
		for _, n := range s.Needs {
			if !inUnit[n] {
				values[n] = results[producerOf(n)].answer.Values[n]
			}
		}
	}
	request := func(s agents.Spec) (agents.Request, bool) {
		req := base
		req.Spec, req.Inputs = s, map[string]string{}
		complete := true
		for _, n := range s.Needs {
			if v, ok := values[n]; ok {
				req.Inputs[n] = v
			} else {
				complete = false
			}
		}
		return req, complete
	}
	var pending []agents.Request
	for _, s := range unit {
		req, complete := request(s)
		if complete {
			key := p.cacheKey(company, s.Name, req.Inputs)
			if len(unit) == 1 {
				res := results[s.Name]
				res.answer, res.cached, res.err = p.answer(ctx, key, req)
				return res.err
			}
			if a, ok, err := p.cfg.Cache.Get(ctx, key); err == nil && ok {
				p.hits.Add(1)
				results[s.Name].answer, results[s.Name].cached = agents.Check(req, a), true
				for k, v := range results[s.Name].answer.Values {
					values[k] = v
				}
				continue
			}
		}
		pending = append(pending, req)
	}
	if len(pending) == 0 {
		return nil
	}
	// Even one pending agent goes through the unit's flight: a contact of
	// the same company may be putting the unit's answers in the cache.
	answers, err := p.answerGroup(ctx, company, unit, pending, values)
	if err != nil {
		for _, req := range pending {
			results[req.Spec.Name].err = err
		}
		return err
	}
	for i, req := range pending {
		results[req.Spec.Name].answer, results[req.Spec.Name].cached = answers[i].answer, answers[i].cached
	}
	return nil
}

func producerOf(v string) string {
	s, _ := agents.Producer(v)
	return s.Name
}

// answerGroup answers a contact's pending agents of a unit: from the
// cache when another contact's call has just filled it, else in one group
// call whose answers are checked and cached (under the inputs each agent
// finally had, in-group ones included: "system" after "signal") before the
// call is released. Contacts of the same company asking for the same unit
// at once share one call: the flight is keyed by the unit and the inputs
// from outside it, not by which members a contact found in the cache.
func (p *Pipeline) answerGroup(ctx context.Context, company string, unit []agents.Spec, reqs []agents.Request, known map[string]string) ([]agentResult, error) {
	ge := p.cfg.Engine.(agents.GroupEngine)
	h := sha256.New()
	for _, s := range unit {
		fmt.Fprintf(h, "%s\x00", s.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(known)) {
		fmt.Fprintf(h, "%s=%s\x00", k, known[k])
	}
	key := "group:" + company + ":" + hex.EncodeToString(h.Sum(nil))
	f, shared, err := p.join(ctx, key, func(f *flight) {
		f.group = map[string]email.Answer{}
		values := maps.Clone(known)
		var ask []agents.Request
		for _, req := range reqs {
			if len(ask) == 0 {
				if a, ok := p.cachedMember(ctx, company, req, values); ok {
					p.hits.Add(1)
					f.group[req.Spec.Name] = a
					maps.Copy(values, a.Values)
					continue
				}
			}
			ask = append(ask, req)
		}
		if len(ask) == 0 {
			f.cached = true
			return
		}
		p.misses.Add(int64(len(ask)))
		answers, err := ge.AnswerGroup(ctx, ask)
		if err == nil && len(answers) != len(ask) {
			err = fmt.Errorf("engine %s answered %d agents of %d", ge.Name(), len(answers), len(ask))
		}
		if err != nil {
			f.err = fmt.Errorf("agents %s for %s: %w", groupNames(ask), ask[0].Contact.CompanyName, err)
			return
		}
		for i, req := range ask {
			a := agents.Check(req, answers[i])
			if a.Engine == p.cfg.Engine.Name() {
				if err := p.cfg.Cache.Put(ctx, p.cacheKey(company, req.Spec.Name, inputsOf(req, values)), a); err != nil && ctx.Err() == nil {
					a.Notes = append(a.Notes, email.Note{Code: "cache_write", Message: "the answer could not be cached: " + err.Error()})
				}
			}
			maps.Copy(values, a.Values)
			f.group[req.Spec.Name] = a
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]agentResult, len(reqs))
	values := maps.Clone(known)
	for i, req := range reqs {
		a, ok := f.group[req.Spec.Name]
		switch {
		case !ok:
			// the call this contact joined did not need this agent: it was
			// cached for that contact, so it is for this one
			if a, ok = p.cachedMember(ctx, company, req, values); !ok {
				return nil, fmt.Errorf("agent %s for %s: no answer from the shared group call nor the cache", req.Spec.Name, req.Contact.CompanyName)
			}
			p.hits.Add(1)
			out[i] = agentResult{answer: a, cached: true}
		case shared:
			p.hits.Add(1)
			out[i] = agentResult{answer: a, cached: true}
		default:
			out[i] = agentResult{answer: a, cached: f.cached}
		}
		maps.Copy(values, a.Values)
	}
	return out, nil
}

// inputsOf completes req's inputs with the values produced in its group.
func inputsOf(req agents.Request, values map[string]string) map[string]string {
	inputs := maps.Clone(req.Inputs)
	for _, n := range req.Spec.Needs {
		if _, ok := inputs[n]; !ok {
			inputs[n] = values[n]
		}
	}
	return inputs
}

// cachedMember returns the checked cached answer of one agent of a group.
func (p *Pipeline) cachedMember(ctx context.Context, company string, req agents.Request, values map[string]string) (email.Answer, bool) {
	a, ok, err := p.cfg.Cache.Get(ctx, p.cacheKey(company, req.Spec.Name, inputsOf(req, values)))
	if err != nil || !ok {
		return email.Answer{}, false
	}
	return agents.Check(req, a), true
}

func groupNames(reqs []agents.Request) string {
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Spec.Name
	}
	return strings.Join(names, "+")
}

func (p *Pipeline) fail(r email.Result, start time.Time, err error) email.Result {
	r.Status, r.Error = email.StatusFailed, err.Error()
	r.Timings.TotalMS = time.Since(start).Milliseconds()
	return r
}

func (p *Pipeline) qualityInput(r email.Result) quality.Input {
	in := quality.Input{
		Subject: r.Subject, Body: r.Body, Language: p.cfg.Template.Language,
		MinWords: p.cfg.Template.MinWords, MaxWords: p.cfg.Template.MaxWords,
		// The client's persona titles: the agency's own buyers, never the
		// prospect's (copied_from_client_context).
		ClientPhrases: p.cfg.Context.PersonaTitles,
	}
	// The agency's own name (names_agency), when pci.md gives it.
	if n := strings.TrimSpace(p.cfg.Context.ClientName); n != "" {
		in.ClientNames = []string{n}
	}
	for _, name := range p.cfg.Template.Names() {
		v := r.Variables[name]
		qv := quality.Variable{Name: name, Value: v.Value, Agent: v.Agent, Confidence: v.Confidence, FallbackLevel: v.FallbackLevel}
		if a, ok := r.Answers[v.Agent]; ok {
			qv.Ungrounded = a.Ungrounded
		}
		in.Variables = append(in.Variables, qv)
	}
	// Reviewer notes with a cost, once per email and code: all agents read
	// the same site, so a prompt injection seen by six agents is one flag.
	var names []string
	for name := range r.Answers {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, name := range names {
		for _, n := range r.Answers[name].Notes {
			if (n.Points > 0 || n.Gate) && !seen[n.Code] {
				seen[n.Code] = true
				in.Extra = append(in.Extra, email.Flag{Code: n.Code, Points: n.Points, Message: n.Message, Gate: n.Gate})
			}
		}
	}
	return in
}

// answer returns the agent's answer for a company, from the cache or from
// the engine; concurrent requests for the same key wait for one engine call.
func (p *Pipeline) answer(ctx context.Context, key string, req agents.Request) (email.Answer, bool, error) {
	var cached bool
	f, shared, err := p.join(ctx, key, func(f *flight) { f.ans, cached, f.err = p.compute(ctx, key, req) })
	if err != nil {
		return email.Answer{}, false, err
	}
	if shared {
		p.hits.Add(1)
		return f.ans, true, nil
	}
	return f.ans, cached, nil
}

// join runs fn once for the concurrent callers of key: the first caller
// runs it, the others wait for its result (shared is true for them).
func (p *Pipeline) join(ctx context.Context, key string, fn func(f *flight)) (f *flight, shared bool, err error) {
	p.mu.Lock()
	if f, ok := p.inflight[key]; ok {
		p.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		return f, true, f.err
	}
	f = &flight{done: make(chan struct{})}
	p.inflight[key] = f
	p.mu.Unlock()
	defer func() {
		close(f.done)
		p.mu.Lock()
		delete(p.inflight, key)
		p.mu.Unlock()
	}()
	fn(f)
	return f, false, f.err
}

// compute answers one agent from the cache or from the engine.
func (p *Pipeline) compute(ctx context.Context, key string, req agents.Request) (email.Answer, bool, error) {
	// Every answer, cached or new, from any engine, goes through the checks
	// Go can enforce (grounded evidence, competitor rules): an answer cached
	// before a check existed is checked too.
	if a, ok, err := p.cfg.Cache.Get(ctx, key); err == nil && ok {
		p.hits.Add(1)
		return agents.Check(req, a), true, nil
	}
	p.misses.Add(1)
	a, err := p.cfg.Engine.Answer(ctx, req)
	if err != nil {
		return email.Answer{}, false, fmt.Errorf("agent %s for %s: %w", req.Spec.Name, req.Contact.CompanyName, err)
	}
	a = agents.Check(req, a)
	if a.Engine != p.cfg.Engine.Name() {
		// A fallback answer (the LLM failed for this company this time) is
		// not cached under the engine's version: the next run retries.
		return a, false, nil
	}
	if err := p.cfg.Cache.Put(ctx, key, a); err != nil && ctx.Err() == nil {
		// A cache write failure costs a future engine call, not this email.
		a.Notes = append(a.Notes, email.Note{Code: "cache_write", Message: "the answer could not be cached: " + err.Error()})
	}
	return a, false, nil
}

func (p *Pipeline) cacheKey(company, agent string, inputs map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", company, agent, p.cfg.Engine.Version(agent), p.cfg.Context.Hash(), p.cfg.Template.Language)
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, inputs[k])
	}
	return company + "/" + agent + "/" + hex.EncodeToString(h.Sum(nil)[:12])
}

// companyKey identifies a company: its website's host when there is one
// (two spellings of a company name share a site), else its folded name.
func companyKey(c contacts.Contact) string {
	if u, err := url.Parse(c.Website); err == nil && u.Host != "" {
		return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	}
	var b strings.Builder
	for _, r := range strings.ToLower(c.CompanyName) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return "name:" + b.String()
}

// MemoryCache is an in-process Cache bounded in entries (least recently
// used first out), so a long run or process does not grow with every
// company it has seen.
type MemoryCache struct {
	lru *lru.Cache[string, email.Answer]
}

// DefaultMemoryCacheSize is the number of answers NewMemoryCache keeps:
// six agents for about 3,000 companies.
const DefaultMemoryCacheSize = 20000

// NewMemoryCache returns an empty in-process cache of size entries
// (DefaultMemoryCacheSize when size ≤ 0).
func NewMemoryCache(size int) *MemoryCache {
	if size <= 0 {
		size = DefaultMemoryCacheSize
	}
	c, _ := lru.New[string, email.Answer](size) // errors only for size ≤ 0
	return &MemoryCache{lru: c}
}

// Get implements Cache.
func (m *MemoryCache) Get(_ context.Context, key string) (email.Answer, bool, error) {
	a, ok := m.lru.Get(key)
	return a, ok, nil
}

// Put implements Cache.
func (m *MemoryCache) Put(_ context.Context, key string, a email.Answer) error {
	m.lru.Add(key, a)
	return nil
}

// Len returns the number of answers kept.
func (m *MemoryCache) Len() int { return m.lru.Len() }
