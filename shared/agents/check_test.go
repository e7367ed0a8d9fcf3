package agents

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/scrape"
)

// checkCtx is a client context with three categories; the prospects of the
// tests below are listed in it under legal names.
var checkCtx = &clientctx.Context{Competitors: []clientctx.Competitor{
	{Name: "Voxaly SAS", Category: "logiciel de téléphonie cloud", Positioning: "téléphonie cloud et standard virtuel pour centres d'appels"},
	{Name: "Ringo", Category: "logiciel de téléphonie cloud", Positioning: "téléphonie pour équipes commerciales intégrée au CRM"},
	{Name: "Callio", Category: "logiciel de téléphonie cloud", Positioning: "appels et SMS pour PME"},
	{Name: "Pipeflow", Category: "CRM", Positioning: "CRM et pipeline commercial pour PME"},
	{Name: "Dealbook", Category: "CRM", Positioning: "suivi des affaires et devis"},
	{Name: "Paysoft", Category: "logiciel de paie", Positioning: "bulletins de paie et DSN pour PME"},
	{Name: "Payfacile", Category: "logiciel de paie", Positioning: "paie automatisée pour experts-comptables"},
}}

// voxaly is an English page of a telephony company that integrates with
// a CRM (Pipeflow), compares itself with Ringo, and is listed as
// "Voxaly SAS".
func voxaly() (contacts.Contact, *scrape.Site) {
	return contacts.Contact{CompanyName: "Voxaly", Website: "https://www.voxaly.example"},
		&scrape.Site{Host: "www.voxaly.example", Pages: []scrape.Page{{
			URL: "https://www.voxaly.example/", Kind: "home",
			Title:       "Voxaly — the cloud phone system for sales teams",
			Description: "Calls, SMS and voicemail in one app, for sales and support teams.",
			Headings:    []string{"Make every call count", "Integrations", "Voxaly vs Ringo"},
			Text: "Make every call count\nVoxaly routes inbound calls to the right rep.\nIntegrations\n" +
				"Pipeflow and Slack, synced in real time.\nVoxaly vs Ringo\nUnlike Ringo, Voxaly bills per minute.\n© 2026 Voxaly SAS",
		}}}
}

func TestClassify(t *testing.T) {
	c, site := voxaly()
	hidden := &clientctx.Context{Competitors: checkCtx.Competitors[1:]} // Voxaly not listed
	tests := []struct {
		name     string
		cctx     *clientctx.Context
		contact  contacts.Contact
		site     *scrape.Site
		category string
		listed   bool
		minConf  int
	}{
		{"listed under a legal name: the listing decides", checkCtx, c, site, "logiciel de téléphonie cloud", true, 5},
		{"not listed: an English page against French categories", hidden, c, site, "logiciel de téléphonie cloud", false, 3},
		{"payroll page in French", hidden, contacts.Contact{CompanyName: "Bulletin"}, &scrape.Site{Pages: []scrape.Page{{Kind: "home",
			Title: "Bulletin — la paie des PME sans stress", Text: "Vos fiches de paie et la DSN chaque mois, sans ressaisie."}}}, "logiciel de paie", false, 3},
		{"industry alone", hidden, contacts.Contact{CompanyName: "X", Industry: "CRM"}, nil, "CRM", false, 2},
		{"nothing in common", hidden, contacts.Contact{CompanyName: "Boulangerie"}, &scrape.Site{Pages: []scrape.Page{{Kind: "home", Text: "Pains et viennoiseries."}}}, "", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tt.cctx, tt.contact, tt.site)
			if got.Category != tt.category || got.Listed != tt.listed || got.Confidence() < tt.minConf {
				t.Errorf("got %q listed=%v conf %d (%s), want %q listed=%v conf ≥ %d", got.Category, got.Listed, got.Confidence(), got.Why(), tt.category, tt.listed, tt.minConf)
			}
			if got.Evidence.Quote != "" {
				if _, ok := tt.site.Find(got.Evidence.Quote); !ok {
					t.Errorf("evidence %q is not on the site", got.Evidence.Quote)
				}
			}
		})
	}
}

func TestMentioned(t *testing.T) {
	_, site := voxaly()
	tests := []struct {
		name string
		want MentionKind
	}{
		{"Ringo", MentionedInComparison},
		{"Pipeflow", MentionedAsRelation}, // in the Integrations section
		{"Slack", MentionedAsRelation},
		{"Voxaly", MentionedInComparison}, // the comparison line names it too
		{"Dealbook", NotMentioned},
		{"voxaly", NotMentioned}, // names are case-sensitive
	}
	for _, tt := range tests {
		if got := Mentioned(site, tt.name); got.Kind != tt.want {
			t.Errorf("Mentioned(%q) = %d (%q), want %d", tt.name, got.Kind, got.Quote, tt.want)
		}
	}
}

func TestIsProspect(t *testing.T) {
	c := contacts.Contact{CompanyName: "Salario", Website: "salario.fr"}
	for name, want := range map[string]bool{
		"Salario": true, "Salario SAS": true, "SALARIO S.A.S.": true, "salario, Inc.": true, "Salario (Groupe X)": true,
		"Salarium": false, "": false, "SAS": false,
	} {
		if got := IsProspect(name, c, nil); got != want {
			t.Errorf("IsProspect(%q) = %v, want %v", name, got, want)
		}
	}
	if !IsProspect("Olinda", contacts.Contact{CompanyName: "Qonto", Website: "https://olinda.fr"}, nil) {
		t.Error("a name equal to the website's host is the prospect")
	}
}

