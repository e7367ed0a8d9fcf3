package contacts

import "testing"

func TestCanonical(t *testing.T) {
	tests := []struct{ header, want string }{
		{"Prénom", "first_name"},
		{"PRENOM", "first_name"},
		{"First Name", "first_name"},
		{"firstname", "first_name"},
		{"first-name", "first_name"},
		{"Given name", "first_name"},
		{"Nom", "last_name"},
		{"Nom de famille", "last_name"},
		{"Last Name", "last_name"},
		{"Surname", "last_name"},
		{"E-mail", "email"},
		{"Email Address", "email"},
		{"Adresse e-mail", "email"},
		{"mail", "email"},
		{"Courriel", "email"},
		{"Société", "company_name"},
		{"  Entreprise ", "company_name"},
		{"Company", "company_name"},
		{"Company Name", "company_name"},
		{"Organisation", "company_name"},
		{"Organization", "company_name"},
		{"Compagnie", "company_name"},
		{"Site web", "website"},
		{"Site", "website"},
		{"URL", "website"},
		{"Company Website", "website"},
		{"Domaine", "website"},
		{"domain", "website"},
		{"LinkedIn", "linkedin_url"},
		{"LinkedIn URL", "linkedin_url"},
		{"Profil LinkedIn", "linkedin_url"},
		{"linkedin profile", "linkedin_url"},
		{"Secteur", "industry"},
		{"Secteur d'activité", "industry"},
		{"Secteur d’activité", "industry"},
		{"Industrie", "industry"},
		{"Poste", "job_title"},
		{"Titre", "job_title"},
		{"Job Title", "job_title"},
		{"Fonction", "job_title"},
		// Not aliases: snake_case ASCII.
		{"Taille entreprise", "taille_entreprise"},
		{"Nombre d'employés", "nombre_d_employes"},
		{"  Chiffre  d'affaires (€) ", "chiffre_d_affaires"},
		{"Cœur de métier", "coeur_de_metier"},
		{"Company Name for Emails", "company_name_for_emails"},
		{"Email Status", "email_status"},
		{"名前", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Canonical(tt.header); got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// Every canonical name maps to itself, and no alias is claimed by two names
// (which map iteration order would otherwise decide).
func TestCanonicalAliases(t *testing.T) {
	owner := map[string]string{}
	for canon, names := range aliasNames {
		if got := Canonical(canon); got != canon {
			t.Errorf("Canonical(%q) = %q", canon, got)
		}
		for _, n := range append(names, canon) {
			k := compact(fold(n))
			if o, ok := owner[k]; ok && o != canon {
				t.Errorf("alias %q is claimed by %q and %q", n, o, canon)
			}
			owner[k] = canon
		}
	}
}
