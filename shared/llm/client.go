package llm

import (
	"context"
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

// ErrUnauthorized is returned (wrapped in a ConfigError naming the key's
// variable) when the API rejects the key (401 or 403): every call would
// fail the same way.
var ErrUnauthorized = errors.New("the LLM API rejected the credentials (401/403)")

// StopsRun reports whether err means no further model call can succeed, so
// a run should stop rather than fall back for every remaining contact:
// exhausted quota, rejected key, or any other configuration error
// (ErrConfig).
func StopsRun(err error) bool {
	return errors.Is(err, ErrInsufficientQuota) || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrConfig)
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
// network errors with back-off within the shared budget. A 400 that
// refuses the response_format moves to the next output mode at once (not
// a retry), and the route remembers it. It always returns the call's
// accounting record. A returned error for which StopsRun is true must stop
// the run.
func (e *Engine) call(ctx context.Context, p *agentPrompt, model string, msgs []openai.ChatCompletionMessage) (_ result, rec email.Call, _ error) {
	rec = email.Call{Model: model, PromptVersion: p.version}
	est := estimateTokens(msgs, len(p.schemaJSON), e.cfg.MaxCompletionTokens)
	// The model's time is the HTTP requests'; the rest of the call is spent
	// waiting to send (rate budget, back-off, a new model's first call).
	start := e.now()
	var modelTime time.Duration
	defer func() { // rec is the named result: the caller sees the times too
		rec.LatencyMS = modelTime.Milliseconds()
		rec.WaitMS = max(e.now().Sub(start)-modelTime, 0).Milliseconds()
		e.record(rec)
	}()
	rt := e.routes.get(routeKey{e.cfg.Endpoint(), model}, parseMode(e.cfg.ResponseFormat))
	release, err := rt.acquire(ctx)
	if err != nil {
		rec.Error = err.Error()
		return result{}, rec, err
	}
	defer release()
	mode := rt.current()
	for attempt := 1; ; attempt++ {
		rec.Attempts++
		if err := e.budget.wait(ctx, est, e.sleep); err != nil {
			rec.Error = err.Error()
			return result{}, rec, err
		}
		req, extra := e.request(p, model, msgs, mode)
		x := &exchange{extra: extra}
		actx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.Timeout))
		sent := e.now()
		resp, err := e.client.CreateChatCompletion(context.WithValue(actx, exchangeKey{}, x), req)
		modelTime += e.now().Sub(sent)
		cancel()
		if err == nil {
			rt.succeeded(mode)
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
			res.content, res.finish, res.refusal = stripFences(c.Message.Content), string(c.FinishReason), c.Message.Refusal
			return res, rec, nil
		}
		if ctx.Err() != nil {
			rec.Error = ctx.Err().Error()
			return result{}, rec, ctx.Err()
		}
		if !x.sent.Load() { // go-openai refused the request itself: a setting, not the network
			err = &ConfigError{Setting: librarySetting(err, modelSetting(p.spec.Name)), Model: model,
				Err: fmt.Errorf("the OpenAI client library refused the request before sending it: %w", err)}
			rec.Error = err.Error()
			return result{}, rec, err
		}
		err = explain(err)
		if formatRefused(err, mode) {
			mode = rt.refused(mode)
			attempt-- // the next mode is not a retry
			continue
		}
		retry, hint, stop := classify(err, resp.Header(), e.now())
		var he *httpError
		switch {
		case errors.Is(stop, ErrUnauthorized):
			stop = &ConfigError{Setting: e.keySetting(), Model: model, Status: statusOf(err), Err: fmt.Errorf("%w: %v", stop, err)}
		case stop != nil:
			stop = fmt.Errorf("%w (%v)", stop, err)
		case !retry && errors.As(err, &he):
			stop = e.clientError(rt, he, p.spec.Name, model, req, extra)
		}
		if stop != nil {
			err = stop
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
		rec.Retries++
		if err := e.sleep(ctx, wait); err != nil {
			rec.Error = err.Error()
			return result{}, rec, err
		}
	}
}

// clientError handles a call that ended in a 4xx other than 401, 403 and
// 429: a ConfigError when the server refuses a parameter the
// configuration sets, or when this is the stop_after_client_errors-th
// call in a row to the route with that status; else nil (the answer falls
// back).
func (e *Engine) clientError(rt *route, he *httpError, agent, model string, req openai.ChatCompletionRequest, extra string) error {
	n := rt.clientError(he.Status)
	if s := e.refusedParameter(he, req, extra); s != "" {
		return &ConfigError{Setting: s, Model: model, Status: he.Status, Err: fmt.Errorf("the server refuses a parameter the configuration sets: %w", he)}
	}
	if limit := e.cfg.StopAfterClientErrors; limit > 0 && n >= limit {
		return &ConfigError{Setting: e.clientErrorSetting(he, agent), Model: model, Status: he.Status,
			Err: fmt.Errorf("%d calls in a row failed with HTTP %d, so every further contact would too; the last answer: %w", n, he.Status, he)}
	}
	return nil
}

// statusOf returns an error's HTTP status, 0 when it has none.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
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
	var he *httpError
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &he): // explained: the status and code whatever the body's shape
		status = he.Status
		if he.Code == "insufficient_quota" || he.Type == "insufficient_quota" {
			return false, 0, ErrInsufficientQuota
		}
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
		if fmt.Sprint(apiErr.Code) == "insufficient_quota" || apiErr.Type == "insufficient_quota" {
			return false, 0, ErrInsufficientQuota
		}
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
