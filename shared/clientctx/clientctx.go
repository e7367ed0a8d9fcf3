// Package clientctx loads a client's go-to-market context (ideal customer
// profile, personas, pain points, competitors, case studies, email template)
// from a Source, renders it as titled prompt sections and exposes structured
// data for the offline engine.
package clientctx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Source reads the client's files by slash-separated name ("pci.md",
// "case_studies/acme.md"). Implementations: Dir (a local folder) and the
// Supabase Storage source in package storage.
type Source interface {
	ReadFile(ctx context.Context, name string) ([]byte, error)
	// List returns the names of the files directly under dir ("case_studies").
	List(ctx context.Context, dir string) ([]string, error)
}

// ErrNotExist is returned by sources for a missing file (errors.Is with fs.ErrNotExist works too).
var ErrNotExist = fs.ErrNotExist

// Dir is a Source over a local directory.
type Dir string

// ReadFile implements Source.
func (d Dir) ReadFile(_ context.Context, name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("read %q: invalid name", name)
	}
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(name)))
}

// List implements Source.
func (d Dir) List(_ context.Context, dir string) ([]string, error) {
	if !fs.ValidPath(dir) {
		return nil, fmt.Errorf("list %q: invalid name", dir)
	}
	entries, err := os.ReadDir(filepath.Join(string(d), filepath.FromSlash(dir)))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// File names inside a client context.
const (
	FilePCI         = "pci.md"
	FilePersonas    = "personas.md"
	FilePainPoints  = "pain_points.md"
	FileCompetitors = "competitors.json"
	DirCaseStudies  = "case_studies"
	FileTemplate    = "template.md"
)

// Context is a client's loaded context.
type Context struct {
	PCI         string
	Personas    string
	PainPoints  string
	Competitors []Competitor
	CaseStudies []CaseStudy
	Template    []byte // template.md, nil when absent

	// Structured views for the engines and the checks.
	PersonaTitles []string  // the personas' titles, in order (PersonaList[i].Title)
	PersonaList   []Persona // the personas of personas.md, in order
	Pains         []Pain    // the pain points of pain_points.md, in order

	// ClientName is the client's own name — the agency the emails are sent
	// for, not a prospect — when pci.md gives it: an "agency:" front matter
	// key, an "Agence :" / "Agency:" line, or the title ("# Profil client
	// idéal de Prospectia") when the name appears again in the files. ""
	// when not found. An email value naming it talks about the sender
	// instead of the prospect (see NamesAgency and OwnPhrase).
	ClientName string

	hash string
}

// Competitor is one entry of competitors.json.
type Competitor struct {
	Name        string `json:"name"`
	Positioning string `json:"positioning"`
	Category    string `json:"category"`
}

// ErrInvalid is matched (errors.Is) by a FileError about the content of
// the context (a required file missing or empty, bad JSON, bad front
// matter): fixing the files is the only cure. A FileError from reading the
// Source (a database or Storage outage) does not match it.
var ErrInvalid = errors.New("invalid client context")

// FileError locates a problem in one context file.
type FileError struct {
	File string
	Line int // 0 when not applicable
	Col  int
	Err  error
	// Read is true when the Source failed to read the file (the error may
	// be temporary), false for a problem in the file's content.
	Read bool
}

// Is makes errors.Is(err, ErrInvalid) true for content problems.
func (e *FileError) Is(target error) bool { return target == ErrInvalid && !e.Read }

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Load reads a client context. pci.md, personas.md, pain_points.md and
// competitors.json are required; case_studies/ and template.md are optional.
func Load(ctx context.Context, src Source) (*Context, error) {
	c := &Context{}
	h := sha256.New()
	read := func(name string, required bool) ([]byte, error) {
		b, err := src.ReadFile(ctx, name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && !required {
				return nil, nil
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &FileError{File: name, Err: fmt.Errorf("required file is missing: %w", err)}
			}
			return nil, &FileError{File: name, Err: err, Read: true}
		}
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(b) {
			return nil, &FileError{File: name, Err: errors.New("not valid UTF-8 text")}
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
		return b, nil
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{FilePCI, &c.PCI}, {FilePersonas, &c.Personas}, {FilePainPoints, &c.PainPoints}} {
		b, err := read(f.name, true)
		if err != nil {
			return nil, err
		}
		*f.dst = strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n"))
		if *f.dst == "" {
			return nil, &FileError{File: f.name, Err: errors.New("file is empty")}
		}
	}
	c.PersonaList = parsePersonas(bodyLines(c.Personas))
	for _, p := range c.PersonaList {
		c.PersonaTitles = append(c.PersonaTitles, p.Title)
	}
	c.Pains = parsePains(bodyLines(c.PainPoints))
	c.ClientName = findAgency(c.PCI, c.Personas, c.PainPoints)

	b, err := read(FileCompetitors, true)
	if err != nil {
		return nil, err
	}
	if c.Competitors, err = parseCompetitors(b); err != nil {
		return nil, err
	}

	names, err := src.List(ctx, DirCaseStudies)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &FileError{File: DirCaseStudies, Err: err, Read: true}
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(strings.ToLower(name), ".md") {
			continue
		}
		b, err := read(name, true)
		if err != nil {
			return nil, err
		}
		cs, err := parseCaseStudy(name, b)
		if err != nil {
			return nil, err
		}
		c.CaseStudies = append(c.CaseStudies, cs)
	}
	if c.Template, err = read(FileTemplate, false); err != nil {
		return nil, err
	}
	c.hash = hex.EncodeToString(h.Sum(nil)[:8])
	return c, nil
}

// Hash identifies the context's content; emails record it as provenance.
func (c *Context) Hash() string { return c.hash }

// Section is a titled block of context for prompts.
type Section struct {
	Key   string // one of the Section* keys: which part of the context it is
	Title string
	Body  string
}

// Section keys, so that a prompt can carry only the parts it uses.
const (
	SectionPCI         = "pci"
	SectionPersonas    = "personas"
	SectionPains       = "pains"
	SectionCompetitors = "competitors"
	SectionCases       = "cases"
	SectionCategories  = "categories" // competitors.json's category names only
)

// Sections renders the context for prompts, static content only (no
// prospect data), in a stable order so provider prompt caching works.
func (c *Context) Sections() []Section {
	var comp, cats strings.Builder
	seen := map[string]bool{}
	for _, x := range c.Competitors {
		fmt.Fprintf(&comp, "- %s (%s): %s\n", x.Name, x.Category, x.Positioning)
		if x.Category != "" && !seen[x.Category] {
			seen[x.Category] = true
			fmt.Fprintf(&cats, "- %s\n", x.Category)
		}
	}
	var cases strings.Builder
	for _, cs := range c.CaseStudies {
		cases.WriteString(cs.promptText())
		cases.WriteString("\n\n")
	}
	return []Section{
		{SectionPCI, "Profil client idéal (PCI)", c.PCI},
		{SectionPersonas, "Personas cibles", c.Personas},
		{SectionPains, "Pain points adressés", c.PainPoints},
		{SectionCompetitors, "Concurrents connus par catégorie", strings.TrimSpace(comp.String())},
		{SectionCases, "Études de cas", strings.TrimSpace(cases.String())},
		{SectionCategories, "Catégories de produits connues", strings.TrimSpace(cats.String())},
	}
}

func parseCompetitors(b []byte) ([]Competitor, error) {
	var list []Competitor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		line, col := 0, 0
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col = position(b, se.Offset)
		case errors.As(err, &te):
			line, col = position(b, te.Offset)
			err = fmt.Errorf("expected a list of {name, positioning, category} objects: field %q has a %s, want %s", te.Field, te.Value, te.Type)
		}
		return nil, &FileError{File: FileCompetitors, Line: line, Col: col, Err: err}
	}
	if dec.More() {
		return nil, &FileError{File: FileCompetitors, Err: errors.New("extra data after the JSON list")}
	}
	for i := range list {
		x := &list[i]
		x.Name, x.Category, x.Positioning = strings.TrimSpace(x.Name), strings.TrimSpace(strings.ToLower(x.Category)), strings.TrimSpace(x.Positioning)
		if x.Name == "" || x.Category == "" {
			return nil, &FileError{File: FileCompetitors, Err: fmt.Errorf("entry %d (%q): name and category are required", i+1, x.Name)}
		}
	}
	return list, nil
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	if col == 0 {
		col = 1
	}
	return line, col
}
