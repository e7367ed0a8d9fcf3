package evaluation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
)

// Splits of an evaluation set.
const (
	SplitDev     = "dev"     // look at failures and tune on these
	SplitHeldout = "heldout" // report aggregate figures only; never tune on them
	SplitAll     = "all"
)

// Files and folders of an evaluation set directory.
const (
	FileLabels   = "labels.json"
	FileContacts = "contacts.csv"
	DirClient    = "client"
	DirSites     = "sites"
)

// Label is the ground truth for one prospect company (one object of
// labels.json; see examples/eval/README.md for the meaning of each field).
type Label struct {
	Host                  string   `json:"host"`
	Company               string   `json:"company"`
	Language              string   `json:"language"`
	Split                 string   `json:"split"`
	Category              string   `json:"category"`
	CategoryKeywords      []string `json:"category_keywords"`
	PersonaKeywords       []string `json:"persona_keywords"`
	AcceptableCompetitors []string `json:"acceptable_competitors"`
	Integrations          []string `json:"integrations"`
	SelfNames             []string `json:"self_names"`
	PersonaLocation       string   `json:"persona_location"`
	HasTestimonials       bool     `json:"has_testimonials"`
	TestimonialsPage      string   `json:"testimonials_page"`
	ComparisonNames       []string `json:"comparison_names"`
	ExtraPages            []string `json:"extra_pages"`
	Notes                 string   `json:"notes"`
}

// Set is a labelled evaluation set: a client folder, a contacts CSV with
// one contact per labelled company, the companies' sites served offline,
// and the labels.
type Set struct {
	Dir          string
	ClientDir    string // DIR/client
	ContactsFile string // DIR/contacts.csv
	SitesDir     string // DIR/sites
	Labels       []Label
	// Competitors are the client's competitors.json entries (to say which
	// category a wrong competitor belongs to).
	Competitors []clientctx.Competitor
	// CaseStudyStems are the client's case_studies/*.md file names without
	// the extension: an email value containing one leaks a file name.
	CaseStudyStems []string
	// ClientPersonas are the "## " headings of the client's personas.md: the
	// client's own buyers, which are not the prospects' buyers.
	ClientPersonas []string

	byHost map[string]*Label
}

