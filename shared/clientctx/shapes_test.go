package clientctx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Case studies as people write them: front matter, free markdown in French
// or English, bold or plain labels, ":" or " :", values on the label's line
// or in the bullets or paragraph that follow. No value ever comes from the
// file name.
func TestCaseStudyShapes(t *testing.T) {
	tests := []struct {
		file string
		want CaseStudy // File and Body are not compared
	}{
		{"fr_bold_bullets.md", CaseStudy{Title: "Revuo ouvre la France sans recruter de SDR",
			Client: "Revuo", ClientAbout: "éditeur allemand d'un logiciel d'entretiens annuels", Industry: "saas rh",
			Problem:  "une country manager seule à Paris, aucune notoriété en France",
			Solution: "ciblage de 900 entreprises ; séquences réécrites en français",
			Result:   "38 rendez-vous avec des DRH en 3 mois, 9 opportunités", Results: []string{"38 rendez-vous avec des DRH en 3 mois, 9 opportunités"}}},
		// A long result sentence: the headline is its first clause with a figure.
		{"fr_long_result.md", CaseStudy{Title: "Résultats chez Talento", Client: "Talento",
			Result:  "En 8 semaines, le taux de réponse est passé de 1,4 % à 6,8 %",
			Results: []string{"En 8 semaines, le taux de réponse est passé de 1,4 % à 6,8 %, le bounce est descendu sous 1 %, et l'équipe a obtenu 27 démonstrations"}}},
		{"fr_bold_paragraphs.md", CaseStudy{Title: "Vulnara : des comptes stratégiques enfin adressés",
			Client: "Vulnara", ClientAbout: "éditeur d'une plateforme de gestion des vulnérabilités", Industry: "cybersécurité",
			Problem: "les RSSI ne répondaient pas aux emails génériques",
			Result:  "22 rendez-vous avec des RSSI en 4 mois", Results: []string{"22 rendez-vous avec des RSSI en 4 mois. Un cycle de vente raccourci de six semaines"}}},
		{"fr_plain_result_bullets.md", CaseStudy{Title: "Étude de cas — Payflow", Client: "Payflow", Industry: "fintech",
			Problem: "Le pipeline dépendait des salons et de deux partenaires",
			Result:  "420 000 € de pipeline en 5 mois", Results: []string{"420 000 € de pipeline en 5 mois", "31 rendez-vous tenus avec des DAF", "2 contrats ETI signés"}}},
		{"fr_bold_colon_inside.md", CaseStudy{Client: "Acme Logistique", ClientAbout: "transport frigorifique", Industry: "logistique",
			Result: "12 démos en 6 semaines", Results: []string{"12 démos en 6 semaines", "taux de réponse de 7 %"}}},
		{"en_plain.md", CaseStudy{Title: "How Stackly filled its AEs' calendars", Client: "Stackly", Industry: "data infrastructure",
			Problem: "Account executives spent half their week prospecting",
			Result:  "61 meetings in one quarter, 18 opportunities", Results: []string{"61 meetings in one quarter, 18 opportunities"}}},
		{"en_headings_prose.md", CaseStudy{Title: "Northwind case study", Client: "Northwind Traders", ClientAbout: "a wholesale marketplace",
			Problem: "Outbound had never been tried and inbound had plateaued",
			Result:  "Northwind booked 40 meetings in 10 weeks", Results: []string{"Northwind booked 40 meetings in 10 weeks. Two enterprise deals followed"}}},
		{"en_bold_period.md", CaseStudy{Title: "A payroll platform opens the UK", Background: "The team sold to French SMBs only",
			Solution: "Two sequences for finance directors", Result: "25 meetings in 2 months, 4 deals", Results: []string{"25 meetings in 2 months, 4 deals"}}},
		// No client line: Client stays empty (agents then phrase without a name).
		{"no_client.md", CaseStudy{Title: "Un éditeur de logiciel RH ouvre la France", Industry: "saas rh",
			Result: "38 rendez-vous avec des DRH en 3 mois", Results: []string{"38 rendez-vous avec des DRH en 3 mois"}}},
		// A client line that describes instead of naming gives no name.
		{"anonymous_client.md", CaseStudy{Title: "Ouvrir un nouveau segment", ClientAbout: "un éditeur allemand de logiciel RH",
			Result: "14 rendez-vous en 6 semaines", Results: []string{"14 rendez-vous en 6 semaines"}}},
		// A slug written as the title is no more a value than the file name.
		{"prose_only.md", CaseStudy{}},
		// Front matter wins; the text fills what it does not give.
		{"front_matter_and_text.md", CaseStudy{Title: "Appelys : 54 rendez-vous qualifiés", Client: "Appelys", Industry: "téléphonie cloud",
			Problem: "les appels manqués le samedi",
			Result:  "54 rendez-vous qualifiés en 4 mois", Results: []string{"54 rendez-vous qualifiés en 4 mois", "5 réseaux signés"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "case_studies", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			name := "case_studies/" + tt.file
			got, err := parseCaseStudy(name, b)
			if err != nil {
				t.Fatal(err)
			}
			if got.File != name || got.Body == "" {
				t.Errorf("File %q, Body %q", got.File, got.Body)
			}
			got.File, got.Body = "", ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			base := strings.TrimSuffix(tt.file, ".md")
			for _, v := range []string{got.Client, got.Title, got.Industry, got.Result} {
				if v != "" && (strings.Contains(v, base) || slugRe.MatchString(v)) {
					t.Errorf("value %q comes from a file name or slug", v)
				}
			}
		})
	}
}

func readShape(t *testing.T, name string) []mdLine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "shapes", name))
	if err != nil {
		t.Fatal(err)
	}
	return bodyLines(strings.TrimSpace(string(b)))
}

