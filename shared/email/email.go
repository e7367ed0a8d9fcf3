// Package email holds the domain types of one generated email: the result
// of one contact, its filled variables, the agents' answers with their
// evidence and model calls, the quality report, usage and provenance.
//
// It is a leaf: it imports only the contact row type, so the packages that
// store, print or export emails (store, output, export, the review UI) do
// not link the scraper, the agents or an LLM client.
package email

import (
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
)

// Fallback levels: where an answer comes from.
const (
	LevelSite     = 1 // found on the prospect's site, with evidence
	LevelInferred = 2 // inferred from the site or the industry
	LevelContext  = 3 // taken from the client's context files
	LevelDefault  = 4 // configured generic default
)

// Status of one contact's result.
const (
	StatusGenerated = "generated"
	StatusFailed    = "failed"
)

// Result is what one contact produced: one line of emails.jsonl, one row of
// emails_generated.
type Result struct {
	Contact   contacts.Contact    `json:"contact"`
	Subject   string              `json:"subject"`
	Body      string              `json:"body"`
	Variables map[string]Variable `json:"variables"`
	Quality   Report              `json:"quality"`
	Status    string              `json:"status"`
	Error     string              `json:"error,omitempty"`
	// SiteError says why the prospect's site could not be used (agents then
	// answer from lower fallback levels).
	SiteError string `json:"site_error,omitempty"`
	// SitePages are the URLs of the pages the agents read.
	SitePages []string `json:"site_pages,omitempty"`
	Timings   Timings  `json:"timings"`
	Usage     Usage    `json:"usage"`
	// Calls traces the model calls made for this email (none for answers
	// reused from the cache or made by the offline engine).
	Calls []AgentCall `json:"calls,omitempty"`
	// Answers are the agents' full answers (with their model calls), keyed
	// by agent name; the store writes them as the per-agent run trace.
	Answers    map[string]Answer `json:"-"`
	Provenance Provenance        `json:"provenance"`
}

// Variable is one filled template variable with where it came from.
type Variable struct {
	Value         string     `json:"value"`
	Agent         string     `json:"agent,omitempty"` // "" for contact columns
	Confidence    int        `json:"confidence,omitempty"`
	FallbackLevel int        `json:"fallback_level,omitempty"`
	Reasoning     string     `json:"reasoning,omitempty"`
	Evidence      []Evidence `json:"evidence,omitempty"`
	Cached        bool       `json:"cached,omitempty"` // reused from another contact of the same company
}

// Evidence is a verbatim quote from a scraped page.
type Evidence struct {
	URL   string `json:"url"`
	Quote string `json:"quote"`
}

// Answer is one agent's typed answer.
type Answer struct {
	Agent         string            `json:"agent"`
	Values        map[string]string `json:"values"`
	Confidence    int               `json:"confidence"`     // 1-5
	FallbackLevel int               `json:"fallback_level"` // 1-4
	Reasoning     string            `json:"reasoning"`
	Evidence      []Evidence        `json:"evidence"`
	Engine        string            `json:"engine"`  // "offline", "llm"
	Version       string            `json:"version"` // engine version for this agent: model + prompt hash
	// Ungrounded lists evidence quotes that were not found in the scraped
	// pages (the answer was downgraded from level 1).
	Ungrounded []string `json:"ungrounded,omitempty"`
	// Notes are reviewer-facing remarks: why the engine fell back, a prompt
	// injection attempt seen on the site, a repaired answer...
	Notes []Note `json:"notes,omitempty"`
	Calls []Call `json:"calls,omitempty"`
}

// Note is a remark attached to an answer; Points > 0 lowers the email's
// quality score by that much (it becomes a quality flag).
type Note struct {
	Code    string `json:"code"`
	Points  int    `json:"points"`
	Message string `json:"message"`
	Gate    bool   `json:"gate,omitempty"`
}

// Call is one model call made to produce an answer (LLM engine only).
type Call struct {
	Model            string  `json:"model"`
	PromptVersion    string  `json:"prompt_version"`
	Attempts         int     `json:"attempts"`
	LatencyMS        int64   `json:"latency_ms"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CachedTokens     int     `json:"cached_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	Error            string  `json:"error,omitempty"`
}

