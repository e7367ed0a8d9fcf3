// Package export sends a client's approved emails to a sequencer
// (Smartlead, Instantly) or into a CSV import file, once and only once.
//
// Every run goes through the same steps, under the client's export lock:
//  1. reconcile: the ledger's pending rows (an earlier run recorded the
//     intent but not the confirmation: it crashed, or a call timed out
//     after the sequencer accepted) are looked up in the campaign, or the
//     file checked; what is there is confirmed, without a second send;
//  2. plan: the safety gate holds back, with the reason, an address
//     already in the campaign, an excluded domain or address, a domain past
//     its daily cap, an address refused before, an email without a usable
//     address or text;
//  3. send, batch by batch: the ledger records the intent (pending), then
//     the call is made;
//  4. confirm: what the sequencer lists in the campaign (or the file
//     written) becomes sent, with the lead id, and so does its email
//     (review status sent, sent_at, campaign id and name); what it refused
//     becomes failed with the reason; what it neither listed nor refused
//     stays pending for the next run, and is given up after MaxAttempts.
//
// A dry run does steps 2 and reports exactly what would go and what is
// held back, changing nothing.
package export

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer"
	"github.com/kaleads/kaleads/shared/sequencer/csvexport"
	"github.com/kaleads/kaleads/shared/store"
)

// ErrBadRequest: the request or its settings are wrong (unknown
// destination, no campaign, bad file name...).
var ErrBadRequest = errors.New("bad export request")

// ErrBusy: another export of the client holds the lock.
var ErrBusy = store.ErrBusy

// Notifier hears about finished exports (Slack). Errors are logged, never
// returned to the export.
type Notifier interface {
	ExportDone(ctx context.Context, clientID string, r Report) error
	ExportFailed(ctx context.Context, clientID string, r Report, err error) error
	// Waiting says how many of the client's emails wait for a review.
	Waiting(ctx context.Context, clientID, client string, waiting int) error
}

// Config is what an Exporter needs. Sequencers maps a destination
// (smartlead, instantly) to its client; Files is where csv exports go
// (nil: csv exports need Request.Out).
type Config struct {
	Store      *store.Store
	Sequencers map[string]Sequencer
	Files      Sink
	Notify     Notifier
	Log        *slog.Logger
	Now        func() time.Time
	// MaxAttempts: an email whose sends were never confirmed is given up
	// (failed) after this many (default 3).
	MaxAttempts int
}

// Exporter runs exports.
type Exporter struct{ cfg Config }

