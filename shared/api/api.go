// Package api is the REST API for automation tools (n8n, Make, Clay):
// start campaigns from contacts sent inline (JSON or CSV) or from an
// uploaded batch, follow their progress, list generated emails and approve,
// edit or reject them, and read the client's review and automation figures.
//
// Every route under /api/v1 but /api/v1/healthz takes a client's API key
// (`Authorization: Bearer kl_…`, made by `kaleads apikey create`); the key
// limits every read and write to its client, and another client's ids are
// 404, exactly as ids that do not exist. Each key has its own rate limit
// (429 with Retry-After), request bodies are bounded (413), and every error
// is JSON with a stable code:
//
//	{"error": {"code": "not_found", "message": "no email 6f… for this key's client"}}
//
// The OpenAPI 3.1 document of the routes is served at /api/openapi.json.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/store"
)

// Store is what the API needs of the database. *store.Store has every
// method but BatchClient; FromStore adds it.
type Store interface {
	// CheckAPIKey returns the key's description, or an error matching
	// store.ErrNotFound when the key is unknown or revoked.
	CheckAPIKey(ctx context.Context, key string) (store.APIKey, error)
	// Upload imports a CSV of contacts for the client and template
	// (templateID "" = the client's latest active template).
	Upload(ctx context.Context, clientID, templateID string, r io.Reader) (store.UploadReport, error)
	// BatchCounts counts a batch's contacts by status.
	BatchCounts(ctx context.Context, batchID string, staleAfter time.Duration) (store.Counts, error)
	// BatchClient returns the id of the client whose contacts a batch
	// holds (store.ErrNotFound when the batch has none).
	BatchClient(ctx context.Context, batchID string) (clientID string, err error)
	// TemplateByName returns the client's template called name.
	TemplateByName(ctx context.Context, clientID, name string) (store.Template, error)
	Emails(ctx context.Context, sc store.Scope, f store.EmailFilter) (items []store.EmailSummary, next string, err error)
	Email(ctx context.Context, sc store.Scope, id string) (store.EmailDetail, error)
	Decide(ctx context.Context, sc store.Scope, d store.Decision) (store.EmailDetail, error)
	Dashboard(ctx context.Context, sc store.Scope, clientID string, p store.Period) (store.Dashboard, error)
}

// Config of the API handler.
type Config struct {
	Store Store
	// Wake, when set, is called after contacts were uploaded (or a batch
	// was started) so that a worker claims them now; it must not block.
	// kaleads serve wakes its pool; behind Lambda the database webhook
	// enqueues the inserted contacts and Wake is nil.
	Wake func(ctx context.Context, batchID string)
	// Clock returns the time (default time.Now); the rate limiter reads it.
	Clock func() time.Time
	Log   *slog.Logger
	// Rate is each key's sustained request rate (default 10 per second) and
	// Burst the requests it may send at once (default 30).
	Rate  rate.Limit
	Burst int
	// MaxBody bounds the body of POST /api/v1/campaigns (default 10 MiB);
	// the other bodies are bounded by MaxSmallBody (default 256 KiB).
	MaxBody, MaxSmallBody int64
	// StaleAfter is passed to BatchCounts (default 8 minutes): enriching
	// contacts claimed longer ago are reported as stale.
	StaleAfter time.Duration
	// Notifier, when set, is told of each decision made through the API
	// (event "email.decided").
	Notifier *Notifier
	// Export runs an export of a client's approved emails
	// ((*export.Exporter).RunConfigured); nil: POST /api/v1/exports
	// answers 501.
	Export func(ctx context.Context, clientID string, req export.Request) (export.Report, error)
}

// Defaults of Config.
const (
	DefaultRate         = rate.Limit(10)
	DefaultBurst        = 30
	DefaultMaxBody      = 10 << 20
	DefaultMaxSmallBody = 256 << 10
	DefaultStaleAfter   = 8 * time.Minute
)

// Prefix is the path of every versioned route.
const Prefix = "/api/v1"

// route is one endpoint: the method and path are written as in the OpenAPI
// document ({name} wildcards), which is also ServeMux's pattern syntax.
type route struct {
	method, path string
	// auth: the route needs an API key; the handler gets it.
	auth bool
	// body bounds the request body; 0 = the route reads none.
	body int64
	h    func(w http.ResponseWriter, r *http.Request, k store.APIKey)
}

