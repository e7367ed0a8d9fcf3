package evaluation

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
)

// tinySet is a hand-made set of four labelled companies (alpha and bravo
// dev, charlie and delta heldout) and five results (delta failed, zulu has
// no label); see testdata/tiny.
func tinySet(t *testing.T) (*Set, []email.Result) {
	t.Helper()
	s := &Set{
		Dir:            "testdata/tiny",
		CaseStudyStems: []string{"01-saas-telephonie-rdv"},
		ClientPersonas: []string{"VP Sales ou directeur commercial d'une scale-up SaaS"},
		Competitors: []clientctx.Competitor{
			{Name: "Beta Calls", Category: "logiciel de téléphonie cloud"},
			{Name: "HubSpot", Category: "CRM"},
		},
	}
	data, err := os.ReadFile("testdata/tiny/labels.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s.Labels); err != nil {
		t.Fatal(err)
	}
	// email.Result does not marshal its Answers: the fixture carries them
	// next to the result.
	var fixtures []struct {
		email.Result
		Answers map[string]email.Answer `json:"answers"`
	}
	if data, err = os.ReadFile("testdata/tiny/results.json"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fixtures); err != nil {
		t.Fatal(err)
	}
	var results []email.Result
	for _, f := range fixtures {
		f.Result.Answers = f.Answers
		results = append(results, f.Result)
	}
	return s, results
}

// counts are the figures without their lists.
type counts struct {
	Split                          string
	Companies, Generated           int
	Category, Persona, Competitor  Ratio
	PersonaFromClient              Ratio
	SelfCompetitors, Partners      int
	QuotesGrounded                 Ratio
	UngroundedEmails, Gated, Leaks int
	AvgQuality                     float64
	GateCodes                      map[string]int
	SelfList, PartnerList          []string // host:variable
	LeakList                       []string
	ListsHidden                    bool
}

func countsOf(f Figures) counts {
	hosts := func(items []Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Host+":"+it.Variable)
		}
		return out
	}
	return counts{
		Split: f.Split, Companies: f.Companies, Generated: f.Generated,
		Category: f.Category, Persona: f.Persona, Competitor: f.Competitor, PersonaFromClient: f.PersonaFromClient,
		SelfCompetitors: f.SelfCompetitors, Partners: f.Partners, QuotesGrounded: f.QuotesGrounded,
		UngroundedEmails: f.UngroundedEmails, Gated: f.Gated, Leaks: f.Leaks, AvgQuality: f.AvgQuality, GateCodes: f.GateCodes,
		SelfList: hosts(f.SelfCompetitorList), PartnerList: hosts(f.PartnerList), LeakList: hosts(f.LeakList), ListsHidden: f.ListsHidden,
	}
}

// The expected figures, worked out by hand from testdata/tiny:
//
//	alpha (dev)      category ✓ "Téléphonie cloud"; persona ✓ "équipes COMMERCIALES" (commercia);
//	                 competitor "Alpha S.A.S." = self; quotes 3 kept + 1 ungrounded; quality 60, gated
//	                 (2 ungrounded_evidence flags); leak: case_study_insight names a case study file.
//	bravo (dev)      category ✗ "logiciel RH"; persona ✗ and copied from the client's personas;
//	                 competitor "slack" = integration; quotes 1/1; quality 40, not gated;
//	                 leak: solve_specific_pain holds `">`.
//	charlie (heldout) category ✓ "néobanque"; persona ✓ "directeurs financiers"; competitor
//	                 "QONTO SAS" ✓; quotes 1 kept + 1 ungrounded; quality 80, gated.
//	delta (heldout)  failed: wrong everywhere, not in quality nor quotes.
//	zulu             no label: ignored.
var (
	wantDev = counts{Split: SplitDev, Companies: 2, Generated: 2,
		Category: Ratio{1, 2}, Persona: Ratio{1, 2}, Competitor: Ratio{0, 2}, PersonaFromClient: Ratio{0, 1},
		SelfCompetitors: 1, Partners: 1, QuotesGrounded: Ratio{4, 5}, UngroundedEmails: 1, Gated: 1, Leaks: 2, AvgQuality: 50,
		GateCodes: map[string]int{"ungrounded_evidence": 1},
		SelfList:  []string{"alpha.example:competitor_name"}, PartnerList: []string{"bravo.example:competitor_name"},
		LeakList: []string{"alpha.example:case_study_insight", "bravo.example:solve_specific_pain"}}
	wantHeldout = counts{Split: SplitHeldout, Companies: 2, Generated: 1,
		Category: Ratio{1, 2}, Persona: Ratio{1, 2}, Competitor: Ratio{1, 2},
		QuotesGrounded: Ratio{1, 2}, UngroundedEmails: 1, Gated: 1, AvgQuality: 80,
		GateCodes: map[string]int{"ungrounded_evidence": 1}}
	wantAll = counts{Split: SplitAll, Companies: 4, Generated: 3,
		Category: Ratio{2, 4}, Persona: Ratio{2, 4}, Competitor: Ratio{1, 4}, PersonaFromClient: Ratio{0, 1},
		SelfCompetitors: 1, Partners: 1, QuotesGrounded: Ratio{5, 7}, UngroundedEmails: 2, Gated: 2, Leaks: 2, AvgQuality: 60,
		GateCodes: map[string]int{"ungrounded_evidence": 2},
		SelfList:  wantDev.SelfList, PartnerList: wantDev.PartnerList, LeakList: wantDev.LeakList}
)

