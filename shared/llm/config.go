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
	// Temperature is sent when not null, 0 included; null sends none
	// (reasoning models such as gpt-5 reject any other than their default:
	// New refuses that combination with a ConfigError).
	Temperature *float32 `json:"temperature"`
	// MaxTokensParam names the request field that carries
	// MaxCompletionTokens: "max_completion_tokens" (the default, required by
	// reasoning models), "max_tokens" (older servers that ignore the former)
	// or "both".
	MaxTokensParam string `json:"max_tokens_param"`
	// ReasoningEffort ("minimal", "low", "medium", "high"...) is sent to
	// reasoning models, recognised by name (o1, o3, o4, gpt-5, gpt-6, after
	// any "vendor/" prefix); empty sends none.
	ReasoningEffort string `json:"reasoning_effort"`
	// ResponseFormat is the first output mode tried: "json_schema" (strict
	// structured outputs), "json_object" (the schema written in the prompt)
	// or "text" (no response_format, the schema in the prompt). A server
	// that answers 400 to a mode's response_format gets the next one; the
	// mode that works is remembered per base URL and model.
	ResponseFormat string `json:"response_format"`
	// StopAfterClientErrors: when this many calls in a row to one model end
	// in the same HTTP 4xx, the run stops with a ConfigError; 0 never stops.
	StopAfterClientErrors int `json:"stop_after_client_errors"`
	// Provider is "openai" (any OpenAI-compatible server at BaseURL) or
	// "azure" (Azure OpenAI, configured by Azure). Empty means azure when
	// AZURE_OPENAI_ENDPOINT is set and neither OPENAI_API_KEY nor
	// OPENAI_BASE_URL is, else openai.
	Provider string `json:"provider"`
	// Azure configures the azure provider.
	Azure AzureConfig `json:"azure"`
	// MaxSiteChars caps the scraped text put in one prompt.
	MaxSiteChars int `json:"max_site_chars"`
	// Prices is the dated price table used for cost accounting.
	Prices PriceTable `json:"prices"`
}

// AzureConfig is an Azure OpenAI resource: requests go to
// {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…
// with the key in the api-key header.
type AzureConfig struct {
	// Endpoint of the resource: "https://<resource>.openai.azure.com".
	Endpoint string `json:"endpoint"`
	// APIVersion is the api-version query parameter.
	APIVersion string `json:"api_version"`
	// Deployment serves every model missing from Deployments; when both
	// are empty the model name is the deployment name.
	Deployment string `json:"deployment"`
	// Deployments maps model names (as in models) to deployment names.
	Deployments map[string]string `json:"deployments"`
}

// DeploymentFor returns the Azure deployment that serves model.
func (a AzureConfig) DeploymentFor(model string) string {
	if d := a.Deployments[model]; d != "" {
		return d
	}
	if a.Deployment != "" {
		return a.Deployment
	}
	return model
}

// Providers (Config.Provider, KALEADS_LLM_PROVIDER).
const (
	ProviderOpenAI = "openai"
	ProviderAzure  = "azure"
)

// Output modes (Config.ResponseFormat, KALEADS_LLM_RESPONSE_FORMAT), from
// the strictest.
const (
	FormatJSONSchema = "json_schema"
	FormatJSONObject = "json_object"
	FormatText       = "text"
)

// Endpoint returns where requests go: the Azure endpoint for the azure
// provider, else BaseURL, without a trailing slash.
func (c Config) Endpoint() string {
	if c.Provider == ProviderAzure {
		return strings.TrimRight(c.Azure.Endpoint, "/")
	}
	return strings.TrimRight(c.BaseURL, "/")
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

	EnvProvider        = "KALEADS_LLM_PROVIDER"         // openai or azure
	EnvResponseFormat  = "KALEADS_LLM_RESPONSE_FORMAT"  // json_schema, json_object or text
	EnvReasoningEffort = "KALEADS_LLM_REASONING_EFFORT" // sent to reasoning models
	EnvAzureEndpoint   = "AZURE_OPENAI_ENDPOINT"        // https://<resource>.openai.azure.com
	EnvAzureAPIKey     = "AZURE_OPENAI_API_KEY"         // the azure provider's key (else OPENAI_API_KEY)
	EnvAzureAPIVersion = "AZURE_OPENAI_API_VERSION"     // api-version
	EnvAzureDeployment = "AZURE_OPENAI_DEPLOYMENT"      // deployment serving every model
)

