package llm

// What differs between OpenAI-compatible servers, and how the engine copes:
// output modes that fall back when a server refuses response_format (and
// are remembered per base URL and model), fenced JSON, readable error
// bodies, explicit temperature 0, reasoning parameters, Azure, and the
// configuration errors that must stop a run.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	openai "github.com/sashabaranov/go-openai"
)

// ErrConfig marks a configuration error (errors.Is): a request the client
// library refuses before sending, a parameter the server refuses, the same
// HTTP 4xx for stop_after_client_errors calls in a row, a rejected key.
// Every further call would fail the same way, so the run stops (StopsRun).
var ErrConfig = errors.New("LLM configuration error")

// ConfigError is a configuration error naming the setting to fix.
type ConfigError struct {
	Setting string // what to check: "temperature", "models.signal (KALEADS_MODEL_SIGNAL)", "OPENAI_API_KEY"...
	Model   string // the model called, when one
	Status  int    // the HTTP status, 0 when the request was never sent
	Err     error  // what happened
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(ErrConfig.Error())
	if e.Setting != "" {
		fmt.Fprintf(&b, " — check %s", e.Setting)
	}
	if e.Model != "" {
		fmt.Fprintf(&b, " (model %s)", e.Model)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// outputMode is how a request asks for JSON, from the strictest.
type outputMode int

const (
	modeSchema outputMode = iota // response_format json_schema, strict
	modeObject                   // response_format json_object, schema in the prompt
	modeText                     // no response_format, schema in the prompt
)

func (m outputMode) String() string {
	return [...]string{FormatJSONSchema, FormatJSONObject, FormatText}[m]
}

func parseMode(s string) outputMode {
	switch s {
	case FormatJSONObject:
		return modeObject
	case FormatText:
		return modeText
	}
	return modeSchema
}

// routeKey identifies where a request goes.
type routeKey struct{ endpoint, model string }

// route is what the engine learned about one base URL and model: the
// output mode that works, and the run of identical 4xx answers.
//
// The first call to a route goes alone: the others wait for it, so when
// the server refuses the first mode only that call pays (one refused
// request per route). Later calls run concurrently; a refusal seen by one
// of them still moves the route to the next mode.
type route struct {
	probe chan struct{} // capacity 1: held by the first call

	mu       sync.Mutex
	probed   bool // the first call has ended
	mode     outputMode
	settled  bool // a call succeeded in mode
	rejected int  // calls the server refused for their response_format
	status   int  // the 4xx of the current run of failures
	streak   int  // calls in a row that ended in status
}

// routes holds an engine's routes.
type routes struct {
	mu sync.Mutex
	m  map[routeKey]*route
}

func (rs *routes) get(k routeKey, first outputMode) *route {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.m == nil {
		rs.m = map[routeKey]*route{}
	}
	r := rs.m[k]
	if r == nil {
		r = &route{probe: make(chan struct{}, 1), mode: first}
		rs.m[k] = r
	}
	return r
}

// acquire waits until the caller may use the route (after the first call)
// and returns the function to call when the call has ended.
func (r *route) acquire(ctx context.Context) (func(), error) {
	if r.wasProbed() {
		return func() {}, nil
	}
	select {
	case r.probe <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.wasProbed() {
		<-r.probe
		return func() {}, nil
	}
	return func() {
		r.mu.Lock()
		r.probed = true
		r.mu.Unlock()
		<-r.probe
	}, nil
}

func (r *route) wasProbed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probed
}

func (r *route) current() outputMode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}

// refused records that the server refused mode's response_format and
// returns the mode to use next.
func (r *route) refused(mode outputMode) outputMode {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected++
	if r.mode <= mode {
		r.mode = mode + 1
	}
	return r.mode
}

// succeeded records that mode works and ends any run of failures.
func (r *route) succeeded(mode outputMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mode >= r.mode { // a call sent before a refusal elsewhere does not undo it
		r.mode, r.settled = mode, true
	}
	r.status, r.streak = 0, 0
}

// clientError counts a call that ended in the 4xx status and returns how
// many calls in a row ended so.
func (r *route) clientError(status int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if status != r.status {
		r.status, r.streak = status, 0
	}
	r.streak++
	return r.streak
}

// OutputMode is what the engine learned about one base URL and model.
type OutputMode struct {
	BaseURL  string
	Model    string
	Mode     string // json_schema, json_object or text: the mode in use
	Settled  bool   // a call succeeded in Mode
	Rejected int    // calls the server refused for their response_format
}

// OutputModes returns the output mode in use per base URL and model,
// sorted by base URL then model.
func (e *Engine) OutputModes() []OutputMode {
	e.routes.mu.Lock()
	defer e.routes.mu.Unlock()
	var out []OutputMode
	for k, r := range e.routes.m {
		r.mu.Lock()
		out = append(out, OutputMode{BaseURL: k.endpoint, Model: k.model, Mode: r.mode.String(), Settled: r.settled, Rejected: r.rejected})
		r.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].BaseURL != out[j].BaseURL {
			return out[i].BaseURL < out[j].BaseURL
		}
		return out[i].Model < out[j].Model
	})
	return out
}

