package scrape

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestParsePageGolden checks the cleaned output of whole pages against
// testdata/pages/*.golden.json (go test -run Golden -update rewrites them).
func TestParsePageGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/pages/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := parsePage(mustURL(t, "https://durand.test/references"), decode(src, "text/html"))
			got, err := json.MarshalIndent(page, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".html") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("page differs from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestParsePageCleaning(t *testing.T) {
	src, err := os.ReadFile("testdata/pages/references.html")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := parsePage(mustURL(t, "https://durand.test/references"), decode(src, ""))
	for _, gone := range []string{"Organization", "color: red", "Logo Durand", "Offre", "Activez JavaScript", "Texte caché", "Envoyer", "invisible", "12 rue du Port"} {
		if strings.Contains(page.Text, gone) {
			t.Errorf("text keeps %q (script/style/svg/nav/noscript/hidden/form/footer must go)", gone)
		}
	}
	for _, kept := range []string{
		"Ils nous font confiance",                  // <header> inside <section> is content
		"enseignes.\nNos équipes",                  // paragraphs do not glue together
		"gère l'entreposage de 120 enseignes",      // inline elements do not split words
		"Maisons du Monde",                         // &nbsp; is a space
		"Thomas Roux, Directeur supply chain chez", // figure caption kept
	} {
		if !strings.Contains(page.Text, kept) {
			t.Errorf("text lacks %q:\n%s", kept, page.Text)
		}
	}
	if page.Title != "Références clients | Durand Logistique" {
		t.Errorf("title = %q", page.Title)
	}
	if page.Description != "Ils nous confient leurs flux : retail, industrie, e-commerce." {
		t.Errorf("description (og:description fallback) = %q", page.Description)
	}
	wantHeadings := []string{"Ils nous font confiance", "Retail", "Étude de cas : Boulanger"}
	if !reflect.DeepEqual(page.Headings, wantHeadings) {
		t.Errorf("headings = %q, want %q", page.Headings, wantHeadings)
	}
}

func TestParsePageMeta(t *testing.T) {
	src := `<html><head><META NAME="Description" CONTENT=" Logiciel  RH "><meta property="og:description" content="og"></head><body></body></html>`
	page, _ := parsePage(mustURL(t, "https://x.test/"), src)
	if page.Description != "Logiciel RH" {
		t.Errorf("description = %q, want meta name=description first", page.Description)
	}
}

func TestTextCap(t *testing.T) {
	src := "<p>" + strings.Repeat("é", maxText+500) + "</p>"
	page, _ := parsePage(mustURL(t, "https://x.test/"), src)
	if n := utf8.RuneCountInString(page.Text); n != maxText {
		t.Errorf("text has %d characters, want cap %d", n, maxText)
	}
	if !utf8.ValidString(page.Text) {
		t.Error("capped text is not valid UTF-8")
	}
}

func TestLinksResolveAgainstBase(t *testing.T) {
	src := `<html><head><base href="/fr/"></head><body>
	<a href="clients">Clients</a><a href="#top">top</a><a href=" /a-propos#equipe "> À propos </a>
	<a href="/logo"><img alt="Accueil"></a></body></html>`
	_, links := parsePage(mustURL(t, "https://acme.test/index.html"), src)
	var got []string
	for _, l := range links {
		got = append(got, l.url.String()+" "+l.text)
	}
	want := []string{"https://acme.test/fr/clients Clients", "https://acme.test/a-propos À propos", "https://acme.test/logo Accueil"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("links = %q, want %q", got, want)
	}
}

