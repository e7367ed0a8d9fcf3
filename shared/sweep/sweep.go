// Package sweep recovers contacts the event path lost: contacts left
// enriching by a worker that died or timed out go back to pending (or to
// failed once they used their attempts), and — where a queue feeds the
// workers — pending contacts whose webhook or message never arrived
// (pg_net does not retry) are sent to the queue again. It runs from the
// sweep Lambda's schedule and from `kaleads serve`'s scheduler, and links
// neither the scraper nor an LLM client.
package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// Enqueuer sends contact ids to the workers' queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, contactIDs ...string) error
}

// Config of a Sweeper.
type Config struct {
	Store *store.Store
	// Queue, when set, receives pending contacts nobody picked up; nil
	// where workers claim pending rows themselves (serve).
	Queue Enqueuer
	// StaleAfter: an enriching contact claimed longer ago is abandoned.
	// Size it to the worker's per-contact deadline (worker.StaleAfter).
	// Default 8 minutes.
	StaleAfter time.Duration
	// LostAfter: a pending contact untouched for longer is sent again.
	// Default 2 minutes.
	LostAfter time.Duration
	// MaxAttempts: a stale contact that had this many claims is failed.
	// Default store.DefaultMaxAttempts.
	MaxAttempts int
	// Limit bounds the contacts sent again per run. Default 1000.
	Limit int
	Log   *slog.Logger
}

// Sweeper runs sweeps.
type Sweeper struct{ cfg Config }

// New returns a Sweeper.
func New(cfg Config) (*Sweeper, error) {
	if cfg.Store == nil {
		return nil, errors.New("sweep: a store is required")
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 8 * time.Minute
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = 2 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = store.DefaultMaxAttempts
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 1000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{cfg: cfg}, nil
}

// Report says what one sweep did: each number counts rows this sweep
// changed or sent, so two sweeps never count the same recovery twice.
type Report struct {
	Requeued int `json:"requeued"` // stale enriching contacts back to pending
	Failed   int `json:"failed"`   // stale contacts failed after their attempts
	Resent   int `json:"resent"`   // pending contacts sent to the queue again
}

// Run sweeps once.
func (s *Sweeper) Run(ctx context.Context) (Report, error) {
	var rep Report
	sw, err := s.cfg.Store.Sweep(ctx, s.cfg.StaleAfter, s.cfg.MaxAttempts)
	if err != nil {
		return rep, err
	}
	rep.Requeued, rep.Failed = sw.Requeued, sw.Failed
	if s.cfg.Queue != nil {
		ids, err := s.cfg.Store.Resend(ctx, s.cfg.LostAfter, s.cfg.Limit)
		if err != nil {
			return rep, err
		}
		if len(ids) > 0 {
			if err := s.cfg.Queue.Enqueue(ctx, ids...); err != nil {
				// They stay pending and are tried again by a later sweep.
				return rep, err
			}
		}
		rep.Resent = len(ids)
	}
	if rep != (Report{}) {
		s.cfg.Log.InfoContext(ctx, "sweep", "requeued", rep.Requeued, "failed", rep.Failed, "resent", rep.Resent)
	}
	return rep, nil
}

// Handler is the sweep Lambda's handler; the scheduled event's payload is
// ignored.
func (s *Sweeper) Handler() func(context.Context, json.RawMessage) (Report, error) {
	return func(ctx context.Context, _ json.RawMessage) (Report, error) { return s.Run(ctx) }
}
