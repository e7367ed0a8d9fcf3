package clientctx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks, on any text, that the context parsers do not panic,
// that a case study's values never come from its file name, and that
// values hold no markdown emphasis marks.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/case_studies", "testdata/shapes", "../../examples/eval/client/case_studies", "../../examples/prospectia"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		const name = "case_studies/zz-fuzz-slug.md"
		if cs, err := parseCaseStudy(name, []byte(text)); err == nil {
			for _, v := range []string{cs.Client, cs.Title} {
				if strings.Contains(v, "zz-fuzz-slug") && !strings.Contains(text, v) {
					t.Errorf("value %q comes from the file name", v)
				}
			}
			if strings.Contains(cs.Client, "**") || strings.Contains(cs.Result, "**") {
				t.Errorf("markdown left in %+v", cs)
			}
		}
		md := bodyLines(text)
		for _, p := range parsePersonas(md) {
			if p.Title == "" {
				t.Errorf("persona with an empty title from %q", text)
			}
		}
		for _, p := range parsePains(md) {
			if p.Title == "" {
				t.Errorf("pain with an empty title from %q", text)
			}
		}
		findAgency(text, text, "")
	})
}
