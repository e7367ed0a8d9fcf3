// Package template parses email templates: an optional front matter, a
// "Subject:" line and a body with {{variable}} placeholders.
//
//	---
//	language: fr
//	min_words: 150
//	max_words: 250
//	---
//	Subject: {{company_name}} et la prospection
//
//	Bonjour {{first_name}}, ...
package template

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/lexicon"
)

// Template is a parsed email template.
type Template struct {
	Name     string // file name or label, used in errors
	Subject  string
	Body     string
	Language string // "fr", "en"... from front matter, else detected from the text
	MinWords int    // body word range for the quality check (default 150-250)
	MaxWords int
	// Version is a short hash of the template text: emails record it so two
	// emails made from different template versions can be told apart.
	Version string

	vars []Var
}

// Var is one distinct variable, with where it first appears.
type Var struct {
	Name string
	Line int
	Col  int
}

// ParseError locates a syntax error in a template file.
type ParseError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ErrSyntax is matched by every *ParseError (errors.Is).
var ErrSyntax = errors.New("template syntax error")

// Is makes errors.Is(err, ErrSyntax) true for parse errors.
func (e *ParseError) Is(target error) bool { return target == ErrSyntax }

// Defaults for the body word range (the seed's quality rule).
const (
	DefaultMinWords = 150
	DefaultMaxWords = 250
)

// Parse parses template text. name is used in error messages.
func Parse(name string, data []byte) (*Template, error) {
	if !utf8.Valid(data) {
		return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: "template is not valid UTF-8"}
	}
	text := strings.ReplaceAll(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), "\r\n", "\n")
	t := &Template{Name: name, MinWords: DefaultMinWords, MaxWords: DefaultMaxWords}
	sum := sha256.Sum256([]byte(text))
	t.Version = hex.EncodeToString(sum[:6])

	lines := strings.Split(text, "\n")
	i := 0
	if len(lines) > 0 && strings.TrimSpace(lines[0]) == "---" {
		end := -1
		for j := 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "---" {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: "front matter opened with --- is never closed"}
		}
		for j := 1; j < end; j++ {
			if err := t.setOption(lines[j]); err != nil {
				return nil, &ParseError{File: name, Line: j + 1, Col: 1, Msg: err.Error()}
			}
		}
		i = end + 1
	}
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i >= len(lines) {
		return nil, &ParseError{File: name, Line: i + 1, Col: 1, Msg: "template has no subject line and no body"}
	}
	subjectLine := i + 1
	first := lines[i]
	found := false
	subjectCol := 0
	for _, prefix := range []string{"subject:", "objet:", "objet :", "subject :"} {
		lead := len(first) - len(strings.TrimLeft(first, " \t"))
		rest := first[lead:]
		if len(rest) >= len(prefix) && strings.EqualFold(rest[:len(prefix)], prefix) {
			value := rest[len(prefix):]
			trimmed := strings.TrimLeft(value, " \t")
			subjectCol = col(first, lead+len(prefix)+len(value)-len(trimmed)) - 1
			t.Subject = strings.TrimSpace(trimmed)
			found = true
			break
		}
	}
	if !found {
		return nil, &ParseError{File: name, Line: subjectLine, Col: 1, Msg: `the first line must be the subject, e.g. "Subject: ..." (or "Objet: ...")`}
	}
	if t.Subject == "" {
		return nil, &ParseError{File: name, Line: subjectLine, Col: 1, Msg: "the subject line is empty"}
	}
	bodyStart := i + 1
	for bodyStart < len(lines) && strings.TrimSpace(lines[bodyStart]) == "" {
		bodyStart++
	}
	t.Body = strings.TrimRight(strings.Join(lines[bodyStart:], "\n"), " \n\t")
	if strings.TrimSpace(t.Body) == "" {
		return nil, &ParseError{File: name, Line: subjectLine + 1, Col: 1, Msg: "the template body is empty"}
	}
	seen := map[string]bool{}
	add := func(src string, line0, col0 int) error {
		vs, err := scan(src)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.File = name
				if pe.Line == 1 {
					pe.Col += col0
				}
				pe.Line += line0
			}
			return err
		}
		for _, v := range vs {
			if !seen[v.Name] {
				seen[v.Name] = true
				if v.Line == 1 {
					v.Col += col0
				}
				v.Line += line0
				t.vars = append(t.vars, v)
			}
		}
		return nil
	}
	if err := add(t.Subject, subjectLine-1, subjectCol); err != nil {
		return nil, err
	}
	if err := add(t.Body, bodyStart, 0); err != nil {
		return nil, err
	}
	if t.Language == "" {
		t.Language = lexicon.Detect(t.Subject + "\n" + t.Body)
	}
	if t.MinWords > t.MaxWords {
		return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: fmt.Sprintf("min_words %d is above max_words %d", t.MinWords, t.MaxWords)}
	}
	return t, nil
}

