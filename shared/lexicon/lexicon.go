// Package lexicon holds the per-language word lists used to check emails
// (corporate jargon, spam triggers, job-title words, stopwords) and the
// tokenizer that counts words. Lists live in embedded files, fr/*.txt and
// en/*.txt, one term per line with # comments.
//
// Jargon and spam matching is case-insensitive and accent-insensitive, on
// word boundaries: hyphens and apostrophes separate words ("game-changer"
// matches "game changer", "l'innovant" matches "innovant"). A list entry
// ending in * matches any ending of its last word; other entries match
// exactly, so "leader" does not match "leadership".
package lexicon

import (
	"embed"
	"path"
	"strings"
)

//go:embed fr/*.txt en/*.txt all/*.txt
var files embed.FS

// entry is one list term, tokenized and folded.
type entry struct {
	words []string
	stem  bool // the last word matches as a prefix
}

// matcher finds list entries in token streams.
type matcher struct {
	byFirst map[string][]entry // entries whose first word is exact
	stems   []entry            // single-word stem entries
}

type lists struct {
	jargon, spam matcher
	roles        map[string]bool // folded single words
	stopwords    map[string]bool // lower-cased, accents kept
}

var byLang = map[string]*lists{
	"fr": load("fr"),
	"en": load("en"),
}

// Supported reports whether lang ("fr", "en", "fr-FR", "EN_us", ...) has
// its own lists. The functions of this package fall back to the English
// lists for other languages.
func Supported(lang string) bool {
	_, ok := byLang[BaseLang(lang)]
	return ok
}

// BaseLang reduces a language tag to its base code: "fr-FR", " FR_ca" → "fr".
func BaseLang(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return lang
}

func listsFor(lang string) *lists {
	if l, ok := byLang[BaseLang(lang)]; ok {
		return l
	}
	return byLang["en"]
}

// Jargon returns the corporate-jargon terms of lang's list found in text,
// as written in text, each distinct term once, in order of appearance.
func Jargon(lang, text string) []string {
	return listsFor(lang).jargon.find(text)
}

// Spam returns the spam-trigger words and phrases of lang's list found in
// text, as written in text, each distinct term once, in order of
// appearance.
func Spam(lang, text string) []string {
	return listsFor(lang).spam.find(text)
}

// find returns the snippets of text matching the matcher's entries. At each
// position the longest entry wins and matches do not overlap.
func (m *matcher) find(text string) []string {
	toks := matchTokens(text)
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(toks); {
		n := m.longestAt(toks[i:])
		if n == 0 {
			i++
			continue
		}
		snippet := text[toks[i].start:toks[i+n-1].end]
		key := foldSnippet(toks[i : i+n])
		if !seen[key] {
			seen[key] = true
			out = append(out, snippet)
		}
		i += n
	}
	return out
}

func foldSnippet(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}

// longestAt returns the number of tokens of the longest entry matching at
// the start of toks, or 0.
func (m *matcher) longestAt(toks []token) int {
	best := 0
	for _, e := range m.byFirst[toks[0].text] {
		if n := len(e.words); n > best && e.matches(toks) {
			best = n
		}
	}
	if best == 0 {
		for _, e := range m.stems {
			if e.matches(toks) {
				return 1
			}
		}
	}
	return best
}

func (e entry) matches(toks []token) bool {
	if len(toks) < len(e.words) {
		return false
	}
	last := len(e.words) - 1
	for i, w := range e.words {
		if e.stem && i == last {
			if !strings.HasPrefix(toks[i].text, w) {
				return false
			}
		} else if toks[i].text != w {
			return false
		}
	}
	return true
}

func load(lang string) *lists {
	l := &lists{
		jargon:    newMatcher(readList(lang, "jargon.txt")),
		spam:      newMatcher(readList(lang, "spam.txt")),
		roles:     map[string]bool{},
		stopwords: map[string]bool{},
	}
	for _, r := range readList(lang, "roles.txt") {
		l.roles[Fold(r)] = true
	}
	for _, w := range readList(lang, "stopwords.txt") {
		l.stopwords[strings.ToLower(w)] = true
	}
	return l
}

// readList returns the terms of an embedded list file. The files are part
// of the package (a missing one fails the tests), so a read error yields an
// empty list rather than a panic.
func readList(lang, name string) []string {
	data, err := files.ReadFile(path.Join(lang, name))
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func newMatcher(terms []string) matcher {
	m := matcher{byFirst: map[string][]entry{}}
	for _, t := range terms {
		stem := strings.HasSuffix(t, "*")
		t = strings.TrimSuffix(t, "*")
		toks := matchTokens(t)
		if len(toks) == 0 {
			continue
		}
		e := entry{words: make([]string, len(toks)), stem: stem}
		for i, tk := range toks {
			e.words[i] = tk.text
		}
		if stem && len(e.words) == 1 {
			m.stems = append(m.stems, e)
		} else {
			m.byFirst[e.words[0]] = append(m.byFirst[e.words[0]], e)
		}
	}
	return m
}
