package agents

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

// ErrInvalid is matched (errors.Is) by every rule violation Validate reports.
var ErrInvalid = errors.New("answer breaks the output rules")

// Violation is one broken output rule.
type Violation struct {
	Var string
	Msg string
}

func (v *Violation) Error() string { return fmt.Sprintf("%s: %s", v.Var, v.Msg) }

// Is makes errors.Is(v, ErrInvalid) true.
func (v *Violation) Is(target error) bool { return target == ErrInvalid }

// placeholders are values that mean "no answer".
var placeholders = map[string]bool{
	"n/a": true, "na": true, "n.a.": true, "none": true, "null": true, "nil": true, "unknown": true,
	"inconnu": true, "non disponible": true, "aucun": true, "aucune": true, "-": true, "?": true, "tbd": true, "todo": true,
}

// actionVerbs are verbs a signal must not start with (the seed's rule).
var actionVerbs = map[string]bool{
	"cibler": true, "viser": true, "contacter": true, "prospecter": true, "identifier": true, "trouver": true,
	"target": true, "targeting": true, "reach": true, "find": true, "contact": true, "identify": true,
}

// Validate checks an answer against its agent's rules: every produced
// variable present, not empty or "N/A", within its word and character limits,
// lower-case start where required, no action verb start for signals, no
// corporate jargon; confidence 1-5 and fallback level 1-4. It returns nil or
// an error joining every *Violation (errors.Is(err, ErrInvalid)).
func Validate(spec Spec, a email.Answer, lang string) error {
	var errs []error
	bad := func(v, format string, args ...any) {
		errs = append(errs, &Violation{Var: v, Msg: fmt.Sprintf(format, args...)})
	}
	for _, r := range spec.Rules {
		val, ok := a.Values[r.Var]
		val = strings.TrimSpace(val)
		switch {
		case !ok || val == "":
			bad(r.Var, "is missing or empty")
			continue
		case placeholders[strings.ToLower(val)]:
			bad(r.Var, "is a placeholder (%q), give a real value", val)
			continue
		}
		if strings.Contains(val, "{{") || strings.Contains(val, "}}") {
			bad(r.Var, "contains template braces")
		}
		if strings.ContainsAny(val, "\n\r") {
			bad(r.Var, "must be a single line")
		}
		if n := len(lexicon.Words(val)); r.MaxWords > 0 && n > r.MaxWords {
			bad(r.Var, "has %d words, at most %d allowed", n, r.MaxWords)
		}
		if n := utf8.RuneCountInString(val); r.MaxChars > 0 && n > r.MaxChars {
			bad(r.Var, "has %d characters, at most %d allowed", n, r.MaxChars)
		}
		if first, _ := utf8.DecodeRuneInString(val); r.LowerStart && unicode.IsUpper(first) && !lexicon.StartsWithAcronym(val) {
			bad(r.Var, "must start with a lower-case letter (it is used mid-sentence), acronyms excepted: %q", val)
		}
		if r.NoVerbStart {
			if w := lexicon.Words(val); len(w) > 0 && actionVerbs[strings.ToLower(w[0])] {
				bad(r.Var, "must not start with an action verb (%q)", w[0])
			}
		}
		if j := lexicon.Jargon(lang, val); len(j) > 0 {
			bad(r.Var, "uses forbidden corporate jargon: %s", strings.Join(j, ", "))
		}
	}
	if a.Confidence < 1 || a.Confidence > 5 {
		bad("confidence", "must be between 1 and 5, got %d", a.Confidence)
	}
	if a.FallbackLevel < email.LevelSite || a.FallbackLevel > email.LevelDefault {
		bad("fallback_level", "must be between 1 and 4, got %d", a.FallbackLevel)
	}
	if strings.TrimSpace(a.Reasoning) == "" {
		bad("reasoning", "is empty")
	}
	return errors.Join(errs...)
}

// Ground checks that every evidence quote appears verbatim in the scraped
// pages. Quotes not found go to a.Ungrounded and are removed from
// email.Evidence; a level-1 answer left without evidence, or whose quotes
// contain no key word of its values, is downgraded to level 2 with its
// confidence capped at 3, and a note explains why.
func Ground(a email.Answer, site *scrape.Site) email.Answer {
	var kept []email.Evidence
	var missing []string
	for _, e := range a.Evidence {
		q := strings.TrimSpace(e.Quote)
		if q == "" {
			continue
		}
		if url, ok := site.Find(q); ok {
			kept = append(kept, email.Evidence{URL: url, Quote: q})
		} else {
			missing = append(missing, q)
		}
	}
	a.Evidence = kept
	a.Ungrounded = append(a.Ungrounded, missing...)
	if a.FallbackLevel == email.LevelSite && len(kept) > 0 && !mentionsValues(a.Values, kept) {
		a.FallbackLevel = email.LevelInferred
		if a.Confidence > 3 {
			a.Confidence = 3
		}
		a.Notes = append(a.Notes, email.Note{Code: "downgraded", Message: fmt.Sprintf("%s answer claimed to be found on the site but none of its quotes (%q) contains a key word of its values: downgraded to level 2",
			a.Agent, lexicon.Shorten(kept[0].Quote, 80))})
	}
	if a.FallbackLevel == email.LevelSite && len(kept) == 0 {
		a.FallbackLevel = email.LevelInferred
		if a.Confidence > 3 {
			a.Confidence = 3
		}
		msg := "claimed to be found on the site but gave no quote from it"
		if len(missing) > 0 {
			msg = fmt.Sprintf("claimed to be found on the site but its quote %q is not on the scraped pages", lexicon.Shorten(missing[0], 80))
		}
		a.Notes = append(a.Notes, email.Note{Code: "downgraded", Message: fmt.Sprintf("%s answer %s: downgraded to level 2", a.Agent, msg)})
	}
	return a
}

// mentionsValues reports whether a quote contains a key word of one of the
// values: a word or concept of lexicon.Terms ("téléphonie" and "calls" are
// one concept), a buyer function ("sales teams" and "équipes
// commerciales"), or the value itself (a company name).
func mentionsValues(values map[string]string, quotes []email.Evidence) bool {
	keys := func(text string) map[string]bool {
		out := map[string]bool{}
		for _, t := range lexicon.Terms(text) {
			out[t] = true
		}
		for _, b := range lexicon.Buyers(text) {
			out["buyer:"+b.ID] = true
		}
		return out
	}
	var quoted strings.Builder
	for _, q := range quotes {
		quoted.WriteString(q.Quote)
		quoted.WriteString("\n")
	}
	inQuotes := keys(quoted.String())
	folded := lexicon.Fold(quoted.String())
	for _, v := range values {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if strings.Contains(folded, lexicon.Fold(v)) {
			return true
		}
		for k := range keys(v) {
			if inQuotes[k] {
				return true
			}
		}
	}
	return false
}
