package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
)

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
		"+33 6 12":                       "'+33 6 12",
		"-2+3":                           "'-2+3",
		"@SUM(A1)":                       "'@SUM(A1)",
		"\tcmd":                          "'\tcmd",
		"Bonjour = salut":                "Bonjour = salut",
		"":                               "",
		"léa@acme.fr":                    "léa@acme.fr",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "\ufeff") {
		t.Errorf("%s: no UTF-8 BOM for Excel", path)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RowErrors([]contacts.RowError{{Line: 4, Reason: "invalid email \"jean@@x.fr\"", Fields: map[string]string{"email": "jean@@x.fr", "company_name": "X"}, Raw: []string{"Jean", "jean@@x.fr"}}}); err != nil {
		t.Fatal(err)
	}
	good := email.Result{Contact: contacts.Contact{Line: 2, Email: "lea@acme.fr", FirstName: "Léa", LastName: "=HYPERLINK(\"http://evil\")", CompanyName: "Acme"},
		Subject: "Acme", Body: "Bonjour Léa,\n\nligne 2", Status: email.StatusGenerated,
		Quality:   email.Report{Score: 90, Flags: []email.Flag{{Code: "jargon", Points: 10, Message: "Uses jargon: innovant."}}},
		Variables: map[string]email.Variable{"target_persona": {Value: "DAF", Agent: "persona", FallbackLevel: 1, Confidence: 5}}}
	bad := good
	bad.Contact.Line, bad.Contact.Email, bad.Quality = 3, "paul@acme.fr", email.Report{Score: 40, Flags: []email.Flag{{Code: "unfilled_variable", Points: 30, Message: "{{first_name}} is not filled.", Gate: true}}}
	failed := email.Result{Contact: contacts.Contact{Line: 5, Email: "z@z.fr", CompanyName: "Z"}, Status: email.StatusFailed, Error: "context canceled"}
	for _, r := range []email.Result{good, bad, failed} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(email.Summary{Contacts: 3, Generated: 2, Failed: 1}, ReportInfo{Client: "acme", GeneratedAt: time.Unix(0, 0).UTC()}); err != nil {
		t.Fatal(err)
	}

	emails := readCSV(t, filepath.Join(dir, FileEmailsCSV))
	if len(emails) != 2 || strings.Join(emails[0], ",") != "email,first_name,last_name,company_name,subject,email_body" {
		t.Fatalf("emails.csv %v", emails)
	}
	if emails[1][2] != "'=HYPERLINK(\"http://evil\")" || emails[1][5] != "Bonjour Léa,\n\nligne 2" {
		t.Errorf("row %q: formula not neutralised or body changed", emails[1])
	}
	errs := readCSV(t, filepath.Join(dir, FileErrorsCSV))
	if len(errs) != 3 || errs[1][0] != "4" || !strings.Contains(errs[1][3], "invalid email") || errs[2][0] != "5" || !strings.Contains(errs[2][3], "generation failed: context canceled") {
		t.Errorf("errors.csv %v", errs)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dir, FileEmailsJSONL))), "\n")
	if len(lines) != 3 {
		t.Fatalf("emails.jsonl has %d lines", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"contact", "subject", "body", "variables", "quality", "status", "timings"} {
		if _, ok := first[k]; !ok {
			t.Errorf("emails.jsonl object lacks %q", k)
		}
	}
	html := readFile(t, filepath.Join(dir, FileReport))
	iBad, iGood := strings.Index(html, `id="line-3"`), strings.Index(html, `id="line-2"`)
	if iBad < 0 || iGood < 0 || iBad > iGood {
		t.Errorf("report must list the worst score first")
	}
	for _, want := range []string{"{{first_name}} is not filled.", "bloquant", "Uses jargon: innovant.", "context canceled", "DAF", `class="blocked" id="line-3"`, "<b>1</b>bloqués, à relire"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, `=HYPERLINK("http://evil")`) {
		t.Errorf("report does not escape contact data")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriterExportsOnlyUngated: emails.csv, the sequencer import file, holds
// only generated emails with no gate flag; every result stays in
// emails.jsonl and report.html, and the writer counts what it held back.
func TestWriterExportsOnlyUngated(t *testing.T) {
	gen := func(line int, flags ...email.Flag) email.Result {
		return email.Result{Contact: contacts.Contact{Line: line, Email: fmt.Sprintf("c%d@acme.fr", line), CompanyName: "Acme"},
			Subject: "s", Body: "Bonjour,", Status: email.StatusGenerated, Quality: email.Report{Score: 80, Flags: flags}}
	}
	unfilled := email.Flag{Code: "unfilled_variable", Points: 30, Message: "{{first_name}} is not filled.", Gate: true}
	ungrounded := email.Flag{Code: "ungrounded", Points: 10, Message: "quote not found", Gate: true}
	jargon := email.Flag{Code: "jargon", Points: 5, Message: "jargon"}
	failed := email.Result{Contact: contacts.Contact{Line: 9, Email: "f@acme.fr"}, Status: email.StatusFailed, Error: "boom"}
	tests := []struct {
		name           string
		results        []email.Result
		wantCSV        []string // email column of emails.csv, in order
		ready, blocked int
		blockedBy      map[string]int
	}{
		{"no flag", []email.Result{gen(2), gen(3)}, []string{"c2@acme.fr", "c3@acme.fr"}, 2, 0, nil},
		{"non-gate flag is exported", []email.Result{gen(2, jargon)}, []string{"c2@acme.fr"}, 1, 0, nil},
		{"gate flag is held back", []email.Result{gen(2), gen(3, unfilled), gen(4, jargon, ungrounded)}, []string{"c2@acme.fr"}, 1, 2,
			map[string]int{"unfilled_variable": 1, "ungrounded": 1}},
		{"two gates of one code count once", []email.Result{gen(2, unfilled, unfilled, ungrounded)}, nil, 0, 1,
			map[string]int{"unfilled_variable": 1, "ungrounded": 1}},
		{"failed is neither", []email.Result{failed, gen(3, unfilled)}, nil, 0, 1, map[string]int{"unfilled_variable": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.results {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if w.Ready() != tt.ready || w.Blocked() != tt.blocked || !reflect.DeepEqual(w.BlockedBy(), tt.blockedBy) {
				t.Errorf("ready %d, blocked %d, by %v; want %d, %d, %v", w.Ready(), w.Blocked(), w.BlockedBy(), tt.ready, tt.blocked, tt.blockedBy)
			}
			if err := w.Close(email.Summary{Contacts: len(tt.results), Generated: tt.ready + tt.blocked}, ReportInfo{Client: "acme", GeneratedAt: time.Unix(0, 0).UTC()}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, row := range readCSV(t, filepath.Join(dir, FileEmailsCSV))[1:] {
				got = append(got, row[0])
			}
			if !reflect.DeepEqual(got, tt.wantCSV) {
				t.Errorf("emails.csv holds %v, want %v", got, tt.wantCSV)
			}
			if n := len(strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dir, FileEmailsJSONL))), "\n")); n != len(tt.results) {
				t.Errorf("emails.jsonl has %d lines, want %d", n, len(tt.results))
			}
			html := readFile(t, filepath.Join(dir, FileReport))
			for _, r := range tt.results {
				if !strings.Contains(html, fmt.Sprintf(`id="line-%d"`, r.Contact.Line)) {
					t.Errorf("report.html lacks line %d", r.Contact.Line)
				}
			}
			if want := fmt.Sprintf("<b>%d</b>bloqués", tt.blocked); !strings.Contains(html, want) {
				t.Errorf("report.html lacks %q", want)
			}
		})
	}
}

