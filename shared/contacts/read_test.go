package contacts

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type wantContact struct {
	line                    int
	email, company, website string
}

type wantError struct {
	line   int
	reason string // substring of RowError.Reason
}

func TestRead(t *testing.T) {
	tests := []struct {
		file      string
		fatal     string // substring of the fatal error; "" when Read succeeds
		fatalLine int
		delim     rune
		enc       string
		header    []string
		contacts  []wantContact
		errors    []wantError
		fields    map[int]map[string]string // line -> some Fields of that contact
	}{
		{
			file: "bom.csv", delim: ',', enc: "utf-8",
			header: []string{"first_name", "last_name", "email", "company_name", "website"},
			contacts: []wantContact{
				{2, "alice@acme.fr", "Acme", "https://acme.fr"},
				{3, "bob@beta.io", "Beta", "https://www.beta.io/about"},
			},
			fields: map[int]map[string]string{2: {"first_name": "Alice", "last_name": "Martin", "website": "https://acme.fr"}},
		},
		{
			file: "semicolon_fr.csv", delim: ';', enc: "utf-8",
			header: []string{"first_name", "last_name", "email", "company_name", "website", "industry", "job_title", "linkedin_url", "taille_entreprise"},
			contacts: []wantContact{
				{2, "elodie@fromagerie-dupont.fr", "Fromagerie Dupont", "https://www.fromagerie-dupont.fr"},
				{3, "f.noel@chateau-margaux.com", "Château Margaux", ""},
			},
			fields: map[int]map[string]string{
				2: {"first_name": "Élodie", "last_name": "Lefèvre", "industry": "Agroalimentaire", "job_title": "Directrice commerciale",
					"linkedin_url": "https://www.linkedin.com/in/elodie", "taille_entreprise": "11-50"},
				3: {"first_name": "François", "taille_entreprise": "51-200"},
			},
		},
		{
			file: "excel_crlf.csv", delim: ';', enc: "utf-8",
			header: []string{"last_name", "first_name", "email", "company_name", "website"},
			contacts: []wantContact{
				{2, "alice@acme.fr", "Acme", "https://acme.fr"},
				{3, "bob@beta.fr", "Beta", "https://beta.fr"},
			},
			fields: map[int]map[string]string{3: {"last_name": "Durand", "first_name": "Bob"}},
		},
		{
			// Excel's "sep=;" line decides: the header alone has as many
			// commas as semicolons.
			file: "excel_sep.csv", delim: ';', enc: "utf-8",
			header:   []string{"email", "company_name", "notes_a_b_c"},
			contacts: []wantContact{{3, "alice@acme.fr", "Acme, SA", ""}},
		},
		{
			file: "windows1252.csv", delim: ';', enc: "windows-1252",
			header: []string{"first_name", "last_name", "email", "company_name", "industry"},
			contacts: []wantContact{
				{2, "helene@cafe-creme.fr", "Café Crème", ""},
				{3, "jose@acme.fr", "Acme — Paris", ""},
			},
			fields: map[int]map[string]string{
				2: {"first_name": "Hélène", "last_name": "Dubœuf", "industry": "Hôtellerie"},
				3: {"last_name": "Müller", "industry": "Industrie €"},
			},
		},
		{
			file: "utf16.csv", delim: '\t', enc: "utf-16le",
			header:   []string{"email", "company_name", "website"},
			contacts: []wantContact{{2, "alice@acme.fr", "Acmé", "https://acme.fr"}},
		},
		{
			file: "mac_cr.csv", delim: ',', enc: "utf-8",
			header:   []string{"email", "company_name"},
			contacts: []wantContact{{2, "alice@acme.fr", "Acme", ""}, {3, "bob@beta.fr", "Beta", ""}},
		},
		{
			file: "tab.csv", delim: '\t', enc: "utf-8",
			header:   []string{"email", "company_name", "job_title"},
			contacts: []wantContact{{2, "alice@acme.fr", "Acme, Inc", ""}},
			fields:   map[int]map[string]string{2: {"job_title": "CEO"}},
		},
		{
			file: "duplicates.csv", delim: ',', enc: "utf-8",
			header: []string{"email", "company_name"},
			contacts: []wantContact{
				{2, "alice@acme.fr", "Acme", ""},
				{3, "bob@beta.fr", "Beta", ""},
				{8, "carl@gamma.fr", "Gamma", ""}, // line 7 was rejected, so 8 is no duplicate
			},
			errors: []wantError{
				{4, "duplicate of line 2"},
				{5, `email "not-an-email"`},
				{6, "duplicate of line 3"}, // "Bob Martin <bob@beta.fr>"
				{7, "company is empty (a company name is required)"},
			},
		},
		{
			file: "bad_emails.csv", delim: ';', enc: "utf-8",
			header: []string{"email", "company_name"},
			contacts: []wantContact{
				{2, "alice@acme.fr", "ok plain", ""},
				{8, "alice2@acme.fr", "display name", ""},
				{10, "carl@acme.fr", "mailto", ""},
				{11, "quoted@acme.fr", "quoted local", ""}, // "quoted"@acme.fr is the same address
				{14, "dave@acme.fr", "padded", ""},
				{20, "a=b+c-d@acme.fr", "inner signs", ""}, // only a leading sign makes a formula
			},
			errors: []wantError{
				{3, "email is empty (an email is required)"},
				{4, `email "alice"`},
				{5, "several '@'"},
				{6, "no dot"},
				{7, `email "ali ce@acme.fr"`},
				{9, "several '@'"},
				{12, "character 'é'"},
				{13, `invalid domain "192.168.1.1"`},
				// A leading = + - would make the sequencer import read a
				// formula, and neutralising it would break the address.
				{15, `email "=cmd|calc@acme.fr": starts with "="`},
				{16, `email "+33612@acme.fr": starts with "+"`},
				{17, `email "-x@acme.fr": starts with "-"`},
				{18, `email "mailto:=x@acme.fr": starts with "="`},
				{19, `email "\"Eve\" <=eve@acme.fr>": starts with "="`},
			},
		},
		{
			file: "bad_websites.csv", delim: ',', enc: "utf-8",
			header: []string{"email", "company_name", "website"},
			contacts: []wantContact{
				{2, "a1@acme.fr", "ok bare", "https://acme.fr"},
				{3, "a2@acme.fr", "ok path", "http://www.acme.fr/Fr/Contact?x=1"},
				{11, "a10@acme.fr", "empty", ""},
				{12, "a11@acme.fr", "port", "https://acme.fr:8080/x"},
			},
			errors: []wantError{
				{4, `website "javascript:alert(1)": not an http(s) URL`},
				{5, `website "ftp://x.fr": not an http(s) URL`},
				{6, `website "not a url"`},
				{7, `website "http://": URL has no host`},
				{8, `website "https://intranet"`},
				{9, `website "http://10.0.0.1/admin"`},
				{10, `website "https://user:pw@acme.fr"`},
				{13, `website "mailto:x@acme.fr": not an http(s) URL`},
			},
		},
		{
			file: "multiline.csv", delim: ',', enc: "utf-8",
			header: []string{"email", "company_name", "notes"},
			contacts: []wantContact{
				{2, "alice@acme.fr", "Acme", ""},
				{5, "bob@beta.fr", "Beta\nGroup", ""},
				{7, "carl@gamma.fr", "Gamma", ""},
			},
			fields: map[int]map[string]string{
				2: {"notes": "line one\nline two\nline three"},
				7: {"notes": `a "quoted" word`},
			},
		},
		{
			file: "field_count.csv", delim: ',', enc: "utf-8",
			header: []string{"email", "company_name", "website"},
			contacts: []wantContact{
				{2, "alice@acme.fr", "Acme", "https://acme.fr"},
				{5, "dave@delta.fr", "Delta", "https://delta.fr"}, // blank extra cells are ignored
			},
			errors: []wantError{
				{3, "the row has 2 cells but the header has 3"},
				{4, "the row has 4 cells but the header has 3"},
			},
		},
		{
			file: "empty_trailing.csv", delim: ',', enc: "utf-8",
			header:   []string{"email", "company_name"},
			contacts: []wantContact{{2, "alice@acme.fr", "Acme", ""}},
		},
		{
			file: "quotes.csv", delim: ',', enc: "utf-8",
			header: []string{"email", "company_name", "notes"},
			contacts: []wantContact{
				{2, "alice@acme.fr", `Bob "the boss" Corp`, ""},
				{3, "bob@beta.fr", `Beta "Best" SA`, ""},
				{4, "carl@gamma.fr", "Gamma, Inc", ""},
				{7, "fred@zeta.fr", "Zeta", ""}, // read again after the unclosed quote of line 6
				{8, "gina@eta.fr", "Eta", ""},
			},
			errors: []wantError{
				{5, "bad quotes"},
				{6, "never closed"},
			},
		},
		{
			// Line 2 opens a quote that the strict reader closes on line 4:
			// only line 2 is rejected, lines 3 and 4 are read again. Line 4
			// alone cannot be split even leniently ("x"y).
			file: "quote_swallow.csv", delim: ',', enc: "utf-8",
			header: []string{"email", "company_name", "notes"},
			contacts: []wantContact{
				{3, "bob@beta.fr", "Beta", ""},
				{5, "dave@delta.fr", "Delta", ""},
			},
			errors: []wantError{
				{2, "bad quotes: a quoted cell on this line does not end"},
				{4, "bad quotes at character 23"},
			},
		},
		{
			file: "empty_header_cells.csv", delim: ';', enc: "utf-8",
			header:   []string{"column_1", "email", "company_name", "column_4", "column_5"},
			contacts: []wantContact{{2, "alice@acme.fr", "Acme", ""}},
			fields:   map[int]map[string]string{2: {"column_1": "1", "column_5": "x"}},
		},
		{file: "header_only.csv", delim: ';', enc: "utf-8", header: []string{"email", "company_name"}},
		{file: "missing_company.csv", fatal: `no company column`, fatalLine: 1},
		{file: "duplicate_header.csv", fatal: `columns "Company" and "Société" both mean "company_name"`, fatalLine: 1},
		{file: "empty.csv", fatal: "the file is empty"},
		{file: "blank_only.csv", fatal: "no header"},
		{file: "mixed_encoding.csv", fatal: "mixed encodings", fatalLine: 3},
		{file: "not_1252.csv", fatal: "neither UTF-8 nor Windows-1252", fatalLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Read(bytes.NewReader(b))
			if tt.fatal != "" {
				var fe *FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.fatal) || fe.Line != tt.fatalLine {
					t.Fatalf("err = %v, want a FormatError on line %d containing %q", err, tt.fatalLine, tt.fatal)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if f.Delimiter != tt.delim || f.Encoding != tt.enc {
				t.Errorf("delimiter, encoding = %q, %q; want %q, %q", f.Delimiter, f.Encoding, tt.delim, tt.enc)
			}
			if fmt.Sprint(f.Header) != fmt.Sprint(tt.header) {
				t.Errorf("header = %q, want %q", f.Header, tt.header)
			}
			var got []wantContact
			for _, c := range f.Contacts {
				got = append(got, wantContact{c.Line, c.Email, c.CompanyName, c.Website})
				for k, v := range tt.fields[c.Line] {
					if c.Fields[k] != v {
						t.Errorf("line %d: Fields[%q] = %q, want %q", c.Line, k, c.Fields[k], v)
					}
				}
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.contacts) {
				t.Errorf("contacts:\n got %+v\nwant %+v", got, tt.contacts)
			}
			if len(f.Errors) != len(tt.errors) {
				t.Errorf("got %d row errors, want %d: %+v", len(f.Errors), len(tt.errors), f.Errors)
			}
			for i := range min(len(f.Errors), len(tt.errors)) {
				e, w := f.Errors[i], tt.errors[i]
				if e.Line != w.line || !strings.Contains(e.Reason, w.reason) {
					t.Errorf("error %d = line %d %q; want line %d containing %q", i, e.Line, e.Reason, w.line, w.reason)
				}
			}
		})
	}
}

