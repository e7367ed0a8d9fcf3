// Package smartlead is a small Smartlead API v1 client: create a campaign with
// the plan's sequence and add leads in batches, throttled and retried safely.
// The API key travels as the api_key query parameter and is redacted from
// every error and log line.
package smartlead

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/sequencer"
)

// DefaultBaseURL is the public API root.
const DefaultBaseURL = "https://server.smartlead.ai/api/v1"

// Batch limits: docs disagree (100 / 350 / 400, reference C1): default 100, max 400.
const (
	DefaultBatchSize = 100
	MaxBatchSize     = 400
)

// Default throttle: about 50 requests per minute (reference C7, under the
// documented 60/min), burst 5.
const (
	DefaultRatePerMinute = 50
	DefaultBurst         = 5
)

// Settings are the add-leads block-list / unsubscribe settings. The zero
// value respects every list (all false), which is what an exporter wants.
type Settings struct {
	IgnoreGlobalBlockList               bool `json:"ignore_global_block_list"`
	IgnoreUnsubscribeList               bool `json:"ignore_unsubscribe_list"` // C4: not "ignore_unsubscribe"
	IgnoreCommunityBounceList           bool `json:"ignore_community_bounce_list"`
	IgnoreDuplicateLeadsInOtherCampaign bool `json:"ignore_duplicate_leads_in_other_campaign"`
}

// Config configures a Client. Only APIKey is required.
type Config struct {
	APIKey        string
	BaseURL       string // default DefaultBaseURL
	HTTPClient    *http.Client
	Clock         sequencer.Clock
	Logger        *slog.Logger
	BatchSize     int // default 100, capped at 400
	RatePerMinute int // default 50
	Burst         int // default 5
	MaxAttempts   int // default 6
	BaseBackoff   time.Duration
	MaxBackoff    time.Duration
	Settings      Settings
}

// Client talks to Smartlead.
type Client struct {
	base     string
	key      string
	batch    int
	settings Settings
	req      *sequencer.Requester
}

// New builds a client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("smartlead: %w: missing API key", sequencer.ErrPermanent)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("smartlead: bad base URL: %w", err)
	}
	bs := cfg.BatchSize
	if bs <= 0 {
		bs = DefaultBatchSize
	}
	bs = min(bs, MaxBatchSize)
	rpm, burst := cfg.RatePerMinute, cfg.Burst
	if rpm <= 0 {
		rpm = DefaultRatePerMinute
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	clock := cfg.Clock
	if clock == nil {
		clock = sequencer.RealClock{}
	}
	c := &Client{base: base, key: cfg.APIKey, batch: bs, settings: cfg.Settings}
	c.req = &sequencer.Requester{
		Provider: "smartlead", HTTP: cfg.HTTPClient, Clock: clock,
		Limiter: sequencer.NewLimiter(clock, rpm, time.Minute, burst), Logger: cfg.Logger,
		MaxAttempts: cfg.MaxAttempts, BaseBackoff: cfg.BaseBackoff, MaxBackoff: cfg.MaxBackoff,
		Secret: cfg.APIKey,
	}
	return c, nil
}

// BatchSize is the effective leads-per-request limit.
func (c *Client) BatchSize() int { return c.batch }

func (c *Client) url(path string) string {
	return c.base + path + "?api_key=" + url.QueryEscape(c.key)
}

func (c *Client) do(ctx context.Context, op, path string, body any, idempotent bool, out any) (*sequencer.Response, error) {
	return c.call(ctx, http.MethodPost, op, c.url(path), body, idempotent, out)
}

func (c *Client) call(ctx context.Context, method, op, u string, body any, idempotent bool, out any) (*sequencer.Response, error) {
	resp, err := c.req.Do(ctx, sequencer.Request{Op: op, Method: method, URL: u, Body: body, Idempotent: idempotent})
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, &sequencer.Error{Provider: "smartlead", Op: op, StatusCode: resp.StatusCode,
				Message: "decoding response", Retryable: false, UnknownOutcome: true, Err: err}
		}
	}
	return resp, nil
}