// TestReportShowsEngineAndFallback: each variable's engine is in
// emails.jsonl and report.html, with the fallback reason when the LLM
// engine fell back; the header counts calls and fallbacks when a model
// was called.
func TestReportShowsEngineAndFallback(t *testing.T) {
	t.Parallel()
	llmVar := email.Variable{Value: "DAF", Agent: "persona", FallbackLevel: 1, Confidence: 5, Engine: "llm"}
	fbVar := email.Variable{Value: "logiciel", Agent: "persona", FallbackLevel: 2, Confidence: 3, Engine: "offline", FallbackReason: "model call failed"}
	activity := map[string]email.AgentActivity{"persona": {Answers: 4, Calls: 5, Retries: 2, Repairs: 1, Fallbacks: map[string]int{"model call failed": 1}}}
	tests := []struct {
		name      string
		vars      map[string]email.Variable
		agents    map[string]email.AgentActivity
		jsonl     []string
		html, not []string
	}{
		{"llm answers", map[string]email.Variable{"target_persona": llmVar}, map[string]email.AgentActivity{"persona": {Answers: 4, Calls: 4}},
			[]string{`"engine":"llm"`}, []string{"<td>llm</td>", "<b>4</b>appels LLM (0 relances, 0 réparées)", "<b>0 / 4</b>réponses de repli (0.0 %)"},
			[]string{"fallback_reason", "Réponses du moteur de repli", "repli : "}},
		{"a fallback", map[string]email.Variable{"target_persona": llmVar, "product_category": fbVar}, activity,
			[]string{`"engine":"offline","fallback_reason":"model call failed"`},
			[]string{`repli : model call failed`, "Réponses du moteur de repli : <code>product_category</code> (model call failed)",
				"<b>5</b>appels LLM (2 relances, 1 réparées)", "<b>1 / 4</b>réponses de repli (25.0 %)"}, nil},
		{"offline engine, no call", map[string]email.Variable{"target_persona": {Value: "DAF", Agent: "persona", Engine: "offline"}},
			map[string]email.AgentActivity{"persona": {Answers: 4}},
			[]string{`"engine":"offline"`}, []string{"<td>offline</td>"}, []string{"appels LLM", "réponses de repli", "fallback_reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			r := email.Result{Contact: contacts.Contact{Line: 2, Email: "lea@acme.fr", CompanyName: "Acme"}, Subject: "s", Body: "b",
				Status: email.StatusGenerated, Quality: email.Report{Score: 90}, Variables: tt.vars}
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(email.Summary{Contacts: 1, Generated: 1, Agents: tt.agents}, ReportInfo{Client: "acme", GeneratedAt: time.Unix(0, 0).UTC()}); err != nil {
				t.Fatal(err)
			}
			jsonl, html := readFile(t, filepath.Join(dir, FileEmailsJSONL)), readFile(t, filepath.Join(dir, FileReport))
			for _, want := range tt.jsonl {
				if !strings.Contains(jsonl, want) {
					t.Errorf("emails.jsonl lacks %s:\n%s", want, jsonl)
				}
			}
			for _, want := range tt.html {
				if !strings.Contains(html, want) {
					t.Errorf("report.html lacks %q", want)
				}
			}
			for _, not := range tt.not {
				if strings.Contains(html, not) || strings.Contains(jsonl, not) {
					t.Errorf("output has %q", not)
				}
			}
		})
	}
}
