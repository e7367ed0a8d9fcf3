// Package agents holds the six specialised agents that fill template
// variables: what each produces and needs, the rules their answers must
// follow, the execution plan derived from a template, and the offline engine.
// Engines (offline heuristics, an LLM) answer for one agent at a time.
package agents

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
)

// Rule constrains one produced value.
type Rule struct {
	Var         string
	Description string // what the value is, for prompts and schemas
	MaxWords    int
	MaxChars    int
	LowerStart  bool // must not start with a capital letter (it sits mid-sentence)
	NoVerbStart bool // must not start with an action verb ("cibler", "viser")
}

// Spec declares one agent.
type Spec struct {
	Name    string
	Title   string   // human name
	Rules   []Rule   // one per produced variable, Produces order
	Needs   []string // variables produced by other agents
	Extras  []string // produced variables that are optional in templates
	Contact []string // contact columns the agent reads (for prompts)
	Purpose string   // one line for prompts and docs
}

// Produces lists the variables the agent produces.
func (s Spec) Produces() []string {
	out := make([]string, len(s.Rules))
	for i, r := range s.Rules {
		out[i] = r.Var
	}
	return out
}

// Rule returns the rule for a variable.
func (s Spec) Rule(v string) (Rule, bool) {
	for _, r := range s.Rules {
		if r.Var == v {
			return r, true
		}
	}
	return Rule{}, false
}

// The six agents of the seed.
var (
	Persona = Spec{
		Name: "persona", Title: "Persona & product category",
		Purpose: "who the prospect sells to (target_persona) and what it sells (product_category)",
		Rules: []Rule{
			{Var: "target_persona", Description: "who the prospect company sells to, lower-case start, e.g. \"directeurs financiers de PME\"", MaxWords: 8, MaxChars: 50, LowerStart: true},
			{Var: "product_category", Description: "what the prospect sells, factual, lower-case start, at most 6 words, e.g. \"logiciel de gestion de paie\"", MaxWords: 6, MaxChars: 100, LowerStart: true},
		},
		Contact: []string{"company_name", "website", "industry"},
	}
	Competitor = Spec{
		Name: "competitor", Title: "Competitor",
		Purpose: "a company the prospect competes with (competitor_name) and the shared category",
		Rules: []Rule{
			{Var: "competitor_name", Description: "name of one company competing with the prospect in its category, never the prospect itself", MaxWords: 5, MaxChars: 60},
			{Var: "competitor_product_category", Description: "the product category the two compete in, lower-case start", MaxWords: 8, MaxChars: 100, LowerStart: true},
		},
		Extras:  []string{"competitor_product_category"},
		Contact: []string{"company_name", "website", "industry"},
	}
	Pain = Spec{
		Name: "pain", Title: "Pain point",
		Purpose: "the prospect's specific pain our client solves (solve_specific_pain)",
		Rules: []Rule{
			{Var: "solve_specific_pain", Description: "the prospect's pain our client solves, as a noun phrase, lower-case start, e.g. \"un pipeline qui dépend trop des salons\"", MaxWords: 15, MaxChars: 150, LowerStart: true},
			{Var: "problem_specific", Description: "the underlying problem in a short phrase, lower-case start", MaxWords: 15, MaxChars: 150, LowerStart: true},
			{Var: "impact_measurable", Description: "its measurable impact, lower-case start", MaxWords: 20, MaxChars: 160, LowerStart: true},
		},
		Extras:  []string{"problem_specific", "impact_measurable"},
		Contact: []string{"company_name", "website", "industry"},
	}
	Signal = Spec{
		Name: "signal", Title: "Intent signals",
		Purpose: "two intent signals: kinds of companies the prospect should target (1: high volume, 2: niche)",
		Rules: []Rule{
			{Var: "specific_target_1", Description: "intent signal 1, high volume (500-2000 companies): [segment] [avec/utilisant/ayant] [signal], lower-case, no action verb", MaxWords: 12, MaxChars: 150, LowerStart: true, NoVerbStart: true},
			{Var: "specific_target_2", Description: "intent signal 2, niche (100-500 companies), same structure, lower-case, no action verb", MaxWords: 12, MaxChars: 150, LowerStart: true, NoVerbStart: true},
		},
		Needs:   []string{"target_persona", "product_category"},
		Contact: []string{"company_name", "website", "industry"},
	}
	System = Spec{
		Name: "system", Title: "Outbound system",
		Purpose: "three steps of the outbound system our client would build for the prospect",
		Rules: []Rule{
			{Var: "system_1", Description: "step 1 of the system, short noun phrase, lower-case start", MaxWords: 10, MaxChars: 90, LowerStart: true},
			{Var: "system_2", Description: "step 2, short noun phrase, lower-case start", MaxWords: 10, MaxChars: 90, LowerStart: true},
			{Var: "system_3", Description: "step 3, short noun phrase, lower-case start", MaxWords: 10, MaxChars: 90, LowerStart: true},
		},
		Needs:   []string{"target_persona", "specific_target_1", "specific_target_2", "solve_specific_pain"},
		Contact: []string{"company_name", "industry"},
	}
	CaseStudy = Spec{
		Name: "case_study", Title: "Case study insight",
		Purpose: "one sentence from our client's most relevant case study (case_study_insight)",
		Rules: []Rule{
			{Var: "case_study_insight", Description: "one sentence on a relevant result of one of our client's case studies, lower-case start", MaxWords: 30, MaxChars: 220, LowerStart: true},
			{Var: "case_study_result", Description: "the result in a few words, e.g. \"42 rendez-vous qualifiés en 3 mois\"", MaxWords: 15, MaxChars: 100, LowerStart: true},
		},
		Extras:  []string{"case_study_result"},
		Contact: []string{"company_name", "website", "industry"},
	}
)

