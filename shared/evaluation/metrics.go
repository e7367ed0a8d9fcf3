package evaluation

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/quality"
)

// The variables judged against the labels.
const (
	VarCategory   = "product_category"
	VarPersona    = "target_persona"
	VarCompetitor = "competitor_name"
)

// Status of a labelled company in a report, besides email.StatusGenerated
// and email.StatusFailed.
const StatusMissing = "missing" // no result for the company (the run stopped early)

// MarkupChars are characters that should never reach an email value: they
// betray HTML debris.
const MarkupChars = `<>"`

// Ratio is hits out of a total.
type Ratio struct {
	Hits int `json:"hits"`
	Of   int `json:"of"`
}

// Pct is the ratio in percent (0 when Of is 0).
func (r Ratio) Pct() float64 {
	if r.Of == 0 {
		return 0
	}
	return 100 * float64(r.Hits) / float64(r.Of)
}

// String formats the ratio as "12/25  48.0%".
func (r Ratio) String() string {
	if r.Of == 0 {
		return "–"
	}
	return fmt.Sprintf("%d/%d %5.1f%%", r.Hits, r.Of, r.Pct())
}

// Check is one variable of one email judged against its label.
type Check struct {
	Value         string `json:"value"`
	OK            bool   `json:"ok"`
	Why           string `json:"why"`
	FallbackLevel int    `json:"fallback_level,omitempty"`
	Confidence    int    `json:"confidence,omitempty"`
}

// Item names one company in a list of problems (self-competitors,
// partners named as competitors, leaks).
type Item struct {
	Host     string `json:"host"`
	Split    string `json:"split"`
	Variable string `json:"variable"`
	Value    string `json:"value"`
	Why      string `json:"why"`
}

// Company is one labelled company's email, judged.
type Company struct {
	Host     string `json:"host"`
	Company  string `json:"company"`
	Split    string `json:"split"`
	Language string `json:"language"`
	Status   string `json:"status"` // generated, failed, missing
	Error    string `json:"error,omitempty"`

	Category   Check `json:"category"`
	Persona    Check `json:"persona"`
	Competitor Check `json:"competitor"`
	// SelfCompetitor: competitor_name is one of the label's self_names.
	SelfCompetitor bool `json:"self_competitor"`
	// PartnerCompetitor: competitor_name is one of the label's integrations.
	PartnerCompetitor bool `json:"partner_competitor"`
	// PersonaFromClient: target_persona repeats one of the client's own
	// personas (personas.md headings) instead of the prospect's buyers. A
	// diagnostic: the label's keywords (e.g. "sales") may still accept it.
	PersonaFromClient bool `json:"persona_from_client"`

	// Quotes counts the evidence quotes of every agent answer of the email
	// (email.Result.Answers): the kept ones (Answer.Evidence, which holds
	// only quotes found on the scraped pages) plus the rejected ones
	// (Answer.Ungrounded). Hits are the kept ones.
	Quotes     Ratio    `json:"quotes"`
	Ungrounded []string `json:"ungrounded,omitempty"` // "agent: quote"
	// UngroundedFlags is the number of ungrounded_evidence quality flags
	// (one per template variable of an agent with an ungrounded quote).
	UngroundedFlags int `json:"ungrounded_flags"`

	Quality   int      `json:"quality"`
	Gated     bool     `json:"gated"`
	GateFlags []string `json:"gate_flags,omitempty"` // codes, in the report's order
	Leaks     []Item   `json:"leaks,omitempty"`
}

