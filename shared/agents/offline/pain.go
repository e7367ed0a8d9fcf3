package offline

import (
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
)

// pain picks the section of pain_points.md that shares the most terms with
// the prospect's site and industry. The value comes from the client's
// context: level 3, confidence by overlap.
func pain(req agents.Request) email.Answer {
	pains := req.Context.Pains
	if len(pains) == 0 {
		return answer(email.LevelDefault, 1, "pain_points.md has no pain: configured default.", map[string]string{
			"solve_specific_pain": agents.Default(req.Language, "solve_specific_pain"),
			"problem_specific":    agents.Default(req.Language, "problem_specific"),
			"impact_measurable":   agents.Default(req.Language, "impact_measurable")})
	}
	kw := termSet(req.Contact.Industry + "\n" + req.Site.Text())
	best, bestShared := 0, []string(nil)
	for i, p := range pains {
		if s := shared(kw, termSet(p.Title+"\n"+p.Body)); len(s) > len(bestShared) {
			best, bestShared = i, s
		}
	}
	p := pains[best]
	impact := p.Impact
	if impact == "" {
		impact = agents.Default(req.Language, "impact_measurable")
	}
	values := map[string]string{"solve_specific_pain": p.Title, "problem_specific": firstSentence(p.Body, p.Title), "impact_measurable": impact}
	if len(bestShared) >= 3 {
		if len(bestShared) > 5 {
			bestShared = bestShared[:5]
		}
		return answer(email.LevelContext, 3, fmt.Sprintf("pain %q of pain_points.md shares %s with the prospect's site and industry.", p.Title, strings.Join(bestShared, ", ")), values)
	}
	return answer(email.LevelContext, 2, fmt.Sprintf("no pain of pain_points.md clearly matches the prospect's site; %q is the closest.", p.Title), values)
}

func firstSentence(body, fallback string) string {
	body = strings.TrimSpace(body)
	if i := strings.IndexAny(body, ".!?\n"); i > 0 {
		body = body[:i]
	}
	if body == "" {
		return fallback
	}
	return body
}
