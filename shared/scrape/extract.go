package scrape

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits on what one page contributes.
const (
	maxLinks    = 2000
	maxHeadings = 100
	maxQuotes   = 50
)

// alwaysDropped are never visible text.
const alwaysDropped = "script,style,noscript,template,svg,canvas,iframe,object,embed,nav,form,[hidden]"

// parsePage turns a decoded HTML document into a Page (Kind left empty) and
// the links it contains. It never fails: broken HTML yields what it can.
func parsePage(u *url.URL, src string) (*Page, []link) {
	page := &Page{URL: u.String()}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(src))
	if err != nil {
		return page, nil
	}
	base := u
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b, err := u.Parse(strings.TrimSpace(href)); err == nil {
			base = b
		}
	}
	links := collectLinks(doc, base)

	title := doc.Find("head title").First()
	if title.Length() == 0 {
		title = doc.Find("title").First()
	}
	page.Title = oneLine(title.Text())
	page.Description = description(doc)

	doc.Find(alwaysDropped).Remove()
	// Page-level header/footer are chrome; those inside content (a quote's
	// <footer>, an article's <header>) are kept.
	doc.Find("header,footer").Each(func(_ int, s *goquery.Selection) {
		if s.ParentsFiltered("article,section,main,blockquote,figure").Length() == 0 {
			s.Remove()
		}
	})

	doc.Find("h1,h2,h3").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if h := oneLine(textOf(s.Nodes[0], nil)); h != "" {
			page.Headings = append(page.Headings, h)
		}
		return len(page.Headings) < maxHeadings
	})
	if body := doc.Find("body"); body.Length() > 0 {
		page.Text = textOf(body.Nodes[0], nil)
	}
	page.Quotes = extractQuotes(doc)
	return page, links
}

func collectLinks(doc *goquery.Document, base *url.URL) []link {
	var links []link
	doc.Find("a[href]").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		href, _ := s.Attr("href")
		href = strings.TrimSpace(href)
		if href == "" || strings.HasPrefix(href, "#") {
			return true
		}
		u, err := base.Parse(href)
		if err != nil {
			return true
		}
		u.Fragment, u.RawFragment = "", ""
		text := oneLine(s.Text())
		if text == "" {
			text = oneLine(s.AttrOr("aria-label", s.AttrOr("title", s.Find("img[alt]").AttrOr("alt", ""))))
		}
		links = append(links, link{url: u, text: text})
		return len(links) < maxLinks
	})
	return links
}

func description(doc *goquery.Document) string {
	var desc, og string
	doc.Find("meta").Each(func(_ int, s *goquery.Selection) {
		content := oneLine(s.AttrOr("content", ""))
		if content == "" {
			return
		}
		if desc == "" && strings.EqualFold(s.AttrOr("name", ""), "description") {
			desc = content
		}
		if og == "" && strings.EqualFold(s.AttrOr("property", s.AttrOr("name", "")), "og:description") {
			og = content
		}
	})
	if desc != "" {
		return desc
	}
	return og
}

// textOf returns the visible text under n: runs of white space become one
// space, block elements start new lines ("<p>a</p><p>b</p>" reads "a\nb")
// and table cells are separated by a space. Nodes in skip (and their
// subtrees) are left out. The result is capped at maxText characters.
func textOf(n *html.Node, skip map[*html.Node]bool) string {
	w := textWriter{skip: skip}
	w.walk(n)
	return w.b.String()
}

type textWriter struct {
	b       strings.Builder
	skip    map[*html.Node]bool
	n       int  // characters written
	space   bool // a space is due before the next character
	newline bool // a line break is due before the next character
}

func (w *textWriter) walk(n *html.Node) {
	if w.n >= maxText || w.skip[n] {
		return
	}
	switch n.Type {
	case html.TextNode:
		for _, r := range n.Data {
			if w.n >= maxText {
				return
			}
			if unicode.IsSpace(r) {
				w.space = true
				continue
			}
			if w.b.Len() > 0 {
				if w.newline {
					w.b.WriteByte('\n')
				} else if w.space {
					w.b.WriteByte(' ')
				}
			}
			w.space, w.newline = false, false
			w.b.WriteRune(r)
			w.n++
		}
	case html.ElementNode, html.DocumentNode:
		block := n.Type == html.ElementNode && blocks[n.DataAtom]
		cell := n.Type == html.ElementNode && (n.DataAtom == atom.Td || n.DataAtom == atom.Th)
		w.newline = w.newline || block
		w.space = w.space || cell
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			w.walk(c)
		}
		w.newline = w.newline || block
		w.space = w.space || cell
	}
}

// blocks are the elements whose content starts on a new line.
var blocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Body: true,
	atom.Br: true, atom.Caption: true, atom.Dd: true, atom.Details: true, atom.Dialog: true, atom.Div: true,
	atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true,
	atom.Footer: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Header: true, atom.Hgroup: true, atom.Hr: true, atom.Li: true, atom.Main: true,
	atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true,
	atom.Tbody: true, atom.Tfoot: true, atom.Thead: true, atom.Tr: true,
	atom.Ul: true,
}

// oneLine collapses all white space in s, line breaks included, to single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