// Figures are the aggregate figures of one split.
type Figures struct {
	Split     string `json:"split"`
	Companies int    `json:"companies"` // labelled companies in the split
	Generated int    `json:"generated"` // of which have a generated email

	// Accuracies: correct values out of the split's labelled companies (a
	// failed or missing email counts as wrong).
	Category   Ratio `json:"category"`
	Persona    Ratio `json:"persona"`
	Competitor Ratio `json:"competitor"`

	// PersonaFromClient: emails whose target_persona repeats a client
	// persona, and how many of those the keyword rule still counts correct.
	PersonaFromClient Ratio `json:"persona_from_client"`

	SelfCompetitors    int    `json:"self_competitors"`
	SelfCompetitorList []Item `json:"self_competitor_list,omitempty"`
	Partners           int    `json:"partners_as_competitors"`
	PartnerList        []Item `json:"partner_list,omitempty"`

	// QuotesGrounded: evidence quotes kept out of all quotes given, over
	// every agent answer of every generated email (see Company.Quotes).
	QuotesGrounded Ratio `json:"quotes_grounded"`
	// UngroundedEmails: emails with at least one ungrounded_evidence flag.
	UngroundedEmails int `json:"ungrounded_emails"`

	AvgQuality float64        `json:"avg_quality"` // over generated emails
	Gated      int            `json:"gated"`       // generated emails with at least one gate flag
	GateCodes  map[string]int `json:"gate_codes"`  // gate flag code → emails carrying it

	Leaks    int    `json:"leaks"` // agent values leaking a case study file name or markup characters
	LeakList []Item `json:"leak_list,omitempty"`

	// ListsHidden: the per-company lists above leave out held-out companies
	// (see Report.HideHeldoutDetails); the counts include them.
	ListsHidden bool `json:"lists_hidden,omitempty"`
}

// Report is an evaluation run's figures and per-company judgements.
type Report struct {
	Set       string    `json:"set"`
	Engine    string    `json:"engine"`
	Split     string    `json:"split"`   // the split that was run
	Figures   []Figures `json:"figures"` // dev, heldout, all; or the one split run
	Companies []Company `json:"companies"`
	// HeldoutHidden: held-out companies were removed from Companies and from
	// the figures' lists (their counts remain).
	HeldoutHidden bool `json:"heldout_hidden,omitempty"`
}

// Evaluate judges results (one per contact, joined to labels by website
// host) for the labels of split, and computes the figures of each split
// concerned: dev, heldout and all for SplitAll, else the one split.
// Results without a label are ignored; a label without a result counts as
// wrong everywhere (status "missing").
func Evaluate(s *Set, results []email.Result, split string) (*Report, error) {
	if split == "" {
		split = SplitAll
	}
	if err := CheckSplit(split); err != nil {
		return nil, err
	}
	byHost := map[string]*email.Result{}
	for i := range results {
		byHost[Host(results[i].Contact.Website)] = &results[i]
	}
	rep := &Report{Set: s.Dir, Split: split}
	for i := range s.Labels {
		l := &s.Labels[i]
		if !InSplit(l, split) {
			continue
		}
		r := byHost[l.Host]
		if r != nil && rep.Engine == "" {
			rep.Engine = r.Provenance.Engine
		}
		rep.Companies = append(rep.Companies, judge(s, l, r))
	}
	splits := []string{split}
	if split == SplitAll {
		splits = []string{SplitDev, SplitHeldout, SplitAll}
	}
	for _, sp := range splits {
		rep.Figures = append(rep.Figures, aggregate(sp, rep.Companies))
	}
	return rep, nil
}

// judge checks one company's result against its label.
func judge(s *Set, l *Label, r *email.Result) Company {
	c := Company{Host: l.Host, Company: l.Company, Split: l.Split, Language: l.Language, Status: StatusMissing}
	if r == nil {
		c.Category.Why, c.Persona.Why, c.Competitor.Why = "no result", "no result", "no result"
		return c
	}
	c.Status, c.Error = r.Status, r.Error
	if r.Status != email.StatusGenerated {
		why := "no email: " + r.Error
		c.Category.Why, c.Persona.Why, c.Competitor.Why = why, why, why
		return c
	}
	c.Category = keywordCheck(r, VarCategory, l.CategoryKeywords, "the category «"+l.Category+"»")
	c.Persona = keywordCheck(r, VarPersona, l.PersonaKeywords, "the buyer functions")
	c.Competitor, c.SelfCompetitor, c.PartnerCompetitor = competitorCheck(s, l, r)
	c.PersonaFromClient = FromClientPersona(c.Persona.Value, s.ClientPersonas)

	agentNames := make([]string, 0, len(r.Answers))
	for name := range r.Answers {
		agentNames = append(agentNames, name)
	}
	sort.Strings(agentNames)
	for _, name := range agentNames {
		a := r.Answers[name]
		c.Quotes.Hits += len(a.Evidence)
		c.Quotes.Of += len(a.Evidence) + len(a.Ungrounded)
		for _, q := range a.Ungrounded {
			c.Ungrounded = append(c.Ungrounded, name+": "+q)
		}
	}

	c.Quality = r.Quality.Score
	c.Gated = r.Quality.Gated()
	for _, f := range r.Quality.Flags {
		if f.Code == quality.CodeUngroundedEvidence {
			c.UngroundedFlags++
		}
		if f.Gate {
			c.GateFlags = append(c.GateFlags, f.Code)
		}
	}

	varNames := make([]string, 0, len(r.Variables))
	for name := range r.Variables {
		varNames = append(varNames, name)
	}
	sort.Strings(varNames)
	for _, name := range varNames {
		v := r.Variables[name]
		if v.Agent == "" {
			continue // a contact column: not the engine's
		}
		if why := LeakReasons(v.Value, s.CaseStudyStems); len(why) > 0 {
			c.Leaks = append(c.Leaks, Item{Host: l.Host, Split: l.Split, Variable: name, Value: v.Value, Why: strings.Join(why, "; ")})
		}
	}
	return c
}

