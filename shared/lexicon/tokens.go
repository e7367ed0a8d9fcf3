package lexicon

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// span is a token's byte range in the original text.
type span struct{ start, end int }

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' }

func isHyphen(r rune) bool { return r == '-' || r == '‐' || r == '‑' }

// Words splits text into the words used for counting. A word is a run of
// letters and digits (accented letters included); an apostrophe or hyphen
// between two such characters stays inside the word, as does a '.' or ','
// between two digits. So "l'équipe", "e-mail", "aujourd'hui" and "3,5" are
// one word each, like a word processor counts them. A URL or e-mail address
// ("https://…", "www.…", "a@b.fr") is one word. Punctuation, symbols and
// emoji are not words: "100 %" is one word.
func Words(text string) []string {
	spans := scanWords(text)
	words := make([]string, len(spans))
	for i, s := range spans {
		words[i] = text[s.start:s.end]
	}
	return words
}

// scanWords returns the spans of Words.
func scanWords(text string) []span {
	var out []span
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		// A whitespace-delimited field that is a URL or address is one word.
		fieldEnd := i
		for fieldEnd < len(text) {
			fr, fs := utf8.DecodeRuneInString(text[fieldEnd:])
			if unicode.IsSpace(fr) {
				break
			}
			fieldEnd += fs
		}
		if s, ok := urlSpan(text, i, fieldEnd); ok {
			out = append(out, s)
			i = fieldEnd
			continue
		}
		out = appendFieldWords(out, text, i, fieldEnd)
		i = fieldEnd
	}
	return out
}

// urlSpan reports whether text[start:end] is a URL or e-mail address,
// and returns it without surrounding punctuation.
func urlSpan(text string, start, end int) (span, bool) {
	f := text[start:end]
	lower := strings.ToLower(f)
	at := strings.Index(lower, "@")
	if !strings.Contains(lower, "://") && !strings.Contains(lower, "www.") &&
		!(at > 0 && strings.Contains(lower[at:], ".")) {
		return span{}, false
	}
	s, e := start, end
	for s < e {
		r, size := utf8.DecodeRuneInString(text[s:e])
		if isWordRune(r) {
			break
		}
		s += size
	}
	for e > s {
		r, size := utf8.DecodeLastRuneInString(text[s:e])
		if isWordRune(r) || r == '/' {
			break
		}
		e -= size
	}
	return span{s, e}, e > s
}

// appendFieldWords appends the words of the whitespace-free field
// text[start:end].
func appendFieldWords(out []span, text string, start, end int) []span {
	wordStart := -1
	var prev rune
	for i := start; i < end; {
		r, size := utf8.DecodeRuneInString(text[i:end])
		switch {
		case isWordRune(r):
			if wordStart < 0 {
				wordStart = i
			}
		case wordStart >= 0 && joins(prev, r, text[i+size:end]):
			// stays inside the word
		default:
			if wordStart >= 0 {
				out = append(out, span{wordStart, i})
				wordStart = -1
			}
		}
		prev = r
		i += size
	}
	if wordStart >= 0 {
		out = append(out, span{wordStart, end})
	}
	return out
}

// joins reports whether the separator r, between prev and the text rest,
// stays inside a word.
func joins(prev, r rune, rest string) bool {
	next, _ := utf8.DecodeRuneInString(rest)
	if next == utf8.RuneError || !isWordRune(prev) || !isWordRune(next) {
		return false
	}
	switch {
	case isApostrophe(r), isHyphen(r):
		return true
	case r == '.' || r == ',':
		return unicode.IsDigit(prev) && unicode.IsDigit(next)
	}
	return false
}

// token is a matching token: a folded word or symbol and its span.
type token struct {
	text string // folded
	span
}

// isSymbolToken reports whether r is a symbol that list entries may
// contain ("100 %", "n°1", "$$$"): each is a token of its own.
func isSymbolToken(r rune) bool {
	return r == '%' || r == '°' || unicode.Is(unicode.Sc, r)
}

// matchTokens splits text for list matching: runs of letters and digits,
// split at apostrophes, hyphens and all other punctuation, plus one token
// per symbol of isSymbolToken. Tokens are folded.
func matchTokens(text string) []token {
	var out []token
	start := -1
	flush := func(end int) {
		if start >= 0 {
			out = append(out, token{Fold(text[start:end]), span{start, end}})
			start = -1
		}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		case isSymbolToken(r):
			flush(i)
			out = append(out, token{string(r), span{i, i + size}})
		default:
			flush(i)
		}
		i += size
	}
	flush(len(text))
	return out
}

// Fold lower-cases s and removes accents ("Éléments" → "elements",
// "œuvre" → "oeuvre"): the comparison form used by every list lookup.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'œ' || r == 'Œ':
			b.WriteString("oe")
		case r == 'æ' || r == 'Æ':
			b.WriteString("ae")
		case r == 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// Shorten cuts s to at most n runes, ending with "…" when cut: how a long
// value or quote is shown in a message.
func Shorten(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
