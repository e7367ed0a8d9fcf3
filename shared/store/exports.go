package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrBusy: the client's export lock is held by another export.
var ErrBusy = errors.New("another export of this client is running")

// Export destinations (the export_destination enum).
const (
	DestSmartlead = "smartlead"
	DestInstantly = "instantly"
	DestCSV       = "csv"
)

// Ledger statuses (the export_status enum).
const (
	LedgerPending = "pending" // intent recorded, not confirmed
	LedgerSent    = "sent"    // confirmed by the destination
	LedgerFailed  = "failed"  // refused by the destination for good
)

// ExportSettings is where and how a client's approved emails are exported.
type ExportSettings struct {
	Destination  string // "", smartlead, instantly or csv: the daily export runs when set
	CampaignID   string // the sequencer campaign (smartlead: numeric id; instantly: uuid)
	CampaignName string
	CSVFormat    string // for csv: smartlead, instantly or lemlist
	// AtOnce: in the full phase, export auto-approved emails as soon as
	// they are stored instead of at the daily slot.
	AtOnce bool
	// DomainDailyCap bounds the addresses of one domain exported in 24 hours
	// (default 3).
	DomainDailyCap int
}

// ExportSettings returns the client's export settings (defaults when none).
func (s *Store) ExportSettings(ctx context.Context, clientID string) (ExportSettings, error) {
	e := ExportSettings{DomainDailyCap: 3}
	if err := checkID("client id", clientID); err != nil {
		return e, fmt.Errorf("store: export settings: %w", err)
	}
	var dest, camp, name, format *string
	err := s.pool.QueryRow(ctx, `select export_destination::text, export_campaign_id, export_campaign_name,
		export_csv_format, export_at_once, domain_daily_cap
		from public.automation_settings where client_id = $1`, clientID).
		Scan(&dest, &camp, &name, &format, &e.AtOnce, &e.DomainDailyCap)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, nil
	}
	e.Destination, e.CampaignID, e.CampaignName, e.CSVFormat = deref(dest), deref(camp), deref(name), deref(format)
	return e, wrap("store: export settings", err)
}

// SetExportSettings stores the client's export settings, keeping its
// automation phase.
func (s *Store) SetExportSettings(ctx context.Context, clientID string, e ExportSettings) error {
	if err := checkID("client id", clientID); err != nil {
		return fmt.Errorf("store: set export settings: %w", err)
	}
	if e.DomainDailyCap == 0 {
		e.DomainDailyCap = 3
	}
	_, err := s.pool.Exec(ctx, `insert into public.automation_settings (client_id, export_destination, export_campaign_id,
			export_campaign_name, export_csv_format, export_at_once, domain_daily_cap)
		values ($1, $2::text::public.export_destination, $3, $4, $5, $6, $7)
		on conflict (client_id) do update set export_destination = excluded.export_destination,
			export_campaign_id = excluded.export_campaign_id, export_campaign_name = excluded.export_campaign_name,
			export_csv_format = excluded.export_csv_format, export_at_once = excluded.export_at_once,
			domain_daily_cap = excluded.domain_daily_cap`,
		clientID, nullText(strings.TrimSpace(e.Destination)), nullText(strings.TrimSpace(e.CampaignID)), nullText(strings.TrimSpace(e.CampaignName)), nullText(strings.TrimSpace(e.CSVFormat)), e.AtOnce, e.DomainDailyCap)
	return wrap("store: set export settings", err)
}

// ClientExport is a client with a configured export destination.
type ClientExport struct {
	Client   Client
	Settings ExportSettings
}

// ClientsToExport lists the active clients that configured a destination
// (the daily export's work list), by name.
func (s *Store) ClientsToExport(ctx context.Context) ([]ClientExport, error) {
	rows, err := s.pool.Query(ctx, `select c.id::text, c.client_name, a.export_destination::text, coalesce(a.export_campaign_id, ''),
			coalesce(a.export_campaign_name, ''), coalesce(a.export_csv_format, ''), a.export_at_once, a.domain_daily_cap
		from public.clients c join public.automation_settings a on a.client_id = c.id
		where c.active and a.export_destination is not null order by c.client_name`)
	if err != nil {
		return nil, wrap("store: clients to export", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClientExport, error) {
		var ce ClientExport
		e := &ce.Settings
		err := r.Scan(&ce.Client.ID, &ce.Client.Name, &e.Destination, &e.CampaignID, &e.CampaignName, &e.CSVFormat, &e.AtOnce, &e.DomainDailyCap)
		ce.Client.Active = true
		return ce, err
	})
	return out, wrap("store: clients to export", err)
}