// Load reads and checks an evaluation set directory: every label has a
// known split, a unique host, a site folder with an index.html and exactly
// one contact whose website has that host; every contact has a label.
func Load(dir string) (*Set, error) {
	s := &Set{
		Dir:          dir,
		ClientDir:    filepath.Join(dir, DirClient),
		ContactsFile: filepath.Join(dir, FileContacts),
		SitesDir:     filepath.Join(dir, DirSites),
	}
	data, err := os.ReadFile(filepath.Join(dir, FileLabels))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &s.Labels); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, FileLabels), err)
	}
	if len(s.Labels) == 0 {
		return nil, fmt.Errorf("%s: no labels", filepath.Join(dir, FileLabels))
	}
	if data, err = os.ReadFile(filepath.Join(s.ClientDir, "competitors.json")); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &s.Competitors); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.ClientDir, "competitors.json"), err)
	}
	if s.CaseStudyStems, err = caseStudyStems(filepath.Join(s.ClientDir, "case_studies")); err != nil {
		return nil, err
	}
	if s.ClientPersonas, err = headings(filepath.Join(s.ClientDir, "personas.md")); err != nil {
		return nil, err
	}
	indexErr := s.index() // reported with the other problems below

	f, err := os.Open(s.ContactsFile)
	if err != nil {
		return nil, err
	}
	file, err := contacts.Read(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.ContactsFile, err)
	}
	errs := []error{indexErr}
	for _, e := range file.Errors {
		errs = append(errs, fmt.Errorf("%s line %d: %s", s.ContactsFile, e.Line, e.Reason))
	}
	seen := map[string]int{}
	for _, c := range file.Contacts {
		h := Host(c.Website)
		if s.byHost[h] == nil {
			errs = append(errs, fmt.Errorf("%s line %d: no label for website %q (host %q)", s.ContactsFile, c.Line, c.Website, h))
			continue
		}
		if prev, dup := seen[h]; dup {
			errs = append(errs, fmt.Errorf("%s line %d: a second contact for %s (first on line %d): one contact per company", s.ContactsFile, c.Line, h, prev))
			continue
		}
		seen[h] = c.Line
	}
	for i := range s.Labels {
		l := &s.Labels[i]
		if s.byHost[l.Host] != l {
			continue // an invalid label, already reported
		}
		if _, ok := seen[l.Host]; !ok {
			errs = append(errs, fmt.Errorf("label %s: no contact in %s", l.Host, s.ContactsFile))
		}
		if st, err := os.Stat(filepath.Join(s.SitesDir, l.Host, "index.html")); err != nil || st.IsDir() {
			errs = append(errs, fmt.Errorf("label %s: no site (%s missing)", l.Host, filepath.Join(s.SitesDir, l.Host, "index.html")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// index checks the labels and indexes them by host.
func (s *Set) index() error {
	s.byHost = make(map[string]*Label, len(s.Labels))
	var errs []error
	for i := range s.Labels {
		l := &s.Labels[i]
		switch {
		case l.Host == "" || l.Host != strings.ToLower(l.Host) || strings.HasPrefix(l.Host, "www."):
			errs = append(errs, fmt.Errorf("label %d: host %q must be a lower-case host name without www.", i+1, l.Host))
		case s.byHost[l.Host] != nil:
			errs = append(errs, fmt.Errorf("label %s: host labelled twice", l.Host))
		case l.Split != SplitDev && l.Split != SplitHeldout:
			errs = append(errs, fmt.Errorf("label %s: split %q is neither %q nor %q", l.Host, l.Split, SplitDev, SplitHeldout))
		case len(l.CategoryKeywords) == 0 || len(l.PersonaKeywords) == 0 || len(l.AcceptableCompetitors) == 0:
			errs = append(errs, fmt.Errorf("label %s: category_keywords, persona_keywords and acceptable_competitors must not be empty", l.Host))
		default:
			s.byHost[l.Host] = l
		}
	}
	return errors.Join(errs...)
}

// Label returns the label of a host ("www." and case ignored).
func (s *Set) Label(host string) (*Label, bool) {
	h := strings.TrimPrefix(strings.ToLower(host), "www.")
	if s.byHost == nil { // a Set built by hand, not by Load
		for i := range s.Labels {
			if s.Labels[i].Host == h {
				return &s.Labels[i], true
			}
		}
		return nil, false
	}
	l, ok := s.byHost[h]
	return l, ok
}

// InSplit reports whether a label belongs to split (SplitAll: every label).
func InSplit(l *Label, split string) bool { return split == SplitAll || l.Split == split }

// CheckSplit returns an error for a split name that is not dev, heldout or all.
func CheckSplit(split string) error {
	switch split {
	case SplitDev, SplitHeldout, SplitAll:
		return nil
	}
	return fmt.Errorf("split %q: want %s, %s or %s", split, SplitDev, SplitHeldout, SplitAll)
}

// Host returns the lower-case host of a website URL without "www." ("" when
// it has none): the key joining a contact and its result to a label.
func Host(website string) string {
	w := strings.TrimSpace(website)
	if w == "" {
		return ""
	}
	if !strings.Contains(w, "://") {
		w = "https://" + w
	}
	u, err := url.Parse(w)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

// caseStudyStems lists the .md files of dir without their extension.
func caseStudyStems(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stems []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".md") {
			stems = append(stems, strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())))
		}
	}
	sort.Strings(stems)
	return stems, nil
}

// headings lists the "## " headings of a markdown file ("" file: none).
func headings(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "## "); ok && strings.TrimSpace(h) != "" {
			out = append(out, strings.TrimSpace(h))
		}
	}
	return out, nil
}
