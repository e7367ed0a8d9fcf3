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
	// Automation is the client's phase decision, made when the email is
	// stored (nil for runs outside the database).
	Automation *Automation `json:"automation,omitempty"`
}

// Automation is what a client's rollout phase decided for an email:
// auto-approved, held by a hard gate, sent to review, or drawn for the
// random review sample (shared/automation).
type Automation struct {
	Outcome string   `json:"outcome"` // auto_approved | held | review | sampled
	Reason  string   `json:"reason"`
	Gates   []string `json:"gates,omitempty"`
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
	// Engine is the engine that answered ("llm", "offline"); "" for
	// contact columns. With the LLM engine, "offline" means it fell back.
	Engine string `json:"engine,omitempty"`
	// FallbackReason says why the engine fell back to another one for this
	// answer (Answer.FallbackReason); "" when it did not.
	FallbackReason string `json:"fallback_reason,omitempty"`
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
	// FallbackReason is set when the engine asked could not answer and its
	// fallback engine did (Engine is then the fallback's name): a short
	// reason, the same for every answer that fell back for the same cause,
	// such as "model call failed", "model refused" or "answer still invalid
	// after one repair". The "llm_fallback" note has the details.
	FallbackReason string `json:"fallback_reason,omitempty"`
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
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	Attempts      int    `json:"attempts"`
	Retries       int    `json:"retries,omitempty"` // attempts after a 429, 5xx, timeout or network error
	// LatencyMS is the model's time: the HTTP requests of the call, from
	// sending to the last byte of the answer, over every attempt.
	LatencyMS int64 `json:"latency_ms"`
	// WaitMS is the rest of the call's time, spent before sending: waiting
	// for the shared rate budget (requests and tokens per minute), for the
	// back-off or a server's retry hint between attempts, or for the first
	// call to a model to find the output mode the server accepts.
	WaitMS           int64   `json:"wait_ms,omitempty"`
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
	// Agents says what the engine did for each agent, by agent name.
	Agents map[string]AgentActivity `json:"agents,omitempty"`
	// FallbackExamples holds, for each fallback reason, the note of the
	// first answer that fell back for it ("persona: model call failed:
	// HTTP 503 …; answered by the offline engine").
	FallbackExamples map[string]string `json:"fallback_examples,omitempty"`
}

// Note codes the LLM engine sets (shared/llm).
const (
	NoteLLMFallback = "llm_fallback" // the fallback engine answered; Answer.FallbackReason says why
	NoteLLMRepaired = "llm_repaired" // the first answer broke the output rules and was repaired
)

// AgentActivity is what the engine did for one agent during a run. An
// answer reused from the cache made no call: it counts in Reused only.
type AgentActivity struct {
	Answers int `json:"answers"`           // answers computed by an engine (not reused)
	Reused  int `json:"reused,omitempty"`  // answers reused from the cache
	Calls   int `json:"calls,omitempty"`   // model calls, repair calls included
	Retries int `json:"retries,omitempty"` // attempts after a 429, 5xx, timeout or network error
	Repairs int `json:"repairs,omitempty"` // answers valid after one repair call
	// Fallbacks counts the answers given by the fallback engine, by
	// Answer.FallbackReason.
	Fallbacks map[string]int `json:"fallbacks,omitempty"`
	LatencyMS int64          `json:"latency_ms,omitempty"` // the model's time, Call.LatencyMS summed
	WaitMS    int64          `json:"wait_ms,omitempty"`    // time waiting to send, Call.WaitMS summed
}

// FallbackCount is the number of answers given by the fallback engine.
func (a AgentActivity) FallbackCount() int {
	n := 0
	for _, c := range a.Fallbacks {
		n += c
	}
	return n
}

// Add sums o into a.
func (a *AgentActivity) Add(o AgentActivity) {
	a.Answers += o.Answers
	a.Reused += o.Reused
	a.Calls += o.Calls
	a.Retries += o.Retries
	a.Repairs += o.Repairs
	a.LatencyMS += o.LatencyMS
	a.WaitMS += o.WaitMS
	for r, n := range o.Fallbacks {
		if a.Fallbacks == nil {
			a.Fallbacks = map[string]int{}
		}
		a.Fallbacks[r] += n
	}
}

// Activity sums the activity of every agent.
func (s Summary) Activity() AgentActivity {
	var t AgentActivity
	for _, a := range s.Agents {
		t.Add(a)
	}
	return t
}

// FallbackShare is the share of the computed answers (cache reuse aside)
// that the fallback engine gave.
func (s Summary) FallbackShare() float64 {
	t := s.Activity()
	if t.Answers == 0 {
		return 0
	}
	return float64(t.FallbackCount()) / float64(t.Answers)
}

// TopFallbackReason is the most frequent fallback reason over every agent
// and how many answers fell back for it (the alphabetically first on a
// tie); "" when nothing fell back.
func (s Summary) TopFallbackReason() (reason string, n int) {
	for r, c := range s.Activity().Fallbacks {
		if c > n || c == n && r < reason {
			reason, n = r, c
		}
	}
	return reason, n
}

// Tally counts one result: contacts, generated or failed, usage, and the
// generated emails' average quality.
func (s *Summary) Tally(r Result) {
	s.Contacts++
	s.Usage.Add(r.Usage)
	if r.Status != StatusGenerated {
		s.Failed++
		return
	}
	s.Generated++
	s.AvgQuality += (float64(r.Quality.Score) - s.AvgQuality) / float64(s.Generated)
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
