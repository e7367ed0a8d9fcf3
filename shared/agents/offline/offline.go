// Package offline is the deterministic engine: it fills every agent from
// the scraped pages and the client's context, without any network call. It
// is the default when no LLM is configured and the last resort when the LLM
// fails. One file per agent; the phrase patterns live in fr.json and
// en.json, the word lists in shared/lexicon, the level-4 defaults in
// shared/agents.
//
// Levels are honest: a value read on the site is level 1 with its quote, a
// value inferred from the site (a category chosen by text similarity) is
// level 2, a value taken from the client's context files is level 3, and a
// value filled from a phrase pattern is level 4.
package offline

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
)

//go:embed *.json
var files embed.FS

// Version is the engine's version, part of cache keys.
const Version = "offline/v2"

// phrasebook is the per-language configuration (fr.json, en.json).
type phrasebook struct {
	// Condense lists [from, to] rewrites that shorten a value over its word
	// limit without losing its meaning ("de gestion des " → "de ").
	Condense [][2]string `json:"condense"`
	// ProductHeads are the nouns a product category may start with
	// ("logiciel", "plateforme", "CRM"); another category is phrased with
	// ProductNoun ("solution de {category}").
	ProductHeads      []string `json:"product_heads"`
	ProductNoun       string   `json:"product_noun"`
	ProductNounElided string   `json:"product_noun_elided"`
	// AudienceLeads introduce who a product is for ("pour les", "built
	// for"); AudienceHeadings title a "who it's for" section.
	AudienceLeads    []string `json:"audience_leads"`
	AudienceHeadings []string `json:"audience_headings"`
	// TeamWords name a group of buyers ("sales and support teams",
	// "équipes RH et paie"): the words around them may name functions.
	TeamWords []string `json:"team_words"`
	Segments  []struct {
		Words  []string `json:"words"`
		Phrase string   `json:"phrase"`
	} `json:"segments"`
	Signal1        string `json:"signal_1"`
	Signal1Segment string `json:"signal_1_segment"`
	Signal2        string `json:"signal_2"`
	System1        string `json:"system_1"`
	System2        string `json:"system_2"`
	System3        string `json:"system_3"`
	CaseInsight    string `json:"case_insight"`
	CaseInsightInd string `json:"case_insight_industry"`
	CaseAnonymous  string `json:"case_insight_anonymous"`
	CaseAnonInd    string `json:"case_insight_anonymous_industry"`
	IndustryCat    string `json:"industry_category"`
	// Elide lists the words that drop their vowel before one ("de" →
	// "d'" in "une base d'équipes").
	Elide []string `json:"elide"`

	audienceLead *regexp.Regexp
	teamPhrase   *regexp.Regexp
	elision      *regexp.Regexp // nil when the language elides nothing
}

// Engine is the offline engine.
type Engine struct {
	books map[string]*phrasebook
}

// New loads the embedded phrasebooks.
func New() (*Engine, error) {
	e := &Engine{books: map[string]*phrasebook{}}
	for _, lang := range []string{"fr", "en"} {
		b, err := files.ReadFile(lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("offline engine: %w", err)
		}
		var pb phrasebook
		if err := json.Unmarshal(b, &pb); err != nil {
			return nil, fmt.Errorf("offline engine: %s.json: %w", lang, err)
		}
		leads := make([]string, len(pb.AudienceLeads))
		for i, l := range pb.AudienceLeads {
			leads[i] = regexp.QuoteMeta(l)
		}
		sort.Slice(leads, func(i, j int) bool { return len(leads[i]) > len(leads[j]) })
		pb.audienceLead = regexp.MustCompile(`(?i)(?:^|[\s(])(?:` + strings.Join(leads, "|") + `)\s+([^.;:!?()\n]{3,80})`)
		teams := make([]string, len(pb.TeamWords))
		for i, w := range pb.TeamWords {
			teams[i] = regexp.QuoteMeta(w)
		}
		// "marketing, sales and customer service teams" (up to five words
		// before) or "équipes commerciales et support" (up to three after).
		pb.teamPhrase = regexp.MustCompile(`(?i)(?:(?:[\p{L}&-]+,?\s+){1,5}(?:` + strings.Join(teams, "|") + `)(?:[^\p{L}]|$)|(?:^|[\s(])(?:` + strings.Join(teams, "|") + `)(?:\s+[\p{L}-]+,?){1,3})`)
		if len(pb.Elide) > 0 {
			pb.elision = regexp.MustCompile(`(^|[\s(])(` + strings.Join(pb.Elide, "|") + `) ([aeiouyàâäéèêëîïôöûüœAEIOUYÀÂÉÈÊÎÔÛŒ])`)
		}
		e.books[lang] = &pb
	}
	return e, nil
}

// Name implements agents.Engine.
func (e *Engine) Name() string { return "offline" }

// Version implements agents.Engine.
func (e *Engine) Version(string) string { return Version }

func (e *Engine) book(lang string) *phrasebook {
	if b, ok := e.books[lexicon.BaseLang(lang)]; ok {
		return b
	}
	return e.books["en"]
}

// Answer implements agents.Engine. It only fails when ctx is done.
func (e *Engine) Answer(ctx context.Context, req agents.Request) (email.Answer, error) {
	if err := ctx.Err(); err != nil {
		return email.Answer{}, err
	}
	pb := e.book(req.Language)
	var a email.Answer
	switch req.Spec.Name {
	case agents.Persona.Name:
		a = persona(pb, req)
	case agents.Competitor.Name:
		a = competitor(req)
	case agents.Pain.Name:
		a = pain(req)
	case agents.Signal.Name:
		a = signal(pb, req)
	case agents.System.Name:
		a = system(pb, req)
	case agents.CaseStudy.Name:
		a = caseStudy(pb, req)
	default:
		return email.Answer{}, fmt.Errorf("offline engine: unknown agent %q", req.Spec.Name)
	}
	a.Agent, a.Engine, a.Version = req.Spec.Name, e.Name(), Version
	return enforce(pb, req, a), nil
}

// enforce makes the answer follow the rules: values are tidied to fit, and
// a value that still breaks a rule is replaced by the level-4 default.
func enforce(pb *phrasebook, req agents.Request, a email.Answer) email.Answer {
	for _, r := range req.Spec.Rules {
		v := fit(r, pb.condense(r, a.Values[r.Var]))
		single := email.Answer{Values: map[string]string{r.Var: v}, Confidence: 1, FallbackLevel: 1, Reasoning: "-"}
		if agents.Validate(agents.Spec{Rules: []agents.Rule{r}}, single, req.Language) != nil {
			v = fit(r, agents.Default(req.Language, r.Var))
			a.FallbackLevel, a.Confidence = email.LevelDefault, 1
			a.Reasoning += fmt.Sprintf(" %s: no usable value, configured default used.", r.Var)
		}
		a.Values[r.Var] = v
	}
	a.Reasoning = strings.TrimSpace(a.Reasoning)
	return a
}

func answer(level, conf int, reasoning string, values map[string]string, ev ...email.Evidence) email.Answer {
	return email.Answer{Values: values, FallbackLevel: level, Confidence: conf, Reasoning: reasoning, Evidence: ev}
}
