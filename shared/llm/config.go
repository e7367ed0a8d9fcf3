package llm

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
)

//go:embed config.json
var defaultConfig []byte

// Config configures the LLM engine. The embedded config.json holds the
// defaults; LoadConfig overlays a JSON file and environment variables.
type Config struct {
	// BaseURL of an OpenAI-compatible API ("https://api.openai.com/v1",
	// "http://localhost:11434/v1" for Ollama, a simulator's URL).
	BaseURL string `json:"base_url"`
	// APIKey is sent as a bearer token. It never comes from the file, only
	// from OPENAI_API_KEY (or the caller).
	APIKey string `json:"-"`
	// DefaultModel answers for agents missing from Models.
	DefaultModel string `json:"default_model"`
	// Models maps agent names ("persona", "signal"...) to model names.
	Models map[string]string `json:"models"`
	// Timeout bounds one HTTP attempt.
	Timeout Duration `json:"timeout"`
	// MaxAttempts is how many HTTP attempts one model call gets (first try
	// included) on 429s, 5xx, timeouts and network errors.
	MaxAttempts int `json:"max_attempts"`
	// BackoffBase is the first retry's back-off; it doubles per retry up to
	// BackoffMax, with jitter. A server hint (Retry-After,
	// x-ratelimit-reset-*) is honoured when longer, up to BackoffMax.
	BackoffBase Duration `json:"backoff_base"`
	BackoffMax  Duration `json:"backoff_max"`
	// RPM and TPM are the requests and tokens per minute all agents share;
	// 0 means unlimited.
	RPM int `json:"rpm"`
	TPM int `json:"tpm"`
	// MaxCompletionTokens caps each answer (max_completion_tokens).
	MaxCompletionTokens int `json:"max_completion_tokens"`
	// Temperature is sent when not null (reasoning models such as gpt-5
	// reject it).
	Temperature *float32 `json:"temperature"`
	// MaxSiteChars caps the scraped text put in one prompt.
	MaxSiteChars int `json:"max_site_chars"`
	// Prices is the dated price table used for cost accounting.
	Prices PriceTable `json:"prices"`
}

// PriceTable holds model prices in USD per million tokens, with the date
// they were taken from the providers' price lists.
type PriceTable struct {
	AsOf   string           `json:"as_of"`
	Source string           `json:"source"`
	Models map[string]Price `json:"models"`
}

// Price is one model's price in USD per million tokens. A zero CachedInput
// means cached input tokens cost the Input price.
type Price struct {
	Input       float64 `json:"input"`
	CachedInput float64 `json:"cached_input"`
	Output      float64 `json:"output"`
}

// Lookup returns the price of model: an exact entry, else the longest entry
// that is a prefix of model ("gpt-4o-mini-2024-07-18" → "gpt-4o-mini").
func (t PriceTable) Lookup(model string) (Price, bool) {
	if p, ok := t.Models[model]; ok {
		return p, true
	}
	best := ""
	for name := range t.Models {
		if strings.HasPrefix(model, name) && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return Price{}, false
	}
	return t.Models[best], true
}

// Cost returns the USD cost of one call: uncached prompt tokens at the input
// price, cached tokens at the cached-input price, completion tokens at the
// output price. ok is false (and cost 0) for a model missing from the table.
func (t PriceTable) Cost(model string, promptTokens, cachedTokens, completionTokens int) (cost float64, ok bool) {
	p, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	cached := p.CachedInput
	if cached == 0 {
		cached = p.Input
	}
	cachedTokens = min(max(cachedTokens, 0), promptTokens)
	return (float64(promptTokens-cachedTokens)*p.Input + float64(cachedTokens)*cached + float64(completionTokens)*p.Output) / 1e6, true
}

