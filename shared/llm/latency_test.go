package llm

import (
	"context"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/llmsim"
)

// The call trace an answer carries includes the call's latency (it once
// reached only the engine's totals).
func TestAnswerCallsCarryLatency(t *testing.T) {
	e, _ := startSim(t, llmsim.Options{Latency: 30 * time.Millisecond, Seed: 3}, nil)
	a, err := e.Answer(context.Background(), testRequest(t, agents.Persona, testSite()))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Calls) == 0 {
		t.Fatal("no call recorded")
	}
	for _, c := range a.Calls {
		if c.LatencyMS < 30 {
			t.Errorf("call latency %d ms, want ≥ 30 ms: %+v", c.LatencyMS, c)
		}
	}
}