// Notifications is where a client's notifications go.
type Notifications struct {
	SlackWebhookURL string // secret: never logged
	ReviewURL       string // the review UI's base URL, for links
}

// Notifications returns the client's notification settings (empty when none).
func (s *Store) Notifications(ctx context.Context, clientID string) (Notifications, error) {
	var n Notifications
	if err := checkID("client id", clientID); err != nil {
		return n, fmt.Errorf("store: notifications: %w", err)
	}
	err := s.pool.QueryRow(ctx, `select coalesce(slack_webhook_url, ''), coalesce(review_url, '')
		from public.client_notifications where client_id = $1`, clientID).Scan(&n.SlackWebhookURL, &n.ReviewURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, nil
	}
	return n, wrap("store: notifications", err)
}

// SetNotifications stores the client's notification settings.
func (s *Store) SetNotifications(ctx context.Context, clientID string, n Notifications) error {
	if err := checkID("client id", clientID); err != nil {
		return fmt.Errorf("store: set notifications: %w", err)
	}
	_, err := s.pool.Exec(ctx, `insert into public.client_notifications (client_id, slack_webhook_url, review_url)
		values ($1, $2, $3) on conflict (client_id) do update set slack_webhook_url = excluded.slack_webhook_url,
			review_url = excluded.review_url`, clientID, nullText(n.SlackWebhookURL), nullText(n.ReviewURL))
	return wrap("store: set notifications", err)
}

// Exclusion is one do-not-contact entry of a client: a domain (and its
// subdomains) or one address.
type Exclusion struct {
	Kind  string // domain or email
	Value string // lower-case
	Note  string
}

// AddExclusions adds entries to the client's exclusion list in one
// transaction and returns how many were new.
func (s *Store) AddExclusions(ctx context.Context, clientID string, ex []Exclusion) (int, error) {
	if err := checkID("client id", clientID); err != nil {
		return 0, fmt.Errorf("store: add exclusions: %w", err)
	}
	added := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, e := range ex {
			tag, err := tx.Exec(ctx, `insert into public.export_exclusions (client_id, kind, value, note) values ($1, $2, $3, $4)
				on conflict do nothing`, clientID, e.Kind, text(e.Value), nullText(e.Note))
			if err != nil {
				return fmt.Errorf("%s %q: %w", e.Kind, clip(e.Value, 80), err)
			}
			added += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, wrap("store: add exclusions", err)
	}
	return added, nil
}

// Exclusions returns the client's exclusion list.
func (s *Store) Exclusions(ctx context.Context, clientID string) ([]Exclusion, error) {
	if err := checkID("client id", clientID); err != nil {
		return nil, fmt.Errorf("store: exclusions: %w", err)
	}
	rows, err := s.pool.Query(ctx, `select kind, value, coalesce(note, '') from public.export_exclusions
		where client_id = $1 order by kind, value`, clientID)
	if err != nil {
		return nil, wrap("store: exclusions", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Exclusion])
	return out, wrap("store: exclusions", err)
}

// ExportCandidate is an approved email that may be exported, with what the
// ledger knows of it.
type ExportCandidate struct {
	EmailID, ContactID string
	Address            string // lower-case
	FirstName          string
	LastName           string
	CompanyName        string
	Website            string
	Subject, Body      string // the reviewer's versions when edited
	Score              int
	AutomationOutcome  string
	CreatedAt          time.Time
	// The ledger row of this email for the destination ("" when none).
	LedgerStatus   string
	LedgerCampaign string
	LedgerAttempts int
	LedgerError    string
	// AddressInCampaign: another email with the same address already has a
	// ledger row (pending or sent) in the campaign.
	AddressInCampaign bool
}

