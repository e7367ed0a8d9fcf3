package clientctx

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/kaleads/kaleads/shared/lexicon"
)

// This file reads markdown the way people write it: headings, bullets,
// bold or plain "Label : value" lines, prose. It is deliberately small: it
// classifies lines and finds labelled values; it renders nothing.

// mdLine is one classified line of a markdown text.
type mdLine struct {
	n       int    // 1-based line number in the file
	indent  int    // leading columns (a tab counts 4)
	blank   bool   // empty, or a thematic break ("---", "***")
	heading int    // 1-6 for an ATX heading ("## x"), 0 otherwise
	bullet  bool   // a list item ("- x", "* x", "+ x", "• x", "1. x", "1) x")
	text    string // the content without indentation, "> ", heading marks or list marker
}

var (
	headingRe = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	bulletRe  = regexp.MustCompile(`^(?:[-*+•]|\d{1,3}[.)])\s+(.*)$`)
	ruleRe    = regexp.MustCompile(`^(?:-{3,}|\*{3,}|_{3,}|(?:- ){2,}-|(?:\* ){2,}\*)\s*$`)
)

// mdLines classifies the lines of text; first is the 1-based number of the
// first line (after a front matter block).
func mdLines(lines []string, first int) []mdLine {
	out := make([]mdLine, 0, len(lines))
	for i, raw := range lines {
		l := mdLine{n: first + i}
		s := strings.TrimRight(raw, " \t\r")
		for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
			if s[0] == '\t' {
				l.indent += 4
			} else {
				l.indent++
			}
			s = s[1:]
		}
		for strings.HasPrefix(s, ">") { // blockquote
			s = strings.TrimLeft(s[1:], " \t")
		}
		switch {
		case s == "" || ruleRe.MatchString(s):
			l.blank = true
		case headingRe.MatchString(s):
			m := headingRe.FindStringSubmatch(s)
			l.heading, l.text = len(m[1]), m[2]
		case bulletRe.MatchString(s):
			l.bullet, l.text = true, bulletRe.FindStringSubmatch(s)[1]
		default:
			l.text = s
		}
		l.text = strings.TrimSpace(l.text)
		if l.text == "" && l.heading == 0 {
			l.blank, l.bullet = true, false
		}
		out = append(out, l)
	}
	return out
}

// labelSet maps folded label spellings ("resultats", "secteur d'activite")
// to a canonical key ("result", "industry").
type labelSet map[string]string

func newLabels(groups map[string]string) labelSet {
	ls := labelSet{}
	for key, spellings := range groups {
		for _, s := range strings.Split(spellings, "|") {
			ls[fold(s)] = key
		}
	}
	return ls
}

// key returns the canonical key of a label as written, or "". A label
// matches a spelling exactly, or starts with it and adds at most two words
// ("Résultats obtenus", "Client name", "Problème principal").
func (ls labelSet) key(name string) string {
	f := fold(strings.Trim(name, " :.-–—*_"))
	if f == "" {
		return ""
	}
	if k, ok := ls[f]; ok {
		return k
	}
	words := strings.Fields(f)
	for n := len(words) - 1; n >= 1 && n >= len(words)-2; n-- {
		if k, ok := ls[strings.Join(words[:n], " ")]; ok {
			return k
		}
	}
	return ""
}

