package campaign

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents/offline"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/llm"
	"github.com/kaleads/kaleads/shared/llmsim"
)

// simEngine starts a simulator and an LLM engine pointed at it.
func simEngine(tb testing.TB, o llmsim.Options) (*llm.Engine, *llmsim.Server) {
	tb.Helper()
	sim := llmsim.New(o)
	url, err := sim.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sim.Close)
	off, err := offline.New()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := llm.DefaultConfig()
	cfg.BaseURL, cfg.APIKey = url, "sim"
	cfg.RPM, cfg.TPM = 1_000_000, 1_000_000_000
	cfg.Timeout = llm.Duration(10 * time.Second)
	e, err := llm.New(cfg, off)
	if err != nil {
		tb.Fatal(err)
	}
	return e, sim
}

func readResults(tb testing.TB, dir string) []email.Result {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "emails.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []email.Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r email.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// With 10 % 429s and 5 % malformed answers, every contact still ends with
// an email, none lost and none twice, and usage is accounted.
func TestLLMCampaignWithFaults(t *testing.T) {
	e, sim := simEngine(t, llmsim.Options{Rate429: 0.1, RetryAfter: 10 * time.Millisecond, Malformed: 0.05, Seed: 7})
	dir := t.TempDir()
	o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: example + "/contacts.csv", SitesDir: example + "/sites",
		OutDir: dir, Concurrency: 8, Engine: e, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	rs := readResults(t, dir)
	lines := map[int]bool{}
	for _, r := range rs {
		if lines[r.Contact.Line] {
			t.Errorf("line %d twice", r.Contact.Line)
		}
		lines[r.Contact.Line] = true
		if r.Status != email.StatusGenerated || r.Provenance.Engine != "llm" {
			t.Errorf("line %d: %s %s", r.Contact.Line, r.Status, r.Error)
		}
	}
	if len(rs) != 24 || o.Summary.Generated != 24 {
		t.Fatalf("%d results, %d generated", len(rs), o.Summary.Generated)
	}
	st := sim.Stats()
	if o.Summary.Usage.Calls == 0 || o.Summary.Usage.PromptTokens == 0 || o.Summary.Usage.CostUSD <= 0 {
		t.Errorf("usage not accounted: %+v", o.Summary.Usage)
	}
	if es := e.Stats(); es.Retries == 0 || es.Repairs+es.Fallbacks == 0 {
		t.Errorf("faults were not exercised: engine %+v, sim %+v", es, st)
	}
}

// BenchmarkLLMCampaign is the headline figure: 1,000 contacts over
// 300 companies, simulator latency 800 ms ± 200 ms, concurrency 64.
// Run: go test -run '^$' -bench LLMCampaign -benchtime 1x ./shared/campaign
func BenchmarkLLMCampaign(b *testing.B) {
	for _, faults := range []struct {
		name string
		o    llmsim.Options
	}{
		{"clean", llmsim.Options{Latency: 800 * time.Millisecond, Jitter: 200 * time.Millisecond, Seed: 1}},
		{"429s-and-malformed", llmsim.Options{Latency: 800 * time.Millisecond, Jitter: 200 * time.Millisecond, Rate429: 0.1, Malformed: 0.05, Seed: 1}},
	} {
		b.Run(faults.name, func(b *testing.B) {
			sites, csvPath := syntheticN(b, 300, 1000)
			for b.Loop() {
				e, sim := simEngine(b, faults.o)
				dir := b.TempDir()
				o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: csvPath, SitesDir: sites, OutDir: dir, Concurrency: 64, Engine: e, Now: fixedNow})
				if err != nil {
					b.Fatal(err)
				}
				rs := readResults(b, dir)
				seen := map[int]bool{}
				var per []time.Duration
				for _, r := range rs {
					if seen[r.Contact.Line] {
						b.Fatalf("line %d twice", r.Contact.Line)
					}
					seen[r.Contact.Line] = true
					if r.Status != email.StatusGenerated && r.Error == "" {
						b.Fatalf("line %d failed without a reason", r.Contact.Line)
					}
					per = append(per, time.Duration(r.Timings.TotalMS)*time.Millisecond)
				}
				if len(rs) != 1000 {
					b.Fatalf("%d results for 1000 contacts", len(rs))
				}
				sort.Slice(per, func(i, j int) bool { return per[i] < per[j] })
				calls := sim.Stats().Requests
				bound := time.Duration(float64(calls) * float64(800*time.Millisecond) / 64)
				b.ReportMetric(o.Summary.Wall.Seconds(), "wall-s")
				b.ReportMetric(bound.Seconds(), "bound-s")
				b.ReportMetric(float64(e.Stats().Calls)/1000, "llm-calls/contact")
				b.ReportMetric(float64(calls), "http-requests")
				b.ReportMetric(per[len(per)/2].Seconds(), "p50-s/contact")
				b.ReportMetric(per[len(per)*95/100].Seconds(), "p95-s/contact")
				b.ReportMetric(float64(o.Summary.Generated), "generated")
				var ru syscall.Rusage
				if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
					b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
				}
			}
		})
	}
}
