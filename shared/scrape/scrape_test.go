package scrape

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSite is a loopback HTTP server standing for the website acme.test (and
// www.acme.test): Options() maps those names to it and refuses every other
// name, so tests never reach the network.
type testSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	times []time.Time
}

// resp is a canned answer; status 0 means 200 and ctype "" means text/html.
type resp struct {
	status int
	ctype  string
	body   string
	header map[string]string
}

func newTestSite(t *testing.T, pages map[string]resp) *testSite {
	t.Helper()
	return newTestSiteHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, v := range p.header {
			w.Header().Set(k, v)
		}
		switch p.ctype {
		case "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		case "none":
			w.Header()["Content-Type"] = nil // no sniffing by net/http either
		default:
			w.Header().Set("Content-Type", p.ctype)
		}
		if p.status != 0 {
			w.WriteHeader(p.status)
		}
		fmt.Fprint(w, p.body)
	}))
}

func newTestSiteHandler(t *testing.T, h http.Handler) *testSite {
	t.Helper()
	ts := &testSite{hits: map[string]int{}}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.hits[r.URL.Path]++
		ts.times = append(ts.times, time.Now())
		ts.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *testSite) hit(path string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.hits[path]
}

// options returns o with Resolve pointing acme.test at the server, and fast
// defaults for tests.
func (ts *testSite) options(o Options) Options {
	addr := ts.srv.Listener.Addr().String()
	o.Resolve = func(host string) (string, error) {
		if host == "acme.test" || host == "www.acme.test" {
			return addr, nil
		}
		return "", fmt.Errorf("test: host %s not served", host)
	}
	if o.PerHostDelay == 0 {
		o.PerHostDelay = -1
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	return o
}

func page(title, body string) resp {
	return resp{body: "<!doctype html><html><head><title>" + title + "</title></head><body>" + body + "</body></html>"}
}

func kindsAndPaths(site *Site) []string {
	var out []string
	for _, p := range site.Pages {
		out = append(out, p.Kind+" "+strings.TrimPrefix(p.URL, "http://acme.test"))
	}
	return out
}

func TestScrapeDiscoveryAndRanking(t *testing.T) {
	ts := newTestSite(t, map[string]resp{
		"/": page("Acme", `<nav>
			<a href="/tarifs">Tarifs</a>
			<a href="/a-propos">À propos</a>
			<a href="/blog/post">Blog</a>
			<a href="/clients">Nos clients</a>
			<a href="/etudes-de-cas/projet-a">Projet A</a>
			<a href="/etudes-de-cas/projet-b">Projet B</a>
			<a href="/avis">Témoignages</a>
			<a href="http://other.test/customers">Customers</a>
			<a href="/catalogue.pdf">Nos références</a>
			<a href="/espace-clients">Espace clients</a>
			<a href="/clients#logos">Logos clients</a>
			<a href="mailto:contact@acme.test">Clients : écrivez-nous</a>
			</nav><p>Bienvenue</p>`),
		"/clients":                page("Clients", "<p>Nos clients</p>"),
		"/etudes-de-cas/projet-a": page("Projet A", "<p>Étude A</p>"),
		"/avis":                   page("Avis", "<p>Avis</p>"),
		"/a-propos":               page("À propos", "<p>Lyon</p>"),
	})
	s := New(ts.options(Options{MaxPages: 5}))
	site, err := s.Scrape(context.Background(), "http://acme.test")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"home /", "customers /clients", "case_studies /etudes-de-cas/projet-a", "testimonials /avis", "about /a-propos"}
	if got := kindsAndPaths(site); !reflect.DeepEqual(got, want) {
		t.Errorf("pages = %q, want %q", got, want)
	}
	for _, p := range []string{"/tarifs", "/etudes-de-cas/projet-b", "/blog/post", "/catalogue.pdf", "/espace-clients"} {
		if n := ts.hit(p); n != 0 {
			t.Errorf("%s fetched %d times, want 0", p, n)
		}
	}
	if site.Host != "acme.test" || site.Home() == nil || site.Home().Title != "Acme" {
		t.Errorf("host %q home %+v", site.Host, site.Home())
	}
	if st := s.Stats(); st != (Stats{Sites: 1, Pages: 5}) {
		t.Errorf("stats = %+v", st)
	}
}

