package scrape

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestForbiddenIP(t *testing.T) {
	tests := []struct {
		ip   string
		want string // "" = allowed
	}{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"192.168.1.1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.254", "carrier-grade NAT"},
		{"255.255.255.255", "reserved"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"64:ff9b::7f00:1", "loopback"},
		{"::127.0.0.1", "reserved"},
		{"8.8.8.8", ""},
		{"100.128.0.1", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
	}
	for _, tt := range tests {
		got := forbiddenIP(netip.MustParseAddr(tt.ip))
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("forbiddenIP(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// TestScrapeRefusesTargets checks that private targets are refused without
// any request reaching them: the loopback ones point at a live server that
// counts requests.
func TestScrapeRefusesTargets(t *testing.T) {
	ts := newTestSite(t, map[string]resp{"/": page("Secret", "<p>internal</p>")})
	addr := ts.srv.Listener.Addr().String()
	port := addr[strings.LastIndex(addr, ":")+1:]
	tests := []struct {
		website string
		host    string // named in the error
	}{
		{"http://127.0.0.1:" + port + "/", "127.0.0.1"},
		{"http://localhost:" + port + "/", "localhost"}, // name resolved, refused at dial time
		{"http://[::1]:" + port + "/", "::1"},
		{"http://10.0.0.1/", "10.0.0.1"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"http://0.0.0.0:" + port + "/", "0.0.0.0"},
		{"http://[::ffff:127.0.0.1]:" + port + "/", "::ffff:127.0.0.1"},
		{"http://100.64.1.1/", "100.64.1.1"},
		{"file:///etc/passwd", "file:"},
		{"gopher://acme.test/", "acme.test"},
		{"javascript:alert(1)", "javascript:alert(1)"},
		{"http://admin@acme.test/", "acme.test"},
		{"https://user:pass@acme.fr/", "acme.fr"},
	}
	for _, tt := range tests {
		t.Run(tt.website, func(t *testing.T) {
			s := New(Options{PerHostDelay: -1, Timeout: 2 * time.Second})
			site, err := s.Scrape(context.Background(), tt.website)
			if !errors.Is(err, ErrForbiddenTarget) {
				t.Fatalf("Scrape(%q) = %v, %v; want ErrForbiddenTarget", tt.website, site, err)
			}
			var te *TargetError
			if !errors.As(err, &te) || !strings.Contains(te.Host, tt.host) || te.Reason == "" {
				t.Errorf("error %v should name host %q and a reason", err, tt.host)
			}
		})
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.times) != 0 {
		t.Errorf("%d requests reached the loopback server: %v", len(ts.times), ts.hits)
	}
}

// TestScrapeRefusesRedirectToPrivate: a site reached through Resolve (a
// trusted mapping, like a public DNS answer) redirects to loopback; the hop
// must be refused, both for a literal IP and for a name that resolves to
// loopback (checked at dial time).
func TestScrapeRefusesRedirectToPrivate(t *testing.T) {
	internal := newTestSite(t, map[string]resp{"/": page("Internal", "<p>secret</p>"), "/robots.txt": {status: 404}})
	addr := internal.srv.Listener.Addr().String()
	port := addr[strings.LastIndex(addr, ":")+1:]
	for _, target := range []string{"http://" + addr + "/", "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"} {
		t.Run(target, func(t *testing.T) {
			public := newTestSite(t, map[string]resp{"/": {status: http.StatusFound, header: map[string]string{"Location": target}}})
			resolve := public.options(Options{}).Resolve
			// localhost must reach the real resolver, not the test mapping.
			s := New(Options{PerHostDelay: -1, Timeout: 2 * time.Second, Resolve: func(host string) (string, error) {
				if host == "localhost" {
					return "", nil
				}
				return resolve(host)
			}})
			_, err := s.Scrape(context.Background(), "http://acme.test/")
			if !errors.Is(err, ErrForbiddenTarget) {
				t.Fatalf("err = %v, want ErrForbiddenTarget", err)
			}
			if public.hit("/") != 1 {
				t.Errorf("public home hits = %d, want 1", public.hit("/"))
			}
		})
	}
	internal.mu.Lock()
	defer internal.mu.Unlock()
	if len(internal.times) != 0 {
		t.Errorf("%d requests reached the internal server: %v", len(internal.times), internal.hits)
	}
}

func TestAllowPrivate(t *testing.T) {
	ts := newTestSite(t, map[string]resp{"/": page("Local", "<p>ok</p>")})
	s := New(Options{AllowPrivate: true, PerHostDelay: -1})
	site, err := s.Scrape(context.Background(), ts.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if site.Home().Title != "Local" {
		t.Errorf("title = %q", site.Home().Title)
	}
	// Even when private targets are allowed, other schemes are not.
	if _, err := s.Scrape(context.Background(), "file:///etc/passwd"); !errors.Is(err, ErrForbiddenTarget) {
		t.Errorf("file URL with AllowPrivate: %v", err)
	}
}

func TestTargetErrorMessage(t *testing.T) {
	err := fmt.Errorf("wrap: %w", &TargetError{Host: "10.0.0.1", Reason: "private address 10.0.0.1"})
	if !errors.Is(err, ErrForbiddenTarget) || err.Error() != `wrap: scrape: refused target "10.0.0.1": private address 10.0.0.1` {
		t.Errorf("err = %v", err)
	}
}

// FuzzCheckTarget: whatever the input, an accepted website is http(s),
// has a host, carries no credentials and is no forbidden literal IP.
func FuzzCheckTarget(f *testing.F) {
	for _, s := range []string{"acme.fr", "http://127.0.0.1/", "file:///etc/passwd", "http://u@x/", "//[::ffff:a00:1]/", "javascript:1", "acme.fr:80", "http://0x7f.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, _, _, err := parseWebsite(in)
		if err != nil {
			return
		}
		if checkURL(u, false) != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %q as %#v", in, u)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && forbiddenIP(ip) != "" {
			t.Fatalf("accepted forbidden IP %q", in)
		}
	})
}
