package quality

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/email"
)

var update = flag.Bool("update", false, "rewrite golden files")

// readEmail reads a testdata email: "Subject: …", a blank line, the body.
func readEmail(t testing.TB, name string) (subject, body string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(data), "\n\n")
	if !ok || !strings.HasPrefix(head, "Subject: ") {
		t.Fatalf("%s: want a Subject line, a blank line, the body", name)
	}
	return strings.TrimPrefix(head, "Subject: "), body
}

// cleanVariables are the values that filled testdata/clean_fr.txt.
func cleanVariables() []Variable {
	return []Variable{
		{Name: "first_name", Value: "Sophie"},
		{Name: "company_name", Value: "Doctolib"},
		{Name: "target_persona", Value: "directeurs de la relation client", Agent: "persona", Confidence: 4, FallbackLevel: 1},
		{Name: "specific_target_1", Value: "recrute trois conseillers support à Nantes", Agent: "signal", Confidence: 5, FallbackLevel: 1},
		{Name: "case_study_insight", Value: "réduit leur délai de première réponse de 40 %", Agent: "case_study", Confidence: 4, FallbackLevel: 2},
		{Name: "system_1", Value: "Zendesk", Agent: "system", Confidence: 3, FallbackLevel: 2},
	}
}

func cleanInput(t testing.TB) Input {
	subject, body := readEmail(t, "clean_fr.txt")
	return Input{Subject: subject, Body: body, Language: "fr", Variables: cleanVariables()}
}

func TestCleanEmailScores100(t *testing.T) {
	for _, lang := range []string{"fr", ""} { // "" = detected
		in := cleanInput(t)
		in.Language = lang
		r := Score(in)
		if r.Score != 100 || len(r.Flags) != 0 {
			t.Errorf("language %q: clean email got %d %+v, want 100 and no flags", lang, r.Score, r.Flags)
		}
		if r.Flags == nil {
			t.Error("Flags is nil, want empty slice (JSON [])")
		}
	}
}

// replaceBody returns an edit replacing old (which must be in the fixture) with new in the body.
func replaceBody(old, new string) func(*Input) {
	return func(in *Input) {
		if !strings.Contains(in.Body, old) {
			panic("fixture lacks " + old)
		}
		in.Body = strings.Replace(in.Body, old, new, 1)
	}
}

func setVar(name string, set func(*Variable)) func(*Input) {
	return func(in *Input) {
		for i := range in.Variables {
			if in.Variables[i].Name == name {
				set(&in.Variables[i])
				return
			}
		}
		panic("no variable " + name)
	}
}

