package offline

import (
	"context"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
)

// testCtx is an agency's context: its own personas must never come back as
// a prospect's buyers.
var testCtx = &clientctx.Context{
	PersonaTitles: []string{"VP Sales", "Fondateurs de SaaS B2B"},
	Pains: []clientctx.Pain{
		{Title: "Pipeline irrégulier", Body: "Les rendez-vous arrivent par vagues, au gré des salons.", Impact: "des trimestres sous l'objectif"},
		{Title: "Recrutement de SDR qui échoue", Body: "Les SDR partent au bout de huit mois, recrutement coûteux, turnover des équipes commerciales.", Impact: "3 mois de salaire perdus par SDR parti"},
	},
	Competitors: []clientctx.Competitor{
		{Name: "Voxaly", Category: "logiciel de téléphonie cloud", Positioning: "standard téléphonique virtuel pour centres d'appels"},
		{Name: "Ringo", Category: "logiciel de téléphonie cloud", Positioning: "téléphonie pour équipes commerciales intégrée au CRM"},
		{Name: "Paysoft", Category: "logiciel de paie", Positioning: "paie et déclarations sociales pour PME"},
		{Name: "Payfacile", Category: "logiciel de paie", Positioning: "bulletins de paie automatisés pour experts-comptables"},
		{Name: "Spendo", Category: "gestion des dépenses", Positioning: "cartes de paiement et notes de frais pour PME"},
		{Name: "Carto", Category: "gestion des dépenses", Positioning: "cartes virtuelles et justificatifs"},
		{Name: "Pipeflow", Category: "CRM", Positioning: "CRM et pipeline commercial pour PME"},
	},
	CaseStudies: []clientctx.CaseStudy{
		{File: "case_studies/01-talento.md", Client: "Talento", Industry: "saas rh", Result: "42 rendez-vous qualifiés en 3 mois", Body: "Recrutement, RH."},
		{File: "case_studies/02-anonyme-telecom.md", Industry: "télécoms", Result: "18 démos par mois", Body: "Téléphonie, centres d'appels."},
	},
}

func run(t *testing.T, spec agents.Spec, c contacts.Contact, site *scrape.Site, inputs map[string]string) email.Answer {
	t.Helper()
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	req := agents.Request{Spec: spec, Contact: c, Site: site, Context: testCtx, Inputs: inputs, Language: "fr"}
	a, err := e.Answer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := agents.Validate(spec, a, "fr"); err != nil {
		t.Fatalf("offline answer breaks the rules: %v\n%+v", err, a)
	}
	if checked := agents.Check(req, a); len(checked.Ungrounded) > 0 || checked.FallbackLevel != a.FallbackLevel {
		t.Errorf("the offline answer does not pass agents.Check: ungrounded %q, level %d → %d", checked.Ungrounded, a.FallbackLevel, checked.FallbackLevel)
	}
	return a
}

func page(title, desc string, headings []string, text string, quotes ...scrape.Testimonial) *scrape.Site {
	return &scrape.Site{Host: "prospect.example", Pages: []scrape.Page{{URL: "https://prospect.example/", Kind: "home",
		Title: title, Description: desc, Headings: headings, Text: text, Quotes: quotes}}}
}

