package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// page is what the layout renders around a page's content.
type page struct {
	Title string
	Page  string // login, queue, email, dashboard, error
	User  *store.User
	CSRF  string
	// HXHeaders is the hx-headers JSON: htmx sends the CSRF token with
	// every request.
	HXHeaders string
	Asset     string // static files' version
	HTMX      string // vendored htmx file name
	Notice    *notice
	Data      any
}

type notice struct {
	Kind    string // ok, warn, error
	Message string
}

var pageNames = []string{"login", "queue", "dashboard", "error"}

func (h *handler) parseTemplates() error {
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/fragments.html")
	if err != nil {
		return fmt.Errorf("review: templates: %w", err)
	}
	h.pages = make(map[string]*template.Template)
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(files, "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("review: templates: %w", err)
		}
		h.pages[name] = t
	}
	h.frags = base
	return nil
}

var funcs = template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f %%", f*100) },
	"num": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"coord": func(f float64) string {
		return fmt.Sprintf("%.1f", f)
	},
	"badge":       badgeClass,
	"statusLabel": statusLabel,
	"when":        func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
}

// badgeClass colours a quality score by the plan's thresholds.
func badgeClass(score int) string {
	switch {
	case score >= 90:
		return "score-great"
	case score >= 75:
		return "score-good"
	case score >= 60:
		return "score-fair"
	default:
		return "score-poor"
	}
}

func (h *handler) newPage(s *session, name, title string, data any) *page {
	p := &page{Title: title, Page: name, Data: data}
	if s != nil {
		u := s.user
		p.User = &u
		p.CSRF = s.csrf
		hdr, _ := json.Marshal(map[string]string{"X-CSRF-Token": s.csrf})
		p.HXHeaders = string(hdr)
	}
	return p
}

// render writes a full page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.Asset, p.HTMX = h.assetVersion, htmxFile
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.ErrorContext(r.Context(), "review: render page", "page", name, "error", err)
		http.Error(w, "Something went wrong rendering this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fragment is one named template of fragments.html and its data; an htmx
// response is a list of them (the swapped one first, then out-of-band
// ones).
type fragment struct {
	Name string
	Data any
}

func (h *handler) renderFragments(w http.ResponseWriter, r *http.Request, status int, frags ...fragment) {
	var buf bytes.Buffer
	for _, f := range frags {
		if err := h.frags.ExecuteTemplate(&buf, f.Name, f.Data); err != nil {
			h.log.ErrorContext(r.Context(), "review: render fragment", "fragment", f.Name, "error", err)
			http.Error(w, "Something went wrong rendering this part.", http.StatusInternalServerError)
			return
		}
		buf.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *handler) serverError(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "review: "+op, "path", r.URL.Path, "error", err)
	if isHTMX(r) {
		http.Error(w, "Something went wrong: try again.", http.StatusInternalServerError)
		return
	}
	h.render(w, r, http.StatusInternalServerError, "error", &page{Title: "Error", Page: "error",
		Data: errorView{Status: 500, Message: "Something went wrong. Try again; if it keeps failing, tell an administrator."}})
}

type errorView struct {
	Status  int
	Message string
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	if isHTMX(r) {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	h.render(w, r, http.StatusNotFound, "error", h.newPage(s, "error", "Not found",
		errorView{Status: 404, Message: "This email does not exist or is not one of your clients'."}))
}