func TestRules(t *testing.T) {
	// Fixture sentences used as anchors for edits.
	const (
		greeting  = "Bonjour Sophie,"
		persona   = "des directeurs de la relation client"
		ask       = "pour voir si cela peut s'appliquer à votre équipe ?"
		closing   = "Je ne sais pas si c'est une priorité pour vous ce trimestre."
		offerLine = "Notre outil se branche sur Zendesk et Intercom"
	)
	type want struct {
		code     string
		points   int
		gate     bool
		contains []string // substrings of the message
	}
	tests := []struct {
		name  string
		edit  func(*Input)
		flags []want
	}{
		{"body too short", func(in *Input) { in.Body = "Bonjour Sophie, une question rapide ?" },
			[]want{{CodeWordCount, 20, false, []string{"5 words", "150-250"}}}},
		{"body too long", func(in *Input) { in.Body += strings.Repeat(" Une phrase de plus ici.", 15) },
			[]want{{CodeWordCount, 20, false, []string{"261 words", "150-250"}}}},
		{"custom word range", func(in *Input) { in.MinWords, in.MaxWords = 50, 120 },
			[]want{{CodeWordCount, 20, false, []string{"186 words", "50-120"}}}},
		{"unfilled double braces", replaceBody(greeting, "Bonjour {{first_name}},"),
			[]want{{CodeUnfilledVariable, 30, true, []string{"{{first_name}} in body"}}}},
		{"unfilled in subject", func(in *Input) { in.Subject = "Question pour {{ company_name }}" },
			[]want{{CodeUnfilledVariable, 30, true, []string{"{{ company_name }} in subject"}}}},
		{"stray braces", replaceBody(greeting, "Bonjour Sophie}},"),
			[]want{{CodeUnfilledVariable, 30, true, []string{`stray "{{" or "}}" in body`}}}},
		{"single braces", replaceBody(greeting, "Bonjour {first_name},"),
			[]want{{CodeUnfilledVariable, 30, true, []string{"{first_name}"}}}},
		{"bracket placeholders", replaceBody(greeting, "Bonjour [PRÉNOM], de la part de [Your Name] et [company_name],"),
			[]want{{CodeUnfilledVariable, 30, true, []string{"[PRÉNOM]", "[Your Name]", "[company_name]"}}}},
		{"N/A in text", replaceBody(persona, "des N/A"),
			[]want{{CodeUnfilledVariable, 30, true, []string{"N/A in body"}}}},
		{"empty and N/A variable values, once", func(in *Input) {
			setVar("first_name", func(v *Variable) { v.Value = "  " })(in)
			setVar("system_1", func(v *Variable) { v.Value = "n/a" })(in)
		}, []want{{CodeUnfilledVariable, 30, true, []string{"variable first_name is empty", `variable system_1 is "n/a"`}}}},
		{"markdown link and footnote are not placeholders", replaceBody(greeting, "Bonjour Sophie [1], voir [notre étude](https://kaleads.fr/etude),"), nil},
		{"fallback level 3", setVar("system_1", func(v *Variable) { v.FallbackLevel = 3 }),
			[]want{{CodeHighFallback, 5, false, []string{"system_1", "level 3", "client's context"}}}},
		{"fallback level 4 says generic", setVar("target_persona", func(v *Variable) { v.FallbackLevel = 4 }),
			[]want{{CodeHighFallback, 10, false, []string{"target_persona", "level 4", "generic default"}}}},
		{"low confidence", setVar("system_1", func(v *Variable) { v.Confidence = 2 }),
			[]want{{CodeLowConfidence, 5, false, []string{"system_1", "2/5"}}}},
		{"ungrounded evidence quoted and truncated", setVar("specific_target_1", func(v *Variable) {
			v.Ungrounded = []string{"Doctolib ouvre un nouveau centre de support à Nantes avec une équipe de trente personnes dès janvier prochain", "autre"}
		}), []want{{CodeUngroundedEvidence, 10, true, []string{"specific_target_1", `"Doctolib ouvre un nouveau centre`, "…", "(+1 more)"}}}},
		{"ungrounded evidence once per agent, naming its variables", func(in *Input) {
			quotes := []string{"pour les directeurs de la relation client", "logiciel de support"}
			setVar("target_persona", func(v *Variable) { v.Ungrounded = quotes })(in)
			in.Variables = append(in.Variables, Variable{Name: "product_category", Value: "logiciel de support", Agent: "persona",
				Confidence: 4, FallbackLevel: 1, Ungrounded: quotes})
		}, []want{{CodeUngroundedEvidence, 10, true, []string{"Variables target_persona, product_category cite", `"pour les directeurs`, "(+1 more)"}}}},
		{"ungrounded evidence of two agents, two flags", func(in *Input) {
			setVar("target_persona", func(v *Variable) { v.Ungrounded = []string{"a"} })(in)
			setVar("system_1", func(v *Variable) { v.Ungrounded = []string{"b"} })(in)
		}, []want{{CodeUngroundedEvidence, 10, true, []string{"Variable system_1 cites", `"b"`}}, {CodeUngroundedEvidence, 10, true, []string{"Variable target_persona cites", `"a"`}}}},
		{"markup in an agent value", setVar("target_persona", func(v *Variable) { v.Value = `directrices financières ">` }),
			[]want{{CodeMarkupInValue, 15, true, []string{"target_persona", `directrices financières`, `"\">"`}}}},
		{"markup in two values, one flag", func(in *Input) {
			setVar("system_1", func(v *Variable) { v.Value = "Zendesk&nbsp;Suite" })(in)
			setVar("specific_target_1", func(v *Variable) { v.Value = "- recrute à Nantes" })(in)
		}, []want{{CodeMarkupInValue, 15, true, []string{`specific_target_1 = "- recrute à Nantes" (leading "-")`, `system_1 = "Zendesk&nbsp;Suite" ("&nbsp;")`}}}},
		{"markup in a contact column is not an agent value", setVar("company_name", func(v *Variable) { v.Value = "Doctolib <b>" }), nil},
		{"contact first name too long", setVar("first_name", func(v *Variable) { v.Value = strings.Repeat("a", 10000) }),
			[]want{{CodeContactLength, 20, true, []string{"first_name is 10000 characters (at most 40)", `"aaa`}}}},
		{"contact names at their limits pass", func(in *Input) {
			setVar("first_name", func(v *Variable) { v.Value = strings.Repeat("é", 40) })(in)
			setVar("company_name", func(v *Variable) { v.Value = strings.Repeat("b", 80) })(in)
			in.Variables = append(in.Variables, Variable{Name: "industry", Value: strings.Repeat("c", 200)})
		}, nil},
		{"contact columns over their limits", func(in *Input) {
			setVar("company_name", func(v *Variable) { v.Value = strings.Repeat("b", 81) })(in)
			in.Variables = append(in.Variables, Variable{Name: "last_name", Value: strings.Repeat("d", 41)},
				Variable{Name: "industry", Value: strings.Repeat("c", 201)})
		}, []want{{CodeContactLength, 20, true, []string{"company_name is 81 characters (at most 80)", "last_name is 41 characters (at most 40)", "industry is 201 characters (at most 200)"}}}},
		{"agent value names the agency", func(in *Input) {
			in.ClientNames = []string{"Kaléads"}
			setVar("system_1", func(v *Variable) { v.Value = "les séquences de KALEADS" })(in)
		}, []want{{CodeNamesAgency, 20, true, []string{`system_1 = "les séquences de KALEADS" names "Kaléads"`}}}},
		{"agency name inside a longer word, or in a contact column, is fine", func(in *Input) {
			in.ClientNames = []string{"Zen", " ", ""}
			setVar("company_name", func(v *Variable) { v.Value = "Zen" })(in)
		}, nil},
		{"persona repeated from the client's context", func(in *Input) {
			in.ClientPhrases = []string{"Fondateur ou CEO", "Directeurs de la Relation  Client."}
		}, []want{{CodeCopiedFromClient, 15, false, []string{`target_persona = "directeurs de la relation client" repeats "Directeurs de la Relation  Client."`, "client's own context"}}}},
		{"persona copied from the client's context, cut to fit", func(in *Input) {
			in.ClientPhrases = []string{"Directeurs de la relation client d'un réseau de cliniques"}
		}, []want{{CodeCopiedFromClient, 15, false, []string{`target_persona = "directeurs de la relation client" repeats "Directeurs de la relation client d'un réseau`}}}},
		{"client phrase contained, a short start, or in another variable, is fine", func(in *Input) {
			in.ClientPhrases = []string{"directeurs", "Zendesk", "Directeurs de la relation client et chefs de projet de grands comptes industriels",
				"les directeurs de la relation client", "directeurs de la relation clientèle"}
		}, nil},
		{"title-cased role", replaceBody(persona, "des Directeurs de la Relation Client"),
			[]want{{CodeTitleCaseRole, 15, false, []string{`"Directeurs de la Relation Client"`}}}},
		{"title-cased role named with its variable", func(in *Input) {
			setVar("target_persona", func(v *Variable) { v.Value = "Managers" })(in)
			replaceBody(persona, "des Managers")(in)
		}, []want{{CodeTitleCaseRole, 15, false, []string{`"Managers" (in target_persona)`}}}},
		{"title-cased roles flagged once", func(in *Input) {
			replaceBody(persona, "des Directeurs Financiers")(in)
			replaceBody("Vos responsables qualité", "Vos VP Sales")(in)
		}, []want{{CodeTitleCaseRole, 15, false, []string{`"Directeurs Financiers"`, `"VP Sales"`}}}},
		{"jargon named with its variable", func(in *Input) {
			setVar("system_1", func(v *Variable) { v.Value = "Zendesk, leader du marché" })(in)
			replaceBody("Zendesk", "Zendesk, leader du marché,")(in)
		}, []want{{CodeJargon, 10, false, []string{`"leader" (in system_1)`}}}},
		{"jargon capped at 20", replaceBody(offerLine, "Notre outil innovant, disruptif et clé en main se branche sur Zendesk et Intercom"),
			[]want{{CodeJargon, 20, false, []string{`"innovant"`, `"disruptif"`, `"clé en main"`}}}},
		{"spam words", replaceBody(closing, "Essai gratuit et sans engagement."),
			[]want{{CodeSpamWords, 10, false, []string{`"gratuit"`, `"sans engagement"`}}}},
		{"spam capped at 15", replaceBody(closing, "Essai gratuit, sans engagement, garanti, cliquez ici, c'est urgent."),
			[]want{{CodeSpamWords, 15, false, []string{`"urgent"`}}}},
		{"contact column values are not jargon", func(in *Input) {
			setVar("company_name", func(v *Variable) { v.Value = "Leader Price" })(in)
			in.Body = strings.ReplaceAll(in.Body, "Doctolib", "Leader Price")
		}, nil},
		{"contact column masked as a whole word only", func(in *Input) {
			setVar("company_name", func(v *Variable) { v.Value = "ship" })(in)
			replaceBody(closing, "Votre leadership est connu.")(in)
		}, nil},
		{"empty subject", func(in *Input) { in.Subject = " " },
			[]want{{CodeSubject, 15, false, []string{"empty"}}}},
		{"long subject", func(in *Input) {
			in.Subject = "Une question rapide sur la façon dont votre équipe support gère la hausse"
		},
			[]want{{CodeSubject, 5, false, []string{"13 words"}}}},
		{"subject over 60 characters", func(in *Input) {
			in.Subject = "Questionnement approfondi concernant l'internationalisation support"
		}, []want{{CodeSubject, 5, false, []string{"67 characters"}}}},
		{"fake reply subject", func(in *Input) { in.Subject = "RE : votre équipe support" },
			[]want{{CodeSubject, 10, false, []string{`"RE :"`, "fake reply"}}}},
		{"french forward subject", func(in *Input) { in.Subject = "TR: votre équipe support" },
			[]want{{CodeSubject, 10, false, []string{`"TR:"`}}}},
		{"all caps subject", func(in *Input) { in.Subject = "VOTRE ÉQUIPE SUPPORT" },
			[]want{{CodeSubject, 10, false, []string{"ALL CAPS"}}}},
		{"acronym subject is not all caps", func(in *Input) { in.Subject = "CRM et SAV" }, nil},
		{"one link is fine", replaceBody(greeting, "Bonjour Sophie, (https://kaleads.fr/etude?id=1)"), nil},
		{"two links", replaceBody(greeting, "Bonjour Sophie, https://kaleads.fr et www.kaleads.fr/cas,"),
			[]want{{CodeLinks, 5, false, []string{"2 links"}}}},
		{"url shortener", replaceBody(greeting, "Bonjour Sophie, https://bit.ly/3xYz"),
			[]want{{CodeLinks, 10, false, []string{"bit.ly"}}}},
		{"no question", replaceBody(ask, "pour voir si cela peut s'appliquer à votre équipe."),
			[]want{{CodeCallToAction, 5, false, []string{"no question"}}}},
		{"question mark in URL is not a question", func(in *Input) {
			replaceBody(ask, "pour voir si cela peut s'appliquer à votre équipe.")(in)
			replaceBody(greeting, "Bonjour Sophie, https://kaleads.fr/?a=1")(in)
		}, []want{{CodeCallToAction, 5, false, []string{"no question"}}}},
		{"too many questions", replaceBody(closing, "Est-ce un sujet ? Une priorité ? Pour quand ?"),
			[]want{{CodeCallToAction, 5, false, []string{"4 question marks", "1 to 3"}}}},
		{"long sentence", replaceBody(closing, "Je ne sais pas si c'est une priorité pour vous ce trimestre, ni si votre équipe a déjà regardé ce type d'outil, ni même si le sujet relève de vous ou de quelqu'un d'autre dans l'organisation, mais je préfère poser la question."),
			[]want{{CodeLongSentence, 5, false, []string{"42 words", `"Je ne sais pas si`}}}},
		{"hard-wrapped line continues the sentence", replaceBody(closing, "Je ne sais pas si c'est une priorité pour vous ce trimestre, ni si votre équipe a déjà regardé ce type d'outil,\nni même si le sujet relève de vous ou de quelqu'un d'autre dans l'organisation, mais je préfère poser la question."),
			[]want{{CodeLongSentence, 5, false, []string{"42 words"}}}},
		{"extra flags deducted as given", func(in *Input) {
			in.Extra = []email.Flag{
				{Code: "prompt_injection", Points: 25, Message: "The prospect's site contains instructions to the model.", Gate: true},
				{Code: "negative", Points: -10, Message: "Negative points count as 0."},
			}
		}, []want{{"prompt_injection", 25, true, nil}, {"negative", 0, false, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cleanInput(t)
			tt.edit(&in)
			r := Score(in)
			if len(r.Flags) != len(tt.flags) {
				t.Fatalf("got flags %+v, want %d flags %+v", r.Flags, len(tt.flags), tt.flags)
			}
			total := 0
			for i, w := range tt.flags {
				f := r.Flags[i]
				if f.Code != w.code || f.Points != w.points || f.Gate != w.gate {
					t.Errorf("flag %d = %+v, want code %s points %d gate %v", i, f, w.code, w.points, w.gate)
				}
				for _, s := range w.contains {
					if !strings.Contains(f.Message, s) {
						t.Errorf("flag %s message %q lacks %q", f.Code, f.Message, s)
					}
				}
				total += w.points
			}
			if r.Score != 100-total {
				t.Errorf("score = %d, want %d", r.Score, 100-total)
			}
		})
	}
}

func TestMarkupIn(t *testing.T) {
	tests := []struct {
		value string
		want  []string // nil: clean
	}{
		{"directeurs financiers de PME", nil},
		{"logiciel de paie", nil},
		{"+30 % de rendez-vous", nil},
		{"-20 % de délai", nil},
		{"développeurs C++", nil},
		{"C#", nil},
		{".NET", nil},
		{"Acme Inc.", nil},
		{"S.A.", nil},
		{"HubSpot (CRM)", nil},
		{"« clé » et “prêt”", nil},
		{"l'équipe R&D", nil},
		{"Booking.com", nil},
		{"3 000 € par mois", nil},
		{"une question ?", nil},
		{"  espaces autour  ", nil},
		{`directrices financières ">`, []string{`"\">"`}},
		{"<b>paie</b>", []string{`"<b>"`, `"</b>"`}},
		{"CA > 1 M€", []string{`">"`}},
		{"paie&nbsp;PME", []string{`"&nbsp;"`}},
		{"R&amp;D et &#39;x&#x27;", []string{`"&amp;"`, `"&#39;"`, `"&#x27;"`}},
		{`logiciel "paie`, []string{`unbalanced '"'`}},
		{"« paie", []string{`unbalanced "«"`}},
		{"outil (CRM", []string{`unbalanced "("`}},
		{"CRM) et ERP", []string{`unbalanced ")"`}},
		{"liste [PME", []string{`unbalanced "["`}},
		{"{segment} de PME", []string{`"{"`, `"}"`}},
		{"**paie**", []string{`"**"`}},
		{"`code`", []string{"\"`\""}},
		{"suite | Pricing | Free trial", []string{`"|"`}},
		{"paie • RH", []string{`"•"`}},
		{"ligne\nautre", []string{"line break"}},
		{"- gestion de paie", []string{`leading "-"`}},
		{"..., gestion", []string{`leading "...,"`}},
		{"HubSpot,", []string{`trailing ","`}},
		{"logiciel de paie ...", []string{`trailing "..."`}},
		{"paie - .", []string{`trailing "- ."`}},
		{"voir https://acme.example/paie", []string{`URL "https://acme.example/paie"`}},
		{"www.acme.example", []string{`URL "www.acme.example"`}},
	}
	for _, tt := range tests {
		got := markupIn(tt.value)
		if tt.want == nil {
			if len(got) > 0 {
				t.Errorf("markupIn(%q) = %q, want nothing", tt.value, got)
			}
			continue
		}
		joined := strings.Join(got, ", ")
		for _, w := range tt.want {
			if !strings.Contains(joined, w) {
				t.Errorf("markupIn(%q) = %q, want %s", tt.value, got, w)
			}
		}
	}
}

func TestCombinationsAndOrder(t *testing.T) {
	in := cleanInput(t)
	in.Body = strings.Replace(in.Body, "Bonjour Sophie,", "Bonjour {{first_name}},", 1)
	in.Body = strings.Replace(in.Body, "des directeurs de la relation client", "des Directeurs Financiers", 1)
	in.Subject = "RE: une offre innovante"
	for i := range in.Variables {
		switch in.Variables[i].Name {
		case "target_persona":
			in.Variables[i].FallbackLevel = 4
			in.Variables[i].Confidence = 1
		case "system_1":
			in.Variables[i].FallbackLevel = 3
		}
	}
	r := Score(in)
	var got []string
	for _, f := range r.Flags {
		got = append(got, f.Code)
	}
	// points desc, then code, then message: target_persona's level 4 (10)
	// before system_1's level 3 (5).
	want := []string{CodeUnfilledVariable, CodeTitleCaseRole, CodeHighFallback, CodeJargon, CodeSubject, CodeHighFallback, CodeLowConfidence}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("flag order = %v, want %v", got, want)
	}
	if !strings.Contains(r.Flags[2].Message, "target_persona") || !strings.Contains(r.Flags[5].Message, "system_1") {
		t.Errorf("high_fallback flags should name target_persona then system_1: %+v %+v", r.Flags[2], r.Flags[5])
	}
	if r.Score != 100-30-15-10-10-10-5-5 {
		t.Errorf("score = %d, want 15", r.Score)
	}
}

