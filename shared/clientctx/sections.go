package clientctx

import (
	"regexp"
	"strings"
)

// Persona is one buyer persona of personas.md.
type Persona struct {
	Title  string   // "Directeur commercial ou head of sales", without numbering or emphasis
	Titles []string // the job-title variants the section lists ("Variantes de titre : CEO, fondateur…")
	Body   string   // the section's text, markdown marks removed
	Line   int      // 1-based line of the title in personas.md
}

// Pain is one pain point of pain_points.md.
type Pain struct {
	Title  string
	Body   string // the section's text without the impact, markdown marks removed
	Impact string // the "impact:" line (or "Coût :", "Impact mesurable :"…), when present
	Line   int    // 1-based line of the title in pain_points.md
}

// personaLabels are the labels inside a persona section; "titles" lists
// job-title variants, "start" opens a persona in a labelled file
// ("Persona : DAF").
var personaLabels = newLabels(map[string]string{
	"titles": "variantes de titre|variantes de titres|variantes|titres|intitulés|intitulés de poste|" +
		"job titles|titles|title variants|alternative titles|postes|fonctions",
	"start": "persona|profil|profile|buyer persona|titre|title|poste|job title|nom|name|cible|target",
	"inner": "contexte|context|objectifs|objectif|goals|goal|frustrations|frustration|motivations|" +
		"défis|challenges|ce qu'il mesure|ce qu'elle mesure|ce qu'il ou elle mesure|kpi|kpis|indicateurs|" +
		"what they measure|responsabilités|responsibilities|rôle|role|besoins|needs|attentes|objections|" +
		"douleurs|pains|pain points|description|exemple|exemples|example|examples|taille|size|secteur|industry",
})

// painLabels are the labels inside a pain section.
var painLabels = newLabels(map[string]string{
	"impact": "impact|impact mesurable|impact chiffré|measurable impact|coût|cost|conséquence|conséquences|consequence|consequences",
	"start":  "problème|problem|pain|pain point|douleur|titre|title|nom|name",
	"inner": "description|symptôme|symptômes|symptom|symptoms|cause|causes|contexte|context|exemple|exemples|" +
		"example|examples|pourquoi|why|qui est touché|who|solution|notre réponse|our answer|persona|personas",
})

// section is one persona or pain: a title and the lines under it.
type section struct {
	title string
	line  int
	head  string // the text after the title on its own line ("**DAF** : gère la trésorerie")
	body  []mdLine
}

// titlePrefix matches what people put before a section's title: numbering
// ("1. ", "2) "), "Persona 1 :", "Pain point n°2 —", "Problème 3 -".
var titlePrefix = regexp.MustCompile(`(?i)^(?:\d{1,3}\s*[.)/-]\s*|(?:persona|profil|profile|pain point|pain|problème|probleme|problem|douleur)\s*(?:n°\s*|#\s*)?\d{0,3}\s*(?:[:.)—–-]\s*|$))`)

// cleanTitle removes numbering, a "Persona 1 :" prefix, emphasis and a
// final colon or period from a section title.
func cleanTitle(s string) string {
	s = cleanInline(s)
	for {
		t := strings.TrimSpace(titlePrefix.ReplaceAllString(s, ""))
		if t == s || t == "" {
			break
		}
		s = t
	}
	return strings.TrimSpace(strings.TrimRight(s, " :."))
}

// splitSections cuts a personas.md or pain_points.md into sections, from
// the shapes people write, tried in this order:
//  1. headings: the level with at least two headings (the document's
//     title and headings that are inner labels, "### Contexte", left out);
//  2. labelled starts: "Persona : DAF", "**Problème** : pipeline irrégulier";
//  3. bold lines: "**Directeur commercial**", "**DAF** : gère la trésorerie";
//  4. top-level list items: "- **DAF** : …", "1. Pipeline irrégulier — …",
//     "- Directeur commercial".
//
// A file in prose with none of these gives no section.
func splitSections(md []mdLine, ls labelSet) []section {
	if s := headingSections(md, ls); s != nil {
		return s
	}
	if s := startSections(md, ls); s != nil {
		return s
	}
	if s := boldSections(md, ls); s != nil {
		return s
	}
	return listSections(md, ls)
}

