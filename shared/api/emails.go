package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/store"
)

// Email is an email in a list.
type Email struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	ClientName   string    `json:"client_name"`
	TemplateID   string    `json:"template_id"`
	BatchID      string    `json:"batch_id,omitempty"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	ContactEmail string    `json:"contact_email"`
	CompanyName  string    `json:"company_name"`
	JobTitle     string    `json:"job_title"`
	Website      string    `json:"website"`
	Subject      string    `json:"subject"`
	Score        int       `json:"score"`
	Gated        bool      `json:"gated"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"created_at"`
}

// EmailDetail is one email with its text, variables and quality.
type EmailDetail struct {
	Email
	Body             string                    `json:"body"`
	FinalSubject     string                    `json:"final_subject"`
	FinalBody        string                    `json:"final_body"`
	Variables        map[string]email.Variable `json:"variables"`
	Quality          email.Report              `json:"quality"`
	ReviewedAt       *time.Time                `json:"reviewed_at,omitempty"`
	ReviewerID       string                    `json:"reviewer_id,omitempty"`
	RejectionReason  string                    `json:"rejection_reason,omitempty"`
	RejectionDetails string                    `json:"rejection_details,omitempty"`
	// The export that confirmed the email (status sent).
	SentAt          *time.Time `json:"sent_at,omitempty"`
	CampaignID      string     `json:"campaign_id,omitempty"`
	CampaignName    string     `json:"campaign_name,omitempty"`
	SequencerLeadID string     `json:"sequencer_lead_id,omitempty"`
}

// EmailPage is a page of GET /api/v1/emails.
type EmailPage struct {
	Data []Email `json:"data"`
	// NextCursor is the "after" of the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
	// Next is the URL of the next page (the same filters); empty on the
	// last page.
	Next    string `json:"next,omitempty"`
	HasMore bool   `json:"has_more"`
}

func emailOf(s store.EmailSummary) Email {
	return Email{ID: s.ID, ClientID: s.ClientID, ClientName: s.ClientName, TemplateID: s.TemplateID, BatchID: s.BatchID,
		FirstName: s.FirstName, LastName: s.LastName, ContactEmail: s.ContactEmail, CompanyName: s.CompanyName,
		JobTitle: s.JobTitle, Website: s.Website, Subject: s.Subject, Score: s.Score, Gated: s.Gated, Status: s.Status,
		CreatedAt: s.CreatedAt.UTC()}
}

func detailOf(d store.EmailDetail) EmailDetail {
	out := EmailDetail{Email: emailOf(d.EmailSummary), Body: d.Body, FinalSubject: d.FinalSubject, FinalBody: d.Final,
		Variables: d.Variables, Quality: d.Quality, ReviewerID: d.ReviewerID,
		RejectionReason: d.RejectionReason, RejectionDetails: d.RejectionDetails,
		CampaignID: d.CampaignID, CampaignName: d.CampaignName, SequencerLeadID: d.SequencerLeadID}
	if out.Variables == nil {
		out.Variables = map[string]email.Variable{}
	}
	if out.Quality.Flags == nil {
		out.Quality.Flags = []email.Flag{}
	}
	if !d.ReviewedAt.IsZero() {
		t := d.ReviewedAt.UTC()
		out.ReviewedAt = &t
	}
	if !d.SentAt.IsZero() {
		t := d.SentAt.UTC()
		out.SentAt = &t
	}
	return out
}

// Review statuses a list may ask for ("" = pending_review).
var statuses = []string{"pending_review", "approved", "approved_edited", "rejected", "sent", "any"}

// RejectionReasons are the reasons a rejection may give (the database's
// rejection_reason enum).
var RejectionReasons = []string{"wrong_persona", "incorrect_competitor", "grammar_issues", "tone_too_corporate",
	"incorrect_info", "low_quality", "other"}

// Bounds of the list and of decision texts.
const (
	DefaultLimit  = 50
	MaxLimit      = 200
	MaxTextFilter = 200
	MaxSubject    = 1000     // bytes
	MaxEmailBody  = 64 << 10 // bytes
	MaxDetails    = 4000     // bytes
)

// listEmails: GET /api/v1/emails.
func (h *handler) listEmails(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	f, msg := emailFilter(r.URL.Query())
	if msg != "" {
		writeError(w, http.StatusBadRequest, codeInvalidRequest, msg)
		return
	}
	items, next, err := h.cfg.Store.Emails(r.Context(), scope(k), f)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			writeError(w, http.StatusBadRequest, codeInvalidRequest, userMessage(err))
			return
		}
		h.storeError(w, r, err, "")
		return
	}
	page := EmailPage{Data: make([]Email, 0, len(items)), NextCursor: next, HasMore: next != ""}
	for _, it := range items {
		page.Data = append(page.Data, emailOf(it))
	}
	if next != "" {
		q := r.URL.Query()
		q.Set("after", next)
		page.Next = Prefix + "/emails?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, page)
}

// emailFilter reads the list's query parameters; a message says what is
// wrong.
func emailFilter(q url.Values) (store.EmailFilter, string) {
	f := store.EmailFilter{
		ClientID: strings.TrimSpace(q.Get("client_id")), TemplateID: strings.TrimSpace(q.Get("template_id")),
		BatchID: strings.TrimSpace(q.Get("batch_id")), Status: strings.TrimSpace(q.Get("status")),
		Text: strings.TrimSpace(q.Get("q")), After: q.Get("after"), Limit: DefaultLimit,
	}
	for name, id := range map[string]string{"client_id": f.ClientID, "template_id": f.TemplateID, "batch_id": f.BatchID} {
		if id != "" && !queue.IsUUID(id) {
			return f, fmt.Sprintf("%s %q is not a UUID", name, clip(id, 60))
		}
	}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		return f, fmt.Sprintf("status %q: want one of %s", clip(f.Status, 40), strings.Join(statuses, ", "))
	}
	if utf8.RuneCountInString(f.Text) > MaxTextFilter {
		return f, fmt.Sprintf("q is longer than %d characters", MaxTextFilter)
	}
	if len(f.After) > 1000 {
		return f, "after is not a cursor of this API"
	}
	var msg string
	num := func(name string, lo, hi int) int {
		s := strings.TrimSpace(q.Get(name))
		if s == "" || msg != "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			msg = fmt.Sprintf("%s %q: want a whole number from %d to %d", name, clip(s, 20), lo, hi)
		}
		return n
	}
	if v := num("limit", 1, MaxLimit); v > 0 {
		f.Limit = v
	}
	f.MinScore = num("min_score", 0, 100)
	f.MaxScore = num("max_score", 1, 100) // the store reads 0 as no bound
	if msg != "" {
		return f, msg
	}
	if f.MaxScore > 0 && f.MaxScore < f.MinScore {
		return f, "max_score is below min_score"
	}
	var err error
	if f.From, err = timeParam(q.Get("from"), false); err != nil {
		return f, "from: " + err.Error()
	}
	if f.To, err = timeParam(q.Get("to"), true); err != nil {
		return f, "to: " + err.Error()
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, "to is not after from: the range is empty"
	}
	return f, ""
}

// timeParam reads an RFC 3339 time or a date (YYYY-MM-DD, UTC); a date as
// the (exclusive) end of a range means the next midnight: through that day.
func timeParam(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (2026-12-02) or an RFC 3339 time (2026-12-02T09:00:00Z)", clip(s, 40))
	}
	if end {
		d = d.Add(24 * time.Hour)
	}
	return d, nil
}

// getEmail: GET /api/v1/emails/{id}.
func (h *handler) getEmail(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	id, ok := emailID(w, r)
	if !ok {
		return
	}
	d, err := h.cfg.Store.Email(r.Context(), scope(k), id)
	if err != nil {
		h.storeError(w, r, err, emailNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, detailOf(d))
}

func emailNotFound(id string) string {
	return "no email " + strconv.Quote(clip(id, 60)) + " for this key's client"
}

func emailID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !queue.IsUUID(id) {
		writeError(w, http.StatusNotFound, codeNotFound, emailNotFound(id))
		return "", false
	}
	return id, true
}

type approveRequest struct{}

type editRequest struct {
	Subject *string `json:"subject"`
	Body    string  `json:"body"`
}

type rejectRequest struct {
	Reason  string `json:"reason"`
	Details string `json:"details"`
	// Variable, optional: the template variable the rejection is about,
	// one of the email's variables (its "variables" keys).
	Variable string `json:"variable"`
}

// approve: POST /api/v1/emails/{id}/approve (the body, if any, is {}).
func (h *handler) approve(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	id, ok := emailID(w, r)
	if !ok || !h.decode(w, r, &approveRequest{}, false) {
		return
	}
	h.decide(w, r, k, store.Decision{EmailID: id, Action: "approve"})
}

// edit: POST /api/v1/emails/{id}/edit. Saving approves the email as
// approved_edited; a subject left out keeps the generated one.
func (h *handler) edit(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	id, ok := emailID(w, r)
	var req editRequest
	if !ok || !h.decode(w, r, &req, true) {
		return
	}
	body := strings.TrimSpace(req.Body)
	switch {
	case body == "":
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `"body" is required: the edited text of the email`)
		return
	case len(body) > MaxEmailBody:
		writeError(w, http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf(`"body" is longer than %d bytes`, MaxEmailBody))
		return
	case req.Subject != nil && strings.TrimSpace(*req.Subject) == "":
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `"subject" is empty: leave it out to keep the current one`)
		return
	case req.Subject != nil && (len(*req.Subject) > MaxSubject || strings.ContainsAny(*req.Subject, "\r\n")):
		writeError(w, http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf(`"subject" must be one line of at most %d bytes`, MaxSubject))
		return
	}
	var subject string // "": the store keeps the generated subject
	if req.Subject != nil {
		subject = strings.TrimSpace(*req.Subject)
	}
	h.decide(w, r, k, store.Decision{EmailID: id, Action: "edit", Subject: subject, Body: body})
}

// reject: POST /api/v1/emails/{id}/reject.
func (h *handler) reject(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	id, ok := emailID(w, r)
	var req rejectRequest
	if !ok || !h.decode(w, r, &req, true) {
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case !slices.Contains(RejectionReasons, req.Reason):
		writeError(w, http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf(`"reason" %q: want one of %s`, clip(req.Reason, 40), strings.Join(RejectionReasons, ", ")))
		return
	case len(strings.TrimSpace(req.Details)) > MaxDetails:
		writeError(w, http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf(`"details" is longer than %d bytes`, MaxDetails))
		return
	}
	variable := strings.TrimSpace(req.Variable)
	if variable != "" {
		e, err := h.cfg.Store.Email(r.Context(), scope(k), id)
		if err != nil {
			h.storeError(w, r, err, emailNotFound(id))
			return
		}
		if _, ok := e.Variables[variable]; !ok {
			names := slices.Sorted(maps.Keys(e.Variables))
			writeErrorDetails(w, http.StatusBadRequest, codeInvalidRequest,
				fmt.Sprintf(`"variable" %q is not one of the email's variables (%s)`, clip(variable, 70), strings.Join(names, ", ")),
				map[string]any{"variable": clip(variable, 70), "variables": names})
			return
		}
	}
	h.decide(w, r, k, store.Decision{EmailID: id, Action: "reject", Reason: req.Reason, Details: strings.TrimSpace(req.Details), Variable: variable})
}