// Campaign is a created campaign.
type Campaign struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// CreateCampaign creates a campaign (POST /campaigns/create) and saves the
// sequence (POST /campaigns/{id}/sequences). Use sequencer.PlanSequence for the
// plan's sequence. Creation is not idempotent: a timeout on it is returned as
// retryable + unknown outcome, not retried. If the sequence step fails, the
// returned Campaign carries the new ID so the caller can call SetSequence.
func (c *Client) CreateCampaign(ctx context.Context, name string, steps []sequencer.Step) (Campaign, error) {
	var out struct {
		OK bool `json:"ok"`
		Campaign
	}
	if _, err := c.do(ctx, "create campaign", "/campaigns/create", map[string]any{"name": name}, false, &out); err != nil {
		return Campaign{}, fmt.Errorf("smartlead create campaign %q: %w", name, err)
	}
	if out.ID == 0 {
		return Campaign{}, fmt.Errorf("smartlead create campaign %q: %w", name,
			&sequencer.Error{Provider: "smartlead", Op: "create campaign", Message: "response has no campaign id", UnknownOutcome: true})
	}
	if out.Name == "" {
		out.Name = name
	}
	if len(steps) > 0 {
		if err := c.SetSequence(ctx, out.ID, steps); err != nil {
			return out.Campaign, err
		}
	}
	return out.Campaign, nil
}

type seqDelay struct {
	DelayInDays int `json:"delay_in_days"`
}

type seqItem struct {
	ID              *int64   `json:"id"`
	SeqNumber       int      `json:"seq_number"`
	Subject         string   `json:"subject"`
	EmailBody       string   `json:"email_body"`
	SeqDelayDetails seqDelay `json:"seq_delay_details"`
}

// SequenceBody builds the /sequences body: delay_in_days is the gap from the
// previous step (day 1 → 0; days 4, 7, 14 → 3, 3, 7).
func SequenceBody(steps []sequencer.Step) (map[string]any, error) {
	items := make([]seqItem, 0, len(steps))
	prev := 1
	for i, s := range steps {
		if s.Day < prev || (i == 0 && s.Day < 1) {
			return nil, fmt.Errorf("smartlead: %w: step %d day %d not after day %d", sequencer.ErrPermanent, i+1, s.Day, prev)
		}
		items = append(items, seqItem{SeqNumber: i + 1, Subject: s.Subject, EmailBody: s.Body,
			SeqDelayDetails: seqDelay{DelayInDays: s.Day - prev}})
		prev = s.Day
	}
	return map[string]any{"sequences": items}, nil
}

// SetSequence replaces a campaign's sequence (idempotent: safe to retry).
func (c *Client) SetSequence(ctx context.Context, campaignID int64, steps []sequencer.Step) error {
	body, err := SequenceBody(steps)
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, "save sequence", fmt.Sprintf("/campaigns/%d/sequences", campaignID), body, true, nil); err != nil {
		return fmt.Errorf("smartlead campaign %d sequence: %w", campaignID, err)
	}
	return nil
}

// AddLeadsResponse is the tolerant superset of the documented and observed
// response shapes (reference C2/C3). Every field is optional.
type AddLeadsResponse struct {
	OK                     bool            `json:"ok"`
	UploadCount            *FlexInt        `json:"upload_count"`
	TotalLeads             *FlexInt        `json:"total_leads"`
	AlreadyAddedToCampaign FlexInt         `json:"already_added_to_campaign"`
	DuplicateCount         FlexInt         `json:"duplicate_count"`
	InvalidEmailCount      FlexInt         `json:"invalid_email_count"`
	InvalidEmails          []FlexString    `json:"invalid_emails"`
	UnsubscribedLeads      []FlexString    `json:"unsubscribed_leads"`
	BlockCount             FlexInt         `json:"block_count"`
	BlockedCount           FlexInt         `json:"blocked_count"`
	BounceCount            FlexInt         `json:"bounce_count"`
	IsLeadLimitExhausted   bool            `json:"is_lead_limit_exhausted"`
	LeadImportStoppedCount FlexInt         `json:"lead_import_stopped_count"`
	AddedCount             *FlexInt        `json:"added_count"`
	InsertedCount          *FlexInt        `json:"inserted_count"`
	SkippedCount           FlexInt         `json:"skipped_count"`
	SkippedLeads           []SkippedLead   `json:"skipped_leads"`
	Raw                    json.RawMessage `json:"-"`
}

// SkippedLead is one entry of skipped_leads (object or bare email string).
type SkippedLead struct {
	Email  string `json:"email"`
	Reason string `json:"reason"`
}

// UnmarshalJSON accepts {"email","reason"} or a bare string.
func (s *SkippedLead) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) == nil {
		s.Email = str
		return nil
	}
	type plain SkippedLead
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return nil // tolerate unknown shapes
	}
	*s = SkippedLead(p)
	return nil
}

