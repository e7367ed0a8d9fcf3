// Package campaign runs a whole file-based campaign: a client folder and a
// contacts CSV in, the output files out. It is what `kaleads generate` does.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
	// MaxFallbackShare is the share of the agent answers computed in this
	// run (cache reuse aside) that may come from the engine's fallback (the
	// LLM engine's offline engine) before Run fails with a *FallbackError;
	// the emails are written all the same. 0 means DefaultMaxFallbackShare,
	// 1 never fails, NoFallback fails at the first fallback.
	MaxFallbackShare float64
}

// DefaultMaxFallbackShare is the share of fallback answers a run accepts
// when Options.MaxFallbackShare is 0.
const DefaultMaxFallbackShare = 0.2

// NoFallback as Options.MaxFallbackShare fails a run at the first answer
// that fell back.
const NoFallback = math.SmallestNonzeroFloat64

// FallbackError is Run's error when more than Options.MaxFallbackShare of
// the computed agent answers came from the fallback engine: the model did
// not answer (an outage, a server that refuses the requests, answers that
// break the output rules) and the emails rest on the offline heuristics.
type FallbackError struct {
	Fallbacks, Answers int     // answers that fell back, answers computed
	Max                float64 // the share allowed
	Reason             string  // the most frequent fallback reason
	ReasonCount        int     // answers that fell back for Reason
	Example            string  // the first fallback note for Reason
}

// Share is the share of the computed answers that fell back.
func (e *FallbackError) Share() float64 { return float64(e.Fallbacks) / float64(max(e.Answers, 1)) }

func (e *FallbackError) Error() string {
	msg := fmt.Sprintf("%.1f %% of the agent answers fell back (%d of %d; at most %s allowed, --max-fallback-share); most frequent reason: %s (%d)",
		e.Share()*100, e.Fallbacks, e.Answers, pct(e.Max), e.Reason, e.ReasonCount)
	if e.Example != "" {
		msg += ", e.g. " + e.Example
	}
	return msg
}

// pct prints a share as a percentage with up to one decimal.
func pct(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + " %"
}

// checkFallbacks returns a *FallbackError when more than limit of the
// computed answers of s fell back.
func checkFallbacks(s email.Summary, limit float64) error {
	t := s.Activity()
	n := t.FallbackCount()
	if n == 0 || s.FallbackShare() <= limit {
		return nil
	}
	reason, count := s.TopFallbackReason()
	return &FallbackError{Fallbacks: n, Answers: t.Answers, Max: limit, Reason: reason, ReasonCount: count, Example: s.FallbackExamples[reason]}
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
	// MaxFallbackShare is the share of fallback answers the run accepted.
	MaxFallbackShare float64
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
	if opts.MaxFallbackShare == 0 {
		opts.MaxFallbackShare = DefaultMaxFallbackShare
	}
	if !(opts.MaxFallbackShare > 0) { // NaN too
		return nil, fmt.Errorf("max fallback share %v: want a share between 0 and 1", opts.MaxFallbackShare)
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
		OutDir: opts.OutDir, Engine: engine.Name(), Scraped: scraper.Stats(), StartedAt: started, MaxFallbackShare: opts.MaxFallbackShare}
	closeErr := w.Close(summary, output.ReportInfo{Client: filepath.Base(filepath.Clean(opts.ClientDir)), Template: tmplName + " (" + tmpl.Version + ")",
		Engine: engine.Name(), Rejected: len(file.Errors), GeneratedAt: opts.Now()})
	if runErr == nil {
		// A run that stopped has its own reason; one that finished on the
		// offline heuristics for too many answers fails after writing them.
		runErr = checkFallbacks(summary, opts.MaxFallbackShare)
	}
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
	}
	printActivity(w, o)
	if s.Usage.Calls > 0 {
		fmt.Fprintf(w, "  cost                $%.4f\n", s.Usage.CostUSD)
	}
	fmt.Fprintf(w, "  wall time           %s\n", s.Wall.Round(time.Millisecond))
	if s.StoppedEarly != "" {
		fmt.Fprintf(w, "  STOPPED EARLY       %s\n", s.StoppedEarly)
	}
	fmt.Fprintf(w, "  results             %s\n", filepath.Join(o.OutDir, output.FileReport))
	fmt.Fprintf(w, "                      %s, %s, %s\n", filepath.Join(o.OutDir, output.FileEmailsJSONL), filepath.Join(o.OutDir, output.FileEmailsCSV), filepath.Join(o.OutDir, output.FileErrorsCSV))
}

// printActivity writes what the engine did by agent — model calls,
// retries, repairs, fallbacks by reason — the fallback share against the
// limit, and the model's time apart from the time spent waiting to send.
// It writes nothing for a run with no model call and no fallback (the
// offline engine).
func printActivity(w io.Writer, o *Outcome) {
	s := o.Summary
	t := s.Activity()
	if t.Calls == 0 && t.FallbackCount() == 0 {
		return
	}
	names := make([]string, 0, len(s.Agents))
	for n := range s.Agents {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return agentOrder(names[i]) < agentOrder(names[j]) || agentOrder(names[i]) == agentOrder(names[j]) && names[i] < names[j]
	})
	fmt.Fprintf(w, "  by agent            %-12s %7s %6s %6s %7s %7s %9s\n", "agent", "answers", "reused", "calls", "retries", "repairs", "fallbacks")
	row := func(name string, a email.AgentActivity) {
		fmt.Fprintf(w, "                      %-12s %7d %6d %6d %7d %7d %9d", name, a.Answers, a.Reused, a.Calls, a.Retries, a.Repairs, a.FallbackCount())
		if len(a.Fallbacks) > 0 {
			fmt.Fprintf(w, "   %s", countList(a.Fallbacks))
		}
		fmt.Fprintln(w)
	}
	for _, n := range names {
		row(n, s.Agents[n])
	}
	row("all", t)
	shared := false
	for _, n := range names {
		shared = shared || s.Agents[n].Answers > s.Agents[n].Reused && s.Agents[n].Calls == 0 && t.Calls > 0
	}
	if shared {
		fmt.Fprintf(w, "                      (a call that answers several agents at once is counted on the first of them)\n")
	}
	limit := o.MaxFallbackShare
	if limit == 0 {
		limit = DefaultMaxFallbackShare
	}
	over := ""
	if t.FallbackCount() > 0 && s.FallbackShare() > limit {
		over = ", over the limit"
	}
	fmt.Fprintf(w, "  fallbacks           %d of %d answers computed (%s; limit %s%s)\n", t.FallbackCount(), t.Answers, pct(s.FallbackShare()), pct(limit), over)
	if reason, _ := s.TopFallbackReason(); reason != "" {
		fmt.Fprintf(w, "                      e.g. %s\n", s.FallbackExamples[reason])
	}
	if t.Calls > 0 {
		fmt.Fprintf(w, "  model time          %s summed over %d calls; %s more waiting for the rate budget and retries\n",
			(time.Duration(t.LatencyMS) * time.Millisecond).Round(100*time.Millisecond), t.Calls, (time.Duration(t.WaitMS) * time.Millisecond).Round(100*time.Millisecond))
	}
}

// agentOrder puts the agents in the order they run; others last.
func agentOrder(name string) int {
	for i, s := range agents.All {
		if s.Name == name {
			return i
		}
	}
	return len(agents.All)
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
