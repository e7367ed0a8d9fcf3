package contacts

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCell is the longest cell, in characters, that Read accepts in a row.
const MaxCell = 10000

// FormatError is a fatal problem with a file as a whole: nothing was read.
type FormatError struct {
	Line   int // 1-based line the problem is on; 0 when it is not on one line
	Reason string
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("contacts: line %d: %s", e.Line, e.Reason)
	}
	return "contacts: " + e.Reason
}

// Read reads a whole CSV of contacts. A fatal problem (empty input, no header,
// no company_name column, invalid UTF-8 that cannot be decoded, a header with
// duplicate columns) returns an error that names what is wrong and, where
// relevant, the line. Row problems never stop the read: the row goes to
// File.Errors with its line number and a reason a user understands, and the
// other rows are kept.
//
// Encoding: UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1252 when
// the file is not UTF-8 (see File.Encoding). The delimiter (',', ';' or tab) is
// the one found most often outside quotes on the header line, which is the
// first line with a character other than space, ',', ';' or '"' (lines above
// it are ignored). Headers are mapped with Canonical; an empty header cell is
// named "column_N" (N is its 1-based position). A fatal error is a
// *FormatError.
//
// Rows: cells are trimmed; rows whose cells are all blank are skipped; a row
// with fewer cells than the header, or with more and a non-blank extra cell,
// is an error. company_name and a valid email (see NormalizeEmail) are
// required; website may be empty, else it must pass NormalizeWebsite. Email
// and website are stored normalised in the Contact and in Fields. A row whose
// email equals, ignoring case, the email of an accepted row above is a
// "duplicate of line N" error (a rejected row does not count as a first
// occurrence).
//
// Quotes: the file is parsed strictly (RFC 4180), so a quoted cell may hold
// delimiters and line breaks, and Line is the line a row starts on. A
// one-line row with a stray quote (`Bob "the boss"`, `"Acme "Best" Corp"`) is
// re-read leniently, the quote kept as a literal character, and validated
// like any row (the cell count must match). A quoting error that made the
// strict reader take several lines as one row (a quote opened and never
// properly closed) rejects the first of those lines only and reads again from
// the next one, so the good rows it swallowed are kept; that recovery is
// bounded so that reading stays linear, and past the bound the whole span is
// one error naming its lines. No row is ever dropped without a RowError.
//
// Read holds the whole file in memory; limit r (io.LimitReader) for untrusted
// uploads.
func Read(r io.Reader) (*File, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("contacts: read: %w", err)
	}
	if len(b) == 0 {
		return nil, &FormatError{Reason: "the file is empty"}
	}
	text, enc, err := decode(b)
	if err != nil {
		return nil, err
	}
	headLine, delim, ok := findHeader(text)
	if !ok {
		return nil, &FormatError{Reason: "no header: the file has no line with text"}
	}
	f := &File{Delimiter: delim, Encoding: enc}
	s := &scanner{text: text, delim: delim, budget: 8*len(text) + 16<<20}
	s.reset(headLine)

	var head record
	for {
		rec, ok := s.next()
		if !ok {
			return nil, &FormatError{Reason: "no header: the file has no line with text"}
		}
		if rec.problem != "" {
			return nil, &FormatError{Line: rec.line, Reason: "header: " + rec.problem}
		}
		if !blank(rec.cells) {
			head = rec
			break
		}
	}
	if err := f.setHeader(head); err != nil {
		return nil, err
	}

	firstLine := make(map[string]int) // lower-cased email -> line of the accepted contact
	for {
		rec, ok := s.next()
		if !ok {
			break
		}
		if rec.problem != "" {
			f.Errors = append(f.Errors, RowError{Line: rec.line, Reason: rec.problem, Raw: []string{rec.raw}})
			continue
		}
		if blank(rec.cells) {
			continue
		}
		c, reason := f.contact(rec)
		if reason == "" {
			key := strings.ToLower(c.Email)
			if n, dup := firstLine[key]; dup {
				reason = fmt.Sprintf("duplicate of line %d (same email %s)", n, c.Email)
			} else {
				firstLine[key] = c.Line
				f.Contacts = append(f.Contacts, c)
				continue
			}
		}
		f.Errors = append(f.Errors, RowError{Line: rec.line, Reason: reason, Fields: c.Fields, Raw: rec.cells})
	}
	return f, nil
}

