// Package sequencer holds what the Smartlead and Instantly clients share:
// classified errors, a token-bucket throttle on an injectable clock, and an
// HTTP requester that retries only 429, 5xx and timeouts with capped back-off.
package sequencer

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinels for errors.Is. An *Error matches ErrRetryable or ErrPermanent
// (exactly one) and, when the request may have reached the server without a
// readable answer, ErrUnknownOutcome too.
var (
	ErrPermanent      = errors.New("sequencer: permanent error")
	ErrRetryable      = errors.New("sequencer: retryable error")
	ErrUnknownOutcome = errors.New("sequencer: outcome unknown (request may have been applied)")
)

// Error is the classified error every client call returns. Its text never
// contains the API key.
type Error struct {
	Provider       string        // "smartlead" or "instantly"
	Op             string        // e.g. "add leads"
	StatusCode     int           // 0 when no HTTP response was read
	Code           string        // provider error code when present
	Message        string        // provider message or transport text, redacted
	RetryAfter     time.Duration // server hint, when present
	Attempts       int           // attempts made for this request
	Retryable      bool
	UnknownOutcome bool
	Err            error // cause (redacted when it carried a URL)
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Provider, e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.UnknownOutcome {
		b.WriteString(" [outcome unknown]")
	}
	if e.Retryable {
		b.WriteString(" [retryable]")
	} else {
		b.WriteString(" [permanent]")
	}
	return b.String()
}

// Unwrap exposes the cause for errors.Is/As.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the classification sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRetryable:
		return e.Retryable
	case ErrPermanent:
		return !e.Retryable
	case ErrUnknownOutcome:
		return e.UnknownOutcome
	}
	return false
}

// IsRetryable reports whether err is classified retryable.
func IsRetryable(err error) bool { return errors.Is(err, ErrRetryable) }

// IsUnknownOutcome reports whether the call may have been applied server-side.
func IsUnknownOutcome(err error) bool { return errors.Is(err, ErrUnknownOutcome) }

// Redactor removes a secret from text.
type Redactor string

// Redact replaces every occurrence of the secret (raw and query-escaped).
func (r Redactor) Redact(s string) string {
	if r == "" {
		return s
	}
	s = strings.ReplaceAll(s, string(r), "REDACTED")
	return s
}
