// Package worker turns stored contacts into stored emails. It is the one
// service every database trigger calls: `kaleads generate --batch`, the
// `generate` Lambda (one contact per queue message), the `serve` worker pool
// and a review UI's "regenerate" button.
//
// A contact is claimed (pending → enriching, one UPDATE … SKIP LOCKED), its
// client's context and template give a pipeline (kept per client, template
// version and context hash, bounded and aged), pipeline.Process makes the
// email, and the email, its agent runs and the status change commit in one
// transaction. What happens on failure depends on the cause's class:
//
//   - permanent (the contact row, the template or the context files are
//     invalid; no client or template): the contact is failed for good, with
//     the reason, until `kaleads retry` after a fix;
//   - retryable (the run is stopping, the per-contact deadline passed, the
//     database connection was lost, the LLM is down): the claim is given
//     back — pending again after a back-off, the attempt counted — and the
//     contact is failed only once it has used its attempts.
//
// Database calls that fail because the connection is lost are retried with
// back-off (the pool reconnects), so a PostgreSQL restart costs time, not
// contacts.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/automation"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/pipeline"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/template"
)

// Config assembles a Worker.
type Config struct {
	Store   *store.Store
	Engine  agents.Engine
	Scraper pipeline.Scraper
	// Contexts returns where a client's context files are read from: the
	// copies `kaleads client add` stored in the database (nil, the default)
	// or a Supabase Storage folder (storage.Client.ClientSource).
	Contexts func(clientID string) clientctx.Source
	Log      *slog.Logger // default: discard
	// ContactTimeout bounds the making of one email (scrape, agents,
	// storing). Default 5 minutes. A sweeper should treat contacts claimed
	// longer ago than StaleAfter() as abandoned.
	ContactTimeout time.Duration
	// Pipelines bounds how many client/template pipelines are kept (default
	// 32), PipelineTTL how long one is reused before the context and
	// template are read again (default 10 minutes).
	Pipelines   int
	PipelineTTL time.Duration
	// DatabaseRetry bounds how long a database call is retried while the
	// connection is down. Default 2 minutes.
	DatabaseRetry time.Duration
}

