package campaign

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/pipeline"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/template"
)

// BatchOptions of a database run.
type BatchOptions struct {
	Concurrency int
	Engine      agents.Engine // nil: offline
	Scrape      scrape.Options
	SitesDir    string
	Progress    func(done, total int)
}

// BatchOutcome counts what a database run did.
type BatchOutcome struct {
	Claimed   int
	Completed int
	Failed    int // contacts whose attempt failed (back to pending, or failed for good)
	Wall      time.Duration
}

// RunBatch processes the pending contacts of an uploaded batch from the
// database: each is claimed (pending → enriching), made into an email, and
// completed in one transaction with its agent runs (emails_generated with
// review_status pending_review), or failed with its reason. Running it
// twice, or on two machines at once, never makes two emails for a contact.
func RunBatch(ctx context.Context, st *store.Store, batchID string, o BatchOptions) (BatchOutcome, error) {
	start := time.Now()
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	engine, err := orOffline(o.Engine)
	if err != nil {
		return BatchOutcome{}, err
	}
	scraper, stop, err := newScraper(o.SitesDir, o.Scrape)
	if err != nil {
		return BatchOutcome{}, err
	}
	defer stop()
	w := &batchWorker{st: st, engine: engine, scraper: scraper, pipes: map[string]*pipeline.Pipeline{}}

	var out BatchOutcome
	var mu sync.Mutex
	var fatal error
	for ctx.Err() == nil && fatal == nil {
		claimed, err := st.ClaimBatch(ctx, batchID, o.Concurrency*2)
		if err != nil {
			return out, err
		}
		if len(claimed) == 0 {
			break
		}
		out.Claimed += len(claimed)
		sem := make(chan struct{}, o.Concurrency)
		var wg sync.WaitGroup
		for _, c := range claimed {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				ok, err := w.one(ctx, c)
				mu.Lock()
				defer mu.Unlock()
				if ok {
					out.Completed++
				} else {
					out.Failed++
				}
				if err != nil && fatal == nil {
					fatal = err
				}
				if o.Progress != nil {
					o.Progress(out.Completed+out.Failed, out.Claimed)
				}
			}()
		}
		wg.Wait()
	}
	out.Wall = time.Since(start)
	if fatal != nil {
		return out, fatal
	}
	return out, ctx.Err()
}

type batchWorker struct {
	st      *store.Store
	engine  agents.Engine
	scraper pipeline.Scraper
	mu      sync.Mutex
	pipes   map[string]*pipeline.Pipeline // client/template → pipeline
}

// one processes a claimed contact. It reports whether an email was stored,
// and an error only when the whole run must stop.
func (w *batchWorker) one(ctx context.Context, c store.ClaimedContact) (bool, error) {
	// Bookkeeping must land even when the run is being interrupted.
	bg := context.WithoutCancel(ctx)
	p, err := w.pipeline(ctx, c)
	if err != nil {
		_, ferr := w.st.Fail(bg, c.ID, store.Permanent(err))
		return false, ferr
	}
	r, err := p.Process(ctx, c.Contact)
	if err != nil {
		// The run stops (interrupted, quota exhausted): this contact goes
		// back to pending with the reason, for the next run.
		_, ferr := w.st.Fail(bg, c.ID, err)
		return false, errors.Join(err, ferr)
	}
	if _, err := w.st.Complete(bg, c.ID, r); err != nil {
		_, ferr := w.st.Fail(bg, c.ID, err)
		return false, ferr
	}
	return true, nil
}

// pipeline returns the pipeline of the contact's client and template,
// loading the context from the database once.
func (w *batchWorker) pipeline(ctx context.Context, c store.ClaimedContact) (*pipeline.Pipeline, error) {
	if c.ClientID == "" || c.TemplateID == "" {
		return nil, errors.New("the contact has no client or no template: set client_id and template_id")
	}
	key := c.ClientID + "/" + c.TemplateID
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.pipes[key]; ok {
		return p, nil
	}
	cctx, err := clientctx.Load(ctx, w.st.ContextSource(c.ClientID))
	if err != nil {
		return nil, fmt.Errorf("client %s context: %w", c.ClientID, err)
	}
	t, err := w.st.TemplateByID(ctx, c.TemplateID)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.Parse("template "+t.Name, []byte(t.Text))
	if err != nil {
		return nil, err
	}
	cols := []string{contacts.ColFirstName, contacts.ColLastName, contacts.ColEmail, contacts.ColCompanyName, contacts.ColWebsite,
		contacts.ColLinkedInURL, contacts.ColIndustry, contacts.ColJobTitle}
	for k := range c.Contact.Fields {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	p, err := pipeline.New(pipeline.Config{Template: tmpl, Context: cctx, Engine: w.engine, Scraper: w.scraper,
		Cache: w.st.AgentCache(c.ClientID), Columns: cols})
	if err != nil {
		return nil, err
	}
	w.pipes[key] = p
	return p, nil
}