func (t *Template) setOption(line string) error {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	key, value, ok := strings.Cut(line, ":")
	if !ok {
		return fmt.Errorf("front matter line %q is not \"key: value\"", line)
	}
	key, value = strings.TrimSpace(strings.ToLower(key)), strings.Trim(strings.TrimSpace(value), `"'`)
	switch key {
	case "language", "langue":
		if len(value) != 2 {
			return fmt.Errorf("language %q must be a two-letter code such as fr or en", value)
		}
		t.Language = strings.ToLower(value)
	case "min_words", "max_words":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 5000 {
			return fmt.Errorf("%s %q must be a whole number between 1 and 5000", key, value)
		}
		if key == "min_words" {
			t.MinWords = n
		} else {
			t.MaxWords = n
		}
	default:
		return fmt.Errorf("unknown front matter key %q (known: language, min_words, max_words)", key)
	}
	return nil
}

// Variables returns the distinct variables in order of first appearance
// (subject first, then body).
func (t *Template) Variables() []Var { return append([]Var(nil), t.vars...) }

// Names returns the distinct variable names in order of first appearance.
func (t *Template) Names() []string {
	out := make([]string, len(t.vars))
	for i, v := range t.vars {
		out[i] = v.Name
	}
	return out
}

// Render replaces every {{name}} present in values. Placeholders without a
// value are left as they are, so the quality check can flag them.
func (t *Template) Render(values map[string]string) (subject, body string) {
	return fill(t.Subject, values), fill(t.Body, values)
}

func fill(src string, values map[string]string) string {
	var b strings.Builder
	b.Grow(len(src) + 256)
	for {
		start := strings.Index(src, "{{")
		if start < 0 {
			b.WriteString(src)
			return b.String()
		}
		end := strings.Index(src[start:], "}}")
		if end < 0 {
			b.WriteString(src)
			return b.String()
		}
		end += start
		name := strings.TrimSpace(src[start+2 : end])
		b.WriteString(src[:start])
		if v, ok := values[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(src[start : end+2])
		}
		src = src[end+2:]
	}
}

// scan finds {{name}} placeholders. Lines and columns are 1-based relative
// to src (column in runes).
func scan(src string) ([]Var, error) {
	var out []Var
	for i, l := range strings.Split(src, "\n") {
		line := i + 1
		off := 0
		for {
			rest := l[off:]
			open := strings.Index(rest, "{{")
			stray := strings.Index(rest, "}}")
			if stray >= 0 && (open < 0 || stray < open) {
				return nil, &ParseError{Line: line, Col: col(l, off+stray), Msg: `"}}" without a matching "{{"`}
			}
			if open < 0 {
				break
			}
			open += off
			closeAt := strings.Index(l[open+2:], "}}")
			if closeAt < 0 {
				return nil, &ParseError{Line: line, Col: col(l, open), Msg: `"{{" is not closed by "}}" on the same line`}
			}
			closeAt += open + 2
			name := strings.TrimSpace(l[open+2 : closeAt])
			if !validName(name) {
				return nil, &ParseError{Line: line, Col: col(l, open), Msg: fmt.Sprintf("%q is not a variable name (letters, digits and _, starting with a letter)", name)}
			}
			out = append(out, Var{Name: name, Line: line, Col: col(l, open)})
			off = closeAt + 2
		}
	}
	return out, nil
}

func col(line string, byteOff int) int { return utf8.RuneCountInString(line[:byteOff]) + 1 }

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r == '_' || (r >= '0' && r <= '9'):
			if i == 0 && r != '_' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
