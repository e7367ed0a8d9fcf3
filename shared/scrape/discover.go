package scrape

import (
	"net/url"
	"path"
	"sort"
	"strings"
	"unicode"

	"github.com/kaleads/kaleads/shared/lexicon"
	"golang.org/x/net/publicsuffix"
)

// link is an <a href> found on a page, resolved to an absolute URL.
type link struct {
	url  *url.URL
	text string
}

// candidate is a link worth fetching, with the kind of page it seems to be.
type candidate struct {
	url  *url.URL
	kind string
	rank int // lower first
	pos  int // position among the page's links
}

// pageKinds lists, in matching order, the phrases (accent-folded, lower-case,
// whole words) that classify a link by its path or anchor text.
var pageKinds = []struct {
	kind    string
	rank    int
	phrases []string
}{
	{"testimonials", 0, []string{"temoignages", "temoignage", "testimonials", "testimonial", "avis clients", "customer reviews", "ils temoignent"}},
	{"case_studies", 0, []string{"etudes de cas", "etude de cas", "case studies", "case study", "cas clients", "cas client", "success stories", "success story", "customer stories", "customer story", "histoires clients", "cas d usage", "use cases"}},
	{"customers", 0, []string{"clients", "customers", "references", "ils nous font confiance", "they trust us", "nos clients", "our customers"}},
	{"about", 1, []string{"a propos", "about", "about us", "qui sommes nous", "notre histoire", "our story", "notre entreprise", "l entreprise", "notre equipe", "company"}},
	{"pricing", 2, []string{"tarifs", "tarif", "tarification", "pricing", "prix", "plans", "nos offres", "abonnements"}},
}

// excluded phrases mark links to log-in areas and the like, never content.
var excluded = []string{"espace client", "espace clients", "extranet", "login", "log in", "sign in", "signin", "connexion", "se connecter", "mon compte", "my account", "account", "portal", "portail", "panier", "cart", "checkout"}

// skipExt lists file extensions that are not HTML pages.
var skipExt = map[string]bool{
	".pdf": true, ".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".svg": true, ".webp": true,
	".zip": true, ".doc": true, ".docx": true, ".xls": true, ".xlsx": true, ".ppt": true, ".pptx": true,
	".mp4": true, ".mp3": true, ".avi": true, ".mov": true, ".css": true, ".js": true, ".json": true,
	".xml": true, ".rss": true, ".ico": true, ".csv": true, ".txt": true,
}

// classify returns the kind of page a link points to, or "" when it does not
// look useful. The path decides first, then short anchor text.
func classify(l link) (kind string, rank int) {
	p, err := url.PathUnescape(l.url.EscapedPath())
	if err != nil {
		p = l.url.Path
	}
	texts := []string{fold(p)}
	if t := fold(l.text); len(t) <= 60 {
		texts = append(texts, t)
	}
	for _, t := range texts {
		if hasPhrase(t, excluded) {
			return "", 0
		}
	}
	for _, t := range texts {
		for _, k := range pageKinds {
			if hasPhrase(t, k.phrases) {
				return k.kind, k.rank
			}
		}
	}
	return "", 0
}

// rankLinks keeps same-site links that look like useful pages and orders them:
// one page of each kind before a second of any kind; within a round,
// customers/testimonials/case studies, then about, then pricing; ties keep
// page order. Links whose page key is in skip are left out.
func rankLinks(links []link, home *url.URL, skip map[string]bool) []candidate {
	var cands []candidate
	seen := map[string]bool{}
	for i, l := range links {
		if l.url.Scheme != "http" && l.url.Scheme != "https" || l.url.User != nil || !sameSite(l.url, home) {
			continue
		}
		if skipExt[strings.ToLower(path.Ext(l.url.Path))] {
			continue
		}
		kind, rank := classify(l)
		if kind == "" || skip[pageKey(l.url)] || seen[pageKey(l.url)] {
			continue
		}
		seen[pageKey(l.url)] = true
		cands = append(cands, candidate{url: l.url, kind: kind, rank: rank, pos: i})
	}
	nth := map[*url.URL]int{}
	count := map[string]int{}
	for _, c := range cands {
		nth[c.url] = count[c.kind]
		count[c.kind]++
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if nth[a.url] != nth[b.url] {
			return nth[a.url] < nth[b.url]
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.pos < b.pos
	})
	return cands
}

// sameSite reports whether a and b belong to the same registrable domain
// (acme.fr, www.acme.fr, blog.acme.fr); hosts without one (IPs, localhost)
// must match exactly, port included.
func sameSite(a, b *url.URL) bool {
	ha, hb := strings.ToLower(a.Hostname()), strings.ToLower(b.Hostname())
	da, erra := publicsuffix.EffectiveTLDPlusOne(ha)
	db, errb := publicsuffix.EffectiveTLDPlusOne(hb)
	if erra != nil || errb != nil {
		return strings.EqualFold(a.Host, b.Host)
	}
	return da == db
}

// pageKey identifies a page regardless of scheme, "www.", trailing slash and
// fragment.
func pageKey(u *url.URL) string {
	if u == nil {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Host), "www.")
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return host + p
}

// fold lower-cases s, removes accents (lexicon.Fold) and turns every run
// of non-letters and non-digits into one space: "/fr/Études-de-cas/" ->
// "fr etudes de cas".
func fold(s string) string {
	return strings.Join(strings.FieldsFunc(lexicon.Fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

// hasPhrase reports whether folded text t contains one of phrases as whole words.
func hasPhrase(t string, phrases []string) bool {
	t = " " + t + " "
	for _, p := range phrases {
		if strings.Contains(t, " "+p+" ") {
			return true
		}
	}
	return false
}
