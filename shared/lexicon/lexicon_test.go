package lexicon

import (
	"reflect"
	"strings"
	"testing"
)

func TestJargon(t *testing.T) {
	tests := []struct {
		name, lang, text string
		want             []string
	}{
		{"inflections via stem", "fr", "Une offre innovante, des outils innovants, un produit innovant.", []string{"innovante", "innovants", "innovant"}},
		{"case-insensitive", "fr", "Le LEADER du marché.", []string{"LEADER"}},
		{"plural listed", "fr", "Nous sommes leaders.", []string{"leaders"}},
		{"leadership is not leader", "fr", "Votre leadership et votre leaderboard.", nil},
		{"accent-insensitive text", "fr", "Une approche revolutionnaire.", []string{"revolutionnaire"}},
		{"accent-insensitive verb stem", "fr", "Nous révolutionnons la prospection.", []string{"révolutionnons"}},
		{"révolution is plain French", "fr", "La révolution industrielle.", nil},
		{"hyphenated entry matches spaced text", "fr", "Une solution clé-en-main et du best in class.", []string{"clé-en-main", "best in class"}},
		{"phrase", "fr", "Une technologie de pointe.", []string{"de pointe"}},
		{"longest phrase wins, no overlap", "fr", "Être à la pointe de la technologie.", []string{"à la pointe"}},
		{"word boundary inside a word", "fr", "Les synergiesque et pointes.", nil},
		{"elision split", "fr", "L'innovante équipe.", []string{"innovante"}},
		{"symbol entry n°1", "fr", "Le N° 1 et le n°1 du secteur.", []string{"N° 1"}},
		{"same term once", "fr", "Leader ici, leader là.", []string{"Leader"}},
		{"game-changer both spellings", "fr", "Un vrai game changer.", []string{"game changer"}},
		{"plain words", "fr", "Nous aidons les équipes support à répondre plus vite.", nil},
		{"en: leading alone is fine", "en", "This is leading to delays while leading a team.", nil},
		{"en: a leading", "en", "We are a leading provider of industry-leading tools.", []string{"a leading", "industry-leading"}},
		{"en: stems", "en", "Seamlessly leveraging synergies.", []string{"Seamlessly", "leveraging", "synergies"}},
		{"unknown lang falls back to en", "de", "A world-class team.", []string{"world-class"}},
		{"region suffix", "fr-FR", "Très innovant.", []string{"innovant"}},
		{"empty", "fr", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Jargon(tt.lang, tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Jargon(%q, %q) = %q, want %q", tt.lang, tt.text, got, tt.want)
			}
		})
	}
}

func TestSpam(t *testing.T) {
	tests := []struct {
		name, lang, text string
		want             []string
	}{
		{"fr words and symbol phrase", "fr", "Essai GRATUIT, 100% garanti, cliquez ici.", []string{"GRATUIT", "100%", "garanti", "cliquez ici"}},
		{"fr spaced percent", "fr", "C'est 100 % remboursé.", []string{"100 %"}},
		{"fr 100 alone is fine", "fr", "Nous avons 100 clients et 40 % de croissance.", nil},
		{"fr stem", "fr", "Testez gratuitement.", []string{"gratuitement"}},
		{"fr accents optional", "fr", "Offre speciale et felicitations !", []string{"Offre speciale", "felicitations"}},
		{"en: free alone is fine", "en", "Feel free to reply, it frees up time and is risk-free.", nil},
		{"en: spammy free", "en", "Get it for free. Click here!", []string{"for free", "Click here"}},
		{"en: symbols", "en", "Earn $$$ now.", []string{"$$$"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Spam(tt.lang, tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Spam(%q, %q) = %q, want %q", tt.lang, tt.text, got, tt.want)
			}
		})
	}
}

