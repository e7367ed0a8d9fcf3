package contacts

import (
	"strings"

	"github.com/kaleads/kaleads/shared/lexicon"
)

// Canonical column names of the columns the pipeline knows.
const (
	ColFirstName   = "first_name"
	ColLastName    = "last_name"
	ColEmail       = "email"
	ColCompanyName = "company_name"
	ColWebsite     = "website"
	ColLinkedInURL = "linkedin_url"
	ColIndustry    = "industry"
	ColJobTitle    = "job_title"
)

// aliasNames lists, per canonical name, the headers that mean it. They are
// matched after the folding done by Canonical with the underscores removed, so
// "E-mail", "e_mail" and "EMAIL" are one alias.
var aliasNames = map[string][]string{
	ColFirstName: {"first name", "prénom", "given name"},
	ColLastName:  {"last name", "nom", "nom de famille", "surname", "family name"},
	ColEmail: {"email", "email address", "adresse e-mail", "adresse email", "adresse mail",
		"mail", "courriel"},
	ColCompanyName: {"company name", "company", "société", "entreprise", "organisation",
		"organization", "compagnie", "nom de l'entreprise", "nom entreprise",
		"nom de la société", "nom société", "raison sociale"},
	ColWebsite: {"website", "site web", "site internet", "site", "url", "company website",
		"website url", "domain", "domaine"},
	ColLinkedInURL: {"linkedin url", "linkedin", "profil linkedin", "linkedin profile",
		"linkedin profile url", "person linkedin url", "url linkedin"},
	ColIndustry: {"industry", "secteur", "secteur d'activité", "industrie"},
	ColJobTitle: {"job title", "title", "titre", "poste", "fonction", "intitulé de poste"},
}

// aliases maps a folded header without underscores to its canonical name.
var aliases = func() map[string]string {
	m := make(map[string]string)
	for canon, names := range aliasNames {
		m[compact(canon)] = canon
		for _, n := range names {
			m[compact(fold(n))] = canon
		}
	}
	return m
}()

// Canonical maps a CSV header to its canonical column name. Matching ignores
// case, accents, spaces and punctuation: "Prénom", "First Name" and
// "firstname" all give "first_name"; "E-mail" and "Adresse e-mail" give
// "email". A header that is not a known alias gives its snake_case ASCII form
// ("Taille entreprise" → "taille_entreprise"). Canonical returns "" when the
// header has no ASCII letter or digit left after removing accents.
func Canonical(header string) string {
	f := fold(header)
	if c, ok := aliases[compact(f)]; ok {
		return c
	}
	return f
}

// fold lower-cases s, removes accents, spells ligatures out (lexicon.Fold)
// and joins the remaining ASCII letters and digits with single
// underscores: "Prénom " → "prenom", "Company Name" → "company_name".
func fold(s string) string {
	return strings.Join(strings.FieldsFunc(lexicon.Fold(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}), "_")
}

func compact(folded string) string { return strings.ReplaceAll(folded, "_", "") }
