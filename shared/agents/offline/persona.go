package offline

import (
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

// NotePersonaNotFound is raised when the site names no buyer: the persona
// is the generic level-4 value, which a reviewer should replace.
const NotePersonaNotFound = "persona_not_found"

// persona answers target_persona and product_category.
func persona(pb *phrasebook, req agents.Request) email.Answer {
	p := targetPersona(pb, req)
	c := productCategory(pb, req)
	a := answer(max(p.FallbackLevel, c.FallbackLevel), min(p.Confidence, c.Confidence), p.Reasoning+" "+c.Reasoning,
		map[string]string{"target_persona": p.Values["target_persona"], "product_category": c.Values["product_category"]})
	a.Evidence = append(p.Evidence, c.Evidence...)
	a.Notes = append(p.Notes, c.Notes...)
	return a
}

// Weights of where a buyer function is named.
const (
	buyerInHeader      = 3 // "for X teams" in the title, description or a heading
	buyerInSection     = 3 // in a "who it's for" section
	buyerInBody        = 2 // "for X teams" in the body
	buyerTeamPhrase    = 1 // "X teams" without "for"
	buyerInTestimonial = 1 // a testimonial's job title (each)
)

// buyerVote is one buyer function found on the site.
type buyerVote struct {
	buyer lexicon.Buyer
	score int
	first email.Evidence // where it was first seen
	from  string         // how, for the reasoning
}

// targetPersona reads who the prospect sells to: "for X teams" phrases,
// "who it's for" sections and testimonial job titles, mapped to a buyer
// function of the lexicon (level 1); else the usual buyer of the product
// category the site was classified in (level 2); never the client's own
// personas. Nothing found gives the level-4 default with a note.
func targetPersona(pb *phrasebook, req agents.Request) email.Answer {
	votes := buyerVotes(pb, req.Site)
	if len(votes) == 0 {
		cls := agents.Classify(req.Context, req.Contact, req.Site)
		for _, term := range cls.Terms {
			if b, ok := lexicon.ConceptBuyer(term); ok && cls.Evidence.Quote != "" {
				return answer(email.LevelInferred, 2, fmt.Sprintf("target_persona: the site names no buyer; %s are the usual buyers of its product (%s).", b.Team("en"), term),
					map[string]string{"target_persona": b.Team(req.Language)}, cls.Evidence)
			}
		}
		v := agents.Default(req.Language, "target_persona")
		a := answer(email.LevelDefault, 1, "target_persona: the site names no buyer team (no \"for X teams\", no \"who it's for\" section, no testimonial title): generic default.",
			map[string]string{"target_persona": v})
		a.Notes = []email.Note{{Code: NotePersonaNotFound, Points: 5,
			Message: fmt.Sprintf("target_persona: the prospect's site names no buyer; the generic %q needs a reviewer.", v)}}
		return a
	}
	best := votes[0]
	for _, v := range votes[1:] {
		if v.score > best.score {
			best = v
		}
	}
	conf := 3
	switch {
	case best.score >= 5:
		conf = 5
	case best.score >= 3:
		conf = 4
	}
	return answer(email.LevelSite, conf, fmt.Sprintf("target_persona: %s (%s).", best.from, best.buyer.ID),
		map[string]string{"target_persona": best.buyer.Team(req.Language)}, best.first)
}

// buyerVotes collects the buyer functions named on the site, in order of
// first appearance. Lines of a careers block are skipped (they name the
// prospect's own hires).
func buyerVotes(pb *phrasebook, site *scrape.Site) []*buyerVote {
	if site == nil {
		return nil
	}
	var order []*buyerVote
	byID := map[string]*buyerVote{}
	vote := func(text, url string, weight int, from string) {
		for _, m := range lexicon.Buyers(text) {
			v, ok := byID[m.ID]
			if !ok {
				v = &buyerVote{buyer: m.Buyer, first: email.Evidence{URL: url, Quote: strings.TrimSpace(text)}, from: from}
				byID[m.ID] = v
				order = append(order, v)
			}
			v.score += weight
		}
	}
	phrases := func(text, url string, lead, team int) {
		for _, span := range pb.audienceSpans(text) {
			vote(span, url, lead, fmt.Sprintf("the site says %q", span))
		}
		for _, span := range pb.teamPhrase.FindAllString(text, -1) {
			span = strings.TrimSpace(strings.Trim(span, " (,.;:!?"))
			vote(span, url, team, fmt.Sprintf("the site says %q", span))
		}
	}
	for _, p := range site.Pages {
		for _, h := range append([]string{p.Title, p.Description}, p.Headings...) {
			phrases(h, p.URL, buyerInHeader, buyerInHeader)
		}
		for _, line := range strings.Split(p.Text, "\n") {
			if !careers(line) {
				phrases(line, p.URL, buyerInBody, buyerTeamPhrase)
			}
		}
		for _, line := range pb.audienceSection(p) {
			vote(line, p.URL, buyerInSection, fmt.Sprintf("its \"who it's for\" section says %q", lexicon.Shorten(line, 80)))
		}
		for _, q := range p.Quotes {
			if t := strings.TrimSpace(q.Title); t != "" {
				vote(t, p.URL, buyerInTestimonial, fmt.Sprintf("its testimonials are signed by %q", t))
			}
		}
	}
	return order
}

func careers(line string) bool {
	_, ok := lexicon.HasCue(lexicon.CueCareers, line)
	return ok
}

// audienceSpans returns the verbatim phrases of text that say who the
// product is for: "for sales and support teams", "pour les équipes RH".
func (pb *phrasebook) audienceSpans(text string) []string {
	var out []string
	for _, m := range pb.audienceLead.FindAllStringSubmatchIndex(text, -1) {
		start := m[0]
		for start < m[3] && (text[start] == ' ' || text[start] == '(') {
			start++
		}
		if span := strings.TrimSpace(text[start:m[3]]); span != "" {
			out = append(out, span)
		}
	}
	return out
}

// audienceSection returns the lines of a "who it's for" section: the lines
// after a heading of AudienceHeadings, up to the next heading that names no
// buyer (sub-headings such as "Directions financières" are part of it).
func (pb *phrasebook) audienceSection(p scrape.Page) []string {
	headings := map[string]bool{}
	for _, h := range p.Headings {
		headings[strings.TrimSpace(h)] = true
	}
	var out []string
	in := false
	for _, line := range strings.Split(p.Text, "\n") {
		line = strings.TrimSpace(line)
		if headings[line] {
			switch {
			case pb.isAudienceHeading(line):
				in = true
				continue
			case in && len(lexicon.Buyers(line)) > 0:
				// a sub-heading naming a buyer: still in the section
			default:
				in = false
			}
		}
		if in && line != "" && !careers(line) {
			out = append(out, line)
		}
	}
	return out
}

func (pb *phrasebook) isAudienceHeading(h string) bool {
	f := " " + strings.Join(strings.Fields(lexicon.Fold(strings.NewReplacer("?", " ", "’", "'", ":", " ").Replace(h))), " ") + " "
	for _, a := range pb.AudienceHeadings {
		if strings.Contains(f, " "+lexicon.Fold(a)+" ") {
			return true
		}
	}
	return false
}