// Added is the best-effort count of leads newly added by the call:
// added_count, inserted_count, upload_count, then total_leads (C3; ambiguous).
func (r AddLeadsResponse) Added() int {
	for _, p := range []*FlexInt{r.AddedCount, r.InsertedCount, r.UploadCount, r.TotalLeads} {
		if p != nil {
			return int(*p)
		}
	}
	return 0
}

// Skipped totals the skip reasons (already in campaign, duplicates, invalid,
// unsubscribed, blocked, bounced, stopped, or a plain skipped_count).
func (r AddLeadsResponse) Skipped() int {
	n := int(r.AlreadyAddedToCampaign + r.DuplicateCount + r.InvalidEmailCount + r.BlockCount + r.BlockedCount +
		r.BounceCount + r.LeadImportStoppedCount)
	n += len(r.UnsubscribedLeads)
	if int(r.SkippedCount) > n {
		n = int(r.SkippedCount)
	}
	return n
}

// Reasons returns skip reasons with counts.
func (r AddLeadsResponse) Reasons() map[string]int {
	m := map[string]int{}
	add := func(k string, v int) {
		if v > 0 {
			m[k] += v
		}
	}
	add("already_added_to_campaign", int(r.AlreadyAddedToCampaign))
	add("duplicate", int(r.DuplicateCount))
	add("invalid_email", int(r.InvalidEmailCount))
	add("unsubscribed", len(r.UnsubscribedLeads))
	add("blocked", int(r.BlockCount+r.BlockedCount))
	add("bounced", int(r.BounceCount))
	add("import_stopped", int(r.LeadImportStoppedCount))
	for _, s := range r.SkippedLeads {
		reason := s.Reason
		if reason == "" {
			reason = "skipped"
		}
		m[reason]++
	}
	return m
}

// emptyAcceptance: a 200 with nothing added and no reason (reported under throttling).
func (r AddLeadsResponse) emptyAcceptance() bool {
	return r.Added() == 0 && r.Skipped() == 0 && len(r.SkippedLeads) == 0 && len(r.InvalidEmails) == 0
}

// BatchResult is one add-leads request.
type BatchResult struct {
	Start, End int // lead indexes [Start, End)
	Attempts   int
	// Uncertain: an earlier attempt timed out or got a 5xx, so leads counted
	// as already_added_to_campaign may have been added by this run.
	Uncertain bool
	Response  AddLeadsResponse
}

// AddResult summarises AddLeads. Batches holds every batch that got a 2xx.
type AddResult struct {
	Batches  []BatchResult
	Added    int
	Skipped  int
	Reasons  map[string]int
	Requests int // HTTP attempts, including retries
}

type apiLead struct {
	Email        string            `json:"email"`
	FirstName    string            `json:"first_name,omitempty"`
	LastName     string            `json:"last_name,omitempty"`
	CompanyName  string            `json:"company_name,omitempty"`
	Website      string            `json:"website,omitempty"`
	CustomFields map[string]string `json:"custom_fields"`
}

// AddLeadsBody builds one request body.
func AddLeadsBody(leads []sequencer.Lead, s Settings) map[string]any {
	list := make([]apiLead, len(leads))
	for i, l := range leads {
		list[i] = apiLead{Email: l.Email, FirstName: l.FirstName, LastName: l.LastName,
			CompanyName: l.CompanyName, Website: l.Website, CustomFields: l.CustomFields()}
	}
	return map[string]any{"lead_list": list, "settings": s}
}