// setHeader sets f.Header from the header record, refusing duplicate canonical
// names and a file without company_name.
func (f *File) setHeader(head record) error {
	seen := make(map[string]int, len(head.cells))
	f.Header = make([]string, len(head.cells))
	f.Columns = make([]string, len(head.cells))
	for i, cell := range head.cells {
		f.Columns[i] = strings.TrimSpace(cell)
		name := Canonical(cell)
		if name == "" {
			name = fmt.Sprintf("column_%d", i+1)
		}
		if j, dup := seen[name]; dup {
			return &FormatError{Line: head.line, Reason: fmt.Sprintf(
				"columns %q and %q both mean %q; rename or remove one",
				strings.TrimSpace(head.cells[j]), strings.TrimSpace(cell), name)}
		}
		seen[name] = i
		f.Header[i] = name
	}
	if _, ok := seen[ColCompanyName]; !ok {
		return &FormatError{Line: head.line, Reason: fmt.Sprintf(
			"no company column: the header needs one named company_name, Company, Société or Entreprise (found %s)",
			quoteList(head.cells))}
	}
	return nil
}

// contact validates one data row. It returns the contact (with Fields set even
// when the row is rejected) and "" or the reason the row is rejected.
func (f *File) contact(rec record) (Contact, string) {
	cells := make([]string, len(rec.cells))
	for i, v := range rec.cells {
		cells[i] = strings.TrimSpace(v)
	}
	c := Contact{Line: rec.line, Fields: make(map[string]string, len(f.Header))}
	for i, name := range f.Header {
		if i < len(cells) {
			c.Fields[name] = cells[i]
		}
	}
	if len(cells) < len(f.Header) || !blank(cells[len(f.Header):]) {
		reason := fmt.Sprintf("the row has %d cells but the header has %d", len(cells), len(f.Header))
		switch {
		case rec.lenient:
			reason = "bad quotes: a quote inside a cell must be doubled (\"\") or the cell quoted; " + reason
		case len(cells) > len(f.Header):
			reason += fmt.Sprintf(" (a cell holding the delimiter %q must be quoted)", f.Delimiter)
		}
		return c, reason
	}
	// Reasons name columns as the user wrote them ("Société", "Site web").
	var problems []string
	for i := range f.Header {
		if len(cells[i]) > MaxCell && utf8.RuneCountInString(cells[i]) > MaxCell {
			problems = append(problems, fmt.Sprintf("%s: the cell is longer than %d characters", f.Columns[i], MaxCell))
		}
	}
	c.CompanyName = c.Fields[ColCompanyName]
	if c.CompanyName == "" {
		problems = append(problems, f.column(ColCompanyName)+" is empty (a company name is required)")
	}
	email, err := NormalizeEmail(c.Fields[ColEmail])
	switch v, ok := c.Fields[ColEmail]; {
	case !ok:
		problems = append(problems, "no email column (an email is required)")
	case v == "":
		problems = append(problems, f.column(ColEmail)+" is empty (an email is required)")
	case err != nil:
		problems = append(problems, fmt.Sprintf("%s %s: %v", f.column(ColEmail), short(v), err))
	}
	website, err := NormalizeWebsite(c.Fields[ColWebsite])
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s %s: %v", f.column(ColWebsite), short(c.Fields[ColWebsite]), err))
	}
	if len(problems) > 0 {
		return c, strings.Join(problems, "; ")
	}
	if _, ok := c.Fields[ColEmail]; ok {
		c.Fields[ColEmail] = email
	}
	if _, ok := c.Fields[ColWebsite]; ok {
		c.Fields[ColWebsite] = website
	}
	c.Email, c.Website = email, website
	c.FirstName = c.Fields[ColFirstName]
	c.LastName = c.Fields[ColLastName]
	c.LinkedInURL = c.Fields[ColLinkedInURL]
	c.Industry = c.Fields[ColIndustry]
	c.JobTitle = c.Fields[ColJobTitle]
	return c, ""
}

