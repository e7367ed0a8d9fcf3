package agents

import (
	"context"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
)

var testCtx = &clientctx.Context{
	PersonaTitles: []string{"Fondateurs de SaaS B2B"},
	Pains: []clientctx.Pain{
		{Title: "Pipeline irrégulier", Body: "Les rendez-vous arrivent par vagues, au gré des salons.", Impact: "des trimestres sous l'objectif"},
		{Title: "Recrutement de SDR qui échoue", Body: "Les SDR partent au bout de huit mois, recrutement coûteux, turnover des équipes commerciales.", Impact: "3 mois de salaire perdus par SDR parti"},
	},
	Competitors: []clientctx.Competitor{
		{Name: "Voxaly", Category: "logiciel de téléphonie cloud", Positioning: "standard téléphonique virtuel pour centres d'appels"},
		{Name: "Ringo", Category: "logiciel de téléphonie cloud", Positioning: "téléphonie pour équipes commerciales intégrée au CRM"},
		{Name: "Paysoft", Category: "logiciel de gestion de paie", Positioning: "paie et déclarations sociales pour PME"},
		{Name: "Payfacile", Category: "logiciel de gestion de paie", Positioning: "bulletins de paie automatisés pour experts-comptables"},
	},
	CaseStudies: []clientctx.CaseStudy{
		{File: "case_studies/talento.md", Client: "Talento", Industry: "saas rh", Result: "42 rendez-vous qualifiés en 3 mois", Body: "Recrutement, RH."},
		{File: "case_studies/callup.md", Client: "Callup", Industry: "télécoms", Result: "18 démos par mois", Body: "Téléphonie, centres d'appels."},
	},
}

