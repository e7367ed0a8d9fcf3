package export

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/store"
)

// Item is an email of an export.
type Item struct {
	EmailID string
	Address string
	Company string
	Subject string
	Score   int
}

// Held is an email held back, with why.
type Held struct {
	Item
	Reason string
}

// plan decides which candidates go: the safety gate before any send. It
// holds back, with the reason, an email without a usable address or
// text, one the destination refused before, one whose address is already
// in the campaign or twice in this export, one excluded by the client's
// list, and one past its domain's daily cap (counting what went in the
// last 24 hours and what goes now), and one sent to another campaign
// without a confirmation. Unconfirmed ledger rows past
// maxAttempts are held and returned in giveUp, to be marked failed.
func plan(cands []store.ExportCandidate, campaignID string, ex exclusions, used map[string]int, domainCap, maxAttempts int) (send []store.ExportCandidate, held []Held, giveUp []store.ExportCandidate) {
	seen := map[string]string{}
	count := map[string]int{}
	for d, n := range used {
		count[d] = n
	}
	for _, c := range cands {
		it := itemOf(c)
		hold := func(format string, a ...any) { held = append(held, Held{it, fmt.Sprintf(format, a...)}) }
		domain := domainOf(c.Address)
		switch {
		case c.LedgerStatus == store.LedgerFailed:
			hold("refused by the destination earlier: %s", c.LedgerError)
		case c.LedgerStatus == store.LedgerPending && c.LedgerCampaign != campaignID:
			// It may be in that campaign: sending it elsewhere could reach
			// the prospect twice.
			hold("sent to campaign %s without a confirmation: export to that campaign again to reconcile it", c.LedgerCampaign)
		case c.LedgerStatus == store.LedgerPending && c.LedgerAttempts >= maxAttempts:
			hold("not confirmed after %d attempts (%s): given up", c.LedgerAttempts, c.LedgerError)
			giveUp = append(giveUp, c)
		case !validAddress(c.Address):
			hold("no valid e-mail address (%q)", c.Address)
		case strings.TrimSpace(c.Subject) == "" || strings.TrimSpace(c.Body) == "":
			hold("empty subject or body")
		case c.AddressInCampaign:
			hold("address already in the campaign (another email to %s)", c.Address)
		case seen[c.Address] != "":
			hold("same address as email %s of this export", seen[c.Address])
		default:
			if why := ex.match(c.Address); why != "" {
				hold("excluded: %s", why)
				continue
			}
			if count[domain] >= domainCap {
				hold("domain daily cap (%d) reached for %s", domainCap, domain)
				continue
			}
			count[domain]++
			seen[c.Address] = c.EmailID
			send = append(send, c)
		}
	}
	return send, held, giveUp
}

func itemOf(c store.ExportCandidate) Item {
	return Item{EmailID: c.EmailID, Address: c.Address, Company: c.CompanyName, Subject: c.Subject, Score: c.Score}
}

// validAddress: one bare address, as the contacts' rules want it.
func validAddress(a string) bool {
	n, err := contacts.NormalizeEmail(a)
	return err == nil && n == a
}

// domainOf is the lower-cased domain of an address.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	}
	return ""
}

// exclusions matches addresses against a client's list.
type exclusions struct {
	emails  map[string]string // address → note
	domains map[string]string // domain → note
}

func newExclusions(list []store.Exclusion) exclusions {
	ex := exclusions{emails: map[string]string{}, domains: map[string]string{}}
	for _, e := range list {
		if e.Kind == "email" {
			ex.emails[e.Value] = e.Note
		} else {
			ex.domains[e.Value] = e.Note
		}
	}
	return ex
}

// match returns why the address is excluded ("" when it is not): the
// address itself, or its domain or a parent domain.
func (ex exclusions) match(addr string) string {
	note := func(what, n string) string {
		if n != "" {
			return what + " (" + n + ")"
		}
		return what
	}
	if n, ok := ex.emails[addr]; ok {
		return note("address "+addr, n)
	}
	for d := domainOf(addr); d != ""; {
		if n, ok := ex.domains[d]; ok {
			return note("domain "+d, n)
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return ""
}

// ParseExclusions reads an exclusion file: one domain or e-mail address a
// line, optionally followed by a comma or tab and a note (existing
// customer...); blank lines and lines starting with # are skipped. A URL
// or "@domain" is reduced to its domain. Every bad line is reported with
// its number, and nothing is returned then.
func ParseExclusions(r io.Reader) ([]store.Exclusion, error) {
	var out []store.Exclusion
	var bad []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		value, note, _ := strings.Cut(strings.ReplaceAll(line, "\t", ","), ",")
		e, err := exclusionOf(strings.TrimSpace(value))
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", n, err))
			continue
		}
		e.Note = strings.TrimSpace(note)
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("exclusions: %w", err)
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("… and %d more", len(bad)-20))
		}
		return nil, fmt.Errorf("%w: exclusions: %s", ErrBadRequest, strings.Join(bad, "; "))
	}
	return out, nil
}

func exclusionOf(v string) (store.Exclusion, error) {
	v = strings.ToLower(strings.Trim(v, `"' `))
	if strings.Contains(v, "@") && !strings.HasPrefix(v, "@") {
		if !validAddress(v) {
			return store.Exclusion{}, fmt.Errorf("%q is not an e-mail address", v)
		}
		return store.Exclusion{Kind: "email", Value: v}, nil
	}
	v = strings.TrimPrefix(v, "@")
	site, err := contacts.NormalizeWebsite(v) // a domain or a URL, the host in its ASCII form
	u, perr := url.Parse(site)
	if err != nil || perr != nil || u.Port() != "" {
		return store.Exclusion{}, fmt.Errorf("%q is not a domain or an e-mail address", v)
	}
	return store.Exclusion{Kind: "domain", Value: strings.TrimPrefix(u.Hostname(), "www.")}, nil
}
