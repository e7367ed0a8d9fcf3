package evaluation

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold lower-cases s, removes accents (é → e, ç → c), spells out ligatures
// (œ → oe), maps typographic apostrophes to ASCII and collapses white space:
// keyword matching compares folded strings. It is deliberately independent
// of the engines' own folding, so that changing the engines cannot change
// how they are judged.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading space
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		space = false
		switch r {
		case '\u2019', '\u2018', '\u02bc', '`', '\u00b4':
			b.WriteByte('\'')
		case 'œ', 'Œ':
			b.WriteString("oe")
		case 'æ', 'Æ':
			b.WriteString("ae")
		case 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

// MatchKeyword reports whether value contains one of keywords as a plain
// substring after folding (case- and accent-insensitive, no word
// boundaries: the labels' short stems such as "commercia" rely on it), and
// returns the first keyword that matched.
func MatchKeyword(value string, keywords []string) (string, bool) {
	v := Fold(value)
	if v == "" {
		return "", false
	}
	for _, k := range keywords {
		if fk := Fold(k); fk != "" && strings.Contains(v, fk) {
			return k, true
		}
	}
	return "", false
}

// legalSuffixes are company legal forms, folded and without punctuation:
// they are stripped from the end of a company name before comparing names.
var legalSuffixes = map[string]bool{
	// France, Belgium, Luxembourg, Switzerland
	"sa": true, "sas": true, "sasu": true, "sarl": true, "eurl": true, "sca": true, "snc": true, "sci": true,
	// English-speaking countries
	"inc": true, "incorporated": true, "ltd": true, "limited": true, "llc": true, "llp": true, "lp": true,
	"plc": true, "corp": true, "corporation": true, "co": true, "pty": true, "pte": true,
	// Germany, Austria, Europe
	"gmbh": true, "ag": true, "kg": true, "kgaa": true, "ug": true, "se": true, "ev": true,
	// Benelux, Nordics, Baltics, Southern Europe, Japan
	"bv": true, "nv": true, "ab": true, "as": true, "asa": true, "aps": true, "oy": true, "oyj": true, "ou": true,
	"spa": true, "srl": true, "sl": true, "slu": true, "kk": true,
}

var (
	// "s.a.s.", "S.A.", "e.V." → "sas", "sa", "ev": dotted abbreviations lose their dots.
	dottedAbbrev = regexp.MustCompile(`\b(?:\pL\.){2,}`)
	// "A/S" → "as".
	slashAbbrev = regexp.MustCompile(`\b(\pL)/(\pL)\b`)
)

// NameTokens returns a company name as folded words, with punctuation
// removed and trailing legal forms stripped: "Personio SE & Co. KG" →
// [personio], "Pleo Technologies A/S" → [pleo technologies]. A name made
// only of legal-form words keeps its first word.
func NameTokens(name string) []string {
	s := Fold(name)
	s = dottedAbbrev.ReplaceAllStringFunc(s, func(m string) string { return strings.ReplaceAll(m, ".", "") })
	s = slashAbbrev.ReplaceAllString(s, "$1$2")
	tokens := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for len(tokens) > 1 && legalSuffixes[tokens[len(tokens)-1]] {
		tokens = tokens[:len(tokens)-1]
	}
	return tokens
}

// NameKey is the form two company names are compared in: NameTokens joined
// without separators, so "Bamboo HR LLC", "BambooHR" and "bamboohr" are the
// same company. "" for a name with no letter or digit.
func NameKey(name string) string { return strings.Join(NameTokens(name), "") }

// SameCompany reports whether two names denote the same company once
// normalised (case, accents, punctuation, legal suffixes).
func SameCompany(a, b string) bool {
	ka := NameKey(a)
	return ka != "" && ka == NameKey(b)
}

// MatchName returns the first of names that is the same company as name.
func MatchName(name string, names []string) (string, bool) {
	k := NameKey(name)
	if k == "" {
		return "", false
	}
	for _, n := range names {
		if NameKey(n) == k {
			return n, true
		}
	}
	return "", false
}