func TestEvaluateFigures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		split string
		want  []counts
	}{
		{SplitAll, []counts{wantDev, wantHeldout, wantAll}},
		{"", []counts{wantDev, wantHeldout, wantAll}},
		{SplitDev, []counts{wantDev}},
		{SplitHeldout, []counts{wantHeldout}},
	}
	for _, tt := range tests {
		t.Run("split="+tt.split, func(t *testing.T) {
			t.Parallel()
			s, results := tinySet(t)
			rep, err := Evaluate(s, results, tt.split)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Figures) != len(tt.want) {
				t.Fatalf("%d figures, want %d", len(rep.Figures), len(tt.want))
			}
			for i, f := range rep.Figures {
				if got := countsOf(f); !reflect.DeepEqual(got, tt.want[i]) {
					t.Errorf("figures %s:\n got %+v\nwant %+v", f.Split, got, tt.want[i])
				}
			}
			if rep.Engine != "offline" {
				t.Errorf("engine %q", rep.Engine)
			}
		})
	}
}

func TestEvaluateCompanies(t *testing.T) {
	t.Parallel()
	s, results := tinySet(t)
	rep, err := Evaluate(s, results, SplitAll)
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]Company{}
	var order []string
	for _, c := range rep.Companies {
		byHost[c.Host] = c
		order = append(order, c.Host)
	}
	if want := []string{"alpha.example", "bravo.example", "charlie.example", "delta.example"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("companies %v, want %v (labels order, zulu has no label)", order, want)
	}
	tests := []struct {
		host, what string
		got        Check
		ok         bool
		why        string
	}{
		{"alpha.example", "category", byHost["alpha.example"].Category, true, `contains "téléphonie"`},
		{"alpha.example", "persona", byHost["alpha.example"].Persona, true, `contains "commercia"`},
		{"alpha.example", "competitor", byHost["alpha.example"].Competitor, false, "the prospect itself (Alpha)"},
		{"bravo.example", "category", byHost["bravo.example"].Category, false, "no keyword of the category «logiciel de paie»"},
		{"bravo.example", "competitor", byHost["bravo.example"].Competitor, false, "an integration/partner named on the page (Slack)"},
		{"charlie.example", "competitor", byHost["charlie.example"].Competitor, true, "same category (Qonto)"},
		{"delta.example", "category", byHost["delta.example"].Category, false, "no email: context canceled"},
	}
	for _, tt := range tests {
		if tt.got.OK != tt.ok || tt.got.Why != tt.why {
			t.Errorf("%s %s: ok=%v why=%q; want ok=%v why=%q", tt.host, tt.what, tt.got.OK, tt.got.Why, tt.ok, tt.why)
		}
	}
	a := byHost["alpha.example"]
	if !reflect.DeepEqual(a.Ungrounded, []string{"persona: Alpha — téléphonie"}) || a.UngroundedFlags != 2 || a.Quotes != (Ratio{3, 4}) {
		t.Errorf("alpha quotes: %+v ungrounded %q flags %d", a.Quotes, a.Ungrounded, a.UngroundedFlags)
	}
	if !reflect.DeepEqual(a.GateFlags, []string{"ungrounded_evidence", "ungrounded_evidence"}) || a.Competitor.FallbackLevel != 1 || a.Competitor.Confidence != 4 {
		t.Errorf("alpha: gates %v, competitor %+v", a.GateFlags, a.Competitor)
	}
	if b := byHost["bravo.example"]; !b.PersonaFromClient || b.PersonaFromClient != !b.Persona.OK {
		t.Errorf("bravo: persona %+v, from client %v", b.Persona, b.PersonaFromClient)
	}
	if d := byHost["delta.example"]; d.Status != email.StatusFailed || d.Error != "context canceled" {
		t.Errorf("delta: %+v", d)
	}
}

