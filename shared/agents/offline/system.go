package offline

import (
	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
)

// system fills the three steps of the outbound system from phrase
// patterns and the persona: level 4, confidence 2.
func system(pb *phrasebook, req agents.Request) email.Answer {
	r1, _ := agents.System.Rule("system_1")
	return answer(email.LevelDefault, 2, "three steps from phrase patterns, the first naming the persona.", map[string]string{
		"system_1": pb.compose(r1, pb.System1, map[string]string{"persona": req.Inputs["target_persona"]}),
		"system_2": pb.System2,
		"system_3": pb.System3,
	})
}
