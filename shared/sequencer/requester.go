package sequencer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Requester sends JSON requests with throttling and classified retries.
// Zero values get sensible defaults; Secret is redacted from every error and log.
type Requester struct {
	Provider    string
	HTTP        *http.Client
	Clock       Clock
	Limiter     *Limiter
	Logger      *slog.Logger
	MaxAttempts int           // default 6
	BaseBackoff time.Duration // default 1s, doubled per attempt
	MaxBackoff  time.Duration // default 30s; also caps Retry-After waits at 2x this
	UserAgent   string
	Secret      string
}

// Request describes one API call.
type Request struct {
	Op     string
	Method string
	URL    string // may contain the secret (Smartlead query key)
	Header http.Header
	Body   any // JSON-encoded when non-nil
	// Idempotent allows retrying after a timeout or transport error once
	// the request may have reached the server (server-side dedupe makes it safe).
	Idempotent bool
}

// Response is a successful (2xx) answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	Attempts   int
	// Uncertain is true when an earlier attempt of this request had an
	// unknown outcome, so the server may have applied it before this answer.
	Uncertain bool
}

func (r *Requester) clock() Clock {
	if r.Clock == nil {
		return RealClock{}
	}
	return r.Clock
}

func (r *Requester) redact(s string) string {
	s = Redactor(r.Secret).Redact(s)
	if r.Secret != "" {
		s = strings.ReplaceAll(s, url.QueryEscape(r.Secret), "REDACTED")
	}
	return s
}

// Do sends req, retrying 429, 5xx and (for idempotent requests) timeouts.
func (r *Requester) Do(ctx context.Context, req Request) (*Response, error) {
	maxAttempts := r.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 6
	}
	base, maxB := r.BaseBackoff, r.MaxBackoff
	if base <= 0 {
		base = time.Second
	}
	if maxB <= 0 {
		maxB = 30 * time.Second
	}
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	var body []byte
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return nil, &Error{Provider: r.Provider, Op: req.Op, Message: "encode request", Err: err}
		}
		body = b
	}
	uncertain := false
	var last *Error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if r.Limiter != nil {
			if err := r.Limiter.Wait(ctx); err != nil {
				return nil, r.ctxErr(req, attempt-1, uncertain, last, err)
			}
		}
		resp, err := r.once(ctx, hc, req, body)
		if err == nil {
			resp.Attempts, resp.Uncertain = attempt, uncertain
			return resp, nil
		}
		err.Attempts = attempt
		if err.UnknownOutcome {
			uncertain = true
		}
		if ctx.Err() != nil {
			return nil, r.ctxErr(req, attempt, uncertain, err, ctx.Err())
		}
		last = err
		if !err.Retryable || (err.UnknownOutcome && !req.Idempotent) || attempt == maxAttempts {
			err.UnknownOutcome = err.UnknownOutcome || uncertain
			return nil, err
		}
		wait := min(base<<(attempt-1), maxB)
		if err.RetryAfter > 0 {
			wait = min(err.RetryAfter, 2*maxB)
			if r.Limiter != nil {
				r.Limiter.PauseUntil(r.clock().Now().Add(wait))
				wait = 0
			}
		}
		r.log(ctx, "sequencer request retry", "provider", r.Provider, "op", req.Op, "attempt", attempt,
			"status", err.StatusCode, "wait", wait, "error", err.Error())
		if wait > 0 {
			if serr := r.clock().Sleep(ctx, wait); serr != nil {
				return nil, r.ctxErr(req, attempt, uncertain, err, serr)
			}
		}
	}
	return nil, last // unreachable
}

func (r *Requester) ctxErr(req Request, attempts int, uncertain bool, last *Error, cause error) error {
	e := &Error{Provider: r.Provider, Op: req.Op, Attempts: attempts, Message: "context done: " + cause.Error(),
		Retryable: true, UnknownOutcome: uncertain, Err: cause}
	if last != nil {
		e.StatusCode = last.StatusCode
	}
	return e
}

func (r *Requester) log(ctx context.Context, msg string, args ...any) {
	if r.Logger != nil {
		r.Logger.WarnContext(ctx, msg, args...)
	}
}

