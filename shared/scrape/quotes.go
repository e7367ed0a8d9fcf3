package scrape

import (
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// maxQuote caps Testimonial.Quote, in characters.
const maxQuote = 2000

// extractQuotes finds testimonials in a cleaned document, in document order:
//   - <figure> holding a <blockquote>, attributed by its <figcaption>;
//   - <blockquote> attributed by an inner <cite>/<footer>, a following
//     <cite>/<figcaption>, or a trailing "— Name, Title" after a closing quote;
//   - the innermost elements whose class contains "testimonial", "temoignage"
//     or "quote" and that hold both a quote and an attribution, recognised by
//     child classes (…-content/-text, …-name/-author, …-job/-role/-title…) or
//     by structure (longest paragraph = quote, the rest = attribution).
//
// A quote without any author or title is not a testimonial and is left out.
func extractQuotes(doc *goquery.Document) []Testimonial {
	found := map[*html.Node]Testimonial{}
	taken := func(n *html.Node) bool {
		for f := range found {
			if contains(f, n) || contains(n, f) {
				return true
			}
		}
		return false
	}
	add := func(n *html.Node) func(Testimonial, bool) {
		return func(t Testimonial, ok bool) {
			if ok && len(found) < maxQuotes {
				found[n] = t
			}
		}
	}

	doc.Find("figure").Each(func(_ int, fig *goquery.Selection) {
		bq := fig.Find("blockquote").First()
		if bq.Length() == 0 || taken(fig.Nodes[0]) {
			return
		}
		attr := fig.Find("figcaption").First()
		if attr.Length() == 0 {
			attr = bq.Find("cite,footer").First()
		}
		add(fig.Nodes[0])(fromParts(bq.Nodes[0], nodeOf(attr)))
	})

	doc.Find("blockquote").Each(func(_ int, bq *goquery.Selection) {
		if taken(bq.Nodes[0]) {
			return
		}
		attr := bq.Find("cite,footer").First()
		if attr.Length() == 0 {
			attr = bq.Next().Filter("cite,figcaption")
		}
		if attr.Length() > 0 {
			add(bq.Nodes[0])(fromParts(bq.Nodes[0], attr.Nodes[0]))
			return
		}
		add(bq.Nodes[0])(fromQuoted(textOf(bq.Nodes[0], nil)))
	})

	var cards []*goquery.Selection
	doc.Find("[class]").Each(func(_ int, s *goquery.Selection) {
		c := strings.ToLower(s.AttrOr("class", ""))
		if strings.Contains(c, "testimonial") || strings.Contains(c, "temoignage") || strings.Contains(c, "quote") {
			cards = append(cards, s)
		}
	})
	// Reverse document order visits descendants before their ancestors, so
	// the innermost complete card wins and its containers are skipped.
	for i := len(cards) - 1; i >= 0; i-- {
		if n := cards[i].Nodes[0]; !taken(n) {
			add(n)(fromCard(cards[i]))
		}
	}

	var out []Testimonial
	seen := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if t, ok := found[n]; ok {
			if k := Normalize(t.Quote); !seen[k] {
				seen[k] = true
				out = append(out, t)
			}
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range doc.Nodes {
		walk(n)
	}
	return out
}

func nodeOf(s *goquery.Selection) *html.Node {
	if s.Length() == 0 {
		return nil
	}
	return s.Nodes[0]
}

// contains reports whether n is a or one of a's descendants.
func contains(a, n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n == a {
			return true
		}
	}
	return false
}

// fromParts builds a testimonial from a quote element and an attribution
// element (which may sit inside the quote element; its text is then left out
// of the quote).
func fromParts(quote, attr *html.Node) (Testimonial, bool) {
	if attr == nil {
		return fromQuoted(textOf(quote, nil))
	}
	t := Testimonial{Quote: cleanQuote(textOf(quote, map[*html.Node]bool{attr: true}))}
	t.Author, t.Title = splitAttribution(textOf(attr, nil))
	return t, valid(t)
}

// fromQuoted splits text such as `“Great tool.” — Claire Martin, CEO`.
func fromQuoted(text string) (Testimonial, bool) {
	text = strings.TrimSpace(text)
	open, size := utf8.DecodeRuneInString(text)
	closers := map[rune]string{'“': "”\"", '«': "»", '"': "\"”", '„': "“”"}[open]
	if closers == "" {
		return Testimonial{}, false
	}
	end := strings.LastIndexAny(text[size:], closers)
	if end < 0 {
		return Testimonial{}, false
	}
	end += size
	_, closeSize := utf8.DecodeRuneInString(text[end:])
	t := Testimonial{Quote: cleanQuote(text[size:end])}
	t.Author, t.Title = splitAttribution(text[end+closeSize:])
	return t, valid(t)
}

func valid(t Testimonial) bool {
	return utf8.RuneCountInString(t.Quote) >= 10 && (t.Author != "" || t.Title != "")
}

// Roles of the elements inside a testimonial card, from their class.
const (
	roleNone = iota
	roleName
	roleTitle
	roleCompany
	roleAttribution
	roleQuote
)

func roleOf(s *goquery.Selection) int {
	var tokens []string
	for _, c := range strings.Fields(strings.ToLower(s.AttrOr("class", ""))) {
		if !strings.HasPrefix(c, "text-") { // utility classes: text-muted, text-center...
			tokens = append(tokens, c)
		}
	}
	has := func(words ...string) bool {
		for _, c := range tokens {
			for _, w := range words {
				if strings.Contains(c, w) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("company", "entreprise", "societe", "logo"):
		return roleCompany
	case has("name"):
		return roleName
	case has("job", "role", "position", "poste", "fonction", "designation"),
		has("title") && isJobTitle(s.Text()): // "…-title" is often a headline
		return roleTitle
	case has("author", "auteur", "person", "signature", "meta", "cite", "who", "source", "client", "details", "info"):
		return roleAttribution
	case has("content", "text", "body", "message", "quote", "excerpt", "comment", "review", "desc"):
		return roleQuote
	}
	switch goquery.NodeName(s) {
	case "cite", "figcaption", "footer":
		return roleAttribution
	case "blockquote", "q":
		return roleQuote
	}
	return roleNone
}

// fromCard reads a testimonial out of a card element (see extractQuotes).
func fromCard(card *goquery.Selection) (Testimonial, bool) {
	parts := map[int]*html.Node{}
	card.Find("*").Each(func(_ int, s *goquery.Selection) {
		r := roleOf(s)
		if r != roleNone && parts[r] == nil && strings.TrimSpace(s.Text()) != "" {
			parts[r] = s.Nodes[0]
		}
	})
	name, title, attr := parts[roleName], parts[roleTitle], parts[roleAttribution]
	skip := map[*html.Node]bool{}
	for _, n := range []*html.Node{name, title, attr, parts[roleCompany]} {
		if n != nil {
			skip[n] = true
		}
	}
	quote := parts[roleQuote]
	if name == nil && title == nil && attr == nil {
		// No attribution classes: the quote is the main paragraph and the
		// rest of the card is the attribution.
		if p := longestParagraph(card, skip); p != nil {
			quote = p
		}
	}
	if quote == nil {
		quote = longestParagraph(card, skip)
	}
	if quote == nil {
		return fromQuoted(textOf(card.Nodes[0], nil))
	}
	t := Testimonial{Quote: cleanQuote(textOf(quote, skip))}
	without := func(n, left *html.Node) string {
		return textOf(n, map[*html.Node]bool{left: left != nil})
	}
	switch {
	case name != nil:
		t.Author = cleanName(oneLine(textOf(name, nil)))
		if title != nil {
			t.Title = titleOf(textOf(title, nil))
		} else if attr != nil && !contains(name, attr) {
			t.Title = titleOf(without(attr, name))
		}
	case attr != nil:
		t.Author, t.Title = splitAttribution(without(attr, title))
		if title != nil {
			t.Title = titleOf(textOf(title, nil))
		}
	case title != nil:
		t.Title = titleOf(textOf(title, nil))
	default:
		skip[quote] = true
		t.Author, t.Title = splitAttribution(textOf(card.Nodes[0], skip))
	}
	if !valid(t) {
		return fromQuoted(textOf(card.Nodes[0], nil))
	}
	return t, true
}

// longestParagraph picks the card's quote when no class names it: a
// <blockquote>/<q>, else the <p> that opens with a quotation mark, else the
// longest <p>; nodes in skip (and inside them) are not candidates.
func longestParagraph(card *goquery.Selection, skip map[*html.Node]bool) *html.Node {
	if q := card.Find("blockquote,q").First(); q.Length() > 0 {
		return q.Nodes[0]
	}
	var best *html.Node
	bestLen := 0
	card.Find("p").EachWithBreak(func(_ int, p *goquery.Selection) bool {
		for n := range skip {
			if contains(n, p.Nodes[0]) {
				return true
			}
		}
		text := strings.TrimSpace(textOf(p.Nodes[0], nil))
		if strings.ContainsRune("“«\"„", firstRune(text)) {
			best = p.Nodes[0]
			return false
		}
		if n := utf8.RuneCountInString(text); n > bestLen {
			best, bestLen = p.Nodes[0], n
		}
		return true
	})
	return best
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// cleanQuote trims white space and one layer of surrounding quotation marks
// and caps the length. The result stays a substring of the page text (modulo
// white space), so grounding checks with Site.Find succeed.
func cleanQuote(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "“«\"„‘'‹ \u00a0\u202f")
	s = strings.TrimRight(s, "”»\"’'› \u00a0\u202f")
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxQuote {
		s = string([]rune(s)[:maxQuote])
	}
	return s
}
