package automation

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/quality"
)

// good is a generated email scored score, every agent variable at level
// 1-2 with confidence 4, answered by the LLM.
func good(score int) email.Result {
	return email.Result{
		Status:  email.StatusGenerated,
		Quality: email.Report{Score: score, Flags: []email.Flag{}},
		Variables: map[string]email.Variable{
			"first_name":     {Value: "Léa"},
			"target_persona": {Value: "équipes RH", Agent: "persona", Confidence: 4, FallbackLevel: 1, Engine: "llm"},
			"system_1":       {Value: "x", Agent: "system", Confidence: 4, FallbackLevel: 2, Engine: "llm"},
		},
		Answers: map[string]email.Answer{"persona": {Agent: "persona"}},
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	edit := func(score int, f func(*email.Result)) email.Result {
		r := good(score)
		f(&r)
		return r
	}
	llm := func(phase string) Settings { return Settings{Phase: phase, Engine: "llm"} }
	tests := []struct {
		name    string
		s       Settings
		r       email.Result
		outcome string
		gate    string
	}{
		{"shadow reviews everything", llm(Shadow), good(99), Review, ""},
		{"partial approves at 90", llm(Partial), good(90), AutoApproved, ""},
		{"partial reviews 89", llm(Partial), good(89), Review, ""},
		{"full approves 85", llm(Full), good(85), AutoApproved, ""},
		{"custom threshold", Settings{Phase: Partial, PartialThreshold: 95, Engine: "llm"}, good(94), Review, ""},
		{"a gate flag holds a 99", llm(Full), edit(99, func(r *email.Result) {
			r.Quality.Flags = []email.Flag{{Code: quality.CodeUnfilledVariable, Gate: true}}
		}), Held, quality.CodeUnfilledVariable},
		{"ungrounded claim", llm(Full), edit(99, func(r *email.Result) {
			r.Quality.Flags = []email.Flag{{Code: quality.CodeUngroundedEvidence, Gate: true}}
		}), Held, quality.CodeUngroundedEvidence},
		{"jargon is a hard gate here", llm(Partial), edit(95, func(r *email.Result) {
			r.Quality.Flags = []email.Flag{{Code: quality.CodeJargon, Points: 10}}
		}), Held, quality.CodeJargon},
		{"spam words", llm(Partial), edit(95, func(r *email.Result) {
			r.Quality.Flags = []email.Flag{{Code: quality.CodeSpamWords, Points: 5}}
		}), Held, quality.CodeSpamWords},
		{"competitor replaced by the Go checks", llm(Full), edit(95, func(r *email.Result) {
			r.Answers["competitor"] = email.Answer{Notes: []email.Note{{Code: agents.NoteCompetitorReplaced}}}
		}), Held, "competitor_check"},
		{"confidence below the floor", llm(Full), edit(95, func(r *email.Result) {
			v := r.Variables["system_1"]
			v.Confidence = 2
			r.Variables["system_1"] = v
		}), Held, "low_confidence:system_1"},
		{"level-4 fallback", llm(Full), edit(95, func(r *email.Result) {
			v := r.Variables["target_persona"]
			v.FallbackLevel = 4
			r.Variables["target_persona"] = v
		}), Held, "fallback_level_4:target_persona"},
		{"engine fallback on an LLM client", llm(Full), edit(95, func(r *email.Result) {
			v := r.Variables["target_persona"]
			v.Engine, v.FallbackReason = "offline", "model call failed"
			r.Variables["target_persona"] = v
		}), Held, "engine_fallback:target_persona"},
		{"the offline engine is not a fallback for an offline client", Settings{Phase: Full, Engine: "offline"}, edit(95, func(r *email.Result) {
			for k, v := range r.Variables {
				if v.Agent != "" {
					v.Engine = "offline"
					r.Variables[k] = v
				}
			}
		}), AutoApproved, ""},
		{"a failed email is never approved", llm(Full), edit(99, func(r *email.Result) { r.Status = email.StatusFailed }), Review, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Decide(tt.s, "a4c3b9d2-0000-4000-8000-000000000001", tt.r)
			if d.Outcome != tt.outcome || tt.gate != "" && !slices.Contains(d.Gates, tt.gate) || d.Reason == "" {
				t.Errorf("got %+v, want %s %s", d, tt.outcome, tt.gate)
			}
		})
	}
}

// The full phase sends about SampleRate of the would-be approvals to
// review, and the same email always draws the same way.
func TestSampleIsReproducibleAndProportional(t *testing.T) {
	t.Parallel()
	s := Settings{Phase: Full, SampleRate: 0.05, Engine: "llm"}
	sampled := 0
	const n = 20000
	for i := range n {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		d := Decide(s, id, good(95))
		if d.Outcome == Sampled {
			sampled++
		}
		if again := Decide(s, id, good(95)); again.Outcome != d.Outcome {
			t.Fatalf("email %s drew %s then %s", id, d.Outcome, again.Outcome)
		}
	}
	if share := float64(sampled) / n; math.Abs(share-0.05) > 0.006 {
		t.Errorf("sampled %.3f of the approvals, want about 0.05", share)
	}
}

func TestNoteCodesMatchTheEngines(t *testing.T) {
	t.Parallel()
	if noteCompetitorReplaced != agents.NoteCompetitorReplaced || noteCompetitorDropped != agents.NoteCompetitorDropped {
		t.Error("competitor note codes differ from shared/agents'")
	}
}
