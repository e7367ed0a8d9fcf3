package agents

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

//go:embed offline/*.json
var offlineFiles embed.FS

// phrasebook is the per-language configuration of the offline engine:
// the level-4 defaults and the phrase patterns (offline/<lang>.json).
type phrasebook struct {
	Defaults map[string]string `json:"defaults"`
	// Condense lists [from, to] rewrites that shorten a value over its word
	// limit without losing its meaning ("de gestion des " → "de ").
	Condense      [][2]string `json:"condense"`
	CategoryHeads []string    `json:"category_heads"`
	CategoryStops []string    `json:"category_stops"`
	PersonaLeads  []string    `json:"persona_leads"`
	PersonaHeads  []string    `json:"persona_heads"`
	RoleWords     []string    `json:"role_words"`
	PluralStops   []string    `json:"plural_stops"`
	Segments      []struct {
		Words  []string `json:"words"`
		Phrase string   `json:"phrase"`
	} `json:"segments"`
	Signal1         string `json:"signal_1"`
	Signal1Segment  string `json:"signal_1_segment"`
	Signal2         string `json:"signal_2"`
	System1         string `json:"system_1"`
	System2         string `json:"system_2"`
	System3         string `json:"system_3"`
	CaseInsight     string `json:"case_insight"`
	CaseInsightInd  string `json:"case_insight_industry"`
	InferredPersona string `json:"inferred_persona_segment"`
	IndustryCat     string `json:"industry_category"`

	personaLead *regexp.Regexp
}

// OfflineVersion is the offline engine's version, part of cache keys.
const OfflineVersion = "offline/v1"

// Offline is the deterministic heuristic engine: it fills every agent from
// the scraped pages and the client context, without any network call. It is
// the default when no LLM is configured and the last resort when the LLM fails.
type Offline struct {
	books map[string]*phrasebook
}

// NewOffline loads the embedded phrasebooks.
func NewOffline() (*Offline, error) {
	o := &Offline{books: map[string]*phrasebook{}}
	for _, lang := range []string{"fr", "en"} {
		b, err := offlineFiles.ReadFile("offline/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("offline engine: %w", err)
		}
		var pb phrasebook
		if err := json.Unmarshal(b, &pb); err != nil {
			return nil, fmt.Errorf("offline engine: offline/%s.json: %w", lang, err)
		}
		leads := make([]string, len(pb.PersonaLeads))
		for i, l := range pb.PersonaLeads {
			leads[i] = regexp.QuoteMeta(l)
		}
		sort.Slice(leads, func(i, j int) bool { return len(leads[i]) > len(leads[j]) })
		pb.personaLead = regexp.MustCompile(`(?i)(?:^|[\s(])(?:` + strings.Join(leads, "|") + `)\s+([^.,;:!?()\n]{3,80})`)
		o.books[lang] = &pb
	}
	return o, nil
}

// Name implements Engine.
func (o *Offline) Name() string { return "offline" }

// Version implements Engine.
func (o *Offline) Version(string) string { return OfflineVersion }

// Default returns the configured level-4 value of a variable.
func (o *Offline) Default(lang, v string) string { return o.book(lang).Defaults[v] }

func (o *Offline) book(lang string) *phrasebook {
	if b, ok := o.books[lexicon.BaseLang(lang)]; ok {
		return b
	}
	return o.books["en"]
}

// email.Answer implements Engine. It only fails when ctx is done.
func (o *Offline) Answer(ctx context.Context, req Request) (email.Answer, error) {
	if err := ctx.Err(); err != nil {
		return email.Answer{}, err
	}
	pb := o.book(req.Language)
	var a email.Answer
	switch req.Spec.Name {
	case Persona.Name:
		a = o.persona(pb, req)
	case Competitor.Name:
		a = o.competitor(pb, req)
	case Pain.Name:
		a = o.pain(pb, req)
	case Signal.Name:
		a = o.signal(pb, req)
	case System.Name:
		a = o.system(pb, req)
	case CaseStudy.Name:
		a = o.caseStudy(pb, req)
	default:
		return email.Answer{}, fmt.Errorf("offline engine: unknown agent %q", req.Spec.Name)
	}
	a.Agent, a.Engine, a.Version = req.Spec.Name, o.Name(), OfflineVersion
	a = Ground(a, req.Site)
	return o.enforce(pb, req, a), nil
}