// ExportCandidates returns the client's approved emails not yet sent,
// oldest first (at most limit, 0: all), with their ledger rows for
// destination and campaignID, and the number of emails still waiting for
// review. onlyAuto keeps the auto-approved emails only.
func (s *Store) ExportCandidates(ctx context.Context, clientID, destination, campaignID string, limit int, onlyAuto bool) ([]ExportCandidate, int, error) {
	const op = "store: export candidates"
	if err := checkID("client id", clientID); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.pool.Query(ctx, `select e.id::text, c.id::text, lower(btrim(coalesce(c.email, ''))), coalesce(c.first_name, ''),
			coalesce(c.last_name, ''), c.company_name, coalesce(c.website, ''),
			coalesce(nullif(e.subject_final, ''), e.subject, ''), coalesce(nullif(e.email_final, ''), e.email_generated),
			coalesce(e.quality_score, 0), coalesce(e.automation_outcome, ''), e.created_at,
			coalesce(x.status::text, ''), coalesce(x.campaign_id, ''), coalesce(x.attempts, 0), coalesce(x.last_error, ''),
			exists (select 1 from public.exports y where y.destination = $2::text::public.export_destination
				and y.campaign_id = $3 and y.address = lower(btrim(c.email)) and y.email_id <> e.id and y.status <> 'failed')
		from public.emails_generated e
		join public.contacts_to_enrich c on c.id = e.contact_id
		left join public.exports x on x.email_id = e.id and x.destination = $2::text::public.export_destination
		where e.client_id = $1 and e.review_status in ('approved', 'approved_edited')
			and (not $5 or e.automation_outcome = 'auto_approved')
		order by e.created_at, e.id limit $4`, clientID, destination, campaignID, limit, onlyAuto)
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExportCandidate, error) {
		var c ExportCandidate
		err := r.Scan(&c.EmailID, &c.ContactID, &c.Address, &c.FirstName, &c.LastName, &c.CompanyName, &c.Website,
			&c.Subject, &c.Body, &c.Score, &c.AutomationOutcome, &c.CreatedAt,
			&c.LedgerStatus, &c.LedgerCampaign, &c.LedgerAttempts, &c.LedgerError, &c.AddressInCampaign)
		return c, err
	})
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	var waiting int
	err = s.pool.QueryRow(ctx, `select count(*) from public.emails_generated
		where client_id = $1 and review_status = 'pending_review'`, clientID).Scan(&waiting)
	return out, waiting, wrap(op, err)
}

// DomainCounts returns, per domain, the client's exports recorded since
// the given time: what the per-domain daily cap has used. It counts what
// went and what may have gone (unconfirmed in another campaign); the
// unconfirmed rows of campaignID are not counted, as the export about to
// run sends them again and counts them then.
func (s *Store) DomainCounts(ctx context.Context, clientID, campaignID string, since time.Time) (map[string]int, error) {
	if err := checkID("client id", clientID); err != nil {
		return nil, fmt.Errorf("store: domain counts: %w", err)
	}
	rows, err := s.pool.Query(ctx, `select domain, count(*) from public.exports
		where client_id = $1 and domain is not null and created_at >= $2
			and (status = 'sent' or status = 'pending' and campaign_id is distinct from $3)
		group by domain`, clientID, since, campaignID)
	if err != nil {
		return nil, wrap("store: domain counts", err)
	}
	m := map[string]int{}
	var d string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&d, &n}, func() error { m[d] = n; return nil })
	return m, wrap("store: domain counts", err)
}

// Intent is the ledger row written before an email is sent.
type Intent struct {
	EmailID, Address, Domain string
}

