package clientctx

import "strings"

// OwnMatch says which of the client's own words a value repeats.
type OwnMatch struct {
	Kind   string // OwnAgency, OwnPersona, OwnPersonaTitle, OwnPain or OwnCategory
	Phrase string // the client's phrase, as written in its files
}

// Kinds of OwnMatch.
const (
	OwnAgency       = "agency"        // the agency's own name (Context.ClientName)
	OwnPersona      = "persona"       // a persona's title from personas.md: the agency's buyers, not the prospect's
	OwnPersonaTitle = "persona_title" // a job-title variant listed under a persona
	OwnPain         = "pain"          // a pain point's title from pain_points.md
	OwnCategory     = "category"      // a competitors.json category, verbatim
)

// NamesAgency reports whether text names the agency (Context.ClientName) as a
// whole word, ignoring case and accents; false when the agency is unknown.
func (c *Context) NamesAgency(text string) bool {
	return c.ClientName != "" && countWord(fold(text), fold(c.ClientName)) > 0
}

// OwnPhrase reports whether value repeats the client's own words instead
// of saying something about the prospect: it names the agency; or it is,
// ignoring case, accents and a final period, a persona title, a listed
// job-title variant, a pain point title or a competitors.json category; or
// it contains a persona or pain title of three words or more. Checks may
// flag such a value; whether it is wrong depends on the variable (a pain
// title is the expected value of solve_specific_pain).
func (c *Context) OwnPhrase(value string) (OwnMatch, bool) {
	v := fold(trimPeriod(value))
	if v == "" {
		return OwnMatch{}, false
	}
	if c.NamesAgency(value) {
		return OwnMatch{OwnAgency, c.ClientName}, true
	}
	type phrase struct{ kind, text string }
	var list []phrase
	for _, p := range c.PersonaList {
		list = append(list, phrase{OwnPersona, p.Title})
		for _, t := range p.Titles {
			list = append(list, phrase{OwnPersonaTitle, t})
		}
	}
	for _, p := range c.Pains {
		list = append(list, phrase{OwnPain, p.Title})
	}
	for _, x := range c.Competitors {
		list = append(list, phrase{OwnCategory, x.Category})
	}
	for _, p := range list {
		if fold(trimPeriod(p.text)) == v {
			return OwnMatch{p.kind, p.text}, true
		}
	}
	for _, p := range list {
		f := fold(trimPeriod(p.text))
		if (p.kind == OwnPersona || p.kind == OwnPain) && len(strings.Fields(f)) >= 3 && countWord(v, f) > 0 {
			return OwnMatch{p.kind, p.text}, true
		}
	}
	return OwnMatch{}, false
}