// enforce makes the answer follow the rules: values are tidied to fit, and
// a value that still breaks a rule is replaced by the level-4 default.
func (o *Offline) enforce(pb *phrasebook, req Request, a email.Answer) email.Answer {
	for _, r := range req.Spec.Rules {
		v := fit(r, pb.condense(r, a.Values[r.Var]))
		single := email.Answer{Values: map[string]string{r.Var: v}, Confidence: 1, FallbackLevel: 1, Reasoning: "-"}
		if Validate(Spec{Rules: []Rule{r}}, single, req.Language) != nil {
			v = fit(r, pb.Defaults[r.Var])
			a.FallbackLevel, a.Confidence = email.LevelDefault, 1
			a.Reasoning += fmt.Sprintf(" %s: no usable value, configured default used.", r.Var)
		}
		a.Values[r.Var] = v
	}
	a.Reasoning = strings.TrimSpace(a.Reasoning)
	return a
}

// condense applies the phrasebook's rewrites, one at a time, while v has
// more words than r allows.
func (pb *phrasebook) condense(r Rule, v string) string {
	for _, c := range pb.Condense {
		if r.MaxWords == 0 || len(lexicon.Words(v)) <= r.MaxWords {
			break
		}
		v = strings.Replace(v, c[0], c[1], 1)
	}
	return v
}

// fit trims a value into its rule: one line, lower-case start, word and
// character limits (cut at a word boundary).
func fit(r Rule, v string) string {
	v = strings.Join(strings.Fields(v), " ")
	v = strings.Trim(v, " .,;:-–—")
	if r.LowerStart {
		v = lowerFirst(v)
	}
	if r.MaxWords > 0 {
		words := strings.Fields(v)
		for len(words) > 0 && len(lexicon.Words(strings.Join(words, " "))) > r.MaxWords {
			words = words[:len(words)-1]
		}
		v = strings.Join(words, " ")
	}
	for r.MaxChars > 0 && utf8.RuneCountInString(v) > r.MaxChars {
		i := strings.LastIndexByte(v, ' ')
		if i <= 0 {
			v = string([]rune(v)[:r.MaxChars])
			break
		}
		v = v[:i]
	}
	return dropDangling(strings.Trim(v, " .,;:-–—"))
}

// dropDangling removes trailing small words left by a cut ("... de la").
func dropDangling(v string) string {
	for {
		i := strings.LastIndexByte(v, ' ')
		if i < 0 {
			return v
		}
		switch strings.ToLower(v[i+1:]) {
		case "de", "des", "du", "d'", "la", "le", "les", "l'", "et", "à", "au", "aux", "en", "pour", "avec", "sur", "par", "un", "une",
			"of", "the", "a", "an", "and", "for", "with", "to", "in", "on", "by":
			v = v[:i]
		default:
			return v
		}
	}
}

// lowerFirst lower-cases the first letter, unless the first word is an
// acronym ("PME", "DAF"), which keeps its capitals.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) || startsWithAcronym(s) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// compose fills a phrase pattern ("une base de {persona} vérifiée chaque
// semaine") so that the result fits rule: the inserted values are shortened,
// longest first, never the pattern's own words.
func compose(r Rule, pattern string, vals map[string]string) string {
	words := map[string][]string{}
	for k, v := range vals {
		words[k] = strings.Fields(v)
	}
	build := func() string {
		out := pattern
		for k, w := range words {
			out = strings.ReplaceAll(out, "{"+k+"}", dropDangling(strings.Join(w, " ")))
		}
		return out
	}
	for {
		out := build()
		over := (r.MaxWords > 0 && len(lexicon.Words(out)) > r.MaxWords) || (r.MaxChars > 0 && utf8.RuneCountInString(out) > r.MaxChars)
		if !over {
			return out
		}
		longest := ""
		for k, w := range words {
			if len(w) > 1 && (longest == "" || len(w) > len(words[longest]) || (len(w) == len(words[longest]) && k < longest)) {
				longest = k
			}
		}
		if longest == "" {
			return out // the pattern alone is too long: fit() cuts it, Validate catches it
		}
		words[longest] = words[longest][:len(words[longest])-1]
	}
}

func answer(level, conf int, reasoning string, values map[string]string, ev ...email.Evidence) email.Answer {
	return email.Answer{Values: values, FallbackLevel: level, Confidence: conf, Reasoning: reasoning, Evidence: ev}
}