func TestRankLinks(t *testing.T) {
	home := mustURL(t, "https://www.acme.fr/")
	mk := func(href, text string) link { return link{url: mustURL(t, href), text: text} }
	links := []link{
		mk("https://www.acme.fr/tarifs", "Tarifs"),
		mk("https://acme.fr/qui-sommes-nous", "L'équipe"),
		mk("https://blog.acme.fr/success-stories", "Blog"),
		mk("https://www.acme.fr/page?id=3", "Ils nous font confiance"),
		mk("https://www.acme.fr/references/", "Références"),
		mk("http://www.acme.fr/references", "Références (http)"),
		mk("https://www.acme.com/clients", "Clients"),
		mk("https://acme.fr.evil.test/clients", "Clients"),
		mk("https://www.acme.fr/fr/t%C3%A9moignages", "Voir"),
		mk("https://www.acme.fr/connexion-clients", "Espace clients"),
		mk("https://www.acme.fr/", "Clients"),
		mk("ftp://www.acme.fr/clients", "Clients"),
		mk("https://www.acme.fr/docs/guide-clients.pdf", "Guide"),
		mk("https://www.acme.fr/about", "About us"),
	}
	seen := map[string]bool{pageKey(home): true}
	var got []string
	for _, c := range rankLinks(links, home, seen) {
		got = append(got, c.kind+" "+c.url.String())
	}
	want := []string{
		"case_studies https://blog.acme.fr/success-stories",
		"customers https://www.acme.fr/page?id=3",
		"testimonials https://www.acme.fr/fr/t%C3%A9moignages",
		"about https://acme.fr/qui-sommes-nous",
		"pricing https://www.acme.fr/tarifs",
		"customers https://www.acme.fr/references/",
		"about https://www.acme.fr/about",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ranked =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScrapeCacheAndCoalescing(t *testing.T) {
	release := make(chan struct{})
	requested := make(chan struct{}, 1)
	ts := newTestSiteHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		select {
		case requested <- struct{}{}:
		default:
		}
		<-release
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<title>Acme</title><p>Bonjour</p>")
	}))
	s := New(ts.options(Options{}))
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]*Site, 2)
	errs := make([]error, 2)
	for i, w := range []string{"http://acme.test/", "http://WWW.Acme.test"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Scrape(ctx, w)
		}()
		if i == 0 {
			<-requested // the first call is fetching the home page
		}
	}
	time.Sleep(20 * time.Millisecond) // let the second call join the flight
	close(release)
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
	}
	if results[0] != results[1] {
		t.Error("concurrent calls for one domain returned different sites")
	}
	if _, err := s.Scrape(ctx, "acme.test"); err != nil {
		t.Fatal(err)
	}
	if n := ts.hit("/"); n != 1 {
		t.Errorf("home fetched %d times, want 1", n)
	}
	if st := s.Stats(); st.Sites != 1 || st.CacheHits != 2 || st.Pages != 1 {
		t.Errorf("stats = %+v, want 1 site, 2 cache hits, 1 page", st)
	}
}

