// Package instantly is a small Instantly API v2 client: bulk-add leads with
// skip_if_in_campaign and flat custom_variables, and create a campaign with a
// valid schedule. Bearer auth; the key is redacted from errors and logs.
package instantly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone validation must work without system tzdata (Lambda)

	"github.com/kaleads/kaleads/shared/sequencer"
)

// DefaultBaseURL is the public API root (paths below are under /api/v2).
const DefaultBaseURL = "https://api.instantly.ai"

// MaxBatchSize is the documented maximum leads per /api/v2/leads/add call.
const MaxBatchSize = 1000

// Documented limit: 100 req/s and 6,000 req/min per workspace, shared by all
// keys. Default throttle stays well under it: 50/s, burst 10.
const (
	DefaultRatePerSecond = 50
	DefaultBurst         = 10
)

// Config configures a Client. Only APIKey is required.
type Config struct {
	APIKey        string
	BaseURL       string
	HTTPClient    *http.Client
	Clock         sequencer.Clock
	Logger        *slog.Logger
	BatchSize     int // default and max 1000
	RatePerSecond int
	Burst         int
	MaxAttempts   int
	BaseBackoff   time.Duration
	MaxBackoff    time.Duration
	// SkipIfInWorkspace also skips leads present in any campaign/list.
	SkipIfInWorkspace bool
	BlocklistID       string
}

// Client talks to Instantly v2.
type Client struct {
	base  string
	key   string
	batch int
	cfg   Config
	req   *sequencer.Requester
}

// New builds a client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("instantly: %w: missing API key", sequencer.ErrPermanent)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimSuffix(base, "/api/v2")
	bs := cfg.BatchSize
	if bs <= 0 || bs > MaxBatchSize {
		bs = MaxBatchSize
	}
	rps, burst := cfg.RatePerSecond, cfg.Burst
	if rps <= 0 {
		rps = DefaultRatePerSecond
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	clock := cfg.Clock
	if clock == nil {
		clock = sequencer.RealClock{}
	}
	return &Client{base: base, key: cfg.APIKey, batch: bs, cfg: cfg, req: &sequencer.Requester{
		Provider: "instantly", HTTP: cfg.HTTPClient, Clock: clock,
		Limiter: sequencer.NewLimiter(clock, rps, time.Second, burst), Logger: cfg.Logger,
		MaxAttempts: cfg.MaxAttempts, BaseBackoff: cfg.BaseBackoff, MaxBackoff: cfg.MaxBackoff, Secret: cfg.APIKey,
	}}, nil
}

// BatchSize is the effective leads-per-request limit.
func (c *Client) BatchSize() int { return c.batch }

func (c *Client) post(ctx context.Context, op, path string, body any, idempotent bool, out any) (*sequencer.Response, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.key)
	resp, err := c.req.Do(ctx, sequencer.Request{Op: op, Method: http.MethodPost, URL: c.base + path, Header: h, Body: body, Idempotent: idempotent})
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, &sequencer.Error{Provider: "instantly", Op: op, StatusCode: resp.StatusCode,
				Message: "decoding response", UnknownOutcome: true, Err: err}
		}
	}
	return resp, nil
}

// Schedule is a sending window.
type Schedule struct {
	Name     string         // default "Default"
	Timezone string         // Instantly closed enum (reference C10)
	Days     []time.Weekday // default Monday–Friday
	From, To string         // "HH:MM", default 09:00–17:00
}

// Zones documented as missing from Instantly's closed timezone enum, with
// the replacement the reference suggests.
var unsupportedZones = map[string]string{
	"America/New_York":    "America/Detroit",
	"America/Los_Angeles": "(a Pacific zone from the enum)",
	"Europe/London":       "(a UTC+0 zone from the enum)",
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

// CampaignSpec is what CreateCampaign sends.
type CampaignSpec struct {
	Name     string
	Schedule Schedule
	Steps    []sequencer.Step // e.g. sequencer.PlanSequence(...)
	// Optional sending settings (omitted when zero).
	EmailList   []string
	DailyLimit  int
	StopOnReply *bool
}

// Campaign is the created campaign.
type Campaign struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status int    `json:"status"`
}

