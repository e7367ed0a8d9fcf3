package review

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// maxForm bounds a POST body (an edited email is a few kilobytes).
const maxForm = 256 << 10

// session is the signed-in user of a request.
type session struct {
	user  store.User
	token string
	csrf  string
}

type authedFunc func(w http.ResponseWriter, r *http.Request, s *session)

// csrfToken is the per-session CSRF token: a hash of the session token
// (which never leaves the HttpOnly cookie), so it needs no server state and
// holds across instances. The store keeps sha256(token): the prefix makes
// this a different value.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("kaleads review csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// loginToken is the sign-in form's CSRF token, bound to the pre-session
// cookie (double submit: a cross-site page can neither read the cookie nor
// compute the field).
func loginToken(cookie string) string {
	sum := sha256.Sum256([]byte("kaleads login csrf\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// authed runs fn for a signed-in user; a POST must carry the session's CSRF
// token (X-CSRF-Token header or csrf form field), else 403.
func (h *handler) authed(fn authedFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Add("Vary", "HX-Request")
		c, err := r.Cookie(h.sessionName)
		if err != nil || c.Value == "" || len(c.Value) > 200 {
			h.toLogin(w, r)
			return
		}
		u, err := h.cfg.Store.SessionUser(r.Context(), c.Value)
		if errors.Is(err, store.ErrNotFound) {
			h.clearCookie(w, h.sessionName)
			h.toLogin(w, r)
			return
		}
		if err != nil {
			h.serverError(w, r, "session", err)
			return
		}
		s := &session{user: u, token: c.Value, csrf: csrfToken(c.Value)}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "The form could not be read.", http.StatusBadRequest)
				return
			}
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostForm.Get("csrf")
			}
			if !sameToken(tok, s.csrf) {
				h.log.WarnContext(r.Context(), "review: CSRF token missing or wrong", "path", r.URL.Path, "user", u.ID)
				http.Error(w, "Forbidden: the form is stale or did not come from this site. Reload the page.", http.StatusForbidden)
				return
			}
		}
		fn(w, r, s)
	})
}

// toLogin sends a request without a valid session to the sign-in page.
func (h *handler) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath keeps a post-login redirect on this site.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "/login" {
		return "/"
	}
	return next
}

func (h *handler) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: !h.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (h *handler) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !h.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

type loginView struct {
	Email, Error, Next, CSRF string
}

// loginPage: GET /login.
func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if c, err := r.Cookie(h.sessionName); err == nil && c.Value != "" && len(c.Value) <= 200 {
		if _, err := h.cfg.Store.SessionUser(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	h.renderLogin(w, r, http.StatusOK, loginView{Next: localPath(r.URL.Query().Get("next"))})
}

// renderLogin renders the sign-in form with a fresh pre-session cookie
// when the request has none.
func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	pre := ""
	if c, err := r.Cookie(h.loginName); err == nil && len(c.Value) == 43 {
		pre = c.Value
	} else {
		pre = randomToken()
		h.setCookie(w, h.loginName, pre, time.Hour)
	}
	v.CSRF = loginToken(pre)
	h.render(w, r, status, "login", &page{Title: "Sign in", Page: "login", Data: v})
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// badLogin is the one message for an unknown e-mail and a wrong password.
const badLogin = "E-mail or password is incorrect."

// login: POST /login.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	pre, err := r.Cookie(h.loginName)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), loginToken(pre.Value)) {
		http.Error(w, "Forbidden: the sign-in form is stale or did not come from this site. Reload the page.", http.StatusForbidden)
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	password := r.PostForm.Get("password")
	v := loginView{Email: email, Next: localPath(r.PostForm.Get("next"))}
	if email == "" || password == "" || len(email) > 320 || len(password) > 1024 {
		v.Error = badLogin
		h.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	now := h.now()
	okIP, waitIP := h.byIP.allow(h.cfg.ClientIP(r), now)
	okEmail, waitEmail := h.byEmail.allow(email, now)
	if !okIP || !okEmail {
		wait := max(waitIP, waitEmail)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		h.log.WarnContext(r.Context(), "review: sign-in throttled", "ip", h.cfg.ClientIP(r), "per_ip", !okIP, "per_email", !okEmail)
		v.Error = "Too many sign-in attempts. Wait a few minutes and try again."
		h.renderLogin(w, r, http.StatusTooManyRequests, v)
		return
	}
	u, err := h.cfg.Store.Authenticate(r.Context(), email, password)
	if errors.Is(err, store.ErrBadCredentials) || errors.Is(err, store.ErrNotFound) {
		v.Error = badLogin
		h.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	if err != nil {
		h.serverError(w, r, "sign in", err)
		return
	}
	token, err := h.cfg.Store.CreateSession(r.Context(), u.ID, h.cfg.SessionTTL)
	if err != nil {
		h.serverError(w, r, "create session", err)
		return
	}
	h.byEmail.reset(email)
	h.setCookie(w, h.sessionName, token, h.cfg.SessionTTL)
	h.clearCookie(w, h.loginName)
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// logout: POST /logout.
func (h *handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := h.cfg.Store.DeleteSession(r.Context(), s.token); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.log.ErrorContext(r.Context(), "review: delete session", "error", err)
	}
	h.clearCookie(w, h.sessionName)
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", "/login")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// limiter is a bounded map of token buckets keyed by IP or e-mail.
type limiter struct {
	mu    sync.Mutex
	limit Limit
	max   int
	m     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(l Limit, maxKeys int) *limiter {
	return &limiter{limit: l, max: maxKeys, m: make(map[string]*bucket)}
}

// allow takes one attempt from key's bucket; when none is left it says how
// long until the next one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.limit.Burst), last: now}
		l.m[key] = b
	}
	b.refill(l.limit, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.limit.Every))
	}
	b.tokens--
	return true, 0
}

func (b *bucket) refill(l Limit, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+float64(el)/float64(l.Every))
		b.last = now
	}
}

// evict drops the full buckets (they hold no information), then, if the
// map is still full, arbitrary ones.
func (l *limiter) evict(now time.Time) {
	for k, b := range l.m {
		b.refill(l.limit, now)
		if b.tokens >= float64(l.limit.Burst) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < l.max {
			break
		}
		delete(l.m, k)
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}