func TestScrapeCanceledCallIsNotCached(t *testing.T) {
	ts := newTestSite(t, map[string]resp{"/": page("Acme", "<p>ok</p>")})
	s := New(ts.options(Options{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Scrape(ctx, "http://acme.test/"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := s.Scrape(context.Background(), "http://acme.test/"); err != nil {
		t.Fatalf("after a canceled call: %v", err)
	}
}

func TestScrapeRobots(t *testing.T) {
	home := page("Acme", `<a href="/clients">Clients</a> <a href="/temoignages">Témoignages</a>`)
	tests := []struct {
		name      string
		robots    resp
		home      resp
		wantErr   error
		wantPages []string
		wantNote  string
	}{
		{
			name:      "disallowed page skipped",
			robots:    resp{ctype: "text/plain", body: "User-agent: *\nDisallow: /clients\n"},
			wantPages: []string{"home /", "testimonials /temoignages"},
			wantNote:  "http://acme.test/clients: skipped, disallowed by robots.txt",
		},
		{
			name:    "home disallowed for our agent",
			robots:  resp{ctype: "text/plain", body: "User-agent: KaleadsBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"},
			wantErr: ErrRobotsDisallowed,
		},
		{
			name:    "redirect into a disallowed path",
			robots:  resp{ctype: "text/plain", body: "User-agent: *\nDisallow: /accueil\n"},
			home:    resp{status: http.StatusFound, header: map[string]string{"Location": "/accueil"}},
			wantErr: ErrRobotsDisallowed,
		},
		{
			name:      "robots.txt 404 allows all",
			robots:    resp{status: http.StatusNotFound},
			wantPages: []string{"home /", "customers /clients", "testimonials /temoignages"},
		},
		{
			name:      "robots.txt 503 allows all",
			robots:    resp{status: http.StatusServiceUnavailable},
			wantPages: []string{"home /", "customers /clients", "testimonials /temoignages"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := home
			if tt.home.status != 0 {
				h = tt.home
			}
			ts := newTestSite(t, map[string]resp{
				"/robots.txt":  tt.robots,
				"/":            h,
				"/accueil":     home,
				"/clients":     page("Clients", "<p>c</p>"),
				"/temoignages": page("Témoignages", "<p>t</p>"),
			})
			site, err := New(ts.options(Options{})).Scrape(context.Background(), "http://acme.test/")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "robots.txt") {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if ts.hit("/")+ts.hit("/accueil") > 1 || ts.hit("/accueil") > 0 {
					t.Errorf("disallowed page was fetched (hits / %d, /accueil %d)", ts.hit("/"), ts.hit("/accueil"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kindsAndPaths(site); !reflect.DeepEqual(got, tt.wantPages) {
				t.Errorf("pages = %q, want %q", got, tt.wantPages)
			}
			if tt.wantNote != "" && !reflect.DeepEqual(site.Errors, []string{tt.wantNote}) {
				t.Errorf("errors = %q, want [%q]", site.Errors, tt.wantNote)
			}
			if ts.hit("/robots.txt") != 1 {
				t.Errorf("robots.txt fetched %d times, want 1", ts.hit("/robots.txt"))
			}
			if tt.wantNote != "" && ts.hit("/clients") != 0 {
				t.Error("disallowed /clients was fetched")
			}
		})
	}
}

func TestScrapeCharset(t *testing.T) {
	latin1 := "<html><head><title>R\xe9f\xe9rences</title></head><body><p>D\xe9j\xe0 l'\xe9t\xe9</p></body></html>"
	tests := []struct {
		name string
		r    resp
	}{
		{"Content-Type charset", resp{ctype: "text/html; charset=ISO-8859-1", body: latin1}},
		{"meta charset", resp{ctype: "text/html", body: strings.Replace(latin1, "<head>", `<head><meta charset="windows-1252">`, 1)}},
		{"meta http-equiv", resp{ctype: "text/html", body: strings.Replace(latin1, "<head>", `<head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">`, 1)}},
		{"utf-8 header", resp{ctype: "text/html; charset=utf-8", body: "<title>Références</title><p>Déjà l'été</p>"}},
		{"undeclared utf-8 after 1 KiB of ASCII", resp{ctype: "text/html", body: "<!--" + strings.Repeat("x", 1500) + "--><title>Références</title><p>Déjà l'été</p>"}},
		{"no Content-Type, sniffed", resp{ctype: "none", body: "<!DOCTYPE html><title>Références</title><p>Déjà l'été</p>"}},
		{"xhtml", resp{ctype: "application/xhtml+xml; charset=utf-8", body: "<title>Références</title><p>Déjà l'été</p>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSite(t, map[string]resp{"/": tt.r})
			site, err := New(ts.options(Options{})).Scrape(context.Background(), "http://acme.test/")
			if err != nil {
				t.Fatal(err)
			}
			home := site.Home()
			if home.Title != "Références" || home.Text != "Déjà l'été" {
				t.Errorf("title %q text %q, want Références / Déjà l'été", home.Title, home.Text)
			}
		})
	}
}

func TestScrapeSizeCap(t *testing.T) {
	body := "<html><body><p>début</p>" + strings.Repeat("<p>remplissage</p>", 500) + "<p>FIN</p></body></html>"
	ts := newTestSite(t, map[string]resp{"/": {body: body}})
	site, err := New(ts.options(Options{MaxBytes: 2048})).Scrape(context.Background(), "http://acme.test/")
	if err != nil {
		t.Fatal(err)
	}
	text := site.Home().Text
	if !strings.HasPrefix(text, "début") || strings.Contains(text, "FIN") || len(text) > 2048 {
		t.Errorf("text not capped at 2048 bytes of HTML: %d bytes, ends %q", len(text), text[len(text)-20:])
	}
	if want := []string{"http://acme.test/: body truncated at 2048 bytes"}; !reflect.DeepEqual(site.Errors, want) {
		t.Errorf("errors = %q, want %q", site.Errors, want)
	}
}

func TestScrapeFailures(t *testing.T) {
	tests := []struct {
		name    string
		pages   map[string]resp
		opts    Options
		website string
		wantErr string
	}{
		{"home 404", map[string]resp{}, Options{}, "http://acme.test/", "HTTP status 404"},
		{"home not HTML", map[string]resp{"/": {ctype: "application/pdf", body: "%PDF-1.4"}}, Options{}, "http://acme.test/", `content type "application/pdf" is not HTML`},
		{"redirect cap", map[string]resp{
			"/":  {status: http.StatusFound, header: map[string]string{"Location": "/a"}},
			"/a": {status: http.StatusFound, header: map[string]string{"Location": "/b"}},
			"/b": {status: http.StatusFound, header: map[string]string{"Location": "/c"}},
			"/c": page("C", "c"),
		}, Options{MaxRedirects: 2}, "http://acme.test/", "stopped after 2 redirects"},
		{"explicit https is not downgraded", map[string]resp{"/": page("A", "a")}, Options{}, "https://acme.test/", "https://acme.test"},
		{"unknown host", nil, Options{}, "http://nowhere.test/", "host nowhere.test not served"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSite(t, tt.pages)
			site, err := New(ts.options(tt.opts)).Scrape(context.Background(), tt.website)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Scrape = %v, %v; want error containing %q", site, err, tt.wantErr)
			}
		})
	}
}

func TestScrapeTimeout(t *testing.T) {
	ts := newTestSiteHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			<-r.Context().Done() // never answers
		}
		http.NotFound(w, r)
	}))
	start := time.Now()
	_, err := New(ts.options(Options{Timeout: 100 * time.Millisecond})).Scrape(context.Background(), "http://acme.test/")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed out after %v, want about 100ms", d)
	}
}

