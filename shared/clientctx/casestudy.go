package clientctx

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CaseStudy is one case_studies/*.md file.
//
// A case study is read from front matter ("client:", "industry:",
// "result:"…), from labelled lines of free markdown ("**Client** : Acme",
// "Résultats :" followed by bullets, "Problem: …", "## Results"), or both
// (front matter wins, the text fills what it does not give). Labels are
// French or English, bold or plain, with ":" or " :".
//
// No value ever comes from the file name: when the file names no client,
// Client is "" and the agents phrase the case study without a client name
// ("un éditeur de logiciel RH", or the industry and the result alone).
type CaseStudy struct {
	File  string // "case_studies/acme.md": for reasoning and error messages, never for an email
	Title string // the first heading, without its "#" marks ("" when there is none)

	Client      string // the client's name ("Revuo"); "" when the file names none
	ClientAbout string // what the client line says after the name ("éditeur allemand d'un logiciel RH")
	Industry    string // lower-cased ("saas rh", "cybersécurité")
	Problem     string // the problem or challenge, "" when not labelled
	Solution    string // what was done ("Ce que nous avons fait", "Approach"), "" when not labelled
	Background  string // the context ("Contexte", "Background"), "" when not labelled
	// Result is the headline result: the front matter's result, or the
	// first labelled result's first sentence, without a final period; a
	// long sentence is cut after its first clause that gives a figure
	// ("38 rendez-vous avec des DRH en 3 mois, 9 opportunités, 3 premiers
	// clients signés avant la fin du semestre" → "38 rendez-vous avec des
	// DRH en 3 mois"). Results keeps the whole text.
	Result  string
	Results []string // every labelled result item (bullets, or the paragraph), without final periods
	Body    string   // the text after the front matter, as written
}

// caseLabels are the labels a case study's fields are read from.
var caseLabels = newLabels(map[string]string{
	"client": "client|cliente|customer|the client|le client|nom du client|client name|customer name|" +
		"company|company name|entreprise|nom de l'entreprise|société",
	"industry": "industry|industrie|secteur|secteur d'activité|sector|vertical|verticale|" +
		"marché|market|domaine|domaine d'activité|activité",
	"problem": "problème|problèmes|problématique|problem|problems|challenge|challenges|the challenge|" +
		"the problem|le problème|défi|défis|enjeu|enjeux|pain|pain point|douleur|situation initiale|avant|before",
	"result": "résultat|résultats|resultat|result|results|outcome|outcomes|impact|bilan|" +
		"chiffres clés|key results|key figures|gains|bénéfices|benefits|après|after|roi",
	"solution": "solution|ce que nous avons fait|ce qu'on a fait|ce que nous avons mis en place|" +
		"what we did|approche|notre approche|approach|our approach|méthode|method|dispositif|mise en place|actions",
	"background": "contexte|context|background|à propos|about|situation",
})

func parseCaseStudy(name string, b []byte) (CaseStudy, error) {
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	cs := CaseStudy{File: name}
	lines := strings.Split(text, "\n")
	fm, body, bodyLine, unclosed := splitFrontMatter(lines)
	if unclosed {
		return cs, &FileError{File: name, Line: 1, Col: 1, Err: errors.New("front matter opened with --- is never closed")}
	}
	if fm != nil {
		entries, bad := parseFrontMatter(fm)
		if bad >= 0 {
			return cs, &FileError{File: name, Line: bad + 2, Col: 1, Err: fmt.Errorf("front matter line %q is not \"key: value\"", fm[bad])}
		}
		for _, e := range entries {
			items := e.items
			if e.value != "" {
				items = append([]string{e.value}, items...)
			}
			cs.set(field{key: caseLabels.key(e.key), name: e.key, line: e.line, items: items})
		}
	}
	cs.Body = strings.TrimSpace(strings.Join(body, "\n"))

	md := mdLines(body, bodyLine)
	fields := scanFields(md, caseLabels)
	for _, f := range fields {
		cs.set(f)
	}
	for _, l := range md {
		if l.heading > 0 {
			if _, isLabel := lineLabel(l, caseLabels); !isLabel {
				cs.Title = cleanInline(l.text)
				break
			}
		}
	}
	// A file name or a slug is never a value, even when written in the file.
	base := strings.TrimSuffix(path.Base(name), path.Ext(name))
	if fileNamed(cs.Title, base) {
		cs.Title = ""
	}
	if fileNamed(cs.Client, base) {
		cs.Client = ""
	}
	if cs.Body == "" && cs.Result == "" {
		return cs, &FileError{File: name, Err: errors.New("case study is empty")}
	}
	return cs, nil
}

// set fills a field of cs from f unless an earlier source (the front
// matter, an earlier label) already did.
func (cs *CaseStudy) set(f field) {
	var items []string
	for _, it := range f.items {
		if it = trimPeriod(cleanInline(it)); it != "" {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return
	}
	switch f.key {
	case "client":
		if cs.Client == "" && cs.ClientAbout == "" {
			cs.Client, cs.ClientAbout = splitClient(items[0])
		}
	case "industry":
		if cs.Industry == "" {
			cs.Industry = strings.ToLower(firstSentence(items[0]))
		}
	case "problem":
		if cs.Problem == "" {
			cs.Problem = strings.Join(items, "; ")
		}
	case "solution":
		if cs.Solution == "" {
			cs.Solution = strings.Join(items, "; ")
		}
	case "background":
		if cs.Background == "" {
			cs.Background = strings.Join(items, "; ")
		}
	case "result":
		if cs.Result == "" {
			cs.Result = headline(firstSentence(items[0]))
		}
		if len(cs.Results) == 0 {
			cs.Results = items
		}
	}
}

// anonymousClient are client values that name nobody.
var anonymousClient = map[string]bool{
	"confidentiel": true, "confidential": true, "anonyme": true, "anonymous": true, "n/a": true, "na": true,
	"nc": true, "non communique": true, "undisclosed": true, "client confidentiel": true, "-": true, "—": true, "?": true,
}

// genericStart are first words that make a client value a description
// ("un éditeur de logiciel RH") rather than a name.
var genericStart = map[string]bool{"un": true, "une": true, "des": true, "a": true, "an": true,
	"notre": true, "nos": true, "our": true, "one": true, "several": true, "plusieurs": true}

// lowerGenericStart are first words that make a lower-case client value a
// description ("le leader du…", "the leading…"); capitalised, they may
// start a brand ("Le Slip Français", "The Hut Group").
var lowerGenericStart = map[string]bool{"le": true, "la": true, "les": true, "l'": true, "the": true, "this": true, "ce": true, "cette": true}

// splitClient splits a client value into the name and what follows it:
// "Revuo, éditeur allemand d'un logiciel RH" → "Revuo", "éditeur allemand
// d'un logiciel RH". A value that is a description ("un éditeur de
// logiciel RH"), an anonymised client or a long sentence gives no name.
func splitClient(v string) (name, about string) {
	v = strings.TrimSpace(v)
	f := fold(v)
	if anonymousClient[f] {
		return "", ""
	}
	first, _, _ := strings.Cut(f, " ")
	if i := strings.IndexAny(first, "'’"); i >= 0 {
		first = first[:i+1]
	}
	r, _ := utf8.DecodeRuneInString(v)
	if genericStart[first] || lowerGenericStart[first] && unicode.IsLower(r) {
		return "", v
	}
	name, about = v, ""
	best := -1
	for _, sep := range []string{", ", " — ", " – ", " - ", " (", " : ", ": ", "; "} {
		if i := strings.Index(v, sep); i > 0 && (best < 0 || i < best) {
			best = i
			name, about = v[:i], v[i+len(sep):]
		}
	}
	name = strings.TrimSpace(name)
	about = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(about), ")"))
	if len(strings.Fields(name)) > 6 {
		return "", v
	}
	return name, about
}

// promptText renders the case study for prompts: a heading with the
// client (or "Client non nommé" — never the file name) and the industry,
// the labelled fields, then the text.
func (cs CaseStudy) promptText() string {
	var b strings.Builder
	client := cs.Client
	if client == "" {
		client = "Client non nommé (ne citer aucun nom)"
	}
	b.WriteString("### " + client)
	if cs.Industry != "" {
		b.WriteString(" (" + cs.Industry + ")")
	}
	b.WriteString("\n")
	for _, kv := range [][2]string{{"Client", cs.ClientAbout}, {"Problème", cs.Problem}, {"Résultat", cs.Result}} {
		if kv[1] != "" {
			b.WriteString(kv[0] + " : " + kv[1] + "\n")
		}
	}
	b.WriteString(cs.Body)
	return strings.TrimSpace(b.String())
}

// slugRe matches a file-name-like word: "03-logiciel-rh", "acme_case_study".
var slugRe = regexp.MustCompile(`^[a-z0-9]+(?:[-_][a-z0-9]+)+$`)

// fileNamed reports whether v is a slug: the file's base name written as
// such ("b_plain", not "Talento" for talento.md), or a lower-case
// hyphenated name of three parts or more or starting with a number
// ("03-logiciel-rh", "case-study-acme").
func fileNamed(v, base string) bool {
	v = strings.TrimSpace(v)
	if !slugRe.MatchString(v) {
		return false
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '-' || r == '_' })
	return v == base || len(parts) >= 3 || parts[0][0] >= '0' && parts[0][0] <= '9'
}

// headline shortens a result sentence of more than 14 words to its leading
// clauses, up to the first one of 4 words or more that holds a figure.
func headline(s string) string {
	if len(strings.Fields(s)) <= 14 {
		return s
	}
	clauses := strings.Split(s, ", ")
	for i := range clauses {
		head := strings.Join(clauses[:i+1], ", ")
		if len(strings.Fields(head)) >= 4 && strings.ContainsAny(head, "0123456789") {
			if i == len(clauses)-1 {
				return s
			}
			return head
		}
	}
	return s
}