// Whatever a correct CSV writer produces is read back cell for cell (trimmed),
// with each row's Line where it starts.
func TestReadRoundTrip(t *testing.T) {
	cells := []string{`Acme, "Best" Corp`, "line 1\nline 2\n\nline 4", "a;b,c\td", `"`, `""`, " padded ", "é€œ", `x"`, "\"quoted\" start"}
	for _, delim := range []rune{',', ';', '\t'} {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma = delim
		w.Write([]string{"email", "company", "notes"})
		var lines []int
		line := 2
		for i, c := range cells {
			lines = append(lines, line)
			line += 1 + strings.Count(c, "\n")*2
			w.Write([]string{fmt.Sprintf("u%d@acme.fr", i), c, c})
		}
		w.Flush()
		f, err := Read(&buf)
		if err != nil || len(f.Errors) > 0 || len(f.Contacts) != len(cells) {
			t.Fatalf("delimiter %q: Read = %+v, %v", delim, f, err)
		}
		for i, c := range f.Contacts {
			want := strings.TrimSpace(cells[i])
			if c.CompanyName != want || c.Get("notes") != want || c.Line != lines[i] {
				t.Errorf("delimiter %q: row %d = line %d %q %q; want line %d %q", delim, i, c.Line, c.CompanyName, c.Get("notes"), lines[i], want)
			}
		}
	}
}

