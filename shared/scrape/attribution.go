package scrape

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// nameSeparators split "Name, Title", "Name — Title", "Name · Title", ...
var nameSeparators = []string{", ", " — ", " – ", " - ", " · ", " | ", " • ", " ("}

// splitAttribution splits a testimonial attribution into the person's name
// and job title, dropping the company:
//
//	"Claire Martin, Directrice commerciale chez Acme" -> "Claire Martin", "Directrice commerciale"
//	"— Claire Martin — Head of Sales, Acme"          -> "Claire Martin", "Head of Sales"
//	"Claire Martin\nVP Sales\nAcme SAS"              -> "Claire Martin", "VP Sales"
//	"Directrice commerciale, Acme"                   -> "", "Directrice commerciale"
func splitAttribution(s string) (author, title string) {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = cleanName(l)
		if l != "" && utf8.RuneCountInString(l) <= 120 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "", ""
	}
	// Skip a leading headline ("Un outil génial") before the name.
	for i, l := range lines {
		if name, _ := cutName(l); looksLikeName(name) || isJobTitle(name) {
			lines = lines[i:]
			break
		}
	}
	name, tail := cutName(lines[0])
	if isJobTitle(name) {
		return "", titleOf(strings.Join(lines, "\n"))
	}
	rest := lines[1:]
	if tail != "" {
		rest = append([]string{tail}, rest...)
	}
	return name, titleOf(strings.Join(rest, "\n"))
}

// looksLikeName reports whether s could be a person's name: one to five
// words, each capitalised apart from particles ("Léa de La Fontaine").
func looksLikeName(s string) bool {
	words := strings.Fields(s)
	if len(words) == 0 || len(words) > 5 {
		return false
	}
	for _, w := range words {
		switch strings.ToLower(w) {
		case "de", "du", "des", "la", "le", "van", "von", "der", "den", "da", "di", "dos", "el", "al", "bin", "ben":
			continue
		}
		r, _ := utf8.DecodeRuneInString(strings.TrimPrefix(strings.TrimPrefix(w, "d'"), "d’"))
		if !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// cutName splits s at its first name separator.
func cutName(s string) (name, tail string) {
	at, sep := -1, ""
	for _, p := range nameSeparators {
		if i := strings.Index(s, p); i > 0 && (at < 0 || i < at) {
			at, sep = i, p
		}
	}
	if at < 0 {
		return s, ""
	}
	tail = strings.TrimSpace(s[at+len(sep):])
	if sep == " (" {
		tail = strings.TrimSuffix(tail, ")")
	}
	return cleanName(s[:at]), tail
}

// titleOf picks the job title among the segments of s (lines and name
// separators): the first with a job word ("Directrice", "Head", "CEO"...), else
// the first that is not clearly a company ("Acme SAS", "acme.fr").
func titleOf(s string) string {
	var segs []string
	for _, l := range strings.Split(s, "\n") {
		for l != "" {
			head, tail := cutName(l)
			if t := cleanTitle(head); t != "" {
				segs = append(segs, t)
			}
			l = tail
		}
	}
	for _, seg := range segs {
		if isJobTitle(seg) {
			return seg
		}
	}
	for _, seg := range segs {
		if !isCompany(seg) {
			return seg
		}
	}
	return ""
}

// cleanTitle trims a job title and drops a trailing company part:
// "Directrice commerciale chez Acme" -> "Directrice commerciale",
// "Head of Sales at Acme", "CTO @Acme", "CEO (Acme)".
func cleanTitle(s string) string {
	s = cleanName(s)
	if i := strings.Index(s, " ("); i > 0 {
		s = s[:i]
	}
	lower := strings.ToLower(s)
	for _, sep := range []string{" chez ", " at ", " @", "@"} {
		if i := strings.Index(lower, sep); i > 0 {
			s, lower = s[:i], lower[:i]
		}
	}
	return cleanName(s)
}

// cleanName trims white space, leading dashes and bullets, and trailing
// punctuation.
func cleanName(s string) string {
	s = oneLine(s)
	s = strings.TrimLeft(s, "—–-~―•·|,:;/ ")
	s = strings.TrimRight(s, "—–-~―•·|,:;/ ")
	return strings.TrimSpace(s)
}

// jobWords are folded words that mark a job title.
var jobWords = map[string]bool{
	"ceo": true, "cto": true, "cfo": true, "coo": true, "cmo": true, "cio": true, "cso": true, "cpo": true,
	"cro": true, "vp": true, "svp": true, "evp": true, "pdg": true, "dg": true, "dga": true, "drh": true,
	"daf": true, "dsi": true, "rssi": true, "rh": true, "head": true, "chief": true, "officer": true,
	"directeur": true, "directrice": true, "director": true, "direction": true, "dirigeant": true,
	"dirigeante": true, "responsable": true, "manager": true, "gerant": true, "gerante": true,
	"president": true, "presidente": true, "fondateur": true, "fondatrice": true, "cofondateur": true,
	"cofondatrice": true, "founder": true, "cofounder": true, "chef": true, "lead": true, "leader": true,
	"associe": true, "associee": true, "partner": true, "owner": true, "consultant": true,
	"consultante": true, "ingenieur": true, "ingenieure": true, "engineer": true, "commercial": true,
	"commerciale": true, "sales": true, "marketing": true, "charge": true, "chargee": true,
	"acheteur": true, "acheteuse": true, "buyer": true, "developer": true, "developpeur": true,
	"developpeuse": true, "comptable": true, "controleur": true, "analyst": true, "analyste": true,
	"coordinateur": true, "coordinatrice": true, "administrateur": true, "administratrice": true,
	"specialist": true, "specialiste": true, "expert": true, "experte": true, "architect": true,
	"architecte": true, "executive": true,
	"vice": true, "secretaire": true, "assistant": true, "assistante": true, "technicien": true,
	"technicienne": true, "pharmacien": true, "pharmacienne": true, "medecin": true, "avocat": true,
	"avocate": true, "notaire": true,
	"business": true, "recruteur": true, "recruteuse": true, "recruiter": true,
	"supervisor": true, "superviseur": true, "superviseuse": true,
}

func isJobTitle(s string) bool {
	for _, w := range strings.Fields(fold(s)) {
		if jobWords[w] {
			return true
		}
	}
	return false
}

// companyWords are folded legal forms that mark a company name.
var companyWords = map[string]bool{
	"sas": true, "sasu": true, "sarl": true, "sa": true, "eurl": true, "sca": true, "scop": true,
	"inc": true, "ltd": true, "llc": true, "llp": true, "plc": true, "gmbh": true, "ag": true,
	"bv": true, "nv": true, "spa": true, "srl": true, "corp": true, "corporation": true,
	"group": true, "groupe": true, "holding": true,
}

func isCompany(s string) bool {
	if !strings.Contains(s, " ") && strings.Contains(s, ".") {
		return true // acme.fr
	}
	for _, w := range strings.Fields(fold(s)) {
		if companyWords[w] {
			return true
		}
	}
	return false
}