// CampaignBody validates spec and builds the POST /api/v2/campaigns body.
func CampaignBody(spec CampaignSpec) (map[string]any, error) {
	perm := func(format string, a ...any) error {
		return &sequencer.Error{Provider: "instantly", Op: "create campaign", Message: fmt.Sprintf(format, a...)}
	}
	if strings.TrimSpace(spec.Name) == "" {
		return nil, perm("empty campaign name")
	}
	s := spec.Schedule
	if s.Name == "" {
		s.Name = "Default"
	}
	if s.From == "" {
		s.From = "09:00"
	}
	if s.To == "" {
		s.To = "17:00"
	}
	if !hhmm.MatchString(s.From) || !hhmm.MatchString(s.To) || s.From >= s.To {
		return nil, perm("schedule hours %q-%q must be HH:MM with from < to", s.From, s.To)
	}
	if s.Timezone == "" {
		return nil, perm("schedule timezone required")
	}
	if alt, bad := unsupportedZones[s.Timezone]; bad {
		return nil, perm("timezone %s is not in Instantly's enum; use %s", s.Timezone, alt)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return nil, perm("unknown timezone %q", s.Timezone)
	}
	days := s.Days
	if len(days) == 0 {
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	dm := map[string]bool{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		dm[strconv.Itoa(int(d))] = false
	}
	for _, d := range days {
		if d < time.Sunday || d > time.Saturday {
			return nil, perm("bad weekday %d", d)
		}
		dm[strconv.Itoa(int(d))] = true
	}
	body := map[string]any{
		"name": spec.Name,
		"campaign_schedule": map[string]any{"schedules": []any{map[string]any{
			"name": s.Name, "timing": map[string]string{"from": s.From, "to": s.To}, "days": dm, "timezone": s.Timezone,
		}}},
	}
	if len(spec.Steps) > 0 {
		steps := make([]any, len(spec.Steps))
		for i, st := range spec.Steps {
			delay := 0 // wait after this step before the next
			if i+1 < len(spec.Steps) {
				delay = spec.Steps[i+1].Day - st.Day
				if delay < 0 {
					return nil, perm("step %d day %d before step %d day %d", i+2, spec.Steps[i+1].Day, i+1, st.Day)
				}
			}
			steps[i] = map[string]any{"type": "email", "delay": delay, "delay_unit": "days",
				"variants": []any{map[string]string{"subject": st.Subject, "body": st.Body}}}
		}
		body["sequences"] = []any{map[string]any{"steps": steps}}
	}
	if len(spec.EmailList) > 0 {
		body["email_list"] = spec.EmailList
	}
	if spec.DailyLimit > 0 {
		body["daily_limit"] = spec.DailyLimit
	}
	if spec.StopOnReply != nil {
		body["stop_on_reply"] = *spec.StopOnReply
	}
	return body, nil
}

// CreateCampaign creates a Draft campaign (POST /api/v2/campaigns). It is not
// idempotent: a timeout or 5xx is returned as retryable + unknown outcome
// without a retry (only 429 is retried).
func (c *Client) CreateCampaign(ctx context.Context, spec CampaignSpec) (Campaign, error) {
	body, err := CampaignBody(spec)
	if err != nil {
		return Campaign{}, fmt.Errorf("instantly create campaign: %w", err)
	}
	var out Campaign
	if _, err := c.post(ctx, "create campaign", "/api/v2/campaigns", body, false, &out); err != nil {
		return Campaign{}, fmt.Errorf("instantly create campaign %q: %w", spec.Name, err)
	}
	if out.ID == "" {
		return Campaign{}, fmt.Errorf("instantly create campaign %q: %w", spec.Name,
			&sequencer.Error{Provider: "instantly", Op: "create campaign", Message: "response has no id", UnknownOutcome: true})
	}
	return out, nil
}

// CreatedLead maps a created lead to its input index within the batch.
type CreatedLead struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Index int    `json:"index"`
}

// AddLeadsResponse is the documented bulk response; all fields optional.
type AddLeadsResponse struct {
	Status              string        `json:"status"`
	TotalSent           int           `json:"total_sent"`
	LeadsUploaded       int           `json:"leads_uploaded"`
	InBlocklist         int           `json:"in_blocklist"`
	BlocklistUsed       string        `json:"blocklist_used"`
	DuplicatedLeads     int           `json:"duplicated_leads"`
	SkippedCount        int           `json:"skipped_count"`
	InvalidEmailCount   int           `json:"invalid_email_count"`
	IncompleteCount     int           `json:"incomplete_count"`
	DuplicateEmailCount int           `json:"duplicate_email_count"`
	RemainingInPlan     *int          `json:"remaining_in_plan"`
	CreatedLeads        []CreatedLead `json:"created_leads"`
}

