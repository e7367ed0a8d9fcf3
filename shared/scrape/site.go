// Package scrape fetches a prospect's website (home page plus a few pages that
// look like customers / case studies / testimonials / about / pricing) and turns
// it into cleaned text that agents can quote from.
package scrape

import (
	"strings"
	"unicode"
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

// Find reports which page contains quote verbatim (comparison ignores case
// and collapses whitespace and typographic quotes/apostrophes), and whether one does.
func (s *Site) Find(quote string) (url string, ok bool) {
	if s == nil {
		return "", false
	}
	q := Normalize(quote)
	if q == "" {
		return "", false
	}
	for _, p := range s.Pages {
		if strings.Contains(Normalize(p.Text), q) {
			return p.URL, true
		}
	}
	return "", false
}

// Normalize lower-cases s, maps typographic apostrophes and quotes to ASCII and
// collapses runs of white space to one space. Grounding checks compare
// normalized strings.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
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
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimSpace(b.String())
}
