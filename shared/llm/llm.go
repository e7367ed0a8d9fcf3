// Package llm is the agents' engine backed by a large language model over
// the OpenAI Chat Completions protocol (OpenAI, Azure-compatible gateways,
// Groq, Mistral, Ollama, vLLM, the llmsim simulator). Each agent gets a
// strict JSON schema and an embedded prompt; answers are decoded, validated
// (agents.Validate plus leak and language checks), repaired once with the
// errors fed back, grounded against the scraped pages, and otherwise
// replaced by the fallback engine's answer. One place owns retries,
// back-off, the shared rate budget, timeouts and cost accounting.
package llm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/agents/offline"
	"github.com/kaleads/kaleads/shared/email"
)

// Engine answers for the agents with a language model. It is safe for
// concurrent use; all calls share one rate budget.
type Engine struct {
	cfg      Config
	fallback agents.Engine
	client   *openai.Client
	prompts  map[string]*agentPrompt
	groups   map[string]*agentPrompt // group prompts by member names, built on first use (group.go)
	budget   *budget
	grams    contextGrams
	routes   routes // output mode and 4xx runs per base URL and model (compat.go)

	// Replaceable in tests.
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	jitter func(n int64) int64 // uniform in [0, n)

	mu    sync.Mutex
	stats Stats
}

// Stats are an engine's run totals.
type Stats struct {
	Calls            int     // model calls (a repair is a second call)
	Attempts         int     // HTTP attempts, retries included
	Retries          int     // attempts after a 429, 5xx, timeout or network error
	Failed           int     // calls that ended in an error
	Repairs          int     // answers sent back once for repair
	Fallbacks        int     // answers given by the fallback engine
	PromptTokens     int     // includes CachedTokens
	CompletionTokens int     //
	CachedTokens     int     //
	CostUSD          float64 //
	UnpricedCalls    int     // calls to a model missing from the price table (cost counted 0)
}

// New returns an engine for cfg that falls back to fallback. The API key
// may be empty only for a base URL other than OpenAI's.
func New(cfg Config, fallback agents.Engine) (*Engine, error) {
	if fallback == nil {
		return nil, errors.New("llm: a fallback engine is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := newClient(cfg) // ErrNoAPIKey; OpenAI-compatible or Azure (compat.go)
	if err != nil {
		return nil, err
	}
	prompts, err := loadPrompts()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:      cfg,
		fallback: fallback,
		client:   client,
		prompts:  prompts,
		now:      time.Now,
		sleep:    sleepCtx,
		jitter:   rand.Int64N,
	}
	e.budget = newBudget(cfg.RPM, cfg.TPM, func() time.Time { return e.now() })
	if err := preflight(e); err != nil {
		return nil, err
	}
	return e, nil
}

// FromEnv builds an engine from LoadConfig(getenv(KALEADS_LLM_CONFIG),
// getenv); callers pass os.Getenv (library code does not read the
// environment itself). It returns ErrNoAPIKey when no key and no custom base
// URL are set, so the caller can use the offline engine instead.
func FromEnv(getenv func(string) string, fallback agents.Engine) (*Engine, error) {
	cfg, err := LoadConfig(getenv(EnvConfig), getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg, fallback)
}

// Engine choices (the --engine flag, KALEADS_ENGINE).
const (
	ChoiceAuto    = "auto"    // the LLM when OPENAI_API_KEY, OPENAI_BASE_URL, KALEADS_LLM_PROVIDER or AZURE_OPENAI_ENDPOINT with AZURE_OPENAI_API_KEY is set, else offline
	ChoiceOffline = "offline" // deterministic heuristics, no network
	ChoiceLLM     = "llm"     // an OpenAI-compatible model, the offline engine as its fallback
)

// NewEngine builds the engine for a choice; the LLM engine's configuration
// comes from getenv (see LoadConfig).
func NewEngine(choice string, getenv func(string) string) (agents.Engine, error) {
	off, err := offline.New()
	if err != nil {
		return nil, err
	}
	switch choice {
	case ChoiceOffline:
		return off, nil
	case ChoiceAuto, "":
		if !envSelectsLLM(getenv) {
			return off, nil
		}
		fallthrough
	case ChoiceLLM:
		e, err := FromEnv(getenv, off)
		if errors.Is(err, ErrNoAPIKey) {
			return nil, fmt.Errorf("--engine llm: set %s (or %s for a local server such as Ollama): %w", EnvAPIKey, EnvBaseURL, err)
		}
		return e, err
	}
	return nil, fmt.Errorf("unknown engine %q (known: auto, offline, llm)", choice)
}

// Name implements agents.Engine.
func (e *Engine) Name() string { return "llm" }

// Version implements agents.Engine: model + "@" + prompt version, where the
// prompt version is a short hash of the agent's prompt files and schema.
func (e *Engine) Version(agent string) string {
	v := "unknown"
	if p, ok := e.prompts[agent]; ok {
		v = p.version
	}
	return e.cfg.Model(agent) + "@" + v
}

// Stats returns the run totals so far.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

func (e *Engine) addStat(f func(*Stats)) {
	e.mu.Lock()
	f(&e.stats)
	e.mu.Unlock()
}

func (e *Engine) record(c email.Call) {
	e.addStat(func(s *Stats) {
		s.Calls++
		s.Attempts += c.Attempts
		if c.Error != "" {
			s.Failed++
		}
		s.PromptTokens += c.PromptTokens
		s.CompletionTokens += c.CompletionTokens
		s.CachedTokens += c.CachedTokens
		s.CostUSD += c.CostUSD
	})
}

// Answer implements agents.Engine. It returns an error only when ctx ends
// or when StopsRun(err) (quota exhausted, key rejected); any other failure
// gives the fallback engine's answer with an "llm_fallback" note and the
// model calls made so far.
func (e *Engine) Answer(ctx context.Context, req agents.Request) (email.Answer, error) {
	name := req.Spec.Name
	findings := detectInjection(req)
	p, ok := e.prompts[name]
	if !ok {
		return e.fallBack(ctx, req, nil, findings, fmt.Sprintf("no prompt for agent %q", name))
	}
	model := e.cfg.Model(name)
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: p.systemMessage(req)},
		{Role: openai.ChatMessageRoleUser, Content: userMessage(req, e.cfg.MaxSiteChars)},
	}
	var calls []email.Call
	var reason string
	for try := 0; try < 2; try++ {
		res, call, err := e.call(ctx, p, model, msgs)
		calls = append(calls, call)
		if err != nil {
			if ctx.Err() != nil {
				return email.Answer{}, fmt.Errorf("llm %s: %w", name, ctx.Err())
			}
			if StopsRun(err) {
				return email.Answer{}, fmt.Errorf("llm %s: %w", name, err)
			}
			reason = "model call failed: " + err.Error()
			break
		}
		if res.refusal != "" {
			reason = "model refused: " + clip(oneLine(res.refusal), 200)
			break
		}
		a, out, problem := e.interpret(req, p, res)
		if problem == nil {
			a.Calls = calls
			if try > 0 {
				a.Notes = append(a.Notes, email.Note{Code: "llm_repaired", Message: name + ": the first answer broke the output rules and was repaired"})
			}
			if n, ok := injectionNote(name, findings, out.InjectionDetected); ok {
				a.Notes = append(a.Notes, n)
			}
			return a, nil
		}
		if try == 0 {
			e.addStat(func(s *Stats) { s.Repairs++ })
			msgs = append(msgs,
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: res.content},
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: repairMessage(problem)})
			continue
		}
		reason = "answer still invalid after one repair: " + clip(oneLine(problem.Error()), 600)
	}
	return e.fallBack(ctx, req, calls, findings, reason)
}

