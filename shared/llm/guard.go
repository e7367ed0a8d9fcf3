package llm

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
	"github.com/kaleads/kaleads/shared/scrape"
)

// injectionPatterns match text addressed to an AI model: attempts to
// override instructions, change role, reveal the prompt, or chat-template
// control tokens. They run on scrape.Normalize'd text (lower case, ASCII
// apostrophes, single spaces).
var injectionPatterns = regexp.MustCompile(strings.Join([]string{
	`\b(ignore|disregard|forget|override|bypass)( all| any| every)?( of)?( the| your| my| these| those)? (previous|prior|above|earlier|preceding|former|original|system) (instructions?|prompts?|rules|directions|guidelines|messages?)`,
	`\b(ignore|disregard|forget) (all|everything)( you were told| above| before)`,
	`\b(ignore|ignorez|oublie|oubliez|ne tiens pas compte|ne tenez pas compte)( de)?( toutes)?( les| tes| vos| ces| des)? (instructions|consignes|regles|règles|directives)`,
	`\b(reveal|print|show|repeat|output|display|leak|dump)( me| us)?( your| the)? (system prompt|initial prompt|hidden prompt|instructions|system message)`,
	`\b(révèle|revele|révélez|affiche|affichez|répète|repete|répétez|donne|donnez)(-moi|-nous| moi| nous)?( ton| votre| le| tes| vos)? (prompt|message système|message systeme|instructions|consignes)`,
	`\b(system prompt|prompt système|prompt systeme)\b`,
	`\byou are now (a|an|the|my|in|dan|chatgpt)\b`,
	`\bfrom now on,? (you|act|respond|answer|reply)\b`,
	`\b(tu es|vous êtes|vous etes) (maintenant|désormais|desormais) (un|une|mon|ma)\b`,
	`\bpartir de maintenant,? (tu|vous|réponds|répondez)`,
	`\bnew instructions?\s*:`,
	`\bnouvelles? (instructions?|consignes?)\s*:`,
	`\b(if|when) you are (an? )?(ai|llm|language model|assistant|chatbot|gpt)\b`,
	`\b(si|quand) (tu es|vous êtes|vous etes) (une? )?(ia|ai|llm|modèle de langage|assistant|chatbot)\b`,
	`\b(note|message|instructions?) (to|for) (the |any )?(ai|llm|language model|assistant|chatgpt)\b`,
	`<\|im_start\|>|<\|system\|>|\[inst\]|<<sys>>`,
}, "|"))

// finding is one suspected prompt injection on a page or contact column.
type finding struct {
	where   string // page URL, or "CSV column x"
	snippet string
}

// detectInjection scans the scraped pages and the contact columns the agent
// reads for instruction-like text; one finding per page or column.
func detectInjection(req agents.Request) []finding {
	var out []finding
	if req.Site != nil {
		for _, p := range req.Site.Pages {
			texts := append([]string{p.Title, p.Description, p.Text}, p.Headings...)
			for _, q := range p.Quotes {
				texts = append(texts, q.Quote)
			}
			for _, t := range texts {
				if m := injectionPatterns.FindString(scrape.Normalize(t)); m != "" {
					out = append(out, finding{where: p.URL, snippet: m})
					break
				}
			}
		}
	}
	for _, col := range req.Spec.Contact {
		if m := injectionPatterns.FindString(scrape.Normalize(req.Contact.Get(col))); m != "" {
			out = append(out, finding{where: "CSV column " + col, snippet: m})
		}
	}
	return out
}

// injectionNote turns findings (and the model's own report) into one
// quality note.
func injectionNote(agent string, fs []finding, modelSaw bool) (email.Note, bool) {
	if len(fs) == 0 && !modelSaw {
		return email.Note{}, false
	}
	msg := fmt.Sprintf("%s: the model reported instructions addressed to it in the website content; they were treated as data", agent)
	if len(fs) > 0 {
		var where []string
		for _, f := range fs {
			where = append(where, fmt.Sprintf("%s (%q)", f.where, f.snippet))
		}
		msg = fmt.Sprintf("%s: possible prompt injection on %s; treated as data, not instructions", agent, strings.Join(where, ", "))
	}
	return email.Note{Code: "prompt_injection", Points: 10, Message: msg}, true
}

// leakWords is the length of a verbatim word run that counts as copying the
// client context.
const leakWords = 8

// contextGrams caches, per loaded client context, the word runs of each
// part of the context.
type contextGrams struct {
	mu sync.Mutex
	m  map[*clientctx.Context]map[string]map[string]bool // part -> gram set
}

