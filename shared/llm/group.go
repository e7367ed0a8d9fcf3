package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sashabaranov/go-openai"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
)

// Group calls: the agents of one contact that read the same material are
// answered by one model call with a schema composed of theirs, so the
// common rules, the site and the instructions are paid once per company,
// not once per agent. Each agent's part keeps its own confidence, level,
// reasoning, evidence, validation, repair, fallback and cache entry.

// callGroups are the agents answered together: a reading of the site
// (persona, competitor, pain, case study), then what builds on it (signals
// and systems; the systems follow the signals of the same answer).
var callGroups = [][]string{
	{agents.Persona.Name, agents.Competitor.Name, agents.Pain.Name, agents.CaseStudy.Name},
	{agents.Signal.Name, agents.System.Name},
}

// groupIntro tells the model how a group answer is shaped.
const groupIntro = "# Appel groupé\n\n" +
	"Tu réponds en une fois pour plusieurs agents. L'objet JSON a une propriété par agent (%s) ; " +
	"chacune contient la réponse complète de cet agent (injection_detected, reasoning, evidence, values, " +
	"fallback_level, confidence), selon ses propres consignes ci-dessous. Chaque partie a ses propres " +
	"citations et son propre niveau de repli. Les valeurs d'une partie peuvent s'appuyer sur celles d'une " +
	"partie précédente du même objet."

// Groups implements agents.GroupEngine: the groups whose agents share a
// model (a group is split where the configuration gives its agents
// different models).
func (e *Engine) Groups() [][]string {
	var out [][]string
	for _, g := range callGroups {
		byModel := map[string][]string{}
		var order []string
		for _, name := range g {
			m := e.cfg.Model(name)
			if _, ok := byModel[m]; !ok {
				order = append(order, m)
			}
			byModel[m] = append(byModel[m], name)
		}
		for _, m := range order {
			if len(byModel[m]) > 1 {
				out = append(out, byModel[m])
			}
		}
	}
	return out
}

// groupPrompt composes the static prompt and schema of agents answered
// together, built once per set of agents.
func (e *Engine) groupPrompt(names []string) (*agentPrompt, error) {
	key := strings.Join(names, "+")
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.groups[key]; ok {
		return p, nil
	}
	g := &agentPrompt{spec: agents.Spec{Name: "group_" + strings.Join(names, "_")}, schema: &Schema{Type: "object"}}
	parts := []string{fmt.Sprintf(groupIntro, strings.Join(names, ", "))}
	for _, name := range names {
		p, ok := e.prompts[name]
		if !ok {
			return nil, fmt.Errorf("llm: no prompt for agent %q", name)
		}
		g.members = append(g.members, p)
		g.common = p.common
		parts = append(parts, fmt.Sprintf("# Partie « %s »\n\n%s", name, p.part))
		g.schema.Properties = append(g.schema.Properties, Property{name, p.schema})
	}
	g.instructions = strings.Join(append(parts, g.common), "\n\n")
	var err error
	if g.schemaJSON, err = g.schema.MarshalJSON(); err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", promptFormat, g.instructions, g.schemaJSON)
	g.version = hex.EncodeToString(h.Sum(nil))[:10]
	if e.groups == nil {
		e.groups = map[string]*agentPrompt{}
	}
	e.groups[key] = g
	return g, nil
}

// groupSystemMessage is the static part of a group call: the instructions,
// then the parts of the client context any member uses, once each.
func groupSystemMessage(g *agentPrompt, lang string, reqs []agents.Request) string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(g.instructions, "{language}", languageName(lang)))
	var keys []string
	for _, m := range g.members {
		keys = append(keys, contextFor[m.spec.Name]...)
	}
	c := reqs[0].Context
	if len(keys) == 0 || c == nil {
		return b.String()
	}
	b.WriteString("\n\n# Contexte client\n")
	for _, sec := range c.Sections() {
		if slices.Contains(keys, sec.Key) && strings.TrimSpace(sec.Body) != "" {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n", sec.Title, strings.TrimSpace(sec.Body))
		}
	}
	return b.String()
}

// groupUserMessage renders the prospect's data once for the whole group:
// the contact columns any member reads, the values of earlier agents, the
// competitor candidates when the competitor is a member, and the site as
// much as the member that needs most of it.
func groupUserMessage(reqs []agents.Request, maxSiteChars int) string {
	merged := reqs[0]
	merged.Spec = agents.Spec{Name: "group"}
	merged.Inputs = map[string]string{}
	inGroup := map[string]bool{}
	for _, r := range reqs {
		for _, v := range r.Spec.Produces() {
			inGroup[v] = true
		}
	}
	view := siteNone
	for _, r := range reqs {
		for _, col := range r.Spec.Contact {
			if !slices.Contains(merged.Spec.Contact, col) {
				merged.Spec.Contact = append(merged.Spec.Contact, col)
			}
		}
		for _, n := range r.Spec.Needs {
			if !inGroup[n] && !slices.Contains(merged.Spec.Needs, n) {
				merged.Spec.Needs = append(merged.Spec.Needs, n)
				merged.Inputs[n] = r.Inputs[n]
			}
		}
		view = min(view, siteFor[r.Spec.Name])
	}
	return renderUser(merged, maxSiteChars, view, slices.ContainsFunc(reqs, func(r agents.Request) bool { return r.Spec.Name == agents.Competitor.Name }))
}