// --- persona ---------------------------------------------------------------

func (o *Offline) persona(pb *phrasebook, req Request) email.Answer {
	persona, pLevel, pConf, pWhy, pEv := o.targetPersona(pb, req)
	cat, cLevel, cConf, cWhy, cEv := o.productCategory(pb, req)
	a := answer(max(pLevel, cLevel), min(pConf, cConf), pWhy+" "+cWhy,
		map[string]string{"target_persona": persona, "product_category": cat})
	a.Evidence = append(pEv, cEv...)
	return a
}

func (o *Offline) targetPersona(pb *phrasebook, req Request) (string, int, int, string, []email.Evidence) {
	site := req.Site
	// 1. Job titles of the people quoted in testimonials are the buyers.
	if site != nil {
		count := map[string]int{}
		first := map[string]email.Evidence{}
		var order []string
		for _, p := range site.Pages {
			for _, q := range p.Quotes {
				t := strings.TrimSpace(q.Title)
				if t == "" || !hasRoleWord(pb, t) {
					continue
				}
				key := strings.ToLower(t)
				if count[key] == 0 {
					order = append(order, key)
					first[key] = email.Evidence{URL: p.URL, Quote: t}
				}
				count[key]++
			}
		}
		if len(order) > 0 {
			sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
			ev := first[order[0]]
			return pluralRole(pb, req.Language, ev.Quote), email.LevelSite, 4,
				fmt.Sprintf("target_persona: the site's testimonials are signed by %q.", ev.Quote), []email.Evidence{ev}
		}
		// 2. "conçu pour les DAF de PME", "pour les équipes commerciales".
		for _, p := range site.Pages {
			for _, src := range append(append([]string{p.Description}, p.Headings...), p.Text) {
				if phrase, quote, ok := personaPhrase(pb, src); ok {
					ev := []email.Evidence{{URL: p.URL, Quote: quote}}
					return phrase, email.LevelSite, 4, fmt.Sprintf("target_persona: the site says %q.", quote), ev
				}
			}
		}
		// 3. A segment named on the site ("PME", "startups").
		if seg, quote, url := segment(pb, site); seg != "" {
			return strings.ReplaceAll(pb.InferredPersona, "{segment}", seg), email.LevelInferred, 3,
				fmt.Sprintf("target_persona: inferred from the segment %q named on the site.", quote), []email.Evidence{{URL: url, Quote: quote}}
		}
	}
	if len(req.Context.PersonaTitles) > 0 {
		t := req.Context.PersonaTitles[0]
		return t, email.LevelContext, 2, fmt.Sprintf("target_persona: nothing on the site, first persona of personas.md (%q).", t), nil
	}
	return pb.Defaults["target_persona"], email.LevelDefault, 1, "target_persona: no site data and no persona in the context, configured default.", nil
}

func hasRoleWord(pb *phrasebook, title string) bool {
	for _, w := range lexicon.Words(strings.ToLower(title)) {
		for _, r := range pb.RoleWords {
			if w == r {
				return true
			}
		}
	}
	return false
}

// pluralRole turns a testimonial title into the group the prospect sells to:
// "Directrice commerciale" → "directrices commerciales",
// "Directeur administratif et financier" → "directeurs administratifs et financiers".
func pluralRole(pb *phrasebook, lang, title string) string {
	// Drop a company part: "Head of Sales, Acme" → "Head of Sales".
	if i := strings.IndexAny(title, ",·|"); i > 0 {
		title = title[:i]
	}
	words := strings.Fields(title)
	if len(words) == 0 {
		return ""
	}
	stop := map[string]bool{}
	for _, s := range pb.PluralStops {
		stop[s] = true
	}
	// An English title ("Credit manager", "Head of Sales") takes the plural
	// on its role word only.
	for i, w := range words {
		if englishRoles[strings.ToLower(w)] {
			words[i] = w + "s"
			return lowerFirst(strings.Join(words, " "))
		}
	}
	if lang != "fr" {
		return lowerFirst(strings.Join(words, " "))
	}
	// French: the head noun and the adjectives after it agree; a noun
	// complement ("responsable formation") stays singular.
	for i, w := range words {
		lw := strings.ToLower(w)
		if stop[lw] || strings.HasPrefix(lw, "d'") || strings.HasPrefix(lw, "d’") {
			break
		}
		if lw == "et" || isAcronym(w) || (i > 0 && !looksAdjective(lw)) {
			continue
		}
		words[i] = pluralFR(w)
	}
	return lowerFirst(strings.Join(words, " "))
}