// column returns the header cell, as written, of the column with the given
// canonical name.
func (f *File) column(name string) string {
	for i, h := range f.Header {
		if h == name && f.Columns[i] != "" {
			return f.Columns[i]
		}
	}
	return name
}

// record is one CSV record, or a span of lines that could not be parsed.
type record struct {
	line    int      // physical line the record starts on
	cells   []string // raw cells; nil when problem is set
	problem string   // why the lines could not be parsed as a row
	raw     string   // the unparsable lines, when problem is set
	lenient bool     // cells were read with LazyQuotes after a quoting error
}

// scanner reads records with encoding/csv, recovering from quoting errors.
type scanner struct {
	text   string
	delim  rune
	starts []int // byte offset of each line (starts[0] is line 1); built on first need
	cr     *csv.Reader
	base   int // lines of text before the one cr started on
	// budget is how many bytes may still be read a second time to recover
	// from quoting errors; it keeps pathological files linear.
	budget int
}

// reset starts a strict reader on line n.
func (s *scanner) reset(n int) {
	off := 0
	if n > 1 {
		off = s.lineStart(n)
	}
	s.cr = s.newReader(s.text[off:], false)
	s.base = n - 1
}

func (s *scanner) newReader(text string, lazy bool) *csv.Reader {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = s.delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = lazy
	// Allows `a, "b"`; not with tabs, which it would take for space.
	cr.TrimLeadingSpace = s.delim != '\t'
	return cr
}

// next returns the next record; false at the end of the text.
//
// On a quoting error the strict reader has read lines start..at as one
// record. A one-line record is re-read leniently. Otherwise the quote on
// line start is the likely culprit (a quote opened and not closed where
// expected): that line is rejected and reading starts again on the next one,
// so the good rows the bad quote swallowed are kept. Once the budget for
// reading again is spent, the whole span is rejected instead.
func (s *scanner) next() (record, bool) {
	cells, err := s.cr.Read()
	if err == io.EOF {
		return record{}, false
	}
	if err == nil {
		line, _ := s.cr.FieldPos(0)
		return record{line: s.base + line, cells: cells}, true
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) { // cannot happen on a strings.Reader
		return record{line: s.base + 1, problem: err.Error()}, true
	}
	start, at := s.base+pe.StartLine, min(s.base+pe.Line, s.lineCount())
	rec := record{line: start, raw: s.lines(start, start)}
	if pe.Err == csv.ErrQuote && !s.quoteAt(at, pe.Column) {
		// The strict reader ran to the end of the text in a quoted cell.
		at = s.lineCount()
		rec.problem = "bad quotes: a quoted cell is opened (\") but never closed"
	} else if start == at {
		if cells, ok := s.lenient(start); ok {
			return record{line: start, cells: cells, lenient: true}, true
		}
		rec.problem = fmt.Sprintf("bad quotes at character %d: a quote inside a cell must be doubled (\"\") and a quoted cell must end with a quote then %s or the line end",
			s.runeCol(at, pe.Column), delimName(s.delim))
	} else {
		rec.problem = "bad quotes: a quoted cell on this line does not end with a quote then " + delimName(s.delim) + " or the line end"
	}
	if start == at {
		return rec, true // the strict reader goes on with the next line
	}
	if cost := s.lineStart(at+1) - s.lineStart(start+1); cost <= s.budget {
		s.budget -= cost
		s.reset(start + 1)
		return rec, true
	}
	rec.raw = s.lines(start, at)
	rec.problem += fmt.Sprintf("; lines %d to %d were read as one row and rejected", start, at)
	return rec, true
}

func delimName(d rune) string {
	switch d {
	case ',':
		return "a comma"
	case ';':
		return "a semicolon"
	}
	return "a tab"
}