// schemaInstructions introduces the schema when the server does not take
// it as a response_format (json_object and text modes).
const schemaInstructions = "# Schéma JSON de la réponse\n\n" +
	"Réponds uniquement avec un objet JSON, sans bloc de code ni texte autour, conforme à ce schéma JSON " +
	"(toutes les propriétés sont obligatoires, aucune autre n'est permise) :\n"

// request builds the chat completion request of one attempt in mode, and
// the JSON members to add to its body that go-openai would omit (a
// temperature of 0).
func (e *Engine) request(p *agentPrompt, model string, msgs []openai.ChatCompletionMessage, mode outputMode) (openai.ChatCompletionRequest, string) {
	req := openai.ChatCompletionRequest{Model: model, Messages: msgs}
	switch mode {
	case modeSchema:
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name:   SchemaName(p.spec.Name),
				Schema: json.RawMessage(p.schemaJSON),
				Strict: true,
			},
		}
	case modeObject:
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
		req.Messages = withSchemaInPrompt(msgs, p.schemaJSON)
	case modeText:
		req.Messages = withSchemaInPrompt(msgs, p.schemaJSON)
	}
	// a group call answers several agents: room for each of their answers
	switch n := e.cfg.MaxCompletionTokens * max(len(p.members), 1); e.cfg.MaxTokensParam {
	case "max_tokens":
		req.MaxTokens = n
	case "both":
		req.MaxTokens, req.MaxCompletionTokens = n, n
	default:
		req.MaxCompletionTokens = n
	}
	var extra string
	if t := e.cfg.Temperature; t != nil {
		if *t == 0 {
			extra = `"temperature":0` // go-openai omits a zero temperature
		} else {
			req.Temperature = *t
		}
	}
	if e.cfg.ReasoningEffort != "" && isReasoningModel(model) {
		req.ReasoningEffort = e.cfg.ReasoningEffort
	}
	return req, extra
}

// withSchemaInPrompt appends the schema to the system message (a second
// system message would break some servers' chat templates).
func withSchemaInPrompt(msgs []openai.ChatCompletionMessage, schemaJSON []byte) []openai.ChatCompletionMessage {
	text := schemaInstructions + string(schemaJSON)
	out := make([]openai.ChatCompletionMessage, 0, len(msgs)+1)
	if len(msgs) == 0 || msgs[0].Role != openai.ChatMessageRoleSystem {
		out = append(out, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: text})
		return append(out, msgs...)
	}
	out = append(out, msgs...)
	out[0].Content += "\n\n" + text
	return out
}

