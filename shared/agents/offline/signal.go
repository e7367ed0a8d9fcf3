package offline

import (
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

// signal fills the two intent signals from phrase patterns: companies
// hiring the persona's role (of a segment the site names, when it names
// one), and funded companies still without the prospect's category.
// Pattern-filled: level 4, confidence 2.
func signal(pb *phrasebook, req agents.Request) email.Answer {
	persona := req.Inputs["target_persona"]
	category := req.Inputs["product_category"]
	r1, _ := agents.Signal.Rule("specific_target_1")
	r2, _ := agents.Signal.Rule("specific_target_2")
	s1 := agents.Default(req.Language, "specific_target_1")
	role := ""
	if b := lexicon.Buyers(persona); len(b) > 0 {
		role = b[0].Role(req.Language)
		s1 = pb.compose(r1, pb.Signal1, map[string]string{"role": role})
		if seg := segment(pb, req.Site); seg != "" {
			s1 = pb.compose(r1, pb.Signal1Segment, map[string]string{"segment": seg, "role": role})
		}
	}
	s2 := pb.compose(r2, pb.Signal2, map[string]string{"category": category})
	why := fmt.Sprintf("phrase patterns filled with the role %q and the category %q.", role, category)
	if role == "" {
		why = fmt.Sprintf("the persona %q names no known role: signal 1 is the default; signal 2 uses the category %q.", persona, category)
	}
	return answer(email.LevelDefault, 2, why, map[string]string{"specific_target_1": s1, "specific_target_2": s2})
}

// segment finds a market segment named on the site ("PME", "startups").
func segment(pb *phrasebook, site *scrape.Site) string {
	if site == nil {
		return ""
	}
	for _, p := range site.Pages {
		low := " " + strings.ToLower(strings.Join(lexicon.Words(p.Text), " ")) + " "
		for _, s := range pb.Segments {
			for _, w := range s.Words {
				if strings.Contains(low, " "+w+" ") {
					return s.Phrase
				}
			}
		}
	}
	return ""
}
