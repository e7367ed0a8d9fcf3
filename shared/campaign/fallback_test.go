package campaign

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/llmsim"
)

// A run where more than MaxFallbackShare of the answers fell back fails
// with the share and the main reason, after writing every email; the
// variables say which engine answered and why it fell back.
func TestFallbackShareFailsRun(t *testing.T) {
	t.Parallel()
	const reason = "answer still invalid after one repair"
	tests := []struct {
		name    string
		sim     llmsim.Options
		max     float64
		wantErr []string // nil: no error
	}{
		{"every answer cut off, default limit", llmsim.Options{Truncated: 1, Seed: 3}, 0,
			[]string{"100.0 % of the agent answers fell back (", "at most 20 % allowed, --max-fallback-share); most frequent reason: " + reason + " (",
				": " + reason + ": answer does not fit the JSON schema: the answer was cut off", "; answered by the offline engine"}},
		{"every answer cut off, limit 1", llmsim.Options{Truncated: 1, Seed: 3}, 1, nil},
		{"clean model, no fallback allowed", llmsim.Options{Seed: 3}, NoFallback, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := simEngine(t, tt.sim)
			dir := t.TempDir()
			o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: example + "/contacts.csv", SitesDir: example + "/sites",
				OutDir: dir, Concurrency: 8, Engine: e, Now: fixedNow, MaxFallbackShare: tt.max})
			var fe *FallbackError
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != nil && !errors.As(err, &fe):
				t.Fatalf("error %v, want a *FallbackError", err)
			}
			if fe != nil && (fe.Reason != reason || fe.Fallbacks != fe.Answers || fe.Answers == 0 || fe.Max != DefaultMaxFallbackShare) {
				t.Errorf("fallback error %+v", fe)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			rs := readResults(t, dir)
			if len(rs) != 24 || o.Summary.Generated != 24 {
				t.Fatalf("%d results, %d generated: the emails must be written whatever the share", len(rs), o.Summary.Generated)
			}
			allFellBack := tt.sim.Truncated == 1
			for _, r := range rs {
				for name, v := range r.Variables {
					switch {
					case v.Agent == "":
						if v.Engine != "" || v.FallbackReason != "" {
							t.Errorf("column %s: engine %q reason %q", name, v.Engine, v.FallbackReason)
						}
					case allFellBack && (v.Engine != "offline" || v.FallbackReason != reason):
						t.Errorf("line %d %s: engine %q reason %q, want offline, %q", r.Contact.Line, name, v.Engine, v.FallbackReason, reason)
					case !allFellBack && (v.Engine != "llm" || v.FallbackReason != ""):
						t.Errorf("line %d %s: engine %q reason %q, want llm", r.Contact.Line, name, v.Engine, v.FallbackReason)
					}
				}
			}
			html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
			if allFellBack != bytes.Contains(html, []byte("repli : "+reason)) {
				t.Errorf("report.html shows the fallback reason: %v, want %v", !allFellBack, allFellBack)
			}
			var buf bytes.Buffer
			PrintSummary(&buf, o)
			for _, w := range []string{"by agent", "fallbacks", "model time"} {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

func TestPrintActivity(t *testing.T) {
	t.Parallel()
	llm := email.Summary{Contacts: 24, Generated: 24, Usage: email.Usage{Calls: 80, PromptTokens: 1000, CompletionTokens: 100},
		Agents: map[string]email.AgentActivity{
			"persona":    {Answers: 13, Reused: 11, Calls: 14, Retries: 2, Repairs: 1, LatencyMS: 9000, WaitMS: 500},
			"competitor": {Answers: 14, Reused: 10, Calls: 15, Retries: 0, LatencyMS: 12000, Fallbacks: map[string]int{"model call failed": 2, "model refused": 1}},
		},
		FallbackExamples: map[string]string{"model call failed": "competitor: model call failed: HTTP 503 Service Unavailable; answered by the offline engine"}}
	tests := []struct {
		name      string
		o         Outcome
		want, not []string
	}{
		{"offline engine", Outcome{Engine: "offline", OutDir: "out", Summary: email.Summary{Contacts: 2, Generated: 2,
			Agents: map[string]email.AgentActivity{"persona": {Answers: 1, Reused: 1}}}}, nil,
			[]string{"by agent", "fallbacks", "model time", "LLM calls"}},
		{"llm engine", Outcome{Engine: "llm", OutDir: "out", Summary: llm}, []string{
			"  LLM calls           80   (1000 prompt + 100 completion tokens, 0 cached)\n" +
				"  by agent            agent        answers reused  calls retries repairs fallbacks\n" +
				"                      persona           13     11     14       2       1         0\n" +
				"                      competitor        14     10     15       0       0         3   2 × model call failed, 1 × model refused\n" +
				"                      all               27     21     29       2       1         3   2 × model call failed, 1 × model refused\n" +
				"  fallbacks           3 of 27 answers computed (11.1 %; limit 20 %)\n" +
				"                      e.g. competitor: model call failed: HTTP 503 Service Unavailable; answered by the offline engine\n" +
				"  model time          21s summed over 29 calls; 500ms more waiting for the rate budget and retries\n" +
				"  cost                $0.0000\n"}, nil},
		{"over the limit", Outcome{Engine: "llm", OutDir: "out", Summary: llm, MaxFallbackShare: 0.1},
			[]string{"3 of 27 answers computed (11.1 %; limit 10 %, over the limit)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			PrintSummary(&buf, &tt.o)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("summary lacks\n%s\nin\n%s", w, buf.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(buf.String(), w) {
					t.Errorf("summary has %q:\n%s", w, buf.String())
				}
			}
		})
	}
}
