package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/store"
)

// ExportRequest is the body of POST /api/v1/exports. Every field is
// optional: the destination and campaign default to the client's
// configured ones.
type ExportRequest struct {
	Destination  string `json:"destination"` // smartlead or instantly
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	DryRun       bool   `json:"dry_run"`
	OnlyAuto     bool   `json:"only_auto"` // the auto-approved emails only
	Limit        int    `json:"limit"`     // at most this many approved emails, oldest first (0 or more than MaxExport: MaxExport)
}

// MaxExport bounds the emails one call exports, so that it answers within
// the request timeouts (Smartlead takes about 50 requests of 100 leads a
// minute); the daily export has no bound. Call again for the rest.
const MaxExport = 1000

// ExportTimeout bounds one call: an export cut short is reconciled by the
// next one (nothing is sent twice).
const ExportTimeout = 5 * time.Minute

// ExportItem is an email of an export, with why it was held back, refused
// or left unconfirmed.
type ExportItem struct {
	EmailID string `json:"email_id"`
	Address string `json:"address"`
	Company string `json:"company"`
	Score   int    `json:"score"`
	Reason  string `json:"reason,omitempty"`
}

// ExportReport answers POST /api/v1/exports.
type ExportReport struct {
	DryRun       bool   `json:"dry_run"`
	Destination  string `json:"destination"`
	CampaignID   string `json:"campaign_id"`
	CampaignName string `json:"campaign_name"`
	// Sent: confirmed by the sequencer (dry run: would go). Reconciled:
	// sends of an earlier run confirmed now. Held: kept back by the safety
	// gate; Refused: refused by the sequencer; Unconfirmed: sent without a
	// confirmation yet (the next export looks them up first).
	Sent          []ExportItem `json:"sent"`
	Reconciled    int          `json:"reconciled"`
	Held          []ExportItem `json:"held"`
	Refused       []ExportItem `json:"refused"`
	Unconfirmed   []ExportItem `json:"unconfirmed"`
	WaitingReview int          `json:"waiting_review"`
	Requests      int          `json:"requests"`
}

// Error codes of the exports route.
const (
	codeExportRunning = "export_running" // 409: another export of the client holds its lock
	codeExportFailed  = "export_failed"  // 502: the sequencer failed; what went is recorded
)

func exportItems[T export.Item | export.Held](in []T) []ExportItem {
	out := make([]ExportItem, 0, len(in))
	for _, v := range in {
		switch x := any(v).(type) {
		case export.Item:
			out = append(out, ExportItem{EmailID: x.EmailID, Address: x.Address, Company: x.Company, Score: x.Score})
		case export.Held:
			out = append(out, ExportItem{EmailID: x.EmailID, Address: x.Address, Company: x.Company, Score: x.Score, Reason: x.Reason})
		}
	}
	return out
}

// createExport is POST /api/v1/exports: the key's client's approved emails
// to its sequencer, through the same safety gate and ledger as `kaleads
// export` (dry_run: what would go, changing nothing).
func (h *handler) createExport(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	if h.cfg.Export == nil {
		writeError(w, http.StatusNotImplemented, codeNotImplemented, "exports are not configured on this server")
		return
	}
	var req ExportRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	req.Destination = strings.TrimSpace(req.Destination)
	switch {
	case req.Destination != "" && !slices.Contains([]string{store.DestSmartlead, store.DestInstantly}, req.Destination):
		writeError(w, http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf(`"destination" %q: want smartlead or instantly (csv files come from the CLI or the daily export)`, clip(req.Destination, 40)))
		return
	case req.Limit < 0:
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `"limit" must not be negative`)
		return
	case len(req.CampaignID) > 100 || len(req.CampaignName) > 300:
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `"campaign_id" or "campaign_name" is too long`)
		return
	}
	if req.Limit == 0 || req.Limit > MaxExport {
		req.Limit = MaxExport
	}
	// A sequencer at its rate limit takes its time: the answer may come
	// after the server's usual write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(ExportTimeout))
	ctx, cancel := context.WithTimeout(r.Context(), ExportTimeout)
	defer cancel()
	rep, err := h.cfg.Export(ctx, k.ClientID, export.Request{Destination: req.Destination, CampaignID: strings.TrimSpace(req.CampaignID),
		CampaignName: strings.TrimSpace(req.CampaignName), DryRun: req.DryRun, OnlyAuto: req.OnlyAuto, Limit: req.Limit})
	switch {
	case errors.Is(err, export.ErrBusy):
		writeError(w, http.StatusConflict, codeExportRunning, "another export of this client is running: retry when it is done")
		return
	case errors.Is(err, export.ErrBadRequest):
		writeError(w, http.StatusBadRequest, codeInvalidRequest, strings.TrimPrefix(err.Error(), export.ErrBadRequest.Error()+": "))
		return
	case errors.Is(err, sequencer.ErrPermanent) || errors.Is(err, sequencer.ErrRetryable):
		writeErrorDetails(w, http.StatusBadGateway, codeExportFailed, err.Error(),
			map[string]any{"sent": len(rep.Sent), "unconfirmed": len(rep.Unconfirmed)})
		return
	case err != nil:
		h.storeError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, ExportReport{DryRun: rep.DryRun, Destination: rep.Destination, CampaignID: rep.CampaignID,
		CampaignName: rep.CampaignName, Sent: exportItems(rep.Sent), Reconciled: rep.Reconciled, Held: exportItems(rep.Held),
		Refused: exportItems(rep.Refused), Unconfirmed: exportItems(rep.Unconfirmed), WaitingReview: rep.WaitingReview, Requests: rep.Requests})
}