func TestTitleCasedRoles(t *testing.T) {
	tests := []struct {
		name, lang, text string
		want             []string
	}{
		{"mid-sentence plural title", "fr", "Je parle souvent aux Directeurs Financiers de PME.", []string{"Directeurs Financiers"}},
		{"seed's VP Sales", "fr", "Les équipes du VP Sales sont souvent débordées.", []string{"VP Sales"}},
		{"VP Sales at line start", "fr", "Bonjour,\nVP Sales chez Acme, vous savez que…", []string{"VP Sales"}},
		{"seed's Head Of", "en", "I spoke with your Head Of Sales yesterday.", []string{"Head Of Sales"}},
		{"capitalised role with lower-case connector", "en", "I spoke with your Head of Sales.", []string{"Head of Sales"}},
		{"multi-word title at sentence start", "fr", "Responsable Commercial chez Acme ? C'est votre cas.", []string{"Responsable Commercial"}},
		{"single role word at sentence start", "fr", "Directeur chez Acme depuis 2019, vous…", nil},
		{"connector inside a title", "fr", "Le rôle du Directeur des Ventes change.", []string{"Directeur des Ventes"}},
		{"preceding title word included", "fr", "Vos Sales Managers aiment ça.", []string{"Sales Managers"}},
		{"sentence-initial stopword not included", "fr", "Nos Managers aiment ça.", []string{"Managers"}},
		{"hyphenated role", "fr", "Je suis le Co-Fondateur, avec Marie.", []string{"Co-Fondateur"}},
		{"elided role", "fr", "Le rôle d'Administrateur et l'avis du Gérant.", []string{"Gérant"}},
		{"each title once", "fr", "Aux Directeurs Financiers et encore aux directeurs Financiers, puis aux Directeurs Financiers.", []string{"Directeurs Financiers"}},
		{"seed's lower-case-first convention", "fr", "Les équipes du vP Sales et les directeurs financiers.", nil},
		{"all-caps acronyms are fine", "fr", "Le CEO, le DRH, le DAF, le CTO et les RH de PME B2B.", nil},
		{"VP alone is fine", "en", "Our VP and the CEOs agree.", nil},
		{"comma stops a title", "fr", "Avec les directeurs, Marketing et Ventes.", nil},
		{"non-role capitalised words", "fr", "Nous utilisons Zendesk et Intercom chez Alan.", nil},
		{"English possessive", "en", "Ask the Founder's team.", []string{"Founder's"}},
		{"empty", "fr", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TitleCasedRoles(tt.lang, tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TitleCasedRoles(%q, %q) = %q, want %q", tt.lang, tt.text, got, tt.want)
			}
		})
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"L'équipe d'aujourd'hui", []string{"L'équipe", "d'aujourd'hui"}},
		{"l’équipe (typographic apostrophe)", []string{"l’équipe", "typographic", "apostrophe"}},
		{"un e-mail — vite !", []string{"un", "e-mail", "vite"}},
		{"3,5 % et 1.000 clients, puis 2 500", []string{"3,5", "et", "1.000", "clients", "puis", "2", "500"}},
		{"Voir https://kaleads.fr/a?b=1, (www.kaleads.fr).", []string{"Voir", "https://kaleads.fr/a?b=1", "www.kaleads.fr"}},
		{"Écrivez à contact@kaleads.fr.", []string{"Écrivez", "à", "contact@kaleads.fr"}},
		{"- Début -- fin 🎉", []string{"Début", "fin"}},
		{"fin.Début", []string{"fin", "Début"}},
		{"", nil},
	}
	for _, tt := range tests {
		got := Words(tt.text)
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"french paragraph", "Bonjour Sophie, j'ai vu que votre équipe support recrute à Nantes. Quand une équipe grandit aussi vite, les délais de réponse s'allongent souvent et les mêmes questions reviennent.", "fr"},
		{"english paragraph", "Hi Sophie, I saw that your support team is hiring in Nantes. When a team grows that fast, response times get longer and the same questions keep coming back.", "en"},
		{"french without accents", "Je vous ecris car votre equipe a ete citee dans la presse.", "fr"},
		{"no stopword: tie goes to fr", "Kaleads Zendesk Intercom", "fr"},
		{"empty", "", "fr"},
		{"mostly english with a french name", "The team at Société Générale is growing and we would like to help them.", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.text); got != tt.want {
				t.Errorf("Detect(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSupported(t *testing.T) {
	for lang, want := range map[string]bool{"fr": true, "en": true, "FR-fr": true, "en_GB": true, "de": false, "": false} {
		if got := Supported(lang); got != want {
			t.Errorf("Supported(%q) = %v, want %v", lang, got, want)
		}
	}
}

// TestLists guards the embedded files: every list is present, every term
// tokenizes, and no term is listed twice.
func TestLists(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		for _, name := range []string{"jargon.txt", "spam.txt", "roles.txt", "stopwords.txt"} {
			terms := readList(lang, name)
			if len(terms) == 0 {
				t.Errorf("%s/%s: empty or missing", lang, name)
			}
			seen := map[string]bool{}
			for _, term := range terms {
				if len(matchTokens(strings.TrimSuffix(term, "*"))) == 0 {
					t.Errorf("%s/%s: %q has no word", lang, name, term)
				}
				key := Fold(term)
				if name == "stopwords.txt" {
					key = strings.ToLower(term) // accents kept: "ou" and "où" differ
				}
				if seen[key] {
					t.Errorf("%s/%s: %q listed twice", lang, name, term)
				}
				seen[key] = true
				if name == "roles.txt" && len(matchTokens(term)) != 1 {
					t.Errorf("%s/%s: %q is not a single word", lang, name, term)
				}
			}
		}
	}
}

func FuzzLexicon(f *testing.F) {
	f.Add("Aux Directeurs Financiers, une offre innovante 100 % gratuite ! l'équipe n°1")
	f.Add("VP Sales\n\u00a0Head Of Sales d'Acme’s ‐ co-Fondateur")
	f.Fuzz(func(t *testing.T, text string) {
		for _, lang := range []string{"fr", "en"} {
			for _, s := range append(append(Jargon(lang, text), Spam(lang, text)...), TitleCasedRoles(lang, text)...) {
				if !strings.Contains(text, s) {
					t.Fatalf("snippet %q not in text", s)
				}
			}
		}
		for _, w := range Words(text) {
			if w == "" || !strings.Contains(text, w) {
				t.Fatalf("word %q not in text", w)
			}
		}
		if d := Detect(text); d != "fr" && d != "en" {
			t.Fatalf("Detect = %q", d)
		}
	})
}
