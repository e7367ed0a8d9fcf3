// Package quality scores a generated email from 0 to 100 and explains every
// deduction with a flag a reviewer can act on. It is pure: no I/O, no
// clock, the same input always gives the same report.
//
// Scoring starts at 100 and deducts per rule; the numbers of the seed's
// _validate_quality are kept (word count −20, unfilled variable −30,
// title-cased job title −15; a high fallback level costs −10 at level 4 and
// −5 at level 3, once per agent rather than per variable, so an agent that
// fills three variables from a pattern is not counted three times) and the checks of the
// reference rubric are added at low weights. Some flags are hard gates: an
// email carrying one is never auto-approved, whatever its
// score. The flags, by code (points; gate):
//
//   - unfilled_variable (30; gate): a {{variable}}, {x}, [PLACEHOLDER] or
//     N/A left in the subject or body, or a variable empty or "n/a".
//   - word_count (20): the body is outside the template's word range.
//   - contact_field_length (20; gate): a contact column longer than any
//     real value (first_name, last_name > 40 characters, company_name > 80,
//     other columns > 200).
//   - names_agency (20; gate): an agent value names the client, the agency
//     sending the email (Input.ClientNames), instead of the prospect.
//   - markup_in_value (15; gate): an agent value holds markup or stray
//     punctuation (a tag or angle bracket, an HTML entity, braces, Markdown
//     emphasis, a URL, a "|" separator, unbalanced quotes or brackets, a
//     run of punctuation at either end); one flag for all such values.
//   - copied_from_client_context (15): target_persona or product_category
//     repeats one of the client's own phrases (Input.ClientPhrases: its
//     persona titles), or their start cut to fit: the agency's buyers
//     presented as the prospect's.
//   - title_case_role (15): job titles capitalised mid-sentence.
//   - high_fallback (per agent: 10 at level 4, generic default or phrase
//     pattern; 5 at level 3, the client's context), naming its variables.
//   - low_confidence (5 per agent): confidence 1 or 2.
//   - ungrounded_evidence (10 per agent; gate): an agent cited quotes not
//     found on the scraped pages; one flag per agent, naming its variables.
//   - jargon (10 per term, at most 20), spam_words (5 per term, at most
//     15): terms of the lexicon's lists, contact column values masked.
//   - subject (15 empty; 5 too long; 10 fake "RE:"/"TR:" or ALL CAPS).
//   - links (5 for more than one; 10 for a URL shortener).
//   - call_to_action (5): no question, or more than three.
//   - long_sentence (5): a sentence over 35 words.
//
// Flags raised upstream (Input.Extra: prompt injection, LLM fallback…) are
// included and deducted as given.
package quality

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
)

// Default body word range (the seed's rule), used when Input leaves it 0.
const (
	DefaultMinWords = 150
	DefaultMaxWords = 250
)

// email.Flag codes.
const (
	CodeWordCount          = "word_count"
	CodeUnfilledVariable   = "unfilled_variable"
	CodeHighFallback       = "high_fallback"
	CodeTitleCaseRole      = "title_case_role"
	CodeJargon             = "jargon"
	CodeSpamWords          = "spam_words"
	CodeLowConfidence      = "low_confidence"
	CodeUngroundedEvidence = "ungrounded_evidence"
	CodeSubject            = "subject"
	CodeLinks              = "links"
	CodeCallToAction       = "call_to_action"
	CodeLongSentence       = "long_sentence"
	CodeMarkupInValue      = "markup_in_value"
	CodeContactLength      = "contact_field_length"
	CodeNamesAgency        = "names_agency"
	CodeCopiedFromClient   = "copied_from_client_context"
)

// Limits of the subject, link and sentence checks.
const (
	maxSubjectChars  = 60
	maxSubjectWords  = 8
	maxLinks         = 1
	maxQuestions     = 3
	maxSentenceWords = 35

	// Longest sane contact column values, in characters.
	maxNameChars    = 40  // first_name, last_name
	maxCompanyChars = 80  // company_name
	maxColumnChars  = 200 // any other column
)

