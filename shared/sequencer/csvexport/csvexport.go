// Package csvexport writes approved emails as a sequencer's CSV import
// file: Smartlead, Instantly or lemlist column names (the reference's
// recommended headers, which auto-map in each tool's import step and match
// the API field names), the day-1 subject and body as custom columns,
// formula-safe cells, UTF-8 with an optional byte-order mark for
// spreadsheets.
package csvexport

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/kaleads/kaleads/shared/output"
	"github.com/kaleads/kaleads/shared/sequencer"
)

// Formats.
const (
	Smartlead = "smartlead"
	Instantly = "instantly"
	Lemlist   = "lemlist"
)

// columns are each format's fixed columns, in order, with the lead field
// each takes.
var columns = map[string][]struct {
	name  string
	value func(sequencer.Lead) string
}{
	Smartlead: {
		{"email", func(l sequencer.Lead) string { return l.Email }},
		{"first_name", func(l sequencer.Lead) string { return l.FirstName }},
		{"last_name", func(l sequencer.Lead) string { return l.LastName }},
		{"company_name", func(l sequencer.Lead) string { return l.CompanyName }},
		{"website", func(l sequencer.Lead) string { return l.Website }},
	},
	Instantly: {
		{"email", func(l sequencer.Lead) string { return l.Email }},
		{"first_name", func(l sequencer.Lead) string { return l.FirstName }},
		{"last_name", func(l sequencer.Lead) string { return l.LastName }},
		{"company_name", func(l sequencer.Lead) string { return l.CompanyName }},
		{"website", func(l sequencer.Lead) string { return l.Website }},
	},
	Lemlist: {
		{"email", func(l sequencer.Lead) string { return l.Email }},
		{"firstName", func(l sequencer.Lead) string { return l.FirstName }},
		{"lastName", func(l sequencer.Lead) string { return l.LastName }},
		{"companyName", func(l sequencer.Lead) string { return l.CompanyName }},
		{"companyDomain", func(l sequencer.Lead) string { return l.Website }},
	},
}

// MaxCustom is the most custom columns a file carries (Smartlead takes 20
// custom fields; the others share the limit so one file shape serves all).
const MaxCustom = 20

// Formats lists the formats Write knows.
func Formats() []string {
	out := make([]string, 0, len(columns))
	for f := range columns {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Write writes leads as format's import file: the fixed columns, then
// subject, email_body and the leads' other custom fields (sorted, the same
// for every row). Every cell is neutralised against spreadsheet formulas.
// bom prefixes the UTF-8 byte-order mark spreadsheets need to read accents.
func Write(w io.Writer, format string, leads []sequencer.Lead, bom bool) error {
	cols, ok := columns[format]
	if !ok {
		return fmt.Errorf("csvexport: unknown format %q (known: %v)", format, Formats())
	}
	custom := []string{sequencer.FieldSubject, sequencer.FieldBody}
	for _, l := range leads {
		for k := range l.Custom {
			if !slices.Contains(custom, k) {
				custom = append(custom, k)
			}
		}
	}
	slices.Sort(custom[2:])
	if len(custom) > MaxCustom {
		return fmt.Errorf("csvexport: %d custom columns, at most %d (Smartlead's custom field limit)", len(custom), MaxCustom)
	}
	if bom {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	header := make([]string, 0, len(cols)+len(custom))
	for _, c := range cols {
		header = append(header, c.name)
	}
	header = append(header, custom...)
	if err := cw.Write(header); err != nil {
		return err
	}
	for i, l := range leads {
		if l.Email == "" {
			return fmt.Errorf("csvexport: lead %d has no e-mail address", i+1)
		}
		row := make([]string, 0, len(header))
		for _, c := range cols {
			row = append(row, c.value(l))
		}
		fields := l.CustomFields()
		for _, k := range custom {
			row = append(row, fields[k])
		}
		if err := cw.Write(output.SafeRow(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