// merge returns a set holding both sets' spellings (b wins on a clash).
func (ls labelSet) merge(b labelSet) labelSet {
	out := make(labelSet, len(ls)+len(b))
	for k, v := range ls {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// label is a "Label : value" found at the start of a line.
type label struct {
	name  string // as written, without emphasis and separator
	value string // the rest of the line (may be empty)
	bold  bool   // the label was emphasised ("**Client** : …")
	key   string // canonical key, "" for a label the set does not know
}

var (
	// "**Client** : x", "**Client :** x", "**Résultats.** x", "__Client__: x", "*Client* — x".
	boldLabelRe = regexp.MustCompile(`^(\*\*|__|\*|_)([^*_]{1,80}?)(\*\*|__|\*|_)(.*)$`)
	// "Client : x", "Results: x" — only for labels the set knows.
	plainLabelRe = regexp.MustCompile(`^([\p{L}][\p{L}\p{N}'’ /&()-]{0,60}?)\s*:(?:\s+(.*)|$)`)
)

// splitLabel finds a label at the start of text. A bold label is accepted
// whatever its words when a separator (":", "—", "–", or "." for a known
// label) follows or ends it; a plain label only when ls knows it.
func splitLabel(text string, ls labelSet) (label, bool) {
	if m := boldLabelRe.FindStringSubmatch(text); m != nil && m[1] == m[3] {
		name, rest := strings.TrimSpace(m[2]), strings.TrimSpace(m[4])
		sep := ""
		switch {
		case strings.HasSuffix(name, ":"):
			sep, name = ":", strings.TrimSpace(strings.TrimSuffix(name, ":"))
		case strings.HasSuffix(name, "."):
			sep, name = ".", strings.TrimSpace(strings.TrimSuffix(name, "."))
		}
		if sep == "" || sep == "." {
			for _, s := range []string{":", "—", "–", "."} {
				if strings.HasPrefix(rest, s) {
					sep, rest = s, strings.TrimSpace(rest[len(s):])
					break
				}
			}
		} else {
			rest = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
		}
		if sep == "" && rest == "" {
			// "**Client : Acme**": the whole line in bold.
			if n, v, ok := strings.Cut(name, ":"); ok {
				if k := ls.key(n); k != "" {
					return label{name: strings.TrimSpace(n), value: strings.TrimSpace(v), bold: true, key: k}, true
				}
			}
		}
		k := ls.key(name)
		if sep != "" && (sep != "." || k != "") && labelLike(name) {
			return label{name: name, value: rest, bold: true, key: k}, true
		}
	}
	if m := plainLabelRe.FindStringSubmatch(text); m != nil {
		if k := ls.key(m[1]); k != "" {
			return label{name: strings.TrimSpace(m[1]), value: strings.TrimSpace(m[2]), key: k}, true
		}
	}
	return label{}, false
}

// labelLike reports whether s can be a label: a few words with a letter.
func labelLike(s string) bool {
	return s != "" && len(strings.Fields(s)) <= 6 && strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// lineLabel returns the label of a line: a "Label : value" line, or a
// heading whose whole text is a label ls knows ("## Résultats").
func lineLabel(l mdLine, ls labelSet) (label, bool) {
	if l.blank {
		return label{}, false
	}
	if l.heading > 0 {
		t := cleanInline(l.text)
		if lab, ok := splitLabel(t, ls); ok && lab.key != "" {
			return lab, true // "## Client : Acme"
		}
		// "## Résultats": the whole heading is a label ("# Résultats chez
		// Talento" is a title).
		if k := ls[fold(strings.Trim(t, " :.-–—*_"))]; k != "" {
			return label{name: strings.Trim(t, " :."), key: k}, true
		}
		return label{}, false
	}
	return splitLabel(l.text, ls)
}

// field is one labelled value found in a text.
type field struct {
	key   string
	name  string
	line  int
	items []string // the value: the same-line text, or the bullets or paragraph that follow
	lines []int    // indexes (in the scanned slice) of the lines the field took, label line included
}

// value is the field's items joined with "; ".
func (f field) value() string { return strings.Join(f.items, "; ") }

// scanFields finds the labelled values ls knows. A label's value is the
// rest of its line (with the lines that continue its paragraph) or, when
// that is empty or ends with ":", the bullet list or the paragraph that
// follows.
func scanFields(lines []mdLine, ls labelSet) []field {
	var fields []field
	for i := 0; i < len(lines); {
		l := lines[i]
		lab, ok := lineLabel(l, ls)
		if !ok || lab.key == "" {
			i++
			continue
		}
		f := field{key: lab.key, name: lab.name, line: l.n, lines: []int{i}}
		j := i + 1
		same := cleanInline(lab.value)
		if same != "" && !strings.HasSuffix(same, ":") {
			f.items = append(f.items, same)
			for j < len(lines) && continues(lines[j], ls) {
				f.items[0] += " " + cleanInline(lines[j].text)
				f.lines = append(f.lines, j)
				j++
			}
		} else {
			j = collectBlock(lines, i, &f, ls)
		}
		fields = append(fields, f)
		i = j
	}
	return fields
}

// continues reports whether l continues the paragraph of the line before.
func continues(l mdLine, ls labelSet) bool {
	if l.blank || l.heading > 0 || l.bullet {
		return false
	}
	_, isLabel := lineLabel(l, ls)
	return !isLabel
}

// collectBlock collects into f the bullets or the paragraph following the
// label on lines[at]; it returns the index of the first line not taken.
func collectBlock(lines []mdLine, at int, f *field, ls labelSet) int {
	head := lines[at]
	const (
		none = iota
		bullets
		prose
	)
	mode, itemIndent, sawBlank := none, 0, false
	j := at + 1
	for ; j < len(lines); j++ {
		l := lines[j]
		if l.blank {
			if mode == prose {
				break
			}
			sawBlank = true
			continue
		}
		if l.heading > 0 {
			break
		}
		lab, isLabel := lineLabel(l, ls)
		if l.bullet {
			if mode == prose {
				break
			}
			sibling := head.bullet && l.indent <= head.indent
			// A bullet that is itself another field's label ends the list;
			// so does any label among the siblings of a label bullet.
			if isLabel && (sibling || lab.key != "" && lab.key != f.key) {
				break
			}
			mode, itemIndent, sawBlank = bullets, l.indent, false
			f.items = append(f.items, cleanInline(l.text))
			f.lines = append(f.lines, j)
			continue
		}
		if isLabel {
			break
		}
		if mode == bullets {
			// An indented or lazy continuation of the last item.
			if sawBlank && l.indent <= itemIndent {
				break
			}
			f.items[len(f.items)-1] += " " + cleanInline(l.text)
			f.lines = append(f.lines, j)
			continue
		}
		if mode == none {
			f.items = append(f.items, cleanInline(l.text))
		} else {
			f.items[len(f.items)-1] += " " + cleanInline(l.text)
		}
		mode = prose
		f.lines = append(f.lines, j)
	}
	// Trailing blank lines stay unclaimed.
	return j
}

var (
	linkRe     = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	emphRe     = regexp.MustCompile(`(\*\*|__)(.+?)(\*\*|__)`)
	emph1Re    = regexp.MustCompile(`(^|[\s(])[*_]([^*_\s][^*_]*?)[*_]([\s).,;:!?]|$)`)
	codeRe     = regexp.MustCompile("`([^`]*)`")
	htmlTagRe  = regexp.MustCompile(`</?[a-zA-Z][^>]*>`)
	spacesRe   = regexp.MustCompile(`\s+`)
	listMarkRe = regexp.MustCompile(`^(?:[-*+•]|\d{1,3}[.)])\s+`)
)

// cleanInline removes inline markdown from a value: links keep their
// text, emphasis and code marks go, HTML tags go, spaces are collapsed.
func cleanInline(s string) string {
	s = linkRe.ReplaceAllString(s, "$1")
	s = codeRe.ReplaceAllString(s, "$1")
	s = emphRe.ReplaceAllString(s, "$2")
	s = emph1Re.ReplaceAllString(s, "$1$2$3")
	s = strings.NewReplacer("**", "", "__", "").Replace(s)
	s = htmlTagRe.ReplaceAllString(s, "")
	return strings.TrimSpace(spacesRe.ReplaceAllString(s, " "))
}

// cleanLine is cleanInline for a body line: it also drops a list marker.
func cleanLine(l mdLine) string {
	t := cleanInline(l.text)
	if l.bullet {
		return "- " + t
	}
	return t
}

// sentenceEnd matches the end of a sentence followed by the next one.
var sentenceEnd = regexp.MustCompile(`[.!?…]\s+[\p{Lu}\p{N}«"]`)

// firstSentence returns s up to its first sentence end, without the final
// period.
func firstSentence(s string) string {
	if loc := sentenceEnd.FindStringIndex(s); loc != nil {
		s = s[:loc[0]+1]
	}
	return trimPeriod(s)
}

// trimPeriod drops a final period and spaces ("42 rendez-vous." → "42 rendez-vous").
func trimPeriod(s string) string {
	s = strings.TrimSpace(s)
	for strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "...") {
		s = strings.TrimSpace(strings.TrimSuffix(s, "."))
	}
	return strings.TrimRight(s, " ;,")
}

// fold is the form labels and phrases are compared in: lexicon.Fold
// (lower case, no accents, ligatures spelt out) with typographic
// apostrophes made straight and spaces collapsed.
func fold(s string) string {
	return strings.Join(strings.Fields(lexicon.Fold(apostrophes.Replace(s))), " ")
}

var apostrophes = strings.NewReplacer("’", "'", "‘", "'", "ʼ", "'")

// splitFrontMatter separates a leading "---" block. It returns the front
// matter lines (nil when there is none), the body lines, the 1-based line
// number of the body's first line, and the index (0-based) of the opening
// line when the block is never closed (-1 otherwise).
func splitFrontMatter(lines []string) (fm, body []string, bodyLine int, unclosed bool) {
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return nil, lines, 1, false
	}
	for i := 1; i < len(lines); i++ {
		if t := strings.TrimSpace(lines[i]); t == "---" || t == "..." {
			return lines[1:i], lines[i+1:], i + 2, false
		}
	}
	return nil, lines, 1, true
}

// frontMatterEntry is one "key: value" of a front matter block; a key
// with an empty value takes the "- item" lines that follow as its items.
type frontMatterEntry struct {
	key, value string
	items      []string
	line       int
}

// parseFrontMatter reads "key: value" lines, YAML "- item" lists under a
// key, comments and blank lines; any other line is reported by its index
// (-1 when all lines are understood).
func parseFrontMatter(fm []string) (entries []frontMatterEntry, bad int) {
	for i, raw := range fm {
		t := strings.TrimSpace(raw)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "- ") && len(entries) > 0 && entries[len(entries)-1].value == "":
			e := &entries[len(entries)-1]
			e.items = append(e.items, unquote(strings.TrimSpace(t[2:])))
			continue
		}
		k, v, ok := strings.Cut(raw, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return entries, i
		}
		entries = append(entries, frontMatterEntry{key: strings.TrimSpace(k), value: unquote(strings.TrimSpace(v)), line: i + 2})
	}
	return entries, -1
}

// unquote removes YAML quotes around a value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}

// stripListMark drops a leading list marker ("- ", "1. ").
func stripListMark(s string) string { return listMarkRe.ReplaceAllString(s, "") }

// bodyLines classifies the lines of a free-text context file (personas.md,
// pain_points.md), skipping a front matter block when it is a well-formed
// one (an unclosed "---" is a thematic break, not an error, in these files).
func bodyLines(text string) []mdLine {
	lines := strings.Split(text, "\n")
	fm, body, bodyLine, unclosed := splitFrontMatter(lines)
	if fm != nil && !unclosed {
		if _, bad := parseFrontMatter(fm); bad < 0 {
			return mdLines(body, bodyLine)
		}
	}
	return mdLines(lines, 1)
}