// Variable is one template variable as filled for this email.
type Variable struct {
	Name          string
	Value         string
	Agent         string   // "" for contact columns (first_name, company_name, ...)
	Confidence    int      // 1-5 (0 = not applicable, contact column)
	FallbackLevel int      // 1-4 (0 = not applicable)
	Ungrounded    []string // evidence quotes the agent gave that are NOT found in the scraped pages
}

// Input is an assembled email and the variables that filled it.
type Input struct {
	Subject, Body      string
	Language           string // "fr" | "en"; "" = detected from the text
	MinWords, MaxWords int    // body word range; 0 = DefaultMinWords / DefaultMaxWords
	Variables          []Variable
	Extra              []email.Flag // flags raised upstream (prompt injection on the site, LLM fallback, ...): included and deducted

	// ClientNames are the names of the client, the agency that sends the
	// email ("Prospectia"): an agent value naming it speaks of the sender
	// where the prospect was meant (names_agency).
	ClientNames []string
	// ClientPhrases are phrases of the client's own context, such as its
	// persona titles: a target_persona or product_category equal to one
	// presents the agency's own buyers or offer as the prospect's
	// (copied_from_client_context).
	ClientPhrases []string
}

// AutoApprovable reports whether a report may be auto-approved at
// threshold: score ≥ threshold and no gate flag.
func AutoApprovable(r email.Report, threshold int) bool {
	return r.Score >= threshold && !r.Gated()
}