// AddLeads uploads leads in batches (POST /campaigns/{id}/leads). Retries are
// safe because Smartlead dedupes on email within a campaign. On error the
// result holds the batches that succeeded; the error says where it stopped.
func (c *Client) AddLeads(ctx context.Context, campaignID int64, leads []sequencer.Lead) (AddResult, error) {
	res := AddResult{Reasons: map[string]int{}}
	path := fmt.Sprintf("/campaigns/%d/leads", campaignID)
	for _, rg := range sequencer.Chunk(len(leads), c.batch) {
		var out AddLeadsResponse
		resp, err := c.do(ctx, "add leads", path, AddLeadsBody(leads[rg[0]:rg[1]], c.settings), true, &out)
		res.Requests += attempts(resp, err)
		if err != nil {
			return res, fmt.Errorf("smartlead campaign %d leads [%d,%d): %w", campaignID, rg[0], rg[1], err)
		}
		out.Raw = resp.Body
		b := BatchResult{Start: rg[0], End: rg[1], Attempts: resp.Attempts, Uncertain: resp.Uncertain, Response: out}
		res.Batches = append(res.Batches, b)
		res.Added += out.Added()
		res.Skipped += out.Skipped()
		for k, v := range out.Reasons() {
			res.Reasons[k] += v
		}
		if out.IsLeadLimitExhausted {
			return res, fmt.Errorf("smartlead campaign %d leads [%d,%d): %w", campaignID, rg[0], rg[1],
				&sequencer.Error{Provider: "smartlead", Op: "add leads", Message: "plan lead limit exhausted"})
		}
		if out.emptyAcceptance() {
			return res, fmt.Errorf("smartlead campaign %d leads [%d,%d): %w", campaignID, rg[0], rg[1],
				&sequencer.Error{Provider: "smartlead", Op: "add leads", Message: "200 with nothing accepted and no reason", Retryable: true, UnknownOutcome: true})
		}
	}
	return res, nil
}

// ListPageSize is the campaign leads page size (the documented maximum).
const ListPageSize = 1000

// campaignLeadsPage is the tolerant shape of GET /campaigns/{id}/leads:
// the leads under "data" or "leads", each a campaign-lead entry holding a
// "lead" object or the lead itself; the total under total_count or
// total_leads.
type campaignLeadsPage struct {
	TotalCount *FlexInt         `json:"total_count"`
	TotalLeads *FlexInt         `json:"total_leads"`
	Data       []campaignLeadIt `json:"data"`
	Leads      []campaignLeadIt `json:"leads"`
}

type campaignLeadIt struct {
	ID    FlexString `json:"id"`
	Email string     `json:"email"`
	Lead  *struct {
		ID    FlexString `json:"id"`
		Email string     `json:"email"`
	} `json:"lead"`
}

// CampaignLeads lists the campaign's leads (GET /campaigns/{id}/leads, pages
// of 1000): lower-cased e-mail address → Smartlead lead id. It is how an
// export confirms what an add-leads call accepted, and reconciles a call
// whose outcome was unknown. requests counts the HTTP attempts.
func (c *Client) CampaignLeads(ctx context.Context, campaignID int64) (leads map[string]string, requests int, err error) {
	leads = map[string]string{}
	for offset := 0; ; offset += ListPageSize {
		u := c.base + fmt.Sprintf("/campaigns/%d/leads", campaignID) + "?offset=" + strconv.Itoa(offset) +
			"&limit=" + strconv.Itoa(ListPageSize) + "&api_key=" + url.QueryEscape(c.key)
		var page campaignLeadsPage
		resp, err := c.call(ctx, http.MethodGet, "list campaign leads", u, nil, true, &page)
		requests += attempts(resp, err)
		if err != nil {
			return leads, requests, fmt.Errorf("smartlead campaign %d leads (offset %d): %w", campaignID, offset, err)
		}
		items := append(page.Data, page.Leads...)
		for _, it := range items {
			id, email := it.ID, it.Email
			if it.Lead != nil {
				id, email = it.Lead.ID, it.Lead.Email
			}
			if email = strings.ToLower(strings.TrimSpace(email)); email != "" {
				leads[email] = string(id)
			}
		}
		total := -1
		for _, p := range []*FlexInt{page.TotalCount, page.TotalLeads} {
			if p != nil {
				total = int(*p)
				break
			}
		}
		if len(items) < ListPageSize || (total >= 0 && offset+len(items) >= total) {
			return leads, requests, nil
		}
	}
}

func attempts(resp *sequencer.Response, err error) int {
	if resp != nil {
		return resp.Attempts
	}
	var se *sequencer.Error
	if errors.As(err, &se) {
		return se.Attempts
	}
	return 0
}

// FlexInt decodes a number, a numeric string, or null.
type FlexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		*f = FlexInt(n)
	}
	return nil
}

// FlexString decodes a string or any JSON value (kept as its text; an
// object's "email" field when present).
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = FlexString(s)
		return nil
	}
	var o struct {
		Email string `json:"email"`
	}
	if json.Unmarshal(b, &o) == nil && o.Email != "" {
		*f = FlexString(o.Email)
		return nil
	}
	*f = FlexString(b)
	return nil
}
