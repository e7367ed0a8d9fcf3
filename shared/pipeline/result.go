package pipeline

import (
	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/quality"
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
	Quality   quality.Report      `json:"quality"`
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
	Answers    map[string]agents.Answer `json:"-"`
	Provenance Provenance               `json:"provenance"`
}

// Variable is one filled template variable with where it came from.
type Variable struct {
	Value         string            `json:"value"`
	Agent         string            `json:"agent,omitempty"` // "" for contact columns
	Confidence    int               `json:"confidence,omitempty"`
	FallbackLevel int               `json:"fallback_level,omitempty"`
	Reasoning     string            `json:"reasoning,omitempty"`
	Evidence      []agents.Evidence `json:"evidence,omitempty"`
	Cached        bool              `json:"cached,omitempty"` // reused from another contact of the same company
}

// AgentCall is one model call with the agent it was made for.
type AgentCall struct {
	Agent string `json:"agent"`
	agents.Call
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

// Provenance records what produced an email, so a reviewer can tell why two
// emails differ.
type Provenance struct {
	TemplateVersion string            `json:"template_version"`
	ContextHash     string            `json:"context_hash"`
	Engine          string            `json:"engine"`
	AgentVersions   map[string]string `json:"agent_versions"` // agent -> engine version (model + prompt hash)
}