// All lists the agents in a stable order.
var All = []Spec{Persona, Competitor, Pain, Signal, System, CaseStudy}

// ByName returns an agent spec.
func ByName(name string) (Spec, bool) {
	for _, s := range All {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Producer returns the agent producing variable v.
func Producer(v string) (Spec, bool) {
	for _, s := range All {
		for _, p := range s.Produces() {
			if p == v {
				return s, true
			}
		}
	}
	return Spec{}, false
}

// Request is what an engine gets to answer for one agent.
type Request struct {
	Spec     Spec
	Contact  contacts.Contact
	Site     *scrape.Site // nil or empty when the site could not be scraped
	SiteErr  string       // why the site is missing, when it is
	Context  *clientctx.Context
	Inputs   map[string]string // values of Spec.Needs from upstream agents
	Language string            // template language, "fr" or "en"
}

// Engine answers for one agent. email.Answer must always return an answer unless
// ctx is done (the offline engine never fails otherwise); an LLM engine
// falls back to the offline engine and records why in email.Answer.Notes.
type Engine interface {
	Name() string
	// Version identifies what produces agent's answers (model, prompt
	// version): it is part of the cache key.
	Version(agent string) string
	Answer(ctx context.Context, req Request) (email.Answer, error)
}

// GroupEngine is an Engine that can answer several agents of one contact
// in one call (the LLM engine: one model call instead of one per agent).
type GroupEngine interface {
	Engine
	// Groups lists the agents answered together, each in run order (an
	// agent may need the values of an agent before it in its group).
	Groups() [][]string
	// AnswerGroup answers reqs, agents of one group for one contact in
	// group order, with one answer per request in the same order. A
	// request's Inputs hold the values of agents outside the group only.
	AnswerGroup(ctx context.Context, reqs []Request) ([]email.Answer, error)
}

// UnknownVariableError is returned when a template uses a variable that no
// CSV column and no agent produces.
type UnknownVariableError struct {
	File    string
	Var     string
	Line    int
	Columns []string
}

func (e *UnknownVariableError) Error() string {
	var produced []string
	for _, s := range All {
		produced = append(produced, s.Produces()...)
	}
	return fmt.Sprintf("%s:%d: variable {{%s}} is neither a CSV column (%s) nor produced by an agent (%s)",
		e.File, e.Line, e.Var, strings.Join(e.Columns, ", "), strings.Join(produced, ", "))
}

// Plan is the ordered set of agents a template needs.
type Plan struct {
	// Stages are groups of agents whose needs are met by earlier stages;
	// agents within a stage can run concurrently.
	Stages [][]Spec
	// Columns are the template variables filled from the contact row.
	Columns []string
}

// Agents returns the planned agents in stage order.
func (p *Plan) Agents() []Spec {
	var out []Spec
	for _, st := range p.Stages {
		out = append(out, st...)
	}
	return out
}

// TemplateVar is a variable used by a template and where it first appears.
type TemplateVar struct {
	Name string
	Line int
}

// NewPlan derives the agents a template needs (transitively) from its
// variables. A variable that is a contact column is filled from the row;
// columns are canonical CSV column names. A variable nobody produces is an
// *UnknownVariableError naming it and file.
func NewPlan(file string, vars []TemplateVar, columns []string) (*Plan, error) {
	isColumn := map[string]bool{}
	for _, c := range columns {
		isColumn[c] = true
	}
	need := map[string]bool{}
	p := &Plan{}
	var visit func(v string) bool
	visit = func(v string) bool {
		s, ok := Producer(v)
		if !ok {
			return false
		}
		if !need[s.Name] {
			need[s.Name] = true
			for _, n := range s.Needs {
				visit(n)
			}
		}
		return true
	}
	for _, v := range vars {
		if isColumn[v.Name] {
			p.Columns = append(p.Columns, v.Name)
			continue
		}
		if !visit(v.Name) {
			cols := append([]string(nil), columns...)
			sort.Strings(cols)
			return nil, &UnknownVariableError{File: file, Var: v.Name, Line: v.Line, Columns: cols}
		}
	}
	done := map[string]bool{}
	for len(done) < len(need) {
		var stage []Spec
		for _, s := range All {
			if !need[s.Name] || done[s.Name] {
				continue
			}
			ready := true
			for _, n := range s.Needs {
				prod, _ := Producer(n)
				if !done[prod.Name] {
					ready = false
				}
			}
			if ready {
				stage = append(stage, s)
			}
		}
		if len(stage) == 0 {
			return nil, fmt.Errorf("agents: dependency cycle among %v", need)
		}
		for _, s := range stage {
			done[s.Name] = true
		}
		p.Stages = append(p.Stages, stage)
	}
	return p, nil
}
