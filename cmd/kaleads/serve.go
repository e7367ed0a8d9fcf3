package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/llm"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/server"
	"github.com/kaleads/kaleads/shared/storage"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/worker"
)

// Environment of `kaleads serve` and of the Storage context source.
const (
	envWebhookSecret = "KALEADS_WEBHOOK_SECRET"
	envSupabaseURL   = "SUPABASE_URL"
	envSupabaseKey   = "SUPABASE_SERVICE_ROLE_KEY"
)

// cmdServe: the webhook endpoint, the worker pool and the scheduler in one
// process.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8080", "HTTP address (review UI at /, REST API under /api/v1, webhook POST /webhooks/contacts, GET /healthz, GET /readyz)")
	insecure := fs.Bool("insecure-cookies", false, "review UI cookies without the Secure attribute, for plain http on a host other than localhost (never in production)")
	workers := fs.Int("workers", 8, "contacts processed at once")
	sites := fs.String("sites", "", "serve prospect websites from DIR/<host>/ on loopback instead of the web (demos, drills)")
	engine := fs.String("engine", llm.ChoiceAuto, "auto, offline or llm")
	contextFrom := fs.String("context", "db", "where clients' context files are read: db (stored by `client add`) or storage (Supabase Storage bucket clients/{client_id}/, needs "+envSupabaseURL+" and "+envSupabaseKey+")")
	timeout := fs.Duration("contact-timeout", 5*time.Minute, "deadline for one email; contacts enriching longer than 1.5× this are recovered")
	poll := fs.Duration("poll", 5*time.Second, "claim at least this often when no notification arrives")
	exportDir := fs.String("export-dir", "exports", "where the daily export writes the csv files of clients exporting to csv")
	atOnceEvery := fs.Duration("at-once-every", 5*time.Minute, "how often the full phase's \"at once\" export runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *workers < 1 || *timeout <= 0 || *poll <= 0 || *atOnceEvery <= 0 {
		return errors.New("serve: unexpected arguments, or --workers < 1, or a non-positive duration")
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	secret := os.Getenv(envWebhookSecret)
	if secret == "" {
		log.Warn(envWebhookSecret + " is not set: POST /webhooks/contacts refuses every call (contacts are still found by LISTEN/NOTIFY and polling)")
	}
	e, err := llm.NewEngine(*engine, os.Getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	contexts, err := contextSource(*contextFrom)
	if err != nil {
		return err
	}
	scraper, stop, err := scrape.NewForSites(*sites, scrape.Options{})
	if err != nil {
		return err
	}
	defer stop()
	w, err := worker.New(worker.Config{Store: st, Engine: e, Scraper: scraper, Contexts: contexts, Log: log, ContactTimeout: *timeout})
	if err != nil {
		return err
	}
	x, notify, err := exporter(st, export.Dir(*exportDir), log)
	if err != nil {
		return err
	}
	return server.Run(ctx, server.Config{Store: st, Worker: w, Addr: *addr, Workers: *workers, WebhookSecret: secret, Log: log,
		Poll: *poll, InsecureCookies: *insecure, Jobs: exportJobs(x, notify, *atOnceEvery, log), Export: x.RunConfigured})
}

// exporter builds the exports' runner from the environment's sequencer
// keys, with Slack notifications.
func exporter(st *store.Store, files export.Sink, log *slog.Logger) (*export.Exporter, *export.SlackNotifier, error) {
	seqs, err := export.Sequencers(os.Getenv, log)
	if err != nil {
		return nil, nil, err
	}
	notify := export.NewSlackNotifier(st, log)
	x, err := export.New(export.Config{Store: st, Sequencers: seqs, Files: files, Notify: notify, Log: log})
	return x, notify, err
}

// exportJobs are the scheduler's exports — the daily slot (14:00
// Europe/Paris) and the full phase's "at once" pass — and the Slack
// announcement of finished batches.
func exportJobs(x *export.Exporter, notify *export.SlackNotifier, atOnceEvery time.Duration, log *slog.Logger) []server.Job {
	run := func(atOnce bool) func(ctx context.Context) {
		return func(ctx context.Context) {
			if _, err := x.Scheduled(ctx, atOnce); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "scheduled export failed", "at_once", atOnce, "error", err)
			}
		}
	}
	return []server.Job{
		{Name: "daily export", Next: export.NextSlot, Run: run(false)},
		{Name: "at-once export", Next: func(now time.Time) time.Time { return now.Add(atOnceEvery) }, Run: run(true)},
		{Name: "batch notifications", Next: func(now time.Time) time.Time { return now.Add(time.Minute) }, Run: func(ctx context.Context) {
			if _, err := notify.Batches(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "batch notifications failed", "error", err)
			}
		}},
	}
}

// contextSource returns the clients' context source for a --context value
// (nil: the database's copies).
func contextSource(from string) (func(clientID string) clientctx.Source, error) {
	switch from {
	case "db", "":
		return nil, nil
	case "storage":
		c, err := storageClient()
		if err != nil {
			return nil, err
		}
		return func(id string) clientctx.Source { return c.ClientSource(id) }, nil
	}
	return nil, fmt.Errorf("--context %q: want db or storage", from)
}

func storageClient() (*storage.Client, error) {
	u, key := os.Getenv(envSupabaseURL), os.Getenv(envSupabaseKey)
	if u == "" || key == "" {
		return nil, fmt.Errorf("Supabase Storage needs %s (https://<ref>.supabase.co) and %s", envSupabaseURL, envSupabaseKey)
	}
	return storage.New(u, key)
}

// cmdRetry: failed contacts back to pending once the cause is fixed.
func cmdRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	batch := fs.String("batch", "", "the failed contacts of this upload batch")
	contact := fs.String("contact", "", "this one contact")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*batch == "") == (*contact == "") || fs.NArg() > 0 {
		return errors.New("usage: kaleads retry --batch ID | --contact ID")
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Retry(ctx, store.RetryScope{BatchID: *batch, ContactID: *contact})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d failed contacts back to pending\n", n)
	if n > 0 && *batch != "" {
		fmt.Fprintf(stdout, "run: kaleads generate --batch %s (or let kaleads serve pick them up)\n", *batch)
	}
	return nil
}