func TestPersonaShapes(t *testing.T) {
	tests := []struct {
		file   string
		titles []string
		first  []string // job-title variants of the first persona
		body   string   // a substring of the first persona's body
	}{
		{"personas_h3.md", []string{"Directeur administratif et financier", "Responsable RH"}, []string{"DAF", "CFO", "directeur financier"}, "Titres : DAF"},
		{"personas_bold.md", []string{"Directeur commercial", "Fondatrice de SaaS"}, []string{"head of sales", "VP Sales"}, "Il gère 5 à 30 commerciaux."},
		{"personas_list.md", []string{"Head of Growth", "CEO de scale-up", "Responsable des opérations"}, nil, "pilote l'inbound et le coût par lead."},
		{"personas_labels.md", []string{"Office manager", "Directrice juridique"}, nil, "Contexte : gère les achats"},
		{"personas_inner_headings.md", []string{"DAF de PME industrielle"}, nil, "Pilote la trésorerie."},
		{"personas_prose.md", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ps := parsePersonas(readShape(t, tt.file))
			var titles []string
			for _, p := range ps {
				titles = append(titles, p.Title)
			}
			if !reflect.DeepEqual(titles, tt.titles) {
				t.Fatalf("titles %q, want %q", titles, tt.titles)
			}
			if len(ps) == 0 {
				return
			}
			if !reflect.DeepEqual(ps[0].Titles, tt.first) || !strings.Contains(ps[0].Body, tt.body) || strings.ContainsAny(ps[0].Body, "*#") {
				t.Errorf("first persona %+v; want variants %q and a body containing %q without markdown", ps[0], tt.first, tt.body)
			}
		})
	}
}

func TestPainShapes(t *testing.T) {
	tests := []struct {
		file  string
		pains []Pain // Line is not compared
	}{
		{"pains_list.md", []Pain{
			{Title: "Pipeline irrégulier", Body: "les rendez-vous arrivent par vagues.", Impact: "40 % d'écart d'un mois sur l'autre"},
			{Title: "SDR qui partent", Body: "chaque départ remet le compteur à zéro", Impact: "3 mois de salaire"},
			{Title: "Taux de réponse sous 2 %"},
		}},
		{"pains_h3_labels.md", []Pain{
			{Title: "Listes périmées", Body: "Symptôme : un taux de bounce de 9 %.", Impact: "domaine en liste noire; 3 semaines d'envois bloqués"},
			{Title: "Pas de méthode de test", Body: "L'équipe décide à l'intuition.", Impact: "deux trimestres perdus"},
			{Title: "Coût élevé", Body: "Chaque rendez-vous coûte 400 €."}, // a title starting with a label word
		}},
		{"pains_labels.md", []Pain{
			{Title: "Délivrabilité dégradée", Body: "Description : les emails finissent en spam.", Impact: "taux de bounce supérieur à 8 %"},
			{Title: "Nouveau marché impossible à tester", Impact: "ouvertures repoussées de deux trimestres"},
		}},
		{"pains_en_bold.md", []Pain{
			{Title: "Reps prospect instead of selling", Body: "Account executives spend mornings finding contacts.", Impact: "30 to 40% of selling time lost"},
			{Title: "High bounce rate", Body: "Bought lists are a year old."},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := parsePains(readShape(t, tt.file))
			for i := range got {
				if got[i].Line == 0 {
					t.Errorf("pain %q has no line", got[i].Title)
				}
				got[i].Line = 0
			}
			if !reflect.DeepEqual(got, tt.pains) {
				t.Errorf("got  %+v\nwant %+v", got, tt.pains)
			}
		})
	}
}

