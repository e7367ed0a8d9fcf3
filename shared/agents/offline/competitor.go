package offline

import (
	"fmt"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
)

// competitor picks, in the prospect's category (agents.Classify), the entry
// of competitors.json that the site compares itself with, else the one
// closest to the site; never the prospect nor a company the site names as
// an integration or partner (agents.PickCompetitor, the same rules
// agents.Check enforces on every engine).
func competitor(req agents.Request) email.Answer {
	cls := agents.Classify(req.Context, req.Contact, req.Site)
	if cls.Category == "" {
		return agents.DefaultCompetitor(req.Language, "no category of competitors.json matches the prospect")
	}
	c, ok := agents.PickCompetitor(req, cls.Category)
	if !ok {
		return agents.DefaultCompetitor(req.Language, fmt.Sprintf("%s, but no other entry of that category can be named", cls.Why()))
	}
	return agents.CompetitorAnswer(cls, c, "")
}