// AnswerGroup implements agents.GroupEngine: one call for the agents of
// reqs (one contact), each part interpreted, validated and repaired like a
// single agent's answer; a part still invalid after the repair falls back
// alone to the fallback engine. The call's trace is carried by the first
// answer; the others note the call they shared.
func (e *Engine) AnswerGroup(ctx context.Context, reqs []agents.Request) ([]email.Answer, error) {
	if len(reqs) == 1 {
		a, err := e.Answer(ctx, reqs[0])
		return []email.Answer{a}, err
	}
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Spec.Name
	}
	g, err := e.groupPrompt(names)
	if err != nil {
		return nil, err
	}
	findings := detectInjection(reqs[0])
	model := e.cfg.Model(names[0])
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: groupSystemMessage(g, reqs[0].Language, reqs)},
		{Role: openai.ChatMessageRoleUser, Content: groupUserMessage(reqs, e.cfg.MaxSiteChars)},
	}
	answers := make([]email.Answer, len(reqs))
	done := make([]bool, len(reqs))
	reasons := make([]string, len(reqs))
	var calls []email.Call
	for try := 0; try < 2; try++ {
		res, call, err := e.call(ctx, g, model, msgs)
		calls = append(calls, call)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("llm %s: %w", g.spec.Name, ctx.Err())
			}
			if StopsRun(err) {
				return nil, fmt.Errorf("llm %s: %w", g.spec.Name, err)
			}
			for i := range reasons {
				reasons[i] = "model call failed: " + err.Error()
			}
			break
		}
		if res.refusal != "" {
			for i := range reasons {
				reasons[i] = "model refused: " + clip(oneLine(res.refusal), 200)
			}
			break
		}
		parts, perr := splitGroup(res, names)
		var problems []error
		for i, r := range reqs {
			if done[i] {
				continue
			}
			problem := perr
			var a email.Answer
			var out output
			if problem == nil {
				a, out, problem = e.interpret(r, e.prompts[r.Spec.Name], result{content: string(parts[r.Spec.Name]), finish: res.finish})
			}
			if problem == nil {
				if try > 0 {
					a.Notes = append(a.Notes, email.Note{Code: "llm_repaired", Message: r.Spec.Name + ": the first answer broke the output rules and was repaired"})
				}
				if n, ok := injectionNote(r.Spec.Name, findings, out.InjectionDetected); ok {
					a.Notes = append(a.Notes, n)
				}
				answers[i], done[i] = a, true
				continue
			}
			reasons[i] = "answer still invalid after one repair: " + clip(oneLine(problem.Error()), 600)
			problems = append(problems, fmt.Errorf("partie %s : %w", r.Spec.Name, problem))
		}
		if len(problems) == 0 {
			break
		}
		if try == 0 {
			e.addStat(func(s *Stats) { s.Repairs++ })
			msgs = append(msgs,
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: res.content},
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: repairMessage(errors.Join(problems...))})
		}
	}
	traced := false
	for i, r := range reqs {
		if !done[i] {
			a, err := e.fallBack(ctx, r, nil, findings, reasons[i])
			if err != nil {
				return nil, err
			}
			answers[i] = a
		}
		if !traced {
			answers[i].Calls = append(calls, answers[i].Calls...)
			traced = true
		} else {
			answers[i].Notes = append(answers[i].Notes, email.Note{Code: "llm_group",
				Message: fmt.Sprintf("%s: answered in one model call with %s (its trace is on %s)", r.Spec.Name, strings.Join(names, ", "), names[0])})
		}
	}
	return answers, nil
}

// splitGroup cuts a group answer into the members' JSON objects.
func splitGroup(res result, names []string) (map[string]json.RawMessage, error) {
	if res.finish == "length" {
		return nil, fmt.Errorf("%w: the answer was cut off (finish_reason length); keep reasoning short and send the complete JSON object", errSchema)
	}
	var parts map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.content)), &parts); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", errSchema, err)
	}
	var problems []string
	for _, n := range names {
		if _, ok := parts[n]; !ok {
			problems = append(problems, fmt.Sprintf("part %q is missing", n))
		}
	}
	for k := range parts {
		if !slices.Contains(names, k) {
			problems = append(problems, fmt.Sprintf("unexpected part %q", k))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("%w: %s", errSchema, strings.Join(problems, "; "))
	}
	return parts, nil
}
