package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outgoing webhook events.
const (
	EventEmailDecided      = "email.decided"
	EventCampaignCompleted = "campaign.completed"
)

// Headers of an outgoing webhook delivery.
const (
	HeaderEvent     = "X-Kaleads-Event"
	HeaderDelivery  = "X-Kaleads-Delivery"
	HeaderTimestamp = "X-Kaleads-Timestamp"
	HeaderSignature = "X-Kaleads-Signature"
)

// Notifier posts events to a webhook URL (an n8n, Make or Clay webhook
// trigger), signed and retried. Each delivery is a JSON body
//
//	{"id": "…", "type": "email.decided", "created_at": "…", "data": {…}}
//
// with the headers X-Kaleads-Event, X-Kaleads-Delivery (the id, the same on
// every retry), X-Kaleads-Timestamp (Unix seconds) and X-Kaleads-Signature:
// "v1=" and the hex HMAC-SHA256, keyed with Secret, of the timestamp, a dot
// and the body (see Verify). A network error, a 408, a 429 or a 5xx answer
// is retried after Backoff, doubled each time (at most a minute; a
// Retry-After is honoured up to that), Attempts times in all; any other
// answer ends the delivery.
//
// Deliveries run in the background; Wait waits for them (at shutdown).
// They are kept in memory only: an event whose retries outlive the process
// is lost. Behind Lambda, the execution environment is frozen between
// invocations, so a retry happens at the next invocation at the earliest.
type Notifier struct {
	URL    string
	Secret string
	// Client defaults to an http.Client with a 10 s timeout.
	Client *http.Client
	Log    *slog.Logger
	// Attempts (default 5) and the first Backoff (default 2 s).
	Attempts int
	Backoff  time.Duration
	// Clock (default time.Now) dates and signs the deliveries.
	Clock func() time.Time

	wg sync.WaitGroup
}

// MaxBackoff bounds the wait between two attempts.
const MaxBackoff = time.Minute

// Send delivers the event in the background. ctx's values are kept (the
// logger's request id), not its cancellation.
func (n *Notifier) Send(ctx context.Context, event string, data any) {
	if n == nil || n.URL == "" {
		return
	}
	clock := n.Clock
	if clock == nil {
		clock = time.Now
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	body, err := json.Marshal(map[string]any{"id": hex.EncodeToString(id[:]), "type": event, "created_at": clock().UTC(), "data": data})
	if err != nil {
		n.log().ErrorContext(ctx, "webhook: encode", "event", event, "error", err)
		return
	}
	ctx = context.WithoutCancel(ctx)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.deliver(ctx, event, hex.EncodeToString(id[:]), body)
	}()
}

// Wait waits for the deliveries in flight, retries included.
func (n *Notifier) Wait() {
	if n != nil {
		n.wg.Wait()
	}
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Log
}

func (n *Notifier) deliver(ctx context.Context, event, id string, body []byte) {
	attempts, backoff := n.Attempts, n.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	client := n.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	clock := n.Clock
	if clock == nil {
		clock = time.Now
	}
	for attempt := 1; ; attempt++ {
		wait, err := n.post(ctx, client, clock(), event, id, body)
		if err == nil {
			n.log().DebugContext(ctx, "webhook delivered", "event", event, "delivery", id, "attempt", attempt)
			return
		}
		if wait < 0 || attempt >= attempts {
			n.log().WarnContext(ctx, "webhook not delivered", "event", event, "delivery", id, "attempts", attempt, "error", err)
			return
		}
		if wait < backoff {
			wait = backoff
		}
		wait = min(wait, MaxBackoff)
		n.log().DebugContext(ctx, "webhook retry", "event", event, "delivery", id, "attempt", attempt, "in", wait.String(), "error", err)
		time.Sleep(wait)
		backoff = min(2*backoff, MaxBackoff)
	}
}

// post makes one attempt. A nil error is a delivery; else wait < 0 means
// "do not retry", and wait > 0 is the Retry-After asked for.
func (n *Notifier) post(ctx context.Context, client *http.Client, now time.Time, event, id string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kaleads-webhook/1")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(n.Secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		var wait time.Duration
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return wait, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return -1, fmt.Errorf("HTTP %d (not retried)", resp.StatusCode)
}

// Sign returns the X-Kaleads-Signature of a body sent at timestamp (Unix
// seconds in decimal): "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature and that its timestamp is within
// tolerance of now (replays of old deliveries are refused).
func Verify(secret, timestamp string, body []byte, signature string, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp outside the tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("webhook: bad signature")
	}
	return nil
}