func TestQuotes(t *testing.T) {
	tests := []struct {
		file string
		want []Testimonial
	}{
		{"blockquote-cite.html", []Testimonial{{"Grâce à Acme, nous avons réduit nos délais de 30 %.", "Claire Martin", "Directrice commerciale"}}},
		{"figure-figcaption.html", []Testimonial{{"Un outil simple que toute l'équipe utilise.", "Paul Girard", "Head of Sales"}}},
		{"blockquote-footer.html", []Testimonial{{"Le support répond en moins d’une heure, même le samedi.", "Sophie Leroy", "VP Sales"}}},
		{"blockquote-sibling-cite.html", []Testimonial{{"Nous avons enfin une vision claire du carnet de commandes.", "Hugo Lambert", "DAF"}}},
		{"blockquote-inline.html", []Testimonial{{"Indispensable au quotidien pour nos quatre boutiques.", "Anne Morel", "Gérante"}}},
		{"blockquote-parenthesis.html", []Testimonial{{"Excellent accompagnement pendant tout le déploiement.", "Luc Martin", "Directeur général"}}},
		{"elementor.html", []Testimonial{{"Acme nous a fait gagner une demi-journée par semaine.", "Julie Bernard", "Head of Operations"}}},
		{"temoignage-cards.html", []Testimonial{
			{"Nous avons gagné deux jours par mois sur la clôture.", "Marc Dubois", "Responsable logistique"},
			{"La mise en place a pris une semaine, sans consultant.", "Kim Nguyen", "CTO"},
		}},
		{"quote-author-block.html", []Testimonial{{"Le meilleur investissement de l'année pour notre atelier.", "Nadia Haddad", "Directrice d'usine"}}},
		{"bootstrap-card.html", []Testimonial{{"On a divisé par deux le temps de saisie des commandes.", "Léa de La Fontaine", "Responsable ADV"}}},
		{"no-testimonials.html", nil},
		{"company-only.html", []Testimonial{
			{"Une équipe à l'écoute et très réactive.", "Claire Martin", ""},
			{"Très bon rapport qualité prix, je recommande.", "", "Directrice des achats"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata/quotes", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			page, _ := parsePage(mustURL(t, "https://acme.test/"), string(src))
			if !reflect.DeepEqual(page.Quotes, tt.want) {
				t.Errorf("quotes =\n%#v\nwant\n%#v", page.Quotes, tt.want)
			}
			site := &Site{Pages: []Page{*page}}
			for _, q := range page.Quotes {
				if _, ok := site.Find(q.Quote); !ok {
					t.Errorf("quote %q is not found in the page text (grounding would fail):\n%s", q.Quote, page.Text)
				}
			}
		})
	}
}

func TestSplitAttribution(t *testing.T) {
	tests := []struct{ in, author, title string }{
		{"Claire Martin, Directrice commerciale chez Acme", "Claire Martin", "Directrice commerciale"},
		{"Claire Martin — Head of Sales, Acme", "Claire Martin", "Head of Sales"},
		{"Claire Martin · VP Sales", "Claire Martin", "VP Sales"},
		{"— Claire Martin", "Claire Martin", ""},
		{"Claire Martin\nDirectrice marketing\nAcme SAS", "Claire Martin", "Directrice marketing"},
		{"Claire Martin, Acme SAS", "Claire Martin", ""},
		{"Claire Martin, Acme, Directrice RH", "Claire Martin", "Directrice RH"},
		{"Claire Martin - CTO @Acme", "Claire Martin", "CTO"},
		{"Claire Martin (CEO, acme.fr)", "Claire Martin", "CEO"},
		{"Jean-Pierre Dupont | Gérant", "Jean-Pierre Dupont", "Gérant"},
		{"Head of Sales at Acme", "", "Head of Sales"},
		{"Claire Martin, Acheteuse", "Claire Martin", "Acheteuse"},
		{"Claire Martin, Office Lady", "Claire Martin", "Office Lady"}, // unknown title kept
		{"Un outil génial\nMarc Petit\nGérant", "Marc Petit", "Gérant"},
		{"", "", ""},
		{" , — ", "", ""},
	}
	for _, tt := range tests {
		author, title := splitAttribution(tt.in)
		if author != tt.author || title != tt.title {
			t.Errorf("splitAttribution(%q) = %q, %q; want %q, %q", tt.in, author, title, tt.author, tt.title)
		}
	}
}

func TestTextBlocks(t *testing.T) {
	tests := []struct{ html, want string }{
		{"<p>Une phrase.</p><p>Une autre.</p>", "Une phrase.\nUne autre."},
		{"<div>Acme<span>Corp</span> <b>SAS</b></div>", "AcmeCorp SAS"},
		{"<ul><li>un</li><li>deux</li></ul>", "un\ndeux"},
		{"<h2>Titre</h2>texte<br>suite", "Titre\ntexte\nsuite"},
		{"<p>  espaces \t\n multiples  </p>", "espaces multiples"},
	}
	for _, tt := range tests {
		page, _ := parsePage(mustURL(t, "https://x.test/"), tt.html)
		if page.Text != tt.want {
			t.Errorf("text of %q = %q, want %q", tt.html, page.Text, tt.want)
		}
	}
}

// FuzzParsePage checks that no input makes page parsing panic or produce
// invalid UTF-8. Seeds run with go test; go test -fuzz=FuzzParsePage explores.
func FuzzParsePage(f *testing.F) {
	files, _ := filepath.Glob("testdata/quotes/*.html")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<blockquote>“x” — <cite>"))
	f.Add([]byte("\xff\xfe<\x00p\x00>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		page, _ := parsePage(mustURL(t, "https://x.test/"), decode(b, ""))
		if !utf8.ValidString(page.Text) {
			t.Errorf("invalid UTF-8 text %q", page.Text)
		}
		for _, q := range page.Quotes {
			splitAttribution(q.Author + "\n" + q.Title)
		}
	})
}
