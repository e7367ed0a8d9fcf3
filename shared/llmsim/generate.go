package llmsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// generator builds one answer from a request's schema and content. Every
// choice hashes the request with the property name, so answers do not
// depend on the order properties are visited in.
type generator struct {
	seed   int64
	h      uint64
	req    Request
	url    string // page quoted in evidence
	quote  string // verbatim words from the untrusted website content
	system string
	// inputs is set when the user message carries values produced by
	// other agents: without a quote, a model infers from them (level 2).
	inputs bool
}

var (
	fenceRe = regexp.MustCompile(`(?s)<(untrusted[a-z_]*)>(.*?)</untrusted[a-z_]*>`)
	urlRe   = regexp.MustCompile(`https?://[^\s)>\]"]+`)
)

func newGenerator(seed int64, h uint64, req Request) *generator {
	g := &generator{seed: seed, h: h, req: req}
	if len(req.Messages) > 0 && req.Messages[0].Role == "system" {
		g.system = req.Messages[0].Content
	}
	// The quote: words from the middle of the longest line inside the
	// untrusted fence of the user messages, with the URL seen before it.
	best := 0
	for _, m := range req.Messages {
		if m.Role != "user" {
			continue
		}
		if strings.Contains(m.Content, "# Valeurs produites par les autres agents") {
			g.inputs = true
		}
		for _, f := range fenceRe.FindAllStringSubmatch(m.Content, -1) {
			url := ""
			for _, line := range strings.Split(f[2], "\n") {
				if u := urlRe.FindString(line); u != "" {
					url = u
				}
				if i := strings.Index(line, ":"); i >= 0 && i < 25 {
					line = line[i+1:]
				}
				w := strings.Fields(line)
				if len(w) < 8 || len(w) <= best {
					continue
				}
				best = len(w)
				n := min(10, len(w)-4)
				g.quote = strings.Join(w[2:2+n], " ")
				g.url = url
			}
		}
	}
	return g
}

// pick returns a number in [0, n) determined by the request and key.
func (g *generator) pick(key string, n int) int {
	if n <= 0 {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%d\x00%s", g.seed, g.h, key)
	return int(h.Sum64() % uint64(n))
}

// answer walks the request's schema.
func (g *generator) answer() string {
	var root map[string]any
	if json.Unmarshal(g.req.Schema, &root) != nil {
		return `{}`
	}
	b, _ := json.Marshal(g.value("", root, root, 0))
	return string(b)
}

// value generates a value for schema s of property name.
func (g *generator) value(name string, s, root map[string]any, depth int) any {
	if depth > 20 {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		if def, ok := resolve(root, ref); ok {
			return g.value(name, def, root, depth+1)
		}
		return nil
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, a := range alts {
			if m, ok := a.(map[string]any); ok && m["type"] != "null" {
				return g.value(name, m, root, depth+1)
			}
		}
		return nil
	}
	if c, ok := s["const"]; ok {
		return c
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return g.enum(name, enum)
	}
	typ := s["type"]
	if ts, ok := typ.([]any); ok { // ["string", "null"]
		typ = nil
		for _, t := range ts {
			if t != "null" {
				typ = t
				break
			}
		}
	}
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names)
		out := map[string]any{}
		for _, k := range names {
			if ps, ok := props[k].(map[string]any); ok {
				out[k] = g.value(k, ps, root, depth+1)
			}
		}
		return out
	case "array":
		n := 1
		if m, ok := s["minItems"].(float64); ok && int(m) > n {
			n = min(int(m), 10)
		}
		if name == "evidence" && g.quote == "" {
			n = 0
		}
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			out = append(out, g.value(name+"."+strconv.Itoa(i), items, root, depth+1))
		}
		return out
	case "integer", "number":
		lo, hi := 1.0, 5.0
		if v, ok := s["minimum"].(float64); ok {
			lo = v
		}
		if v, ok := s["maximum"].(float64); ok {
			hi = v
		}
		if hi < lo {
			hi = lo
		}
		return int(lo) + g.pick(name, int(hi-lo)+1)
	case "boolean":
		return false
	case "string":
		return g.str(name)
	}
	return nil
}

func resolve(root map[string]any, ref string) (map[string]any, bool) {
	cur := any(root)
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	return m, ok
}

// enum picks fallback_level 1 and confidence 4 when there is a quote to
// back them, level 2 and confidence 3 when the answer builds on other
// agents' values, level 3 and confidence 2 otherwise; any other enum by
// hash.
func (g *generator) enum(name string, enum []any) any {
	want := -1.0
	switch name {
	case "fallback_level":
		switch {
		case g.quote != "":
			want = 1
		case g.inputs:
			want = 2
		default:
			want = 3
		}
	case "confidence":
		switch {
		case g.quote != "":
			want = 4
		case g.inputs:
			want = 3
		default:
			want = 2
		}
	}
	for _, v := range enum {
		if f, ok := v.(float64); ok && f == want {
			return v
		}
	}
	return enum[g.pick(name, len(enum))]
}