func run(t *testing.T, spec Spec, c contacts.Contact, site *scrape.Site, inputs map[string]string) email.Answer {
	t.Helper()
	o, err := NewOffline()
	if err != nil {
		t.Fatal(err)
	}
	a, err := o.Answer(context.Background(), Request{Spec: spec, Contact: c, Site: site, Context: testCtx, Inputs: inputs, Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(spec, a, "fr"); err != nil {
		t.Fatalf("offline answer breaks the rules: %v\n%+v", err, a)
	}
	for _, e := range a.Evidence {
		if _, ok := site.Find(e.Quote); !ok {
			t.Errorf("evidence %q is not on the site", e.Quote)
		}
	}
	return a
}

func voxalySite() *scrape.Site {
	return &scrape.Site{Host: "voxaly.example", Pages: []scrape.Page{
		{URL: "https://voxaly.example/", Kind: "home", Description: "Voxaly, le logiciel de téléphonie cloud pour les équipes commerciales des PME.",
			Headings: []string{"La téléphonie cloud qui suit vos commerciaux"},
			Text:     "Voxaly est un logiciel de téléphonie cloud conçu pour les équipes commerciales des PME. Intégré à HubSpot et Salesforce."},
		{URL: "https://voxaly.example/clients.html", Kind: "customers",
			Text: "Ils nous font confiance. « Nos appels sont enfin tracés. » Claire Martin, Directrice commerciale chez Batimo",
			Quotes: []scrape.Testimonial{{Quote: "Nos appels sont enfin tracés.", Author: "Claire Martin", Title: "Directrice commerciale"},
				{Quote: "Un gain de temps.", Author: "Paul Roy", Title: "Directeur commercial"},
				{Quote: "Simple.", Author: "Léa Brun", Title: "Directrice commerciale"}}},
	}}
}

func TestOfflinePersona(t *testing.T) {
	tests := []struct {
		name               string
		site               *scrape.Site
		industry           string
		persona, category  string
		level              int
		minConf, maxConf   int
		wantEvidenceQuotes int
	}{
		{"testimonial titles and named category", voxalySite(), "télécoms", "directrices commerciales", "logiciel de téléphonie cloud", email.LevelSite, 4, 5, 2},
		{"'conçu pour' phrase and condensed H1", &scrape.Site{Pages: []scrape.Page{{URL: "https://a.example/",
			Headings: []string{"Plateforme de signature électronique"},
			Text:     "Plateforme de signature électronique. Pensée pour les directions juridiques des ETI, elle remplace le papier."}}},
			"legaltech", "directions juridiques des ETI", "plateforme de signature électronique", email.LevelSite, 4, 4, 2},
		{"segment only: inferred", &scrape.Site{Pages: []scrape.Page{{URL: "https://b.example/", Text: "Nous accompagnons 300 PME en France depuis 2015."}}},
			"conseil", "dirigeants de PME", "solution pour le secteur conseil", email.LevelInferred, 2, 2, 1},
		{"no site: context persona and industry", nil, "logistique", "fondateurs de SaaS B2B", "solution pour le secteur logistique", email.LevelContext, 2, 2, 0},
		{"no site, no industry: defaults", nil, "", "fondateurs de SaaS B2B", "solution B2B", email.LevelDefault, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := run(t, Persona, contacts.Contact{CompanyName: "X", Industry: tt.industry}, tt.site, nil)
			if a.Values["target_persona"] != tt.persona || a.Values["product_category"] != tt.category {
				t.Errorf("got %q / %q, want %q / %q", a.Values["target_persona"], a.Values["product_category"], tt.persona, tt.category)
			}
			if a.FallbackLevel != tt.level || a.Confidence < tt.minConf || a.Confidence > tt.maxConf || len(a.Evidence) != tt.wantEvidenceQuotes {
				t.Errorf("level %d conf %d evidence %d, want level %d conf %d-%d evidence %d (%s)", a.FallbackLevel, a.Confidence, len(a.Evidence),
					tt.level, tt.minConf, tt.maxConf, tt.wantEvidenceQuotes, a.Reasoning)
			}
		})
	}
}

func TestOfflineCompetitorIsNeverTheProspect(t *testing.T) {
	tests := []struct {
		name    string
		company string
		site    *scrape.Site
		want    string
		level   int
	}{
		{"prospect listed, category named on its site: inferred", "Voxaly", voxalySite(), "Ringo", email.LevelInferred},
		{"prospect listed, category not on its site: context", "Voxaly", &scrape.Site{Pages: []scrape.Page{{URL: "https://v.example/", Text: "Appelez mieux."}}}, "Ringo", email.LevelContext},
		{"prospect not listed: category by overlap", "Payroll Co", &scrape.Site{Pages: []scrape.Page{{URL: "https://p.example/", Text: "Vos bulletins de paie et déclarations sociales, automatisés pour les PME."}}}, "Paysoft", email.LevelInferred},
		{"competitor named on the site", "Newcomer", &scrape.Site{Pages: []scrape.Page{{URL: "https://n.example/", Text: "Une alternative à Payfacile, plus simple."}}}, "Payfacile", email.LevelSite},
		{"nothing matches: default", "Bakery", &scrape.Site{Pages: []scrape.Page{{URL: "https://k.example/", Text: "Pains et viennoiseries."}}}, "l'acteur historique du marché", email.LevelDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := run(t, Competitor, contacts.Contact{CompanyName: tt.company}, tt.site, nil)
			if a.Values["competitor_name"] != tt.want || a.FallbackLevel != tt.level {
				t.Errorf("got %q level %d, want %q level %d (%s)", a.Values["competitor_name"], a.FallbackLevel, tt.want, tt.level, a.Reasoning)
			}
			if strings.EqualFold(a.Values["competitor_name"], tt.company) {
				t.Errorf("competitor is the prospect itself")
			}
		})
	}
}