func TestClamp(t *testing.T) {
	in := Input{
		Subject: "FWD: GRATUIT",
		Body:    "{{x}} Nos Directeurs Financiers innovants, leaders et disruptifs : gratuit, urgent, garanti, promo. https://bit.ly/a https://t.co/b",
		Variables: []Variable{
			{Name: "a", Agent: "p", Confidence: 1, FallbackLevel: 4, Ungrounded: []string{"x"}},
			{Name: "b", Agent: "p", Confidence: 1, FallbackLevel: 4, Ungrounded: []string{"y"}},
		},
	}
	r := Score(in)
	if r.Score != 0 {
		t.Errorf("score = %d, want 0 (clamped)", r.Score)
	}
	sum := 0
	for _, f := range r.Flags {
		sum += f.Points
	}
	if sum <= 100 {
		t.Errorf("sum of points = %d, want > 100 for this email", sum)
	}
}

func TestHugeExtraPointsClampToZero(t *testing.T) {
	in := cleanInput(t)
	in.Extra = []email.Flag{{Code: "a", Points: math.MaxInt}, {Code: "b", Points: math.MaxInt}}
	if r := Score(in); r.Score != 0 {
		t.Errorf("score = %d, want 0", r.Score)
	}
}

func TestAutoApprovable(t *testing.T) {
	tests := []struct {
		name string
		r    email.Report
		want bool
	}{
		{"above threshold", email.Report{Score: 90, Flags: []email.Flag{{Code: CodeLinks, Points: 10}}}, true},
		{"at threshold", email.Report{Score: 85}, true},
		{"below threshold", email.Report{Score: 84}, false},
		{"gate blocks a high score", email.Report{Score: 95, Flags: []email.Flag{{Code: CodeUngroundedEvidence, Points: 5, Gate: true}}}, false},
	}
	for _, tt := range tests {
		if got := AutoApprovable(tt.r, 85); got != tt.want {
			t.Errorf("%s: AutoApprovable = %v, want %v", tt.name, got, tt.want)
		}
	}
	// An unfilled variable on an otherwise perfect email is never approved.
	in := cleanInput(t)
	in.Variables[0].Value = ""
	if r := Score(in); AutoApprovable(r, 0) {
		t.Errorf("email with an empty first_name auto-approved: %+v", r)
	}
}

