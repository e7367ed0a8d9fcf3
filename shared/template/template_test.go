package template

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		subject  string
		vars     []string
		lang     string
		min, max int
	}{
		{
			name:    "subject and body",
			src:     "Subject: {{company_name}} et la prospection\n\nBonjour {{first_name}},\n\nVous vendez un {{ product_category }} aux {{target_persona}}. Merci {{first_name}}.",
			subject: "{{company_name}} et la prospection",
			vars:    []string{"company_name", "first_name", "product_category", "target_persona"},
			lang:    "fr", min: 150, max: 250,
		},
		{
			name:    "front matter and Objet, CRLF and BOM",
			src:     "\ufeff---\r\nlanguage: en\r\nmin_words: 50\r\nmax_words: 120\r\n---\r\nObjet: Hello\r\n\r\nHi {{first_name}}\r\n",
			subject: "Hello",
			vars:    []string{"first_name"},
			lang:    "en", min: 50, max: 120,
		},
		{
			name:    "no variables",
			src:     "Subject: Hi\n\nThe quick brown fox jumps over the lazy dog and we are the ones who write it for you.",
			subject: "Hi",
			vars:    []string{},
			lang:    "en", min: 150, max: 250,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Parse("t.md", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tm.Subject != tt.subject {
				t.Errorf("subject %q, want %q", tm.Subject, tt.subject)
			}
			if got := tm.Names(); !reflect.DeepEqual(append([]string{}, got...), tt.vars) {
				t.Errorf("vars %v, want %v", got, tt.vars)
			}
			if tm.Language != tt.lang || tm.MinWords != tt.min || tm.MaxWords != tt.max {
				t.Errorf("lang %s words %d-%d, want %s %d-%d", tm.Language, tm.MinWords, tm.MaxWords, tt.lang, tt.min, tt.max)
			}
			if strings.Contains(tm.Body, "\r") {
				t.Errorf("body keeps CR: %q", tm.Body)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"unclosed brace", "Subject: x\n\nBonjour {{first_name,\nmerci", 3, 9, "not closed"},
		{"stray close", "Subject: x\n\nBonjour first_name}}", 3, 19, "without a matching"},
		{"bad name", "Subject: x\n\nBonjour {{first name}}", 3, 9, "not a variable name"},
		{"digit start", "Subject: x\n\n{{1abc}}", 3, 1, "not a variable name"},
		{"no subject", "Bonjour {{first_name}}", 1, 1, "first line must be the subject"},
		{"empty subject", "Subject:   \n\nbody", 1, 1, "subject line is empty"},
		{"empty body", "Subject: hi\n\n  \n", 2, 1, "body is empty"},
		{"unclosed front matter", "---\nlanguage: fr\nSubject: x\n\nbody", 1, 1, "never closed"},
		{"unknown key", "---\ntone: friendly\n---\nSubject: x\n\nbody", 2, 1, "unknown front matter key"},
		{"bad number", "---\nmax_words: lots\n---\nSubject: x\n\nbody", 2, 1, "whole number"},
		{"min above max", "---\nmin_words: 300\nmax_words: 200\n---\nSubject: x\n\nbody", 1, 1, "above max_words"},
		{"subject brace", "Subject: {{company_name\n\nbody", 1, 10, "not closed"},
		{"after front matter", "---\nlanguage: fr\n---\nSubject: x\n\nligne\n{{ }}", 7, 1, "not a variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tpl.md", []byte(tt.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("errors.Is(ErrSyntax) false")
			}
			if pe.File != "tpl.md" || pe.Line != tt.line || pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got %v, want tpl.md:%d:%d containing %q", err, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestVariableLines(t *testing.T) {
	tm, err := Parse("t.md", []byte("---\nlanguage: fr\n---\nSubject: {{company_name}}\n\nBonjour {{first_name}},\n\nline\n  é {{system_1}}"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{{"company_name", 4, 10}, {"first_name", 6, 9}, {"system_1", 9, 5}}
	if got := tm.Variables(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRender(t *testing.T) {
	tm, err := Parse("t.md", []byte("Subject: {{company_name}}\n\nBonjour {{ first_name }}, {{missing}} et {{company_name}}."))
	if err != nil {
		t.Fatal(err)
	}
	subj, body := tm.Render(map[string]string{"company_name": "Acme {{x}}", "first_name": "Léa"})
	if subj != "Acme {{x}}" {
		t.Errorf("subject %q", subj)
	}
	// Values are not re-scanned; unknown placeholders stay for the quality check.
	if want := "Bonjour Léa, {{missing}} et Acme {{x}}."; body != want {
		t.Errorf("body %q, want %q", body, want)
	}
}

func TestVersionChangesWithText(t *testing.T) {
	a, _ := Parse("a", []byte("Subject: a\n\nbody"))
	b, _ := Parse("a", []byte("Subject: a\n\nbody!"))
	if a.Version == b.Version || len(a.Version) != 12 {
		t.Errorf("versions %q %q", a.Version, b.Version)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Subject: x\n\nBonjour {{first_name}}",
		"---\nlanguage: fr\n---\nSubject: {{a}}\n\n{{b}} {{c}}",
		"Subject: }}{{\n\n{{",
		"\ufeffObjet: é\r\n\r\n{{ x }}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tm, err := Parse("fuzz.md", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Col < 1 {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		values := map[string]string{}
		for _, v := range tm.Variables() {
			if v.Line < 1 || v.Col < 1 {
				t.Fatalf("variable %+v without position", v)
			}
			values[v.Name] = "X"
		}
		subj, body := tm.Render(values)
		for _, v := range tm.Variables() {
			if strings.Contains(subj+body, "{{"+v.Name+"}}") {
				t.Fatalf("variable %s left unfilled", v.Name)
			}
		}
	})
}
