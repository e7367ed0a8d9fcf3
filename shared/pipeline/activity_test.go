package pipeline

import (
	"context"
	"reflect"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
)

// TestCountActivity: what a contact's answers add to the run summary —
// answers computed or reused, calls with their retries and times, repairs
// (by the llm_repaired note), fallbacks by reason with the first note as
// the example.
func TestCountActivity(t *testing.T) {
	t.Parallel()
	fellBack := email.Answer{Agent: "pain", Engine: "offline", FallbackReason: "model call failed",
		Notes: []email.Note{{Code: email.NoteLLMFallback, Message: "pain: model call failed: HTTP 503; answered by the offline engine"}}}
	repaired := email.Answer{Agent: "persona", Engine: "llm", Notes: []email.Note{{Code: email.NoteLLMRepaired}}}
	tests := []struct {
		name     string
		results  []email.Result
		agents   map[string]email.AgentActivity
		examples map[string]string
	}{
		{"failed contact", []email.Result{{Status: email.StatusFailed}}, nil, nil},
		{"repaired and fell back", []email.Result{{
			Answers:   map[string]email.Answer{"persona": repaired, "pain": fellBack},
			Variables: map[string]email.Variable{"target_persona": {Agent: "persona"}, "solve_specific_pain": {Agent: "pain"}},
			Calls: []email.AgentCall{
				{Agent: "persona", Call: email.Call{Attempts: 2, Retries: 1, LatencyMS: 300, WaitMS: 40}},
				{Agent: "persona", Call: email.Call{Attempts: 1, LatencyMS: 200}},
				{Agent: "pain", Call: email.Call{Attempts: 4, Retries: 3, LatencyMS: 1000, WaitMS: 700, Error: "gave up"}},
			}}},
			map[string]email.AgentActivity{
				"persona": {Answers: 1, Calls: 2, Retries: 1, Repairs: 1, LatencyMS: 500, WaitMS: 40},
				"pain":    {Answers: 1, Calls: 1, Retries: 3, LatencyMS: 1000, WaitMS: 700, Fallbacks: map[string]int{"model call failed": 1}},
			},
			map[string]string{"model call failed": "pain: model call failed: HTTP 503; answered by the offline engine"}},
		{"reused answers make no call and no fallback", []email.Result{{
			Answers:   map[string]email.Answer{"persona": repaired, "pain": fellBack},
			Variables: map[string]email.Variable{"target_persona": {Agent: "persona", Cached: true}, "solve_specific_pain": {Agent: "pain", Cached: true}}}},
			map[string]email.AgentActivity{"persona": {Reused: 1}, "pain": {Reused: 1}}, nil},
		{"the first note is the example", []email.Result{
			{Answers: map[string]email.Answer{"pain": fellBack}, Variables: map[string]email.Variable{"solve_specific_pain": {Agent: "pain"}}},
			{Answers: map[string]email.Answer{"pain": {Agent: "pain", FallbackReason: "model call failed",
				Notes: []email.Note{{Code: email.NoteLLMFallback, Message: "later"}}}}, Variables: map[string]email.Variable{"solve_specific_pain": {Agent: "pain"}}},
			{Answers: map[string]email.Answer{"pain": {Agent: "pain", FallbackReason: "model refused"}}, Variables: map[string]email.Variable{"solve_specific_pain": {Agent: "pain"}}},
		},
			map[string]email.AgentActivity{"pain": {Answers: 3, Fallbacks: map[string]int{"model call failed": 2, "model refused": 1}}},
			map[string]string{"model call failed": "pain: model call failed: HTTP 503; answered by the offline engine", "model refused": "pain: model refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s email.Summary
			for _, r := range tt.results {
				countActivity(&s, r)
			}
			if !reflect.DeepEqual(s.Agents, tt.agents) {
				t.Errorf("agents\n got %+v\nwant %+v", s.Agents, tt.agents)
			}
			if !reflect.DeepEqual(s.FallbackExamples, tt.examples) {
				t.Errorf("examples %v, want %v", s.FallbackExamples, tt.examples)
			}
		})
	}
}

// activityEngine is named "llm" and answers the pain agent from its
// "fallback" (engine "offline", with a reason), the persona agent after a
// repair (two calls), the others in one call that waited for the budget.
type activityEngine struct{}

func (activityEngine) Name() string          { return "llm" }
func (activityEngine) Version(string) string { return "llm@1" }
func (activityEngine) Answer(_ context.Context, req agents.Request) (email.Answer, error) {
	vals := map[string]string{}
	for _, v := range req.Spec.Produces() {
		vals[v] = v + " de " + req.Contact.CompanyName
	}
	a := email.Answer{Agent: req.Spec.Name, Engine: "llm", Version: "llm@1", Values: vals, Confidence: 4, FallbackLevel: 2, Reasoning: "r",
		Calls: []email.Call{{Model: "m", Attempts: 1, LatencyMS: 100, WaitMS: 10}}}
	switch req.Spec.Name {
	case "pain":
		a.Engine, a.Version, a.FallbackReason = "offline", "offline@1", "model refused"
		a.Notes = []email.Note{{Code: email.NoteLLMFallback, Message: "pain: model refused: no; answered by the offline engine"}}
		a.Calls[0].Retries, a.Calls[0].Attempts = 2, 3
	case "persona":
		a.Notes = []email.Note{{Code: email.NoteLLMRepaired, Message: "persona: repaired"}}
		a.Calls = append(a.Calls, email.Call{Model: "m", Attempts: 1, LatencyMS: 100})
	}
	return a, nil
}

// TestRunSummarisesActivity: two contacts of one company, one at a time.
// The second reuses the first's cached answers, except the pain answer:
// a fallback is not cached, so it is asked again and falls back again.
// Each variable says which engine answered and why it fell back.
func TestRunSummarisesActivity(t *testing.T) {
	t.Parallel()
	p := newTestPipeline(t, "Subject: {{company_name}}\n\nBonjour {{first_name}}, {{target_persona}} : {{solve_specific_pain}} ?", activityEngine{}, &fakeScraper{})
	var rs []email.Result
	s, err := p.Run(context.Background(), []contacts.Contact{contact(2, "Léa", "Acme"), contact(3, "Paul", "Acme")}, RunOptions{Concurrency: 1},
		func(r email.Result) error { rs = append(rs, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]email.AgentActivity{
		"persona": {Answers: 1, Reused: 1, Calls: 2, Repairs: 1, LatencyMS: 200, WaitMS: 10},
		"pain":    {Answers: 2, Calls: 2, Retries: 4, LatencyMS: 200, WaitMS: 20, Fallbacks: map[string]int{"model refused": 2}},
	}
	if !reflect.DeepEqual(s.Agents, want) {
		t.Errorf("agents\n got %+v\nwant %+v", s.Agents, want)
	}
	if got := s.FallbackShare(); got != 2.0/3 {
		t.Errorf("fallback share %v, want 2/3 (2 of 3 computed answers)", got)
	}
	for _, r := range rs {
		for name, want := range map[string]email.Variable{
			"target_persona":      {Engine: "llm"},
			"solve_specific_pain": {Engine: "offline", FallbackReason: "model refused"},
			"first_name":          {},
		} {
			if v := r.Variables[name]; v.Engine != want.Engine || v.FallbackReason != want.FallbackReason {
				t.Errorf("line %d %s: engine %q reason %q, want %q %q", r.Contact.Line, name, v.Engine, v.FallbackReason, want.Engine, want.FallbackReason)
			}
		}
	}
}