func TestReadContactFields(t *testing.T) {
	in := "Prénom;Nom;Email;Société;Site;LinkedIn;Industrie;Fonction\n" +
		"Élodie;Lefèvre;Elodie@Acme.fr;Acme;ACME.fr/fr;https://linkedin.com/in/e;SaaS;CEO\n"
	f, err := Read(strings.NewReader(in))
	if err != nil || len(f.Contacts) != 1 {
		t.Fatalf("Read = %+v, %v", f, err)
	}
	want := Contact{Line: 2, FirstName: "Élodie", LastName: "Lefèvre", Email: "Elodie@Acme.fr", CompanyName: "Acme",
		Website: "https://acme.fr/fr", LinkedInURL: "https://linkedin.com/in/e", Industry: "SaaS", JobTitle: "CEO"}
	got := f.Contacts[0]
	if got.Get("website") != want.Website || got.Get("email") != want.Email {
		t.Errorf("Fields not normalised: %q", got.Fields)
	}
	got.Fields = nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("contact = %+v\nwant      %+v", got, want)
	}
}

func TestReadRowErrorKeepsRow(t *testing.T) {
	f, err := Read(strings.NewReader("email,company\n  bad , Acme \n"))
	if err != nil || len(f.Errors) != 1 {
		t.Fatalf("Read = %+v, %v", f, err)
	}
	e := f.Errors[0]
	if e.Fields["email"] != "bad" || e.Fields["company_name"] != "Acme" || len(e.Raw) != 2 {
		t.Errorf("row error = %+v, want trimmed Fields and raw cells", e)
	}
}

