package lexicon

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Detect guesses whether text is French ("fr") or English ("en") by
// counting the stopwords of each language in it. Ties, including a text
// without any stopword, give "fr".
func Detect(text string) string {
	fr, en := byLang["fr"].stopwords, byLang["en"].stopwords
	var nfr, nen int
	for _, t := range matchTokens(text) {
		if r, _ := utf8.DecodeRuneInString(t.text); !isWordRune(r) {
			continue
		}
		w := strings.ToLower(norm.NFC.String(text[t.start:t.end])) // accents kept: "à" is not "a"
		inFr, inEn := fr[w], en[w]
		switch {
		case inFr && !inEn:
			nfr++
		case inEn && !inFr:
			nen++
		}
	}
	if nen > nfr {
		return "en"
	}
	return "fr"
}