type handler struct {
	cfg    Config
	mux    *http.ServeMux
	limits *limiters
}

// New returns the API handler, serving /api/v1/… and /api/openapi.json.
// It answers every other path with a JSON 404, so it may be mounted at
// "/api/" of a larger mux.
func New(cfg Config) http.Handler {
	return newHandler(cfg)
}

func newHandler(cfg Config) *handler {
	if cfg.Store == nil {
		panic("api: Config.Store is nil")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxSmallBody <= 0 {
		cfg.MaxSmallBody = DefaultMaxSmallBody
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux(), limits: newLimiters(cfg.Rate, cfg.Burst)}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+rt.path, h.wrap(rt))
	}
	return h
}

func (h *handler) routes() []route {
	small := h.cfg.MaxSmallBody
	return []route{
		{method: "GET", path: "/api/openapi.json", h: h.openAPI},
		{method: "GET", path: Prefix + "/healthz", h: h.healthz},
		{method: "POST", path: Prefix + "/campaigns", auth: true, body: h.cfg.MaxBody, h: h.createCampaign},
		{method: "GET", path: Prefix + "/campaigns/{id}", auth: true, h: h.getCampaign},
		{method: "GET", path: Prefix + "/emails", auth: true, h: h.listEmails},
		{method: "GET", path: Prefix + "/emails/{id}", auth: true, h: h.getEmail},
		{method: "POST", path: Prefix + "/emails/{id}/approve", auth: true, body: small, h: h.approve},
		{method: "POST", path: Prefix + "/emails/{id}/edit", auth: true, body: small, h: h.edit},
		{method: "POST", path: Prefix + "/emails/{id}/reject", auth: true, body: small, h: h.reject},
		{method: "GET", path: Prefix + "/dashboard", auth: true, h: h.dashboard},
		{method: "POST", path: Prefix + "/exports", auth: true, body: small, h: h.createExport},
	}
}

// ServeHTTP routes r; what the mux would answer with a plain-text 404 or
// 405 is answered in JSON.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	next, pattern := h.mux.Handler(r)
	if pattern != "" {
		h.mux.ServeHTTP(w, r) // (Handler does not set the path values)
		return
	}
	// No route: let the mux decide between 404, 405 (it sets Allow) and a
	// redirect to the cleaned path, and answer in JSON.
	c := &capture{header: http.Header{}}
	next.ServeHTTP(c, r)
	switch {
	case c.status == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, c.header.Get("Allow")))
	case c.status >= 300 && c.status < 400 && c.header.Get("Location") != "":
		w.Header().Set("Location", c.header.Get("Location"))
		w.WriteHeader(c.status)
	default:
		writeError(w, http.StatusNotFound, codeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path+" (see /api/openapi.json)")
	}
}

// capture records the status and headers a handler writes and drops its
// body.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *capture) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(p), nil
}

