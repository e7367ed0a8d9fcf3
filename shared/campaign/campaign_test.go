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
	emails, _ := os.ReadFile(filepath.Join(dir, "emails.csv"))
	if bytes.Contains(emails, []byte(",=HYPERLINK")) || !bytes.Contains(emails, []byte("'=HYPERLINK")) {
		t.Errorf("formula in last_name not neutralised:\n%s", emails)
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
