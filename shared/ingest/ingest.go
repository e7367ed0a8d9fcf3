// Package ingest receives Supabase database webhooks for
// public.contacts_to_enrich and puts the inserted contacts on the
// enrichment queue.
//
// Supabase's database webhooks (pg_net) POST a JSON event after the
// inserting transaction commits:
//
//	{"type":"INSERT","table":"contacts_to_enrich","schema":"public",
//	 "record":{…the row…},"old_record":null}
//
// They are sent at most once (pg_net never retries) with a short timeout
// (1 s by default), so the handler answers at once and does no database
// work: it checks the shared secret header, takes the row's id — the only
// field it trusts; the worker re-reads the row — and enqueues it. Contacts
// whose event is lost are picked up by the sweeper.
package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kaleads/kaleads/shared/queue"
)

const (
	// SecretHeader carries the shared secret configured in the webhook.
	SecretHeader = "X-Webhook-Secret"
	// MaxBody bounds the request body.
	MaxBody = 1 << 20
	// Schema and Table name the table whose inserts are enqueued.
	Schema = "public"
	Table  = "contacts_to_enrich"
	// EnqueueTimeout bounds the enqueue call. It does not end when the
	// caller hangs up: a contact pg_net gave up on is still enqueued.
	EnqueueTimeout = 5 * time.Second
)

// Enqueuer puts contact ids on the enrichment queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, contactIDs ...string) error
}

// New returns the webhook handler. An empty secret makes it refuse every
// request (500): it never accepts unauthenticated events. log may be nil.
func New(secret string, enq Enqueuer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{enq: enq, log: log, configured: secret != ""}
	h.secretSum = sha256.Sum256([]byte(secret))
	return h
}

type handler struct {
	configured bool
	secretSum  [sha256.Size]byte
	enq        Enqueuer
	log        *slog.Logger
}

// Event is a Supabase database webhook payload. Fields it does not know
// (user_id in newer projects) are ignored.
type Event struct {
	Type      string          `json:"type"`
	Table     string          `json:"table"`
	Schema    string          `json:"schema"`
	Record    json.RawMessage `json:"record"`
	OldRecord json.RawMessage `json:"old_record"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.log.With("remote_addr", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "error", "method "+r.Method+" not allowed, use POST")
		return
	}
	if !h.configured {
		log.ErrorContext(r.Context(), "webhook refused: the webhook secret is not configured")
		reply(w, http.StatusInternalServerError, "error", "webhook secret not configured")
		return
	}
	got, ok := r.Header[http.CanonicalHeaderKey(SecretHeader)]
	if !ok || len(got) == 0 || got[0] == "" {
		log.WarnContext(r.Context(), "webhook refused: no secret header")
		reply(w, http.StatusUnauthorized, "error", "missing "+SecretHeader+" header")
		return
	}
	// Comparing digests keeps the comparison constant-time whatever the
	// length of the value sent.
	sum := sha256.Sum256([]byte(got[0]))
	if subtle.ConstantTimeCompare(sum[:], h.secretSum[:]) != 1 {
		log.WarnContext(r.Context(), "webhook refused: wrong secret")
		reply(w, http.StatusUnauthorized, "error", "wrong "+SecretHeader)
		return
	}
	if r.ContentLength > MaxBody {
		reply(w, http.StatusRequestEntityTooLarge, "error", fmt.Sprintf("body larger than %d bytes", MaxBody))
		return
	}
	var ev Event
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	if err := dec.Decode(&ev); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, "error", fmt.Sprintf("body larger than %d bytes", MaxBody))
			return
		}
		log.WarnContext(r.Context(), "webhook refused: malformed JSON", "err", err)
		reply(w, http.StatusBadRequest, "error", "malformed JSON: "+err.Error())
		return
	}
	if dec.More() {
		reply(w, http.StatusBadRequest, "error", "malformed JSON: data after the event object")
		return
	}
	id, ignore, err := check(ev)
	if err != nil {
		log.WarnContext(r.Context(), "webhook refused: bad event", "type", ev.Type, "table", ev.Table, "err", err)
		reply(w, http.StatusBadRequest, "error", err.Error())
		return
	}
	if ignore != "" {
		attrs := []any{"type", ev.Type, "schema", ev.Schema, "table", ev.Table, "reason", ignore}
		if id != "" {
			attrs = append(attrs, "contact_id", id)
		}
		log.InfoContext(r.Context(), "webhook event ignored", attrs...)
		reply(w, http.StatusOK, "ignored", ignore)
		return
	}
	log = log.With("contact_id", id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), EnqueueTimeout)
	defer cancel()
	start := time.Now()
	if err := h.enq.Enqueue(ctx, id); err != nil {
		log.ErrorContext(r.Context(), "enqueue failed; the sweeper will pick the contact up", "err", err)
		reply(w, http.StatusServiceUnavailable, "error", "could not enqueue the contact; it stays pending and will be retried")
		return
	}
	log.InfoContext(r.Context(), "contact enqueued", "enqueue_ms", time.Since(start).Milliseconds())
	reply(w, http.StatusAccepted, "enqueued", id)
}

// check validates an event. It returns the contact id to enqueue, or a
// reason to ignore the event (with the row's id when it has one), or an
// error naming what is wrong with it.
func check(ev Event) (id, ignore string, err error) {
	switch {
	case ev.Type == "":
		return "", "", errors.New("type is missing")
	case ev.Table == "":
		return "", "", errors.New("table is missing")
	case ev.Record == nil:
		return "", "", errors.New("record is missing")
	}
	schema := ev.Schema
	if schema == "" {
		schema = Schema // payloads always carry it; be lenient if one does not
	}
	if schema != Schema || ev.Table != Table {
		return "", fmt.Sprintf("%s on %s.%s, only inserts on %s.%s are enqueued", ev.Type, schema, ev.Table, Schema, Table), nil
	}
	if ev.Type != "INSERT" {
		// UPDATE and DELETE: log the row id when there is one, else nothing.
		id, _ := recordID(ev.Record)
		if id == "" {
			id, _ = recordID(ev.OldRecord)
		}
		return id, fmt.Sprintf("%s on %s.%s, only inserts are enqueued", ev.Type, Schema, Table), nil
	}
	id, err = recordID(ev.Record)
	if err != nil {
		return "", "", err
	}
	return id, "", nil
}

// recordID returns the record's id, which must be a UUID string.
func recordID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("record is missing")
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rec); err != nil {
		return "", errors.New("record is not a JSON object")
	}
	v, ok := rec["id"]
	if !ok || string(v) == "null" {
		return "", errors.New("record.id is missing")
	}
	var id string
	if err := json.Unmarshal(v, &id); err != nil {
		return "", errors.New("record.id is not a string")
	}
	if !queue.IsUUID(id) {
		return "", fmt.Errorf("record.id %q is not a UUID", clip(id))
	}
	return id, nil
}

func reply(w http.ResponseWriter, status int, key, value string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{key: value})
}

func clip(s string) string {
	const n = 60
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
