package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/output"
	"github.com/kaleads/kaleads/shared/store"
)

// cmdExport: kaleads export --client NAME --to smartlead|instantly|csv … or
// --batch ID --to files --out DIR.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "the client whose approved emails go")
	batch := fs.String("batch", "", "with --to files: write one upload batch's emails.jsonl, emails.csv and report.html from the database")
	to := fs.String("to", "", "smartlead, instantly, csv, or files (with --batch); default: the client's configured destination")
	campaign := fs.String("campaign", "", "the sequencer campaign id (default: the client's configured campaign)")
	campaignName := fs.String("campaign-name", "", "the campaign's name, recorded on each email (default: the configured one, else the id)")
	create := fs.String("create-campaign", "", "create a campaign with this name and the plan's sequence (days 1, 4, 7, 14), then export to it")
	format := fs.String("format", "", "csv: smartlead, instantly or lemlist (default: the client's, else smartlead)")
	out := fs.String("out", "", "csv: the file to write; files: the directory")
	dry := fs.Bool("dry-run", false, "print exactly what would go and what is held back, and why; change nothing")
	onlyAuto := fs.Bool("only-auto", false, "export the auto-approved emails only")
	limit := fs.Int("limit", 0, "consider at most N approved emails, oldest first (0: all)")
	wait := fs.Bool("wait", false, "wait for another export of the client to finish instead of failing")
	domainCap := fs.Int("domain-cap", 0, "addresses of one domain exported per 24 hours (0: the client's, default 3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected arguments %q", fs.Args())
	}
	if *batch != "" {
		if *to != "files" || *out == "" || *client != "" {
			return errors.New("export: --batch goes with --to files --out DIR (and no --client)")
		}
		return exportBatchFiles(ctx, *batch, *out, stdout)
	}
	if *client == "" {
		return errors.New("export: give --client NAME (or --batch ID --to files)")
	}
	if *limit < 0 || *domainCap < 0 {
		return errors.New("export: --limit and --domain-cap must not be negative")
	}
	if *to == "files" {
		return errors.New("export: --to files needs --batch ID")
	}
	st, c, err := openClient(ctx, "export", *client)
	if err != nil {
		return err
	}
	defer st.Close()
	req := export.Request{Destination: *to, CampaignID: *campaign, CampaignName: *campaignName,
		CreateCampaign: *create, Format: *format, Out: *out, DryRun: *dry, OnlyAuto: *onlyAuto, Limit: *limit, Wait: *wait, DomainDailyCap: *domainCap}
	x, _, err := exporter(st, nil, cliLogger(stderr))
	if err != nil {
		return err
	}
	rep, err := x.RunConfigured(ctx, c.ID, req)
	printReport(stdout, rep)
	if errors.Is(err, export.ErrBusy) {
		return fmt.Errorf("export: %w (--wait to wait for it)", err)
	}
	return err
}

// printReport prints what an export did or, dry, would do.
func printReport(w io.Writer, r export.Report) {
	where := r.Destination
	if r.CampaignID != "" || r.CampaignName != "" {
		where += fmt.Sprintf(" campaign %q (%s)", r.CampaignName, r.CampaignID)
	}
	if r.Location != "" {
		where += " " + r.Location
	}
	verb := "sent"
	if r.DryRun {
		verb = "would send"
		fmt.Fprintln(w, "DRY RUN: nothing is sent, nothing is recorded.")
	}
	fmt.Fprintf(w, "%s: %s %d emails to %s", r.Client, verb, len(r.Sent), where)
	if r.Created {
		fmt.Fprint(w, " (campaign created)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if r.DryRun {
		for _, it := range r.Sent {
			fmt.Fprintf(tw, "  send\t%s\t%s\t%d\t%s\n", it.Address, it.Company, it.Score, it.Subject)
		}
	}
	for _, h := range r.Held {
		fmt.Fprintf(tw, "  held\t%s\t%s\t%s\n", h.Address, h.Company, h.Reason)
	}
	for _, h := range r.Refused {
		fmt.Fprintf(tw, "  refused\t%s\t%s\t%s\n", h.Address, h.Company, h.Reason)
	}
	for _, h := range r.Unconfirmed {
		fmt.Fprintf(tw, "  unconfirmed\t%s\t%s\t%s\n", h.Address, h.Company, h.Reason)
	}
	tw.Flush()
	if len(r.Held) > 0 {
		reasons := r.HeldReasons()
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range reasons {
				if !yield(k) {
					return
				}
			}
		})
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, reasons[k])
		}
		fmt.Fprintf(w, "held back: %d (%s)\n", len(r.Held), strings.Join(parts, ", "))
	}
	if r.Reconciled > 0 {
		fmt.Fprintf(w, "reconciled: %d emails an earlier run sent without confirmation were found in the campaign\n", r.Reconciled)
	}
	if len(r.Unconfirmed) > 0 {
		fmt.Fprintf(w, "unconfirmed: %d (the next export looks them up before sending anything again)\n", len(r.Unconfirmed))
	}
	if r.WaitingReview > 0 {
		fmt.Fprintf(w, "waiting for review: %d emails (not exported until approved)\n", r.WaitingReview)
	}
	if !r.DryRun && r.Requests > 0 {
		fmt.Fprintf(w, "%d requests to %s in %s\n", r.Requests, r.Destination, r.Took.Round(1e6))
	}
}

