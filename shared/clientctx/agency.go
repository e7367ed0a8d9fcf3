package clientctx

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// agencyLabels name the agency in pci.md ("Agence : Prospectia") or in its
// front matter ("agency: Prospectia").
var agencyLabels = newLabels(map[string]string{
	"agency": "agence|agency|notre agence|our agency|nom de l'agence|agency name|nom|name|société|company|" +
		"notre société|our company|prestataire|cabinet|marque|brand",
})

// titleName matches the name a title gives: "Profil client idéal (PCI) de
// Prospectia", "Ideal customer profile of Acme", "Personas acheteurs de
// Signalis", "Problèmes que Signalis résout", "Prospectia — PCI".
var (
	titleOf    = regexp.MustCompile(`(?i)\s(?:de|d'|d’|of|for|pour|chez|at)\s*([\p{Lu}\p{N}][\p{L}\p{N}&.'’-]*(?:\s+[\p{Lu}\p{N}][\p{L}\p{N}&.'’-]*){0,3})\s*$`)
	titleThat  = regexp.MustCompile(`(?i)\s(?:que|qu'|qu’|that|which)\s*([\p{Lu}\p{N}][\p{L}\p{N}&.'’-]*(?:\s+[\p{Lu}\p{N}][\p{L}\p{N}&.'’-]*){0,3})\s+\p{L}+\s*$`)
	titleFirst = regexp.MustCompile(`^([\p{Lu}\p{N}][\p{L}\p{N}&.'’-]*(?:\s+[\p{Lu}\p{N}][\p{L}\p{N}&.'’-]*){0,3})\s*(?:[—–:|-]|\()\s*\S`)
)

// genericNames are title words that are no agency name.
var genericNames = map[string]bool{"pci": true, "icp": true, "profil": true, "profile": true, "client": true, "clients": true,
	"persona": true, "personas": true, "b2b": true, "saas": true, "pme": true, "eti": true, "smb": true, "smbs": true,
	"ideal customer profile": true, "profil client ideal": true, "cible": true, "target": true, "pain points": true,
	"problemes": true, "problems": true, "france": true, "europe": true, "nous": true, "we": true}

// findAgency returns the agency's name from pci.md: its front matter or an
// "Agence :" line, else a name that the title of pci.md (or of
// personas.md, pain_points.md) gives and that the files use again
// elsewhere; "" when none is found.
func findAgency(pci, personas, pains string) string {
	lines := strings.Split(pci, "\n")
	fm, body, bodyLine, _ := splitFrontMatter(lines)
	if fm != nil {
		if entries, bad := parseFrontMatter(fm); bad < 0 {
			for _, e := range entries {
				if agencyLabels.key(e.key) == "agency" && nameLike(e.value) {
					return e.value
				}
			}
		}
	}
	md := mdLines(body, bodyLine)
	for _, l := range md {
		if l.heading > 0 || l.bullet {
			continue
		}
		if lab, ok := splitLabel(l.text, agencyLabels); ok && lab.key == "agency" {
			if v := trimPeriod(cleanInline(lab.value)); nameLike(v) {
				return v
			}
		}
	}
	all := fold(pci + "\n" + personas + "\n" + pains)
	for _, text := range []string{pci, personas, pains} {
		title := firstTitle(text)
		if title == "" {
			continue
		}
		for _, re := range []*regexp.Regexp{titleOf, titleThat, titleFirst} {
			m := re.FindStringSubmatch(title)
			if m == nil {
				continue
			}
			name := strings.TrimRight(m[1], ".'’-")
			if !nameLike(name) {
				continue
			}
			// Used again outside the title: a name, not a phrase of the title.
			if countWord(all, fold(name)) >= 2 {
				return name
			}
		}
	}
	return ""
}

// firstTitle is the first heading of a markdown text, without emphasis.
func firstTitle(text string) string {
	for _, l := range mdLines(strings.Split(text, "\n"), 1) {
		if l.heading > 0 {
			return cleanInline(l.text)
		}
		if !l.blank && l.heading == 0 {
			// Front matter or text before any heading: keep looking for a
			// heading only among the first lines.
			if l.n > 12 {
				break
			}
		}
	}
	return ""
}

// nameLike reports whether s can be a company name: one to five words,
// starting with a capital letter or a digit, not a generic title word.
func nameLike(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || len(strings.Fields(s)) > 5 || utf8.RuneCountInString(s) > 60 || genericNames[fold(s)] {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r) || unicode.IsDigit(r)
}

// countWord counts the whole-word occurrences of w in the folded text.
func countWord(text, w string) int {
	if w == "" {
		return 0
	}
	n := 0
	for i := 0; ; {
		j := strings.Index(text[i:], w)
		if j < 0 {
			return n
		}
		j += i
		end := j + len(w)
		if boundary(text, j-1) && boundary(text, end) {
			n++
		}
		i = end
	}
}

// boundary reports whether text[i] (or the edge) separates words.
func boundary(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	if r == utf8.RuneError {
		r, _ = utf8.DecodeLastRuneInString(text[:i+1])
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}