var englishRoles = map[string]bool{"manager": true, "head": true, "officer": true, "lead": true, "director": true, "owner": true}

func looksAdjective(w string) bool {
	for _, suf := range []string{"al", "ale", "el", "elle", "ier", "ière", "if", "ive", "ien", "ienne", "é", "ée", "aire", "ique", "eur", "euse"} {
		if strings.HasSuffix(w, suf) {
			return true
		}
	}
	return false
}

func startsWithAcronym(s string) bool {
	w, _, _ := strings.Cut(s, " ")
	return isAcronym(strings.TrimRight(w, ",;:.'’"))
}

func isAcronym(w string) bool {
	n := 0
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			n++
		}
	}
	return n >= 2
}

func pluralFR(w string) string {
	lw := strings.ToLower(w)
	switch {
	case strings.HasSuffix(lw, "s"), strings.HasSuffix(lw, "x"), strings.HasSuffix(lw, "z"):
		return w
	case strings.HasSuffix(lw, "al") && lw != "final":
		return w[:len(w)-2] + "aux"
	case strings.HasSuffix(lw, "eau"), strings.HasSuffix(lw, "eu"):
		return w + "x"
	}
	return w + "s"
}

// personaPhrase finds "pour les <persona head> ..." in text and returns the
// persona phrase and the verbatim quote it came from.
func personaPhrase(pb *phrasebook, text string) (phrase, quote string, ok bool) {
	for _, m := range pb.personaLead.FindAllStringSubmatchIndex(text, -1) {
		cand := strings.TrimSpace(text[m[2]:m[3]])
		words := strings.Fields(cand)
		if len(words) == 0 {
			continue
		}
		head := strings.ToLower(strings.Trim(words[0], "'’"))
		for _, h := range pb.PersonaHeads {
			if head == h {
				q := strings.TrimSpace(text[m[0]:m[3]])
				return cand, q, true
			}
		}
	}
	return "", "", false
}

// segment finds a market segment named on the site ("PME", "startups") and
// returns its phrase, the verbatim word(s) and the page.
func segment(pb *phrasebook, site *scrape.Site) (phrase, quote, url string) {
	for _, p := range site.Pages {
		low := strings.ToLower(p.Text)
		for _, s := range pb.Segments {
			for _, alt := range s.Words {
				if i := indexWord(low, alt); i >= 0 && len(low) == len(p.Text) {
					return s.Phrase, p.Text[i : i+len(alt)], p.URL
				} else if i >= 0 {
					return s.Phrase, alt, p.URL
				}
			}
		}
	}
	return "", "", ""
}

func (o *Offline) productCategory(pb *phrasebook, req Request) (string, int, int, string, []email.Evidence) {
	site := req.Site
	if site != nil {
		// 1. A category of competitors.json written verbatim on the site.
		for _, p := range site.Pages {
			norm := scrape.Normalize(p.Text + " " + p.Description + " " + strings.Join(p.Headings, " "))
			for _, c := range req.Context.Competitors {
				if strings.Contains(norm, scrape.Normalize(c.Category)) {
					return c.Category, email.LevelSite, 5, fmt.Sprintf("product_category: the site names the category %q.", c.Category),
						[]email.Evidence{{URL: p.URL, Quote: c.Category}}
				}
			}
		}
		// 2. Condensed from the H1 / meta description / text: "logiciel de ...".
		for _, p := range site.Pages {
			for _, src := range append(append(append([]string{}, p.Headings...), p.Description), p.Text) {
				if cat, ok := categoryPhrase(pb, src); ok {
					return cat, email.LevelSite, 4, fmt.Sprintf("product_category: condensed from %q.", truncate(src, 100)),
						[]email.Evidence{{URL: p.URL, Quote: cat}}
				}
			}
		}
		// 3. The competitors.json category whose words overlap the site most.
		if c, score := bestCategory(req.Context.Competitors, keywords(site.Text()+" "+req.Contact.Industry)); score >= 2 {
			return c, email.LevelInferred, 3, fmt.Sprintf("product_category: the site's vocabulary overlaps the category %q.", c), nil
		}
	}
	if ind := strings.TrimSpace(req.Contact.Industry); ind != "" {
		return strings.ReplaceAll(pb.IndustryCat, "{industry}", strings.ToLower(ind)), email.LevelInferred, 2,
			"product_category: inferred from the contact's industry.", nil
	}
	return pb.Defaults["product_category"], email.LevelDefault, 1, "product_category: no site data and no industry, configured default.", nil
}