// New checks cfg and returns an Exporter.
func New(cfg Config) (*Exporter, error) {
	if cfg.Store == nil {
		return nil, errors.New("export: a store is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	return &Exporter{cfg: cfg}, nil
}

// Request is one export of one client.
type Request struct {
	ClientID   string
	ClientName string
	// Destination: smartlead, instantly or csv.
	Destination string
	// CampaignID: the sequencer campaign; CreateCampaign: the name of a
	// campaign to create instead (with the plan's sequence).
	CampaignID, CampaignName, CreateCampaign string
	// Format (csv): smartlead, instantly or lemlist; Out (csv): the file to
	// write (else a name in Config.Files).
	Format, Out string
	DryRun      bool
	// OnlyAuto exports the auto-approved emails only (the full phase's
	// "at once" export).
	OnlyAuto bool
	// Limit bounds the emails considered (0: all).
	Limit int
	// Wait for another export of the client to finish instead of
	// returning ErrBusy.
	Wait bool
	// DomainDailyCap overrides the client's cap (0: the client's).
	DomainDailyCap int
}

// Report says what an export did (or, dry, would do).
type Report struct {
	RunID        string
	Client       string
	Destination  string
	CampaignID   string
	CampaignName string
	Created      bool // the campaign was created by this run
	DryRun       bool
	// Sent lists the emails confirmed by this run (dry: those that would
	// go); Reconciled counts those among them confirmed from an earlier
	// run's unconfirmed send.
	Sent       []Item
	Reconciled int
	// Held lists the emails held back by the safety gate, Refused those the
	// destination refused, Unconfirmed those sent but not confirmed (left
	// pending for the next run).
	Held        []Held
	Refused     []Held
	Unconfirmed []Held
	// WaitingReview counts the client's emails still waiting for a review.
	WaitingReview int
	Requests      int            // HTTP attempts made to the sequencer
	Reasons       map[string]int // skip reasons the sequencer reported
	Location      string         // csv: where the file went
	Took          time.Duration
}

// HeldReasons counts the held-back emails by reason kind (the reason up to
// its first colon).
func (r Report) HeldReasons() map[string]int {
	m := map[string]int{}
	for _, h := range r.Held {
		k, _, _ := strings.Cut(h.Reason, ":")
		k, _, _ = strings.Cut(k, " (")
		m[k]++
	}
	return m
}

// RunConfigured exports the approved emails of the client with this id,
// taking from the client's settings what req leaves empty: the
// destination, and for it the campaign (id and name) or the csv format.
func (x *Exporter) RunConfigured(ctx context.Context, clientID string, req Request) (Report, error) {
	c, err := x.cfg.Store.ClientByID(ctx, clientID)
	if err != nil {
		return Report{}, err
	}
	s, err := x.cfg.Store.ExportSettings(ctx, clientID)
	if err != nil {
		return Report{}, err
	}
	req.ClientID, req.ClientName = c.ID, c.Name
	if req.Destination == "" {
		if s.Destination == "" {
			return Report{Client: c.Name}, fmt.Errorf("%w: %s has no configured destination: name one (or configure it with `kaleads client export %s --to …`)", ErrBadRequest, c.Name, c.Name)
		}
		req.Destination = s.Destination
	}
	if req.Destination == s.Destination && req.CampaignID == "" && req.CreateCampaign == "" {
		req.CampaignID = s.CampaignID
		req.CampaignName = cmp.Or(req.CampaignName, s.CampaignName)
	}
	req.CampaignName = cmp.Or(req.CampaignName, req.CampaignID)
	if req.Destination == store.DestCSV {
		req.Format = cmp.Or(req.Format, cmp.Or(s.CSVFormat, "smartlead"))
	}
	return x.Run(ctx, req)
}

// Run exports one client's approved emails.
func (x *Exporter) Run(ctx context.Context, req Request) (rep Report, err error) {
	start := time.Now()
	rep = Report{RunID: newRunID(), Client: req.ClientName, Destination: req.Destination, DryRun: req.DryRun,
		CampaignID: req.CampaignID, CampaignName: req.CampaignName, Reasons: map[string]int{}}
	defer func() {
		rep.Took = time.Since(start)
		if req.DryRun || x.cfg.Notify == nil || errors.Is(err, ErrBusy) || (err == nil && len(rep.Sent) == 0 && len(rep.Refused) == 0) {
			return
		}
		nctx := context.WithoutCancel(ctx)
		if err != nil {
			if nerr := x.cfg.Notify.ExportFailed(nctx, req.ClientID, rep, err); nerr != nil {
				x.cfg.Log.WarnContext(ctx, "export: notification failed", "error", nerr)
			}
		} else if nerr := x.cfg.Notify.ExportDone(nctx, req.ClientID, rep); nerr != nil {
			x.cfg.Log.WarnContext(ctx, "export: notification failed", "error", nerr)
		}
	}()
	var seq Sequencer
	switch req.Destination {
	case store.DestSmartlead, store.DestInstantly:
		if seq = x.cfg.Sequencers[req.Destination]; seq == nil {
			return rep, fmt.Errorf("%w: no %s client configured (set %s)", ErrBadRequest, req.Destination, keyEnv[req.Destination])
		}
		if req.CampaignID == "" && req.CreateCampaign == "" {
			return rep, fmt.Errorf("%w: %s needs a campaign id (--campaign) or a campaign to create (--create-campaign)", ErrBadRequest, req.Destination)
		}
		if req.CampaignID != "" && req.CreateCampaign != "" {
			return rep, fmt.Errorf("%w: give a campaign id or a campaign to create, not both", ErrBadRequest)
		}
		if cc, ok := seq.(campaignChecker); ok && req.CampaignID != "" {
			if err := cc.CheckCampaign(req.CampaignID); err != nil {
				return rep, err
			}
		}
	case store.DestCSV:
		if !slices.Contains(csvexport.Formats(), req.Format) {
			return rep, fmt.Errorf("%w: csv format %q (known: %s)", ErrBadRequest, req.Format, strings.Join(csvexport.Formats(), ", "))
		}
		if req.Out == "" && x.cfg.Files == nil && !req.DryRun {
			return rep, fmt.Errorf("%w: csv export needs an output file", ErrBadRequest)
		}
	default:
		return rep, fmt.Errorf("%w: destination %q (known: smartlead, instantly, csv)", ErrBadRequest, req.Destination)
	}
	if !req.DryRun {
		unlock, err := x.cfg.Store.LockExport(ctx, req.ClientID, req.Wait)
		if err != nil {
			return rep, err
		}
		defer unlock()
	}
	settings, err := x.cfg.Store.ExportSettings(ctx, req.ClientID)
	if err != nil {
		return rep, err
	}
	domainCap := settings.DomainDailyCap
	if req.DomainDailyCap > 0 {
		domainCap = req.DomainDailyCap
	}

	if seq != nil && req.CreateCampaign != "" {
		if req.DryRun {
			rep.CampaignName = req.CreateCampaign + " (to be created)"
		} else {
			id, err := seq.CreateCampaign(ctx, req.CreateCampaign)
			if err != nil {
				if id != "" {
					return rep, fmt.Errorf("export: campaign %s created but its sequence was not saved (fix it in %s, then export with --campaign %s): %w", id, req.Destination, id, err)
				}
				if sequencer.IsUnknownOutcome(err) {
					return rep, fmt.Errorf("export: creating campaign %q: the outcome is unknown; check %s for it before creating it again: %w", req.CreateCampaign, req.Destination, err)
				}
				return rep, fmt.Errorf("export: creating campaign %q: %w", req.CreateCampaign, err)
			}
			rep.CampaignID, rep.CampaignName, rep.Created = id, req.CreateCampaign, true
			if settings.Destination == "" || settings.Destination == req.Destination {
				settings.Destination, settings.CampaignID, settings.CampaignName = req.Destination, id, req.CreateCampaign
				if err := x.cfg.Store.SetExportSettings(ctx, req.ClientID, settings); err != nil {
					x.cfg.Log.WarnContext(ctx, "export: campaign created but not saved as the client's", "campaign", id, "error", err)
				}
			}
		}
	}

	if !req.DryRun {
		if err := x.reconcile(ctx, req, seq, &rep); err != nil {
			return rep, err
		}
	}
	cands, waiting, err := x.cfg.Store.ExportCandidates(ctx, req.ClientID, req.Destination, rep.CampaignID, req.Limit, req.OnlyAuto)
	if err != nil {
		return rep, err
	}
	rep.WaitingReview = waiting
	exList, err := x.cfg.Store.Exclusions(ctx, req.ClientID)
	if err != nil {
		return rep, err
	}
	used, err := x.cfg.Store.DomainCounts(ctx, req.ClientID, rep.CampaignID, x.cfg.Now().Add(-24*time.Hour))
	if err != nil {
		return rep, err
	}
	send, held, giveUp := plan(cands, rep.CampaignID, newExclusions(exList), used, domainCap, x.cfg.MaxAttempts)
	rep.Held = held
	if req.DryRun {
		for _, c := range send {
			rep.Sent = append(rep.Sent, itemOf(c))
		}
		return rep, nil
	}
	if len(giveUp) > 0 {
		fails := make([]store.Failure, len(giveUp))
		for i, c := range giveUp {
			fails[i] = store.Failure{EmailID: c.EmailID, Reason: fmt.Sprintf("not confirmed after %d attempts: %s", c.LedgerAttempts, c.LedgerError)}
		}
		if err := x.cfg.Store.FailExports(ctx, req.Destination, fails, true); err != nil {
			return rep, err
		}
	}
	if seq == nil {
		return rep, x.writeFile(ctx, req, send, &rep)
	}
	return rep, x.send(ctx, req, seq, send, &rep)
}

// send records the intents and adds the leads batch by batch, then
// confirms from the campaign's listing.
func (x *Exporter) send(ctx context.Context, req Request, seq Sequencer, send []store.ExportCandidate, rep *Report) error {
	if len(send) == 0 {
		return nil
	}
	byAddr := map[string]store.ExportCandidate{} // sent and not refused
	byID := map[string]store.ExportCandidate{}
	var sendErr error
	var ids = map[string]string{}
	var sent []store.ExportCandidate
	for _, rg := range sequencer.Chunk(len(send), max(1, seq.BatchSize())) {
		batch := send[rg[0]:rg[1]]
		intents := make([]store.Intent, len(batch))
		leads := make([]sequencer.Lead, len(batch))
		for i, c := range batch {
			intents[i] = intentOf(c)
			leads[i] = leadOf(c)
			byAddr[c.Address], byID[c.EmailID] = c, c
		}
		if err := x.cfg.Store.RecordIntents(ctx, req.ClientID, rep.RunID, req.Destination, rep.CampaignID, rep.CampaignName, intents); err != nil {
			sendErr = err
			break
		}
		sent = append(sent, batch...)
		added, err := seq.AddLeads(ctx, rep.CampaignID, leads)
		rep.Requests += added.Requests
		maps.Copy(ids, added.IDs)
		for k, v := range added.Reasons {
			rep.Reasons[k] += v
		}
		if len(added.Refused) > 0 {
			var fails []store.Failure
			for addr, why := range added.Refused {
				if c, ok := byAddr[addr]; ok {
					fails = append(fails, store.Failure{EmailID: c.EmailID, Reason: why})
					rep.Refused = append(rep.Refused, Held{itemOf(c), why})
					delete(byAddr, addr)
				}
			}
			if ferr := x.cfg.Store.FailExports(ctx, req.Destination, fails, true); ferr != nil {
				sendErr = ferr
				break
			}
		}
		if err != nil {
			sendErr = fmt.Errorf("export: %s: %w", req.Destination, err)
			break
		}
	}
	// Confirm what went: the ids the responses gave, else the listing.
	var confs []store.Confirmation
	var unsure []store.ExportCandidate
	for _, c := range sent {
		if _, present := byAddr[c.Address]; !present {
			continue // refused
		}
		if id := ids[c.Address]; id != "" {
			confs = append(confs, store.Confirmation{EmailID: c.EmailID, LeadID: id})
		} else {
			unsure = append(unsure, c)
		}
	}
	if len(unsure) > 0 {
		listed, n, lerr := seq.CampaignLeads(ctx, rep.CampaignID)
		rep.Requests += n
		var fails []store.Failure
		for _, c := range unsure {
			if id, ok := listed[c.Address]; ok {
				confs = append(confs, store.Confirmation{EmailID: c.EmailID, LeadID: id})
			} else {
				why := "not found in the campaign after the upload"
				if lerr != nil {
					why = "could not list the campaign to confirm: " + lerr.Error()
				} else if sendErr != nil {
					why = "outcome unknown: " + sendErr.Error()
				}
				fails = append(fails, store.Failure{EmailID: c.EmailID, Reason: why})
				rep.Unconfirmed = append(rep.Unconfirmed, Held{itemOf(c), why})
			}
		}
		if err := x.cfg.Store.FailExports(ctx, req.Destination, fails, false); err != nil {
			return errors.Join(sendErr, err)
		}
		if lerr != nil && sendErr == nil {
			sendErr = fmt.Errorf("export: %s: confirming: %w", req.Destination, lerr)
		}
	}
	if err := x.cfg.Store.ConfirmExports(ctx, req.Destination, rep.CampaignID, rep.CampaignName, confs, x.cfg.Now()); err != nil {
		return errors.Join(sendErr, err)
	}
	for _, c := range confs {
		rep.Sent = append(rep.Sent, itemOf(byID[c.EmailID]))
	}
	return sendErr
}

// reconcile looks the ledger's pending rows up in their campaign (or
// checks their file) and confirms those that arrived. The others stay
// pending: the plan sends them again (the sequencer's dedupe makes that
// safe), or gives them up after MaxAttempts.
func (x *Exporter) reconcile(ctx context.Context, req Request, seq Sequencer, rep *Report) error {
	pending, err := x.cfg.Store.PendingExports(ctx, req.ClientID, req.Destination)
	if err != nil {
		return err
	}
	for camp, rows := range pending {
		var confs []store.Confirmation
		if seq == nil {
			ok, err := x.fileExists(ctx, camp)
			if err != nil {
				return fmt.Errorf("export: reconciling %s: %w", camp, err)
			}
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = r.EmailID
				confs = append(confs, store.Confirmation{EmailID: r.EmailID})
			}
			if !ok {
				// The file was never written: the intents are void.
				if err := x.cfg.Store.DropIntents(ctx, store.DestCSV, ids); err != nil {
					return err
				}
				continue
			}
		} else {
			if camp == "" {
				continue
			}
			listed, n, err := seq.CampaignLeads(ctx, camp)
			rep.Requests += n
			if err != nil {
				return fmt.Errorf("export: reconciling campaign %s: %w", camp, err)
			}
			for _, r := range rows {
				if id, ok := listed[r.Address]; ok {
					confs = append(confs, store.Confirmation{EmailID: r.EmailID, LeadID: id})
				}
			}
		}
		if len(confs) == 0 {
			continue
		}
		name := camp
		if camp == rep.CampaignID && rep.CampaignName != "" {
			name = rep.CampaignName
		}
		if seq == nil {
			name = path.Base(camp)
		}
		if err := x.cfg.Store.ConfirmExports(ctx, req.Destination, camp, name, confs, x.cfg.Now()); err != nil {
			return err
		}
		rep.Reconciled += len(confs)
		x.cfg.Log.InfoContext(ctx, "export: reconciled unconfirmed sends", "client", req.ClientName, "campaign", camp, "confirmed", len(confs), "pending", len(rows))
	}
	return nil
}

func (x *Exporter) fileExists(ctx context.Context, location string) (bool, error) {
	if x.cfg.Files != nil {
		return x.cfg.Files.Exists(ctx, location)
	}
	return Dir("").Exists(ctx, location)
}

// writeFile writes the csv import file: intents recorded (the file's
// location as the campaign), the file stored atomically, then confirmed.
func (x *Exporter) writeFile(ctx context.Context, req Request, send []store.ExportCandidate, rep *Report) error {
	if len(send) == 0 {
		return nil
	}
	leads := make([]sequencer.Lead, len(send))
	for i, c := range send {
		leads[i] = leadOf(c)
		leads[i].Body = c.Body // plain text in files
	}
	var buf bytes.Buffer
	if err := csvexport.Write(&buf, req.Format, leads, true); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	sink, name := x.cfg.Files, fmt.Sprintf("%s-%s-%s.csv", slug(req.ClientName), x.cfg.Now().UTC().Format("20060102-150405"), rep.RunID[:8])
	if req.Out != "" {
		sink, name = Dir(path.Dir(req.Out)), path.Base(req.Out)
	}
	location := sink.Location(name)
	intents := make([]store.Intent, len(send))
	for i, c := range send {
		intents[i] = intentOf(c)
	}
	if err := x.cfg.Store.RecordIntents(ctx, req.ClientID, rep.RunID, store.DestCSV, location, path.Base(location), intents); err != nil {
		return err
	}
	if err := sink.Put(ctx, name, buf.Bytes()); err != nil {
		// No file: the intents are void, the emails stay to export.
		ids := make([]string, len(send))
		for i, c := range send {
			ids[i] = c.EmailID
		}
		return errors.Join(fmt.Errorf("export: writing %s: %w", name, err), x.cfg.Store.DropIntents(context.WithoutCancel(ctx), store.DestCSV, ids))
	}
	rep.Location, rep.CampaignID, rep.CampaignName = location, location, path.Base(location)
	confs := make([]store.Confirmation, len(send))
	for i, c := range send {
		confs[i] = store.Confirmation{EmailID: c.EmailID}
		rep.Sent = append(rep.Sent, itemOf(c))
	}
	return x.cfg.Store.ConfirmExports(ctx, store.DestCSV, location, path.Base(location), confs, x.cfg.Now())
}

// intentOf is the ledger row written before a candidate is sent.
func intentOf(c store.ExportCandidate) store.Intent {
	return store.Intent{EmailID: c.EmailID, Address: c.Address, Domain: domainOf(c.Address)}
}

// leadOf maps a candidate to a sequencer lead; the body goes as HTML.
func leadOf(c store.ExportCandidate) sequencer.Lead {
	return sequencer.Lead{Email: c.Address, FirstName: c.FirstName, LastName: c.LastName, CompanyName: c.CompanyName,
		Website: c.Website, Subject: c.Subject, Body: htmlText(c.Body)}
}

func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// slug makes a file-name-safe name.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "export"
	}
	return out
}
