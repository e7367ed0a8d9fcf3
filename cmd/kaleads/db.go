package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/storage"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/template"
)

// openStore opens DATABASE_URL.
func openStore(ctx context.Context) (*store.Store, error) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/kaleads, or your Supabase pooler URL)")
	}
	return store.Open(ctx, url)
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if rep.Shim {
		fmt.Fprintln(stdout, "plain PostgreSQL: loaded the Supabase platform shim (roles, auth.uid())")
	}
	for _, m := range rep.Applied {
		fmt.Fprintf(stdout, "applied %s_%s\n", m.Version, m.Name)
	}
	if len(rep.Applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	return nil
}

// leadingArg splits off a positional argument written before the flags
// ("upload FILE.csv --client X"), which package flag would not parse.
// openClient opens the database and finds the client called name; the
// caller closes the store. Errors name the command (cmd).
func openClient(ctx context.Context, cmd, name string) (*store.Store, store.Client, error) {
	st, err := openStore(ctx)
	if err != nil {
		return nil, store.Client{}, err
	}
	c, err := st.ClientByName(ctx, name)
	if err != nil {
		st.Close()
		return nil, store.Client{}, fmt.Errorf("%s: %w", cmd, err)
	}
	return st, c, nil
}

func leadingArg(args []string) (string, []string) {
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

// cmdClient: kaleads client add DIR [--name NAME] [--template-name NAME] [--columns a,b] [--storage]
func cmdClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "set":
			return cmdClientSet(ctx, args[1:], stdout, stderr)
		case "export":
			return cmdClientExport(ctx, args[1:], stdout, stderr)
		case "exclude":
			return cmdClientExclude(ctx, args[1:], stdout, stderr)
		}
	}
	if len(args) == 0 || args[0] != "add" {
		return errors.New(`usage: kaleads client add DIR [--name NAME] [--template-name "Cold Email V1"] [--columns col1,col2] [--storage]
       kaleads client set NAME --phase shadow|partial|full [--threshold N] [--sample-rate R] [--force]
       kaleads client export NAME --to smartlead|instantly|csv|none [--campaign ID] [--at-once] [--domain-cap N] [--slack-webhook URL]
       kaleads client exclude NAME --file domains.txt | --list`)
	}
	fs := flag.NewFlagSet("client add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "client name (default: the directory's name)")
	tname := fs.String("template-name", "Cold Email V1", "name under which DIR/template.md is stored")
	columns := fs.String("columns", "", "custom CSV columns the template may use besides the standard ones (comma-separated)")
	toStorage := fs.Bool("storage", false, "also upload the context files to Supabase Storage (bucket clients/{client_id}/; needs "+envSupabaseURL+" and "+envSupabaseKey+")")
	dir, rest := leadingArg(args[1:])
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	if dir == "" {
		return errors.New("client add: give the client directory")
	}
	if *name == "" {
		*name = filepath.Base(filepath.Clean(dir))
	}
	// Everything is checked before anything is stored.
	tmplData, err := os.ReadFile(filepath.Join(dir, clientctx.FileTemplate))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if tmplData != nil {
		if err := checkTemplate(filepath.Join(dir, clientctx.FileTemplate), tmplData, *columns); err != nil {
			return fmt.Errorf("client add: nothing stored: %w", err)
		}
	}
	cc, err := clientctx.Load(ctx, clientctx.Dir(dir))
	if err != nil {
		return fmt.Errorf("client add: nothing stored: %s: %w", dir, err)
	}
	var sc *storage.Client
	if *toStorage {
		if sc, err = storageClient(); err != nil {
			return err
		}
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.AddClient(ctx, *name, clientctx.Dir(dir))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client %q (%s): %d context files stored\n", c.Name, c.ID, len(c.Files))
	if tmplData != nil {
		t, err := st.AddTemplate(ctx, c.ID, *tname, tmplData)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "template %q (%s) stored\n", t.Name, t.ID)
	} else {
		fmt.Fprintf(stdout, "no %s in %s: add a template before uploading contacts\n", clientctx.FileTemplate, dir)
	}
	if sc != nil {
		src := sc.ClientSource(c.ID)
		for _, f := range c.Files {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
			if err != nil {
				return err
			}
			if err := src.Put(ctx, f, data); err != nil {
				return fmt.Errorf("client add --storage: %s: %w", f, err)
			}
		}
		fmt.Fprintf(stdout, "%d context files uploaded to Supabase Storage %s/%s/ (context hash %s)\n", len(c.Files), storage.Bucket, c.ID, cc.Hash())
	}
	return nil
}

// checkTemplate parses a template and checks that each variable is a
// standard contact column, a custom column the user declared, or an agent's
// output.
func checkTemplate(file string, data []byte, custom string) error {
	t, err := template.Parse(file, data)
	if err != nil {
		return err
	}
	cols := []string{contacts.ColFirstName, contacts.ColLastName, contacts.ColEmail, contacts.ColCompanyName,
		contacts.ColWebsite, contacts.ColLinkedInURL, contacts.ColIndustry, contacts.ColJobTitle}
	for _, c := range strings.Split(custom, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cols = append(cols, c)
		}
	}
	var vars []agents.TemplateVar
	for _, v := range t.Variables() {
		vars = append(vars, agents.TemplateVar{Name: v.Name, Line: v.Line})
	}
	if _, err := agents.NewPlan(file, vars, cols); err != nil {
		return fmt.Errorf("%w (a custom CSV column must be declared with --columns)", err)
	}
	return nil
}

