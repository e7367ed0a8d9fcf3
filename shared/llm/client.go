package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/email"
	openai "github.com/sashabaranov/go-openai"
)

// ErrInsufficientQuota is returned (wrapped) when the API answers 429 with
// code insufficient_quota: the account is out of credit, no retry can
// succeed, and the run should stop with this message.
var ErrInsufficientQuota = errors.New("the LLM API account has no quota left (insufficient_quota): add credit or raise the spending limit, then rerun")

// ErrUnauthorized is returned (wrapped) when the API rejects the key (401
// or 403): every call would fail the same way.
var ErrUnauthorized = errors.New("the LLM API rejected the credentials (401/403): check OPENAI_API_KEY and OPENAI_BASE_URL")

// StopsRun reports whether err means no further model call can succeed, so
// a run should stop rather than fall back for every remaining contact.
func StopsRun(err error) bool {
	return errors.Is(err, ErrInsufficientQuota) || errors.Is(err, ErrUnauthorized)
}

// maxHint bounds how long a server hint (Retry-After, x-ratelimit-reset-*)
// may hold a retry.
const maxHint = 2 * time.Minute

// result is one model reply.
type result struct {
	content   string
	finish    string
	refusal   string
	requestID string
}

// call sends one chat completion request, retrying 429s, 5xx, timeouts and
// network errors with back-off within the shared budget. It always returns
// the call's accounting record.
func (e *Engine) call(ctx context.Context, p *agentPrompt, model string, msgs []openai.ChatCompletionMessage) (_ result, rec email.Call, _ error) {
	rec = email.Call{Model: model, PromptVersion: p.version}
	req := openai.ChatCompletionRequest{
		Model:               model,
		Messages:            msgs,
		MaxCompletionTokens: e.cfg.MaxCompletionTokens,
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name:   SchemaName(p.spec.Name),
				Schema: json.RawMessage(p.schemaJSON),
				Strict: true,
			},
		},
	}
	if e.cfg.Temperature != nil {
		req.Temperature = *e.cfg.Temperature
	}
	est := estimateTokens(msgs, len(p.schemaJSON), e.cfg.MaxCompletionTokens)
	start := e.now()
	defer func() { // rec is the named result: the caller sees the latency too
		rec.LatencyMS = e.now().Sub(start).Milliseconds()
		e.record(rec)
	}()
	for attempt := 1; ; attempt++ {
		rec.Attempts = attempt
		if err := e.budget.wait(ctx, est, e.sleep); err != nil {
			rec.Error = err.Error()
			return result{}, rec, err
		}
		actx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.Timeout))
		resp, err := e.client.CreateChatCompletion(actx, req)
		cancel()
		if err == nil {
			u := resp.Usage
			e.budget.settle(est, u.TotalTokens)
			rec.PromptTokens, rec.CompletionTokens = u.PromptTokens, u.CompletionTokens
			if u.PromptTokensDetails != nil {
				rec.CachedTokens = u.PromptTokensDetails.CachedTokens
			}
			var priced bool
			rec.CostUSD, priced = e.cfg.Prices.Cost(model, rec.PromptTokens, rec.CachedTokens, rec.CompletionTokens)
			if !priced {
				e.addStat(func(s *Stats) { s.UnpricedCalls++ })
			}
			res := result{requestID: resp.Header().Get("x-request-id")}
			if len(resp.Choices) == 0 {
				res.finish = "no_choices"
				return res, rec, nil
			}
			c := resp.Choices[0]
			res.content, res.finish, res.refusal = c.Message.Content, string(c.FinishReason), c.Message.Refusal
			return res, rec, nil
		}
		if ctx.Err() != nil {
			rec.Error = ctx.Err().Error()
			return result{}, rec, ctx.Err()
		}
		retry, hint, stop := classify(err, resp.Header(), e.now())
		if stop != nil {
			err = fmt.Errorf("%w (%v)", stop, err)
		}
		if stop != nil || !retry || attempt >= e.cfg.MaxAttempts {
			if retry && stop == nil {
				err = fmt.Errorf("gave up after %d attempts: %w", attempt, err)
			}
			rec.Error = err.Error()
			return result{}, rec, err
		}
		wait := e.backoff(attempt, hint)
		if hint > 0 {
			e.budget.pause(e.now().Add(wait))
		}
		e.addStat(func(s *Stats) { s.Retries++ })
		if err := e.sleep(ctx, wait); err != nil {
			rec.Error = err.Error()
			return result{}, rec, err
		}
	}
}

// estimateTokens guesses a request's token count before it is sent: about
// four characters per token of messages and schema, plus half the
// completion cap.
func estimateTokens(msgs []openai.ChatCompletionMessage, schemaBytes, maxCompletion int) int {
	n := schemaBytes
	for _, m := range msgs {
		n += utf8.RuneCountInString(m.Content)
	}
	return n/4 + min(maxCompletion, 1000)/2
}

// classify says whether a failed attempt may be retried, the server's hint
// of when, and whether the error must stop the run.
func classify(err error, h http.Header, now time.Time) (retry bool, hint time.Duration, stop error) {
	status := 0
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
		if fmt.Sprint(apiErr.Code) == "insufficient_quota" || apiErr.Type == "insufficient_quota" {
			return false, 0, ErrInsufficientQuota
		}
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return false, 0, ErrUnauthorized
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return true, retryHint(h, now), nil
	case status != 0:
		return false, 0, nil // 400, 404, 422...: the request itself is wrong
	default:
		return true, 0, nil // timeout, connection reset, unreadable body
	}
}

// retryHint reads when the server says a retry may succeed: retry-after-ms,
// Retry-After (seconds or HTTP date), else the x-ratelimit-reset-* of the
// exhausted limit ("1s", "6m0s", "20ms").
func retryHint(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	var d time.Duration
	for _, k := range []string{"requests", "tokens"} {
		rem := strings.TrimSpace(h.Get("x-ratelimit-remaining-" + k))
		if rem != "" && rem != "0" {
			continue // not the exhausted limit
		}
		if r, ok := ParseReset(h.Get("x-ratelimit-reset-" + k)); ok && r > d {
			d = r
		}
	}
	return d
}

// ParseReset parses an x-ratelimit-reset-* header value: a Go-style
// duration ("1s", "6m0s", "20ms", "1.5s") or a bare number of seconds.
func ParseReset(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, true
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	return 0, false
}

// backoff returns the wait before retry number attempt: exponential from
// BackoffBase, capped at BackoffMax, with "equal jitter" (half fixed, half
// random); a longer server hint wins, up to maxHint, plus up to 10% jitter.
func (e *Engine) backoff(attempt int, hint time.Duration) time.Duration {
	base, top := time.Duration(e.cfg.BackoffBase), time.Duration(e.cfg.BackoffMax)
	d := base
	for i := 1; i < attempt && d < top; i++ {
		d *= 2
	}
	d = min(d, top)
	if d > 0 {
		d = d/2 + time.Duration(e.jitter(int64(d/2)+1))
	}
	if hint > d {
		hint = min(hint, maxHint)
		d = hint + time.Duration(e.jitter(int64(hint/10)+1))
	}
	return d
}