func TestAgency(t *testing.T) {
	tests := []struct {
		name, pci, personas, want string
	}{
		{"title, named again in the text", "# Profil Client Idéal (PCI) de Prospectia\n\nProspectia (Lyon, 14 personnes) construit la prospection.", "", "Prospectia"},
		{"title, named again in personas.md", "# ICP of Northbeam\n\nB2B SaaS, 20-200 people.", "# Personas Northbeam sells to\n\n## CFO", "Northbeam"},
		{"name first in the title", "# Signalis — PCI\n\nSignalis conçoit la prospection sortante.", "", "Signalis"},
		{"bold label", "# ICP\n\n**Agency**: Northbeam Outbound\n\nB2B SaaS.", "", "Northbeam Outbound"},
		{"plain label", "# PCI\n\nAgence : Prospectia\n", "", "Prospectia"},
		{"front matter", "---\nagency: Signalis\n---\n# PCI\nSaaS B2B.", "", "Signalis"},
		{"title only, never used again", "# PCI de Acme\n\nSaaS B2B de 10 à 50 salariés.", "", ""},
		{"generic title", "# Profil client idéal\n\nSaaS B2B de 10 à 50 salariés.", "", ""},
		{"lower-case phrase", "# PCI de nos clients\n\nnos clients sont des PME.", "", ""},
		{"no heading", "SaaS B2B de 10 à 50 salariés.", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findAgency(tt.pci, tt.personas, ""); got != tt.want {
				t.Errorf("agency %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOwnPhrase(t *testing.T) {
	c, err := Load(context.Background(), Dir("../../examples/prospectia"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientName != "Prospectia" {
		t.Fatalf("agency %q", c.ClientName)
	}
	tests := []struct {
		value, kind string
	}{
		{"les équipes de Prospectia", OwnAgency},
		{"PROSPECTIA", OwnAgency},
		{"directeur commercial ou head of sales", OwnPersona},
		{"Directeur Commercial ou Head of Sales.", OwnPersona},
		{"les fondateur ou ceo d'un saas b2b de 10 a 50 salaries pressés", OwnPersona},
		{"VP sales", OwnPersonaTitle},
		{"SDR qui partent au bout de 8 mois", OwnPain},
		{"logiciel de téléphonie cloud", OwnCategory},
		{"directrices financières de PME industrielles", ""},
		{"prospection", ""},
		{"", ""},
	}
	for _, tt := range tests {
		m, ok := c.OwnPhrase(tt.value)
		if ok != (tt.kind != "") || m.Kind != tt.kind {
			t.Errorf("OwnPhrase(%q) = %+v, %v; want kind %q", tt.value, m, ok, tt.kind)
		}
	}
	if c.NamesAgency("Prospectiaz") || !c.NamesAgency("chez prospectia,") {
		t.Error("NamesAgency must match whole words, ignoring case")
	}
}

// The example client folders load with every case study's client read from
// the files, never from a file name.
func TestLoadExamples(t *testing.T) {
	tests := []struct {
		dir      string
		agency   string
		clients  []string
		personas int
		pains    int
	}{
		{"../../examples/eval/client", "Signalis", []string{"Appelys", "Tresoflow", "Revuo", "Vulnara"}, 5, 5},
		{"../../examples/prospectia", "Prospectia", []string{"Appelia", "Onboardia", "Transmodal", "Trésorio"}, 4, 6},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			c, err := Load(context.Background(), Dir(tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			var clients []string
			for _, cs := range c.CaseStudies {
				clients = append(clients, cs.Client)
				if cs.Industry == "" || cs.Result == "" {
					t.Errorf("%s: industry %q, result %q", cs.File, cs.Industry, cs.Result)
				}
				base := strings.TrimSuffix(filepath.Base(cs.File), ".md")
				for _, s := range c.Sections() {
					if strings.Contains(s.Body, "### "+base) {
						t.Errorf("prompt section names the file %s", base)
					}
				}
			}
			if !reflect.DeepEqual(clients, tt.clients) || c.ClientName != tt.agency || len(c.PersonaList) != tt.personas || len(c.PersonaTitles) != tt.personas || len(c.Pains) != tt.pains {
				t.Errorf("clients %q, agency %q, %d personas, %d pains", clients, c.ClientName, len(c.PersonaList), len(c.Pains))
			}
			for _, p := range c.Pains {
				if p.Impact == "" || strings.Contains(strings.ToLower(p.Body), "impact") {
					t.Errorf("pain %q: impact %q, body %q", p.Title, p.Impact, p.Body)
				}
			}
		})
	}
}

// A case study that names no client is rendered for prompts without a
// name, and never with its file name.
func TestSectionsWithoutClient(t *testing.T) {
	dir := copyGood(t, map[string]string{"case_studies/03-logiciel-rh.md": "# Un éditeur RH ouvre la France\n\n**Résultats** : 38 rendez-vous en 3 mois.\n"})
	c, err := Load(context.Background(), Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	cases := c.Sections()[4].Body
	if strings.Contains(cases, "03-logiciel-rh") || strings.Contains(cases, "b_plain") || !strings.Contains(cases, "### Client non nommé") || !strings.Contains(cases, "Résultat : 38 rendez-vous en 3 mois") {
		t.Errorf("case studies section:\n%s", cases)
	}
	var fe *FileError
	if _, err := Load(context.Background(), Dir(copyGood(t, map[string]string{"case_studies/x.md": "---\nclient: A\n"}))); !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || fe.File != "case_studies/x.md" || fe.Line != 1 {
		t.Errorf("unclosed front matter: %v", err)
	}
}