// envSelectsLLM reports whether the environment asks for the LLM engine
// (--engine auto): an OpenAI key or base URL, a provider, or an Azure
// endpoint with its key.
func envSelectsLLM(getenv func(string) string) bool {
	set := func(k string) bool { return strings.TrimSpace(getenv(k)) != "" }
	return set(EnvAPIKey) || set(EnvBaseURL) || set(EnvProvider) || (set(EnvAzureEndpoint) && set(EnvAzureAPIKey))
}

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
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c.APIKey = env(EnvAPIKey)
	if v := env(EnvBaseURL); v != "" {
		c.BaseURL = v
	}
	switch {
	case env(EnvProvider) != "":
		c.Provider = strings.ToLower(env(EnvProvider))
	case c.Provider == "" && env(EnvAzureEndpoint) != "" && env(EnvAPIKey) == "" && env(EnvBaseURL) == "":
		c.Provider = ProviderAzure
	case c.Provider == "":
		c.Provider = ProviderOpenAI
	}
	if c.Provider == ProviderAzure {
		for k, dst := range map[string]*string{EnvAzureEndpoint: &c.Azure.Endpoint, EnvAzureAPIVersion: &c.Azure.APIVersion, EnvAzureDeployment: &c.Azure.Deployment} {
			if v := env(k); v != "" {
				*dst = v
			}
		}
		if v := env(EnvAzureAPIKey); v != "" {
			c.APIKey = v
		}
	}
	if v := env(EnvResponseFormat); v != "" {
		c.ResponseFormat = v
	}
	if v := env(EnvReasoningEffort); v != "" {
		c.ReasoningEffort = v
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
	if err := c.validateCompat(); err != nil {
		return err
	}
	for m, p := range c.Prices.Models {
		if p.Input < 0 || p.CachedInput < 0 || p.Output < 0 {
			return fmt.Errorf("llm config: prices: negative price for %q", m)
		}
	}
	return nil
}

// validateCompat checks the provider and request-shape settings.
func (c Config) validateCompat() error {
	switch c.Provider {
	case "", ProviderOpenAI:
	case ProviderAzure:
		u, err := url.Parse(c.Azure.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("llm config: provider azure needs azure.endpoint (%s), an http(s) URL such as https://<resource>.openai.azure.com; got %q", EnvAzureEndpoint, c.Azure.Endpoint)
		}
		if c.Azure.APIVersion == "" {
			return fmt.Errorf("llm config: provider azure needs azure.api_version (%s)", EnvAzureAPIVersion)
		}
	default:
		return fmt.Errorf("llm config: provider %q is not %s or %s (%s)", c.Provider, ProviderOpenAI, ProviderAzure, EnvProvider)
	}
	switch c.ResponseFormat {
	case "", FormatJSONSchema, FormatJSONObject, FormatText:
	default:
		return fmt.Errorf("llm config: response_format %q is not %s, %s or %s (%s)", c.ResponseFormat, FormatJSONSchema, FormatJSONObject, FormatText, EnvResponseFormat)
	}
	switch c.MaxTokensParam {
	case "", "max_completion_tokens", "max_tokens", "both":
	default:
		return fmt.Errorf("llm config: max_tokens_param %q is not max_completion_tokens, max_tokens or both", c.MaxTokensParam)
	}
	switch c.ReasoningEffort {
	case "", "none", "minimal", "low", "medium", "high", "xhigh", "max":
	default:
		return fmt.Errorf("llm config: reasoning_effort %q is not none, minimal, low, medium, high, xhigh or max (%s)", c.ReasoningEffort, EnvReasoningEffort)
	}
	if t := c.Temperature; t != nil && (*t < 0 || *t > 2) {
		return fmt.Errorf("llm config: temperature %v is not between 0 and 2", *t)
	}
	if c.StopAfterClientErrors < 0 {
		return errors.New("llm config: stop_after_client_errors must not be negative (0 never stops)")
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