// AgentCall is one model call with the agent it was made for.
type AgentCall struct {
	Agent string `json:"agent"`
	Call
}

// Flag is one quality deduction and its reason.
type Flag struct {
	Code    string `json:"code"`
	Points  int    `json:"points"`         // points deducted (positive number)
	Message string `json:"message"`        // one sentence a reviewer understands, naming the variable/word concerned
	Gate    bool   `json:"gate,omitempty"` // hard gate: never auto-approve when set (unfilled variable, ungrounded claim, ...)
}

// Report is an email's quality: a score and the flags explaining it.
type Report struct {
	Score int    `json:"score"` // 0-100, clamped
	Flags []Flag `json:"flags"` // ordered by points desc, then code
}

// Gated reports whether a flag forbids automatic approval.
func (r Report) Gated() bool {
	for _, f := range r.Flags {
		if f.Gate {
			return true
		}
	}
	return false
}

// Timings in milliseconds.
type Timings struct {
	ScrapeMS int64 `json:"scrape_ms"`
	AgentsMS int64 `json:"agents_ms"`
	TotalMS  int64 `json:"total_ms"`
}

// Usage sums the model calls made for this contact (cache hits cost nothing).
type Usage struct {
	Calls            int     `json:"calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CachedTokens     int     `json:"cached_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// AddCall counts one model call.
func (u *Usage) AddCall(c Call) {
	u.Calls++
	u.PromptTokens += c.PromptTokens
	u.CompletionTokens += c.CompletionTokens
	u.CachedTokens += c.CachedTokens
	u.CostUSD += c.CostUSD
}

// Add sums another usage into u.
func (u *Usage) Add(o Usage) {
	u.Calls += o.Calls
	u.PromptTokens += o.PromptTokens
	u.CompletionTokens += o.CompletionTokens
	u.CachedTokens += o.CachedTokens
	u.CostUSD += o.CostUSD
}

// Provenance records what produced an email, so a reviewer can tell why two
// emails differ.
type Provenance struct {
	TemplateVersion string            `json:"template_version"`
	ContextHash     string            `json:"context_hash"`
	Engine          string            `json:"engine"`
	AgentVersions   map[string]string `json:"agent_versions"` // agent -> engine version (model + prompt hash)
}

// Summary is a campaign run's outcome, for the CLI summary and the report.
type Summary struct {
	Contacts  int `json:"contacts"`  // contacts processed (accepted rows)
	Generated int `json:"generated"` // emails written, blocked ones included
	// Blocked counts the generated emails with a blocking (gate) flag
	// (Report.Gated): they stay in emails.jsonl and report.html for a
	// reviewer but are not exported to the sequencer import file.
	Blocked      int           `json:"blocked"`
	Failed       int           `json:"failed"`
	AvgQuality   float64       `json:"avg_quality"`
	CacheHits    int64         `json:"cache_hits"`
	CacheMisses  int64         `json:"cache_misses"`
	Usage        Usage         `json:"usage"`
	Wall         time.Duration `json:"wall_ns"`
	P50, P95     time.Duration `json:"-"`
	StoppedEarly string        `json:"stopped_early,omitempty"` // why the run stopped before the end
}

// Ready is the number of generated emails with no blocking flag: the ones
// exported for the sequencer.
func (s Summary) Ready() int { return s.Generated - s.Blocked }

// SuccessRate is ready / contacts: an email blocked for review is not a
// success.
func (s Summary) SuccessRate() float64 {
	if s.Contacts == 0 {
		return 0
	}
	return float64(s.Ready()) / float64(s.Contacts)
}

// CacheHitRate is the share of agent answers reused from the cache.
func (s Summary) CacheHitRate() float64 {
	if s.CacheHits+s.CacheMisses == 0 {
		return 0
	}
	return float64(s.CacheHits) / float64(s.CacheHits+s.CacheMisses)
}
