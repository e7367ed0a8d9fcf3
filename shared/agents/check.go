package agents

import (
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/shared/email"
)

// Note codes raised by Check.
const (
	NoteCompetitorReplaced = "competitor_replaced" // a rule-breaking competitor was replaced by another entry
	NoteCompetitorDropped  = "competitor_dropped"  // … and no other entry could replace it: level-4 default
)

// Check enforces, on any engine's answer, the rules that Go can verify
// against the scraped site and the client's context, whatever produced the
// answer: evidence quotes are grounded (Ground), and a competitor that is
// the prospect itself, an integration or partner named on its site, a
// company of another category, or a name the site mentions without
// comparing itself with it is replaced by the next candidate of
// competitors.json, or by the level-4 default, with a note saying why.
// The pipeline calls it on every answer, cached ones included; it is
// idempotent.
func Check(req Request, a email.Answer) email.Answer {
	a = Ground(a, req.Site)
	if req.Spec.Name == Competitor.Name {
		a = checkCompetitor(req, a)
	}
	return a
}

func checkCompetitor(req Request, a email.Answer) email.Answer {
	name := strings.TrimSpace(a.Values["competitor_name"])
	if name == "" || a.FallbackLevel == email.LevelDefault {
		return a
	}
	cls := Classify(req.Context, req.Contact, req.Site)
	problem := CompetitorProblem(req, cls, name)
	if problem == "" {
		return a
	}
	var fixed email.Answer
	var note email.Note
	if c, ok := PickCompetitor(req, cls.Category, name); ok && CompetitorProblem(req, cls, c.Entry.Name) == "" {
		fixed = CompetitorAnswer(cls, c, fmt.Sprintf("%s rejected (%s).", name, problem))
		note = email.Note{Code: NoteCompetitorReplaced,
			Message: fmt.Sprintf("competitor %s rejected: %s; replaced by %s from competitors.json.", name, problem, c.Entry.Name)}
	} else {
		fixed = DefaultCompetitor(req.Language, fmt.Sprintf("%s rejected (%s) and no other entry of the prospect's category fits", name, problem))
		note = email.Note{Code: NoteCompetitorDropped, Points: 5,
			Message: fmt.Sprintf("competitor %s rejected: %s; no other competitor fits, the generic default is used.", name, problem)}
	}
	fixed.Agent, fixed.Engine, fixed.Version, fixed.Calls, fixed.FallbackReason = a.Agent, a.Engine, a.Version, a.Calls, a.FallbackReason
	fixed.Notes = append(append([]email.Note(nil), a.Notes...), note)
	return Ground(fixed, req.Site)
}