// Score checks an email and returns its score and flags. Extra flags are
// included as given, except that negative points count as 0. Flags is
// never nil.
func Score(in Input) email.Report {
	lang := in.Language
	if lang == "" {
		lang = lexicon.Detect(in.Subject + "\n" + in.Body)
	}
	// Contact columns (company "Leader Price", ISP "Free") are not the
	// writer's words: they are masked before the word-list checks.
	masked := maskContactValues(in.Subject+"\n"+in.Body, in.Variables)

	var flags []email.Flag
	flags = appendFlag(flags, checkWordCount(in))
	flags = appendFlag(flags, checkUnfilled(in))
	flags = append(flags, checkVariables(in.Variables)...)
	flags = appendFlag(flags, checkMarkup(in.Variables))
	flags = appendFlag(flags, checkContactLength(in.Variables))
	flags = appendFlag(flags, checkNamesAgency(in.Variables, in.ClientNames))
	flags = appendFlag(flags, checkCopiedFromClient(in.Variables, in.ClientPhrases))
	flags = appendFlag(flags, checkTitleCase(lang, masked, in.Variables))
	flags = appendFlag(flags, checkJargon(lang, masked, in.Variables))
	flags = appendFlag(flags, checkSpam(lang, masked, in.Variables))
	flags = append(flags, checkSubject(in.Subject)...)
	flags = append(flags, checkLinks(in.Body)...)
	noURLs := urlPattern.ReplaceAllString(in.Body, "URL") // "?" in a URL is not a question
	flags = appendFlag(flags, checkQuestions(noURLs))
	flags = appendFlag(flags, checkSentences(noURLs))
	for _, f := range in.Extra {
		f.Points = max(f.Points, 0)
		flags = append(flags, f)
	}
	if flags == nil {
		flags = []email.Flag{}
	}
	sort.SliceStable(flags, func(i, j int) bool {
		a, b := flags[i], flags[j]
		if a.Points != b.Points {
			return a.Points > b.Points
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})

	score := 100
	for _, f := range flags {
		if f.Points >= score { // also keeps huge Extra points from overflowing
			score = 0
			break
		}
		score -= f.Points
	}
	return email.Report{Score: score, Flags: flags}
}

func appendFlag(flags []email.Flag, f *email.Flag) []email.Flag {
	if f == nil {
		return flags
	}
	return append(flags, *f)
}

func checkWordCount(in Input) *email.Flag {
	lo, hi := in.MinWords, in.MaxWords
	if lo <= 0 {
		lo = DefaultMinWords
	}
	if hi <= 0 {
		hi = DefaultMaxWords
	}
	n := len(lexicon.Words(in.Body))
	if n >= lo && n <= hi {
		return nil
	}
	return &email.Flag{Code: CodeWordCount, Points: 20,
		Message: fmt.Sprintf("Body has %d words; expected %d-%d.", n, lo, hi)}
}

var (
	doubleBraces = regexp.MustCompile(`\{\{[^{}\n]{0,80}\}\}`)
	singleBraces = regexp.MustCompile(`\{[A-Za-z_][A-Za-z0-9_.]{0,60}\}`)
	// [PLACEHOLDER], [Your Name], [company_name]; not [text](url) links
	// nor footnotes like [1].
	brackets     = regexp.MustCompile(`\[([^\[\]\n]{1,60})\]`)
	notAvailable = regexp.MustCompile(`(?i)(?:^|[^\pL\pN/])(n/a)(?:[^\pL\pN/]|$)`)
)

// placeholderWords start a bracketed text that is a placeholder
// ("[Your Name]", "[Nom de l'entreprise]").
var placeholderWords = map[string]bool{
	"your": true, "votre": true, "vos": true, "insert": true, "insérer": true, "inserer": true,
	"nom": true, "prénom": true, "prenom": true, "name": true, "first": true, "company": true,
	"entreprise": true, "société": true, "societe": true, "placeholder": true, "todo": true,
}

// emptyValues are variable values that mean "nothing found".
var emptyValues = map[string]bool{
	"": true, "n/a": true, "na": true, "null": true, "none": true, "nil": true,
	"undefined": true, "nan": true,
}

func checkUnfilled(in Input) *email.Flag {
	var issues []string
	for _, part := range []struct{ name, text string }{{"subject", in.Subject}, {"body", in.Body}} {
		var found []string
		rest := doubleBraces.ReplaceAllStringFunc(part.text, func(m string) string {
			found = append(found, m)
			return " "
		})
		rest = singleBraces.ReplaceAllStringFunc(rest, func(m string) string {
			found = append(found, m)
			return " "
		})
		if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
			found = append(found, `stray "{{" or "}}"`)
		}
		for _, m := range brackets.FindAllStringSubmatchIndex(part.text, -1) {
			if m[1] < len(part.text) && part.text[m[1]] == '(' {
				continue // Markdown link
			}
			if isPlaceholder(part.text[m[2]:m[3]]) {
				found = append(found, part.text[m[0]:m[1]])
			}
		}
		for _, m := range notAvailable.FindAllStringSubmatch(part.text, -1) {
			found = append(found, m[1])
		}
		for _, f := range dedupe(found) {
			issues = append(issues, fmt.Sprintf("%s in %s", lexicon.Shorten(f, 40), part.name))
		}
	}
	for _, v := range in.Variables {
		val := strings.TrimSpace(v.Value)
		if emptyValues[strings.ToLower(val)] {
			if val == "" {
				issues = append(issues, fmt.Sprintf("variable %s is empty", v.Name))
			} else {
				issues = append(issues, fmt.Sprintf("variable %s is %q", v.Name, val))
			}
		}
	}
	if len(issues) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeUnfilledVariable, Points: 30, Gate: true,
		Message: "Unfilled variables: " + joinLimited(issues, "; ", 5) + "."}
}

func isPlaceholder(s string) bool {
	s = strings.TrimSpace(s)
	letters, upper, other := 0, 0, false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		case r != ' ' && r != '_' && r != '-' && !unicode.IsDigit(r):
			other = true
		}
	}
	if letters >= 3 && upper == letters && !other {
		return true // [PLACEHOLDER], [NOM CLIENT]
	}
	if strings.Contains(s, "_") && !strings.ContainsAny(s, " ") && letters > 0 {
		return true // [company_name]
	}
	first, _, _ := strings.Cut(s, " ")
	return placeholderWords[strings.ToLower(first)]
}