// BatchResult is one bulk request; CreatedLeads indexes are global.
type BatchResult struct {
	Start, End int
	Attempts   int
	Uncertain  bool // an earlier attempt had an unknown outcome (see smartlead.BatchResult)
	Response   AddLeadsResponse
}

// AddResult summarises AddLeads.
type AddResult struct {
	Batches  []BatchResult
	Uploaded int
	Skipped  int
	Requests int
	Created  []CreatedLead // Index is the position in the caller's slice
}

type apiLead struct {
	Email           string            `json:"email"`
	FirstName       string            `json:"first_name,omitempty"`
	LastName        string            `json:"last_name,omitempty"`
	CompanyName     string            `json:"company_name,omitempty"`
	Website         string            `json:"website,omitempty"`
	CustomVariables map[string]string `json:"custom_variables"`
}

// AddLeadsBody builds one /api/v2/leads/add body.
func (c *Client) AddLeadsBody(campaignID string, leads []sequencer.Lead) map[string]any {
	list := make([]apiLead, len(leads))
	for i, l := range leads {
		list[i] = apiLead{Email: l.Email, FirstName: l.FirstName, LastName: l.LastName,
			CompanyName: l.CompanyName, Website: l.Website, CustomVariables: l.CustomFields()}
	}
	b := map[string]any{"campaign_id": campaignID, "leads": list, "skip_if_in_campaign": true}
	if c.cfg.SkipIfInWorkspace {
		b["skip_if_in_workspace"] = true
	}
	if c.cfg.BlocklistID != "" {
		b["blocklist_id"] = c.cfg.BlocklistID
	}
	return b
}

// AddLeads bulk-adds leads in batches of at most 1000. skip_if_in_campaign
// makes retries safe. On error, the result holds the batches that succeeded.
func (c *Client) AddLeads(ctx context.Context, campaignID string, leads []sequencer.Lead) (AddResult, error) {
	var res AddResult
	for _, rg := range sequencer.Chunk(len(leads), c.batch) {
		var out AddLeadsResponse
		resp, err := c.post(ctx, "add leads", "/api/v2/leads/add", c.AddLeadsBody(campaignID, leads[rg[0]:rg[1]]), true, &out)
		if resp != nil {
			res.Requests += resp.Attempts
		} else {
			var se *sequencer.Error
			if errors.As(err, &se) {
				res.Requests += se.Attempts
			}
		}
		if err != nil {
			return res, fmt.Errorf("instantly campaign %s leads [%d,%d): %w", campaignID, rg[0], rg[1], err)
		}
		for i := range out.CreatedLeads {
			out.CreatedLeads[i].Index += rg[0]
		}
		res.Created = append(res.Created, out.CreatedLeads...)
		res.Batches = append(res.Batches, BatchResult{Start: rg[0], End: rg[1], Attempts: resp.Attempts, Uncertain: resp.Uncertain, Response: out})
		res.Uploaded += out.LeadsUploaded
		res.Skipped += out.SkippedCount
	}
	return res, nil
}

// ListPageSize is the leads/list page size (the documented maximum).
const ListPageSize = 100

// CampaignLeads lists the campaign's leads (POST /api/v2/leads/list with
// the campaign filter, cursor pages): lower-cased e-mail address →
// Instantly lead id. It is how an export reconciles an add call whose
// outcome was unknown. requests counts the HTTP attempts.
func (c *Client) CampaignLeads(ctx context.Context, campaignID string) (leads map[string]string, requests int, err error) {
	leads = map[string]string{}
	cursor := ""
	for {
		body := map[string]any{"campaign": campaignID, "limit": ListPageSize}
		if cursor != "" {
			body["starting_after"] = cursor
		}
		var page struct {
			Items []struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"items"`
			NextStartingAfter string `json:"next_starting_after"`
		}
		resp, err := c.post(ctx, "list leads", "/api/v2/leads/list", body, true, &page)
		if resp != nil {
			requests += resp.Attempts
		} else {
			var se *sequencer.Error
			if errors.As(err, &se) {
				requests += se.Attempts
			}
		}
		if err != nil {
			return leads, requests, fmt.Errorf("instantly campaign %s leads: %w", campaignID, err)
		}
		for _, it := range page.Items {
			if e := strings.ToLower(strings.TrimSpace(it.Email)); e != "" {
				leads[e] = it.ID
			}
		}
		if page.NextStartingAfter == "" || len(page.Items) == 0 || page.NextStartingAfter == cursor {
			return leads, requests, nil
		}
		cursor = page.NextStartingAfter
	}
}
