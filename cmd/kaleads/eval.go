package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kaleads/kaleads/shared/evaluation"
	"github.com/kaleads/kaleads/shared/llm"
)

// cmdEval runs the labelled evaluation set and prints its figures.
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("set", "examples/eval", "evaluation set directory (labels.json, contacts.csv, client/, sites/)")
	engine := fs.String("engine", "offline", "offline, llm, or auto (llm when OPENAI_API_KEY or OPENAI_BASE_URL is set)")
	split := fs.String("split", evaluation.SplitAll, "dev, heldout or all: the contacts run and the figures printed")
	jsonFile := fs.String("json", "", "also write the figures as JSON to FILE")
	details := fs.Bool("details", false, "one line per company (held-out companies only with --split heldout)")
	outDir := fs.String("out", "", "also write the run's emails.jsonl, emails.csv, errors.csv and report.html to DIR")
	concurrency := fs.Int("concurrency", 8, "contacts processed at once")
	hideOwn := fs.Bool("hide-own", false, "remove each company's own entry from competitors.json (leave-one-out): category and competitor from the site alone")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval: unexpected argument %q", fs.Arg(0))
	}
	if err := evaluation.CheckSplit(*split); err != nil {
		return fmt.Errorf("eval: --%w", err)
	}
	if *concurrency < 1 {
		return errors.New("eval: --concurrency must be ≥ 1")
	}
	set, err := evaluation.Load(*dir)
	if err != nil {
		return fmt.Errorf("eval: set %s: %w", *dir, err)
	}
	e, err := llm.NewEngine(*engine, os.Getenv)
	if err != nil {
		return err
	}
	start := time.Now()
	out, runErr := evaluation.Generate(ctx, set, evaluation.RunOptions{Engine: e, Split: *split, Concurrency: *concurrency, OutDir: *outDir, HideOwnEntry: *hideOwn})
	if out == nil {
		return runErr
	}
	rep, err := evaluation.Evaluate(set, out.Results, *split)
	if err != nil {
		return err
	}
	rep.Engine = out.Engine
	if *split != evaluation.SplitHeldout {
		rep.HideHeldoutDetails()
	}

	mode := ""
	if *hideOwn {
		mode = ", own entries hidden"
	}
	fmt.Fprintf(stdout, "Kaleads evaluation — %s, %s engine, split %s%s: %d emails in %s\n\n",
		*dir, out.Engine, *split, mode, len(out.Results), time.Since(start).Round(time.Millisecond))
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if *details {
		fmt.Fprintln(stdout)
		if err := rep.WriteDetails(stdout); err != nil {
			return err
		}
	}
	if *jsonFile != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonFile, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	if runErr != nil {
		return fmt.Errorf("eval: the run stopped early, the figures count the missing emails as wrong: %w", runErr)
	}
	return nil
}
