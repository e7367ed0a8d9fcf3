package evaluation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// RunOptions tunes Generate.
type RunOptions struct {
	Engine      agents.Engine // nil: the offline engine
	Split       string        // run the contacts of this split only; "" or SplitAll: every contact
	Concurrency int           // contacts processed at once; default 8
	// OutDir, when set, also receives the files `kaleads generate` writes
	// (emails.jsonl, emails.csv, errors.csv, report.html), for the run's
	// contacts only.
	OutDir   string
	Progress func(done, total int)
	Scrape   scrape.Options // zero keeps the scraper's defaults
	// HideOwnEntry removes, for each company, its own entry from
	// competitors.json (leave-one-out): the category and competitor then
	// come from the site's text alone, as for a prospect the client did not
	// list, which is the usual case.
	HideOwnEntry bool
}

// Outcome is what a run of the set produced.
type Outcome struct {
	Results []email.Result // in contacts.csv order; Answers are set (they carry the ungrounded quotes)
	Summary email.Summary
	Engine  string
}

// Generate makes the set's emails the way `kaleads generate --client
// DIR/client --contacts DIR/contacts.csv --sites DIR/sites` does
// (campaign.Run): the same context loader, template parser, CSV reader,
// loopback site server and pipeline (pipeline.Run → pipeline.Process), so
// the figures are those of the real code path. It calls the pipeline
// itself rather than campaign.Run because emails.jsonl does not carry the
// agents' full answers (email.Result.Answers, where the ungrounded quotes
// are); a test checks that both give the same emails.
//
// An error that stopped the run (ctx cancelled, exhausted API quota) is
// returned with the results made before it.
func Generate(ctx context.Context, s *Set, opts RunOptions) (*Outcome, error) {
	split := opts.Split
	if split == "" {
		split = SplitAll
	}
	if err := CheckSplit(split); err != nil {
		return nil, err
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	cctx, err := clientctx.Load(ctx, clientctx.Dir(s.ClientDir))
	if err != nil {
		return nil, fmt.Errorf("client context %s: %w", s.ClientDir, err)
	}
	tmplName := filepath.Join(s.ClientDir, clientctx.FileTemplate)
	if cctx.Template == nil {
		return nil, fmt.Errorf("no template: %s does not exist", tmplName)
	}
	tmpl, err := template.Parse(tmplName, cctx.Template)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(s.ContactsFile)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	file, err := contacts.Read(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("contacts %s: %w", s.ContactsFile, err)
	}
	engine := opts.Engine
	if engine == nil {
		if engine, err = offline.New(); err != nil {
			return nil, err
		}
	}
	scraper, stop, err := scrape.NewForSites(s.SitesDir, opts.Scrape)
	if err != nil {
		return nil, err
	}
	defer stop()
	newPipeline := func(cctx *clientctx.Context) (*pipeline.Pipeline, error) {
		return pipeline.New(pipeline.Config{Template: tmpl, Context: cctx, Engine: engine, Scraper: scraper, Columns: file.Header})
	}
	p, err := newPipeline(cctx)
	if err != nil {
		return nil, err
	}

	var list []contacts.Contact
	for _, c := range file.Contacts {
		if l, ok := s.Label(Host(c.Website)); ok && InSplit(l, split) {
			list = append(list, c)
		}
	}
	var w *output.Writer
	if opts.OutDir != "" {
		if w, err = output.Create(opts.OutDir); err != nil {
			return nil, err
		}
		if err := w.RowErrors(file.Errors); err != nil {
			return nil, err
		}
	}
	out := &Outcome{Engine: engine.Name()}
	emit := func(r email.Result) error {
		out.Results = append(out.Results, r)
		if w != nil {
			return w.Write(r)
		}
		return nil
	}
	var summary email.Summary
	var runErr error
	if !opts.HideOwnEntry {
		summary, runErr = p.Run(ctx, list, pipeline.RunOptions{Concurrency: opts.Concurrency, Progress: opts.Progress}, emit)
	} else {
		// One pipeline per company, each with a competitors.json without
		// that company's entry.
		for i, c := range list {
			hidden := *cctx
			hidden.Competitors = nil
			for _, e := range cctx.Competitors {
				if !agents.IsProspect(e.Name, c, &scrape.Site{Host: Host(c.Website)}) {
					hidden.Competitors = append(hidden.Competitors, e)
				}
			}
			one, err := newPipeline(&hidden)
			if err != nil {
				return out, err
			}
			s, err := one.Run(ctx, []contacts.Contact{c}, pipeline.RunOptions{Concurrency: 1}, emit)
			addSummary(&summary, s)
			if err != nil {
				runErr = err
				break
			}
			if opts.Progress != nil {
				opts.Progress(i+1, len(list))
			}
		}
	}
	out.Summary = summary
	if w != nil {
		closeErr := w.Close(summary, output.ReportInfo{Client: filepath.Base(filepath.Clean(s.ClientDir)) + " (evaluation set " + s.Dir + ", split " + split + ")",
			Template: tmplName + " (" + tmpl.Version + ")", Engine: engine.Name(), Rejected: len(file.Errors), GeneratedAt: time.Now()})
		runErr = errors.Join(runErr, closeErr)
	}
	return out, runErr
}

// addSummary adds one company's run to a leave-one-out summary.
func addSummary(dst *email.Summary, s email.Summary) {
	if n := dst.Generated + s.Generated; n > 0 {
		dst.AvgQuality = (dst.AvgQuality*float64(dst.Generated) + s.AvgQuality*float64(s.Generated)) / float64(n)
	}
	dst.Contacts += s.Contacts
	dst.Generated += s.Generated
	dst.Blocked += s.Blocked
	dst.Failed += s.Failed
	dst.CacheHits += s.CacheHits
	dst.CacheMisses += s.CacheMisses
	dst.Usage.Add(s.Usage)
	dst.Wall += s.Wall
}
