// Package sweepfn wires the sweep Lambda: on its schedule, stale claims go
// back to pending and pending contacts nobody picked up are sent to the
// queue again (see shared/sweep), and finished batches are announced on
// the clients' Slack webhooks.
package sweepfn

import (
	"context"
	"encoding/json"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/functions/internal/storesetup"
	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/queue/sqsqueue"
	"github.com/kaleads/kaleads/shared/sweep"
)

// Handler is the sweep Lambda's handler type.
type Handler = func(context.Context, json.RawMessage) (sweep.Report, error)

// New reads DATABASE_URL or DATABASE_URL_SECRET_ARN and KALEADS_QUEUE_URL,
// opens the store and returns the scheduled handler. The sweeper's
// StaleAfter default (8 minutes) exceeds the generate function's timeout
// (300 s in template.yaml), so a contact still being processed is never
// taken from its worker.
func New(ctx context.Context, env setup.Env, opts ...setup.Option) (Handler, *setup.Setup, error) {
	ctx, cancel := context.WithTimeout(ctx, setup.InitTimeout)
	defer cancel()
	s, err := setup.New(ctx, env, opts...)
	if err != nil {
		return nil, nil, err
	}
	queueURL, err := s.Required(setup.EnvQueueURL)
	if err != nil {
		return nil, s, err
	}
	st, err := storesetup.Open(ctx, s)
	if err != nil {
		return nil, s, err
	}
	sw, err := sweep.New(sweep.Config{Store: st, Queue: sqsqueue.New(s.SQS(), queueURL), Log: s.Log})
	if err != nil {
		st.Close()
		return nil, s, err
	}
	notify := export.NewSlackNotifier(st, s.Log)
	sweepOnce := sw.Handler()
	return func(ctx context.Context, raw json.RawMessage) (sweep.Report, error) {
		rep, err := sweepOnce(ctx, raw)
		// Finished batches are announced on Slack from here too: the sweep
		// is the schedule that runs every few minutes.
		if n, nerr := notify.Batches(ctx); nerr != nil {
			s.Log.WarnContext(ctx, "batch notifications failed", "error", nerr)
		} else if n > 0 {
			s.Log.InfoContext(ctx, "batches announced on Slack", "batches", n)
		}
		return rep, err
	}, s, nil
}
