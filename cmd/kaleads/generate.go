package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/campaign"
	"github.com/kaleads/kaleads/shared/llm"
	"github.com/kaleads/kaleads/shared/output"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/worker"
)

func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o campaign.Options
	fs.StringVar(&o.ClientDir, "client", "", "client context directory (pci.md, personas.md, pain_points.md, competitors.json, case_studies/, template.md)")
	fs.StringVar(&o.ContactsFile, "contacts", "", "contacts CSV file")
	fs.StringVar(&o.TemplateFile, "template", "", "email template (default: CLIENT/template.md)")
	fs.StringVar(&o.SitesDir, "sites", "", "serve prospect websites from DIR/<host>/ on loopback instead of the web (offline runs)")
	fs.StringVar(&o.OutDir, "out", "out", "output directory")
	fs.IntVar(&o.Limit, "limit", 0, "process only the first N valid contacts (preview)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "contacts processed at once")
	batch := fs.String("batch", "", "process an uploaded batch from DATABASE_URL instead of a CSV file")
	engine := fs.String("engine", llm.ChoiceAuto, "auto (llm when OPENAI_API_KEY or OPENAI_BASE_URL is set), offline or llm")
	maxFallback := fs.Float64("max-fallback-share", campaign.DefaultMaxFallbackShare,
		"exit non-zero (the emails are still written) when more than this share of the agent answers fell back from the LLM to the offline engine; 0 fails at the first fallback, 1 never")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *batch != "" {
		var ignored []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "client", "contacts", "template", "out", "limit", "max-fallback-share":
				ignored = append(ignored, "--"+f.Name)
			}
		})
		if len(ignored) > 0 {
			return fmt.Errorf("generate --batch: %s cannot be used with --batch (the batch's contacts, client and template are in the database; emails go to emails_generated)", strings.Join(ignored, ", "))
		}
		if o.Concurrency < 1 {
			return errors.New("generate: --concurrency must be ≥ 1")
		}
		return generateBatch(ctx, *batch, *engine, o, *quiet, stdout, stderr)
	}
	var missing []string
	if o.ClientDir == "" {
		missing = append(missing, "--client")
	}
	if o.ContactsFile == "" {
		missing = append(missing, "--contacts")
	}
	if len(missing) > 0 {
		return fmt.Errorf("generate: %s required", strings.Join(missing, " and "))
	}
	if o.Limit < 0 || o.Concurrency < 1 {
		return errors.New("generate: --limit must be ≥ 0 and --concurrency ≥ 1")
	}
	switch v := *maxFallback; {
	case !(v >= 0 && v <= 1): // NaN too
		return fmt.Errorf("generate: --max-fallback-share %v: want a share between 0 and 1 (0.2 is 20 %%)", v)
	case v == 0:
		o.MaxFallbackShare = campaign.NoFallback
	default:
		o.MaxFallbackShare = v
	}
	e, err := llm.NewEngine(*engine, os.Getenv)
	if err != nil {
		return err
	}
	o.Engine = e
	if !*quiet {
		bar := newProgress(stderr)
		o.Progress = bar.update
		defer bar.finish()
	}
	out, err := campaign.Run(ctx, o)
	if out != nil {
		campaign.PrintSummary(stdout, out)
		if err == nil && out.Read > 0 && out.Rejected == out.Read {
			err = fmt.Errorf("every row of %s was rejected (see %s)", o.ContactsFile, filepath.Join(o.OutDir, output.FileErrorsCSV))
		}
	}
	return err
}

func generateBatch(ctx context.Context, batch, engineName string, o campaign.Options, quiet bool, stdout, stderr io.Writer) error {
	e, err := llm.NewEngine(engineName, os.Getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	scraper, stop, err := scrape.NewForSites(o.SitesDir, scrape.Options{})
	if err != nil {
		return err
	}
	defer stop()
	w, err := worker.New(worker.Config{Store: st, Engine: e, Scraper: scraper, Log: cliLogger(stderr)})
	if err != nil {
		return err
	}
	counts, err := st.BatchCounts(ctx, batch, w.StaleAfter())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("batch %s not found: no contact was uploaded with this id (kaleads upload prints it)", batch)
	}
	if err != nil {
		return err
	}
	if counts.Stale > 0 {
		fmt.Fprintf(stderr, "%d contacts of this batch have been enriching for more than %s: a run was probably killed. "+
			"`kaleads sweep --stale %s` returns them to pending (kaleads serve does it by itself).\n", counts.Stale, w.StaleAfter().Round(time.Second), w.StaleAfter().Round(time.Second))
	}
	if counts.Pending == 0 {
		fmt.Fprintf(stdout, "batch %s: nothing to do (%d contacts: %d completed, %d failed, %d enriching elsewhere)\n",
			batch, counts.Total, counts.Completed, counts.Failed, counts.Enriching)
		if counts.Failed > 0 {
			fmt.Fprintf(stdout, "  kaleads retry --batch %s puts the failed ones back once the cause is fixed\n", batch)
		}
		return nil
	}
	var bar *progress
	if !quiet {
		bar = newProgress(stderr)
		defer bar.finish()
	}
	var mu sync.Mutex
	done := 0
	reasons := map[string]int{}
	res, runErr := w.Run(ctx, worker.RunOptions{Workers: o.Concurrency, BatchID: batch, UntilDone: true, OnDone: func(out worker.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if out.Status == store.StatusCompleted || out.Status == store.StatusFailed {
			done++
		}
		if out.Status == store.StatusFailed && out.Err != nil {
			reasons[out.Err.Error()]++
		}
		if bar != nil {
			bar.update(min(done, counts.Pending), counts.Pending)
		}
	}})
	if bar != nil {
		bar.finish()
	}
	fmt.Fprintf(stdout, "batch %s (%s engine): %d contacts to do, %d emails stored for review, %d already had one, %d failed, %d given back for a later attempt, %s\n",
		batch, e.Name(), counts.Pending, res.Completed, res.Existing, res.Failed, res.Released, res.Wall.Round(time.Millisecond))
	for _, r := range topReasons(reasons, 5) {
		fmt.Fprintf(stdout, "  failed: %s\n", r)
	}
	if res.Failed > 0 {
		fmt.Fprintf(stdout, "  once the cause is fixed: kaleads retry --batch %s\n", batch)
	}
	if runErr != nil {
		return runErr
	}
	if res.Completed+res.Existing == 0 && res.Failed > 0 {
		return fmt.Errorf("every contact of batch %s failed", batch)
	}
	return nil
}

// topReasons lists the most frequent failure reasons with their counts.
func topReasons(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var out []string
	for i, k := range keys {
		if i == n {
			out = append(out, fmt.Sprintf("… and %d other reasons", len(keys)-n))
			break
		}
		out = append(out, fmt.Sprintf("%d × %s", m[k], k))
	}
	return out
}

// progress draws a bar on a terminal, and a line every 10 % elsewhere.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	start time.Time
	last  int
	shown bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now(), last: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total == 0 {
		return
	}
	pct := done * 100 / total
	if p.tty {
		const width = 30
		n := done * width / total
		rate := float64(done) / time.Since(p.start).Seconds()
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d %3d%%  %.1f contacts/s ", strings.Repeat("█", n), strings.Repeat("·", width-n), done, total, pct, rate)
		p.shown = true
		return
	}
	if pct/10 != p.last/10 || done == total {
		p.last = pct
		fmt.Fprintf(p.w, "progress: %d/%d (%d%%)\n", done, total, pct)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