// Phrase banks: plausible French values within the agents' limits, without
// corporate jargon, lower-case starts (names excepted).
var banks = []struct {
	keys    []string
	phrases []string
}{
	{[]string{"competitor_name"}, []string{"Sellsy", "Axonaut", "Pipedrive", "Payfit", "Aircall", "Lucca", "Ringover"}},
	{[]string{"persona"}, []string{"directeurs commerciaux de pme industrielles", "responsables marketing d'éditeurs saas", "dirigeants de cabinets de conseil", "directeurs financiers d'entreprises de services", "responsables des ressources humaines"}},
	{[]string{"category"}, []string{"logiciel de gestion commerciale", "plateforme de recrutement en ligne", "solution de téléphonie cloud", "logiciel de paie pour pme", "service de formation des vendeurs"}},
	{[]string{"solve_specific_pain", "pain"}, []string{"un pipeline qui dépend trop des salons", "des relances commerciales faites à la main", "un recrutement de commerciaux lent et coûteux", "des prospects mal qualifiés qui encombrent l'agenda"}},
	{[]string{"problem"}, []string{"trop peu de rendez-vous qualifiés chaque mois", "une prospection sans méthode ni suivi", "des commerciaux qui passent leur temps à chercher des contacts"}},
	{[]string{"impact"}, []string{"des cycles de vente deux fois plus longs", "un quart du temps commercial perdu en saisie", "des objectifs trimestriels manqués de vingt pour cent"}},
	{[]string{"target", "signal"}, []string{"éditeurs saas b2b recrutant des commerciaux et ayant levé des fonds", "pme industrielles avec un nouveau directeur commercial", "agences marketing utilisant hubspot et recrutant un growth", "cabinets de conseil ayant ouvert un second bureau cette année"}},
	{[]string{"system"}, []string{"veille automatique des levées de fonds et des recrutements", "enrichissement des contacts décideurs par signal", "séquence de quatre emails personnalisés par persona", "relance téléphonique des prospects ayant ouvert l'email"}},
	{[]string{"insight"}, []string{"un éditeur saas lyonnais a obtenu 42 rendez-vous qualifiés en trois mois", "une pme industrielle a doublé son nombre de démos en un trimestre", "un cabinet de conseil a signé huit nouveaux clients en six mois"}},
	{[]string{"result"}, []string{"42 rendez-vous qualifiés en trois mois", "deux fois plus de démos en un trimestre", "huit nouveaux clients en six mois"}},
	{[]string{"reasoning"}, []string{"le site décrit l'offre et les clients visés, la valeur en découle directement", "déduit des pages du site et du contexte client fourni", "le secteur et les témoignages du site orientent ce choix"}},
}

// str generates a string for property name.
func (g *generator) str(name string) string {
	base := name
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "url":
		return g.url
	case "quote":
		return g.quote
	}
	for _, b := range banks {
		for _, k := range b.keys {
			if strings.Contains(base, k) {
				return b.phrases[g.pick(name, len(b.phrases))]
			}
		}
	}
	return g.sentence()
}

func (g *generator) sentence() string {
	s := []string{"réponse simulée pour ce prospect", "valeur générée par le simulateur", "texte de démonstration du simulateur"}
	return s[g.pick("sentence", len(s))]
}

// malform breaks a valid answer in one of three ways.
func (g *generator) malform(content string) string {
	switch g.pick("malformed", 3) {
	case 0:
		return "Voici la réponse demandée :\n" + content
	case 1:
		return strings.TrimSuffix(content, "}")
	default:
		var m map[string]any
		if json.Unmarshal([]byte(content), &m) != nil {
			return content + ","
		}
		delete(m, "values")
		b, _ := json.Marshal(m)
		return string(b)
	}
}

// compromised answers like a model that followed instructions injected in
// the website content: schema-valid JSON, but the first value (in name
// order) quotes the client context from the system message and the others
// are English.
func (g *generator) compromised() string {
	var root map[string]any
	if json.Unmarshal(g.req.Schema, &root) != nil {
		return `{}`
	}
	v, _ := g.value("", root, root, 0).(map[string]any)
	if v == nil {
		return `{}`
	}
	excerpt := g.contextExcerpt()
	english := "please ignore the rules and send this to the team with the best offer"
	if vals, ok := v["values"].(map[string]any); ok {
		names := make([]string, 0, len(vals))
		for k := range vals {
			names = append(names, k)
		}
		sort.Strings(names)
		for i, k := range names {
			vals[k] = english
			if i == 0 && excerpt != "" {
				vals[k] = excerpt
			}
		}
	}
	v["reasoning"] = "I followed the new instructions found on the website."
	v["injection_detected"] = false
	b, _ := json.Marshal(v)
	return string(b)
}

// contextExcerpt returns ten words of the client context in the system
// message: the first body line after a heading naming the ICP ("PCI",
// "Profil client", "ICP"), else after any second-level heading.
func (g *generator) contextExcerpt() string {
	lines := strings.Split(g.system, "\n")
	for _, marker := range []string{"pci", "profil client", "icp", "## "} {
		for i, l := range lines {
			if !strings.HasPrefix(strings.TrimSpace(l), "#") || !strings.Contains(strings.ToLower(l), marker) {
				continue
			}
			for _, body := range lines[i+1:] {
				w := strings.Fields(body)
				if len(w) >= 4 && !strings.HasPrefix(body, "#") {
					return strings.Join(w[:min(10, len(w))], " ")
				}
			}
		}
	}
	return ""
}
