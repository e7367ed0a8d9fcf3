package export

import (
	"cmp"
	"context"
	"errors"
	"time"
	_ "time/tzdata" // the Lambda image may have no zoneinfo

	"github.com/kaleads/kaleads/shared/store"
)

// The daily export slot: 14:00 in Paris, as in the plan.
const (
	SlotHour = 14
	SlotZone = "Europe/Paris"
)

var paris = func() *time.Location {
	loc, err := time.LoadLocation(SlotZone)
	if err != nil {
		panic(err) // time/tzdata is embedded: cannot happen
	}
	return loc
}()

// NextSlot is the first daily slot strictly after now.
func NextSlot(now time.Time) time.Time {
	t := now.In(paris)
	slot := time.Date(t.Year(), t.Month(), t.Day(), SlotHour, 0, 0, 0, paris)
	if !slot.After(t) {
		slot = time.Date(t.Year(), t.Month(), t.Day()+1, SlotHour, 0, 0, 0, paris)
	}
	return slot
}

// Outcome is one client's part of a scheduled export.
type Outcome struct {
	Client string
	Report Report
	Err    error
}

// Scheduled runs the configured exports of every client that set a
// destination: the daily slot (atOnce false: all approved emails), or the
// full phase's "at once" pass (atOnce true: the auto-approved emails of
// the clients in the full phase that chose it). A client whose export is
// already running is skipped (ErrBusy in its outcome); one client's
// failure does not stop the others. At the daily slot a client with
// nothing to send but emails waiting for review is told so.
func (x *Exporter) Scheduled(ctx context.Context, atOnce bool) ([]Outcome, error) {
	clients, err := x.cfg.Store.ClientsToExport(ctx)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, ce := range clients {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		s := ce.Settings
		if atOnce {
			if !s.AtOnce {
				continue
			}
			a, err := x.cfg.Store.Automation(ctx, ce.Client.ID)
			if err != nil {
				out = append(out, Outcome{Client: ce.Client.Name, Err: err})
				continue
			}
			if a.Phase != store.PhaseFull {
				continue
			}
		}
		req := Request{ClientID: ce.Client.ID, ClientName: ce.Client.Name, Destination: s.Destination,
			CampaignID: s.CampaignID, CampaignName: cmp.Or(s.CampaignName, s.CampaignID), Format: cmp.Or(s.CSVFormat, "smartlead"), OnlyAuto: atOnce}
		rep, err := x.Run(ctx, req)
		o := Outcome{Client: ce.Client.Name, Report: rep, Err: err}
		out = append(out, o)
		switch {
		case errors.Is(err, ErrBusy):
			x.cfg.Log.InfoContext(ctx, "export: skipped, another export of the client is running", "client", ce.Client.Name)
		case err != nil:
			x.cfg.Log.ErrorContext(ctx, "export failed", "client", ce.Client.Name, "destination", s.Destination, "error", err)
		default:
			x.cfg.Log.InfoContext(ctx, "export done", "client", ce.Client.Name, "destination", s.Destination, "campaign", rep.CampaignID,
				"sent", len(rep.Sent), "held", len(rep.Held), "refused", len(rep.Refused), "unconfirmed", len(rep.Unconfirmed),
				"reconciled", rep.Reconciled, "waiting_review", rep.WaitingReview, "requests", rep.Requests)
			if !atOnce && len(rep.Sent) == 0 && x.cfg.Notify != nil {
				if nerr := x.cfg.Notify.Waiting(ctx, ce.Client.ID, ce.Client.Name, rep.WaitingReview); nerr != nil {
					x.cfg.Log.WarnContext(ctx, "export: notification failed", "client", ce.Client.Name, "error", nerr)
				}
			}
		}
	}
	return out, nil
}