// lenient re-reads line n alone with LazyQuotes. It succeeds when the line is
// exactly one record and no cell ran into the line end (an unclosed quote).
func (s *scanner) lenient(n int) ([]string, bool) {
	line := s.lines(n, n) + "\n"
	cr := s.newReader(line, true)
	cells, err := cr.Read()
	if err != nil {
		return nil, false
	}
	if _, err := cr.Read(); err != io.EOF {
		return nil, false
	}
	for _, c := range cells {
		if strings.ContainsAny(c, "\r\n") {
			return nil, false
		}
	}
	return cells, true
}

func (s *scanner) buildStarts() {
	if s.starts != nil {
		return
	}
	s.starts = append(s.starts, 0)
	for i := 0; i < len(s.text); i++ {
		if s.text[i] == '\n' && i+1 < len(s.text) {
			s.starts = append(s.starts, i+1)
		}
	}
}

func (s *scanner) lineCount() int { s.buildStarts(); return len(s.starts) }

// lineStart returns the byte offset of line n (1-based), or len(text) past
// the last line.
func (s *scanner) lineStart(n int) int {
	s.buildStarts()
	if n-1 >= len(s.starts) {
		return len(s.text)
	}
	return s.starts[n-1]
}

// lines returns the text of lines from to to (1-based, inclusive) without the
// final line end.
func (s *scanner) lines(from, to int) string {
	t := s.text[s.lineStart(from):s.lineStart(to+1)]
	t = strings.TrimSuffix(t, "\n")
	return strings.TrimSuffix(t, "\r")
}

// quoteAt reports whether the byte at line n, 1-based byte column col, is a
// quote: where the strict reader reports a quote that is not followed by a
// delimiter, as opposed to the end of the text.
func (s *scanner) quoteAt(n, col int) bool {
	i := s.lineStart(n) + col - 1
	return col >= 1 && i < len(s.text) && i < s.lineStart(n+1) && s.text[i] == '"'
}

func (s *scanner) runeCol(n, col int) int {
	i := min(s.lineStart(n)+col-1, len(s.text))
	return utf8.RuneCountInString(s.text[s.lineStart(n):max(i, s.lineStart(n))]) + 1
}

// findHeader returns the header line, the first line with a character other
// than space, ',', ';' or '"', and the delimiter: ',', ';' or '\t', whichever
// occurs most outside quotes on that line (',' when none does). An Excel
// "sep=;" (or "sep=,") first line sets the delimiter instead, and the header
// is the next line with text. It returns false when no line has text.
func findHeader(text string) (line int, delim rune, ok bool) {
	start, line := 0, 1
	if first, _, found := strings.Cut(text, "\n"); found {
		if first = strings.TrimSpace(first); len(first) == 5 && strings.EqualFold(first[:4], "sep=") &&
			(first[4] == ',' || first[4] == ';') {
			delim = rune(first[4])
			start, line = strings.IndexByte(text, '\n')+1, 2
		}
	}
	for ; ; line++ {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text) - start
		}
		if strings.IndexFunc(text[start:start+end], isText) >= 0 {
			break
		}
		start += end + 1
		if start >= len(text) {
			return 0, 0, false
		}
	}
	if delim != 0 {
		return line, delim, true
	}
	counts := map[rune]int{}
	quoted := false
	for _, r := range text[start:] {
		if r == '"' {
			quoted = !quoted
		} else if r == '\n' && !quoted {
			break
		} else if !quoted && (r == ',' || r == ';' || r == '\t') {
			counts[r]++
		}
	}
	delim = ','
	for _, d := range []rune{';', '\t'} {
		if counts[d] > counts[delim] {
			delim = d
		}
	}
	return line, delim, true
}

func isText(r rune) bool { return !unicode.IsSpace(r) && r != ',' && r != ';' && r != '"' }

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// short quotes v for a message, cut to 60 characters.
func short(v string) string {
	if utf8.RuneCountInString(v) > 60 {
		r := []rune(v)
		v = string(r[:60]) + "…"
	}
	return fmt.Sprintf("%q", v)
}

// quoteList lists the first header cells for a message.
func quoteList(cells []string) string {
	q := make([]string, 0, min(len(cells), 21))
	for i, c := range cells {
		if i == 20 {
			q = append(q, "…")
			break
		}
		q = append(q, short(strings.TrimSpace(c)))
	}
	return strings.Join(q, ", ")
}
