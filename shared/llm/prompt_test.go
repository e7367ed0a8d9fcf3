package llm

import (
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
)

func TestPromptFiles(t *testing.T) {
	prompts, err := loadPrompts()
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range agents.All {
		p := prompts[spec.Name]
		if p == nil {
			t.Fatalf("no prompt for %s", spec.Name)
		}
		// The Atomic Agents system prompt layout, then the rules and format.
		last := -1
		for _, h := range []string{"## Contexte", "## Étapes", "## Consignes de sortie", "# Valeurs à produire", "# Règles communes", "# Données non fiables", "# Format de sortie"} {
			i := strings.Index(p.instructions, h)
			if i <= last {
				t.Errorf("%s: %q missing or out of order", spec.Name, h)
			}
			last = i
		}
		for _, v := range spec.Produces() {
			if !strings.Contains(p.instructions, "- "+v+" : ") {
				t.Errorf("%s: value %s is not described", spec.Name, v)
			}
		}
		if !strings.Contains(p.instructions, "{language}") {
			t.Errorf("%s: no {language} placeholder", spec.Name)
		}
	}
	sig := prompts["signal"].instructions
	for _, want := range []string{"ÉTAPE 1 : analyse approfondie du positionnement", "ÉTAPE 2 : analyse concurrentielle", "ÉTAPE 3 : identification de signaux actionnables",
		"ÉTAPE 4 : croisement et combinaison", "ÉTAPE 5 : validation et optimisation", "500 à 2000", "100 à 500", "[segment] [avec/utilisant/ayant] [signal 1] et [signal 2]", "12 mots"} {
		if !strings.Contains(sig, want) {
			t.Errorf("signal methodology lacks %q", want)
		}
	}
	// Examples in the methodology must pass the signal rules themselves.
	for _, line := range strings.Split(sig, "\n") {
		if _, ex, ok := strings.Cut(line, "specific_target_"); ok && strings.Contains(ex, "« ") {
			v := strings.TrimSuffix(strings.SplitN(ex, "« ", 2)[1], " »")
			a := email.Answer{Values: map[string]string{"specific_target_1": v, "specific_target_2": v}, Confidence: 3, FallbackLevel: 2, Reasoning: "r"}
			if err := agents.Validate(agents.Signal, a, "fr"); err != nil {
				t.Errorf("methodology example %q breaks the rules: %v", v, err)
			}
		}
	}
}

func TestLanguageInSystemMessage(t *testing.T) {
	prompts, _ := loadPrompts()
	for lang, want := range map[string]string{"fr": "Écris les valeurs en français", "en": "Écris les valeurs en anglais (English)", "fr-FR": "en français"} {
		req := agents.Request{Spec: agents.Persona, Language: lang}
		if got := prompts["persona"].systemMessage(req); !strings.Contains(got, want) || strings.Contains(got, "{language}") {
			t.Errorf("%s: system message lacks %q", lang, want)
		}
	}
}

func TestUserMessageCapsSiteText(t *testing.T) {
	long := strings.Repeat("mot ", 20000)
	site := &scrape.Site{Pages: []scrape.Page{{URL: "https://a.fr/", Kind: "home", Text: long}, {URL: "https://a.fr/clients", Kind: "customers", Text: long}}}
	msg := userMessage(agents.Request{Spec: agents.Persona, Site: site}, 8000)
	if n := len([]rune(msg)); n > 9000 {
		t.Errorf("user message has %d characters for an 8000 cap", n)
	}
	if !strings.Contains(msg, "https://a.fr/clients") || strings.Count(msg, "[…]") != 2 {
		t.Error("both pages should appear, each clipped")
	}
	msg = userMessage(agents.Request{Spec: agents.Persona, SiteErr: "robots.txt\ninterdit"}, 8000)
	if strings.Contains(msg, FenceTag) || !strings.Contains(msg, "Site indisponible (robots.txt interdit)") {
		t.Errorf("no-site message:\n%s", msg)
	}
}
