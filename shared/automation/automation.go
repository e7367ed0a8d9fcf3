// Package automation decides, when an email is stored, whether the
// client's rollout phase lets it skip human review: the plan's phases
// (shadow: everything is reviewed; partial: auto-approve at a score of 90
// and above; full: auto-approve at 85 and above, except a reproducible
// random sample still sent to review), behind hard gates that no score
// overrides. It is a pure function of the email and the settings.
package automation

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/quality"
)

// Phases of the rollout.
const (
	Shadow  = "shadow"
	Partial = "partial"
	Full    = "full"
)

// Settings are a client's automation settings.
type Settings struct {
	Phase            string
	PartialThreshold int     // default 90
	FullThreshold    int     // default 85
	SampleRate       float64 // share of would-be auto-approvals sent to review in the full phase (the store's default is 0.05; 0: none)
	// ConfidenceFloor: an agent variable with a lower confidence holds the
	// email (default 3).
	ConfidenceFloor int
	// Engine is the engine the client runs on ("llm" or "offline"): with
	// "llm", a variable answered by another engine (a fallback) holds the
	// email.
	Engine string
}

// Defaults fills the zero fields with the plan's values.
func (s Settings) Defaults() Settings {
	if s.Phase == "" {
		s.Phase = Shadow
	}
	if s.PartialThreshold == 0 {
		s.PartialThreshold = 90
	}
	if s.FullThreshold == 0 {
		s.FullThreshold = 85
	}
	if s.ConfidenceFloor == 0 {
		s.ConfidenceFloor = 3
	}
	return s
}

// Outcomes of Decide.
const (
	AutoApproved = "auto_approved" // approved without review
	Held         = "held"          // a hard gate: a person must review it
	Review       = "review"        // the phase or the score sends it to review
	Sampled      = "sampled"       // would be auto-approved, drawn for the random review sample
)

// Note codes raised upstream that are hard gates (agents.Check and the LLM
// engine; kept as strings so that this package does not link the engines —
// a test holds them to the engines' constants).
const (
	noteCompetitorReplaced = "competitor_replaced"
	noteCompetitorDropped  = "competitor_dropped"
)

// Gates lists the hard gates of an email: any blocking quality flag
// (unfilled variable, ungrounded claim, markup, names the agency…), a spam
// or jargon flag, a competitor that failed the Go checks, an agent
// variable below the confidence floor or at fallback level 4, and — when
// the client runs on the LLM — a variable answered by a fallback engine.
func Gates(s Settings, r email.Result) []string {
	s = s.Defaults()
	seen := map[string]bool{}
	var out []string
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, f := range r.Quality.Flags {
		switch {
		case f.Gate:
			add(f.Code)
		case f.Code == quality.CodeSpamWords, f.Code == quality.CodeJargon:
			add(f.Code)
		case f.Code == noteCompetitorReplaced, f.Code == noteCompetitorDropped:
			add("competitor_check")
		}
	}
	for _, a := range r.Answers {
		for _, n := range a.Notes {
			if n.Code == noteCompetitorReplaced || n.Code == noteCompetitorDropped {
				add("competitor_check")
			}
		}
	}
	names := make([]string, 0, len(r.Variables))
	for name := range r.Variables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := r.Variables[name]
		if v.Agent == "" {
			continue // a contact column
		}
		if v.Confidence > 0 && v.Confidence < s.ConfidenceFloor {
			add("low_confidence:" + name)
		}
		if v.FallbackLevel >= email.LevelDefault {
			add("fallback_level_4:" + name)
		}
		if s.Engine == "llm" && (v.FallbackReason != "" || v.Engine != "" && v.Engine != "llm") {
			add("engine_fallback:" + name)
		}
	}
	return out
}

// Decide applies the client's phase to a stored email. emailID seeds the
// random review sample, so the same email always draws the same way.
func Decide(s Settings, emailID string, r email.Result) email.Automation {
	s = s.Defaults()
	if r.Status != email.StatusGenerated {
		return email.Automation{Outcome: Review, Reason: "the email was not generated"}
	}
	score := r.Quality.Score
	var threshold int
	switch s.Phase {
	case Partial:
		threshold = s.PartialThreshold
	case Full:
		threshold = s.FullThreshold
	default:
		return email.Automation{Outcome: Review, Reason: "shadow phase: every email is reviewed"}
	}
	if gates := Gates(s, r); len(gates) > 0 {
		return email.Automation{Outcome: Held, Gates: gates,
			Reason: fmt.Sprintf("held for review by %s (score %d, %s phase)", strings.Join(gates, ", "), score, s.Phase)}
	}
	if score < threshold {
		return email.Automation{Outcome: Review, Reason: fmt.Sprintf("score %d below the %s threshold %d", score, s.Phase, threshold)}
	}
	if s.Phase == Full && Draw(emailID) < s.SampleRate {
		return email.Automation{Outcome: Sampled, Reason: fmt.Sprintf("score %d ≥ %d, drawn for the %.0f %% random review sample", score, threshold, s.SampleRate*100)}
	}
	return email.Automation{Outcome: AutoApproved, Reason: fmt.Sprintf("auto-approved: score %d ≥ %d (%s phase), no hard gate", score, threshold, s.Phase)}
}

// Draw maps an email id to a number in [0, 1), the same every time.
func Draw(emailID string) float64 {
	sum := sha256.Sum256([]byte("kaleads review sample\x00" + emailID))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / float64(uint64(1)<<53)
}
