// Package campaign runs a whole file-based campaign: a client folder and a
// contacts CSV in, the output files out. It is what `kaleads generate` does.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/agents/offline"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/output"
	"github.com/kaleads/kaleads/shared/pipeline"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/template"
)

// Options of a file-based run.
type Options struct {
	ClientDir    string // pci.md, personas.md, pain_points.md, competitors.json, case_studies/, template.md
	TemplateFile string // default: ClientDir/template.md
	ContactsFile string
	SitesDir     string // serve prospect sites from DIR/<host>/ on loopback instead of the web
	OutDir       string
	Limit        int // process only the first N accepted contacts (0 = all)
	Concurrency  int
	Engine       agents.Engine // nil: the offline engine
	Progress     func(done, total int)
	Now          func() time.Time // report timestamp; default time.Now
	// Scrape overrides scraper settings (tests, benchmarks); zero keeps the defaults.
	Scrape scrape.Options
}

// Outcome of a run.
type Outcome struct {
	Summary   email.Summary
	Read      int // data rows read from the CSV
	Rejected  int // rows rejected (in errors.csv)
	OutDir    string
	Engine    string
	Scraped   scrape.Stats
	StartedAt time.Time
	// BlockedBy counts the gate flags of the blocked emails by code
	// ("unfilled_variable": 3); an email with two gates counts in both.
	BlockedBy map[string]int
}

// Run executes a campaign. A setup problem (missing or malformed context
// file, template error, unreadable CSV) returns an error before any contact
// is processed. An interrupted run returns the error and keeps the files
// with what it finished.
func Run(ctx context.Context, opts Options) (*Outcome, error) {
	started := time.Now()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cctx, err := clientctx.Load(ctx, clientctx.Dir(opts.ClientDir))
	if err != nil {
		return nil, fmt.Errorf("client context %s: %w", opts.ClientDir, err)
	}
	tmplName := opts.TemplateFile
	var tmplData []byte
	if tmplName == "" {
		tmplName = filepath.Join(opts.ClientDir, clientctx.FileTemplate)
		tmplData = cctx.Template
		if tmplData == nil {
			return nil, fmt.Errorf("no template: %s does not exist and --template was not given", tmplName)
		}
	} else if tmplData, err = os.ReadFile(tmplName); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	tmpl, err := template.Parse(tmplName, tmplData)
	if err != nil {
		return nil, err
	}

	f, err := os.Open(opts.ContactsFile)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	file, err := contacts.Read(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("contacts %s: %w", opts.ContactsFile, err)
	}

	engine, err := orOffline(opts.Engine)
	if err != nil {
		return nil, err
	}
	scraper, stop, err := scrape.NewForSites(opts.SitesDir, opts.Scrape)
	if err != nil {
		return nil, err
	}
	defer stop()

	p, err := pipeline.New(pipeline.Config{Template: tmpl, Context: cctx, Engine: engine, Scraper: scraper, Columns: file.Header})
	if err != nil {
		return nil, err
	}

	w, err := output.Create(opts.OutDir)
	if err != nil {
		return nil, err
	}
	if err := w.RowErrors(file.Errors); err != nil {
		return nil, err
	}
	list := file.Contacts
	if opts.Limit > 0 && opts.Limit < len(list) {
		list = list[:opts.Limit]
	}
	summary, runErr := p.Run(ctx, list, pipeline.RunOptions{Concurrency: opts.Concurrency, Progress: opts.Progress}, w.Write)
	// The writer decides what reaches emails.csv: it counts the emails a
	// gate flag held back.
	summary.Blocked = w.Blocked()
	out := &Outcome{Summary: summary, BlockedBy: w.BlockedBy(), Read: len(file.Contacts) + len(file.Errors), Rejected: len(file.Errors),
		OutDir: opts.OutDir, Engine: engine.Name(), Scraped: scraper.Stats(), StartedAt: started}
	closeErr := w.Close(summary, output.ReportInfo{Client: filepath.Base(filepath.Clean(opts.ClientDir)), Template: tmplName + " (" + tmpl.Version + ")",
		Engine: engine.Name(), Rejected: len(file.Errors), GeneratedAt: opts.Now()})
	return out, errors.Join(runErr, closeErr)
}

// orOffline returns e, or the offline engine when e is nil.
func orOffline(e agents.Engine) (agents.Engine, error) {
	if e != nil {
		return e, nil
	}
	return offline.New()
}

// PrintSummary writes the end-of-run summary.
func PrintSummary(w io.Writer, o *Outcome) {
	s := o.Summary
	fmt.Fprintf(w, "\nKaleads — run summary (%s engine)\n", o.Engine)
	fmt.Fprintf(w, "  contacts read       %d\n", o.Read)
	fmt.Fprintf(w, "  rows rejected       %d   (see errors.csv)\n", o.Rejected)
	fmt.Fprintf(w, "  contacts processed  %d\n", s.Contacts)
	fmt.Fprintf(w, "  emails generated    %d: %d ready (%s), %d blocked, needs review (%s)\n",
		s.Generated, s.Ready(), output.FileEmailsCSV, s.Blocked, output.FileReport)
	if s.Blocked > 0 {
		fmt.Fprintf(w, "  blocked by          %s\n", countList(o.BlockedBy))
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "  failed              %d   (see %s)\n", s.Failed, output.FileErrorsCSV)
	}
	fmt.Fprintf(w, "  success rate        %.1f %%   (ready / processed)\n", s.SuccessRate()*100)
	fmt.Fprintf(w, "  average quality     %.1f / 100\n", s.AvgQuality)
	fmt.Fprintf(w, "  cache hit rate      %.1f %%   (%d agent answers reused, %d computed)\n", s.CacheHitRate()*100, s.CacheHits, s.CacheMisses)
	fmt.Fprintf(w, "  sites scraped       %d   (%d pages read, %d sites unreachable, %d pages skipped or failed)\n", o.Scraped.Sites, o.Scraped.Pages, o.Scraped.Failed, o.Scraped.Errors)
	if s.Usage.Calls > 0 {
		fmt.Fprintf(w, "  LLM calls           %d   (%d prompt + %d completion tokens, %d cached)\n", s.Usage.Calls, s.Usage.PromptTokens, s.Usage.CompletionTokens, s.Usage.CachedTokens)
		fmt.Fprintf(w, "  cost                $%.4f\n", s.Usage.CostUSD)
	}
	fmt.Fprintf(w, "  wall time           %s\n", s.Wall.Round(time.Millisecond))
	if s.StoppedEarly != "" {
		fmt.Fprintf(w, "  STOPPED EARLY       %s\n", s.StoppedEarly)
	}
	fmt.Fprintf(w, "  results             %s\n", filepath.Join(o.OutDir, output.FileReport))
	fmt.Fprintf(w, "                      %s, %s, %s\n", filepath.Join(o.OutDir, output.FileEmailsJSONL), filepath.Join(o.OutDir, output.FileEmailsCSV), filepath.Join(o.OutDir, output.FileErrorsCSV))
}

// countList prints counts by code, most frequent first: "3 × unfilled_variable, 1 × ungrounded".
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d × %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}
