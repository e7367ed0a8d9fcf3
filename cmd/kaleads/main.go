// Command kaleads writes personalised B2B cold emails.
//
//	kaleads generate --client DIR --contacts FILE.csv [--sites DIR] --out DIR [--limit N] [--concurrency N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

const usage = `kaleads — personalised B2B cold emails at scale

Usage:
  kaleads generate --client DIR --contacts FILE.csv --out DIR [--sites DIR] [--limit N] [--concurrency N] [--engine auto|offline|llm]
  kaleads generate --batch ID [--concurrency N] [--engine …]      (contacts from DATABASE_URL)
  kaleads migrate                                                  (DATABASE_URL: local PostgreSQL or Supabase)
  kaleads client add DIR [--name NAME] [--template-name NAME]
  kaleads client set NAME --phase shadow|partial|full [--threshold N] [--sample-rate R] [--force]
  kaleads client export NAME --to smartlead|instantly|csv|none [--campaign ID] [--format F] [--at-once] [--domain-cap N] [--slack-webhook URL]
  kaleads client exclude NAME --file domains.txt | --list          (do-not-contact domains and addresses)
  kaleads user add --email E --role admin|reviewer [--client NAME]   (password on stdin, or prompted)
  kaleads upload FILE.csv --client NAME [--template NAME]
  kaleads sweep [--stale 8m] [--max-attempts 3]                    (stale "enriching" contacts back to pending)
  kaleads retry --batch ID | --contact ID                          (failed contacts back to pending, after a fix)
  kaleads export --client NAME [--to smartlead|instantly|csv] [--campaign ID | --create-campaign NAME] [--dry-run] [--format F --out FILE]
  kaleads export --batch ID --to files --out DIR                   (emails.jsonl, emails.csv, report.html from the database)
  kaleads apikey create --client NAME --name LABEL | revoke ID     (REST API keys for /api/v1; the key is printed once)
  kaleads serve [--addr :8080] [--workers 8] [--sites DIR] [--context db|storage]   (webhook + worker pool + scheduler)
  kaleads eval [--set examples/eval] [--engine offline|llm|auto] [--split dev|heldout|all] [--json FILE] [--details] [--hide-own]
  kaleads sim [--addr 127.0.0.1:8088] [--latency 800ms] [--jitter 200ms] [--rate-429 0.1] [--malformed 0.05] ...
  kaleads help | --version

Run "kaleads COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "kaleads:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "generate":
		return cmdGenerate(ctx, rest, stdout, stderr)
	case "sim":
		return cmdSim(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "client":
		return cmdClient(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, stdout, stderr)
	case "upload":
		return cmdUpload(ctx, rest, stdout, stderr)
	case "sweep":
		return cmdSweep(ctx, rest, stdout, stderr)
	case "retry":
		return cmdRetry(ctx, rest, stdout, stderr)
	case "apikey":
		return cmdAPIKey(ctx, rest, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "eval":
		return cmdEval(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "kaleads", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q (known: %s)", cmd, strings.Join([]string{"generate", "sim", "migrate", "client", "user", "upload", "sweep", "retry", "apikey", "export", "serve", "eval", "help", "version"}, ", "))
	}
}

// cliLogger logs warnings and errors as text on w (the progress bar and
// the summary carry the rest).
func cliLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// version is the module version, or the VCS revision the binary was built
// from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev
		if dirty {
			v += "+dirty"
		}
	}
	return v
}
