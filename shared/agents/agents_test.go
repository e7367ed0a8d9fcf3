package agents

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
)

func names(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Name)
	}
	return out
}

func vars(names ...string) []TemplateVar {
	out := make([]TemplateVar, len(names))
	for i, n := range names {
		out[i] = TemplateVar{Name: n, Line: i + 1}
	}
	return out
}

func TestPlan(t *testing.T) {
	cols := []string{"first_name", "company_name", "industry", "job_title"}
	tests := []struct {
		name    string
		vars    []TemplateVar
		stages  [][]string
		columns []string
	}{
		{
			name: "all seed variables: four in parallel, then signals, then systems",
			vars: vars("first_name", "company_name", "target_persona", "product_category", "competitor_name", "solve_specific_pain",
				"specific_target_1", "specific_target_2", "system_1", "system_2", "system_3", "case_study_insight"),
			stages:  [][]string{{"persona", "competitor", "pain", "case_study"}, {"signal"}, {"system"}},
			columns: []string{"first_name", "company_name"},
		},
		{
			name:    "only columns: no agent runs",
			vars:    vars("first_name", "job_title"),
			columns: []string{"first_name", "job_title"},
		},
		{
			name:   "system alone pulls in what it needs",
			vars:   vars("system_2"),
			stages: [][]string{{"persona", "pain"}, {"signal"}, {"system"}},
		},
		{
			name:   "an extra variable runs its agent once",
			vars:   vars("competitor_name", "competitor_product_category"),
			stages: [][]string{{"competitor"}},
		},
		{
			name:    "a CSV column shadows nothing: industry is the contact's",
			vars:    vars("industry", "case_study_insight"),
			stages:  [][]string{{"case_study"}},
			columns: []string{"industry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan("template.md", tt.vars, cols)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, st := range p.Stages {
				got = append(got, names(st))
			}
			if !reflect.DeepEqual(got, tt.stages) {
				t.Errorf("stages %v, want %v", got, tt.stages)
			}
			if !reflect.DeepEqual(p.Columns, tt.columns) {
				t.Errorf("columns %v, want %v", p.Columns, tt.columns)
			}
		})
	}
}

func TestPlanUnknownVariable(t *testing.T) {
	_, err := NewPlan("examples/x/template.md", []TemplateVar{{"first_name", 3}, {"favourite_colour", 7}}, []string{"first_name", "email"})
	var uv *UnknownVariableError
	if !errors.As(err, &uv) {
		t.Fatalf("want *UnknownVariableError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"examples/x/template.md:7", "{{favourite_colour}}", "email, first_name", "target_persona"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func valid(agent string, values map[string]string) email.Answer {
	return email.Answer{Agent: agent, Values: values, Confidence: 4, FallbackLevel: 1, Reasoning: "because"}
}

func TestValidate(t *testing.T) {
	persona := map[string]string{"target_persona": "directeurs financiers de PME", "product_category": "logiciel de gestion de paie"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range persona {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		spec Spec
		a    email.Answer
		want []string // substrings of the error; nil = valid
	}{
		{"valid", Persona, valid("persona", persona), nil},
		{"capital start", Persona, valid("persona", with("target_persona", "Directeurs financiers")), []string{"target_persona: must start with a lower-case letter"}},
		{"seed's vP convention is fine", Persona, valid("persona", with("target_persona", "vP Sales")), nil},
		{"acronym start keeps its capitals", Persona, valid("persona", with("target_persona", "DAF de PME")), nil},
		{"N/A", Persona, valid("persona", with("product_category", "N/A")), []string{"placeholder"}},
		{"empty", Persona, valid("persona", with("product_category", "  ")), []string{"product_category: is missing or empty"}},
		{"missing", Persona, valid("persona", map[string]string{"target_persona": "x y"}), []string{"product_category: is missing"}},
		{"too many words", Persona, valid("persona", with("product_category", "logiciel de gestion de la paie et des congés")), []string{"at most 6 allowed"}},
		{"too long", Persona, valid("persona", with("target_persona", strings.Repeat("a", 51))), []string{"51 characters, at most 50"}},
		{"jargon", Persona, valid("persona", with("product_category", "logiciel innovant de paie")), []string{"jargon", "innovant"}},
		{"braces", Persona, valid("persona", with("product_category", "logiciel {{x}}")), []string{"template braces"}},
		{"multi-line", Persona, valid("persona", with("product_category", "logiciel\nde paie")), []string{"single line"}},
		{"signal verb", Signal, valid("signal", map[string]string{"specific_target_1": "cibler les PME qui recrutent", "specific_target_2": "cabinets comptables en croissance"}), []string{"action verb"}},
		{"scores out of range", Persona, email.Answer{Values: persona, Confidence: 7, FallbackLevel: 0, Reasoning: "x"}, []string{"confidence: must be between 1 and 5", "fallback_level: must be between 1 and 4"}},
		{"no reasoning", Persona, email.Answer{Values: persona, Confidence: 3, FallbackLevel: 2}, []string{"reasoning: is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.spec, tt.a, "fr")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestGround(t *testing.T) {
	site := &scrape.Site{Pages: []scrape.Page{{URL: "https://acme.example/", Text: "Acme, le logiciel de paie conçu pour les DAF de PME."}}}
	tests := []struct {
		name       string
		level      int
		ev         []email.Evidence
		wantLevel  int
		wantKept   int
		ungrounded []string
	}{
		{"verbatim quote kept", 1, []email.Evidence{{Quote: "conçu pour les  DAF de PME"}}, 1, 1, nil},
		{"invented quote: downgraded", 1, []email.Evidence{{Quote: "utilisé par 500 DAF"}}, 2, 0, []string{"utilisé par 500 DAF"}},
		{"level 1 without evidence: downgraded", 1, nil, 2, 0, nil},
		{"one of two quotes invented: stays level 1, flagged", 1, []email.Evidence{{Quote: "logiciel de paie"}, {Quote: "leader du marché"}}, 1, 1, []string{"leader du marché"}},
		{"level 3 needs no evidence", 3, nil, 3, 0, nil},
		{"a real quote that does not mention the values: downgraded", 1, []email.Evidence{{Quote: "Acme, le logiciel"}}, 2, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]string{"target_persona": "directions financières", "product_category": "logiciel de paie"}
			if tt.name == "a real quote that does not mention the values: downgraded" {
				values = map[string]string{"target_persona": "équipes RH", "product_category": "solution de recrutement"}
			}
			a := Ground(email.Answer{Agent: "persona", FallbackLevel: tt.level, Confidence: 5, Evidence: tt.ev, Values: values}, site)
			if a.FallbackLevel != tt.wantLevel || len(a.Evidence) != tt.wantKept || !reflect.DeepEqual(a.Ungrounded, tt.ungrounded) {
				t.Errorf("got level %d, %d kept, ungrounded %v", a.FallbackLevel, len(a.Evidence), a.Ungrounded)
			}
			if tt.wantLevel < tt.level && (a.Confidence > 3 || len(a.Notes) != 1) {
				t.Errorf("downgrade should cap confidence and explain: %+v", a)
			}
			for _, e := range a.Evidence {
				if e.URL != "https://acme.example/" {
					t.Errorf("evidence URL %q", e.URL)
				}
			}
		})
	}
}
