package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// RunOptions tunes a claim loop.
type RunOptions struct {
	// Workers is how many contacts are processed at once (default 8). A
	// contact is claimed as soon as a slot frees, not in waves that wait for
	// the slowest contact.
	Workers int
	// BatchID limits the loop to one upload batch ("" = every pending
	// contact, rows inserted straight into the table included).
	BatchID string
	// UntilDone makes it a batch run (generate --batch): the loop ends when
	// every contact of BatchID is completed or failed — waiting for contacts
	// given back to come due again — or when the engine fails in a way that
	// would fail every contact. Without it the loop runs until ctx ends,
	// waiting for Wake or Poll when nothing is pending (serve).
	UntilDone bool
	// Wake tells the loop that contacts may have become pending (a webhook,
	// a LISTEN/NOTIFY notification).
	Wake <-chan struct{}
	// Poll is the safety net when no wake-up comes: default 5 s.
	Poll time.Duration
	// OnDone is called after each contact, from the contact's goroutine.
	OnDone func(Outcome)
	// Grace is how long contacts in flight may still run once ctx ends
	// (graceful shutdown) before they are cancelled and given back.
	Grace time.Duration
}

// Stats counts what a claim loop did.
type Stats struct {
	Claimed   int
	Completed int // new emails stored
	Existing  int // completed contacts that already had their email
	Failed    int // failed for good
	Released  int // given back for a later attempt
	Wall      time.Duration
}

// Run claims pending contacts and processes them with o.Workers goroutines
// until ctx ends (or, with UntilDone, the batch is done). On ctx's end it
// stops claiming and waits for the contacts in flight: each is finished or
// given back. It returns ctx's error, a database error that retrying did not
// cure, or the engine failure that stopped a batch run.
func (w *Worker) Run(ctx context.Context, o RunOptions) (Stats, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.UntilDone && o.BatchID == "" {
		return Stats{}, errors.New("worker: UntilDone needs a batch id")
	}
	var (
		mu       sync.Mutex
		st       Stats
		inflight int
		engine   error     // why the engine is down
		pause    time.Time // serve: no claims before this after an engine failure
		wg       sync.WaitGroup
	)
	finished := make(chan struct{}, 1) // a contact finished: re-evaluate
	signal := func() {
		select {
		case finished <- struct{}{}:
		default:
		}
	}
	defer func() { wg.Wait() }()
	// Contacts in flight outlive ctx by Grace.
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer pcancel()
	stopGrace := context.AfterFunc(ctx, func() {
		if o.Grace <= 0 {
			pcancel()
			return
		}
		t := time.AfterFunc(o.Grace, pcancel)
		context.AfterFunc(pctx, func() { t.Stop() })
	})
	defer stopGrace()

	wait := func(d time.Duration) bool { // false when ctx ended
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		case <-o.Wake:
		case <-finished:
		}
		return true
	}

	for ctx.Err() == nil {
		mu.Lock()
		free, stop, paused := o.Workers-inflight, engine != nil && o.UntilDone, time.Until(pause)
		mu.Unlock()
		if stop {
			break
		}
		if paused > 0 {
			if !wait(paused) {
				break
			}
			continue
		}
		if free == 0 {
			if !wait(o.Poll) {
				break
			}
			continue
		}
		var claimed []store.ClaimedContact
		err := w.retryDB(ctx, "claim", func(ctx context.Context) error {
			var err error
			if o.BatchID != "" {
				claimed, err = w.st.ClaimBatch(ctx, o.BatchID, free)
			} else {
				claimed, err = w.st.ClaimNext(ctx, free)
			}
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, store.ErrUnavailable) && !o.UntilDone {
				w.log.ErrorContext(ctx, "database unavailable; claiming again later", "error", err)
				if !wait(o.Poll) {
					break
				}
				continue
			}
			st.Wall = time.Since(start)
			wg.Wait()
			return st, err
		}
		mu.Lock()
		st.Claimed += len(claimed)
		inflight += len(claimed)
		mu.Unlock()
		for _, c := range claimed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := w.Process(pctx, c)
				mu.Lock()
				inflight--
				switch {
				case out.Status == store.StatusCompleted && out.Created:
					st.Completed++
				case out.Status == store.StatusCompleted:
					st.Existing++
				case out.Status == store.StatusFailed:
					st.Failed++
				case out.Status == store.StatusPending:
					st.Released++
				}
				if out.EngineDown && engine == nil {
					engine = out.Err
				}
				if out.EngineDown && !o.UntilDone {
					pause = time.Now().Add(time.Minute)
					w.log.ErrorContext(ctx, "the engine is failing every contact; claiming paused for a minute", "error", out.Err)
				}
				mu.Unlock()
				if o.OnDone != nil {
					o.OnDone(out)
				}
				signal()
			}()
		}
		if len(claimed) > 0 {
			continue
		}
		// Nothing claimable now. With nothing in flight, a contact still
		// enriching under our name is a claim whose reply was lost with a
		// connection: give it back and claim again.
		mu.Lock()
		idle := inflight == 0
		mu.Unlock()
		if idle {
			var n int
			if err := w.retryDB(ctx, "release orphans", func(ctx context.Context) error {
				var err error
				n, err = w.st.ReleaseOrphans(ctx)
				return err
			}); err == nil && n > 0 {
				w.log.WarnContext(ctx, "gave back contacts whose claim reply was lost", "contacts", n)
				continue
			}
		}
		if !o.UntilDone {
			if !wait(o.Poll) {
				break
			}
			continue
		}
		mu.Lock()
		busy := inflight > 0
		mu.Unlock()
		if busy {
			if !wait(o.Poll) {
				break
			}
			continue
		}
		var c store.Counts
		err = w.retryDB(ctx, "count", func(ctx context.Context) error {
			var err error
			c, err = w.st.BatchCounts(ctx, o.BatchID, w.StaleAfter())
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			st.Wall = time.Since(start)
			return st, err
		}
		if c.Waiting == 0 && c.Pending == 0 {
			break // done here; rows still enriching belong to other workers
		}
		d := o.Poll
		if !c.NextRetry.IsZero() {
			d = min(max(time.Until(c.NextRetry), 10*time.Millisecond), o.Poll)
		}
		if !wait(d) {
			break
		}
	}
	wg.Wait()
	st.Wall = time.Since(start)
	if engine != nil && o.UntilDone {
		return st, fmt.Errorf("the engine failed (contacts in flight were given back): %w", engine)
	}
	return st, ctx.Err()
}
