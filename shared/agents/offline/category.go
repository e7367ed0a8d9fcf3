package offline

import (
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/lexicon"
)

// productCategory classifies the prospect into competitors.json's
// categories (agents.Classify) and phrases the category as the noun the
// template needs: level 1 when the site names the category itself, 2 when
// it is inferred from the site's words, 3 when competitors.json lists the
// prospect; without a category, the contact's industry through a pattern
// or the default (level 4).
func productCategory(pb *phrasebook, req agents.Request) email.Answer {
	cls := agents.Classify(req.Context, req.Contact, req.Site)
	if cls.Category != "" {
		value := pb.productNoun(cls.Category)
		if url, ok := req.Site.Find(cls.Category); ok {
			return answer(email.LevelSite, 5, fmt.Sprintf("product_category: the site names the category %q.", cls.Category),
				map[string]string{"product_category": value}, email.Evidence{URL: url, Quote: cls.Category})
		}
		if cls.Listed {
			return answer(email.LevelContext, 4, "product_category: "+cls.Why()+".", map[string]string{"product_category": value})
		}
		a := answer(email.LevelInferred, cls.Confidence(), "product_category: "+cls.Why()+".", map[string]string{"product_category": value})
		if cls.Evidence.Quote != "" {
			a.Evidence = []email.Evidence{cls.Evidence}
		}
		return a
	}
	if ind := strings.TrimSpace(req.Contact.Industry); ind != "" {
		return answer(email.LevelDefault, 2, "product_category: no category of competitors.json matches the site; phrased from the contact's industry.",
			map[string]string{"product_category": strings.ReplaceAll(pb.IndustryCat, "{industry}", strings.ToLower(ind))})
	}
	return answer(email.LevelDefault, 1, "product_category: no category matches and no industry: configured default.",
		map[string]string{"product_category": agents.Default(req.Language, "product_category")})
}

// productNoun phrases a category as a product noun: a category starting
// with a product head ("logiciel de paie", "CRM") is kept; another one is
// put in ProductNoun ("gestion des dépenses" → "solution de gestion des
// dépenses"). Acronyms keep their capitals, other words start lower-case.
func (pb *phrasebook) productNoun(category string) string {
	category = strings.TrimSpace(category)
	low := lexicon.LowerFirst(category)
	if lexicon.StartsWithAcronym(category) {
		return category
	}
	first := lexicon.Fold(strings.Fields(low + " ")[0])
	for _, h := range pb.ProductHeads {
		if hf := lexicon.Fold(h); first == hf || strings.HasPrefix(lexicon.Fold(low), hf+" ") {
			return low
		}
	}
	pattern := pb.ProductNoun
	if r := []rune(lexicon.Fold(low)); len(r) > 0 && strings.ContainsRune("aeiouyh", r[0]) {
		pattern = pb.ProductNounElided
	}
	return strings.ReplaceAll(pattern, "{category}", low)
}
