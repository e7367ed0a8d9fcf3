package export

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/kaleads/kaleads/shared/slack"
	"github.com/kaleads/kaleads/shared/store"
)

// SlackNotifier posts a client's export notifications to the Slack
// incoming webhook the client configured (none: nothing is posted). One
// slack.Client per webhook keeps the webhook's 1 message/s spacing.
type SlackNotifier struct {
	Store *store.Store
	Log   *slog.Logger
	HTTP  *http.Client // nil: the slack package's default

	mu      sync.Mutex
	clients map[string]*slack.Client
}

// NewSlackNotifier returns a notifier reading the webhooks from st.
func NewSlackNotifier(st *store.Store, log *slog.Logger) *SlackNotifier {
	return &SlackNotifier{Store: st, Log: log}
}

// post sends m to the client's webhook, if it has one.
func (n *SlackNotifier) post(ctx context.Context, clientID string, m slack.Message) error {
	cfg, err := n.Store.Notifications(ctx, clientID)
	if err != nil || cfg.SlackWebhookURL == "" {
		return err
	}
	n.mu.Lock()
	c := n.clients[cfg.SlackWebhookURL]
	if c == nil {
		if c, err = slack.New(cfg.SlackWebhookURL, slack.Options{HTTP: n.HTTP, Logger: n.Log}); err == nil {
			if n.clients == nil {
				n.clients = map[string]*slack.Client{}
			}
			n.clients[cfg.SlackWebhookURL] = c
		}
	}
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("client %s: %w", clientID, err)
	}
	return c.Post(ctx, m)
}

func exportInfo(r Report) slack.ExportInfo {
	reasons := r.HeldReasons()
	for _, h := range r.Refused {
		reasons[h.Reason]++
	}
	for k, v := range r.Reasons {
		reasons[k] += v
	}
	return slack.ExportInfo{Client: r.Client, Destination: r.Destination, CampaignID: r.CampaignID, CampaignName: r.CampaignName,
		Sent: len(r.Sent), Skipped: len(r.Refused) + len(r.Unconfirmed), HeldBack: len(r.Held), Reasons: reasons, DryRun: r.DryRun}
}

// ExportDone implements Notifier; it also says how many emails wait for
// a review.
func (n *SlackNotifier) ExportDone(ctx context.Context, clientID string, r Report) error {
	if err := n.post(ctx, clientID, slack.ExportDone(exportInfo(r))); err != nil {
		return err
	}
	return n.Waiting(ctx, clientID, r.Client, r.WaitingReview)
}

// ExportFailed implements Notifier.
func (n *SlackNotifier) ExportFailed(ctx context.Context, clientID string, r Report, err error) error {
	return n.post(ctx, clientID, slack.ExportFailed(exportInfo(r), err))
}

// Waiting tells the client's channel how many emails wait for a review
// (nothing when none do).
func (n *SlackNotifier) Waiting(ctx context.Context, clientID, client string, waiting int) error {
	if waiting == 0 {
		return nil
	}
	cfg, err := n.Store.Notifications(ctx, clientID)
	if err != nil || cfg.SlackWebhookURL == "" {
		return err
	}
	return n.post(ctx, clientID, slack.HeldForReview(slack.HeldInfo{Client: client, Waiting: waiting, ReviewURL: cfg.ReviewURL}))
}

// Batches announces the finished upload batches (counts, auto-approved and
// held emails, quality, cost, the review link) to the clients' Slack
// webhooks, each at most once, and returns how many it announced. A batch
// of a client without a webhook is marked too, so it is not looked at
// again.
func (n *SlackNotifier) Batches(ctx context.Context) (int, error) {
	done, err := n.Store.FinishedBatches(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, b := range done {
		first, err := n.Store.MarkBatchNotified(ctx, b.BatchID, b.ClientID)
		if err != nil {
			return sent, err
		}
		if !first {
			continue
		}
		cfg, err := n.Store.Notifications(ctx, b.ClientID)
		if err != nil {
			return sent, err
		}
		if cfg.SlackWebhookURL == "" {
			continue
		}
		m := slack.BatchGenerated(slack.BatchInfo{Client: b.Client, BatchID: b.BatchID, Total: b.Total, Completed: b.Completed,
			Failed: b.Failed, AutoApproved: b.AutoApproved, Held: b.Held, AvgQuality: b.AvgQuality, CostUSD: b.CostUSD, ReviewURL: cfg.ReviewURL})
		if err := n.post(ctx, b.ClientID, m); err != nil {
			n.log().WarnContext(ctx, "batch notification failed", "batch", b.BatchID, "client", b.Client, "error", err)
			continue
		}
		sent++
	}
	return sent, nil
}

func (n *SlackNotifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Log
}