// cmdUpload: kaleads upload FILE.csv --client NAME [--template NAME]
func cmdUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "client name")
	tname := fs.String("template", "", "template name (default: the client's latest)")
	file, args := leadingArg(args)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" || *client == "" {
		return errors.New(`usage: kaleads upload FILE.csv --client NAME [--template "Cold Email V1"]`)
	}
	st, c, err := openClient(ctx, "upload", *client)
	if err != nil {
		return err
	}
	defer st.Close()
	tid := ""
	if *tname != "" {
		t, err := st.TemplateByName(ctx, c.ID, *tname)
		if err != nil {
			return err
		}
		tid = t.ID
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := st.Upload(ctx, c.ID, tid, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "batch %s: %d rows read, %d imported, %d rejected, %d already known\n", rep.BatchID, rep.Read, rep.Imported, len(rep.RowErrors), len(rep.Duplicates))
	for _, e := range rep.RowErrors {
		fmt.Fprintf(stdout, "  line %d: %s\n", e.Line, e.Reason)
	}
	for _, d := range rep.Duplicates {
		fmt.Fprintf(stdout, "  line %d: %s is already a contact of this client\n", d.Line, d.Email)
	}
	return nil
}

// cmdSweep returns contacts stuck in "enriching" (a worker died) to pending,
// or to failed once they used their attempts.
func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stale := fs.Duration("stale", 8*time.Minute, "an enriching contact claimed longer ago than this is stale")
	attempts := fs.Int("max-attempts", 3, "attempts after which a stale contact is failed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.Sweep(ctx, *stale, *attempts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep: %d stale contacts back to pending, %d failed after %d attempts\n", rep.Requeued, rep.Failed, *attempts)
	return nil
}

// cmdClientSet changes a client's automation phase. Moving to partial or
// full requires the readiness check of the review numbers (approval > 95 %
// on at least 200 decided emails, edits < 5 %, review < 60 s), unless
// --force, which is logged.
func cmdClientSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client set", flag.ContinueOnError)
	fs.SetOutput(stderr)
	phase := fs.String("phase", "", "shadow (every email reviewed), partial (auto-approve at the threshold, default 90) or full (default 85, with a random review sample)")
	threshold := fs.Int("threshold", 0, "auto-approval score for the phase (0: keep the current one)")
	sample := fs.Float64("sample-rate", -1, "share of auto-approvals still sent to review in the full phase (default: keep; 0.05 for new clients)")
	force := fs.Bool("force", false, "move even when the readiness check fails (logged)")
	name, rest := leadingArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	switch {
	case name == "":
		return errors.New("client set: give the client's name")
	case *phase != store.PhaseShadow && *phase != store.PhasePartial && *phase != store.PhaseFull:
		return fmt.Errorf("client set: --phase must be shadow, partial or full, not %q", *phase)
	case *threshold < 0 || *threshold > 100:
		return errors.New("client set: --threshold must be between 0 and 100")
	case *sample > 1:
		return errors.New("client set: --sample-rate must be between 0 and 1")
	}
	st, c, err := openClient(ctx, "client set", name)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := st.Automation(ctx, c.ID)
	if err != nil {
		return err
	}
	if *phase != store.PhaseShadow && *phase != a.Phase {
		d, err := st.Dashboard(ctx, store.Scope{ClientIDs: []string{c.ID}}, c.ID, store.Period{})
		if err != nil {
			return err
		}
		if !d.Ready {
			if !*force {
				return fmt.Errorf("client set: %s is not ready for the %s phase: %s (--force to move anyway)", name, *phase, strings.Join(d.Missing, "; "))
			}
			slog.New(slog.NewTextHandler(stderr, nil)).Warn("phase forced despite the readiness check", "client", name, "phase", *phase, "missing", strings.Join(d.Missing, "; "))
		}
	}
	a.Phase = *phase
	if *threshold > 0 {
		switch *phase {
		case store.PhasePartial:
			a.PartialThreshold = *threshold
		case store.PhaseFull:
			a.FullThreshold = *threshold
		}
	}
	if *sample >= 0 {
		a.RandomReviewRate = *sample
	}
	if err := st.SetAutomation(ctx, c.ID, a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: phase %s (partial threshold %d, full threshold %d, review sample %.0f %%)\n", name, a.Phase, a.PartialThreshold, a.FullThreshold, a.RandomReviewRate*100)
	return nil
}