func TestEvaluateMissingResult(t *testing.T) {
	t.Parallel()
	s, results := tinySet(t)
	rep, err := Evaluate(s, results[:1], SplitDev) // bravo's result is missing
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Companies[1]; c.Host != "bravo.example" || c.Status != StatusMissing || c.Category.Why != "no result" {
		t.Errorf("bravo: %+v", c)
	}
	if f := rep.Figures[0]; f.Companies != 2 || f.Generated != 1 || f.Category != (Ratio{1, 2}) || f.AvgQuality != 60 {
		t.Errorf("dev figures: %+v", countsOf(f))
	}
	if _, err := Evaluate(s, results, "test"); err == nil {
		t.Error("an unknown split is an error")
	}
}

func TestHideHeldoutDetails(t *testing.T) {
	t.Parallel()
	s, results := tinySet(t)
	// A held-out self-competitor, so that the lists have something to hide.
	results[2].Variables["competitor_name"] = email.Variable{Value: "Charlie", Agent: "competitor"}
	rep, err := Evaluate(s, results, SplitAll)
	if err != nil {
		t.Fatal(err)
	}
	rep.HideHeldoutDetails()
	if !rep.HeldoutHidden || len(rep.Companies) != 2 {
		t.Fatalf("hidden=%v, %d companies", rep.HeldoutHidden, len(rep.Companies))
	}
	for _, c := range rep.Companies {
		if c.Split != SplitDev {
			t.Errorf("%s (%s) is still listed", c.Host, c.Split)
		}
	}
	heldout, all := rep.Figures[1], rep.Figures[2]
	if heldout.SelfCompetitors != 1 || all.SelfCompetitors != 2 {
		t.Errorf("counts changed: heldout %d, all %d self-competitors", heldout.SelfCompetitors, all.SelfCompetitors)
	}
	if len(heldout.SelfCompetitorList) != 0 || !heldout.ListsHidden || len(all.SelfCompetitorList) != 1 || all.SelfCompetitorList[0].Host != "alpha.example" {
		t.Errorf("lists: heldout %v, all %v", heldout.SelfCompetitorList, all.SelfCompetitorList)
	}
	var table, details bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteDetails(&details); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{table.String(), details.String()} {
		if strings.Contains(out, "charlie") || strings.Contains(out, "delta") {
			t.Errorf("a held-out company is named:\n%s", out)
		}
	}
}

func TestWriteTableAndDetails(t *testing.T) {
	t.Parallel()
	s, results := tinySet(t)
	rep, err := Evaluate(s, results, SplitAll)
	if err != nil {
		t.Fatal(err)
	}
	var table, details bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteDetails(&details); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"dev", "heldout", "all",
		"category accuracy", "1/2  50.0%", "2/4  50.0%",
		"quotes grounded", "4/5  80.0%", "5/7  71.4%",
		"average quality", "50.0", "80.0", "60.0",
		"gate flags, all: ungrounded_evidence 2",
		`alpha.example            competitor_name "Alpha S.A.S." — the prospect itself (Alpha)`,
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	for _, want := range []string{
		"alpha.example [dev] generated",
		`category   ✓ "Téléphonie cloud" (L1 c4) — contains "téléphonie"`,
		`competitor ✗ "slack" (L1 c4) — an integration/partner named on the page (Slack)`,
		"ungrounded quote  persona: Alpha — téléphonie",
		`leak  solve_specific_pain "les directions financières \">"`,
		"delta.example [heldout] failed",
	} {
		if !strings.Contains(details.String(), want) {
			t.Errorf("details lack %q:\n%s", want, details.String())
		}
	}
}