// TestGolden scores a realistic bad email and compares the whole report,
// messages included, with testdata/messy_fr.golden.json (-update rewrites it).
func TestGolden(t *testing.T) {
	subject, body := readEmail(t, "messy_fr.txt")
	in := Input{Subject: subject, Body: body, Variables: []Variable{
		{Name: "first_name", Value: "Marc"},
		{Name: "company_name", Value: "Batiweb"},
		{Name: "target_persona", Value: "Directeurs Commerciaux", Agent: "persona", Confidence: 2, FallbackLevel: 3},
		{Name: "product_category", Value: "plateforme innovante de gestion de chantier", Agent: "persona", Confidence: 4, FallbackLevel: 1},
		{Name: "competitor_name", Value: "", Agent: "competitor", Confidence: 1, FallbackLevel: 4},
		{Name: "case_study_insight", Value: "ont doublé leur pipeline en 2 mois", Agent: "case_study", Confidence: 3, FallbackLevel: 2,
			Ungrounded: []string{"Batiweb a doublé son pipeline commercial en deux mois grâce à Kaleads"}},
	}}
	got, err := json.MarshalIndent(Score(in), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "messy_fr.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("report differs from %s (run with -update after checking):\n%s", path, got)
	}
}

func FuzzScore(f *testing.F) {
	subject, body := readEmail(f, "clean_fr.txt")
	f.Add(subject, body, "fr", 0, 0, 3, 4, "Zendesk")
	f.Add("RE: {{x}}", "Aux Directeurs Financiers ? https://bit.ly/x [NOM] N/A", "", 10, 5, 1, 9, "")
	f.Add("", "", "xx", -1, -5, -3, -2, "n/a")
	f.Add("x", "y", "en", 0, 0, 3, 1, `<b>" (&nbsp; …, https://a.example`)
	f.Fuzz(func(t *testing.T, subject, body, lang string, minW, maxW, conf, level int, value string) {
		r := Score(Input{
			Subject: subject, Body: body, Language: lang, MinWords: minW, MaxWords: maxW,
			Variables: []Variable{
				{Name: "v", Value: value, Agent: "a", Confidence: conf, FallbackLevel: level, Ungrounded: []string{value}},
				{Name: "company_name", Value: value},
			},
			Extra:         []email.Flag{{Code: "extra", Points: conf % 200}},
			ClientNames:   []string{value, lang},
			ClientPhrases: []string{value},
		})
		if r.Score < 0 || r.Score > 100 {
			t.Fatalf("score %d out of range", r.Score)
		}
		sum := 0
		for _, fl := range r.Flags {
			if fl.Points < 0 || fl.Code == "" {
				t.Fatalf("bad flag %+v", fl)
			}
			sum += fl.Points
		}
		if sum < 100-r.Score {
			t.Fatalf("points %d < 100 - score %d", sum, r.Score)
		}
	})
}

func BenchmarkScore(b *testing.B) {
	in := cleanInput(b)
	in.Body += " Une ligne de plus pour arriver à deux cents mots environ dans ce message."
	in.Language = ""
	b.ReportAllocs()
	for b.Loop() {
		Score(in)
	}
}