// isReasoningModel reports whether model is a reasoning model by name (o1,
// o3, o4, gpt-5, gpt-6 families), after any "vendor/" prefix.
func isReasoningModel(model string) bool {
	m := strings.ToLower(model[strings.LastIndex(model, "/")+1:])
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// preflight runs go-openai's own request checks on every configured
// model, so a setting the library would refuse at every call stops the
// engine's construction instead. A temperature of 0, which the library
// cannot see (it omits zero), is checked as the smallest positive value.
func preflight(e *Engine) error {
	models := map[string]string{e.cfg.DefaultModel: "default_model (KALEADS_MODEL)"}
	for a, m := range e.cfg.Models {
		if _, ok := models[m]; !ok {
			models[m] = modelSetting(a)
		}
	}
	names := make([]string, 0, len(models))
	for m := range models {
		names = append(names, m)
	}
	sort.Strings(names)
	p := &agentPrompt{schemaJSON: []byte(`{}`)}
	for _, m := range names {
		req, extra := e.request(p, m, nil, modeSchema)
		if extra != "" {
			req.Temperature = math.SmallestNonzeroFloat32
		}
		if err := openai.NewReasoningValidator().Validate(req); err != nil {
			return &ConfigError{Setting: librarySetting(err, models[m]), Model: m,
				Err: fmt.Errorf("the OpenAI client library refuses the requests to %s, set by %s: %w", m, models[m], err)}
		}
	}
	return nil
}

// librarySetting names the setting behind an error of go-openai's own
// checks.
func librarySetting(err error, model string) string {
	switch {
	case errors.Is(err, openai.ErrReasoningModelLimitationsOther), errors.Is(err, openai.ErrO1BetaLimitationsOther), errors.Is(err, openai.ErrReasoningSamplingUnsupported):
		return "temperature (null for reasoning models)"
	case errors.Is(err, openai.ErrReasoningModelMaxTokensDeprecated), errors.Is(err, openai.ErrO1MaxTokensDeprecated):
		return "max_tokens_param (max_completion_tokens for reasoning models)"
	case errors.Is(err, openai.ErrReasoningEffortUnsupported):
		return "reasoning_effort (" + EnvReasoningEffort + ")"
	case errors.Is(err, openai.ErrChatCompletionInvalidModel):
		return model
	}
	return "the LLM configuration (" + EnvConfig + ")"
}

// modelSetting names the setting that chose agent's model.
func modelSetting(agent string) string {
	return fmt.Sprintf("models.%s (%s%s or %s)", agent, EnvModelAgent, strings.ToUpper(agent), EnvModel)
}

// exchange follows one HTTP attempt through the transport.
type exchange struct {
	sent  atomic.Bool // the request reached the transport
	extra string      // JSON members added to the body
}

type exchangeKey struct{}

// compatTransport marks attempts as sent and adds the members go-openai
// cannot express to the request body.
type compatTransport struct{ base http.RoundTripper }

func (t compatTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return t.base.RoundTrip(r)
	}
	x.sent.Store(true)
	if x.extra == "" || r.Body == nil {
		return t.base.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	body := addMembers(b, x.extra)
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.base.RoundTrip(r2)
}

// addMembers inserts members (`"k":v,...`) before the closing brace of a
// JSON object.
func addMembers(obj []byte, members string) []byte {
	t := bytes.TrimRight(obj, " \t\r\n")
	if len(t) < 2 || t[len(t)-1] != '}' {
		return obj
	}
	inner := bytes.TrimSpace(t[1 : len(t)-1])
	out := make([]byte, 0, len(t)+len(members)+1)
	out = append(out, t[:len(t)-1]...)
	if len(inner) > 0 {
		out = append(out, ',')
	}
	out = append(out, members...)
	return append(out, '}')
}

// newClient makes the go-openai client for cfg: Azure's configuration for
// the azure provider (api-key header, deployment path, api-version), else
// a bearer token against BaseURL.
func newClient(cfg Config) (*openai.Client, error) {
	var oc openai.ClientConfig
	if cfg.Provider == ProviderAzure {
		if cfg.APIKey == "" {
			return nil, &ConfigError{Setting: EnvAzureAPIKey, Err: errors.New("the azure provider needs an API key")}
		}
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.Endpoint())
		oc.APIVersion = cfg.Azure.APIVersion
		az := cfg.Azure
		oc.AzureModelMapperFunc = az.DeploymentFor
	} else {
		if cfg.APIKey == "" && cfg.Endpoint() == defaultAPIURL {
			return nil, ErrNoAPIKey
		}
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = cfg.Endpoint()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256 // agents run concurrently against one host
	oc.HTTPClient = &http.Client{Transport: compatTransport{tr}}
	return openai.NewClientWithConfig(oc), nil
}

// stripFences returns a reply's JSON without the code fences (```json …
// ```) or leading <think> block some models wrap it in.
func stripFences(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "<think>") {
		if i := strings.Index(t, "</think>"); i >= 0 {
			t = strings.TrimSpace(t[i+len("</think>"):])
		}
	}
	if strings.HasPrefix(t, "{") {
		return t
	}
	i := strings.Index(t, "```")
	if i < 0 {
		return s
	}
	body := t[i+3:]
	nl := strings.IndexByte(body, '\n')
	if nl < 0 {
		return s
	}
	if lang := strings.TrimSpace(body[:nl]); lang != "" && !strings.EqualFold(lang, "json") {
		return s
	}
	body = body[nl+1:]
	if j := strings.Index(body, "```"); j >= 0 {
		body = body[:j]
	}
	body = strings.TrimSpace(body)
	if !strings.HasPrefix(body, "{") {
		return s
	}
	return body
}

