// Package review is the server-rendered review interface of shadow mode
// (issue 11): people sign in, go through the emails waiting for review
// worst score first, approve, edit or reject each one with the keyboard,
// undo their last decision, ask for a contact to be regenerated, and follow
// the numbers that decide when a client may move to automatic approval.
//
// Pages are html/template (every prospect-controlled text is escaped) with
// htmx (vendored, embedded) for one-round-trip decisions, one stylesheet and
// one small script for the keyboard; the Content-Security-Policy allows no
// inline script or style. New returns an http.Handler the server mounts at
// "/": it serves /login, /logout, / (the queue), /emails/{id}…, /undo,
// /dashboard and /static/….
//
// The package reads and writes through Store, the subset of *store.Store it
// uses; the store scopes every read and write to the signed-in user's
// clients (an id out of scope is ErrNotFound, rendered 404).
package review

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
)

// Store is what the review interface needs from the database
// (*store.Store implements it).
type Store interface {
	Authenticate(ctx context.Context, email, password string) (store.User, error)
	CreateSession(ctx context.Context, userID string, ttl time.Duration) (token string, err error)
	SessionUser(ctx context.Context, token string) (store.User, error)
	DeleteSession(ctx context.Context, token string) error

	Emails(ctx context.Context, sc store.Scope, f store.EmailFilter) (items []store.EmailSummary, next string, err error)
	Email(ctx context.Context, sc store.Scope, id string) (store.EmailDetail, error)
	Decide(ctx context.Context, sc store.Scope, d store.Decision) (store.EmailDetail, error)
	Undo(ctx context.Context, sc store.Scope, reviewerID string) (store.EmailDetail, error)
	Dashboard(ctx context.Context, sc store.Scope, clientID string, p store.Period) (store.Dashboard, error)
	Regenerate(ctx context.Context, sc store.Scope, emailID string) (contactID string, err error)
}

// Config of the review interface.
type Config struct {
	Store Store
	// Wake is called after Regenerate re-queued a contact, so a worker
	// picks it up now rather than at its next poll. Its signature is
	// ingest.Enqueuer's Enqueue: pass the server's wake-up or an SQS
	// enqueuer's method value. Nil: the worker finds the contact when it
	// polls. An error is logged; the contact stays pending.
	Wake func(ctx context.Context, contactIDs ...string) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives errors (default: discarded).
	Log *slog.Logger
	// InsecureCookies drops the Secure attribute (and the __Host- prefix)
	// of the cookies, for a local http:// server. Never in production.
	InsecureCookies bool
	// SessionTTL is how long a sign-in lasts (default 12 h).
	SessionTTL time.Duration
	// ClientIP names the caller for login throttling (default: the host of
	// r.RemoteAddr). Behind a proxy, return the address the proxy saw.
	ClientIP func(r *http.Request) string
	// LoginPerEmail and LoginPerIP bound sign-in attempts: a burst, then
	// one more attempt every Every (defaults: 5 per e-mail, one more every
	// minute; 20 per IP, one more every 6 s).
	LoginPerEmail, LoginPerIP Limit
}

// Limit is a token bucket: Burst attempts at once, then one every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// htmxFile is the vendored htmx (static/README.md).
const htmxFile = "htmx-2.0.11.min.js"

//go:embed static templates
var files embed.FS

// The plan's rejection reasons (emails_generated.rejection_reason), with
// the template variable a rejection for that reason is obviously about
// (the reject form's default).
var rejectionReasons = []struct{ Code, Label, Variable string }{
	{"wrong_persona", "Wrong persona", "target_persona"},
	{"incorrect_competitor", "Incorrect competitor", "competitor_name"},
	{"grammar_issues", "Grammar issues", ""},
	{"tone_too_corporate", "Tone too corporate", ""},
	{"incorrect_info", "Incorrect information", ""},
	{"low_quality", "Low quality", ""},
	{"other", "Other (say why)", ""},
}

// reasonLabel is a rejection reason's label (the code when unknown).
func reasonLabel(code string) string {
	for _, r := range rejectionReasons {
		if r.Code == code {
			return r.Label
		}
	}
	return code
}

// reasonVariable is the variable a rejection for reason is about when the
// reviewer names none: the reason's obvious one, when the email has it.
func reasonVariable(reason string, vars map[string]email.Variable) string {
	for _, r := range rejectionReasons {
		if _, ok := vars[r.Variable]; ok && r.Code == reason && r.Variable != "" {
			return r.Variable
		}
	}
	return ""
}

func validReason(code string) bool {
	for _, r := range rejectionReasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// statusPending is the status of an email waiting for review.
const statusPending = "pending_review"

type handler struct {
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	pages        map[string]*template.Template
	frags        *template.Template
	assetVersion string
	static       fs.FS
	byEmail      *limiter
	byIP         *limiter
	sessionName  string
	loginName    string
}

// New returns the review interface's handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("review: Config.Store is required")
	}
	h := &handler{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.cfg.SessionTTL <= 0 {
		h.cfg.SessionTTL = 12 * time.Hour
	}
	if h.cfg.ClientIP == nil {
		h.cfg.ClientIP = remoteHost
	}
	h.byEmail = newLimiter(withDefault(cfg.LoginPerEmail, Limit{5, time.Minute}), 10000)
	h.byIP = newLimiter(withDefault(cfg.LoginPerIP, Limit{20, 6 * time.Second}), 10000)
	if cfg.InsecureCookies {
		h.sessionName, h.loginName = "kaleads_session", "kaleads_login"
	} else {
		h.sessionName, h.loginName = "__Host-kaleads_session", "__Host-kaleads_login"
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	h.static = static
	if h.assetVersion, err = assetVersion(static); err != nil {
		return nil, err
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	return h.routes(), nil
}

func withDefault(l, d Limit) Limit {
	if l.Burst <= 0 || l.Every <= 0 {
		return d
	}
	return l
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// assetVersion is a hash of the static files, appended to their URLs so a
// new release is fetched at once despite the cache headers.
func assetVersion(static fs.FS) (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", path, len(data))
		sum.Write(data)
		return nil
	})
	return hex.EncodeToString(sum.Sum(nil))[:12], err
}

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	static := http.StripPrefix("/static/", http.FileServerFS(h.static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		static.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.Handle("POST /logout", h.authed(h.logout))
	mux.Handle("GET /{$}", h.authed(h.queuePage))
	mux.Handle("GET /emails/{id}", h.authed(h.emailCard))
	mux.Handle("POST /emails/{id}/approve", h.authed(h.approve))
	mux.Handle("POST /emails/{id}/edit", h.authed(h.edit))
	mux.Handle("POST /emails/{id}/reject", h.authed(h.reject))
	mux.Handle("POST /emails/{id}/regenerate", h.authed(h.regenerate))
	mux.Handle("POST /undo", h.authed(h.undo))
	mux.Handle("GET /dashboard", h.authed(h.dashboard))
	return securityHeaders(mux)
}

// contentSecurityPolicy allows scripts and styles from this origin only:
// no inline script, no inline style, no eval, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
