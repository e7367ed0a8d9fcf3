package contacts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzRead checks, on any input, that Read does not panic and that:
//   - a failure is a *FormatError and returns no File;
//   - every Contact has a company and a valid, unique (ignoring case) email
//     that does not start with = + - @ (a formula to a spreadsheet),
//     and a website that is empty or a normalised http(s) URL;
//   - Contacts and Errors are each in strictly increasing line order, share
//     no line, and point at lines after the header that exist;
//   - when the input is UTF-8 without quotes, '\r' or NUL (so that one record
//     is one line), the lines of Contacts and Errors together are exactly the
//     lines after the header that have a non-blank cell: no data row is lost
//     and no blank row is reported.
func FuzzRead(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			var fe *FormatError
			if file != nil || !errors.As(err, &fe) {
				t.Fatalf("Read = %v, %v; want nil and a *FormatError", file, err)
			}
			return
		}
		text, _, err := decode(data)
		if err != nil {
			t.Fatalf("Read succeeded but decode failed: %v", err)
		}
		headLine, _, _ := findHeader(text)
		nLines := strings.Count(text, "\n") + 1

		emails := map[string]bool{}
		for _, c := range file.Contacts {
			if c.CompanyName == "" || c.Fields[ColCompanyName] != c.CompanyName {
				t.Errorf("line %d: company %q, Fields %q", c.Line, c.CompanyName, c.Fields[ColCompanyName])
			}
			at := strings.IndexByte(c.Email, '@')
			if strings.Count(c.Email, "@") != 1 || at == 0 || !strings.Contains(c.Email[at+1:], ".") ||
				strings.IndexFunc(c.Email, unicode.IsSpace) >= 0 || !utf8.ValidString(c.Email) || strings.ContainsAny(c.Email[:1], "=+-@") {
				t.Errorf("line %d: invalid email %q", c.Line, c.Email)
			}
			if e, err := NormalizeEmail(c.Email); err != nil || e != c.Email {
				t.Errorf("line %d: email %q normalises to %q, %v", c.Line, c.Email, e, err)
			}
			key := strings.ToLower(c.Email)
			if emails[key] {
				t.Errorf("line %d: duplicate email %q accepted", c.Line, c.Email)
			}
			emails[key] = true
			if w, err := NormalizeWebsite(c.Website); err != nil || w != c.Website ||
				c.Website != "" && !strings.HasPrefix(c.Website, "http://") && !strings.HasPrefix(c.Website, "https://") {
				t.Errorf("line %d: website %q not normalised (%q, %v)", c.Line, c.Website, w, err)
			}
		}

		var contactLines, errorLines []int
		for _, c := range file.Contacts {
			contactLines = append(contactLines, c.Line)
		}
		for _, e := range file.Errors {
			errorLines = append(errorLines, e.Line)
			if e.Reason == "" {
				t.Errorf("line %d: row error without a reason", e.Line)
			}
		}
		for _, lines := range [][]int{contactLines, errorLines} {
			for i, l := range lines {
				if l <= headLine || l > nLines || i > 0 && l <= lines[i-1] {
					t.Fatalf("lines %v not increasing within (%d, %d]", lines, headLine, nLines)
				}
			}
		}
		all := slices.Concat(contactLines, errorLines)
		slices.Sort(all)
		if len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Fatalf("a line is both a contact and an error: %v %v", contactLines, errorLines)
		}

		if !utf8.Valid(data) || bytes.ContainsAny(data, "\"\r\x00") {
			return
		}
		var want []int
		for i, line := range strings.Split(text, "\n") {
			if i+1 <= headLine {
				continue
			}
			for _, cell := range strings.Split(line, string(file.Delimiter)) {
				if strings.TrimSpace(cell) != "" {
					want = append(want, i+1)
					break
				}
			}
		}
		if !slices.Equal(all, want) {
			t.Fatalf("rows reported on lines %v, want the non-blank lines %v", all, want)
		}
	})
}
