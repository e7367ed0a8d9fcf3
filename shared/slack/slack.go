// Package slack posts Kaleads notifications to a Slack incoming webhook.
//
// The contract (Slack incoming webhooks):
//
//   - POST the webhook URL (https://hooks.slack.com/services/T…/B…/…) with
//     Content-Type: application/json and a body {"text": …, "blocks": […]}.
//     "text" is required: it is the fallback shown in notifications.
//   - Success is HTTP 200 with the literal body "ok". Errors are plain-text
//     codes: invalid_payload (400), no_text, channel_not_found,
//     channel_is_archived and no_service (404 family: the webhook was revoked
//     or rebound), rate_limited (429, possibly with Retry-After).
//   - About one message a second per webhook; at most 50 blocks a message and
//     3000 characters in a section's text.
//   - mrkdwn: *bold*, _italic_, <url|label>. User content must have &, < and >
//     escaped as &amp; &lt; &gt;, or "<!channel>" would ping a whole channel.
//
// A Client spaces its requests (Options.Every), retries only 429, 5xx and
// timeouts (honouring Retry-After, capped at 30 s) and classifies every error
// as ErrPermanent or ErrRetryable. The webhook URL is a secret: it never
// appears in an error or a log line. The builders BatchGenerated,
// HeldForReview, ExportDone and ExportFailed escape every caller-supplied
// string. Nothing here reads the environment: callers pass the URL.
package slack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

const (
	maxWait  = 30 * time.Second // cap on Retry-After and on back-off
	maxBody  = 64 << 10         // bytes of a response read
	maxCode  = 200              // bytes of a response body kept in an error
	redacted = "[redacted]"
)

// Sentinels for errors.Is: every error from Post matches exactly one.
// ErrPermanent means resending the same message cannot succeed (bad payload,
// revoked or rebound webhook); ErrRetryable means it may succeed later.
var (
	ErrPermanent = errors.New("slack webhook: permanent error")
	ErrRetryable = errors.New("slack webhook: retryable error")
)

// Error is the classified error Post returns. Its text names "slack webhook",
// the HTTP status and Slack's answer, never the URL.
type Error struct {
	StatusCode int           // 0 when no HTTP response was read
	Code       string        // Slack's plain-text answer (e.g. "no_service") or what went wrong, at most 200 bytes
	Attempts   int           // requests made for this message
	RetryAfter time.Duration // the last Retry-After hint, capped
	Retryable  bool
	Err        error // cause, with the URL removed
}

func (e *Error) Error() string {
	s := "slack webhook"
	if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.Retryable {
		return s + " [retryable]"
	}
	return s + " [permanent]"
}

// Unwrap exposes the cause (a context error, a validation error…).
func (e *Error) Unwrap() error { return e.Err }

// Is matches ErrPermanent or ErrRetryable.
func (e *Error) Is(target error) bool {
	return target == ErrRetryable && e.Retryable || target == ErrPermanent && !e.Retryable
}

// Options tune a Client; zero values take the defaults.
type Options struct {
	HTTP        *http.Client  // default: 10 s timeout, redirects not followed
	Logger      *slog.Logger  // retries are logged at Warn; default: discarded
	MaxAttempts int           // requests per message, default 4
	BaseBackoff time.Duration // wait before the first retry, doubled each time (capped at 30 s); default 1 s
	Every       time.Duration // minimum spacing between requests, default 1 s; negative disables it
}

// Client posts messages to one incoming webhook. It is safe for concurrent use.
type Client struct {
	url      string
	redact   *strings.Replacer
	hc       *http.Client
	log      *slog.Logger
	attempts int
	base     time.Duration
	limiter  *rate.Limiter
}

