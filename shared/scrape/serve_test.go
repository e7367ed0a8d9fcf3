package scrape

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func serveTestdata(t *testing.T) *SiteServer {
	t.Helper()
	srv, err := ServeDir("testdata/sites")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestServeDirScrape(t *testing.T) {
	srv := serveTestdata(t)
	s := New(srv.Options(Options{PerHostDelay: -1, MaxPages: 6}))
	site, err := s.Scrape(context.Background(), "acme.fr")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range site.Pages {
		got = append(got, p.Kind+" "+p.URL)
	}
	want := []string{
		"home https://acme.fr/",
		"customers https://acme.fr/clients",
		"testimonials https://acme.fr/temoignages/",
		"about https://acme.fr/a-propos",
		"pricing https://acme.fr/tarifs",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// robots.txt of the site disallows /prive/, the next candidate.
	if want := []string{"https://acme.fr/prive/references-internes: skipped, disallowed by robots.txt"}; !reflect.DeepEqual(site.Errors, want) {
		t.Errorf("errors = %q, want %q", site.Errors, want)
	}
	home := site.Home()
	if home.Description != "Acme aide les PME industrielles à planifier leur production." || strings.Contains(home.Text, "Accueil") || strings.Contains(home.Text, "ne pas afficher") {
		t.Errorf("home = %+v", home)
	}
	wantQuotes := []Testimonial{
		{"Grâce à Acme, nous avons réduit nos délais de livraison de 30 %.", "Claire Martin", "Directrice commerciale"},
		{"Le planning se met à jour tout seul quand une machine tombe en panne.", "Paul Girard", "Responsable de production"},
	}
	var quotes []Testimonial
	for _, p := range site.Pages {
		quotes = append(quotes, p.Quotes...)
	}
	if !reflect.DeepEqual(quotes, wantQuotes) {
		t.Errorf("quotes = %#v", quotes)
	}
	if url, ok := site.Find("nous avons réduit nos délais de livraison de 30 %"); !ok || url != "https://acme.fr/clients" {
		t.Errorf("Find = %q, %v", url, ok)
	}
}

// The --sites server answers HTTPS with a certificate the scraper trusts,
// and plain HTTP on the same port.
func TestServeDirSchemes(t *testing.T) {
	srv := serveTestdata(t)
	for _, website := range []string{"https://www.acme.fr/", "http://acme.fr"} {
		s := New(srv.Options(Options{MaxPages: 1})) // a new scraper: sites are cached per domain
		site, err := s.Scrape(context.Background(), website)
		if err != nil || len(site.Pages) != 1 || !strings.HasPrefix(site.Pages[0].URL, website[:strings.Index(website, ":")]+"://") {
			t.Errorf("%s: %v %+v", website, err, site)
		}
	}
}

func TestServeDirHosts(t *testing.T) {
	srv := serveTestdata(t)
	s := New(srv.Options(Options{PerHostDelay: -1, MaxPages: 1}))
	ctx := context.Background()

	site, err := s.Scrape(ctx, "http://www.acme.fr/")
	if err != nil || site.Home().Title != "Acme — Planification de production pour PME" {
		t.Fatalf("www.acme.fr: %v, %+v", err, site)
	}

	site, err = s.Scrape(ctx, "latin.fr") // ISO-8859-1 file declared by <meta http-equiv>
	if err != nil {
		t.Fatal(err)
	}
	if h := site.Home(); h.Title != "Latin — Références clients" || h.Text != "Références\nDéjà 50 clients en été." {
		t.Errorf("latin.fr home = %q / %q", h.Title, h.Text)
	}

	// Nothing else is reachable: names and public IPs are not in the sites
	// dir, private IPs stay refused.
	for _, tt := range []struct{ website, err string }{
		{"unknown.example", "host unknown.example not in sites dir"},
		{"http://93.184.216.34/", "host 93.184.216.34 not in sites dir"},
		{"http://127.0.0.1/", "refused target"},
	} {
		if _, err := s.Scrape(ctx, tt.website); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Scrape(%q) = %v, want %q", tt.website, err, tt.err)
		}
	}
}

func TestServeDirHTTP(t *testing.T) {
	srv := serveTestdata(t)
	tests := []struct {
		host, path string
		status     int
		contains   string
	}{
		{"acme.fr", "/", 200, "<h1>Planifiez"},
		{"acme.fr:80", "/clients", 200, "<h1>Nos clients"},
		{"WWW.ACME.FR", "/temoignages", 200, "Ils parlent de nous"},
		{"acme.fr", "/temoignages/", 200, "Ils parlent de nous"},
		{"acme.fr", "/robots.txt", 200, "Disallow: /prive/"},
		{"acme.fr", "/../latin.fr/index.html", 404, ""},
		{"acme.fr", "/absent", 404, ""},
		{"other.fr", "/", 404, "not in sites dir"},
		{"..", "/acme.fr/index.html", 404, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s%s = %d %.60q, want %d containing %q", tt.host, tt.path, resp.StatusCode, body, tt.status, tt.contains)
		}
		if tt.status == 200 && strings.HasSuffix(tt.path, "s") && resp.Header.Get("Content-Type") != "text/html" {
			t.Errorf("GET %s%s Content-Type = %q, want text/html without charset", tt.host, tt.path, resp.Header.Get("Content-Type"))
		}
	}
}