func checkVariables(vars []Variable) []email.Flag {
	type group struct {
		names      []string
		level      int // highest fallback level of the agent's variables
		confidence int // lowest confidence
	}
	var order []string
	groups := map[string]*group{}
	for _, v := range vars {
		if v.FallbackLevel == 0 && v.Confidence == 0 {
			continue // a contact column
		}
		key := "agent:" + v.Agent
		if v.Agent == "" {
			key = "var:" + v.Name
		}
		g := groups[key]
		if g == nil {
			g = &group{confidence: v.Confidence}
			groups[key] = g
			order = append(order, key)
		}
		g.names = append(g.names, v.Name)
		g.level = max(g.level, v.FallbackLevel)
		if v.Confidence >= 1 {
			g.confidence = min(g.confidence, v.Confidence)
		}
	}
	var flags []email.Flag
	for _, key := range order {
		g := groups[key]
		subject := "Variable " + g.names[0] + " uses"
		if len(g.names) > 1 {
			subject = "Variables " + strings.Join(g.names, ", ") + " use"
		}
		switch {
		case g.level >= 4:
			flags = append(flags, email.Flag{Code: CodeHighFallback, Points: 10,
				Message: fmt.Sprintf("%s fallback level %d (generic default or phrase pattern, nothing specific to this prospect).", subject, g.level)})
		case g.level == 3:
			flags = append(flags, email.Flag{Code: CodeHighFallback, Points: 5,
				Message: fmt.Sprintf("%s fallback level 3 (taken from the client's context, not the prospect's site).", subject)})
		}
		if g.confidence >= 1 && g.confidence <= 2 {
			what := "Variable " + g.names[0] + " has"
			if len(g.names) > 1 {
				what = "Variables " + strings.Join(g.names, ", ") + " have"
			}
			flags = append(flags, email.Flag{Code: CodeLowConfidence, Points: 5,
				Message: fmt.Sprintf("%s low confidence (%d/5).", what, g.confidence)})
		}
	}
	return append(flags, checkUngrounded(vars)...)
}

// checkUngrounded raises one ungrounded_evidence flag per agent with
// ungrounded quotes, naming the variables it filled: an agent's quotes
// back all of its variables, so an agent filling two variables is not
// penalised twice.
func checkUngrounded(vars []Variable) []email.Flag {
	type group struct {
		names  []string
		quotes []string
	}
	var order []string
	groups := map[string]*group{}
	for _, v := range vars {
		if len(v.Ungrounded) == 0 {
			continue
		}
		key := "agent:" + v.Agent
		if v.Agent == "" {
			key = "var:" + v.Name
		}
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
			order = append(order, key)
		}
		g.names = append(g.names, v.Name)
		for _, q := range v.Ungrounded {
			if q = strings.TrimSpace(q); q != "" {
				g.quotes = append(g.quotes, q)
			}
		}
	}
	var flags []email.Flag
	for _, key := range order {
		g := groups[key]
		names, quotes := dedupe(g.names), dedupe(g.quotes)
		subject := "Variable " + names[0] + " cites"
		if len(names) > 1 {
			subject = "Variables " + strings.Join(names, ", ") + " cite"
		}
		msg := subject + " evidence not found in the scraped pages"
		if len(quotes) > 0 {
			msg += fmt.Sprintf(": %q", lexicon.Shorten(quotes[0], 80))
			if n := len(quotes) - 1; n > 0 {
				msg += fmt.Sprintf(" (+%d more)", n)
			}
		}
		flags = append(flags, email.Flag{Code: CodeUngroundedEvidence, Points: 10, Gate: true, Message: msg + "."})
	}
	return flags
}

var (
	// A tag ("<br>", "</p>"), the end of an attribute (`">`), or a lone
	// angle bracket.
	markupTag = regexp.MustCompile(`<[^<>]{0,60}>|["']?>|<`)
	// An HTML entity: "&nbsp;", "&amp;", "&#39;", "&#x27;".
	markupEntity = regexp.MustCompile(`&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});`)
)

// Punctuation that does not start or end a phrase of an email sentence
// ("- gestion de paie", "HubSpot,", "paie ..."). Not included at the end:
// ".", "!", "?", "%", closing brackets and quotes, "+" and "#" ("C++", "C#").
const (
	strayLeading  = ".,;:!?|/\\*#_=~^&@•·…–—-+)]»”"
	strayTrailing = ",;:|/\\*_=~^&@•·–—-([«“"
	strayRun      = ".,;:!?|/\\*_=~^&@•·…–—-" // two or more of these end a value
)