// decide records a decision made with the key ("api:<key id>"); an email
// no longer pending review is a 409 naming its status.
func (h *handler) decide(w http.ResponseWriter, r *http.Request, k store.APIKey, d store.Decision) {
	d.Via = "api:" + k.ID
	out, err := h.cfg.Store.Decide(r.Context(), scope(k), d)
	if errors.Is(err, store.ErrConflict) {
		details := map[string]string{}
		msg := "the email is no longer pending review"
		if cur, cerr := h.cfg.Store.Email(r.Context(), scope(k), d.EmailID); cerr == nil {
			details["status"] = cur.Status
			msg = "the email is already " + cur.Status + ": only a pending_review email can be decided"
		}
		writeErrorDetails(w, http.StatusConflict, codeConflict, msg, details)
		return
	}
	if err != nil {
		h.storeError(w, r, err, emailNotFound(d.EmailID))
		return
	}
	det := detailOf(out)
	h.cfg.Log.InfoContext(r.Context(), "api: email decided", "key_id", k.ID, "email_id", d.EmailID, "action", d.Action, "status", det.Status)
	if h.cfg.Notifier != nil {
		h.cfg.Notifier.Send(r.Context(), EventEmailDecided, map[string]any{
			"client_id": k.ClientID, "email_id": d.EmailID, "action": d.Action, "via": d.Via, "email": det,
		})
	}
	writeJSON(w, http.StatusOK, det)
}
