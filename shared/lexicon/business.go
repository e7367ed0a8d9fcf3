package lexicon

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the cross-language lists of all/: buyer functions,
// product concepts, company legal forms and the cue words that tell how a
// page mentions another company.

// tagged is a list entry that stands for one or more ids (a buyer function,
// a concept).
type tagged struct {
	entry
	ids []string
}

// tagIndex finds the longest tagged entry at a token position.
type tagIndex struct {
	byFirst map[string][]tagged // entries whose first word is exact
	stems   []tagged            // single-word stem entries
}

func (x *tagIndex) add(term, id string) {
	stem := strings.HasSuffix(term, "*")
	toks := matchTokens(strings.TrimSuffix(term, "*"))
	if len(toks) == 0 {
		return
	}
	e := entry{words: make([]string, len(toks)), stem: stem}
	for i, t := range toks {
		e.words[i] = t.text
	}
	if stem && len(e.words) == 1 {
		x.stems = addTagged(x.stems, e, id)
		return
	}
	if x.byFirst == nil {
		x.byFirst = map[string][]tagged{}
	}
	x.byFirst[e.words[0]] = addTagged(x.byFirst[e.words[0]], e, id)
}

// addTagged adds id to e's ids in list, adding e when it is new.
func addTagged(list []tagged, e entry, id string) []tagged {
	for i := range list {
		if t := &list[i]; t.stem == e.stem && equalWords(t.words, e.words) {
			if !slices.Contains(t.ids, id) {
				t.ids = append(t.ids, id)
			}
			return list
		}
	}
	return append(list, tagged{entry: e, ids: []string{id}})
}

// longestAt returns the length in tokens of the longest entry matching at
// the start of toks and its ids (nil when none matches).
func (x *tagIndex) longestAt(toks []token) (int, []string) {
	best, ids := 0, []string(nil)
	for _, e := range x.byFirst[toks[0].text] {
		if n := len(e.words); n > best && e.matches(toks) {
			best, ids = n, e.ids
		}
	}
	if best > 0 {
		return best, ids
	}
	for _, e := range x.stems {
		if e.matches(toks) {
			return 1, e.ids
		}
	}
	return 0, nil
}

// Buyer is a buyer function of all/buyers.txt: a team a B2B product is
// sold to.
type Buyer struct {
	ID   string
	team map[string]string // by language
	role map[string]string
}

// Team is the phrase naming the buyers in lang ("équipes commerciales",
// "sales teams"); English for other languages.
func (b Buyer) Team(lang string) string { return pick(b.team, lang) }

// Role is who such a team is made of, in lang ("commerciaux", "sales reps").
func (b Buyer) Role(lang string) string { return pick(b.role, lang) }

func pick(m map[string]string, lang string) string {
	if v, ok := m[BaseLang(lang)]; ok {
		return v
	}
	return m["en"]
}

// BuyerMatch is a buyer function named in a text.
type BuyerMatch struct {
	Buyer
	Snippet string // the words of the text that name it, as written
}

var (
	buyers     = map[string]Buyer{}
	buyerIndex tagIndex
	concepts   tagIndex
	legalForms [][]string // folded token sequences
	// conceptBuyers maps a concept to its usual buyer (concept_buyers.txt).
	conceptBuyers = map[string]Buyer{}
	cues          = map[Cue]matcher{}
	// foldedStops are the stopwords of every language, folded.
	foldedStops = map[string]bool{}
)

// Cue is a kind of context in which a page names another company.
type Cue string

// The cue lists of all/.
const (
	CueCompare  Cue = "compare"  // "alternative to", "vs", "contrairement à"
	CueRelation Cue = "relation" // integrations, partners, parent companies, customers
	CueCareers  Cue = "careers"  // "we're hiring", "nous recrutons"
)