// Duration is a time.Duration written as a Go duration string ("60s",
// "500ms") in JSON.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Environment variables read by LoadConfig.
const (
	EnvAPIKey     = "OPENAI_API_KEY"
	EnvBaseURL    = "OPENAI_BASE_URL"
	EnvModel      = "KALEADS_MODEL"      // model for every agent
	EnvModelAgent = "KALEADS_MODEL_"     // + upper-case agent name: KALEADS_MODEL_SIGNAL, KALEADS_MODEL_CASE_STUDY
	EnvConfig     = "KALEADS_LLM_CONFIG" // path of a JSON config file (read by FromEnv)
	EnvRPM        = "KALEADS_LLM_RPM"    // requests per minute budget
	EnvTPM        = "KALEADS_LLM_TPM"    // tokens per minute budget
	defaultAPIURL = "https://api.openai.com/v1"
)

// ErrNoAPIKey is returned when neither OPENAI_API_KEY nor a non-OpenAI base
// URL is configured: the caller should use the offline engine.
var ErrNoAPIKey = errors.New("llm: no API key (set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server)")

// DefaultConfig returns the embedded default configuration (no API key).
func DefaultConfig() Config {
	var c Config
	if err := json.Unmarshal(defaultConfig, &c); err != nil {
		panic("llm: embedded config.json: " + err.Error()) // a build defect, covered by tests
	}
	return c
}

// LoadConfig returns the default configuration overlaid with the JSON file
// at path (when not empty; its "models" and "prices.models" entries are
// merged into the defaults) and the environment read through getenv, in
// increasing priority: file, KALEADS_MODEL, KALEADS_MODEL_<AGENT>. It
// validates the result.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("llm config: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return Config{}, fmt.Errorf("llm config %s: %w", path, err)
		}
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c.APIKey = strings.TrimSpace(getenv(EnvAPIKey))
	if v := strings.TrimSpace(getenv(EnvBaseURL)); v != "" {
		c.BaseURL = v
	}
	if v := strings.TrimSpace(getenv(EnvModel)); v != "" {
		c.DefaultModel = v
		for a := range c.Models {
			c.Models[a] = v
		}
	}
	for _, s := range agents.All {
		if v := strings.TrimSpace(getenv(EnvModelAgent + strings.ToUpper(s.Name))); v != "" {
			if c.Models == nil {
				c.Models = map[string]string{}
			}
			c.Models[s.Name] = v
		}
	}
	for _, e := range []struct {
		name string
		dst  *int
	}{{EnvRPM, &c.RPM}, {EnvTPM, &c.TPM}} {
		if v := strings.TrimSpace(getenv(e.name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Config{}, fmt.Errorf("llm config: %s=%q is not a non-negative integer", e.name, v)
			}
			*e.dst = n
		}
	}
	return c, c.Validate()
}

// Validate reports the first configuration problem found.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("llm config: base_url %q is not an http(s) URL", c.BaseURL)
	}
	if c.DefaultModel == "" {
		return errors.New("llm config: default_model is empty")
	}
	known := map[string]bool{}
	for _, s := range agents.All {
		known[s.Name] = true
	}
	var names []string
	for a := range c.Models {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		if !known[a] {
			return fmt.Errorf("llm config: models: unknown agent %q", a)
		}
		if c.Models[a] == "" {
			return fmt.Errorf("llm config: models: empty model for agent %q", a)
		}
	}
	switch {
	case c.Timeout <= 0:
		return errors.New("llm config: timeout must be positive")
	case c.MaxAttempts < 1:
		return errors.New("llm config: max_attempts must be at least 1")
	case c.BackoffBase < 0 || c.BackoffMax < c.BackoffBase:
		return errors.New("llm config: need 0 <= backoff_base <= backoff_max")
	case c.RPM < 0 || c.TPM < 0:
		return errors.New("llm config: rpm and tpm must not be negative")
	case c.MaxCompletionTokens < 0 || c.MaxSiteChars < 0:
		return errors.New("llm config: max_completion_tokens and max_site_chars must not be negative")
	}
	for m, p := range c.Prices.Models {
		if p.Input < 0 || p.CachedInput < 0 || p.Output < 0 {
			return fmt.Errorf("llm config: prices: negative price for %q", m)
		}
	}
	return nil
}

// Model returns the model configured for agent.
func (c Config) Model(agent string) string {
	if m := c.Models[agent]; m != "" {
		return m
	}
	return c.DefaultModel
}
