package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/temoto/robotstxt"
	"golang.org/x/net/html/charset"
)

// maxRobotsBytes caps robots.txt bodies (Google reads the first 500 KiB).
const maxRobotsBytes = 500 << 10

// pacer spaces requests to the same host by at least gap, across goroutines.
type pacer struct {
	gap  time.Duration
	mu   sync.Mutex
	next map[string]time.Time // earliest start of the next request per host
}

// wait blocks until a request to host may start (or ctx ends) and returns a
// func that gives the slot back; call it when the request never reached the
// server (connection failure), so a failed attempt does not delay the next.
func (p *pacer) wait(ctx context.Context, host string) (undo func(), err error) {
	if p.gap <= 0 {
		return func() {}, nil
	}
	p.mu.Lock()
	p.prune()
	prev := p.next[host]
	at := time.Now()
	if prev.After(at) {
		at = prev
	}
	mine := at.Add(p.gap)
	p.next[host] = mine
	p.mu.Unlock()
	undo = func() {
		p.mu.Lock()
		if p.next[host].Equal(mine) { // nobody queued behind us
			p.next[host] = prev
		}
		p.mu.Unlock()
	}
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			undo()
			return nil, ctx.Err()
		}
	}
	return undo, nil
}

// pruneAbove is the number of hosts after which hosts whose slot is in the
// past are forgotten (a long-running process scrapes ever new hosts).
const pruneAbove = 1024

// prune forgets hosts whose next slot has passed; p.mu is held.
func (p *pacer) prune() {
	if len(p.next) < pruneAbove {
		return
	}
	now := time.Now()
	for h, t := range p.next {
		if !t.After(now) {
			delete(p.next, h)
		}
	}
}

// transport paces every request (redirect hops and robots.txt included) and
// gives each its own timeout, which starts after the pacing wait.
type transport struct {
	base    http.RoundTripper
	pace    *pacer
	timeout time.Duration
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	undo, err := t.pace.wait(req.Context(), req.URL.Hostname())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		undo()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// fetched is a decoded HTML response.
type fetched struct {
	url       *url.URL // after redirects
	html      string   // UTF-8
	truncated bool
}

func (s *Scraper) newRequest(ctx context.Context, u *url.URL, accept string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Language", "fr,en;q=0.8")
	return req, nil
}

// get fetches an HTML page. Non-2xx statuses and non-HTML bodies are errors;
// a body over MaxBytes is cut and flagged as truncated.
func (s *Scraper) get(ctx context.Context, u *url.URL) (*fetched, error) {
	req, err := s.newRequest(ctx, u, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
	if err != nil {
		return nil, err
	}
	resp, err := s.pages.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s: HTTP status %d", final, resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" && !isHTML(ct) {
		return nil, fmt.Errorf("%s: content type %q is not HTML", final, ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading body: %w", final, err)
	}
	truncated := int64(len(body)) > s.opts.MaxBytes
	if truncated {
		body = body[:s.opts.MaxBytes]
	}
	if ct == "" && !isHTML(http.DetectContentType(body)) {
		return nil, fmt.Errorf("%s: body is not HTML", final)
	}
	return &fetched{url: final, html: decode(body, ct), truncated: truncated}, nil
}

func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// decode converts body to UTF-8 using the Content-Type charset, a BOM, or a
// <meta charset> in the first 1024 bytes. A body that declares nothing (or
// only a <meta>) but is valid UTF-8 with non-ASCII bytes is taken as UTF-8:
// the WHATWG default would be windows-1252 when the first 1024 bytes are ASCII.
func decode(body []byte, contentType string) string {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if name != "utf-8" && !certain && looksUTF8(body) {
		name = "utf-8"
	}
	if name == "utf-8" {
		body = bytes.TrimPrefix(trimPartialRune(body), []byte("\xef\xbb\xbf"))
		return strings.ToValidUTF8(string(body), "\uFFFD")
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return strings.ToValidUTF8(string(body), "\uFFFD")
	}
	return strings.TrimPrefix(string(out), "\uFEFF")
}

// looksUTF8 reports whether b has non-ASCII bytes and is valid UTF-8 apart
// from a rune cut at the end (by the size cap).
func looksUTF8(b []byte) bool {
	b = trimPartialRune(b)
	for _, c := range b {
		if c >= 0x80 {
			return utf8.Valid(b)
		}
	}
	return false
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// robotsEntry is the cached robots.txt of one origin. data nil means allow all;
// err records why robots.txt could not be fetched (then everything is allowed).
type robotsEntry struct {
	data *robotstxt.RobotsData
	err  error
}

func (r *robotsEntry) allows(u *url.URL, agent string) bool {
	if r == nil || r.data == nil {
		return true
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return r.data.TestAgent(path, agent)
}

// robotsFor returns the robots.txt rules for u's origin, fetching them once per
// Scraper. Policy: only a 2xx robots.txt restricts anything. A 4xx (no file),
// a 5xx, an unreachable server, an unparseable file or a non-2xx after
// redirects all mean "allowed": we fetch at most a handful of public pages per
// site, at a human pace, so treating a broken robots.txt as a ban would lose
// more than it protects. The only error returned is the context's.
func (s *Scraper) robotsFor(ctx context.Context, u *url.URL) (*robotsEntry, error) {
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	r, _, err := s.robots.do(ctx, origin, func(ctx context.Context) (*robotsEntry, error) {
		ru := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
		req, err := s.newRequest(ctx, ru, "text/plain,*/*;q=0.5")
		if err != nil {
			return &robotsEntry{err: err}, nil
		}
		resp, err := s.robotsHTTP.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return &robotsEntry{err: err}, nil
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return &robotsEntry{}, nil
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsBytes))
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		data, perr := robotstxt.FromBytes(body)
		if perr != nil {
			return &robotsEntry{err: perr}, nil
		}
		return &robotsEntry{data: data}, nil
	})
	return r, err
}

// allowed reports whether robots.txt lets us fetch u.
func (s *Scraper) allowed(ctx context.Context, u *url.URL) (bool, error) {
	r, err := s.robotsFor(ctx, u)
	if err != nil {
		return false, err
	}
	return r.allows(u, s.opts.UserAgent), nil
}

// checkRedirect caps redirects and re-validates every hop; for pages (not
// robots.txt itself) it also applies robots.txt to the new URL.
func (s *Scraper) checkRedirect(robots bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > s.opts.MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", s.opts.MaxRedirects)
		}
		if err := checkURL(req.URL, s.opts.AllowPrivate); err != nil {
			return err
		}
		if robots {
			ok, err := s.allowed(req.Context(), req.URL)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("redirect to %s: %w", req.URL, ErrRobotsDisallowed)
			}
		}
		return nil
	}
}

// connFailed reports whether err (from a request whose context is still
// live) is worth retrying over http://: anything but our own refusal.
func connFailed(err error) bool {
	return err != nil && !errors.Is(err, ErrForbiddenTarget)
}
