package agents

import (
	"testing"

	"github.com/kaleads/kaleads/shared/email"
)

// A competitor that Check replaces keeps who answered and why it fell
// back: the variable still says the offline engine answered, and why.
func TestCheckKeepsEngineAndFallbackReason(t *testing.T) {
	t.Parallel()
	c, site := voxaly()
	req := Request{Spec: Competitor, Contact: c, Site: site, Context: checkCtx, Language: "fr"}
	for _, in := range []string{"Voxaly SAS", "Callio"} { // replaced, kept
		a := email.Answer{Agent: "competitor", Engine: "offline", Version: "offline@1", FallbackLevel: email.LevelInferred, Confidence: 3, Reasoning: "r",
			Values: map[string]string{"competitor_name": in, "competitor_product_category": "x"}, FallbackReason: "model call failed"}
		got := Check(req, a)
		if got.Engine != "offline" || got.FallbackReason != "model call failed" {
			t.Errorf("%s: engine %q, fallback reason %q after Check", in, got.Engine, got.FallbackReason)
		}
	}
}