// Reasons name the columns as the user wrote them.
func TestReadReasonsUseColumnNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Adresse e-mail;Société;Site web\n;;ftp://x.fr\n",
			`Société is empty (a company name is required); Adresse e-mail is empty (an email is required); Site web "ftp://x.fr": not an http(s) URL`},
		{"Société;Nom\nAcme;Martin\n", "no email column"},
	}
	for _, tt := range tests {
		f, err := Read(strings.NewReader(tt.in))
		if err != nil || len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Reason, tt.want) {
			t.Errorf("Read(%q) = %+v, %v; want one error containing %q", tt.in, f, err, tt.want)
		}
	}
}

func TestReadLongCell(t *testing.T) {
	long := strings.Repeat("é", MaxCell+1)
	in := "email,company,notes\na@acme.fr,Acme," + long + "\nb@acme.fr,Acme," + long[:2*MaxCell] + "\n"
	f, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Errors) != 1 || f.Errors[0].Line != 2 || !strings.Contains(f.Errors[0].Reason, "notes: the cell is longer than 10000") {
		t.Errorf("errors = %.200v", f.Errors)
	}
	if len(f.Contacts) != 1 || f.Contacts[0].Line != 3 {
		t.Errorf("a cell of exactly %d characters must be kept; contacts = %d", MaxCell, len(f.Contacts))
	}
}

