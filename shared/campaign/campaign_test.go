package campaign

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/email"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const example = "../../examples/prospectia"

func fixedNow() time.Time { return time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC) }

// normalise drops what legitimately changes between runs: timings, and
// which contact of a company computed an answer and which reused it (that
// depends on scheduling; cache reuse has its own tests).
func normalise(t *testing.T, jsonl []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r email.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		r.Timings = email.Timings{}
		for k, v := range r.Variables {
			v.Cached = false
			r.Variables[k] = v
		}
		b, _ := json.MarshalIndent(r, "", "  ")
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/campaign -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: %d lines, want %d", name, len(gl), len(wl))
	}
}

// The demo campaign is deterministic: its emails are a golden file, and a
// second run with more concurrency gives the same bytes.
func TestDemoGolden(t *testing.T) {
	var outs [][]byte
	for _, conc := range []int{1, 16} {
		dir := t.TempDir()
		o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: example + "/contacts.csv", SitesDir: example + "/sites",
			OutDir: dir, Concurrency: conc, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		if o.Summary.Generated != 24 || o.Rejected != 0 || o.Summary.CacheHitRate() < 0.4 {
			t.Errorf("summary %+v", o.Summary)
		}
		b, err := os.ReadFile(filepath.Join(dir, "emails.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, normalise(t, b))
		csvb, _ := os.ReadFile(filepath.Join(dir, "emails.csv"))
		if conc == 1 {
			golden(t, "demo_emails.csv.golden", csvb)
		}
	}
	golden(t, "demo_emails.jsonl.golden", outs[0])
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("concurrency 16 gives different emails than concurrency 1")
	}
}

func TestBadRowsGoToErrorsCSV(t *testing.T) {
	dir := t.TempDir()
	o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: example + "/contacts_bad.csv", SitesDir: example + "/sites", OutDir: dir, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if o.Read != 10 || o.Rejected+o.Summary.Contacts != o.Read {
		t.Errorf("read %d, rejected %d, processed %d: every row must be accounted for", o.Read, o.Rejected, o.Summary.Contacts)
	}
	errs, _ := os.ReadFile(filepath.Join(dir, "errors.csv"))
	// The metadata-address website is refused at the door: the row is
	// rejected, so it is never fetched.
	for _, want := range []string{"marie.dupont@", "jean@@x.fr", "duplicate of line", "javascript:alert(1)", "169.254.169.254"} {
		if !bytes.Contains(errs, []byte(want)) {
			t.Errorf("errors.csv lacks %q:\n%s", want, errs)
		}
	}
	// The row with a formula in last_name is valid: its email is either
	// exported with the formula neutralised, or blocked for review (then
	// absent from emails.csv).
	emails, _ := os.ReadFile(filepath.Join(dir, "emails.csv"))
	if bytes.Contains(emails, []byte(",=HYPERLINK")) {
		t.Errorf("formula in last_name not neutralised:\n%s", emails)
	}
	if !bytes.Contains(emails, []byte("'=HYPERLINK")) {
		jsonl, _ := os.ReadFile(filepath.Join(dir, "emails.jsonl"))
		blocked := false
		for _, line := range bytes.Split(bytes.TrimSpace(jsonl), []byte("\n")) {
			var r email.Result
			if json.Unmarshal(line, &r) == nil && r.Contact.Email == "helene.roche@contrakt.example" {
				blocked = r.Status == email.StatusGenerated && r.Quality.Gated()
			}
		}
		if !blocked {
			t.Errorf("helene.roche@contrakt.example is neither in emails.csv (neutralised) nor blocked:\n%s", emails)
		}
	}
}

// columnsOnlyTemplate uses CSV columns only, so that which emails are
// blocked depends on the contacts alone, not on the agents' answers.
const columnsOnlyTemplate = `---
language: fr
min_words: 40
max_words: 250
---
Subject: rendez-vous chez {{company_name}}

Bonjour {{first_name}},

Nous aidons des éditeurs de logiciels comme {{company_name}} à obtenir des rendez-vous réguliers avec les bonnes personnes, sans recruter de SDR en interne. Vous validez les messages, nous gérons les envois, les relances et la qualification des réponses.

Est-ce que tester deux signaux précis pendant un mois aurait du sens pour vous ce trimestre ?

Julien Ferrand
Prospectia, Lyon
`

// TestBlockedEmailsStayOutOfCSV: an email with a gate flag (here an empty
// first name leaves {{first_name}} unfilled) is written to emails.jsonl and
// report.html but not to emails.csv, and the summary counts it as blocked,
// not as a success.
func TestBlockedEmailsStayOutOfCSV(t *testing.T) {
	const header = "first_name,last_name,email,company_name,website,industry\n"
	row := func(first, email string) string {
		return first + ",Rousseau," + email + ",Voxaly,https://www.voxaly.example,télécoms\n"
	}
	tests := []struct {
		name           string
		rows           []string
		ready, blocked int
		inCSV, notCSV  []string
	}{
		{"all filled", []string{row("Camille", "a@voxaly.example"), row("Thomas", "b@voxaly.example")}, 2, 0,
			[]string{"a@voxaly.example", "b@voxaly.example"}, nil},
		{"one unfilled first name", []string{row("Camille", "a@voxaly.example"), row("", "b@voxaly.example"), row("Léa", "c@voxaly.example")}, 2, 1,
			[]string{"a@voxaly.example", "c@voxaly.example"}, []string{"b@voxaly.example", "{{first_name}}"}},
		{"all unfilled", []string{row("", "a@voxaly.example")}, 0, 1, nil, []string{"a@voxaly.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			csvPath := filepath.Join(dir, "contacts.csv")
			os.WriteFile(csvPath, []byte(header+strings.Join(tt.rows, "")), 0o644)
			tmpl := filepath.Join(dir, "template.md")
			os.WriteFile(tmpl, []byte(columnsOnlyTemplate), 0o644)
			out := filepath.Join(dir, "out")
			o, err := Run(context.Background(), Options{ClientDir: example, TemplateFile: tmpl, ContactsFile: csvPath, SitesDir: example + "/sites", OutDir: out, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			s := o.Summary
			if s.Generated != len(tt.rows) || s.Ready() != tt.ready || s.Blocked != tt.blocked {
				t.Errorf("generated %d, ready %d, blocked %d; want %d, %d, %d", s.Generated, s.Ready(), s.Blocked, len(tt.rows), tt.ready, tt.blocked)
			}
			if want := float64(tt.ready) / float64(len(tt.rows)); s.SuccessRate() != want {
				t.Errorf("success rate %v, want %v (blocked emails are no success)", s.SuccessRate(), want)
			}
			if tt.blocked > 0 && o.BlockedBy["unfilled_variable"] != tt.blocked {
				t.Errorf("blocked by %v", o.BlockedBy)
			}
			csvb, _ := os.ReadFile(filepath.Join(out, "emails.csv"))
			for _, e := range tt.inCSV {
				if !bytes.Contains(csvb, []byte(e)) {
					t.Errorf("emails.csv lacks %s", e)
				}
			}
			for _, e := range tt.notCSV {
				if bytes.Contains(csvb, []byte(e)) {
					t.Errorf("emails.csv holds %s, which is blocked", e)
				}
			}
			jsonl, _ := os.ReadFile(filepath.Join(out, "emails.jsonl"))
			html, _ := os.ReadFile(filepath.Join(out, "report.html"))
			if n := bytes.Count(jsonl, []byte("\n")); n != len(tt.rows) {
				t.Errorf("emails.jsonl has %d lines, want %d", n, len(tt.rows))
			}
			if n := bytes.Count(html, []byte(`class="blocked"`)); n != tt.blocked {
				t.Errorf("report.html marks %d emails blocked, want %d", n, tt.blocked)
			}
			var buf bytes.Buffer
			PrintSummary(&buf, o)
			if want := fmt.Sprintf("emails generated    %d: %d ready (emails.csv), %d blocked, needs review (report.html)", len(tt.rows), tt.ready, tt.blocked); !strings.Contains(buf.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, buf.String())
			}
		})
	}
}

func TestPrintSummary(t *testing.T) {
	tests := []struct {
		name      string
		o         Outcome
		want, not []string
	}{
		{"all ready", Outcome{Read: 24, Engine: "offline", OutDir: "out", Summary: email.Summary{Contacts: 24, Generated: 24}},
			[]string{"emails generated    24: 24 ready (emails.csv), 0 blocked, needs review (report.html)", "success rate        100.0 %"},
			[]string{"blocked by", "failed  "}},
		{"blocked and failed", Outcome{Read: 26, Rejected: 2, Engine: "offline", OutDir: "out",
			Summary:   email.Summary{Contacts: 24, Generated: 23, Blocked: 3, Failed: 1},
			BlockedBy: map[string]int{"ungrounded": 1, "unfilled_variable": 2, "agency_named": 1}},
			[]string{"emails generated    23: 20 ready (emails.csv), 3 blocked, needs review (report.html)",
				"blocked by          2 × unfilled_variable, 1 × agency_named, 1 × ungrounded", "failed              1   (see errors.csv)", "success rate        83.3 %"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			PrintSummary(&buf, &tt.o)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, buf.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(buf.String(), w) {
					t.Errorf("summary has %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

func TestLimitPreviewsFirstRows(t *testing.T) {
	dir := t.TempDir()
	o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: example + "/contacts.csv", SitesDir: example + "/sites", OutDir: dir, Limit: 5, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if o.Summary.Contacts != 5 {
		t.Errorf("processed %d, want 5", o.Summary.Contacts)
	}
}

func TestSetupErrorsComeFirst(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "t.md")
	os.WriteFile(bad, []byte("Subject: x\n\nBonjour {{first_name}} {{favourite_colour}}"), 0o644)
	_, err := Run(context.Background(), Options{ClientDir: example, TemplateFile: bad, ContactsFile: example + "/contacts.csv", OutDir: filepath.Join(tmp, "out")})
	if err == nil || !strings.Contains(err.Error(), "{{favourite_colour}}") || !strings.Contains(err.Error(), "t.md:3") {
		t.Fatalf("got %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(tmp, "out", "emails.jsonl")); statErr == nil {
		t.Error("output written although the template is invalid")
	}
}

// synthetic writes n companies' sites and contactsPer contacts each.
func synthetic(tb testing.TB, companies, contactsPer int) (sites, csvPath string) {
	return syntheticN(tb, companies, companies*contactsPer)
}

// syntheticN writes n companies' sites and total contacts spread over them
// round-robin.
func syntheticN(tb testing.TB, companies, total int) (sites, csvPath string) {
	tb.Helper()
	dir := tb.TempDir()
	sites = filepath.Join(dir, "sites")
	cats := []string{"logiciel de téléphonie cloud", "logiciel de gestion de paie", "plateforme de recrutement", "logiciel de gestion de flotte", "logiciel de note de frais"}
	roles := []string{"Directrice commerciale", "Directeur administratif et financier", "Responsable RH", "Head of Sales", "Responsable logistique"}
	var csv strings.Builder
	csv.WriteString("first_name,last_name,email,company_name,website,industry\n")
	for i := range companies {
		host := fmt.Sprintf("co%03d.example", i)
		os.MkdirAll(filepath.Join(sites, host), 0o755)
		cat, role := cats[i%len(cats)], roles[(i/len(cats))%len(roles)]
		home := fmt.Sprintf(`<!doctype html><html><head><title>Co%03d</title><meta name="description" content="Co%03d, le %s pour les équipes des PME."></head>
<body><nav><a href="clients.html">Clients</a></nav><h1>Le %s qui fait gagner du temps</h1><p>Co%03d aide 300 PME à piloter leur activité. Intégré à HubSpot et Sage.</p>%s</body></html>`,
			i, i, cat, cat, i, strings.Repeat("<p>Nos équipes accompagnent les entreprises en croissance partout en France.</p>", 20))
		clients := fmt.Sprintf(`<!doctype html><html><body><h1>Ils nous font confiance</h1><blockquote><p>Un gain de temps réel au quotidien.</p><footer><cite>Claire Martin</cite>, %s chez Batimo</footer></blockquote></body></html>`, role)
		os.WriteFile(filepath.Join(sites, host, "index.html"), []byte(home), 0o644)
		os.WriteFile(filepath.Join(sites, host, "clients.html"), []byte(clients), 0o644)
	}
	for k := range total {
		i, j := k%companies, k/companies
		host := fmt.Sprintf("co%03d.example", i)
		fmt.Fprintf(&csv, "Prénom%d,Nom%d,p%d.n%d@%s,Co%03d,https://www.%s,saas rh\n", j, j, i, j, host, i, host)
	}
	csvPath = filepath.Join(dir, "contacts.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o644)
	return sites, csvPath
}

// BenchmarkOfflineCampaign: 1,000 contacts over 200 companies, offline
// engine, sites served on loopback. Reports contacts/s, cache hit rate and
// the process's peak RSS.
func BenchmarkOfflineCampaign(b *testing.B) {
	sites, csvPath := synthetic(b, 200, 5)
	b.ResetTimer()
	var last *Outcome
	for b.Loop() {
		o, err := Run(context.Background(), Options{ClientDir: example, ContactsFile: csvPath, SitesDir: sites, OutDir: b.TempDir(), Concurrency: 16, Now: fixedNow})
		if err != nil {
			b.Fatal(err)
		}
		if o.Summary.Generated != 1000 {
			b.Fatalf("generated %d", o.Summary.Generated)
		}
		last = o
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "contacts/s")
	b.ReportMetric(last.Summary.CacheHitRate()*100, "cache-hit-%")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}
