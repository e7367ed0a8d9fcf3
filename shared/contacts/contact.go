// Package contacts reads prospect lists (CSV exports from Clay, Apollo, Sales
// Navigator, spreadsheets) into validated contacts, reporting every rejected
// row with its line number and reason.
package contacts

// Contact is one accepted CSV row.
type Contact struct {
	Line        int    `json:"line"` // 1-based line where the row starts in the file (the header is usually line 1)
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	CompanyName string `json:"company_name"`
	Website     string `json:"website"`
	LinkedInURL string `json:"linkedin_url"`
	Industry    string `json:"industry"`
	JobTitle    string `json:"job_title"`
	// Fields holds every column of the row under its canonical name (the
	// known columns above included), so a template may use any CSV column.
	Fields map[string]string `json:"fields"`
}

// Get returns the value of a column by canonical name ("" when absent).
func (c Contact) Get(name string) string { return c.Fields[name] }

// RowError is a rejected row: it is never dropped silently.
type RowError struct {
	Line   int               `json:"line"`
	Reason string            `json:"reason"`
	Fields map[string]string `json:"fields"` // the row as read, canonical names
	Raw    []string          `json:"raw"`    // the raw cells as read (for a quoting error: the physical lines, one element)
}

// File is the result of reading a whole CSV file.
type File struct {
	Header   []string   // canonical column names, in file order
	Columns  []string   // the header cells as written (trimmed), in file order
	Contacts []Contact  // accepted rows, in file order
	Errors   []RowError // rejected rows, in file order
	// Delimiter is the cell delimiter detected from the header line: ',', ';' or '\t'.
	Delimiter rune
	// Encoding is how the bytes were decoded: "utf-8", "windows-1252",
	// "utf-16le" or "utf-16be".
	Encoding string
}