// httpError is an HTTP error answer with its message made readable
// whatever the body's shape; it unwraps to go-openai's error.
type httpError struct {
	Status  int
	Text    string // "400 Bad Request"
	Message string
	Type    string
	Code    string
	Param   string
	err     error
}

func (e *httpError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %s: %s", e.Text, e.Message)
	var meta []string
	for _, kv := range [][2]string{{"param", e.Param}, {"type", e.Type}, {"code", e.Code}} {
		if kv[1] != "" {
			meta = append(meta, kv[0]+" "+kv[1])
		}
	}
	if len(meta) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(meta, ", "))
	}
	return b.String()
}

func (e *httpError) Unwrap() error { return e.err }

// explain turns go-openai's HTTP errors into an httpError; other errors
// are returned as they are.
func explain(err error) error {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	he := &httpError{err: err}
	switch {
	case errors.As(err, &reqErr): // a body go-openai could not read; it may wrap an empty APIError
		he.Status, he.Text = reqErr.HTTPStatusCode, reqErr.HTTPStatus
		he.Message, he.Type, he.Code, he.Param = readErrorBody(reqErr.Body)
	case errors.As(err, &apiErr):
		he.Status, he.Text = apiErr.HTTPStatusCode, apiErr.HTTPStatus
		he.Message, he.Type = strings.TrimSpace(apiErr.Message), apiErr.Type
		if apiErr.Code != nil {
			he.Code = fmt.Sprint(apiErr.Code)
		}
		if apiErr.Param != nil {
			he.Param = *apiErr.Param
		}
	default:
		return err
	}
	if he.Text == "" {
		he.Text = fmt.Sprintf("%d %s", he.Status, http.StatusText(he.Status))
	}
	if he.Message == "" {
		he.Message = "(no message)"
	}
	he.Message = clip(oneLine(he.Message), 500)
	return he
}

// readErrorBody reads the error bodies of OpenAI-compatible servers:
// {"error":{"message":…}}, {"error":"…"}, vLLM's {"object":"error",
// "message":…}, FastAPI's {"detail":"…"} or {"detail":[{"msg":…}]}, else
// the text itself.
func readErrorBody(body []byte) (msg, typ, code, param string) {
	var doc struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
		Param   json.RawMessage `json:"param"`
	}
	text := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &doc) != nil {
		if text == "" {
			text = "(empty body)"
		}
		return text, "", "", ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s)
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
		return ""
	}
	typ, code, param = str(doc.Type), str(doc.Code), str(doc.Param)
	var inner struct {
		Message json.RawMessage `json:"message"`
		Type    json.RawMessage `json:"type"`
		Code    json.RawMessage `json:"code"`
		Param   json.RawMessage `json:"param"`
	}
	var details []struct {
		Msg string `json:"msg"`
		Loc []any  `json:"loc"`
	}
	switch {
	case str(doc.Error) != "":
		msg = str(doc.Error)
	case json.Unmarshal(doc.Error, &inner) == nil && str(inner.Message) != "":
		msg, typ, code, param = str(inner.Message), str(inner.Type), str(inner.Code), str(inner.Param)
	case str(doc.Message) != "":
		msg = str(doc.Message)
	case str(doc.Detail) != "":
		msg = str(doc.Detail)
	case json.Unmarshal(doc.Detail, &details) == nil && len(details) > 0:
		var parts []string
		for _, d := range details {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %v", d.Msg, d.Loc)))
		}
		msg = strings.Join(parts, "; ")
	default:
		msg = text
	}
	return msg, typ, code, param
}