// RecordIntents writes the ledger rows (status pending) of emails about to
// be sent to destination's campaign, in one transaction, before the call
// that sends them. A row already pending (an earlier run that did not
// confirm) counts one more attempt. An email already sent, or an address
// already in the campaign, is refused with ErrConflict and nothing is
// written.
func (s *Store) RecordIntents(ctx context.Context, clientID, runID, destination, campaignID, campaignName string, in []Intent) error {
	const op = "store: record export intents"
	if err := checkID("client id", clientID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, i := range in {
			b.Queue(`insert into public.exports (email_id, client_id, destination, campaign_id, campaign_name, status,
					address, domain, run_id, attempts)
				values ($1, $2, $3::text::public.export_destination, $4, $5, 'pending', $6, $7, $8, 1)
				on conflict (email_id, destination) do update set attempts = public.exports.attempts + 1,
					run_id = excluded.run_id, campaign_name = excluded.campaign_name
				where public.exports.status = 'pending' and public.exports.campaign_id is not distinct from excluded.campaign_id`,
				i.EmailID, clientID, destination, nullText(campaignID), nullText(campaignName), text(i.Address), nullText(i.Domain), runID)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for _, i := range in {
			tag, err := br.Exec()
			if err != nil {
				return fmt.Errorf("email %s (%s): %w", i.EmailID, i.Address, err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("email %s (%s): %w: already sent, failed or pending in another campaign", i.EmailID, i.Address, ErrConflict)
			}
		}
		return br.Close()
	})
	return wrap(op, err)
}

// Confirmation is a destination's acceptance of one email.
type Confirmation struct {
	EmailID string
	LeadID  string // the sequencer's id for the lead ("" when it gives none)
}

// ConfirmExports marks the ledger rows sent and their emails sent (with
// sent_at, campaign id and name, and the lead id), in one transaction.
func (s *Store) ConfirmExports(ctx context.Context, destination, campaignID, campaignName string, confs []Confirmation, at time.Time) error {
	const op = "store: confirm exports"
	if len(confs) == 0 {
		return nil
	}
	ids, leads := make([]string, len(confs)), make([]string, len(confs))
	for i, c := range confs {
		if err := checkID("email id", c.EmailID); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		ids[i], leads[i] = c.EmailID, text(c.LeadID)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update public.exports x set status = 'sent', external_id = nullif(v.lead, ''),
				sent_at = $3, last_error = null
			from unnest($1::uuid[], $2::text[]) as v(id, lead)
			where x.email_id = v.id and x.destination = $4::text::public.export_destination`, ids, leads, at, destination); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `update public.emails_generated e set review_status = 'sent', sent_at = $3,
				campaign_id = $4, campaign_name = $5, sequencer_lead_id = nullif(v.lead, '')
			from unnest($1::uuid[], $2::text[]) as v(id, lead)
			where e.id = v.id`, ids, leads, at, nullText(campaignID), nullText(campaignName))
		return err
	})
	return wrap(op, err)
}

// Failure is a destination's refusal of one email, or the reason its
// outcome is still unknown.
type Failure struct {
	EmailID string
	Reason  string
}

// FailExports records why emails were not confirmed. Permanent failures
// (the destination refused them) become failed and are not sent again;
// the others stay pending with the reason, for the next run to reconcile.
func (s *Store) FailExports(ctx context.Context, destination string, fails []Failure, permanent bool) error {
	const op = "store: fail exports"
	if len(fails) == 0 {
		return nil
	}
	ids, reasons := make([]string, len(fails)), make([]string, len(fails))
	for i, f := range fails {
		if err := checkID("email id", f.EmailID); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		ids[i], reasons[i] = f.EmailID, clip(text(f.Reason), 500)
	}
	status := LedgerPending
	if permanent {
		status = LedgerFailed
	}
	_, err := s.pool.Exec(ctx, `update public.exports x set status = $4::text::public.export_status, last_error = v.reason
		from unnest($1::uuid[], $2::text[]) as v(id, reason)
		where x.email_id = v.id and x.destination = $3::text::public.export_destination and x.status <> 'sent'`,
		ids, reasons, destination, status)
	return wrap(op, err)
}

// DropIntents deletes pending ledger rows whose send certainly never
// happened (a file export that was never written), so the emails can go
// again.
func (s *Store) DropIntents(ctx context.Context, destination string, emailIDs []string) error {
	_, err := s.pool.Exec(ctx, `delete from public.exports where destination = $1::text::public.export_destination
		and email_id = any($2::uuid[]) and status = 'pending'`, destination, emailIDs)
	return wrap("store: drop export intents", err)
}

// PendingExports returns the client's ledger rows still pending for the
// destination, by campaign: the previous runs' unconfirmed sends.
func (s *Store) PendingExports(ctx context.Context, clientID, destination string) (map[string][]Intent, error) {
	const op = "store: pending exports"
	if err := checkID("client id", clientID); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := s.pool.Query(ctx, `select coalesce(campaign_id, ''), email_id::text, coalesce(address, ''), coalesce(domain, '')
		from public.exports where client_id = $1 and destination = $2::text::public.export_destination and status = 'pending'
		order by created_at`, clientID, destination)
	if err != nil {
		return nil, wrap(op, err)
	}
	m := map[string][]Intent{}
	var camp string
	var in Intent
	_, err = pgx.ForEachRow(rows, []any{&camp, &in.EmailID, &in.Address, &in.Domain}, func() error {
		m[camp] = append(m[camp], in)
		return nil
	})
	return m, wrap(op, err)
}

// LockExport takes the client's export lock: a transaction-scoped
// advisory lock in a transaction held open until unlock, so it works
// through Supabase's transaction pooler as well as on a direct connection
// (a transaction keeps its server connection). With wait false, a lock
// held by another export returns ErrBusy at once; with wait true it waits
// for it (or for ctx). A process that dies releases it with its
// connection.
func (s *Store) LockExport(ctx context.Context, clientID string, wait bool) (unlock func(), err error) {
	const op = "store: export lock"
	if err := checkID("client id", clientID); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	const key = `hashtext('kaleads.export'), hashtext($1)`
	if wait {
		_, err = tx.Exec(ctx, `select pg_advisory_xact_lock(`+key+`)`, clientID)
	} else {
		var got bool
		if err = tx.QueryRow(ctx, `select pg_try_advisory_xact_lock(`+key+`)`, clientID).Scan(&got); err == nil && !got {
			err = ErrBusy
		}
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, ErrBusy) {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return nil, wrap(op, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(ctx) // ends the transaction, releasing the lock (a failed rollback closes the connection)
	}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// FinishedBatch is an upload batch whose every contact is done.
type FinishedBatch struct {
	BatchID, ClientID, Client string
	Total, Completed, Failed  int
	AutoApproved, Held        int // the automation's outcomes
	AvgQuality, CostUSD       float64
}

// FinishedBatches returns the batches uploaded in the last week whose
// contacts are all completed or failed and whose notification has not
// gone yet, oldest first.
func (s *Store) FinishedBatches(ctx context.Context) ([]FinishedBatch, error) {
	rows, err := s.pool.Query(ctx, `select c.batch_id::text, c.client_id::text, k.client_name, count(*)::int,
			count(*) filter (where c.status = 'completed')::int, count(*) filter (where c.status = 'failed')::int,
			count(e.id) filter (where e.automation_outcome = 'auto_approved')::int,
			count(e.id) filter (where e.automation_outcome in ('held', 'review', 'sampled'))::int,
			coalesce(avg(e.quality_score), 0)::float8, coalesce(sum(e.cost_usd), 0)::float8
		from public.contacts_to_enrich c
		join public.clients k on k.id = c.client_id
		left join public.emails_generated e on e.contact_id = c.id
		where c.batch_id is not null and c.created_at > now() - interval '7 days'
			and not exists (select 1 from public.batch_notifications n where n.batch_id = c.batch_id)
		group by c.batch_id, c.client_id, k.client_name
		having count(*) filter (where c.status in ('pending', 'enriching')) = 0
		order by min(c.created_at)`)
	if err != nil {
		return nil, wrap("store: finished batches", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FinishedBatch])
	return out, wrap("store: finished batches", err)
}

// MarkBatchNotified records that the batch's notification goes now; it
// returns false when it already went (another process was first).
func (s *Store) MarkBatchNotified(ctx context.Context, batchID, clientID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `insert into public.batch_notifications (batch_id, client_id) values ($1, $2)
		on conflict do nothing`, batchID, nullID(clientID))
	if err != nil {
		return false, wrap("store: mark batch notified", err)
	}
	return tag.RowsAffected() == 1, nil
}
