package scrape

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Scraper. Zero values take the documented defaults.
type Options struct {
	// AllowPrivate allows loopback, private, link-local and other non-public
	// targets. Only for tests and local demos. Default false.
	AllowPrivate bool
	// Resolve overrides dialing: it gets a lower-cased host name (no port) and
	// returns the "ip:port" to connect to, or "" with a nil error to dial
	// normally. An error refuses the connection. Addresses it returns are
	// trusted (not checked against AllowPrivate); URLs with literal IPs are
	// still checked. ServeDir uses it to keep every request on loopback.
	Resolve func(host string) (addr string, err error)
	// MaxPages is the number of pages fetched per site, home included. Default 5.
	MaxPages int
	// Timeout bounds each HTTP request (each redirect hop), not counting the
	// pacing wait before it. Default 10s.
	Timeout time.Duration
	// MaxBytes caps each page body; longer bodies are cut, parsed, and noted
	// in Site.Errors. Default 2 MiB.
	MaxBytes int64
	// MaxRedirects caps redirects per request. Default 5; negative means none.
	MaxRedirects int
	// PerHostDelay is the minimum gap between the starts of two requests to
	// the same host name (robots.txt included). Default 1s; negative means
	// none.
	PerHostDelay time.Duration
	// UserAgent is sent with every request and matched against robots.txt
	// groups. Default DefaultUserAgent.
	UserAgent string
	// RootCAs, when set, replaces the system roots for HTTPS (the --sites
	// server's own certificate).
	RootCAs *x509.CertPool
	// CacheSites bounds how many scraped sites (and robots.txt files) are
	// kept for reuse. Default 256.
	CacheSites int
	// CacheTTL bounds how long a scraped site is reused. Default 15m.
	CacheTTL time.Duration
}

// DefaultUserAgent identifies the scraper when Options.UserAgent is empty.
const DefaultUserAgent = "KaleadsBot/1.0 (+https://kaleads.example/bot)"

// maxText caps Page.Text, in characters.
const maxText = 20000