// formatWords are the words of an error about the response_format.
var formatWords = regexp.MustCompile(`response_format|response format|json_schema|json schema|json_object|structured output|guided_json|guided decoding|xgrammar`)

// formatRefused reports whether a failed attempt in mode was a refusal of
// its response_format that a less strict mode may avoid: a 400 or 422
// whose param or message names the response format. OpenAI's "Invalid
// schema for response_format" is a defect of our schema, not a refusal.
func formatRefused(err error, mode outputMode) bool {
	var he *httpError
	if mode >= modeText || !errors.As(err, &he) || (he.Status != http.StatusBadRequest && he.Status != http.StatusUnprocessableEntity) {
		return false
	}
	msg := strings.ToLower(he.Message)
	if strings.Contains(msg, "invalid schema for response_format") {
		return false
	}
	return he.Param == "response_format" || formatWords.MatchString(msg)
}

// unsupportedWords say that a server does not take a parameter.
var unsupportedWords = regexp.MustCompile(`unsupported|not supported|does not support|unrecognized|unknown|not allowed|not permitted|extra inputs|invalid`)

// refusedParameter returns the setting behind a 4xx that names a
// parameter the configuration sets and says it is not supported, "" when
// the error is not such a refusal.
func (e *Engine) refusedParameter(he *httpError, req openai.ChatCompletionRequest, extra string) string {
	msg := strings.ToLower(he.Message)
	if !unsupportedWords.MatchString(msg) && he.Param == "" {
		return ""
	}
	names := func(p string) bool {
		return he.Param == p || strings.Contains(msg, "'"+p+"'") || strings.Contains(msg, `"`+p+`"`) || strings.Contains(msg, "`"+p+"`")
	}
	switch {
	case (req.Temperature != 0 || extra != "") && names("temperature"):
		return "temperature (null sends none)"
	case req.ReasoningEffort != "" && names("reasoning_effort"):
		return "reasoning_effort (" + EnvReasoningEffort + ")"
	case req.MaxCompletionTokens != 0 && names("max_completion_tokens"):
		return "max_tokens_param (max_tokens for this server)"
	case req.MaxTokens != 0 && names("max_tokens"):
		return "max_tokens_param (max_completion_tokens for this model)"
	}
	return ""
}

// clientErrorSetting guesses which setting a 4xx that every call gets
// points to.
func (e *Engine) clientErrorSetting(he *httpError, agent string) string {
	msg := strings.ToLower(he.Message)
	switch {
	case he.Status == http.StatusRequestEntityTooLarge || strings.Contains(msg, "context length") || strings.Contains(msg, "context_length") ||
		strings.Contains(msg, "maximum context") || strings.Contains(msg, "too many tokens") || strings.Contains(msg, "too long"):
		return "max_site_chars or the model's context window"
	case he.Status == http.StatusNotFound && e.cfg.Provider == ProviderAzure:
		return "azure.deployment / azure.deployments (" + EnvAzureDeployment + "), azure.endpoint and azure.api_version"
	case he.Status == http.StatusNotFound || strings.Contains(msg, "model"):
		return modelSetting(agent) + " and " + e.endpointSetting()
	case he.Param == "response_format":
		return "response_format (" + EnvResponseFormat + ")"
	}
	return e.endpointSetting() + ", " + modelSetting(agent) + " and the request settings (max_tokens_param, response_format, temperature, reasoning_effort)"
}

// endpointSetting names the setting of where requests go.
func (e *Engine) endpointSetting() string {
	if e.cfg.Provider == ProviderAzure {
		return "azure.endpoint (" + EnvAzureEndpoint + ")"
	}
	return "base_url (" + EnvBaseURL + ")"
}

// keySetting names the setting of the API key.
func (e *Engine) keySetting() string {
	if e.cfg.Provider == ProviderAzure {
		return EnvAzureAPIKey + " and " + EnvAzureEndpoint
	}
	return EnvAPIKey + " and " + EnvBaseURL
}
