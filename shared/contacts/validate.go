package contacts

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NormalizeEmail checks that s is one usable email address and returns it
// trimmed. It accepts what net/mail accepts for a single address, and the
// "Name <addr>" and "mailto:addr" forms, from which it extracts the address;
// then it requires exactly one '@', an ASCII unquoted local part with no
// spaces, and a domain name with a dot. An address starting with = + - or @
// is refused: spreadsheets and sequencer imports read such a cell as a
// formula, and the CSV export's neutralisation (a leading quote) would
// break the address. The case is kept: compare addresses with
// strings.ToLower.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("email is empty")
	}
	if len(s) > 320 {
		return "", errors.New("email is too long")
	}
	if len(s) > 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		if strings.Count(s, "@") > 1 {
			return "", errors.New("not one email address (several '@')")
		}
		return "", errors.New("not a valid email address")
	}
	addr := a.Address
	if addr != "" && strings.IndexByte(formulaStart, addr[0]) >= 0 {
		return "", fmt.Errorf("starts with %q: a spreadsheet or sequencer import would read it as a formula", addr[:1])
	}
	at := strings.IndexByte(addr, '@')
	if at < 0 || strings.Count(addr, "@") != 1 {
		return "", errors.New("not one email address (needs exactly one '@')")
	}
	local, domain := addr[:at], addr[at+1:]
	if local == "" || len(local) > 64 || len(addr) > 254 {
		return "", errors.New("not a valid email address (length)")
	}
	for _, r := range local {
		if !isLocalChar(r) {
			return "", fmt.Errorf("not a valid email address (character %q before '@')", r)
		}
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("not a valid email address: %w", err)
	}
	return addr, nil
}

// formulaStart lists the first characters that make a CSV cell a formula.
const formulaStart = "=+-@"

func isLocalChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r)
}

// checkDomain reports whether d is a domain name: at least two dot-separated
// labels of letters, digits and inner hyphens, and a top-level label that is
// not all digits (so IP addresses and "localhost" are refused).
func checkDomain(d string) error {
	if d == "" {
		return errors.New("no domain")
	}
	if len(d) > 253 {
		return errors.New("domain too long")
	}
	if !strings.Contains(d, ".") {
		return fmt.Errorf("domain %q has no dot", d)
	}
	var tld string
	for rest := d; rest != ""; {
		l, after, _ := strings.Cut(rest, ".")
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || after == "" && len(l) < len(rest) {
			return fmt.Errorf("invalid domain %q", d)
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return fmt.Errorf("invalid character %q in domain", r)
			}
		}
		tld, rest = l, after
	}
	if utf8.RuneCountInString(tld) < 2 || strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("invalid domain %q", d)
	}
	return nil
}

// NormalizeWebsite checks that s is an http(s) URL of a domain name and
// returns it normalised: trimmed, "https://" added when there is no scheme,
// scheme and host lower-cased (an internationalised host in its ASCII
// "xn--" form), path, query and fragment kept. An empty s gives
// "" and no error.
func NormalizeWebsite(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "", errors.New("not a URL (contains spaces)")
	}
	if strings.HasPrefix(s, "//") {
		s = "https:" + s
	} else if !strings.Contains(s, "://") {
		if i := strings.IndexByte(s, ':'); i >= 0 && isScheme(s[:i]) && !isPort(s[i+1:]) {
			return "", fmt.Errorf("not an http(s) URL (scheme %q)", s[:i])
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a valid URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("not an http(s) URL (scheme %q)", u.Scheme)
	}
	if u.User != nil {
		return "", errors.New("URL must not contain a user name or password")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("URL has no host")
	}
	if err := checkDomain(host); err != nil {
		return "", fmt.Errorf("not a website: %w", err)
	}
	// An internationalised host ("société.fr") is written in its ASCII form
	// ("xn--socit-esab.fr") that HTTP clients and logs handle.
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", fmt.Errorf("not a website: invalid domain %q", host)
	}
	host = ascii
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("invalid port %q", p)
		}
		host += ":" + p
	}
	u.Host = host
	return u.String(), nil
}

// isScheme reports whether s has the syntax of a URL scheme (RFC 3986 3.1).
func isScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// isPort reports whether s starts with a port number ("8080", "8080/path").
func isPort(s string) bool {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i > 0 && (i == len(s) || s[i] == '/' || s[i] == '?' || s[i] == '#')
}

// ErrInvalid is matched (errors.Is) by the error Check returns.
var ErrInvalid = errors.New("invalid contact")

// Check validates a contact that did not come through Read (a row inserted
// straight into the database by a dashboard import, n8n, Make or Clay) with
// Read's rules: a company name, one valid email address, a valid website or
// none, no cell longer than MaxCell characters. It normalises the email and
// website in c (and in c.Fields) and returns an error naming every problem,
// matching ErrInvalid.
func Check(c *Contact) error {
	var problems []string
	for name, v := range c.Fields {
		if len(v) > MaxCell && utf8.RuneCountInString(v) > MaxCell {
			problems = append(problems, fmt.Sprintf("%s: longer than %d characters", name, MaxCell))
		}
	}
	sort.Strings(problems)
	c.CompanyName = strings.TrimSpace(c.CompanyName)
	if c.CompanyName == "" {
		problems = append(problems, "company_name is empty (a company name is required)")
	}
	if strings.TrimSpace(c.Email) == "" {
		problems = append(problems, "email is empty (an email is required)")
	} else if e, err := NormalizeEmail(c.Email); err != nil {
		problems = append(problems, fmt.Sprintf("email %s: %v", short(c.Email), err))
	} else {
		c.Email = e
	}
	if w, err := NormalizeWebsite(c.Website); err != nil {
		problems = append(problems, fmt.Sprintf("website %s: %v", short(c.Website), err))
	} else {
		c.Website = w
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	c.Fields[ColEmail], c.Fields[ColWebsite], c.Fields[ColCompanyName] = c.Email, c.Website, c.CompanyName
	return nil
}