// isInner reports whether a heading or bold title is one of the labels
// inside a section ("Contexte", "Impact"), spelt exactly: "Coût élevé"
// is a pain's title, "Coût" a label.
func isInner(name string, ls labelSet) bool {
	k := ls[fold(strings.Trim(cleanInline(name), " :.-–—*_"))]
	return k != "" && k != "start"
}

func headingSections(md []mdLine, ls labelSet) []section {
	count := map[int]int{}
	var candidates []int
	firstText := -1
	for i, l := range md {
		if firstText < 0 && !l.blank {
			firstText = i
		}
		if l.heading == 0 || isInner(cleanInline(l.text), ls) {
			continue
		}
		candidates = append(candidates, i)
	}
	h1 := 0
	for _, i := range candidates {
		if md[i].heading == 1 {
			h1++
		}
	}
	var kept []int
	for _, i := range candidates {
		// The document's title: the only level-1 heading, or the first line.
		if md[i].heading == 1 && (h1 == 1 || i == firstText) {
			continue
		}
		kept = append(kept, i)
		count[md[i].heading]++
	}
	if len(kept) == 0 {
		return nil
	}
	level := 0
	for lv := 1; lv <= 6; lv++ {
		if count[lv] >= 2 {
			level = lv
			break
		}
	}
	if level == 0 {
		for lv := 1; lv <= 6; lv++ {
			if count[lv] > 0 {
				level = lv
				break
			}
		}
	}
	var out []section
	for _, i := range kept {
		if md[i].heading != level {
			continue
		}
		t := cleanTitle(md[i].text)
		if t == "" {
			continue
		}
		out = append(out, section{title: t, line: md[i].n})
	}
	if len(out) == 0 {
		return nil
	}
	// Bodies: the lines up to the next heading of the section level or above.
	si := -1
	for i, l := range md {
		if l.heading > 0 && l.heading <= level {
			si = -1
			for k := range out {
				if out[k].line == l.n {
					si = k
				}
			}
			continue
		}
		if si >= 0 {
			out[si].body = append(out[si].body, l)
		}
		_ = i
	}
	return out
}

func startSections(md []mdLine, ls labelSet) []section {
	var out []section
	for _, l := range md {
		if lab, ok := lineLabel(l, ls); ok && lab.key == "start" && l.heading == 0 {
			if t := cleanTitle(lab.value); t != "" {
				out = append(out, section{title: t, line: l.n})
				continue
			}
		}
		if len(out) > 0 && l.heading == 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, l)
		}
	}
	return out
}

// boldStart matches a line that starts with bold text: "**DAF**", "**DAF** : x", "**DAF :** x".
var boldStart = regexp.MustCompile(`^(\*\*|__)([^*_]+?)(\*\*|__)\s*(.*)$`)

func boldSections(md []mdLine, ls labelSet) []section {
	var out []section
	for _, l := range md {
		if !l.bullet && l.heading == 0 && !l.blank && l.indent < 4 {
			if m := boldStart.FindStringSubmatch(l.text); m != nil && m[1] == m[3] && !isInner(m[2], ls) {
				rest := strings.TrimSpace(m[4])
				if rest == "" || strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "—") || strings.HasPrefix(rest, "–") ||
					strings.HasPrefix(rest, "-") || strings.HasSuffix(strings.TrimSpace(m[2]), ":") {
					if t := cleanTitle(m[2]); t != "" {
						out = append(out, section{title: t, line: l.n, head: strings.TrimSpace(strings.TrimLeft(rest, ":—–- "))})
						continue
					}
				}
			}
		}
		if len(out) > 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, l)
		}
	}
	if len(out) < 2 {
		return nil // one bold line is emphasis, not a list of personas
	}
	return out
}

// itemTitle splits a list item into a title and the rest: the bold part,
// or the text before " : ", " — ", " – ", " - "; an item with no such
// split is a title when short, else its first sentence is.
func itemTitle(text string) (title, rest string) {
	if m := boldStart.FindStringSubmatch(text); m != nil && m[1] == m[3] {
		return cleanTitle(m[2]), strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(m[4]), ":—–-. "))
	}
	t := cleanInline(text)
	best := -1
	for _, sep := range []string{" : ", ": ", " — ", " – ", " - "} {
		if i := strings.Index(t, sep); i > 0 && (best < 0 || i < best) && len(strings.Fields(t[:i])) <= 12 {
			best, title, rest = i, t[:i], t[i+len(sep):]
		}
	}
	if best >= 0 {
		return cleanTitle(title), strings.TrimSpace(rest)
	}
	if len(strings.Fields(t)) <= 12 {
		return cleanTitle(t), ""
	}
	title = firstSentence(t)
	return cleanTitle(title), strings.TrimSpace(strings.TrimPrefix(t, title))
}

