package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/campaign"
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
	engine := fs.String("engine", campaign.EngineAuto, "auto (llm when OPENAI_API_KEY or OPENAI_BASE_URL is set), offline or llm")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *batch != "" {
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
	e, err := campaign.NewEngine(*engine)
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
	}
	return err
}

func generateBatch(ctx context.Context, batch, engineName string, o campaign.Options, quiet bool, stdout, stderr io.Writer) error {
	e, err := campaign.NewEngine(engineName)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	bo := campaign.BatchOptions{Concurrency: o.Concurrency, Engine: e, SitesDir: o.SitesDir}
	if !quiet {
		bar := newProgress(stderr)
		bo.Progress = bar.update
		defer bar.finish()
	}
	out, err := campaign.RunBatch(ctx, st, batch, bo)
	fmt.Fprintf(stdout, "batch %s (%s engine): %d claimed, %d emails stored for review, %d failed, %s\n",
		batch, e.Name(), out.Claimed, out.Completed, out.Failed, out.Wall.Round(time.Millisecond))
	return err
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