func TestPersona(t *testing.T) {
	tests := []struct {
		name     string
		site     *scrape.Site
		persona  string
		category string
		level    int // of the answer: the lower of the persona's and the category's
		note     string
	}{
		{"'for X teams' in the title, English page", page("Voxaly — the cloud phone system for sales and support teams", "", nil, "Calls and SMS in one app."),
			"équipes commerciales", "logiciel de téléphonie cloud", email.LevelInferred, ""},
		{"a 'Pour qui ?' section with sub-headings", page("Paysoft — la paie des PME", "", []string{"Pour qui ?", "Directions financières", "Experts-comptables", "Fonctionnalités"},
			"Pour qui ?\nDirections financières\nClôtures rapides.\nExperts-comptables\nUn espace dédié.\nFonctionnalités\nBulletins de paie, DSN."),
			"directions financières", "logiciel de paie", email.LevelInferred, ""},
		{"testimonial job titles only", page("Spendo", "Cartes de paiement et notes de frais.", nil, "Des cartes pour toute l'équipe.",
			scrape.Testimonial{Quote: "Clôture en deux jours.", Author: "A", Title: "Directrice administrative et financière"},
			scrape.Testimonial{Quote: "Plus de tickets perdus.", Author: "B", Title: "CFO, Batimo"}),
			"directions financières", "solution de gestion des dépenses", email.LevelInferred, ""},
		{"a careers block names the prospect's own hires, not its buyers", page("Paysoft — bulletins de paie", "", nil,
			"Bulletins de paie et DSN pour les PME.\nNous recrutons des commerciaux et des développeurs !"),
			"équipes RH", "logiciel de paie", email.LevelInferred, ""},
		{"no buyer at all: generic default and a note", page("Bakery", "", nil, "Pains et viennoiseries."),
			"équipes de vos clients", "solution B2B", email.LevelDefault, NotePersonaNotFound},
		{"no site: generic default, never the agency's persona", nil, "équipes de vos clients", "solution B2B", email.LevelDefault, NotePersonaNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := run(t, agents.Persona, contacts.Contact{CompanyName: "Prospect"}, tt.site, nil)
			if a.Values["target_persona"] != tt.persona || a.Values["product_category"] != tt.category {
				t.Errorf("got %q / %q, want %q / %q (%s)", a.Values["target_persona"], a.Values["product_category"], tt.persona, tt.category, a.Reasoning)
			}
			if a.FallbackLevel != tt.level {
				t.Errorf("level %d, want %d (%s)", a.FallbackLevel, tt.level, a.Reasoning)
			}
			if tt.note != "" && (len(a.Notes) != 1 || a.Notes[0].Code != tt.note || a.Notes[0].Points == 0) {
				t.Errorf("notes %+v, want a %s flag", a.Notes, tt.note)
			}
			for _, own := range testCtx.PersonaTitles {
				if strings.EqualFold(a.Values["target_persona"], own) {
					t.Errorf("the agency's own persona %q returned as the prospect's buyers", own)
				}
			}
		})
	}
}