func (r *Requester) once(ctx context.Context, hc *http.Client, req Request, body []byte) (*Response, *Error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, rd)
	if err != nil {
		return nil, &Error{Provider: r.Provider, Op: req.Op, Message: r.redact(err.Error()), Err: r.scrub(err)}
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	ua := r.UserAgent
	if ua == "" {
		ua = "kaleads-sequencer/1.0 (+https://github.com/kaleads/kaleads)"
	}
	hr.Header.Set("User-Agent", ua)
	hresp, err := hc.Do(hr)
	if err != nil {
		// The request may have reached the server: outcome unknown.
		timeout := errors.Is(err, context.DeadlineExceeded)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			timeout = true
		}
		msg := "transport error"
		if timeout {
			msg = "timeout"
		}
		return nil, &Error{Provider: r.Provider, Op: req.Op, Message: msg + ": " + r.redact(err.Error()),
			Retryable: true, UnknownOutcome: true, Err: r.scrub(err)}
	}
	defer hresp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(hresp.Body, 32<<20))
	r.applyRateHeaders(hresp)
	if hresp.StatusCode >= 200 && hresp.StatusCode < 300 {
		if rerr != nil {
			return nil, &Error{Provider: r.Provider, Op: req.Op, StatusCode: hresp.StatusCode,
				Message: "reading response: " + r.redact(rerr.Error()), Retryable: true, UnknownOutcome: true, Err: rerr}
		}
		return &Response{StatusCode: hresp.StatusCode, Header: hresp.Header, Body: data}, nil
	}
	code, msg, ra := parseErrorBody(data)
	if h := retryAfter(hresp.Header, r.clock().Now()); h > 0 {
		ra = h
	}
	retry := hresp.StatusCode == http.StatusTooManyRequests || hresp.StatusCode >= 500
	e := &Error{Provider: r.Provider, Op: req.Op, StatusCode: hresp.StatusCode, Code: r.redact(code),
		Message: r.redact(msg), RetryAfter: ra, Retryable: retry}
	// A 5xx may come from a gateway after the backend applied the request.
	e.UnknownOutcome = hresp.StatusCode >= 500
	return nil, e
}

// applyRateHeaders pauses the limiter when X-RateLimit-Remaining hits 0.
func (r *Requester) applyRateHeaders(h *http.Response) {
	if r.Limiter == nil {
		return
	}
	rem := h.Header.Get("X-RateLimit-Remaining")
	if rem == "" {
		return
	}
	if n, err := strconv.Atoi(strings.TrimSpace(rem)); err != nil || n > 0 {
		return
	}
	if reset := h.Header.Get("X-RateLimit-Reset"); reset != "" {
		if ts, err := strconv.ParseInt(strings.TrimSpace(reset), 10, 64); err == nil {
			t := time.Unix(ts, 0)
			now := r.clock().Now()
			if t.After(now) && t.Sub(now) <= time.Hour {
				r.Limiter.PauseUntil(t)
			}
		}
	}
}

func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// parseErrorBody understands {"error":{"code","message","retry_after"}},
// {"error":"..."} and {"message":"..."}.
func parseErrorBody(data []byte) (code, msg string, ra time.Duration) {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(data, &env) != nil {
		s := strings.TrimSpace(string(data))
		if len(s) > 200 {
			s = s[:200]
		}
		return "", s, 0
	}
	msg = env.Message
	if len(env.Error) > 0 {
		var s string
		if json.Unmarshal(env.Error, &s) == nil {
			if msg == "" {
				msg = s
			} else {
				code = s
			}
		} else {
			var obj struct {
				Code       string  `json:"code"`
				Message    string  `json:"message"`
				RetryAfter float64 `json:"retry_after"`
			}
			if json.Unmarshal(env.Error, &obj) == nil {
				code = obj.Code
				if obj.Message != "" {
					msg = obj.Message
				}
				ra = time.Duration(obj.RetryAfter * float64(time.Second))
			}
		}
	}
	return code, msg, ra
}

// scrub returns err with any *url.Error URL redacted.
func (r *Requester) scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: r.redact(ue.URL), Err: ue.Err}
	}
	return fmt.Errorf("%s", r.redact(err.Error()))
}
