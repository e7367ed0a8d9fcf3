package offline

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/lexicon"
)

// condense applies the phrasebook's rewrites, one at a time, while v has
// more words than r allows.
func (pb *phrasebook) condense(r agents.Rule, v string) string {
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
func fit(r agents.Rule, v string) string {
	v = strings.Join(strings.Fields(v), " ")
	v = strings.Trim(v, " .,;:-–—")
	if r.LowerStart {
		v = lexicon.LowerFirst(v)
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

// compose fills a phrase pattern (see fill) and applies the language's
// elisions: "une base de équipes" → "une base d'équipes".
func (pb *phrasebook) compose(r agents.Rule, pattern string, vals map[string]string) string {
	out := fill(r, pattern, vals)
	if pb.elision != nil {
		out = pb.elision.ReplaceAllStringFunc(out, func(m string) string {
			sub := pb.elision.FindStringSubmatch(m)
			return sub[1] + strings.TrimSuffix(sub[2], "e") + "'" + sub[3]
		})
	}
	return out
}

// fill fills a phrase pattern ("une base de {persona} vérifiée chaque
// semaine") so that the result fits rule: the inserted values are shortened,
// longest first, never the pattern's own words.
func fill(r agents.Rule, pattern string, vals map[string]string) string {
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

// termSet returns the distinct lexicon.Terms of text.
func termSet(text string) map[string]bool {
	out := map[string]bool{}
	for _, t := range lexicon.Terms(text) {
		out[t] = true
	}
	return out
}

// shared returns the terms of b also in a, sorted.
func shared(a, b map[string]bool) []string {
	var out []string
	for t := range b {
		if a[t] {
			out = append(out, strings.TrimPrefix(t, "#"))
		}
	}
	slices.Sort(out)
	return out
}