func init() {
	for _, line := range readList("all", "buyers.txt") {
		f := strings.Split(line, "|")
		if len(f) != 6 {
			continue // the list test reports malformed lines
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		b := Buyer{ID: f[0], team: map[string]string{"fr": f[1], "en": f[2]}, role: map[string]string{"fr": f[3], "en": f[4]}}
		buyers[b.ID] = b
		for _, t := range strings.Split(f[5], ",") {
			buyerIndex.add(strings.TrimSpace(t), b.ID)
		}
	}
	for _, line := range readList("all", "concepts.txt") {
		id, terms, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, t := range strings.Split(terms, ",") {
			concepts.add(strings.TrimSpace(t), strings.TrimSpace(id))
		}
	}
	for _, line := range readList("all", "concept_buyers.txt") {
		concept, buyer, ok := strings.Cut(line, ":")
		if b, known := buyers[strings.TrimSpace(buyer)]; ok && known {
			conceptBuyers[strings.TrimSpace(concept)] = b
		}
	}
	for _, l := range readList("all", "legal.txt") {
		var words []string
		for _, t := range matchTokens(l) {
			words = append(words, t.text)
		}
		legalForms = append(legalForms, words)
	}
	// longest first: "S.A.S." is one form, not "A/S" after an "S"
	slices.SortStableFunc(legalForms, func(a, b []string) int { return len(b) - len(a) })
	for _, c := range []Cue{CueCompare, CueRelation, CueCareers} {
		cues[c] = newMatcher(readList("all", string(c)+".txt"))
	}
	for _, l := range byLang {
		for w := range l.stopwords {
			foldedStops[Fold(w)] = true
		}
	}
}

// Buyers returns the buyer functions named in text, in order of
// appearance, each once.
func Buyers(text string) []BuyerMatch {
	toks := matchTokens(text)
	var out []BuyerMatch
	seen := map[string]bool{}
	for i := 0; i < len(toks); {
		n, ids := buyerIndex.longestAt(toks[i:])
		if n == 0 {
			i++
			continue
		}
		snippet := text[toks[i].start:toks[i+n-1].end]
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, BuyerMatch{Buyer: buyers[id], Snippet: snippet})
			}
		}
		i += n
	}
	return out
}

// BuyerByID returns a buyer function of all/buyers.txt.
func BuyerByID(id string) (Buyer, bool) {
	b, ok := buyers[id]
	return b, ok
}

// ConceptBuyer returns the buyer function that usually buys a product of
// concept (a concept of Terms, with or without its "#").
func ConceptBuyer(concept string) (Buyer, bool) {
	b, ok := conceptBuyers[strings.TrimPrefix(concept, "#")]
	return b, ok
}

// Terms returns the words of text that tell what a company does, for
// comparing texts by similarity: a term of all/concepts.txt gives its
// concept ("#telephony" for "téléphonie", "calls" or "VoIP"), generic words
// (concept "_"), stopwords, numbers and words under three letters are
// dropped, and other words are folded with a final plural s removed.
// Terms repeat as often as they occur.
func Terms(text string) []string {
	toks := matchTokens(text)
	var out []string
	for i := 0; i < len(toks); {
		if n, ids := concepts.longestAt(toks[i:]); n > 0 {
			for _, id := range ids {
				if id != "_" {
					out = append(out, "#"+id)
				}
			}
			i += n
			continue
		}
		w := toks[i].text
		i++
		if utf8.RuneCountInString(w) < 3 || foldedStops[w] || !hasLetter(w) {
			continue
		}
		if len(w) > 3 && strings.HasSuffix(w, "s") {
			w = w[:len(w)-1]
		}
		out = append(out, w)
	}
	return out
}

func hasLetter(w string) bool { return strings.ContainsFunc(w, unicode.IsLetter) }

// CompanyKey is the comparison form of a company name: folded, without
// punctuation, spaces, a parenthesised part or trailing legal forms, so
// "Salario SAS", "salario" and "FrontApp, Inc." vs "Frontapp" compare
// equal. It is "" for a name made only of legal words.
func CompanyKey(name string) string {
	if i := strings.IndexByte(name, '('); i > 0 {
		name = name[:i]
	}
	var words []string
	for _, t := range matchTokens(name) {
		if r, _ := utf8.DecodeRuneInString(t.text); isWordRune(r) {
			words = append(words, t.text)
		}
	}
	for stripped := true; stripped && len(words) > 1; {
		stripped = false
		for _, lf := range legalForms {
			if n := len(lf); n < len(words) && equalWords(words[len(words)-n:], lf) {
				words, stripped = words[:len(words)-n], true
				break
			}
		}
	}
	return strings.Join(words, "")
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// HasCue returns the first word or phrase of cue's list found in text.
func HasCue(c Cue, text string) (string, bool) {
	m, ok := cues[c]
	if !ok {
		return "", false
	}
	if found := m.find(text); len(found) > 0 {
		return found[0], true
	}
	return "", false
}
