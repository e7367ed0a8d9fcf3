package clientctx

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	c, err := Load(context.Background(), Dir("testdata/good"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.PersonaTitles, []string{"Fondateur de SaaS", "Directeur commercial"}) {
		t.Errorf("persona titles %q", c.PersonaTitles)
	}
	if len(c.Pains) != 2 || c.Pains[0].Title != "Pipeline irrégulier" || c.Pains[0].Impact != "40 % d’écart d’un mois sur l’autre" || strings.Contains(c.Pains[0].Body, "impact") {
		t.Errorf("pains %+v", c.Pains)
	}
	if len(c.Competitors) != 2 || c.Competitors[0].Category != "logiciel de téléphonie cloud" {
		t.Errorf("competitors %+v (categories are lower-cased so entries match)", c.Competitors)
	}
	// b_plain.md names no client: Client stays empty, the file name is never used.
	if len(c.CaseStudies) != 2 || c.CaseStudies[1].Client != "Talento" || c.CaseStudies[1].Industry != "saas rh" || c.CaseStudies[1].Result != "42 rendez-vous en 3 mois" || c.CaseStudies[0].Client != "" {
		t.Errorf("case studies %+v", c.CaseStudies)
	}
	if c.ClientName != "" {
		t.Errorf("agency %q: pci.md names none", c.ClientName)
	}
	if c.Template != nil {
		t.Errorf("template should be absent")
	}
	if len(c.Hash()) != 16 {
		t.Errorf("hash %q", c.Hash())
	}
	secs := c.Sections()
	if len(secs) != 6 || secs[3].Key != SectionCompetitors || !strings.Contains(secs[3].Body, "Voxaly (logiciel de téléphonie cloud): téléphonie") ||
		secs[5].Key != SectionCategories || !strings.Contains(secs[5].Body, "- logiciel de téléphonie cloud") {
		t.Errorf("sections %+v", secs)
	}
}

// copyGood copies testdata/good into a temp dir and applies edits.
func copyGood(t *testing.T, edit map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir("testdata/good", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/good", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range edit {
		if content == "<delete>" {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		edit map[string]string
		want string
	}{
		{"missing pci", map[string]string{"pci.md": "<delete>"}, "pci.md: required file is missing"},
		{"empty personas", map[string]string{"personas.md": "  \n"}, "personas.md: file is empty"},
		{"json syntax error with position", map[string]string{"competitors.json": "[\n  {\"name\": \"A\", \"category\": \"x\"},\n  {\"name\": \"B\" \"category\": \"y\"}\n]"}, "competitors.json:3:16"},
		{"json wrong type", map[string]string{"competitors.json": "[{\"name\": 3, \"category\": \"x\"}]"}, "competitors.json:1:11: expected a list of {name, positioning, category} objects: field \"name\" has a number, want string"},
		{"json not a list", map[string]string{"competitors.json": "{\"name\": \"A\"}"}, "competitors.json:1:1"},
		{"json unknown field", map[string]string{"competitors.json": "[{\"name\": \"A\", \"category\": \"x\", \"url\": \"y\"}]"}, "unknown field \"url\""},
		{"missing category", map[string]string{"competitors.json": "[{\"name\": \"A\", \"category\": \"x\"}, {\"name\": \"B\"}]"}, "entry 2 (\"B\"): name and category are required"},
		{"not utf-8", map[string]string{"pain_points.md": "caf\xe9"}, "pain_points.md: not valid UTF-8"},
		{"case study front matter", map[string]string{"case_studies/talento.md": "---\nclient Talento\n---\nx"}, "case_studies/talento.md:2:1"},
		{"case study unclosed", map[string]string{"case_studies/talento.md": "---\nclient: T\n"}, "never closed"},
		{"case study front matter line after a list", map[string]string{"case_studies/talento.md": "---\nclient: T\nresults:\n  - 3 rdv\nnot a pair\n---\nx"}, "case_studies/talento.md:5:1: front matter line \"not a pair\""},
		{"case study blank", map[string]string{"case_studies/talento.md": " \n\n"}, "case_studies/talento.md: case study is empty"},
		{"case study front matter only", map[string]string{"case_studies/talento.md": "---\nclient: T\n---\n"}, "case_studies/talento.md: case study is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), Dir(copyGood(t, tt.edit)))
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a *FileError containing %q", err, tt.want)
			}
		})
	}
}

func TestDirRejectsEscapes(t *testing.T) {
	if _, err := Dir("testdata/good").ReadFile(context.Background(), "../good/pci.md"); err == nil {
		t.Fatal("a name escaping the directory must be refused")
	}
}
