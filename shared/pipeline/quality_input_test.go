package pipeline

import (
	"testing"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/quality"
	"github.com/kaleads/kaleads/shared/template"
)

// The client's persona titles reach quality as ClientPhrases and its name
// as ClientNames: a target_persona copied from personas.md is flagged.
func TestQualityInputPassesClientContext(t *testing.T) {
	tm, err := template.Parse("template.md", []byte("Subject: x\n\nBonjour {{first_name}}, vous vendez aux {{target_persona}} ?"))
	if err != nil {
		t.Fatal(err)
	}
	titles := []string{"Directeur commercial ou head of sales", "Head of growth"}
	p, err := New(Config{Template: tm, Context: &clientctx.Context{PersonaTitles: titles, ClientName: "Prospectia"}, Engine: &fakeEngine{}, Scraper: &fakeScraper{},
		Columns: []string{"first_name"}})
	if err != nil {
		t.Fatal(err)
	}
	r := email.Result{
		Subject: "x", Body: "Bonjour Léa, vous vendez aux directeur commercial ou head of sales ?",
		Variables: map[string]email.Variable{
			"first_name":     {Value: "Léa"},
			"target_persona": {Value: "directeur commercial ou head of sales", Agent: "persona", Confidence: 2, FallbackLevel: 3},
		},
		Answers: map[string]email.Answer{"persona": {Agent: "persona"}},
	}
	in := p.qualityInput(r)
	if len(in.ClientPhrases) != len(titles) || in.ClientPhrases[0] != titles[0] {
		t.Errorf("ClientPhrases = %q, want the persona titles %q", in.ClientPhrases, titles)
	}
	if len(in.ClientNames) != 1 || in.ClientNames[0] != "Prospectia" {
		t.Errorf("ClientNames = %q, want the agency's name", in.ClientNames)
	}
	found := false
	for _, f := range quality.Score(in).Flags {
		found = found || f.Code == quality.CodeCopiedFromClient
	}
	if !found {
		t.Errorf("no %s flag for a target_persona copied from personas.md", quality.CodeCopiedFromClient)
	}
}