func keywordCheck(r *email.Result, name string, keywords []string, what string) Check {
	v, ok := r.Variables[name]
	c := Check{Value: v.Value, FallbackLevel: v.FallbackLevel, Confidence: v.Confidence}
	switch {
	case !ok:
		c.Why = name + " is not in the email"
	case strings.TrimSpace(v.Value) == "":
		c.Why = "empty"
	default:
		if k, hit := MatchKeyword(v.Value, keywords); hit {
			c.OK, c.Why = true, fmt.Sprintf("contains %q", k)
		} else {
			c.Why = "no keyword of " + what
		}
	}
	return c
}

func competitorCheck(s *Set, l *Label, r *email.Result) (c Check, self, partner bool) {
	v, ok := r.Variables[VarCompetitor]
	c = Check{Value: v.Value, FallbackLevel: v.FallbackLevel, Confidence: v.Confidence}
	if !ok {
		c.Why = VarCompetitor + " is not in the email"
		return c, false, false
	}
	if strings.TrimSpace(v.Value) == "" {
		c.Why = "empty"
		return c, false, false
	}
	if n, hit := MatchName(v.Value, append([]string{l.Company}, l.SelfNames...)); hit {
		c.Why = fmt.Sprintf("the prospect itself (%s)", n)
		return c, true, false
	}
	if n, hit := MatchName(v.Value, l.Integrations); hit {
		c.Why = fmt.Sprintf("an integration/partner named on the page (%s)", n)
		if cat := s.competitorCategory(v.Value); cat != "" {
			c.Why += "; competitors.json files it under «" + cat + "»"
		}
		return c, false, true
	}
	if n, hit := MatchName(v.Value, l.AcceptableCompetitors); hit {
		c.OK, c.Why = true, fmt.Sprintf("same category (%s)", n)
		if _, cmp := MatchName(v.Value, l.ComparisonNames); cmp {
			c.Why += ", named in the page's comparison"
		}
		return c, false, false
	}
	switch cat := s.competitorCategory(v.Value); {
	case cat != "":
		c.Why = "another category: competitors.json files it under «" + cat + "», not «" + l.Category + "»"
	default:
		c.Why = "not in competitors.json"
	}
	if _, cmp := MatchName(v.Value, l.ComparisonNames); cmp {
		c.Why += " (named in the page's comparison)"
	}
	return c, false, false
}

// competitorCategory is the competitors.json category of a company name, or "".
func (s *Set) competitorCategory(name string) string {
	k := NameKey(name)
	for _, e := range s.Competitors {
		if NameKey(e.Name) == k {
			return e.Category
		}
	}
	return ""
}

// FromClientPersona reports whether a persona value repeats one of the
// client's personas: folded, one contains the other, and the shorter has at
// least three words ("VP Sales ou directeur commercial d'une scale-up" and
// the heading "VP Sales ou directeur commercial d'une scale-up SaaS").
func FromClientPersona(value string, personas []string) bool {
	v := Fold(value)
	for _, p := range personas {
		fp := Fold(p)
		short := v
		if len(fp) < len(v) {
			short = fp
		}
		if len(strings.Fields(short)) >= 3 && (strings.Contains(fp, v) || strings.Contains(v, fp)) {
			return true
		}
	}
	return false
}

var numberedStem = regexp.MustCompile(`^\d+[-_ ]+`)

