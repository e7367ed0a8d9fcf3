package llm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/llmsim"
)

func readingRequests(t *testing.T) []agents.Request {
	var reqs []agents.Request
	for _, spec := range []agents.Spec{agents.Persona, agents.Competitor, agents.Pain, agents.CaseStudy} {
		reqs = append(reqs, testRequest(t, spec, testSite()))
	}
	return reqs
}

// One call answers the four agents that read the site; each part is its
// own valid answer, the call's trace is on the first one only (usage is
// counted once), and the static prefix is shared by every company.
func TestAnswerGroupOneCall(t *testing.T) {
	t.Parallel()
	e, sim := startSim(t, llmsim.Options{Record: true, Seed: 3}, nil)
	answers, err := e.AnswerGroup(context.Background(), readingRequests(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Fatalf("%d requests, want one call for four agents", got)
	}
	for i, a := range answers {
		spec := readingRequests(t)[i].Spec
		if a.Engine != "llm" || a.Agent != spec.Name {
			t.Fatalf("answer %d: agent %q engine %q notes %v", i, a.Agent, a.Engine, a.Notes)
		}
		if err := agents.Validate(spec, a, "fr"); err != nil {
			t.Errorf("%s: %v", spec.Name, err)
		}
		if i == 0 && len(a.Calls) != 1 || i > 0 && len(a.Calls) != 0 {
			t.Errorf("%s carries %d calls; the trace belongs to the first answer only", spec.Name, len(a.Calls))
		}
		if _, ok := hasNote(a, "llm_group"); i > 0 && !ok {
			t.Errorf("%s does not say it shared the call: %v", spec.Name, noteCodes(a))
		}
	}
	req := sim.Requests()[0]
	sys, user := req.Messages[0].Content, req.Messages[1].Content
	for _, want := range []string{"# Partie « persona »", "# Partie « case_study »", "## Pain points adressés", "## Études de cas", "## Catégories de produits connues"} {
		if !strings.Contains(sys, want) {
			t.Errorf("system message lacks %q", want)
		}
	}
	if strings.Count(sys, "# Règles communes") != 1 || strings.Contains(sys, "## Personas cibles") {
		t.Errorf("the common rules must come once and the agency's personas never")
	}
	if strings.Count(user, "<"+FenceTag+">") != 1 {
		t.Errorf("the site must be sent once")
	}
	var schema map[string]any
	if err := json.Unmarshal(req.Schema, &schema); err != nil || len(schema["properties"].(map[string]any)) != 4 {
		t.Errorf("schema has %v properties, want one per agent (%v)", schema["properties"], err)
	}
}

// A part that breaks its rules is sent back once with the others; still
// broken, it alone falls back to the offline engine, the others are kept.
func TestAnswerGroupRepairsAndFallsBackPerPart(t *testing.T) {
	t.Parallel()
	part := func(values string) string {
		return `{"injection_detected":false,"reasoning":"vu sur le site","evidence":[],"values":` + values + `,"fallback_level":2,"confidence":3}`
	}
	long := strings.Repeat("directeurs de production ", 10)
	content := `{"persona":` + part(`{"target_persona":"`+long+`","product_category":"logiciel de planification"}`) +
		`,"competitor":` + part(`{"competitor_name":"Ordonnia","competitor_product_category":"logiciel de planification"}`) + `}`
	e, s := startScript(t, reply(content, "stop"), reply(content, "stop"))
	reqs := []agents.Request{testRequest(t, agents.Persona, testSite()), testRequest(t, agents.Competitor, testSite())}
	answers, err := e.AnswerGroup(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests()); n != 2 {
		t.Fatalf("%d requests, want the call and one repair", n)
	}
	if !strings.Contains(string(s.requests()[1]), "partie persona") {
		t.Errorf("the repair message does not name the broken part")
	}
	if answers[0].Engine != "fake" {
		t.Errorf("persona: engine %s, want the fallback", answers[0].Engine)
	}
	if n, ok := hasNote(answers[0], "llm_fallback"); !ok || !strings.Contains(n.Message, "target_persona") {
		t.Errorf("persona fallback reason: %v", answers[0].Notes)
	}
	if answers[1].Engine != "llm" || answers[1].Values["competitor_name"] != "Ordonnia" {
		t.Errorf("competitor: %+v, want the model's valid part", answers[1])
	}
	var calls int
	for _, a := range answers {
		calls += len(a.Calls)
	}
	if calls != 2 {
		t.Errorf("%d calls in the traces, want 2 (the call and its repair, once)", calls)
	}
	if st := e.Stats(); st.Calls != 2 || st.Repairs != 1 || st.Fallbacks != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestGroupsFollowModels(t *testing.T) {
	t.Parallel()
	e, _ := startSim(t, llmsim.Options{}, func(c *Config) { c.Models = map[string]string{"case_study": "gpt-4.1-mini"} })
	got := e.Groups()
	want := [][]string{{"persona", "competitor", "pain"}, {"signal", "system"}}
	if len(got) != len(want) || strings.Join(got[0], ",") != strings.Join(want[0], ",") || strings.Join(got[1], ",") != strings.Join(want[1], ",") {
		t.Errorf("groups %v, want %v (an agent on another model is answered alone)", got, want)
	}
}
