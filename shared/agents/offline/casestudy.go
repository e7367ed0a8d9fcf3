package offline

import (
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
)

// caseStudy picks the client's case study closest to the prospect (same
// industry first, then shared terms) and phrases its result. It comes from
// the client's context: level 3. A case study that names no client is
// phrased without a name; a file name never reaches the value.
func caseStudy(pb *phrasebook, req agents.Request) email.Answer {
	cases := req.Context.CaseStudies
	if len(cases) == 0 {
		return answer(email.LevelDefault, 1, "no case study in case_studies/: configured default.", map[string]string{
			"case_study_insight": agents.Default(req.Language, "case_study_insight"),
			"case_study_result":  agents.Default(req.Language, "case_study_result")})
	}
	ind := termSet(req.Contact.Industry)
	kw := termSet(req.Contact.Industry + "\n" + req.Site.Text())
	best, bestScore, industryMatch := 0, -1, false
	for i, c := range cases {
		im := len(shared(ind, termSet(c.Industry))) > 0
		s := len(shared(kw, termSet(c.Industry+"\n"+c.Body)))
		if im {
			s += 100
		}
		if s > bestScore {
			best, bestScore, industryMatch = i, s, im
		}
	}
	c := cases[best]
	result := lexicon.LowerFirst(strings.TrimSpace(c.Result))
	if result == "" {
		result = agents.Default(req.Language, "case_study_result")
	}
	ri, _ := agents.CaseStudy.Rule("case_study_insight")
	client, industry := strings.TrimSpace(c.Client), strings.TrimSpace(c.Industry)
	var insight string
	switch {
	case client != "" && industry != "":
		insight = pb.compose(ri, pb.CaseInsightInd, map[string]string{"client": client, "industry": industry, "result": result})
	case client != "":
		insight = pb.compose(ri, pb.CaseInsight, map[string]string{"client": client, "result": result})
	case industry != "":
		insight = pb.compose(ri, pb.CaseAnonInd, map[string]string{"industry": industry, "result": result})
	default:
		insight = pb.compose(ri, pb.CaseAnonymous, map[string]string{"result": result})
	}
	values := map[string]string{"case_study_insight": insight, "case_study_result": result}
	if industryMatch {
		return answer(email.LevelContext, 4, fmt.Sprintf("case study %s is in the prospect's industry (%s).", c.File, c.Industry), values)
	}
	return answer(email.LevelContext, 3, fmt.Sprintf("no case study in the prospect's industry; %s shares the most terms with its site.", c.File), values)
}
