package agents

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

// Classification places a prospect among the categories of the client's
// competitors.json.
type Classification struct {
	Category string  // "" when no category matches the prospect at all
	Score    float64 // BM25 score of Category
	Runner   string  // the second-best category
	Second   float64 // its score
	// Listed is set when competitors.json lists the prospect itself: its
	// category is then the client's own statement, whatever the text says.
	Listed bool
	Terms  []string // the prospect's terms that weighed most for Category
	// Evidence is the page's title, description or heading where the
	// strongest of Terms appears (zero when none does).
	Evidence email.Evidence
}

// Margin is how far ahead the best category is: (best − second) / best,
// from 0 (a tie) to 1 (no other category scores).
func (c Classification) Margin() float64 {
	if c.Score <= 0 {
		return 0
	}
	return (c.Score - c.Second) / c.Score
}

// Confidence follows the margin: 5 when the prospect is listed or far
// ahead, down to 2 for a near tie; 1 without a category.
func (c Classification) Confidence() int {
	m := c.Margin()
	switch {
	case c.Category == "":
		return 1
	case c.Listed || m >= 0.5:
		return 5
	case m >= 0.3:
		return 4
	case m >= 0.15:
		return 3
	default:
		return 2
	}
}

// Why explains the classification in one sentence.
func (c Classification) Why() string {
	switch {
	case c.Category == "":
		return "no category of competitors.json shares words with the prospect's site"
	case c.Listed:
		return fmt.Sprintf("competitors.json lists the prospect under %q", c.Category)
	}
	terms := c.Terms
	if len(terms) > 4 {
		terms = terms[:4]
	}
	why := fmt.Sprintf("the site's words (%s) match %q best (score %.1f", strings.Join(terms, ", "), c.Category, c.Score)
	if c.Runner != "" {
		why += fmt.Sprintf(", next %q at %.1f", c.Runner, c.Second)
	}
	return why + ")"
}

// Field weights of the query: what a company says about itself in its
// title, description and headings counts more than its body text, and
// sentences about integrations, partners or hiring hardly count.
const (
	weightTitle     = 3.0
	weightHeading   = 2.0
	weightBody      = 1.0
	weightIndustry  = 2.0
	weightSubPage   = 0.5 // factor for pages other than the home page
	weightCueLine   = 0.2 // factor for a line naming integrations, partners, hiring
	weightPlainWord = 0.3 // factor for a word that is not a concept of the lexicon
	bonusNamed      = 1.3 // factor for a category the site's title, description or headings name verbatim
	minCategoryTerm = 1.0 // a category needs this BM25 score to be chosen
	bm25K1, bm25B   = 1.2, 0.75
)

// Classify places the prospect among competitors.json's categories: the
// category listing the prospect itself when there is one, else the best
// BM25 match between the site's weighted terms and each category's name and
// entries' positioning.
func Classify(cctx *clientctx.Context, c contacts.Contact, site *scrape.Site) Classification {
	if cctx == nil || len(cctx.Competitors) == 0 {
		return Classification{}
	}
	docs, order := categoryDocs(cctx.Competitors)
	query := siteTerms(c, site)
	scores := bm25(docs, order, query)
	for _, cat := range order {
		if namesCategory(site, cat) {
			scores[cat] *= bonusNamed
		}
	}
	ranked := append([]string(nil), order...)
	sort.SliceStable(ranked, func(i, j int) bool { return scores[ranked[i]] > scores[ranked[j]] })

	var out Classification
	if self, ok := ListedEntry(cctx, c, site); ok {
		out.Category, out.Listed = self.Category, true
	} else if len(ranked) > 0 && scores[ranked[0]] >= minCategoryTerm {
		out.Category = ranked[0]
	}
	if out.Category == "" {
		return out
	}
	out.Score = scores[out.Category]
	for _, cat := range ranked {
		if cat != out.Category {
			out.Runner, out.Second = cat, scores[cat]
			break
		}
	}
	out.Terms = topTerms(docs[out.Category], query)
	out.Evidence = termEvidence(site, out.Terms)
	return out
}

// ListedEntry returns competitors.json's entry for the prospect itself,
// matched on the company name or the website's host (legal forms and case
// ignored).
func ListedEntry(cctx *clientctx.Context, c contacts.Contact, site *scrape.Site) (clientctx.Competitor, bool) {
	if cctx == nil {
		return clientctx.Competitor{}, false
	}
	for _, e := range cctx.Competitors {
		if IsProspect(e.Name, c, site) {
			return e, true
		}
	}
	return clientctx.Competitor{}, false
}