func TestReadFatal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\"email,company\nalice@acme.fr,Acme\n", "line 1: header: bad quotes: a quoted cell is opened"},
		{"\u00a0\n\n", "no header"},
		{" ; , \n\n", "no header"},
		{"PK\x03\x04\x14\x00\x06\x00", "line 1: NUL byte: this is not a CSV text file"},
		{"\n\nemail;nom\n", "line 3: no company column"},
	}
	for _, tt := range tests {
		f, err := Read(strings.NewReader(tt.in))
		if f != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Read(%q) = %v, %v; want error containing %q", tt.in, f, err, tt.want)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestReadIOError(t *testing.T) {
	_, err := Read(failingReader{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want it to wrap the reader's error", err)
	}
}

// Alternating rows whose quote swallows the next line must not lose the good
// rows, and must take linear time.
func TestReadManyBadQuotes(t *testing.T) {
	var b strings.Builder
	b.WriteString("email,company\n")
	for i := range 20000 {
		if i%2 == 0 {
			fmt.Fprintf(&b, "u%d@acme.fr,\"Acme\"\"\n", i)
		} else {
			fmt.Fprintf(&b, "u%d@acme.fr,Acme\n", i)
		}
	}
	start := time.Now()
	f, err := Read(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Read took %v", d)
	}
	if len(f.Contacts) != 10000 || len(f.Errors) != 10000 {
		t.Fatalf("got %d contacts, %d errors; want 10000 of each", len(f.Contacts), len(f.Errors))
	}
	if f.Contacts[0].Line != 3 || f.Errors[0].Line != 2 || !strings.Contains(f.Errors[0].Reason, "bad quotes") {
		t.Errorf("first contact line %d, first error %+v", f.Contacts[0].Line, f.Errors[0])
	}
}

// Once the budget for reading again is spent, a quoting error rejects every
// line the strict reader took as one row, and says so.
func TestScannerBudgetSpent(t *testing.T) {
	b, err := os.ReadFile("testdata/quote_swallow.csv")
	if err != nil {
		t.Fatal(err)
	}
	s := &scanner{text: string(b), delim: ','}
	s.reset(1)
	var lines []int
	var problems []string
	for rec, ok := s.next(); ok; rec, ok = s.next() {
		lines = append(lines, rec.line)
		problems = append(problems, rec.problem)
	}
	if fmt.Sprint(lines) != "[1 2 5]" || !strings.Contains(problems[1], "lines 2 to 4 were read as one row and rejected") {
		t.Errorf("records at lines %v, problems %q", lines, problems)
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("Prénom;Nom;Email;Société;Site web;Poste;Secteur;Taille entreprise\n")
	for i := range 10000 {
		fmt.Fprintf(&buf, "Prénom%d;Nom%d;contact%d@entreprise%d.fr;Entreprise %d SAS;www.entreprise%d.fr/fr;Directeur commercial;Logiciel;11-50\n",
			i, i, i, i, i, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Read(bytes.NewReader(data))
		if err != nil || len(f.Contacts) != 10000 {
			b.Fatalf("Read: %d contacts, %v", len(f.Contacts), err)
		}
	}
}