// New validates webhookURL (https, or http for a loopback host) and returns
// a Client. Its errors never contain the URL.
func New(webhookURL string, opts Options) (*Client, error) {
	raw := strings.TrimSpace(webhookURL)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("slack webhook: malformed URL")
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !loopback(u.Hostname())) {
		return nil, errors.New("slack webhook: URL must be https (http only for a loopback host)")
	}
	if u.User != nil {
		return nil, errors.New("slack webhook: URL must not carry credentials")
	}
	secrets := []string{raw, redacted, u.String(), redacted}
	for _, s := range []string{u.EscapedPath(), u.Path, u.RawQuery, path.Base(u.Path)} {
		if len(s) > 1 && s != "services" {
			secrets = append(secrets, s, redacted)
		}
	}
	hc := opts.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Client{url: raw, redact: strings.NewReplacer(secrets...), hc: hc,
		log:      cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		attempts: cmp.Or(max(opts.MaxAttempts, 0), 4),
		base:     cmp.Or(max(opts.BaseBackoff, 0), time.Second),
		limiter:  rate.NewLimiter(rate.Every(cmp.Or(opts.Every, time.Second)), 1)}, nil
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host).IsLoopback()
}

// Post validates m (see Message.Validate; the caller's m is not modified) and
// sends it, waiting for its slot and retrying 429, 5xx and timeouts up to
// MaxAttempts requests. It returns nil once Slack answered "ok", else an *Error.
func (c *Client) Post(ctx context.Context, m Message) error {
	if c == nil {
		return &Error{Code: "nil client"}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.Validate(); err != nil {
		return &Error{Code: "invalid message", Err: err}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return &Error{Code: "encoding message", Err: err}
	}
	var last *Error
	for attempt := 1; ; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return stopped(ctx, last, attempt-1, err)
		}
		e, again := c.once(ctx, body)
		if e == nil {
			return nil
		}
		e.Attempts, last = attempt, e
		if ctx.Err() != nil {
			return stopped(ctx, e, attempt, ctx.Err())
		}
		if !again || attempt >= c.attempts {
			return e
		}
		wait := cmp.Or(e.RetryAfter, min(min(c.base, maxWait)<<min(attempt-1, 10), maxWait))
		c.log.LogAttrs(ctx, slog.LevelWarn, "slack webhook: retrying", slog.Int("attempt", attempt),
			slog.String("error", e.Error()), slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			return stopped(ctx, e, attempt, err)
		}
	}
}

// sleep waits d, failing at once when ctx would expire first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stopped reports a Post cut short by its context: retryable, since the
// message was not confirmed delivered.
func stopped(ctx context.Context, last *Error, attempts int, cause error) *Error {
	if cause = cmp.Or(ctx.Err(), cause); !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, context.Canceled) {
		cause = fmt.Errorf("%w (%v)", context.DeadlineExceeded, cause) // the limiter's "would exceed context deadline"
	}
	e := &Error{Code: "gave up", Attempts: attempts, Retryable: true, Err: cause}
	if last != nil {
		e.StatusCode = last.StatusCode
	}
	return e
}

// once makes one request; again reports whether Post should retry it.
func (c *Client) once(ctx context.Context, body []byte) (e *Error, again bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return &Error{Code: "building request", Err: c.scrub(err)}, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return &Error{Code: "timeout", Retryable: true, Err: c.scrub(err)}, true
		}
		// Not a verdict on the webhook, so retryable by the caller, but not
		// retried here: only 429, 5xx and timeouts are.
		return &Error{Code: "transport error", Retryable: true, Err: c.scrub(err)}, false
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	text := strings.TrimSpace(string(data))
	code := c.redact.Replace(strings.ToValidUTF8(text, "?"))
	if len(code) > maxCode {
		code = strings.ToValidUTF8(code[:maxCode], "") + "…"
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		if rerr == nil && text == "ok" {
			return nil, false
		}
		if rerr != nil {
			code = "unreadable response"
		}
		return &Error{StatusCode: s, Code: "unexpected answer " + strconv.Quote(code)}, false
	case s == http.StatusTooManyRequests || s >= 500:
		return &Error{StatusCode: s, Code: code, RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Retryable: true}, true
	default:
		return &Error{StatusCode: s, Code: code}, false
	}
}

// retryAfter reads Retry-After seconds, capped at 30 s.
func retryAfter(v string) time.Duration {
	s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(s > 0) {
		return 0
	}
	return time.Duration(min(s, maxWait.Seconds()) * float64(time.Second))
}

// scrub drops the URL from a transport error and redacts what is left.
func (c *Client) scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	if s := err.Error(); c.redact.Replace(s) != s {
		return errors.New(c.redact.Replace(s))
	}
	return err
}
