// Package output writes a campaign run's files: emails.jsonl (everything),
// emails.csv (the sequencer import file: only emails with no blocking flag),
// errors.csv (every rejected row and failed contact) and report.html (a
// self-contained page for reviewers, blocked emails included).
package output

import (
	"bufio"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
)

// File names inside the output directory.
const (
	FileEmailsJSONL = "emails.jsonl"
	FileEmailsCSV   = "emails.csv"
	FileErrorsCSV   = "errors.csv"
	FileReport      = "report.html"
)

//go:embed report.html.tmpl
var reportFS embed.FS

var reportTmpl = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + " %" },
	"f1":  func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"band": func(score int) string {
		switch {
		case score >= 85:
			return "good"
		case score >= 70:
			return "ok"
		}
		return "bad"
	},
	"fellBack": fellBack,
}).ParseFS(reportFS, "report.html.tmpl"))

// fallbackVar is a variable the fallback engine filled, for report.html.
type fallbackVar struct{ Name, Reason string }

// fellBack lists the variables the fallback engine filled, by name.
func fellBack(vars map[string]email.Variable) []fallbackVar {
	var out []fallbackVar
	for name, v := range vars {
		if v.FallbackReason != "" {
			out = append(out, fallbackVar{name, v.FallbackReason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Writer writes one run's files. Results are appended as they come, so an
// interrupted run keeps what it finished.
type Writer struct {
	dir      string
	jsonl    *os.File
	jsonlBuf *bufio.Writer
	emails   *os.File
	emailCSV *csv.Writer
	errs     *os.File
	errCSV   *csv.Writer
	report   []email.Result
	failed   int
	ready    int
	blocked  int
	gates    map[string]int // gate flag code -> blocked emails carrying it
}

// Create makes dir and opens the output files (truncating earlier ones).
func Create(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	w := &Writer{dir: dir}
	var err error
	open := func(name string) *os.File {
		if err != nil {
			return nil
		}
		var f *os.File
		f, err = os.Create(filepath.Join(dir, name))
		return f
	}
	w.jsonl, w.emails, w.errs = open(FileEmailsJSONL), open(FileEmailsCSV), open(FileErrorsCSV)
	if err != nil {
		w.closeFiles()
		return nil, fmt.Errorf("output: %w", err)
	}
	w.jsonlBuf = bufio.NewWriter(w.jsonl)
	w.emailCSV, w.errCSV = csv.NewWriter(w.emails), csv.NewWriter(w.errs)
	// UTF-8 BOM so that Excel opens the accents right; sequencers accept it.
	if _, err := w.emails.WriteString("\ufeff"); err != nil {
		return nil, err
	}
	if err := w.emailCSV.Write([]string{"email", "first_name", "last_name", "company_name", "subject", "email_body"}); err != nil {
		return nil, err
	}
	if _, err := w.errs.WriteString("\ufeff"); err != nil {
		return nil, err
	}
	if err := w.errCSV.Write([]string{"line", "email", "company_name", "reason", "row"}); err != nil {
		return nil, err
	}
	return w, nil
}

// Dir is the output directory.
func (w *Writer) Dir() string { return w.dir }

// RowErrors records rejected CSV rows in errors.csv.
func (w *Writer) RowErrors(errs []contacts.RowError) error {
	for _, e := range errs {
		if err := w.errCSV.Write(SafeRow([]string{strconv.Itoa(e.Line), e.Fields["email"], e.Fields["company_name"], e.Reason, strings.Join(e.Raw, " | ")})); err != nil {
			return fmt.Errorf("output: %s: %w", FileErrorsCSV, err)
		}
	}
	w.errCSV.Flush()
	return w.errCSV.Error()
}

// Write appends one contact's result: every result goes to emails.jsonl
// and report.html; a generated email goes to emails.csv only when no flag
// of its quality report is a gate (an unfilled variable, an ungrounded
// claim...): a blocked email needs a reviewer before any sequencer sees it.
func (w *Writer) Write(r email.Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("output: encode result for line %d: %w", r.Contact.Line, err)
	}
	w.jsonlBuf.Write(b)
	w.jsonlBuf.WriteByte('\n')
	switch {
	case r.Status == email.StatusGenerated && r.Quality.Gated():
		w.blocked++
		if w.gates == nil {
			w.gates = map[string]int{}
		}
		seen := map[string]bool{}
		for _, f := range r.Quality.Flags {
			if f.Gate && !seen[f.Code] {
				seen[f.Code] = true
				w.gates[f.Code]++
			}
		}
	case r.Status == email.StatusGenerated:
		w.ready++
		c := r.Contact
		if err := w.emailCSV.Write(SafeRow([]string{c.Email, c.FirstName, c.LastName, c.CompanyName, r.Subject, r.Body})); err != nil {
			return fmt.Errorf("output: %s: %w", FileEmailsCSV, err)
		}
	default:
		w.failed++
		if err := w.errCSV.Write(SafeRow([]string{strconv.Itoa(r.Contact.Line), r.Contact.Email, r.Contact.CompanyName, "generation failed: " + r.Error, ""})); err != nil {
			return fmt.Errorf("output: %s: %w", FileErrorsCSV, err)
		}
	}
	r.Answers = nil
	w.report = append(w.report, r)
	return nil
}

// Ready is the number of emails written to emails.csv so far.
func (w *Writer) Ready() int { return w.ready }

// Blocked is the number of generated emails held back from emails.csv so
// far because a flag is a gate (they are in emails.jsonl and report.html).
func (w *Writer) Blocked() int { return w.blocked }

// BlockedBy counts, by flag code, the blocked emails carrying that gate
// flag (a copy; nil when none was blocked).
func (w *Writer) BlockedBy() map[string]int { return maps.Clone(w.gates) }

// ReportInfo describes the run on report.html.
type ReportInfo struct {
	Client      string
	Template    string
	Engine      string
	Rejected    int // CSV rows rejected
	GeneratedAt time.Time
}

// Close flushes everything and writes report.html. The report counts the
// blocked emails this Writer held back (s.Blocked is set from them).
func (w *Writer) Close(s email.Summary, info ReportInfo) error {
	s.Blocked = w.blocked
	w.emailCSV.Flush()
	w.errCSV.Flush()
	errs := []error{w.jsonlBuf.Flush(), w.emailCSV.Error(), w.errCSV.Error()}
	errs = append(errs, w.closeFiles()...)
	sort.SliceStable(w.report, func(i, j int) bool { return w.report[i].Quality.Score < w.report[j].Quality.Score })
	f, err := os.Create(filepath.Join(w.dir, FileReport))
	if err == nil {
		bw := bufio.NewWriter(f)
		err = reportTmpl.Execute(bw, struct {
			Info    ReportInfo
			Summary email.Summary
			Results []email.Result
		}{info, s, w.report})
		errs = append(errs, err, bw.Flush(), f.Close())
	} else {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

func (w *Writer) closeFiles() []error {
	var errs []error
	for _, f := range []*os.File{w.jsonl, w.emails, w.errs} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errs
}

// SafeCell neutralises a cell that a spreadsheet would run as a formula
// (starting with = + - @, tab or carriage return) by prefixing a quote.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// SafeRow applies SafeCell to every cell.
func SafeRow(row []string) []string {
	for i := range row {
		row[i] = SafeCell(row[i])
	}
	return row
}
