package scrape

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// SiteServer serves local copies of websites on 127.0.0.1 for offline demos
// and tests: DIR/acme.fr/index.html is the home page of acme.fr (and of
// www.acme.fr), DIR/acme.fr/clients.html or DIR/acme.fr/clients/index.html
// answers /clients, DIR/acme.fr/robots.txt is its robots.txt.
type SiteServer struct {
	dir  string
	root *os.Root
	addr string
	srv  *http.Server
}

// ServeDir starts a SiteServer for dir on a free loopback port. Use Options to
// point a Scraper at it; Close stops it.
func ServeDir(dir string) (*SiteServer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("scrape: sites dir: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("scrape: sites server: %w", err)
	}
	s := &SiteServer{dir: dir, root: root, addr: ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	return s, nil
}

// Addr returns the server's "127.0.0.1:port".
func (s *SiteServer) Addr() string { return s.addr }

// Close stops the server.
func (s *SiteServer) Close() error {
	err := s.srv.Close()
	return errors.Join(err, s.root.Close())
}

// Options returns base with Resolve set so that every host with a directory
// is dialed on this server and every other host (public names and literal IPs
// alike) fails with "host x not in sites dir": nothing reaches the network.
// AllowPrivate is left as in base; it is not needed, as Resolve's answers are
// trusted.
func (s *SiteServer) Options(base Options) Options {
	base.Resolve = s.resolve
	return base
}

func (s *SiteServer) resolve(host string) (string, error) {
	if _, ok := s.siteDir(host); ok {
		return s.addr, nil
	}
	return "", fmt.Errorf("scrape: host %s not in sites dir %s", host, s.dir)
}

// siteDir maps a host name to its directory: the name itself, else the name
// without "www.".
func (s *SiteServer) siteDir(host string) (string, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || host == "." || host == ".." || strings.ContainsAny(host, `/\`) {
		return "", false
	}
	for _, h := range []string{host, strings.TrimPrefix(host, "www.")} {
		if fi, err := s.root.Stat(h); err == nil && fi.IsDir() {
			return h, true
		}
	}
	return "", false
}

// ServeHTTP serves the file for the request's host and path, trying "p",
// "p.html" and "p/index.html".
func (s *SiteServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	site, ok := s.siteDir(host)
	if !ok {
		http.Error(w, "host "+host+" not in sites dir", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	names := []string{p + "/index.html"}
	if p != "/" {
		names = []string{p, p + ".html", p + "/index.html"}
	}
	for _, name := range names {
		f, err := s.root.Open(site + name)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			f.Close()
			continue
		}
		if ext := strings.ToLower(path.Ext(name)); ext == ".html" || ext == ".htm" {
			// No charset: let <meta charset> or the bytes decide.
			w.Header().Set("Content-Type", "text/html")
		}
		http.ServeContent(w, r, name, fi.ModTime(), f)
		f.Close()
		return
	}
	http.Error(w, "not found", http.StatusNotFound)
}
