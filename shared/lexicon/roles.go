package lexicon

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTitleWords caps the length of a reported job-title snippet.
const maxTitleWords = 8

// TitleCasedRoles returns the job titles of text written in Title Case
// where the campaign's convention wants lower case ("vos directeurs
// financiers", "notre vP Sales"). A snippet is reported when
//
//   - a role word of lang's roles.txt (directeur, responsable, head, vp,
//     manager, ...) is capitalised and does not start a sentence or line:
//     "… aux Directeurs Financiers …", "… notre Head of Sales …";
//   - or a capitalised or all-caps role word is directly followed by a
//     capitalised word, wherever it is: "VP Sales", "Head Of Sales" or
//     "Directeur Financier" at the start of a line.
//
// All-caps acronyms (CEO, DRH, DAF, VP alone) and words starting with a
// lower-case letter ("vP Sales") are fine. Each snippet is the whole title
// as written, reported once, in order of appearance.
func TitleCasedRoles(lang, text string) []string {
	l := listsFor(lang)
	spans := scanWords(text)
	word := func(i int) string { return casingCore(text[spans[i].start:spans[i].end]) }
	adjacent := func(i int) bool { // spans[i-1] and spans[i] are separated by spaces only
		gap := text[spans[i-1].end:spans[i].start]
		return gap != "" && strings.TrimFunc(gap, isInlineSpace) == ""
	}
	startsSentence := func(i int) bool {
		return i == 0 || strings.ContainsAny(text[spans[i-1].end:spans[i].start], ".!?…\n\r")
	}

	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(spans); i++ {
		w := word(i)
		c := casingOf(w)
		if c == lowerCase || !l.isRole(w) {
			continue
		}
		nextTitle := i+1 < len(spans) && adjacent(i+1) && casingOf(word(i+1)) == titleCase
		if !nextTitle && (c != titleCase || startsSentence(i)) {
			continue
		}
		first := i
		for first > 0 && i-first < maxTitleWords/2 && adjacent(first) && casingOf(word(first-1)) != lowerCase {
			if startsSentence(first - 1) {
				if !l.stopwords[strings.ToLower(word(first-1))] {
					first--
				}
				break
			}
			first--
		}
		last := i
		for j := i + 1; j < len(spans) && j-first < maxTitleWords && adjacent(j); j++ {
			if casingOf(word(j)) != lowerCase {
				last = j
				continue
			}
			// up to two connectors, then a capitalised word
			k := j
			for k < len(spans) && k-j < 2 && connectors[Fold(word(k))] && k+1 < len(spans) && adjacent(k+1) {
				k++
			}
			if k == j || casingOf(word(k)) != titleCase {
				break
			}
			last, j = k, k
		}
		snippet := text[spans[first].start:spans[last].end]
		if key := Fold(snippet); !seen[key] {
			seen[key] = true
			out = append(out, snippet)
		}
		i = last
	}
	return out
}

// connectors are the lower-case words allowed inside a title ("Directeur
// des Ventes", "Directrice de la Relation Client", "Head of Sales").
var connectors = map[string]bool{
	"of": true, "the": true, "and": true,
	"de": true, "des": true, "du": true, "la": true, "et": true,
}

func isInlineSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\u00a0' || r == '\u202f' }

func (l *lists) isRole(w string) bool {
	f := Fold(w)
	if l.roles[f] {
		return true
	}
	if strings.ContainsFunc(f, isHyphen) { // "Co-Fondateur"
		if l.roles[strings.Map(func(r rune) rune {
			if isHyphen(r) {
				return -1
			}
			return r
		}, f)] {
			return true
		}
		for _, part := range strings.FieldsFunc(f, isHyphen) {
			if l.roles[part] {
				return true
			}
		}
	}
	return false
}

// casingCore returns the part of a word that carries its casing: the word
// after an elision ("d'Entreprise" → "Entreprise"), before a possessive
// ("Founder's" → "Founder").
func casingCore(w string) string {
	i := strings.LastIndexFunc(w, isApostrophe)
	if i < 0 {
		return w
	}
	_, size := utf8.DecodeRuneInString(w[i:])
	if after := w[i+size:]; after != "s" && after != "S" {
		return after
	}
	return w[:i]
}

type casing int

const (
	lowerCase casing = iota // first letter lower case, or no letter ("vP", "sales")
	titleCase               // first letter upper case, not all caps ("Sales", "Of")
	upperCase               // all caps, two letters or more, plural "s" allowed ("VP", "CEOs")
)

func casingOf(w string) casing {
	var letters, upper int
	firstUpper, seenLetter := false, false
	for _, r := range w {
		if !unicode.IsLetter(r) {
			continue
		}
		if !seenLetter {
			seenLetter = true
			firstUpper = unicode.IsUpper(r) || unicode.IsTitle(r)
		}
		letters++
		if unicode.IsUpper(r) {
			upper++
		}
	}
	if !firstUpper {
		return lowerCase
	}
	if upper == letters && letters >= 2 ||
		upper == letters-1 && letters >= 3 && strings.HasSuffix(w, "s") {
		return upperCase
	}
	return titleCase
}

// IsAcronym reports whether w is written as an acronym: no lower-case
// letter and at least two capitals ("PME", "DAF", "B2B").
func IsAcronym(w string) bool {
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

// StartsWithAcronym reports whether the first word of s is an acronym.
func StartsWithAcronym(s string) bool {
	w, _, _ := strings.Cut(s, " ")
	return IsAcronym(strings.TrimRight(w, ",;:.'’"))
}

// LowerFirst lower-cases the first letter of s, unless its first word is
// an acronym ("PME", "CRM"), which keeps its capitals.
func LowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) || StartsWithAcronym(s) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