func TestCheckCompetitor(t *testing.T) {
	c, site := voxaly()
	req := Request{Spec: Competitor, Contact: c, Site: site, Context: checkCtx, Language: "fr"}
	tests := []struct {
		name     string
		in       string
		level    int
		want     string
		wantNote string
	}{
		{"the prospect itself under its legal name", "Voxaly SAS", email.LevelInferred, "Ringo", NoteCompetitorReplaced},
		{"an integration named on the page", "Pipeflow", email.LevelInferred, "Ringo", NoteCompetitorReplaced},
		{"another category of competitors.json", "Paysoft", email.LevelInferred, "Ringo", NoteCompetitorReplaced},
		{"a name on the page outside a comparison", "Slack", email.LevelInferred, "Ringo", NoteCompetitorReplaced},
		{"a good answer is kept", "Callio", email.LevelInferred, "Callio", ""},
		{"a name from the model's knowledge is kept", "Aircall", email.LevelInferred, "Aircall", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := email.Answer{Agent: "competitor", Engine: "llm", FallbackLevel: tt.level, Confidence: 4, Reasoning: "r",
				Values: map[string]string{"competitor_name": tt.in, "competitor_product_category": "x"}}
			got := Check(req, a)
			if got.Values["competitor_name"] != tt.want {
				t.Fatalf("competitor %q, want %q (%s)", got.Values["competitor_name"], tt.want, got.Reasoning)
			}
			var codes []string
			for _, n := range got.Notes {
				codes = append(codes, n.Code)
			}
			if tt.wantNote != "" && (len(codes) != 1 || codes[0] != tt.wantNote || !strings.Contains(got.Notes[0].Message, tt.in)) {
				t.Errorf("notes %v, want one %s naming %q", got.Notes, tt.wantNote, tt.in)
			}
			if tt.wantNote == "" && len(codes) > 0 {
				t.Errorf("unexpected notes %v", got.Notes)
			}
			if tt.want == "Ringo" && (got.FallbackLevel != email.LevelSite || len(got.Evidence) != 1) {
				t.Errorf("the replacement the page compares itself with is level 1 with its line: level %d evidence %v", got.FallbackLevel, got.Evidence)
			}
			if again := Check(req, got); again.Values["competitor_name"] != got.Values["competitor_name"] || len(again.Notes) != len(got.Notes) {
				t.Errorf("Check is not idempotent: %v then %v", got.Notes, again.Notes)
			}
		})
	}
}

func TestCheckDropsWhenNoCandidateFits(t *testing.T) {
	c := contacts.Contact{CompanyName: "Dealbook"}
	site := &scrape.Site{Pages: []scrape.Page{{URL: "https://d.example/", Kind: "home", Title: "Dealbook — CRM", Text: "Intégré avec Pipeflow."}}}
	a := Check(Request{Spec: Competitor, Contact: c, Site: site, Context: checkCtx, Language: "fr"},
		email.Answer{Agent: "competitor", FallbackLevel: 2, Confidence: 3, Reasoning: "r", Values: map[string]string{"competitor_name": "Pipeflow"}})
	if a.FallbackLevel != email.LevelDefault || a.Values["competitor_name"] != Default("fr", "competitor_name") ||
		len(a.Notes) != 1 || a.Notes[0].Code != NoteCompetitorDropped || a.Notes[0].Points == 0 {
		t.Errorf("got %+v", a)
	}
}

// TestCheckProperties runs random competitor answers, as any engine could
// give them, through Check and asserts what must hold whatever the input:
// the competitor is never the prospect, never a company the page names as
// an integration or partner, never of another category of competitors.json;
// every evidence quote is on the site; a level-1 answer has evidence.
func TestCheckProperties(t *testing.T) {
	c, site := voxaly()
	var pool []string
	for _, e := range checkCtx.Competitors {
		pool = append(pool, e.Name, strings.ToUpper(e.Name), e.Name+" Inc.", e.Name+", SAS")
	}
	pool = append(pool, "Voxaly", "voxaly.example", "Slack", "Pipeflow Ltd", "Aircall", "", "  ", "Ringo GmbH")
	quotes := []string{"Unlike Ringo, Voxaly bills per minute.", "an invented quote", "Pipeflow and Slack, synced in real time.", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	req := Request{Spec: Competitor, Contact: c, Site: site, Context: checkCtx, Language: "fr"}
	cls := Classify(checkCtx, c, site)
	for i := range 2000 {
		name := pool[rng.IntN(len(pool))]
		a := email.Answer{Agent: "competitor", FallbackLevel: 1 + rng.IntN(4), Confidence: 1 + rng.IntN(5), Reasoning: "r",
			Values: map[string]string{"competitor_name": name, "competitor_product_category": "x"}}
		if q := quotes[rng.IntN(len(quotes))]; q != "" {
			a.Evidence = []email.Evidence{{Quote: q}}
		}
		got := Check(req, a)
		out := got.Values["competitor_name"]
		where := fmt.Sprintf("case %d: %q level %d → %q level %d", i, name, a.FallbackLevel, out, got.FallbackLevel)
		if got.FallbackLevel == email.LevelDefault {
			continue // the default names nobody
		}
		if IsProspect(out, c, site) {
			t.Fatalf("%s: the prospect itself", where)
		}
		if Mentioned(site, out).Kind == MentionedAsRelation {
			t.Fatalf("%s: an integration named on the page", where)
		}
		if e, ok := competitorEntry(checkCtx, out); ok && e.Category != cls.Category {
			t.Fatalf("%s: category %q, the prospect is in %q", where, e.Category, cls.Category)
		}
		for _, ev := range got.Evidence {
			if _, ok := site.Find(ev.Quote); !ok {
				t.Fatalf("%s: evidence %q not on the site", where, ev.Quote)
			}
		}
		if got.FallbackLevel == email.LevelSite && len(got.Evidence) == 0 {
			t.Fatalf("%s: level 1 without evidence", where)
		}
	}
}
