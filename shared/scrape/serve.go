package scrape

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// SiteServer serves local copies of websites on 127.0.0.1 for offline demos
// and tests: DIR/acme.fr/index.html is the home page of acme.fr (and of
// www.acme.fr), DIR/acme.fr/clients.html or DIR/acme.fr/clients/index.html
// answers /clients, DIR/acme.fr/robots.txt is its robots.txt.
//
// The server speaks HTTP and HTTPS on the same port (it looks at the first
// byte of each connection), with a self-signed certificate naming every site
// directory and its www. form, so "https://www.acme.fr" works offline too.
type SiteServer struct {
	dir   string
	root  *os.Root
	addr  string
	srv   *http.Server
	roots *x509.CertPool
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
	cert, roots, err := selfSigned(dir)
	if err != nil {
		ln.Close()
		root.Close()
		return nil, fmt.Errorf("scrape: sites server certificate: %w", err)
	}
	s.roots = roots
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	go s.srv.Serve(&sniffListener{Listener: ln, tls: tlsConf}) // returns http.ErrServerClosed after Close
	return s, nil
}

// selfSigned makes a certificate for every site directory (and www.) and a
// pool trusting it.
func selfSigned(dir string) (tls.Certificate, *x509.CertPool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			n := strings.ToLower(e.Name())
			names = append(names, n, "www."+n)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kaleads --sites"},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// sniffListener hands each connection to TLS when its first byte is a TLS
// handshake record (0x16), and as plain HTTP otherwise.
type sniffListener struct {
	net.Listener
	tls *tls.Config
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, tls: l.tls}, nil
}

type sniffConn struct {
	net.Conn
	tls   *tls.Config
	once  sync.Once
	inner net.Conn
	err   error
}

func (c *sniffConn) decide() {
	c.once.Do(func() {
		br := bufio.NewReader(c.Conn)
		c.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		first, err := br.Peek(1)
		c.Conn.SetReadDeadline(time.Time{})
		if err != nil {
			c.err = err
			return
		}
		pc := &peekedConn{Conn: c.Conn, r: br}
		if first[0] == 0x16 {
			c.inner = tls.Server(pc, c.tls)
		} else {
			c.inner = pc
		}
	})
}

func (c *sniffConn) Read(p []byte) (int, error) {
	if c.decide(); c.err != nil {
		return 0, c.err
	}
	return c.inner.Read(p)
}

func (c *sniffConn) Write(p []byte) (int, error) {
	if c.decide(); c.err != nil {
		return 0, c.err
	}
	return c.inner.Write(p)
}

func (c *sniffConn) Close() error {
	if c.inner != nil {
		return c.inner.Close()
	}
	return c.Conn.Close()
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

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
	base.RootCAs = s.roots
	if base.PerHostDelay == 0 {
		base.PerHostDelay = -1 // our own loopback server needs no politeness gap
	}
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

// NewForSites returns a Scraper with opts; when sitesDir is set, it is
// pointed at a loopback SiteServer of sitesDir (the --sites flag), and stop
// closes that server.
func NewForSites(sitesDir string, opts Options) (s *Scraper, stop func(), err error) {
	if sitesDir == "" {
		return New(opts), func() {}, nil
	}
	srv, err := ServeDir(sitesDir)
	if err != nil {
		return nil, nil, fmt.Errorf("--sites: %w", err)
	}
	return New(srv.Options(opts)), func() { srv.Close() }, nil
}
