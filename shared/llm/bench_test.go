package llm

import (
	"context"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/llmsim"
)

// BenchmarkEngineSimulated measures the engine's own overhead (prompt
// composition, HTTP, decoding, validation, grounding) against a
// zero-latency simulator, all agents answering in parallel.
func BenchmarkEngineSimulated(b *testing.B) {
	e, _ := startSim(b, llmsim.Options{Seed: 1}, nil)
	reqs := make([]agents.Request, len(agents.All))
	for i, spec := range agents.All {
		reqs[i] = testRequest(b, spec, testSite())
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a, err := e.Answer(context.Background(), reqs[i%len(reqs)])
			if err != nil || a.Engine != "llm" {
				b.Errorf("engine %s err %v", a.Engine, err)
				return
			}
			i++
		}
	})
	b.StopTimer()
	st := e.Stats()
	b.ReportMetric(float64(st.Calls)/float64(b.N), "calls/op")
	b.ReportMetric(st.CostUSD/float64(b.N)*1000, "mUSD/op")
}