// cmdClientExport: kaleads client export NAME --to … configures the daily
// export and the notifications.
func cmdClientExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "smartlead, instantly, csv, or none (no daily export)")
	campaign := fs.String("campaign", "", "the sequencer campaign id the daily export adds leads to")
	campaignName := fs.String("campaign-name", "", "the campaign's name")
	format := fs.String("format", "", "csv: smartlead, instantly or lemlist")
	atOnce := fs.Bool("at-once", false, "full phase: export auto-approved emails within minutes instead of at 14:00")
	domainCap := fs.Int("domain-cap", 3, "addresses of one domain exported per 24 hours")
	slackURL := fs.String("slack-webhook", "", "Slack incoming-webhook URL for notifications (\"none\" removes it; default: keep)")
	reviewURL := fs.String("review-url", "", "the review UI's address, for links in notifications (default: keep)")
	name, rest := leadingArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	dest := *to
	if dest == "none" {
		dest = ""
	}
	switch {
	case name == "":
		return errors.New("client export: give the client's name")
	case !slices.Contains([]string{"", store.DestSmartlead, store.DestInstantly, store.DestCSV}, dest):
		return fmt.Errorf("client export: --to must be smartlead, instantly, csv or none, not %q", *to)
	case *to == "":
		return errors.New("client export: give --to (smartlead, instantly, csv or none)")
	case (dest == store.DestSmartlead || dest == store.DestInstantly) && *campaign == "":
		return fmt.Errorf("client export: --to %s needs --campaign ID (create one with `kaleads export --client %s --to %s --create-campaign NAME`)", dest, name, dest)
	case dest == store.DestCSV && *format != "" && !slices.Contains([]string{"smartlead", "instantly", "lemlist"}, *format):
		return fmt.Errorf("client export: --format must be smartlead, instantly or lemlist, not %q", *format)
	case *domainCap < 1:
		return errors.New("client export: --domain-cap must be at least 1")
	case *slackURL != "" && *slackURL != "none" && !strings.HasPrefix(*slackURL, "https://"):
		return errors.New("client export: --slack-webhook must be an https:// URL")
	}
	st, c, err := openClient(ctx, "client export", name)
	if err != nil {
		return err
	}
	defer st.Close()
	s := store.ExportSettings{Destination: dest, CampaignID: *campaign, CampaignName: *campaignName, CSVFormat: *format,
		AtOnce: *atOnce, DomainDailyCap: *domainCap}
	if err := st.SetExportSettings(ctx, c.ID, s); err != nil {
		return err
	}
	if *slackURL != "" || *reviewURL != "" {
		n, err := st.Notifications(ctx, c.ID)
		if err != nil {
			return err
		}
		if *slackURL != "" {
			n.SlackWebhookURL = strings.TrimPrefix(*slackURL, "none")
		}
		if *reviewURL != "" {
			n.ReviewURL = *reviewURL
		}
		if err := st.SetNotifications(ctx, c.ID, n); err != nil {
			return err
		}
	}
	if dest == "" {
		fmt.Fprintf(stdout, "%s: no daily export\n", c.Name)
		return nil
	}
	fmt.Fprintf(stdout, "%s: daily export at 14:00 Europe/Paris to %s %s, at most %d addresses per domain a day", c.Name, dest, cmp.Or(*campaign, *format), *domainCap)
	if *atOnce {
		fmt.Fprint(stdout, "; in the full phase, auto-approved emails go at once")
	}
	fmt.Fprintln(stdout)
	return nil
}

// cmdClientExclude: kaleads client exclude NAME --file domains.txt.
func cmdClientExclude(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client exclude", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "one domain or e-mail address a line, optionally followed by a comma and a note (- for stdin)")
	list := fs.Bool("list", false, "print the client's exclusion list")
	name, rest := leadingArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	if name == "" || (*file == "") == !*list {
		return errors.New("usage: kaleads client exclude NAME --file domains.txt | --list")
	}
	var ex []store.Exclusion
	if *file != "" {
		var r io.Reader = os.Stdin
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return fmt.Errorf("client exclude: %w", err)
			}
			defer f.Close()
			r = f
		}
		var err error
		if ex, err = export.ParseExclusions(r); err != nil {
			return fmt.Errorf("client exclude: %s: nothing stored: %w", *file, err)
		}
	}
	st, c, err := openClient(ctx, "client exclude", name)
	if err != nil {
		return err
	}
	defer st.Close()
	if *list {
		all, err := st.Exclusions(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, e := range all {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", e.Kind, e.Value, e.Note)
		}
		return nil
	}
	added, err := st.AddExclusions(ctx, c.ID, ex)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d exclusions read, %d new (no export sends to them)\n", c.Name, len(ex), added)
	return nil
}

// exportBatchFiles writes one upload batch's emails.jsonl, emails.csv and
// report.html from the database, as `kaleads generate` writes them.
func exportBatchFiles(ctx context.Context, batchID, dir string, stdout io.Writer) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	results, info, err := st.BatchResults(ctx, batchID)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w, err := output.Create(dir)
	if err != nil {
		return err
	}
	var sum email.Summary
	for _, r := range results {
		if err := w.Write(r); err != nil {
			return err
		}
		sum.Tally(r)
	}
	if err := w.Close(sum, output.ReportInfo{Client: info.ClientName, Template: info.TemplateName, Engine: "database", GeneratedAt: time.Now()}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "batch %s: %d emails (%d ready, %d held for review, %d failed) written to %s\n",
		batchID, sum.Generated, w.Ready(), w.Blocked(), sum.Failed, dir)
	return nil
}