// categoryPhrase extracts "logiciel de gestion de paie" from a sentence.
func categoryPhrase(pb *phrasebook, text string) (string, bool) {
	low := strings.ToLower(text)
	best := -1
	var head string
	for _, h := range pb.CategoryHeads {
		for off := 0; ; {
			i := strings.Index(low[off:], h+" ")
			if i < 0 {
				break
			}
			i += off
			if i == 0 || !isLetter(low[:i]) {
				if best < 0 || i < best {
					best, head = i, h
				}
				break
			}
			off = i + len(h)
		}
	}
	if best < 0 {
		return "", false
	}
	rest := text[best:]
	end := len(rest)
	for _, s := range pb.CategoryStops {
		if i := strings.Index(strings.ToLower(rest), s); i > len(head) && i < end {
			end = i
		}
	}
	if i := strings.IndexAny(rest, ".,;:!?()\n"); i >= 0 && i < end {
		end = i
	}
	cat := strings.TrimSpace(rest[:end])
	if len(strings.Fields(cat)) < 2 || len(strings.Fields(cat)) > 6 {
		return "", false
	}
	return cat, true
}

// isLetter reports whether the byte before a match ends a word (so "outil"
// does not match inside "boutil").
func isLetter(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return unicode.IsLetter(r)
}

// --- competitor ------------------------------------------------------------

func (o *Offline) competitor(pb *phrasebook, req Request) email.Answer {
	comps := req.Context.Competitors
	self := normName(req.Contact.CompanyName)
	pick := func(category string, kw map[string]bool) (clientctx.Competitor, bool) {
		var best clientctx.Competitor
		bestScore, found := -1, false
		for _, c := range comps {
			if c.Category != category || normName(c.Name) == self || (req.Site != nil && normName(c.Name) == normName(hostName(req.Site.Host))) {
				continue
			}
			if s := overlap(kw, keywords(c.Positioning)); s > bestScore {
				best, bestScore, found = c, s, true
			}
		}
		return best, found
	}
	values := func(c clientctx.Competitor) map[string]string {
		return map[string]string{"competitor_name": c.Name, "competitor_product_category": c.Category}
	}
	var kw map[string]bool
	if req.Site != nil {
		kw = keywords(req.Site.Text())
		// 1. A known competitor named on the prospect's site.
		for _, p := range req.Site.Pages {
			for _, c := range comps {
				if normName(c.Name) == self || len(c.Name) < 3 {
					continue
				}
				if i := indexWord(p.Text, c.Name); i >= 0 {
					return answer(email.LevelSite, 4, fmt.Sprintf("%s is named on the prospect's site.", c.Name), values(c),
						email.Evidence{URL: p.URL, Quote: p.Text[i : i+len(c.Name)]})
				}
			}
		}
	}
	// 2. The prospect is itself in competitors.json: another entry of its
	// category. When the site names that category itself, the match is
	// inferred from the site (level 2), else it rests on the context (3).
	for _, c := range comps {
		if normName(c.Name) == self {
			if alt, ok := pick(c.Category, kw); ok {
				why := fmt.Sprintf("%s is listed in competitors.json under %q; %s is the closest other player of that category.", c.Name, c.Category, alt.Name)
				if url, ok := req.Site.Find(c.Category); ok {
					return answer(email.LevelInferred, 4, why+" The site names the category.", values(alt), email.Evidence{URL: url, Quote: c.Category})
				}
				return answer(email.LevelContext, 3, why, values(alt))
			}
		}
	}
	// 3. The category whose words overlap the prospect's site most.
	if req.Site != nil {
		if cat, score := bestCategory(comps, keywords(req.Site.Text()+" "+req.Contact.Industry)); score >= 2 {
			if alt, ok := pick(cat, kw); ok {
				return answer(email.LevelInferred, 3, fmt.Sprintf("the site's vocabulary overlaps the category %q of competitors.json (%d shared words); %s is the closest player.", cat, score, alt.Name), values(alt))
			}
		}
	}
	return answer(email.LevelDefault, 1, "no category of competitors.json matches the prospect: configured default.",
		map[string]string{"competitor_name": pb.Defaults["competitor_name"], "competitor_product_category": pb.Defaults["competitor_product_category"]})
}