// markupIn returns what in an agent value is markup or stray punctuation:
// a tag or lone angle bracket, an HTML entity, braces, Markdown emphasis, a
// URL, a separator ("|", "•"), a control character, unbalanced quotes or
// brackets, or a run of punctuation at either end. Each item names the
// offending text.
func markupIn(value string) []string {
	v := strings.TrimSpace(value)
	var found []string
	add := func(format string, args ...any) { found = append(found, fmt.Sprintf(format, args...)) }
	for _, u := range urlPattern.FindAllString(v, 2) {
		add("URL %q", lexicon.Shorten(u, 40))
	}
	v = urlPattern.ReplaceAllString(v, "URL")
	for _, m := range dedupe(markupTag.FindAllString(v, 3)) {
		add("%q", lexicon.Shorten(m, 30))
	}
	for _, m := range dedupe(markupEntity.FindAllString(v, 3)) {
		add("%q", m)
	}
	for _, m := range []string{"{", "}", "**", "`", "|", "•"} {
		if strings.Contains(v, m) {
			add("%q", m)
		}
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		add("a line break or control character")
	}
	if strings.Count(v, `"`)%2 != 0 {
		add(`unbalanced '"'`)
	}
	for _, pair := range []string{"«»", "“”", "()", "[]"} {
		if r := unbalanced(v, pair); r != "" {
			add("unbalanced %q", r)
		}
	}
	if run := leadingRun(v); run != "" {
		add("leading %q", run)
	}
	if run := trailingRun(v); run != "" {
		add("trailing %q", run)
	}
	return dedupe(found)
}

// unbalanced returns the first bracket of pair (opening and closing rune)
// left unmatched in s, or "".
func unbalanced(s, pair string) string {
	rs := []rune(pair)
	open, closing := rs[0], rs[1]
	depth := 0
	for _, r := range s {
		switch r {
		case open:
			depth++
		case closing:
			if depth == 0 {
				return string(closing)
			}
			depth--
		}
	}
	if depth > 0 {
		return string(open)
	}
	return ""
}

// leadingRun returns the stray punctuation starting s (spaces between
// marks included), or "". A sign before a number ("+30 %", "-20 %") is not
// stray.
func leadingRun(s string) string {
	end := 0
	for i, r := range s {
		if !strings.ContainsRune(strayLeading, r) && (end == 0 || r != ' ') {
			break
		}
		end = i + utf8.RuneLen(r)
	}
	run := strings.TrimSpace(s[:end])
	if run == "" {
		return ""
	}
	if utf8.RuneCountInString(run) == 1 {
		next, _ := utf8.DecodeRuneInString(s[end:])
		if strings.ContainsAny(run, "+-–") && unicode.IsDigit(next) || run == "." && unicode.IsLetter(next) {
			return "" // "+30 %", ".NET"
		}
	}
	return run
}

// trailingRun returns the stray punctuation ending s: one mark of
// strayTrailing, or two or more of strayRun (spaces between marks
// included), or "".
func trailingRun(s string) string {
	start, marks := len(s), 0
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:start])
		if r == ' ' && marks > 0 {
			start -= size
			continue
		}
		if !strings.ContainsRune(strayRun, r) && !strings.ContainsRune(strayTrailing, r) {
			break
		}
		marks++
		start -= size
	}
	run := strings.TrimSpace(s[start:])
	if run == "" {
		return ""
	}
	if marks >= 2 {
		return run
	}
	if last, _ := utf8.DecodeLastRuneInString(run); strings.ContainsRune(strayTrailing, last) {
		return run
	}
	return ""
}