// context parts, and which agent may copy from which part.
const (
	partPCI         = "PCI"
	partPersonas    = "personas"
	partPains       = "pain points"
	partCompetitors = "competitors"
	partCases       = "case studies"
)

var mayCopy = map[string]string{
	agents.Persona.Name:    partCompetitors, // category names
	agents.Pain.Name:       partPains,
	agents.Competitor.Name: partCompetitors,
	agents.CaseStudy.Name:  partCases,
}

func (g *contextGrams) get(c *clientctx.Context) map[string]map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.m[c]; ok {
		return s
	}
	if g.m == nil || len(g.m) > 64 {
		g.m = map[*clientctx.Context]map[string]map[string]bool{}
	}
	var comp, cases strings.Builder
	for _, x := range c.Competitors {
		fmt.Fprintf(&comp, "%s. %s. %s.\n", x.Name, x.Category, x.Positioning)
	}
	for _, cs := range c.CaseStudies {
		fmt.Fprintf(&cases, "%s. %s. %s\n", cs.Client, cs.Result, cs.Body)
	}
	s := map[string]map[string]bool{
		partPCI: gramSet(c.PCI), partPersonas: gramSet(c.Personas), partPains: gramSet(c.PainPoints),
		partCompetitors: gramSet(comp.String()), partCases: gramSet(cases.String()),
	}
	g.m[c] = s
	return s
}

func normWords(s string) []string { return lexicon.Words(scrape.Normalize(s)) }

func gramSet(text string) map[string]bool {
	w := normWords(text)
	set := map[string]bool{}
	for i := 0; i+leakWords <= len(w); i++ {
		set[strings.Join(w[i:i+leakWords], " ")] = true
	}
	return set
}

// checkValues applies the checks agents.Validate does not know about: a
// value must not carry prompt markup or injected instructions, must not
// copy a long passage of the client context the agent is not meant to copy
// from (unless the prospect's own site or data says the same), and must be
// in the template's language.
func (e *Engine) checkValues(req agents.Request, values map[string]string) []error {
	var errs []error
	bad := func(v, format string, args ...any) {
		errs = append(errs, &agents.Violation{Var: v, Msg: fmt.Sprintf(format, args...)})
	}
	var parts map[string]map[string]bool
	if req.Context != nil {
		parts = e.grams.get(req.Context)
	}
	var public string // prospect data, normalized, built on first need
	var all []string
	for _, r := range req.Spec.Rules {
		v := values[r.Var]
		all = append(all, v)
		n := scrape.Normalize(v)
		if strings.Contains(n, "untrusted") {
			bad(r.Var, "contains prompt markup; write only the value")
		}
		if m := injectionPatterns.FindString(n); m != "" {
			bad(r.Var, "repeats instructions (%q) instead of giving a value", m)
		}
		w := normWords(v)
	grams:
		for i := 0; i+leakWords <= len(w); i++ {
			g := strings.Join(w[i:i+leakWords], " ")
			for part, set := range parts {
				if part == mayCopy[req.Spec.Name] || !set[g] {
					continue
				}
				if public == "" {
					public = publicText(req)
				}
				if strings.Contains(public, " "+g+" ") {
					continue
				}
				bad(r.Var, "copies the confidential client context (%s) word for word: %q; rephrase it for the prospect", part, g)
				break grams
			}
		}
	}
	if got := valuesLanguage(strings.Join(all, " . "), req.Language); got != "" {
		bad("values", "are written in %s, not in %s", languageName(got), languageName(req.Language))
	}
	return errs
}

// publicText is what the prospect's site and data say, normalized.
func publicText(req agents.Request) string {
	parts := []string{req.Site.Text()}
	for _, v := range req.Contact.Fields {
		parts = append(parts, v)
	}
	for _, v := range req.Inputs {
		parts = append(parts, v)
	}
	return " " + strings.Join(normWords(strings.Join(parts, " \n ")), " ") + " "
}

// valuesLanguage returns the language text is written in when it is
// clearly not want ("fr" or "en"), else "". lexicon.Detect breaks ties
// towards French, so for English a French verdict must survive one extra
// English stopword: it then has strictly more French stopwords.
func valuesLanguage(text, want string) string {
	switch lexicon.BaseLang(want) {
	case "fr", "":
		if lexicon.Detect(text) == "en" {
			return "en"
		}
	case "en":
		if lexicon.Detect(text+" the") == "fr" {
			return "fr"
		}
	}
	return ""
}