func (o Options) withDefaults() Options {
	if o.MaxPages <= 0 {
		o.MaxPages = 5
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 2 << 20
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = 5
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	switch {
	case o.PerHostDelay == 0:
		o.PerHostDelay = time.Second
	case o.PerHostDelay < 0:
		o.PerHostDelay = 0
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.CacheSites <= 0 {
		o.CacheSites = 256
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 15 * time.Minute
	}
	return o
}

// Scraper fetches prospect websites. It is safe for concurrent use; results
// are cached per domain, within Options.CacheSites and Options.CacheTTL.
type Scraper struct {
	opts       Options
	pages      *http.Client
	robotsHTTP *http.Client
	sites      *group[*Site]
	robots     *group[*robotsEntry]

	mu    sync.Mutex
	stats Stats
}

// Stats summarises a Scraper's work so far.
type Stats struct {
	Sites     int // domains fetched (successfully or not), cache hits excluded
	Failed    int // of those, how many Scrape returned an error for
	CacheHits int // Scrape calls answered from the cache or by a concurrent call
	Pages     int // pages fetched and parsed
	Errors    int // entries in Site.Errors (pages skipped or failed)
}

// New returns a Scraper using opts.
func New(opts Options) *Scraper {
	opts = opts.withDefaults()
	s := &Scraper{opts: opts, sites: newGroup[*Site](opts.CacheSites, opts.CacheTTL),
		robots: newGroup[*robotsEntry](opts.CacheSites, opts.CacheTTL)}
	base := &http.Transport{
		Proxy:                 nil, // a proxy would bypass the dial-time address check
		DialContext:           newDialer(opts).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	if opts.RootCAs != nil {
		base.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
	}
	rt := &transport{base: base, pace: &pacer{gap: opts.PerHostDelay, next: map[string]time.Time{}}, timeout: opts.Timeout}
	s.pages = &http.Client{Transport: rt, CheckRedirect: s.checkRedirect(true)}
	s.robotsHTTP = &http.Client{Transport: rt, CheckRedirect: s.checkRedirect(false)}
	return s
}

// Stats returns counters for the run summary.
func (s *Scraper) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Scrape fetches the home page of website ("acme.fr", "https://www.acme.fr/",
// ...) and then up to MaxPages-1 pages of the same site whose link looks like
// customers, testimonials or case studies first, then about, then pricing.
// A website without a scheme is tried over https, then http if https cannot
// be reached.
//
// Results, failures included, are cached per domain ("www." and letter case
// ignored) within the cache bounds of Options, and concurrent calls for one domain
// share one fetch (a call cut short by its own context is not cached). The
// returned Site is shared between callers and must not be modified.
//
// An error is returned only when nothing usable was fetched: an invalid URL
// (ErrInvalidURL), a refused target (ErrForbiddenTarget), a home page
// disallowed by robots.txt (ErrRobotsDisallowed) or failing. Other pages'
// failures are listed in Site.Errors.
func (s *Scraper) Scrape(ctx context.Context, website string) (*Site, error) {
	u, key, explicit, err := parseWebsite(website)
	if err == nil {
		err = checkURL(u, s.opts.AllowPrivate)
	}
	if err != nil {
		return nil, fmt.Errorf("scrape %q: %w", website, err)
	}
	site, shared, err := s.sites.do(ctx, key, func(ctx context.Context) (*Site, error) {
		site, err := s.scrapeSite(ctx, key, u, explicit)
		if ctx.Err() == nil {
			s.mu.Lock()
			s.stats.Sites++
			if err != nil {
				s.stats.Failed++
			} else {
				s.stats.Pages += len(site.Pages)
				s.stats.Errors += len(site.Errors)
			}
			s.mu.Unlock()
		}
		return site, err
	})
	if shared && ctx.Err() == nil {
		s.mu.Lock()
		s.stats.CacheHits++
		s.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", key, err)
	}
	return site, nil
}

// parseWebsite turns user input into a URL and a cache key (lower-case host
// without "www.", with the port when not the scheme's default). explicit
// reports whether the input named its scheme.
func parseWebsite(website string) (u *url.URL, key string, explicit bool, err error) {
	w := strings.TrimSpace(website)
	if w == "" {
		return nil, "", false, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	explicit = true
	switch {
	case strings.HasPrefix(w, "//"):
		w = "https:" + w
		explicit = false
	case !strings.Contains(w, "://") && !hasScheme(w):
		w = "https://" + w
		explicit = false
	}
	u, err = url.Parse(w)
	if err != nil {
		return nil, "", false, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" && (u.Scheme == "http" || u.Scheme == "https") {
		return nil, "", false, fmt.Errorf("%w: %q has no host", ErrInvalidURL, website)
	}
	key = strings.TrimPrefix(host, "www.")
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
		key = net.JoinHostPort(key, p)
	}
	return u, key, explicit, nil
}

// hasScheme reports whether w starts with "scheme:" rather than "host:port".
func hasScheme(w string) bool {
	i := strings.IndexByte(w, ':')
	if i <= 0 {
		return false
	}
	scheme, rest := w[:i], w[i+1:]
	for j, r := range scheme {
		isLetter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !isLetter && (j == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	if strings.Contains(scheme, ".") {
		return false // "acme.fr:8080"
	}
	port := rest
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		port = rest[:k]
	}
	_, err := strconv.Atoi(port)
	return err != nil // "localhost:8080" is a host; "file:/x", "javascript:x" are schemes
}

// scrapeSite fetches one site: robots.txt, home page, then ranked pages.
func (s *Scraper) scrapeSite(ctx context.Context, key string, u *url.URL, explicit bool) (*Site, error) {
	site := &Site{Host: key}
	home, links, err := s.fetchHome(ctx, u, explicit, site)
	if err != nil {
		return nil, err
	}
	site.Pages = append(site.Pages, *home)
	homeURL, _ := url.Parse(home.URL)
	seen := map[string]bool{pageKey(u): true, pageKey(homeURL): true}
	budget := s.opts.MaxPages - 1
	for _, c := range rankLinks(links, homeURL, seen) {
		if budget <= 0 {
			break
		}
		ok, err := s.allowed(ctx, c.url)
		if err != nil {
			return nil, err
		}
		if !ok {
			site.Errors = append(site.Errors, fmt.Sprintf("%s: skipped, disallowed by robots.txt", c.url))
			continue
		}
		budget--
		page, _, err := s.fetchPage(ctx, c.url, c.kind, site)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			site.Errors = append(site.Errors, err.Error())
			continue
		}
		pu, _ := url.Parse(page.URL)
		if seen[pageKey(pu)] {
			continue // redirected to a page we already have
		}
		seen[pageKey(pu)] = true
		site.Pages = append(site.Pages, *page)
	}
	return site, nil
}

// fetchHome applies robots.txt and fetches the home page, switching to http://
// when the website had no scheme and https cannot be reached.
func (s *Scraper) fetchHome(ctx context.Context, u *url.URL, explicit bool, site *Site) (*Page, []link, error) {
	r, err := s.robotsFor(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	if !explicit && u.Scheme == "https" && connFailed(r.err) {
		hu := *u
		hu.Scheme = "http"
		u = &hu
		if r, err = s.robotsFor(ctx, u); err != nil {
			return nil, nil, err
		}
	}
	if !r.allows(u, s.opts.UserAgent) {
		return nil, nil, fmt.Errorf("home page %s: %w", u, ErrRobotsDisallowed)
	}
	return s.fetchPage(ctx, u, "home", site)
}

// fetchPage fetches and parses one page; a truncated body is noted in site.
func (s *Scraper) fetchPage(ctx context.Context, u *url.URL, kind string, site *Site) (*Page, []link, error) {
	f, err := s.get(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	if f.truncated {
		site.Errors = append(site.Errors, fmt.Sprintf("%s: body truncated at %d bytes", f.url, s.opts.MaxBytes))
	}
	page, links := parsePage(f.url, f.html)
	page.Kind = kind
	return page, links, nil
}