func listSections(md []mdLine, ls labelSet) []section {
	top := -1
	for _, l := range md {
		if l.bullet && (top < 0 || l.indent < top) {
			top = l.indent
		}
	}
	if top < 0 {
		return nil
	}
	var out []section
	for _, l := range md {
		if l.bullet && l.indent == top {
			if lab, ok := lineLabel(l, ls); !ok || lab.key == "" || lab.key == "start" {
				if t, rest := itemTitle(l.text); t != "" {
					if ok && lab.key == "start" {
						t, rest = cleanTitle(lab.value), ""
					}
					out = append(out, section{title: t, line: l.n, head: rest})
					continue
				}
			}
		}
		if len(out) > 0 && l.heading == 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, l)
		}
	}
	return out
}

// bodyText joins a section's lines that no field took, markdown removed.
func bodyText(s section, used []bool) string {
	var parts []string
	if s.head != "" {
		parts = append(parts, cleanInline(s.head))
	}
	for i, l := range s.body {
		if l.blank || used != nil && used[i] {
			continue
		}
		t := cleanInline(l.text)
		if l.heading > 0 {
			t = strings.TrimRight(t, " :") + " :"
		}
		parts = append(parts, t)
	}
	return strings.TrimSpace(strings.Join(parts, "\n"))
}

// parsePersonas reads personas.md; md is the file without front matter.
func parsePersonas(md []mdLine) []Persona {
	var out []Persona
	for _, s := range splitSections(md, personaLabels) {
		p := Persona{Title: s.title, Line: s.line}
		fields := scanFields(s.body, personaLabels)
		for _, f := range fields {
			if f.key == "titles" && len(p.Titles) == 0 {
				for _, it := range f.items {
					p.Titles = append(p.Titles, splitList(it)...)
				}
			}
		}
		p.Body = bodyText(s, nil)
		out = append(out, p)
	}
	return out
}

// splitList splits "CEO, fondateur ; cofondatrice / président." into its items.
func splitList(s string) []string {
	var out []string
	for _, it := range regexp.MustCompile(`\s*[,;/|]\s*`).Split(trimPeriod(cleanInline(s)), -1) {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// parsePains reads pain_points.md; md is the file without front matter.
func parsePains(md []mdLine) []Pain {
	var out []Pain
	for _, s := range splitSections(md, painLabels) {
		p := Pain{Title: s.title, Line: s.line}
		used := make([]bool, len(s.body))
		for _, f := range scanFields(s.body, painLabels) {
			if f.key != "impact" || len(f.items) == 0 {
				continue
			}
			if p.Impact == "" {
				p.Impact = trimPeriod(f.value())
			}
			for _, i := range f.lines {
				used[i] = true
			}
		}
		p.Body = bodyText(s, used)
		if p.Impact == "" {
			p.Body, p.Impact = cutInlineImpact(p.Body)
		}
		out = append(out, p)
	}
	return out
}

// inlineImpact finds "Impact : …" closing a pain's text: "… par vagues.
// Impact : 40 % d'écart." or "… (impact : 40 % d'écart)".
var inlineImpact = regexp.MustCompile(`(?i)([.;!?]\s+|\(\s*|\s[—–-]\s*)(?:impact(?: mesurable| chiffré)?|coût|cost|measurable impact)\s*:\s*([^()]+?)\s*\)?\s*$`)

// cutInlineImpact splits such a closing impact from text.
func cutInlineImpact(text string) (body, impact string) {
	m := inlineImpact.FindStringSubmatchIndex(text)
	if m == nil {
		return text, ""
	}
	head := text[:m[2]]
	if sep := strings.TrimSpace(text[m[2]:m[3]]); sep == "." || sep == "!" || sep == "?" {
		head += sep
	}
	return strings.TrimSpace(strings.TrimRight(head, " (—–-;")), trimPeriod(text[m[4]:m[5]])
}