func hostName(host string) string {
	host = strings.TrimPrefix(host, "www.")
	if i := strings.IndexByte(host, '.'); i > 0 {
		return host[:i]
	}
	return host
}

func normName(s string) string {
	var b strings.Builder
	for _, r := range fold(strings.ToLower(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// indexWord finds name in text as a whole word (case-sensitive: company
// names are proper nouns), or -1.
func indexWord(text, name string) int {
	for off := 0; ; {
		i := strings.Index(text[off:], name)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(name)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (i == 0 || !unicode.IsLetter(before)) && (end == len(text) || !unicode.IsLetter(after)) {
			return i
		}
		off = end
	}
}

func bestCategory(comps []clientctx.Competitor, kw map[string]bool) (string, int) {
	score := map[string]int{}
	var order []string
	for _, c := range comps {
		if _, ok := score[c.Category]; !ok {
			order = append(order, c.Category)
			score[c.Category] = 0
		}
	}
	for _, cat := range order {
		words := keywords(cat)
		for _, c := range comps {
			if c.Category == cat {
				for w := range keywords(c.Positioning) {
					words[w] = true
				}
			}
		}
		score[cat] = overlap(kw, keywords(cat))*2 + overlap(kw, words)
	}
	best, bestScore := "", 0
	for _, cat := range order {
		if score[cat] > bestScore {
			best, bestScore = cat, score[cat]
		}
	}
	return best, bestScore
}

// --- pain ------------------------------------------------------------------

func (o *Offline) pain(pb *phrasebook, req Request) email.Answer {
	pains := req.Context.Pains
	if len(pains) == 0 {
		return answer(email.LevelDefault, 1, "pain_points.md has no \"## \" section: configured default.", map[string]string{
			"solve_specific_pain": pb.Defaults["solve_specific_pain"], "problem_specific": pb.Defaults["problem_specific"], "impact_measurable": pb.Defaults["impact_measurable"]})
	}
	kw := keywords(req.Contact.Industry)
	if req.Site != nil {
		for w := range keywords(req.Site.Text()) {
			kw[w] = true
		}
	}
	best, bestScore := 0, 0
	var shared []string
	for i, p := range pains {
		pk := keywords(p.Title + " " + p.Body)
		if s := overlap(kw, pk); s > bestScore {
			best, bestScore = i, s
			shared = sharedWords(kw, pk)
		}
	}
	p := pains[best]
	impact := p.Impact
	if impact == "" {
		impact = pb.Defaults["impact_measurable"]
	}
	values := map[string]string{"solve_specific_pain": p.Title, "problem_specific": firstSentence(p.Body, p.Title), "impact_measurable": impact}
	if bestScore >= 3 {
		return answer(email.LevelInferred, 3, fmt.Sprintf("pain %q shares the words %s with the prospect's site and industry.", p.Title, strings.Join(shared, ", ")), values)
	}
	return answer(email.LevelContext, 2, fmt.Sprintf("no pain of pain_points.md overlaps the prospect's site clearly; %q is the closest.", p.Title), values)
}

func firstSentence(body, fallback string) string {
	body = strings.TrimSpace(body)
	if i := strings.IndexAny(body, ".!?\n"); i > 0 {
		body = body[:i]
	}
	if body == "" {
		return fallback
	}
	return body
}

// --- signal ----------------------------------------------------------------

func (o *Offline) signal(pb *phrasebook, req Request) email.Answer {
	persona := req.Inputs["target_persona"]
	category := req.Inputs["product_category"]
	seg := ""
	if req.Site != nil {
		seg, _, _ = segment(pb, req.Site)
	}
	r1, _ := Signal.Rule("specific_target_1")
	r2, _ := Signal.Rule("specific_target_2")
	s1 := compose(r1, pb.Signal1, map[string]string{"persona": persona})
	if seg != "" {
		s1 = compose(r1, pb.Signal1Segment, map[string]string{"segment": seg, "persona": persona})
	}
	s2 := compose(r2, pb.Signal2, map[string]string{"category": category})
	return answer(email.LevelInferred, 3, fmt.Sprintf("built from the persona %q and the category %q: signal 1 (volume) is companies hiring that persona, signal 2 (niche) funded companies still without such a product.", persona, category),
		map[string]string{"specific_target_1": s1, "specific_target_2": s2})
}

// --- system ----------------------------------------------------------------

func (o *Offline) system(pb *phrasebook, req Request) email.Answer {
	r1, _ := System.Rule("system_1")
	r2, _ := System.Rule("system_2")
	return answer(email.LevelInferred, 3, "three steps built from the persona and the pain point.", map[string]string{
		"system_1": compose(r1, pb.System1, map[string]string{"persona": req.Inputs["target_persona"]}),
		"system_2": compose(r2, pb.System2, map[string]string{"pain": lowerFirst(req.Inputs["solve_specific_pain"])}),
		"system_3": pb.System3,
	})
}

// --- case study ------------------------------------------------------------

func (o *Offline) caseStudy(pb *phrasebook, req Request) email.Answer {
	cases := req.Context.CaseStudies
	if len(cases) == 0 {
		return answer(email.LevelDefault, 1, "no case study in case_studies/: configured default.", map[string]string{
			"case_study_insight": pb.Defaults["case_study_insight"], "case_study_result": pb.Defaults["case_study_result"]})
	}
	ind := keywords(req.Contact.Industry)
	kw := keywords(req.Contact.Industry)
	if req.Site != nil {
		for w := range keywords(req.Site.Text()) {
			kw[w] = true
		}
	}
	best, bestScore, industryMatch := 0, -1, false
	for i, c := range cases {
		im := overlap(ind, keywords(c.Industry)) > 0
		s := overlap(kw, keywords(c.Industry+" "+c.Body))
		if im {
			s += 100
		}
		if s > bestScore {
			best, bestScore, industryMatch = i, s, im
		}
	}
	c := cases[best]
	result := lowerFirst(c.Result)
	if result == "" {
		result = pb.Defaults["case_study_result"]
	}
	ri, _ := CaseStudy.Rule("case_study_insight")
	insight := compose(ri, pb.CaseInsight, map[string]string{"client": c.Client, "result": result})
	if c.Industry != "" {
		insight = compose(ri, pb.CaseInsightInd, map[string]string{"client": c.Client, "industry": c.Industry, "result": result})
	}
	values := map[string]string{"case_study_insight": insight, "case_study_result": result}
	if industryMatch {
		// The client's own case study, chosen because the prospect's industry
		// matches: relevance inferred from the industry (level 2).
		return answer(email.LevelInferred, 4, fmt.Sprintf("case study %s is in the prospect's industry (%s).", c.File, c.Industry), values)
	}
	return answer(email.LevelContext, 3, fmt.Sprintf("no case study in the prospect's industry; %s shares the most words with its site.", c.File), values)
}

// --- keywords --------------------------------------------------------------

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`le la les un une des de du d l et ou en au aux a à pour par sur avec dans que qui quoi dont ce cette ces
		son sa ses leur leurs vos votre nos notre vous nous ils elles il elle on est sont être plus moins très tout tous toute toutes
		pas ne se sa sans chez comme mais donc car si y
		the a an and or of to in on for with by at from is are be as it its your our we you they this that these those not no more
		solution solutions logiciel plateforme outil service services entreprise entreprises equipe equipes client clients`) {
		stopwords[fold(w)] = true
	}
}

// keywords returns the folded, de-pluralised content words of text.
func keywords(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range lexicon.Words(strings.ToLower(text)) {
		w = fold(w)
		if i := strings.LastIndexByte(w, '\''); i >= 0 {
			w = w[i+1:] // "l'equipe" -> "equipe"
		}
		if utf8.RuneCountInString(w) < 3 || stopwords[w] {
			continue
		}
		w = strings.TrimSuffix(w, "s")
		if stopwords[w] {
			continue
		}
		out[w] = true
	}
	return out
}

func overlap(a, b map[string]bool) int {
	n := 0
	for w := range b {
		if a[w] {
			n++
		}
	}
	return n
}

func sharedWords(a, b map[string]bool) []string {
	var out []string
	for w := range b {
		if a[w] {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

func fold(s string) string { return strings.ReplaceAll(lexicon.Fold(s), "’", "'") }