// wrap adds what every route needs: panic recovery, the API key and its
// rate limit, the body bound, and a log line.
func (h *handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := h.cfg.Clock()
		sw := &statusWriter{ResponseWriter: w}
		var key store.APIKey
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.cfg.Log.ErrorContext(r.Context(), "api: panic", "route", rt.method+" "+rt.path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, codeInternal, "internal error")
				}
			}
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelWarn
			}
			h.cfg.Log.Log(r.Context(), level, "api request", "method", r.Method, "route", rt.path, "status", sw.status,
				"key_id", key.ID, "ms", h.cfg.Clock().Sub(start).Milliseconds())
		}()
		if rt.auth {
			var ok bool
			if key, ok = h.authenticate(sw, r); !ok {
				return
			}
		}
		if rt.body > 0 {
			if r.ContentLength > rt.body {
				tooLarge(sw, rt.body)
				return
			}
			r.Body = http.MaxBytesReader(sw, r.Body, rt.body)
		}
		rt.h(sw, r, key)
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// authenticate reads the bearer key, applies its rate limit and checks it
// with the store. A key's bucket exists once the key was accepted, so a
// limited key is refused without a database call, and unknown keys cost no
// memory; every request the limit lets through is checked (a revoked key
// is refused at once).
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (store.APIKey, bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kaleads"`)
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing API key: send the header Authorization: Bearer <api key> (kaleads apikey create)")
		return store.APIKey{}, false
	}
	sum := sha256.Sum256([]byte(token))
	id := hex.EncodeToString(sum[:])
	known := h.limits.has(id)
	if known {
		if ok, wait := h.limits.allow(id, h.cfg.Clock()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
			writeError(w, http.StatusTooManyRequests, codeRateLimited,
				fmt.Sprintf("too many requests for this API key: retry in %d s", retrySeconds(wait)))
			return store.APIKey{}, false
		}
	}
	k, err := h.cfg.Store.CheckAPIKey(r.Context(), token)
	switch {
	case err == nil && k.ID != "" && k.ClientID != "":
		if !known {
			h.limits.allow(id, h.cfg.Clock()) // a new bucket is full
		}
		return k, true
	case err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid):
		h.limits.drop(id)
		w.Header().Set("WWW-Authenticate", `Bearer realm="kaleads", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "invalid or revoked API key")
	default:
		h.storeError(w, r, err, "")
	}
	return store.APIKey{}, false
}

// scope is what a key may see: its client.
func scope(k store.APIKey) store.Scope { return store.Scope{ClientIDs: []string{k.ClientID}} }

// limiters holds one token bucket per accepted API key (by its SHA-256).
type limiters struct {
	mu    sync.Mutex
	m     map[string]*rate.Limiter
	rate  rate.Limit
	burst int
}

func newLimiters(r rate.Limit, b int) *limiters {
	return &limiters{m: map[string]*rate.Limiter{}, rate: r, burst: b}
}

func (l *limiters) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[id] != nil
}

func (l *limiters) drop(id string) {
	l.mu.Lock()
	delete(l.m, id)
	l.mu.Unlock()
}

// allow takes a token from the key's bucket at now (making the bucket
// when there is none), or says how long to wait for one.
func (l *limiters) allow(id string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	lim, ok := l.m[id]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[id] = lim
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retrySeconds rounds a wait up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request, _ store.APIKey) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Error codes: stable, documented in the OpenAPI document.
const (
	codeInvalidRequest   = "invalid_request"        // 400
	codeUnauthorized     = "unauthorized"           // 401
	codeNotFound         = "not_found"              // 404
	codeMethodNotAllowed = "method_not_allowed"     // 405
	codeConflict         = "conflict"               // 409
	codeTooLarge         = "payload_too_large"      // 413
	codeUnsupportedMedia = "unsupported_media_type" // 415
	codeUnprocessable    = "unprocessable"          // 422
	codeRateLimited      = "rate_limited"           // 429
	codeInternal         = "internal"               // 500
	codeNotImplemented   = "not_implemented"        // 501
	codeUnavailable      = "unavailable"            // 503
)

// errorBody is the JSON of every error.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{apiError{Code: code, Message: msg}})
}

func writeErrorDetails(w http.ResponseWriter, status int, code, msg string, details any) {
	writeJSON(w, status, errorBody{apiError{Code: code, Message: msg, Details: details}})
}

func tooLarge(w http.ResponseWriter, limit int64) {
	writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the request body is larger than %s", sizeText(limit)))
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// storeError answers a store error: what the caller did wrong with its
// message, what went wrong here with a generic one (the detail is logged).
// notFound, when not empty, replaces the message of a not-found error so
// that it never tells whether the id belongs to another client.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		tooLarge(w, mbe.Limit)
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrForbidden):
		if notFound == "" {
			notFound = userMessage(err)
		}
		writeError(w, http.StatusNotFound, codeNotFound, notFound)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, codeConflict, userMessage(err))
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, codeUnprocessable, userMessage(err))
	case errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded):
		h.cfg.Log.WarnContext(r.Context(), "api: database unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the database is unavailable: retry in a few seconds")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The caller hung up; nobody reads the answer.
		writeError(w, 499, codeUnavailable, "request cancelled")
	default:
		h.cfg.Log.ErrorContext(r.Context(), "api: store error", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
	}
}

// userMessage is a store error's message for the caller: the text after
// the store's sentinel ("store: upload: invalid value: the client has no
// template…" → "the client has no template…"), else the whole message
// without the "store: " prefix.
func userMessage(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{store.ErrInvalid, store.ErrConflict, store.ErrNotFound} {
		if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 && errors.Is(err, sentinel) {
			return msg[i+len(sentinel.Error())+2:]
		}
	}
	return strings.TrimPrefix(msg, "store: ")
}
