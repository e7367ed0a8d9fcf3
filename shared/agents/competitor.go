package agents

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

// The rules every engine's competitor answer must follow, enforced here in
// Go: the competitor is in the prospect's category, it is not the prospect
// itself, it is not a company the page names as an integration, partner,
// parent or customer, and a company taken from the page is one the page
// compares itself with.

// IsProspect reports whether name is the prospect itself: the same company
// key (lexicon.CompanyKey: case, punctuation and legal forms ignored) as
// the contact's company, or as the first label of its website's host.
func IsProspect(name string, c contacts.Contact, site *scrape.Site) bool {
	k := lexicon.CompanyKey(name)
	if k == "" {
		return false
	}
	if k == lexicon.CompanyKey(c.CompanyName) {
		return true
	}
	hosts := []string{hostOf(c.Website)}
	if site != nil {
		hosts = append(hosts, site.Host)
	}
	for _, h := range hosts {
		if l := hostLabel(h); l != "" && k == lexicon.CompanyKey(l) {
			return true
		}
	}
	return false
}

func hostOf(website string) string {
	website = strings.TrimSpace(website)
	if website == "" {
		return ""
	}
	if !strings.Contains(website, "://") {
		website = "https://" + website
	}
	u, err := url.Parse(website)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// hostLabel is the registrable name of a host: "www.aircall.io" → "aircall".
func hostLabel(host string) string {
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	if i := strings.IndexByte(host, '.'); i > 0 {
		return host[:i]
	}
	return host
}

// MentionKind is how a page names another company.
type MentionKind int

// Mention kinds, weakest first.
const (
	NotMentioned          MentionKind = iota
	MentionedPlainly                  // named, no cue either way
	MentionedAsRelation               // integration, partner, parent, customer
	MentionedInComparison             // "alternative to X", "X vs Y", "contrairement à X"
)

// Mention is where and how a page names a company.
type Mention struct {
	Kind  MentionKind
	URL   string
	Quote string // the line that names it, verbatim
	Cue   string // the cue word that decided Kind
}

// Mentioned returns the strongest way the site names company: a comparison
// wins over a relation, which wins over a plain mention. Names are matched
// as whole words, case-sensitively (company names are proper nouns: "Front"
// is not "front"). A line counts as a relation when it or the heading of
// its section carries a relation cue.
func Mentioned(site *scrape.Site, company string) Mention {
	var best Mention
	if site == nil || strings.TrimSpace(company) == "" {
		return best
	}
	consider := func(m Mention) {
		if m.Kind > best.Kind {
			best = m
		}
	}
	for _, p := range site.Pages {
		headings := map[string]bool{}
		for _, h := range p.Headings {
			headings[strings.TrimSpace(h)] = true
		}
		classify := func(line, section string) {
			if indexName(line, company) < 0 {
				return
			}
			m := Mention{Kind: MentionedPlainly, URL: p.URL, Quote: clipQuote(line, company)}
			if cue, ok := lexicon.HasCue(lexicon.CueCompare, line); ok {
				m.Kind, m.Cue = MentionedInComparison, cue
			} else if cue, ok := lexicon.HasCue(lexicon.CueRelation, line); ok {
				m.Kind, m.Cue = MentionedAsRelation, cue
			} else if cue, ok := lexicon.HasCue(lexicon.CueRelation, section); ok {
				m.Kind, m.Cue = MentionedAsRelation, cue
			}
			consider(m)
		}
		classify(p.Title, "")
		classify(p.Description, "")
		section := ""
		for _, line := range strings.Split(p.Text, "\n") {
			line = strings.TrimSpace(line)
			if headings[line] {
				section = line
			}
			classify(line, section)
		}
		for _, q := range p.Quotes {
			classify(q.Quote, "")
		}
	}
	return best
}

// clipQuote shortens a long line to the sentence naming company, keeping it
// a verbatim substring.
func clipQuote(line, company string) string {
	if utf8.RuneCountInString(line) <= 200 {
		return line
	}
	i := indexName(line, company)
	start := strings.LastIndexAny(line[:i], ".!?") + 1
	end := len(line)
	if j := strings.IndexAny(line[i:], ".!?"); j >= 0 {
		end = i + j + 1
	}
	return strings.TrimSpace(line[start:end])
}

// indexName finds name in text as a whole word (case-sensitive), or -1.
func indexName(text, name string) int {
	if name == "" {
		return -1
	}
	for off := 0; ; {
		i := strings.Index(text[off:], name)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(name)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (i == 0 || !isNameRune(before)) && (end == len(text) || !isNameRune(after)) {
			return i
		}
		off = end
	}
}

func isNameRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Candidate is a competitor chosen among competitors.json's entries.
type Candidate struct {
	Entry   clientctx.Competitor
	Mention Mention // how the prospect's site names it (a comparison, or not at all)
	Shared  int     // positioning terms shared with the site
}

// PickCompetitor chooses a competitor in category: never the prospect,
// never a company the site names as a relation (integration, partner,
// parent, customer); an entry the site compares itself with first, then the
// entry whose positioning shares the most terms with the site, then file
// order. skip lists further names to avoid (already rejected).
func PickCompetitor(req Request, category string, skip ...string) (Candidate, bool) {
	if req.Context == nil || category == "" {
		return Candidate{}, false
	}
	site := map[string]bool{}
	if req.Site != nil {
		for _, p := range req.Site.Pages {
			for _, t := range lexicon.Terms(p.Title + "\n" + p.Description + "\n" + strings.Join(p.Headings, "\n") + "\n" + p.Text) {
				site[t] = true
			}
		}
	}
	var best Candidate
	found := false
	for _, e := range req.Context.Competitors {
		if e.Category != category || IsProspect(e.Name, req.Contact, req.Site) || skipped(e.Name, skip) {
			continue
		}
		c := Candidate{Entry: e, Mention: Mentioned(req.Site, e.Name)}
		if c.Mention.Kind == MentionedAsRelation {
			continue
		}
		seen := map[string]bool{}
		for _, t := range lexicon.Terms(e.Positioning) {
			if site[t] && !seen[t] {
				seen[t] = true
				c.Shared++
			}
		}
		if !found || better(c, best) {
			best, found = c, true
		}
	}
	return best, found
}

func better(a, b Candidate) bool {
	ac, bc := a.Mention.Kind == MentionedInComparison, b.Mention.Kind == MentionedInComparison
	if ac != bc {
		return ac
	}
	return a.Shared > b.Shared
}

func skipped(name string, skip []string) bool {
	k := lexicon.CompanyKey(name)
	for _, s := range skip {
		if lexicon.CompanyKey(s) == k {
			return true
		}
	}
	return false
}

// CompetitorProblem returns why name cannot be the prospect's competitor,
// or "" when it can. cls is the prospect's classification.
func CompetitorProblem(req Request, cls Classification, name string) string {
	if IsProspect(name, req.Contact, req.Site) {
		return fmt.Sprintf("%q is the prospect itself", name)
	}
	m := Mentioned(req.Site, name)
	if m.Kind == MentionedAsRelation {
		return fmt.Sprintf("the prospect's site names %q as an integration, partner or customer (%q)", name, lexicon.Shorten(m.Quote, 100))
	}
	entry, listed := competitorEntry(req.Context, name)
	if listed && cls.Category != "" && entry.Category != cls.Category && (cls.Listed || cls.Confidence() >= 3) {
		return fmt.Sprintf("competitors.json files %q under %q, the prospect is in %q", name, entry.Category, cls.Category)
	}
	if !listed && m.Kind == MentionedPlainly {
		return fmt.Sprintf("%q is named on the prospect's site, but not in a comparison", name)
	}
	return ""
}

func competitorEntry(cctx *clientctx.Context, name string) (clientctx.Competitor, bool) {
	if cctx == nil {
		return clientctx.Competitor{}, false
	}
	k := lexicon.CompanyKey(name)
	for _, e := range cctx.Competitors {
		if lexicon.CompanyKey(e.Name) == k {
			return e, true
		}
	}
	return clientctx.Competitor{}, false
}

// CompetitorAnswer is the competitor agent's answer for a chosen
// candidate: level 1 when the site compares itself with it (the line is the
// evidence), level 2 when the category was inferred from the site, level 3
// when it rests on competitors.json listing the prospect.
func CompetitorAnswer(cls Classification, c Candidate, why string) email.Answer {
	a := email.Answer{
		Values:     map[string]string{"competitor_name": c.Entry.Name, "competitor_product_category": c.Entry.Category},
		Confidence: min(cls.Confidence(), 4),
	}
	switch {
	case c.Mention.Kind == MentionedInComparison:
		a.FallbackLevel, a.Confidence = email.LevelSite, 5
		a.Evidence = []email.Evidence{{URL: c.Mention.URL, Quote: c.Mention.Quote}}
		a.Reasoning = fmt.Sprintf("the site compares itself with %s (%q).", c.Entry.Name, c.Mention.Cue)
	case cls.Listed:
		a.FallbackLevel = email.LevelContext
		a.Reasoning = fmt.Sprintf("%s; %s is the other entry of that category closest to the site.", cls.Why(), c.Entry.Name)
	default:
		a.FallbackLevel = email.LevelInferred
		a.Reasoning = fmt.Sprintf("%s; %s is the entry of that category closest to the site.", cls.Why(), c.Entry.Name)
		if cls.Evidence.Quote != "" {
			a.Evidence = []email.Evidence{cls.Evidence}
		}
	}
	if why != "" {
		a.Reasoning = why + " " + a.Reasoning
	}
	return a
}

// DefaultCompetitor is the level-4 competitor answer.
func DefaultCompetitor(lang, why string) email.Answer {
	return email.Answer{
		Values: map[string]string{
			"competitor_name":             Default(lang, "competitor_name"),
			"competitor_product_category": Default(lang, "competitor_product_category"),
		},
		FallbackLevel: email.LevelDefault, Confidence: 1, Reasoning: why + ": configured default.",
	}
}
