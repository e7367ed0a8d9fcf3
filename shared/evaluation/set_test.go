package evaluation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const realSet = "../../examples/eval"

// TestLoadRealSet: the examples/eval set loads, so every label has exactly
// one contact and a site, and every contact a label.
func TestLoadRealSet(t *testing.T) {
	t.Parallel()
	s, err := Load(realSet)
	if err != nil {
		t.Fatal(err)
	}
	splits := map[string]int{}
	for _, l := range s.Labels {
		splits[l.Split]++
		if len(l.SelfNames) == 0 {
			t.Errorf("%s: no self_names", l.Host)
		}
		// The acceptable competitors are competitors.json entries of the
		// label's category, and never the company itself.
		for _, c := range l.AcceptableCompetitors {
			if got := s.competitorCategory(c); got != l.Category {
				t.Errorf("%s: acceptable competitor %q is filed under %q, not %q", l.Host, c, got, l.Category)
			}
			if n, self := MatchName(c, l.SelfNames); self {
				t.Errorf("%s: acceptable competitor %q is the company itself (%s)", l.Host, c, n)
			}
		}
		if _, ok := s.Label("WWW." + strings.ToUpper(l.Host)); !ok {
			t.Errorf("Label(%s) not found", l.Host)
		}
	}
	if len(s.Labels) < 40 || splits[SplitDev] == 0 || splits[SplitHeldout] == 0 || splits[SplitDev]+splits[SplitHeldout] != len(s.Labels) {
		t.Errorf("%d labels, splits %v", len(s.Labels), splits)
	}
	if len(s.CaseStudyStems) == 0 || len(s.ClientPersonas) == 0 || len(s.Competitors) == 0 {
		t.Errorf("stems %v, personas %v, %d competitors", s.CaseStudyStems, s.ClientPersonas, len(s.Competitors))
	}
	if want := filepath.Join(realSet, "sites"); s.SitesDir != want {
		t.Errorf("sites dir %q, want %q", s.SitesDir, want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/broken")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`label three.example: split "test" is neither "dev" nor "heldout"`,
		"line 3: a second contact for one.example (first on line 2)",
		`line 4: no label for website "https://zed.example"`,
		"label one.example: no site",
		"label two.example: no contact",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "two.example: no site") {
		t.Errorf("two.example has a site:\n%v", err)
	}

	if _, err := Load("testdata/nowhere"); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing set: %v", err)
	}
}

func TestCheckSplit(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"dev", "heldout", "all"} {
		if err := CheckSplit(s); err != nil {
			t.Error(err)
		}
	}
	if err := CheckSplit("test"); err == nil {
		t.Error("test is not a split")
	}
}