func TestOfflinePainAndCaseStudyByOverlap(t *testing.T) {
	site := &scrape.Site{Pages: []scrape.Page{{URL: "https://r.example/", Text: "Recrutez vos SDR et réduisez le turnover de vos équipes commerciales. Logiciel de recrutement."}}}
	a := run(t, Pain, contacts.Contact{CompanyName: "R", Industry: "saas rh"}, site, nil)
	if a.Values["solve_specific_pain"] != "recrutement de SDR qui échoue" || a.FallbackLevel != email.LevelInferred {
		t.Errorf("pain %q level %d (%s)", a.Values["solve_specific_pain"], a.FallbackLevel, a.Reasoning)
	}
	if a.Values["impact_measurable"] != "3 mois de salaire perdus par SDR parti" {
		t.Errorf("impact %q", a.Values["impact_measurable"])
	}
	cs := run(t, CaseStudy, contacts.Contact{CompanyName: "R", Industry: "saas rh"}, site, nil)
	if want := "nos campagnes chez Talento (saas rh) ont donné : 42 rendez-vous qualifiés en 3 mois"; cs.Values["case_study_insight"] != want || cs.Confidence != 4 {
		t.Errorf("case study %q conf %d", cs.Values["case_study_insight"], cs.Confidence)
	}
	other := run(t, CaseStudy, contacts.Contact{CompanyName: "T", Industry: "télécoms"}, nil, nil)
	if !strings.Contains(other.Values["case_study_insight"], "Callup") {
		t.Errorf("industry match ignored: %q", other.Values["case_study_insight"])
	}
}

func TestOfflineSignalsAndSystemsFitTheRules(t *testing.T) {
	long := map[string]string{
		"target_persona":      "directeurs administratifs et financiers des groupes",
		"product_category":    "logiciel de gestion de paie multi-entités",
		"specific_target_1":   "x",
		"specific_target_2":   "y",
		"solve_specific_pain": "des clôtures mensuelles qui prennent trop de temps chaque mois",
	}
	s := run(t, Signal, contacts.Contact{CompanyName: "X"}, voxalySite(), long)
	if !strings.HasPrefix(s.Values["specific_target_1"], "PME qui recrutent des directeurs") {
		t.Errorf("signal 1 %q", s.Values["specific_target_1"])
	}
	sys := run(t, System, contacts.Contact{CompanyName: "X"}, nil, long)
	if sys.Values["system_3"] == "" || !strings.HasPrefix(sys.Values["system_1"], "une base de directeurs administratifs") {
		t.Errorf("systems %v", sys.Values)
	}
}

func TestLongCategoryIsCondensedNotCut(t *testing.T) {
	site := &scrape.Site{Pages: []scrape.Page{{URL: "https://n.example/", Text: "Notafrais, le logiciel de gestion des notes de frais pour les PME."}}}
	saved := testCtx.Competitors
	testCtx.Competitors = append(saved, clientctx.Competitor{Name: "Ticketa", Category: "logiciel de gestion des notes de frais", Positioning: "notes de frais"})
	defer func() { testCtx.Competitors = saved }()
	a := run(t, Persona, contacts.Contact{CompanyName: "Notafrais"}, site, nil)
	if got := a.Values["product_category"]; got != "logiciel de notes de frais" {
		t.Errorf("product_category %q, want the 7-word category condensed to 5 words", got)
	}
}

func TestPluralRole(t *testing.T) {
	o, _ := NewOffline()
	pb := o.book("fr")
	tests := map[string]string{
		"Directrice commerciale":               "directrices commerciales",
		"Directeur administratif et financier": "directeurs administratifs et financiers",
		"Responsable des ressources humaines":  "responsables des ressources humaines",
		"DAF":                                  "DAF",
		"Head of Sales, Acme":                  "heads of Sales",
		"Directeur général":                    "directeurs généraux",
		"Credit manager":                       "credit managers",
		"Responsable formation":                "responsables formation",
		"Responsable RH":                       "responsables RH",
	}
	for in, want := range tests {
		if got := pluralRole(pb, "fr", in); got != want {
			t.Errorf("pluralRole(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOfflineIsDeterministic(t *testing.T) {
	first := run(t, Persona, contacts.Contact{CompanyName: "Voxaly", Industry: "télécoms"}, voxalySite(), nil)
	for range 20 {
		again := run(t, Persona, contacts.Contact{CompanyName: "Voxaly", Industry: "télécoms"}, voxalySite(), nil)
		if again.Values["target_persona"] != first.Values["target_persona"] || again.Reasoning != first.Reasoning {
			t.Fatalf("not deterministic: %v vs %v", again.Values, first.Values)
		}
	}
}