// Worker processes contacts. It is safe for concurrent use.
type Worker struct {
	cfg   Config
	st    *store.Store // cfg.Store, claiming under this worker's name
	log   *slog.Logger
	pipes *expirable.LRU[string, *pipeline.Pipeline]
	load  singleflight.Group
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks cfg and returns a Worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Engine == nil || cfg.Scraper == nil {
		return nil, errors.New("worker: store, engine and scraper are required")
	}
	if cfg.Contexts == nil {
		cfg.Contexts = cfg.Store.ContextSource
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ContactTimeout <= 0 {
		cfg.ContactTimeout = 5 * time.Minute
	}
	if cfg.Pipelines <= 0 {
		cfg.Pipelines = 32
	}
	if cfg.PipelineTTL <= 0 {
		cfg.PipelineTTL = 10 * time.Minute
	}
	if cfg.DatabaseRetry <= 0 {
		cfg.DatabaseRetry = 2 * time.Minute
	}
	host, _ := os.Hostname()
	name := fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
	return &Worker{cfg: cfg, log: cfg.Log, st: cfg.Store.Claimer(name),
		pipes: expirable.NewLRU[string, *pipeline.Pipeline](cfg.Pipelines, nil, cfg.PipelineTTL),
		sleep: sleepCtx}, nil
}

// StaleAfter is how long a contact may stay enriching before a sweeper
// may hand it to another worker: the per-contact deadline plus a margin for
// storing the result.
func (w *Worker) StaleAfter() time.Duration {
	return w.cfg.ContactTimeout + w.cfg.ContactTimeout/2 + 30*time.Second
}

// Statuses of an Outcome besides the store's contact statuses.
const (
	// Skipped: the contact was not claimable (unknown, already done, held
	// by another worker, or waiting for its retry time).
	Skipped = "skipped"
)

// Outcome is what happened to one contact.
type Outcome struct {
	ContactID, ClientID, BatchID string
	// Status is the contact's status afterwards: completed, failed (for
	// good), pending (given back for a later attempt) or Skipped.
	Status string
	// EmailID is the stored email (completed); Created is false when the
	// contact already had one (a duplicate message, a second worker).
	EmailID string
	Created bool
	Quality int
	Usage   email.Usage
	// Err is why the contact failed or was given back.
	Err error
	// EngineDown is set when the engine failed in a way that will fail
	// every contact (an exhausted API quota): claiming more is pointless.
	EngineDown bool
}

// ProcessContact claims one contact by id and processes it (a queue
// message or a webhook names it). A contact that is not claimable is
// Skipped, which makes duplicate deliveries harmless. The error is non-nil
// only when the claim itself could not be made (database unreachable past
// DatabaseRetry, an invalid id, ctx done): the message should be retried.
func (w *Worker) ProcessContact(ctx context.Context, contactID string) (Outcome, error) {
	var c store.ClaimedContact
	var ok bool
	err := w.retryDB(ctx, "claim", func(ctx context.Context) error {
		var err error
		c, ok, err = w.st.ClaimContact(ctx, contactID)
		return err
	})
	if err != nil {
		return Outcome{ContactID: contactID, Status: Skipped, Err: err}, err
	}
	if !ok {
		w.log.InfoContext(ctx, "contact not claimable (done, held by another worker, waiting to retry, or unknown)", "contact_id", contactID)
		return Outcome{ContactID: contactID, Status: Skipped}, nil
	}
	return w.Process(ctx, c), nil
}

// Process makes and stores the email of a contact this worker claimed, or
// records why it could not. The outcome is recorded in the database even
// when ctx is cancelled meanwhile (the contact is given back).
func (w *Worker) Process(ctx context.Context, c store.ClaimedContact) Outcome {
	log := w.log.With("contact_id", c.ID, "client_id", c.ClientID, "batch_id", c.BatchID, "attempt", c.Attempts)
	out := Outcome{ContactID: c.ID, ClientID: c.ClientID, BatchID: c.BatchID}
	// The bookkeeping must land even when the run is being interrupted.
	bg := context.WithoutCancel(ctx)

	p, err := w.prepare(ctx, &c)
	if err != nil {
		return w.fail(bg, log, c, out, err)
	}
	pctx, cancel := context.WithTimeoutCause(ctx, w.cfg.ContactTimeout,
		fmt.Errorf("deadline: the email took longer than %s", w.cfg.ContactTimeout))
	defer cancel()
	start := time.Now()
	res, err := p.Process(pctx, c.Contact)
	if err != nil {
		if cause := context.Cause(pctx); cause != nil && ctx.Err() == nil && pctx.Err() != nil {
			err = cause // our per-contact deadline
		} else if ctx.Err() == nil {
			out.EngineDown = true
		}
		return w.fail(bg, log, c, out, err)
	}
	res.Automation = w.automation(bg, log, c, res)
	var emailID string
	var created bool
	err = w.retryDB(bg, "complete", func(ctx context.Context) error {
		var err error
		emailID, created, err = w.st.Complete(ctx, c.ID, res)
		return err
	})
	if err != nil {
		return w.fail(bg, log, c, out, err)
	}
	out.Status, out.EmailID, out.Created = store.StatusCompleted, emailID, created
	out.Quality, out.Usage = res.Quality.Score, res.Usage
	log.InfoContext(ctx, "email stored", "email_id", emailID, "new", created, "quality", res.Quality.Score,
		"llm_calls", res.Usage.Calls, "cost_usd", res.Usage.CostUSD, "ms", time.Since(start).Milliseconds())
	return out
}

// automation applies the client's rollout phase to a generated email. The
// contact id seeds the random review sample (one email per contact). When
// the settings cannot be read, the email goes to review (shadow).
func (w *Worker) automation(ctx context.Context, log *slog.Logger, c store.ClaimedContact, res email.Result) *email.Automation {
	var set store.Automation
	err := w.retryDB(ctx, "automation settings", func(ctx context.Context) error {
		var err error
		set, err = w.st.Automation(ctx, c.ClientID)
		return err
	})
	if err != nil {
		log.WarnContext(ctx, "automation settings unreadable: the email goes to review", "error", err)
		set = store.Automation{Phase: automation.Shadow}
	}
	d := automation.Decide(automation.Settings{Phase: set.Phase, PartialThreshold: set.PartialThreshold, FullThreshold: set.FullThreshold,
		SampleRate: set.RandomReviewRate, Engine: w.cfg.Engine.Name()}, c.ID, res)
	return &d
}

// fail records err as the contact's failure, permanent or retryable by its
// class.
func (w *Worker) fail(ctx context.Context, log *slog.Logger, c store.ClaimedContact, out Outcome, err error) Outcome {
	out.Err = err
	cause := err
	if Permanent(err) {
		cause = store.Permanent(err)
	}
	var status string
	ferr := w.retryDB(ctx, "fail", func(ctx context.Context) error {
		var e error
		status, e = w.st.Fail(ctx, c, cause)
		return e
	})
	if ferr != nil {
		// The contact stays enriching; the sweeper returns it once stale.
		log.ErrorContext(ctx, "could not record the failure", "error", err, "record_error", ferr)
		out.Status = store.StatusEnriching
		return out
	}
	out.Status = status
	switch status {
	case store.StatusFailed:
		log.WarnContext(ctx, "contact failed", "error", err, "permanent", Permanent(err))
	case store.StatusPending:
		log.WarnContext(ctx, "contact given back for a later attempt", "error", err, "retry_in", store.RetryBackoff(c.Attempts).String())
	default:
		log.InfoContext(ctx, "failure not recorded: the contact is no longer this worker's", "status", status, "error", err)
	}
	return out
}

// prepare validates the claimed contact and returns its pipeline.
func (w *Worker) prepare(ctx context.Context, c *store.ClaimedContact) (*pipeline.Pipeline, error) {
	if c.ClientID == "" || c.TemplateID == "" {
		return nil, invalid(errors.New("the contact has no client or no template: set client_id and template_id (or keep exactly one active client with an active template)"))
	}
	if err := contacts.Check(&c.Contact); err != nil {
		return nil, invalid(err)
	}
	p, err := w.pipeline(ctx, *c)
	if err != nil {
		return nil, err
	}
	for _, col := range p.Plan().Columns {
		if _, ok := c.Contact.Fields[col]; !ok && !standardColumn(col) {
			return nil, invalid(fmt.Errorf("the template uses {{%s}} but the contact has no %q column", col, col))
		}
	}
	return p, nil
}

// pipeline returns the pipeline of the contact's client, template version
// and context hash, loading the context and template once (concurrent
// callers share the load).
func (w *Worker) pipeline(ctx context.Context, c store.ClaimedContact) (*pipeline.Pipeline, error) {
	key := strings.Join([]string{c.ClientID, c.TemplateID, c.TemplateVersion, c.ContextHash}, "|")
	if p, ok := w.pipes.Get(key); ok {
		return p, nil
	}
	v, err, _ := w.load.Do(key, func() (any, error) {
		if p, ok := w.pipes.Get(key); ok {
			return p, nil
		}
		p, err := w.newPipeline(context.WithoutCancel(ctx), c)
		if err != nil {
			return nil, err
		}
		w.pipes.Add(key, p)
		w.log.InfoContext(ctx, "pipeline loaded", "client_id", c.ClientID, "template_id", c.TemplateID,
			"template_version", c.TemplateVersion, "context_hash", c.ContextHash)
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*pipeline.Pipeline), nil
}

func (w *Worker) newPipeline(ctx context.Context, c store.ClaimedContact) (*pipeline.Pipeline, error) {
	var cctx *clientctx.Context
	err := w.retryDB(ctx, "load context", func(ctx context.Context) error {
		var err error
		cctx, err = clientctx.Load(ctx, w.cfg.Contexts(c.ClientID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client %s context: %w", c.ClientID, err)
	}
	var t store.Template
	err = w.retryDB(ctx, "load template", func(ctx context.Context) error {
		var err error
		t, err = w.st.TemplateByID(ctx, c.TemplateID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid(fmt.Errorf("template %s no longer exists", c.TemplateID))
	}
	if err != nil {
		return nil, err
	}
	tmpl, err := template.Parse("template "+t.Name, []byte(t.Text))
	if err != nil {
		return nil, err
	}
	return pipeline.New(pipeline.Config{Template: tmpl, Context: cctx, Engine: w.cfg.Engine, Scraper: w.cfg.Scraper,
		Cache: w.st.AgentCache(c.ClientID), Columns: columns(tmpl)})
}

// columns are the contact columns a stored contact offers a template: the
// standard ones, and every variable no agent produces (a custom CSV column,
// checked per contact by prepare).
func columns(t *template.Template) []string {
	cols := append([]string(nil), standardColumns...)
	for _, v := range t.Variables() {
		if _, ok := agents.Producer(v.Name); !ok && !standardColumn(v.Name) {
			cols = append(cols, v.Name)
		}
	}
	sort.Strings(cols)
	return cols
}

var standardColumns = []string{contacts.ColFirstName, contacts.ColLastName, contacts.ColEmail, contacts.ColCompanyName,
	contacts.ColWebsite, contacts.ColLinkedInURL, contacts.ColIndustry, contacts.ColJobTitle}

func standardColumn(name string) bool {
	for _, c := range standardColumns {
		if c == name {
			return true
		}
	}
	return false
}

// retryDB runs fn, again with back-off while it fails with
// store.ErrUnavailable, for at most DatabaseRetry.
func (w *Worker) retryDB(ctx context.Context, what string, fn func(context.Context) error) error {
	deadline := time.Now().Add(w.cfg.DatabaseRetry)
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			return err
		}
		w.log.WarnContext(ctx, "database unavailable, retrying", "operation", what, "attempt", attempt, "in", delay.String(), "error", err)
		if serr := w.sleep(ctx, delay); serr != nil {
			return errors.Join(err, serr)
		}
		delay = min(2*delay+time.Duration(rand.Int64N(int64(delay/4)+1)), 10*time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