// checkMarkup flags agent values holding markup or stray punctuation: it
// would be printed in the email as is.
func checkMarkup(vars []Variable) *email.Flag {
	var parts []string
	for _, v := range vars {
		if v.Agent == "" {
			continue // contact columns: checkContactLength
		}
		if found := markupIn(v.Value); len(found) > 0 {
			parts = append(parts, fmt.Sprintf("%s = %q (%s)", v.Name, lexicon.Shorten(strings.TrimSpace(v.Value), 60), strings.Join(found, ", ")))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeMarkupInValue, Points: 15, Gate: true,
		Message: "Markup or stray punctuation in values (it would show in the email): " + joinLimited(parts, "; ", 4) + "."}
}

// checkContactLength flags contact columns longer than any real value
// (a 10,000-character first name makes an 11,000-character email).
func checkContactLength(vars []Variable) *email.Flag {
	var parts []string
	for _, v := range vars {
		if v.Agent != "" {
			continue
		}
		limit := maxColumnChars
		switch v.Name {
		case "first_name", "last_name":
			limit = maxNameChars
		case "company_name":
			limit = maxCompanyChars
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(v.Value)); n > limit {
			parts = append(parts, fmt.Sprintf("%s is %d characters (at most %d): %q", v.Name, n, limit, lexicon.Shorten(strings.TrimSpace(v.Value), 40)))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeContactLength, Points: 20, Gate: true,
		Message: "Contact fields too long: " + joinLimited(parts, "; ", 4) + "."}
}

// checkNamesAgency flags agent values that name the client (the agency
// sending the email) where the prospect was meant ("vous vendez votre
// Prospectia", a competitor named "Prospectia").
func checkNamesAgency(vars []Variable, clientNames []string) *email.Flag {
	var names []string
	for _, n := range clientNames {
		if n = compareForm(n); utf8.RuneCountInString(n) >= 2 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	var parts []string
	for _, v := range vars {
		if v.Agent == "" {
			continue
		}
		val := compareForm(v.Value)
		for i, n := range names {
			if containsWord(val, n) {
				parts = append(parts, fmt.Sprintf("%s = %q names %q", v.Name, lexicon.Shorten(strings.TrimSpace(v.Value), 60), strings.TrimSpace(clientNames[i])))
				break
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeNamesAgency, Points: 20, Gate: true,
		Message: "Values name the agency (the sender) instead of the prospect: " + joinLimited(parts, "; ", 4) + "."}
}

// clientContextVars are the variables that describe the prospect's market
// and must not repeat the client's own context.
var clientContextVars = map[string]bool{"target_persona": true, "product_category": true}

// checkCopiedFromClient flags a target_persona or product_category that
// repeats one of the client's own phrases (a persona title of personas.md):
// the agency's buyers presented as the prospect's. A value repeats a phrase
// when it equals it (folded, spaces collapsed) or is its start cut at a
// word, at least 3 words and more than half of them: a copy shortened to
// fit the variable ("VP Sales ou directeur commercial d'une scale-up" for
// "VP Sales ou directeur commercial d'une scale-up SaaS"), while a short
// common role ("head of sales") stays free.
func checkCopiedFromClient(vars []Variable, phrases []string) *email.Flag {
	type phrase struct{ form, text string }
	var own []phrase
	for _, p := range phrases {
		if f := compareForm(p); f != "" {
			own = append(own, phrase{f, strings.TrimSpace(p)})
		}
	}
	if len(own) == 0 {
		return nil
	}
	var parts []string
	for _, v := range vars {
		if v.Agent == "" || !clientContextVars[v.Name] {
			continue
		}
		val := compareForm(v.Value)
		if val == "" {
			continue
		}
		for _, p := range own {
			if val == p.form || copiedStart(val, p.form) {
				parts = append(parts, fmt.Sprintf("%s = %q repeats %q", v.Name, lexicon.Shorten(strings.TrimSpace(v.Value), 60), lexicon.Shorten(p.text, 60)))
				break
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeCopiedFromClient, Points: 15,
		Message: "Values repeat the client's own context instead of describing the prospect: " + joinLimited(parts, "; ", 4) + "."}
}

// copiedStart reports whether val (compareForm) is the start of phrase cut
// at a word, with at least 3 words and more than half of phrase's.
func copiedStart(val, phrase string) bool {
	rest, ok := strings.CutPrefix(phrase, val)
	if !ok || !strings.HasPrefix(rest, " ") {
		return false
	}
	n := len(strings.Fields(val))
	return n >= 3 && 2*n > len(strings.Fields(phrase))
}

// compareForm folds s (lexicon.Fold: lower case, no accents), collapses
// its white space and trims the punctuation around it.
func compareForm(s string) string {
	return strings.TrimFunc(strings.Join(strings.Fields(lexicon.Fold(s)), " "), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
}

// containsWord reports whether word occurs in text between non-word
// characters.
func containsWord(text, word string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		j += i
		before, _ := utf8.DecodeLastRuneInString(text[:j])
		after, _ := utf8.DecodeRuneInString(text[j+len(word):])
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		i = j + 1
	}
}

func checkTitleCase(lang, text string, vars []Variable) *email.Flag {
	roles := lexicon.TitleCasedRoles(lang, text)
	if len(roles) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeTitleCaseRole, Points: 15,
		Message: "Job titles capitalised mid-sentence (write them in lower case): " +
			attribute(roles, vars, func(v string) []string {
				return lexicon.TitleCasedRoles(lang, "x "+v) // as if mid-sentence
			}) + "."}
}

func checkJargon(lang, text string, vars []Variable) *email.Flag {
	terms := lexicon.Jargon(lang, text)
	if len(terms) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeJargon, Points: min(10*len(terms), 20),
		Message: "Corporate jargon: " + attribute(terms, vars, func(v string) []string { return lexicon.Jargon(lang, v) }) + "."}
}

func checkSpam(lang, text string, vars []Variable) *email.Flag {
	terms := lexicon.Spam(lang, text)
	if len(terms) == 0 {
		return nil
	}
	return &email.Flag{Code: CodeSpamWords, Points: min(5*len(terms), 15),
		Message: "Spam-trigger words: " + attribute(terms, vars, func(v string) []string { return lexicon.Spam(lang, v) }) + "."}
}

// attribute quotes terms, naming the agent variables whose value yields
// the term (or part of it) through find: `"innovante" (in
// product_category), "leader"`.
func attribute(terms []string, vars []Variable, find func(string) []string) string {
	type hit struct{ term, name string }
	var hits []hit
	for _, v := range vars {
		if v.Agent == "" {
			continue
		}
		for _, t := range find(v.Value) {
			hits = append(hits, hit{strings.ToLower(t), v.Name})
		}
	}
	parts := make([]string, len(terms))
	for i, t := range terms {
		var names []string
		lt := strings.ToLower(t)
		for _, h := range hits {
			if strings.Contains(lt, h.term) {
				names = append(names, h.name)
			}
		}
		parts[i] = fmt.Sprintf("%q", t)
		if len(names) > 0 {
			parts[i] += " (in " + strings.Join(dedupe(names), ", ") + ")"
		}
	}
	return joinLimited(parts, ", ", 6)
}

// maskContactValues blanks the values of contact columns in text where
// they stand as whole words, longest first.
func maskContactValues(text string, vars []Variable) string {
	var vals []string
	for _, v := range vars {
		if val := strings.TrimSpace(v.Value); v.Agent == "" && utf8.RuneCountInString(val) >= 2 {
			vals = append(vals, val)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, val := range vals {
		var b strings.Builder
		rest := text
		for {
			i := strings.Index(rest, val)
			if i < 0 {
				break
			}
			before, _ := utf8.DecodeLastRuneInString(rest[:i])
			after, _ := utf8.DecodeRuneInString(rest[i+len(val):])
			b.WriteString(rest[:i])
			if isWordRune(before) || isWordRune(after) {
				b.WriteString(val) // part of a longer word
			} else {
				b.WriteString(" ")
			}
			rest = rest[i+len(val):]
		}
		b.WriteString(rest)
		text = b.String()
	}
	return text
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

var fakeReply = regexp.MustCompile(`(?i)^\s*(re|fwd?|tr)\s*:`)

func checkSubject(subject string) []email.Flag {
	s := strings.TrimSpace(subject)
	if s == "" {
		return []email.Flag{{Code: CodeSubject, Points: 15, Message: "Subject is empty."}}
	}
	var flags []email.Flag
	chars, words := utf8.RuneCountInString(s), len(lexicon.Words(s))
	if chars > maxSubjectChars || words > maxSubjectWords {
		flags = append(flags, email.Flag{Code: CodeSubject, Points: 5,
			Message: fmt.Sprintf("Subject is %d characters and %d words; keep it to %d characters and %d words.", chars, words, maxSubjectChars, maxSubjectWords)})
	}
	if m := fakeReply.FindString(s); m != "" {
		flags = append(flags, email.Flag{Code: CodeSubject, Points: 10,
			Message: fmt.Sprintf("Subject starts with %q, a fake reply or forward.", strings.TrimSpace(m))})
	} else if allCaps(s) {
		flags = append(flags, email.Flag{Code: CodeSubject, Points: 10, Message: "Subject is in ALL CAPS."})
	}
	return flags
}

func allCaps(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters >= 4
}

var urlPattern = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>()\[\]"'{}]+`)

// shorteners are URL-shortener hosts.
var shorteners = map[string]bool{
	"bit.ly": true, "tinyurl.com": true, "t.co": true, "goo.gl": true, "ow.ly": true,
	"is.gd": true, "buff.ly": true, "rebrand.ly": true, "cutt.ly": true, "shorturl.at": true,
	"tiny.cc": true, "lnkd.in": true, "bl.ink": true, "t.ly": true, "rb.gy": true, "s.id": true,
}

func checkLinks(body string) []email.Flag {
	urls := urlPattern.FindAllString(body, -1)
	var flags []email.Flag
	if len(urls) > maxLinks {
		flags = append(flags, email.Flag{Code: CodeLinks, Points: 5,
			Message: fmt.Sprintf("Body has %d links; keep at most %d.", len(urls), maxLinks)})
	}
	for _, u := range urls {
		if h := host(u); shorteners[h] {
			flags = append(flags, email.Flag{Code: CodeLinks, Points: 10,
				Message: fmt.Sprintf("Body uses a URL shortener (%s); link the full address.", h)})
			break
		}
	}
	return flags
}

func host(u string) string {
	u = strings.ToLower(u)
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	if i := strings.IndexAny(u, "/?#:"); i >= 0 {
		u = u[:i]
	}
	return strings.TrimPrefix(strings.TrimSuffix(u, "."), "www.")
}

// checkQuestions counts the question marks of body, its URLs removed.
func checkQuestions(body string) *email.Flag {
	n := strings.Count(body, "?")
	switch {
	case n == 0:
		return &email.Flag{Code: CodeCallToAction, Points: 5, Message: "Body asks no question; end with one interest question."}
	case n > maxQuestions:
		return &email.Flag{Code: CodeCallToAction, Points: 5,
			Message: fmt.Sprintf("Body has %d question marks; keep 1 to %d.", n, maxQuestions)}
	}
	return nil
}

// checkSentences measures the sentences of body, its URLs replaced by a
// word.
func checkSentences(body string) *email.Flag {
	count, longest, longestText := 0, 0, ""
	for _, s := range sentences(body) {
		n := len(lexicon.Words(s))
		if n <= maxSentenceWords {
			continue
		}
		count++
		if n > longest {
			longest, longestText = n, s
		}
	}
	if count == 0 {
		return nil
	}
	start := lexicon.Shorten(strings.Join(strings.Fields(longestText), " "), 50)
	msg := fmt.Sprintf("A sentence has %d words (%q); keep sentences to %d words.", longest, start, maxSentenceWords)
	if count > 1 {
		msg = fmt.Sprintf("%d sentences have more than %d words, the longest %d (%q).", count, maxSentenceWords, longest, start)
	}
	return &email.Flag{Code: CodeLongSentence, Points: 5, Message: msg}
}

// sentences splits text after . ! ? … and at line breaks, except a line
// break followed by a lower-case letter (hard-wrapped text).
func sentences(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		end := false
		switch r {
		case '.', '!', '?', '…':
			end = true
		case '\n':
			next, _ := utf8.DecodeRuneInString(strings.TrimLeft(text[i+1:], " \t"))
			end = !unicode.IsLower(next)
		}
		if end {
			out = append(out, text[start:i])
			start = i + utf8.RuneLen(r)
		}
	}
	return append(out, text[start:])
}

// joinLimited joins at most n items, then says how many were left out.
func joinLimited(items []string, sep string, n int) string {
	if len(items) <= n {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:n], sep) + fmt.Sprintf(" (+%d more)", len(items)-n)
}

func dedupe(items []string) []string {
	seen := map[string]bool{}
	out := items[:0:0]
	for _, s := range items {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