// interpret decodes and validates one reply (agents.Check grounds it).
func (e *Engine) interpret(req agents.Request, p *agentPrompt, res result) (email.Answer, output, error) {
	if res.finish == "length" {
		return email.Answer{}, output{}, fmt.Errorf("%w: the answer was cut off (finish_reason length); keep reasoning short and send the complete JSON object", errSchema)
	}
	out, err := decodeOutput(p.spec, res.content)
	if err != nil {
		return email.Answer{}, out, err
	}
	values := make(map[string]string, len(out.Values))
	for k, v := range out.Values {
		values[k] = strings.TrimSpace(v)
	}
	a := email.Answer{
		Agent:         p.spec.Name,
		Values:        values,
		Confidence:    out.Confidence,
		FallbackLevel: out.FallbackLevel,
		Reasoning:     strings.TrimSpace(out.Reasoning),
		Evidence:      out.Evidence,
		Engine:        e.Name(),
		Version:       e.Version(p.spec.Name),
	}
	errs := []error{agents.Validate(p.spec, a, req.Language)}
	errs = append(errs, e.checkValues(req, values)...)
	if err := errors.Join(errs...); err != nil {
		return a, out, err
	}
	return a, out, nil // grounded by agents.Check, like every engine's answer
}

// repairMessage feeds the problems back to the model.
func repairMessage(problem error) string {
	var b strings.Builder
	b.WriteString("Ta réponse précédente ne respecte pas les règles :\n")
	for _, l := range strings.Split(problem.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	b.WriteString("Corrige ces points et renvoie l'objet JSON complet, conforme au schéma, sans texte autour.")
	return b.String()
}

// fallBack answers with the fallback engine and records why.
func (e *Engine) fallBack(ctx context.Context, req agents.Request, calls []email.Call, findings []finding, reason string) (email.Answer, error) {
	e.addStat(func(s *Stats) { s.Fallbacks++ })
	a, err := e.fallback.Answer(ctx, req)
	if err != nil {
		return email.Answer{}, fmt.Errorf("llm %s: fallback engine %s after %s: %w", req.Spec.Name, e.fallback.Name(), reason, err)
	}
	a.Notes = append(a.Notes, email.Note{Code: "llm_fallback", Message: fmt.Sprintf("%s: %s; answered by the %s engine", req.Spec.Name, reason, e.fallback.Name())})
	// The short reason is the reason's kind, before its details ("model
	// call failed", "model refused", "answer still invalid after one
	// repair"): the same across contacts, so a run can count them.
	short, _, _ := strings.Cut(reason, ":")
	a.FallbackReason = clip(strings.TrimSpace(short), 80)
	if n, ok := injectionNote(req.Spec.Name, findings, false); ok {
		a.Notes = append(a.Notes, n)
	}
	a.Calls = append(a.Calls, calls...)
	return a, nil
}