type termDoc struct {
	tf  map[string]float64
	len float64
}

// categoryDocs builds one document per category: its name (three times)
// and its entries' positioning.
func categoryDocs(comps []clientctx.Competitor) (map[string]*termDoc, []string) {
	docs := map[string]*termDoc{}
	var order []string
	for _, e := range comps {
		d, ok := docs[e.Category]
		if !ok {
			d = &termDoc{tf: map[string]float64{}}
			docs[e.Category] = d
			order = append(order, e.Category)
			for _, t := range lexicon.Terms(e.Category) {
				d.tf[t] += 3
				d.len += 3
			}
		}
		for _, t := range lexicon.Terms(e.Positioning) {
			d.tf[t]++
			d.len++
		}
	}
	return docs, order
}

// siteTerms weighs the terms of the prospect's pages and industry.
func siteTerms(c contacts.Contact, site *scrape.Site) map[string]float64 {
	q := map[string]float64{}
	add := func(text string, w float64) {
		for _, line := range strings.Split(text, "\n") {
			lw := w
			if _, ok := lexicon.HasCue(lexicon.CueRelation, line); ok {
				lw *= weightCueLine
			} else if _, ok := lexicon.HasCue(lexicon.CueCareers, line); ok {
				lw *= weightCueLine
			}
			for _, t := range lexicon.Terms(line) {
				q[t] += lw
			}
		}
	}
	add(c.Industry, weightIndustry)
	if site != nil {
		for _, p := range site.Pages {
			f := 1.0
			if p.Kind != "home" {
				f = weightSubPage
			}
			add(p.Title, weightTitle*f)
			add(p.Description, weightTitle*f)
			for _, h := range p.Headings {
				add(h, weightHeading*f)
			}
			add(p.Text, weightBody*f)
		}
	}
	return q
}

// bm25 scores every category document against the weighted query. A
// concept of the lexicon counts fully; a plain word, which only matches
// when both texts use the same language and wording, counts less.
func bm25(docs map[string]*termDoc, order []string, query map[string]float64) map[string]float64 {
	n := float64(len(order))
	var avg float64
	df := map[string]float64{}
	for _, cat := range order {
		avg += docs[cat].len
		for t := range docs[cat].tf {
			df[t]++
		}
	}
	avg /= math.Max(n, 1)
	scores := map[string]float64{}
	for _, cat := range order {
		d := docs[cat]
		var s float64
		for t, w := range query {
			tf := d.tf[t]
			if tf == 0 {
				continue
			}
			idf := math.Log(1 + (n-df[t]+0.5)/(df[t]+0.5))
			if !strings.HasPrefix(t, "#") {
				w *= weightPlainWord
			}
			s += w * idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*d.len/math.Max(avg, 1)))
		}
		scores[cat] = s
	}
	return scores
}

// topTerms returns the query's terms shared with the document, strongest
// first, concepts written without their "#".
func topTerms(d *termDoc, query map[string]float64) []string {
	type tw struct {
		t string
		w float64
	}
	var list []tw
	for t, w := range query {
		if d.tf[t] > 0 {
			list = append(list, tw{t, w * d.tf[t]})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].w != list[j].w {
			return list[i].w > list[j].w
		}
		return list[i].t < list[j].t
	})
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = strings.TrimPrefix(x.t, "#")
	}
	return out
}

// termEvidence finds the title, description or heading that holds the
// strongest term, as a verbatim quote.
func termEvidence(site *scrape.Site, terms []string) email.Evidence {
	if site == nil {
		return email.Evidence{}
	}
	for _, term := range terms {
		for _, p := range site.Pages {
			for _, field := range append([]string{p.Title, p.Description}, p.Headings...) {
				for _, t := range lexicon.Terms(field) {
					if strings.TrimPrefix(t, "#") == term {
						return email.Evidence{URL: p.URL, Quote: strings.TrimSpace(field)}
					}
				}
			}
		}
	}
	return email.Evidence{}
}

// namesCategory reports whether the title, description or a heading of
// one of the site's pages contains the category's name ("Logiciel de paie
// et RH" names "logiciel de paie"), case and accents ignored.
func namesCategory(site *scrape.Site, category string) bool {
	if site == nil {
		return false
	}
	want := " " + strings.Join(lexicon.Words(lexicon.Fold(category)), " ") + " "
	for _, p := range site.Pages {
		for _, f := range append([]string{p.Title, p.Description}, p.Headings...) {
			if strings.Contains(" "+strings.Join(lexicon.Words(lexicon.Fold(f)), " ")+" ", want) {
				return true
			}
		}
	}
	return false
}
