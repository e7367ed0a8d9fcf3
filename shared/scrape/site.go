// Package scrape fetches a prospect's website (home page plus a few pages that
// look like customers / case studies / testimonials / about / pricing) and turns
// it into cleaned text that agents can quote from.
package scrape

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Site is what was learnt from one prospect's website.
type Site struct {
	Host  string `json:"host"`
	Pages []Page `json:"pages"`
	// Errors lists pages that could not be fetched (robots.txt refusal, HTTP
	// status, size cap...). A site with no pages still lets agents run on
	// lower fallback levels.
	Errors []string `json:"errors,omitempty"`
}

// Page is one fetched HTML page, cleaned.
type Page struct {
	URL         string        `json:"url"`
	Kind        string        `json:"kind"` // home, customers, case_studies, testimonials, about, pricing, other
	Title       string        `json:"title"`
	Description string        `json:"description"` // <meta name="description"> or og:description
	Headings    []string      `json:"headings"`    // h1..h3 in document order
	Text        string        `json:"text"`        // visible text, one line per block, spaces collapsed; scripts/styles/nav/header/footer/forms removed; capped at 20,000 characters
	Quotes      []Testimonial `json:"quotes"`      // testimonials found on the page
}

// Testimonial is a customer quote with the author's name and job title when
// the page gives them (e.g. "Claire Martin, Directrice commerciale").
type Testimonial struct {
	Quote  string `json:"quote"`
	Author string `json:"author"`
	Title  string `json:"title"`
}

// Home returns the home page, or nil when it could not be fetched.
func (s *Site) Home() *Page {
	if s == nil {
		return nil
	}
	for i := range s.Pages {
		if s.Pages[i].Kind == "home" {
			return &s.Pages[i]
		}
	}
	return nil
}

// Text returns all pages' text joined, each page once.
func (s *Site) Text() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range s.Pages {
		b.WriteString(p.Text)
		b.WriteString("\n")
	}
	return b.String()
}

// Find reports which page contains quote verbatim, and whether one does. It
// searches everything the engines are shown of each page: the title, the
// meta description, the headings, the body text and each testimonial's
// quote, author and job title (also as "author, title", the way prompts
// show them). The comparison ignores case and collapses whitespace and
// typographic quotes/apostrophes (see Normalize); a quote must lie within
// one field.
func (s *Site) Find(quote string) (url string, ok bool) {
	if s == nil {
		return "", false
	}
	q := []byte(Normalize(quote))
	if len(q) == 0 {
		return "", false
	}
	// One buffer, reused for every field of every page: no allocation per
	// field, and nothing stored on the (shared, read-only) Site.
	var buf []byte
	in := func(field string) bool {
		if field == "" {
			return false
		}
		buf = appendNormalized(buf[:0], field)
		return bytes.Contains(buf, q)
	}
	for i := range s.Pages {
		p := &s.Pages[i]
		if in(p.Title) || in(p.Description) {
			return p.URL, true
		}
		for _, h := range p.Headings {
			if in(h) {
				return p.URL, true
			}
		}
		for _, t := range p.Quotes {
			if in(t.Quote) || in(t.Author) || in(t.Title) ||
				(t.Author != "" && t.Title != "" && in(t.Author+", "+t.Title)) {
				return p.URL, true
			}
		}
		if in(p.Text) {
			return p.URL, true
		}
	}
	return "", false
}

// Normalize lower-cases s, maps typographic apostrophes and quotes to ASCII and
// collapses runs of white space to one space. Grounding checks compare
// normalized strings.
func Normalize(s string) string {
	return strings.TrimSpace(string(appendNormalized(make([]byte, 0, len(s)), s)))
}

// appendNormalized appends Normalize(s) to dst, except that it may end with
// one space.
func appendNormalized(dst []byte, s string) []byte {
	space := true
	for _, r := range s {
		switch r {
		case '\u2019', '\u2018', '\u02bc':
			r = '\''
		case '\u201c', '\u201d', '\u00ab', '\u00bb':
			r = '"'
		case '\u00a0', '\u202f':
			r = ' '
		}
		if unicode.IsSpace(r) {
			if !space {
				dst = append(dst, ' ')
				space = true
			}
			continue
		}
		space = false
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}
