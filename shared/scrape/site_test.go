package scrape

import (
	"strings"
	"sync"
	"testing"
)

func findSite() *Site {
	return &Site{Host: "acme.example", Pages: []Page{
		{
			URL: "https://acme.example/", Kind: "home",
			Title:       "Acme — la paie des PME, sans ressaisie",
			Description: "Acme calcule vos bulletins de paie en 10 minutes par mois.",
			Headings:    []string{"Pour les équipes RH", "Ils nous font confiance"},
			Text:        "Acme se connecte à votre logiciel comptable.\nEssai de 30 jours.",
		},
		{
			URL: "https://acme.example/clients", Kind: "customers",
			Text: "Nos clients",
			Quotes: []Testimonial{
				{Quote: "Nous avons divisé par deux le temps de clôture.", Author: "Claire Martin", Title: "Directrice administrative et financière"},
				{Quote: "Un support qui répond.", Author: "Marc Dupuis"}, // no job title
			},
		},
	}}
}

func TestFindSearchesEveryField(t *testing.T) {
	site := findSite()
	tests := []struct {
		name, quote, url string
		ok               bool
	}{
		{"title", "la paie des PME, sans ressaisie", "https://acme.example/", true},
		{"meta description", "calcule vos bulletins de paie", "https://acme.example/", true},
		{"heading", "pour les équipes RH", "https://acme.example/", true},
		{"second heading", "ILS NOUS FONT CONFIANCE", "https://acme.example/", true},
		{"body text", "se connecte à votre logiciel comptable", "https://acme.example/", true},
		{"testimonial quote", "divisé par deux le temps de clôture", "https://acme.example/clients", true},
		{"testimonial author", "Claire Martin", "https://acme.example/clients", true},
		{"testimonial job title", "directrice administrative et financière", "https://acme.example/clients", true},
		{"author and title as prompts show them", "Claire Martin, Directrice administrative", "https://acme.example/clients", true},
		{"testimonial without a job title", "Marc Dupuis", "https://acme.example/clients", true},
		{"typographic apostrophe and spaces", "Acme  calcule\u00a0vos bulletins", "https://acme.example/", true},
		{"not on the site", "leader européen de la paie", "", false},
		{"across two fields is not verbatim", "sans ressaisie Acme calcule", "", false},
		{"across two text lines is one field", "comptable. essai de 30 jours", "https://acme.example/", true},
		{"empty quote", "  ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, ok := site.Find(tt.quote)
			if url != tt.url || ok != tt.ok {
				t.Errorf("Find(%q) = %q, %v; want %q, %v", tt.quote, url, ok, tt.url, tt.ok)
			}
		})
	}
	var nilSite *Site
	if _, ok := nilSite.Find("x"); ok {
		t.Error("nil site found a quote")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  L\u2019équipe\t\u00abRH\u00bb \n ":    `l'équipe "rh"`,
		"":                                       "",
		"\u202f":                                 "",
		"ABC  def":                               "abc def",
		"\u201cQuote\u201d \u2018x\u2019 \u02bc": `"quote" 'x' '`,
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// Find is called concurrently by every agent of every contact on a shared
// Site: it must not write to it (run with -race).
func TestFindConcurrent(t *testing.T) {
	site := findSite()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, ok := site.Find("Claire Martin"); !ok {
					t.Error("not found")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkFind(b *testing.B) {
	site := findSite()
	for i := range site.Pages {
		site.Pages[i].Text = strings.Repeat("Une ligne de texte de page assez ordinaire.\n", 450) // ~20,000 characters
	}
	b.ReportAllocs()
	for b.Loop() {
		site.Find("une citation qui n'est pas sur le site")
	}
}