func TestProductNoun(t *testing.T) {
	e, _ := New()
	fr, en := e.book("fr"), e.book("en")
	tests := []struct {
		pb   *phrasebook
		in   string
		want string
	}{
		{fr, "logiciel de paie", "logiciel de paie"},
		{fr, "CRM", "CRM"},
		{fr, "gestion des dépenses", "solution de gestion des dépenses"},
		{fr, "analyse de l'expérience digitale", "solution d'analyse de l'expérience digitale"},
		{fr, "Plateforme de webinars", "plateforme de webinars"},
		{fr, "cybersécurité", "solution de cybersécurité"},
		{en, "expense management", "expense management software"},
		{en, "CRM", "CRM"},
	}
	for _, tt := range tests {
		if got := tt.pb.productNoun(tt.in); got != tt.want {
			t.Errorf("productNoun(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCompetitor(t *testing.T) {
	tests := []struct {
		name    string
		company string
		site    *scrape.Site
		want    string
		level   int
	}{
		{"the page compares itself with an entry", "Newcall", page("Newcall — phone system", "", nil, "Calls for sales teams.\nUnlike Voxaly, Newcall has no setup fee."), "Voxaly", email.LevelSite},
		{"listed prospect: another entry of its category", "Voxaly SAS", page("Voxaly", "", nil, "Appels illimités."), "Ringo", email.LevelContext},
		{"an integration of another category is never the competitor", "Newcall", page("Newcall — cloud telephony", "", []string{"Integrations"}, "Integrations\nSyncs with Pipeflow."), "Voxaly", email.LevelInferred},
		{"nothing matches: default", "Bakery", page("Bakery", "", nil, "Pains et viennoiseries."), "l'acteur historique du marché", email.LevelDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := run(t, agents.Competitor, contacts.Contact{CompanyName: tt.company}, tt.site, nil)
			if a.Values["competitor_name"] != tt.want || a.FallbackLevel != tt.level {
				t.Errorf("got %q level %d, want %q level %d (%s)", a.Values["competitor_name"], a.FallbackLevel, tt.want, tt.level, a.Reasoning)
			}
		})
	}
}

func TestPatternValuesAreLevelFour(t *testing.T) {
	in := map[string]string{"target_persona": "équipes commerciales", "product_category": "logiciel de téléphonie cloud", "solve_specific_pain": "pipeline irrégulier",
		"specific_target_1": "x", "specific_target_2": "y"}
	s := run(t, agents.Signal, contacts.Contact{CompanyName: "X"}, page("X", "", nil, "Pour les PME."), in)
	if s.FallbackLevel != email.LevelDefault || s.Values["specific_target_1"] != "PME qui recrutent des commerciaux" {
		t.Errorf("signal level %d %q", s.FallbackLevel, s.Values["specific_target_1"])
	}
	sys := run(t, agents.System, contacts.Contact{CompanyName: "X"}, nil, in)
	if sys.FallbackLevel != email.LevelDefault || sys.Values["system_1"] != "une base d'équipes commerciales vérifiée chaque semaine" {
		t.Errorf("system level %d %q", sys.FallbackLevel, sys.Values["system_1"])
	}
}

func TestPainAndCaseStudyComeFromTheContext(t *testing.T) {
	site := page("R", "", nil, "Recrutez vos SDR et réduisez le turnover de vos équipes commerciales.")
	a := run(t, agents.Pain, contacts.Contact{CompanyName: "R", Industry: "saas rh"}, site, nil)
	if a.Values["solve_specific_pain"] != "recrutement de SDR qui échoue" || a.FallbackLevel != email.LevelContext {
		t.Errorf("pain %q level %d (%s)", a.Values["solve_specific_pain"], a.FallbackLevel, a.Reasoning)
	}
	cs := run(t, agents.CaseStudy, contacts.Contact{CompanyName: "R", Industry: "saas rh"}, site, nil)
	if want := "nos campagnes chez Talento (saas rh) ont donné : 42 rendez-vous qualifiés en 3 mois"; cs.Values["case_study_insight"] != want || cs.FallbackLevel != email.LevelContext {
		t.Errorf("case study %q level %d", cs.Values["case_study_insight"], cs.FallbackLevel)
	}
	anon := run(t, agents.CaseStudy, contacts.Contact{CompanyName: "T", Industry: "télécoms"}, nil, nil)
	if want := "nos campagnes pour un client du secteur télécoms ont donné : 18 démos par mois"; anon.Values["case_study_insight"] != want {
		t.Errorf("a case study without a client: %q, want %q", anon.Values["case_study_insight"], want)
	}
	if strings.Contains(anon.Values["case_study_insight"], "anonyme") || strings.Contains(anon.Values["case_study_insight"], "02-") {
		t.Errorf("a file name reached the value: %q", anon.Values["case_study_insight"])
	}
}

func TestDeterministic(t *testing.T) {
	site := page("Voxaly — phone system for sales teams", "", nil, "Calls.")
	first := run(t, agents.Persona, contacts.Contact{CompanyName: "Voxaly"}, site, nil)
	for range 20 {
		again := run(t, agents.Persona, contacts.Contact{CompanyName: "Voxaly"}, site, nil)
		if again.Values["target_persona"] != first.Values["target_persona"] || again.Reasoning != first.Reasoning {
			t.Fatalf("not deterministic: %v vs %v", again.Values, first.Values)
		}
	}
}