// LeakReasons says why an email value must not reach a prospect: it
// contains a case study file stem (as written, without its number prefix,
// or with its dashes read as spaces) or a markup character. Comparisons
// are case- and accent-insensitive.
func LeakReasons(value string, stems []string) []string {
	var why []string
	v := Fold(value)
	for _, stem := range stems {
		forms := []string{stem}
		bare := numberedStem.ReplaceAllString(stem, "")
		if bare != stem && strings.ContainsAny(bare, "-_") {
			forms = append(forms, bare) // "saas-telephonie-rdv-qualifies"
		}
		if strings.Count(bare, "-")+strings.Count(bare, "_") >= 2 {
			forms = append(forms, strings.NewReplacer("-", " ", "_", " ").Replace(bare)) // "saas telephonie rdv qualifies"
		}
		for _, f := range forms {
			if ff := Fold(f); ff != "" && strings.Contains(v, ff) {
				why = append(why, fmt.Sprintf("file name %q", stem))
				break
			}
		}
	}
	for _, r := range MarkupChars {
		if strings.ContainsRune(value, r) {
			why = append(why, fmt.Sprintf("markup character %q", string(r)))
		}
	}
	return why
}

// aggregate computes a split's figures from the judged companies.
func aggregate(split string, companies []Company) Figures {
	f := Figures{Split: split, GateCodes: map[string]int{}}
	var qualitySum int
	for _, c := range companies {
		if split != SplitAll && c.Split != split {
			continue
		}
		f.Companies++
		f.Category.Of++
		f.Persona.Of++
		f.Competitor.Of++
		if c.Status != email.StatusGenerated {
			continue
		}
		f.Generated++
		if c.Category.OK {
			f.Category.Hits++
		}
		if c.Persona.OK {
			f.Persona.Hits++
		}
		if c.Competitor.OK {
			f.Competitor.Hits++
		}
		if c.PersonaFromClient {
			f.PersonaFromClient.Of++
			if c.Persona.OK {
				f.PersonaFromClient.Hits++
			}
		}
		if c.SelfCompetitor {
			f.SelfCompetitors++
			f.SelfCompetitorList = append(f.SelfCompetitorList, Item{Host: c.Host, Split: c.Split, Variable: VarCompetitor, Value: c.Competitor.Value, Why: c.Competitor.Why})
		}
		if c.PartnerCompetitor {
			f.Partners++
			f.PartnerList = append(f.PartnerList, Item{Host: c.Host, Split: c.Split, Variable: VarCompetitor, Value: c.Competitor.Value, Why: c.Competitor.Why})
		}
		f.QuotesGrounded.Hits += c.Quotes.Hits
		f.QuotesGrounded.Of += c.Quotes.Of
		if c.UngroundedFlags > 0 {
			f.UngroundedEmails++
		}
		qualitySum += c.Quality
		if c.Gated {
			f.Gated++
		}
		seen := map[string]bool{}
		for _, code := range c.GateFlags {
			if !seen[code] {
				seen[code] = true
				f.GateCodes[code]++
			}
		}
		f.Leaks += len(c.Leaks)
		f.LeakList = append(f.LeakList, c.Leaks...)
	}
	if f.Generated > 0 {
		f.AvgQuality = float64(qualitySum) / float64(f.Generated)
	}
	return f
}

// HideHeldoutDetails removes the held-out companies from r.Companies and
// from the figures' lists, keeping every count: what a tuning session may
// look at. The held-out half is reported in aggregate only.
func (r *Report) HideHeldoutDetails() {
	keep := r.Companies[:0]
	hidden := false
	for _, c := range r.Companies {
		if c.Split == SplitHeldout {
			hidden = true
			continue
		}
		keep = append(keep, c)
	}
	r.Companies = keep
	if !hidden {
		return
	}
	r.HeldoutHidden = true
	drop := func(items []Item) []Item {
		var out []Item
		for _, it := range items {
			if it.Split != SplitHeldout {
				out = append(out, it)
			}
		}
		return out
	}
	for i := range r.Figures {
		f := &r.Figures[i]
		if f.Split == SplitDev {
			continue
		}
		f.SelfCompetitorList, f.PartnerList, f.LeakList = drop(f.SelfCompetitorList), drop(f.PartnerList), drop(f.LeakList)
		f.ListsHidden = true
	}
}