func TestScrapeSecondaryFailuresAreNotes(t *testing.T) {
	ts := newTestSite(t, map[string]resp{
		"/":        page("Acme", `<a href="/clients">Clients</a><a href="/tarifs">Tarifs</a>`),
		"/clients": {status: http.StatusInternalServerError, body: "boom"},
		"/tarifs":  {ctype: "application/pdf", body: "%PDF"},
	})
	s := New(ts.options(Options{}))
	site, err := s.Scrape(context.Background(), "http://acme.test/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://acme.test/clients: HTTP status 500", `http://acme.test/tarifs: content type "application/pdf" is not HTML`}
	if !reflect.DeepEqual(site.Errors, want) || len(site.Pages) != 1 {
		t.Errorf("pages %d errors %q, want 1 page and %q", len(site.Pages), site.Errors, want)
	}
	if st := s.Stats(); st.Errors != 2 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestScrapeFallsBackToHTTP(t *testing.T) {
	ts := newTestSite(t, map[string]resp{"/": page("Acme", "<p>ok</p>")})
	site, err := New(ts.options(Options{})).Scrape(context.Background(), "acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if got := site.Home().URL; got != "http://acme.test/" {
		t.Errorf("home URL = %q, want http://acme.test/ after https failed", got)
	}
}

func TestScrapePacing(t *testing.T) {
	const gap = 60 * time.Millisecond
	ts := newTestSite(t, map[string]resp{
		"/":         page("Acme", `<a href="/clients">Clients</a><a href="/a-propos">À propos</a>`),
		"/clients":  page("C", "c"),
		"/a-propos": page("A", "a"),
	})
	if _, err := New(ts.options(Options{PerHostDelay: gap})).Scrape(context.Background(), "http://acme.test/"); err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.times) != 4 { // robots.txt, home, 2 pages
		t.Fatalf("%d requests, want 4", len(ts.times))
	}
	for i := 1; i < len(ts.times); i++ {
		if d := ts.times[i].Sub(ts.times[i-1]); d < gap-10*time.Millisecond {
			t.Errorf("request %d came %v after the previous one, want >= %v", i, d, gap)
		}
	}
}

func TestPacer(t *testing.T) {
	p := &pacer{gap: time.Hour, next: map[string]time.Time{}}
	ctx := context.Background()
	if _, err := p.wait(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.wait(ctx, "b.test"); err != nil {
		t.Fatal("another host must not wait:", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.wait(short, "a.test"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("second wait for a.test = %v after %v, want prompt deadline exceeded", err, time.Since(start))
	}

	undo, err := p.wait(ctx, "c.test")
	if err != nil {
		t.Fatal(err)
	}
	undo() // the request never reached the server
	done := make(chan error, 1)
	go func() { _, err := p.wait(ctx, "c.test"); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("a failed attempt still delays the next request")
	}
}

func TestParseWebsite(t *testing.T) {
	tests := []struct {
		in, url, key string
		explicit     bool
		err          error
	}{
		{"acme.fr", "https://acme.fr/", "acme.fr", false, nil},
		{"  https://www.Acme.FR/ ", "https://www.acme.fr/", "acme.fr", true, nil},
		{"HTTP://acme.fr/fr/accueil#top", "http://acme.fr/fr/accueil", "acme.fr", true, nil},
		{"//acme.fr", "https://acme.fr/", "acme.fr", false, nil},
		{"acme.fr:8080", "https://acme.fr:8080/", "acme.fr:8080", false, nil},
		{"https://acme.fr:443/", "https://acme.fr:443/", "acme.fr", true, nil},
		{"localhost:8080/x", "https://localhost:8080/x", "localhost:8080", false, nil},
		{"", "", "", false, ErrInvalidURL},
		{"http://", "", "", false, ErrInvalidURL},
		{"https://acme fr", "", "", false, ErrInvalidURL},
	}
	for _, tt := range tests {
		u, key, explicit, err := parseWebsite(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("parseWebsite(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || u.String() != tt.url || key != tt.key || explicit != tt.explicit {
			t.Errorf("parseWebsite(%q) = %v, %q, %v, %v; want %s, %q, %v", tt.in, u, key, explicit, err, tt.url, tt.key, tt.explicit)
		}
	}
}
