package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/store"
)

// Bounds of inline contacts (POST /api/v1/campaigns with "contacts").
const (
	MaxInlineContacts = 10000
	MaxInlineColumns  = 200
)

// campaignRequest is the JSON body of POST /api/v1/campaigns: exactly one
// of Contacts, CSV and BatchID.
type campaignRequest struct {
	Template   string           `json:"template"`    // template name
	TemplateID string           `json:"template_id"` // or its id; neither: the client's latest active template
	Contacts   []map[string]any `json:"contacts"`
	CSV        *string          `json:"csv"`
	BatchID    string           `json:"batch_id"`
}

// Campaign is a batch of contacts and its progress.
type Campaign struct {
	BatchID  string     `json:"batch_id"`
	Status   string     `json:"status"`   // queued, running, completed
	Progress float64    `json:"progress"` // (completed + failed) / total, 0..1
	Counts   countsJSON `json:"counts"`
	// NextRetryAt is the earliest retry of contacts waiting after a
	// retryable failure.
	NextRetryAt *time.Time `json:"next_retry_at,omitempty"`
	URL         string     `json:"url"`
	// Upload reports the contacts of a POST: what was read, imported,
	// rejected and already known.
	Upload *uploadJSON `json:"upload,omitempty"`
}

type countsJSON struct {
	Total     int `json:"total"`
	Pending   int `json:"pending"`
	Enriching int `json:"enriching"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Waiting   int `json:"waiting"`
	Stale     int `json:"stale"`
}

type uploadJSON struct {
	Read       int             `json:"read"`
	Imported   int             `json:"imported"`
	Rejected   []rejectedJSON  `json:"rejected"`
	Duplicates []duplicateJSON `json:"duplicates"`
}

// rejectedJSON is a contact the CSV rules refused. Inline contacts are
// named by their index in the array, CSV rows by their line.
type rejectedJSON struct {
	Index  *int              `json:"index,omitempty"`
	Line   int               `json:"line,omitempty"`
	Reason string            `json:"reason"`
	Fields map[string]string `json:"fields,omitempty"`
}

// duplicateJSON is a valid contact not imported because the client already
// has one with the same e-mail.
type duplicateJSON struct {
	Index     *int   `json:"index,omitempty"`
	Line      int    `json:"line,omitempty"`
	Email     string `json:"email"`
	ContactID string `json:"contact_id"`
	BatchID   string `json:"batch_id,omitempty"`
}

// Campaign statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusCompleted = "completed"
)

func campaignOf(batchID string, c store.Counts) Campaign {
	out := Campaign{
		BatchID: batchID, URL: Prefix + "/campaigns/" + batchID,
		Counts: countsJSON{Total: c.Total, Pending: c.Pending, Enriching: c.Enriching, Completed: c.Completed,
			Failed: c.Failed, Waiting: c.Waiting, Stale: c.Stale},
	}
	done := c.Completed + c.Failed
	switch {
	case c.Total > 0 && done >= c.Total:
		out.Status = StatusCompleted
	case done == 0 && c.Enriching == 0:
		out.Status = StatusQueued
	default:
		out.Status = StatusRunning
	}
	if c.Total > 0 {
		out.Progress = float64(done) / float64(c.Total)
	}
	if !c.NextRetry.IsZero() {
		t := c.NextRetry.UTC()
		out.NextRetryAt = &t
	}
	return out
}

// createCampaign: POST /api/v1/campaigns. The body is JSON (contacts
// inline, CSV text, or an uploaded batch's id) or a CSV file
// (Content-Type text/csv, the template in the query).
func (h *handler) createCampaign(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia, "bad Content-Type: "+err.Error())
		return
	}
	var req campaignRequest
	switch {
	case mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if !h.decode(w, r, &req, true) {
			return
		}
	case mt == "text/csv" || mt == "application/csv" || mt == "text/plain":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			h.bodyError(w, r, err)
			return
		}
		s := string(b)
		req.CSV = &s
		req.Template = r.URL.Query().Get("template")
		req.TemplateID = r.URL.Query().Get("template_id")
	default:
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia,
			"send application/json ({\"contacts\": [...]}, {\"csv\": \"...\"} or {\"batch_id\": \"...\"}) or text/csv")
		return
	}

	n := 0
	if req.Contacts != nil {
		n++
	}
	if req.CSV != nil {
		n++
	}
	if req.BatchID != "" {
		n++
	}
	if n != 1 {
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `give exactly one of "contacts" (an array of objects), "csv" (CSV text) and "batch_id"`)
		return
	}
	if req.BatchID != "" {
		if req.Template != "" || req.TemplateID != "" {
			writeError(w, http.StatusBadRequest, codeInvalidRequest, `"template" and "template_id" do not apply to an uploaded batch (its contacts have their template)`)
			return
		}
		h.startBatch(w, r, k, req.BatchID)
		return
	}

	templateID := strings.TrimSpace(req.TemplateID)
	switch {
	case req.Template != "" && templateID != "":
		writeError(w, http.StatusBadRequest, codeInvalidRequest, `give "template" (a name) or "template_id", not both`)
		return
	case templateID != "" && !queue.IsUUID(templateID):
		writeError(w, http.StatusNotFound, codeNotFound, "no template "+strconv.Quote(clip(templateID, 60))+" for this key's client")
		return
	case req.Template != "":
		t, err := h.cfg.Store.TemplateByName(r.Context(), k.ClientID, req.Template)
		if err != nil {
			h.storeError(w, r, err, "no template named "+strconv.Quote(clip(req.Template, 100))+" for this key's client")
			return
		}
		templateID = t.ID
	}

	var data []byte
	var index map[int]int // CSV line → contact index, for inline contacts
	var blank []rejectedJSON
	if req.CSV != nil {
		data = []byte(*req.CSV)
	} else {
		var msg string
		data, index, blank, msg = contactsCSV(req.Contacts)
		if msg != "" {
			writeError(w, http.StatusBadRequest, codeInvalidRequest, msg)
			return
		}
	}

	// The CSV rules first: a file nothing can be imported from never
	// reaches the database.
	f, err := contacts.Read(bytes.NewReader(data))
	var fe *contacts.FormatError
	if errors.As(err, &fe) {
		writeError(w, http.StatusUnprocessableEntity, codeUnprocessable, "the contacts cannot be read: "+contactsMessage(fe, index != nil))
		return
	} else if err != nil {
		h.storeError(w, r, err, "")
		return
	}
	up := &uploadJSON{Rejected: append(blank, rejected(f.Errors, index)...), Duplicates: []duplicateJSON{}}
	up.Read = len(f.Contacts) + len(f.Errors) + len(blank)
	if len(f.Contacts) == 0 {
		writeErrorDetails(w, http.StatusUnprocessableEntity, codeUnprocessable,
			fmt.Sprintf("no contact was imported: %d read, all rejected", up.Read), up)
		return
	}

	rep, err := h.cfg.Store.Upload(r.Context(), k.ClientID, templateID, bytes.NewReader(data))
	if err != nil {
		nf := ""
		if templateID != "" {
			nf = "no template " + templateID + " for this key's client"
		}
		h.storeError(w, r, err, nf)
		return
	}
	up.Imported = rep.Imported
	up.Rejected = append(blank, rejected(rep.RowErrors, index)...)
	slices.SortStableFunc(up.Rejected, func(a, b rejectedJSON) int {
		if a.Index != nil && b.Index != nil {
			return *a.Index - *b.Index
		}
		return a.Line - b.Line
	})
	up.Read = rep.Read + len(blank)
	for _, d := range rep.Duplicates {
		dj := duplicateJSON{Email: d.Email, ContactID: d.ContactID, BatchID: d.BatchID}
		dj.Index, dj.Line = where(d.Line, index)
		up.Duplicates = append(up.Duplicates, dj)
	}
	if rep.BatchID == "" || rep.Imported == 0 {
		writeErrorDetails(w, http.StatusUnprocessableEntity, codeUnprocessable,
			fmt.Sprintf("no contact was imported: %d read, %d rejected, %d already known", up.Read, len(up.Rejected), len(up.Duplicates)), up)
		return
	}
	h.cfg.Log.InfoContext(r.Context(), "api: campaign uploaded", "key_id", k.ID, "client_id", k.ClientID, "batch_id", rep.BatchID,
		"imported", rep.Imported, "rejected", len(up.Rejected), "duplicates", len(up.Duplicates))
	if h.cfg.Wake != nil {
		h.cfg.Wake(r.Context(), rep.BatchID)
	}
	c := campaignOf(rep.BatchID, store.Counts{Total: rep.Imported, Pending: rep.Imported})
	c.Upload = up
	w.Header().Set("Location", c.URL)
	writeJSON(w, http.StatusAccepted, c)
}

// startBatch answers POST /campaigns {"batch_id"}: contacts uploaded
// before (kaleads upload, a Supabase insert) are nudged to the worker.
func (h *handler) startBatch(w http.ResponseWriter, r *http.Request, k store.APIKey, batchID string) {
	c, ok := h.campaign(w, r, k, batchID)
	if !ok {
		return
	}
	if h.cfg.Wake != nil && c.Status != StatusCompleted {
		h.cfg.Wake(r.Context(), batchID)
	}
	w.Header().Set("Location", c.URL)
	writeJSON(w, http.StatusAccepted, c)
}

// getCampaign: GET /api/v1/campaigns/{id}.
func (h *handler) getCampaign(w http.ResponseWriter, r *http.Request, k store.APIKey) {
	if c, ok := h.campaign(w, r, k, r.PathValue("id")); ok {
		writeJSON(w, http.StatusOK, c)
	}
}

// campaign reads a batch of the key's client; another client's batch is
// not found, like one that does not exist.
func (h *handler) campaign(w http.ResponseWriter, r *http.Request, k store.APIKey, batchID string) (Campaign, bool) {
	batchID = strings.TrimSpace(batchID)
	notFound := "no campaign " + strconv.Quote(clip(batchID, 60)) + " for this key's client"
	if !queue.IsUUID(batchID) {
		writeError(w, http.StatusNotFound, codeNotFound, notFound)
		return Campaign{}, false
	}
	owner, err := h.cfg.Store.BatchClient(r.Context(), batchID)
	if err == nil && owner != k.ClientID {
		err = store.ErrNotFound
	}
	if err != nil {
		h.storeError(w, r, err, notFound)
		return Campaign{}, false
	}
	counts, err := h.cfg.Store.BatchCounts(r.Context(), batchID, h.cfg.StaleAfter)
	if err != nil {
		h.storeError(w, r, err, notFound)
		return Campaign{}, false
	}
	return campaignOf(batchID, counts), true
}

// contactsCSV writes inline contacts as CSV text for contacts.Read. Keys
// are mapped to their canonical column (contacts.Canonical: "Company",
// "Société" and "company_name" are one column), so objects may use
// different aliases; the header is the union of the columns, sorted.
// Values are strings, numbers, booleans or null. It returns the text, the
// line each contact starts on → its index, the contacts refused before
// reading (empty objects, which the reader would skip silently, and
// objects giving two values for one column), and a message when the
// request itself is wrong.
func contactsCSV(rows []map[string]any) (data []byte, index map[int]int, refused []rejectedJSON, msg string) {
	if len(rows) == 0 {
		return nil, nil, nil, `"contacts" is empty`
	}
	if len(rows) > MaxInlineContacts {
		return nil, nil, nil, fmt.Sprintf(`"contacts" has %d entries; at most %d per request (send more in several requests, or as CSV)`, len(rows), MaxInlineContacts)
	}
	canon := map[string]string{} // key → column
	var cols []string
	values := make([]map[string]string, len(rows)) // column → value, nil when refused
	for i, row := range rows {
		if row == nil {
			return nil, nil, nil, fmt.Sprintf("contacts[%d] is not an object", i)
		}
		keys := make([]string, 0, len(row))
		for k := range row {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		vals := make(map[string]string, len(row))
		from := make(map[string]string, len(row))
		reason := ""
		for _, k := range keys {
			v, ok := cellText(row[k])
			if !ok {
				return nil, nil, nil, fmt.Sprintf("contacts[%d].%s: a value must be a string, a number, a boolean or null", i, clip(k, 60))
			}
			col, known := canon[k]
			if !known {
				if col = contacts.Canonical(k); col == "" {
					col = k // the reader names it column_N
				}
				canon[k] = col
				if !slices.Contains(cols, col) {
					if cols = append(cols, col); len(cols) > MaxInlineColumns {
						return nil, nil, nil, fmt.Sprintf("the contacts have more than %d different fields", MaxInlineColumns)
					}
				}
			}
			if strings.TrimSpace(v) == "" {
				continue
			}
			if prev, dup := from[col]; dup && strings.TrimSpace(vals[col]) != strings.TrimSpace(v) {
				reason = fmt.Sprintf("fields %q and %q both mean %s and differ", prev, k, col)
				break
			}
			vals[col], from[col] = v, k
		}
		switch {
		case reason != "":
			refused = append(refused, rejectedJSON{Index: ptr(i), Reason: reason})
		case len(vals) == 0:
			refused = append(refused, rejectedJSON{Index: ptr(i), Reason: "the contact has no value"})
		default:
			values[i] = vals
		}
	}
	slices.Sort(cols)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(cols)
	cw.Flush()
	index = make(map[int]int, len(rows))
	cells := make([]string, len(cols))
	for i, vals := range values {
		if vals == nil {
			continue
		}
		for j, c := range cols {
			cells[j] = vals[c]
		}
		index[1+bytes.Count(buf.Bytes(), []byte{'\n'})] = i
		_ = cw.Write(cells)
		cw.Flush()
	}
	if err := cw.Error(); err != nil {
		return nil, nil, nil, err.Error()
	}
	return buf.Bytes(), index, refused, ""
}

func cellText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "", true
	}
	return "", false
}

func ptr[T any](v T) *T { return &v }

// where names a row by its contact index (inline contacts) or its line.
func where(line int, index map[int]int) (*int, int) {
	if index == nil {
		return nil, line
	}
	if i, ok := index[line]; ok {
		return ptr(i), 0
	}
	return nil, line
}

func rejected(errs []contacts.RowError, index map[int]int) []rejectedJSON {
	out := make([]rejectedJSON, 0, len(errs))
	for _, e := range errs {
		rj := rejectedJSON{Reason: e.Reason, Fields: e.Fields}
		rj.Index, rj.Line = where(e.Line, index)
		out = append(out, rj)
	}
	return out
}

// contactsMessage is a fatal reading problem in the caller's terms: inline
// contacts have no lines, only fields.
func contactsMessage(fe *contacts.FormatError, inline bool) string {
	if inline {
		return fe.Reason
	}
	return strings.TrimPrefix(fe.Error(), "contacts: ")
}

// decode reads a JSON body into v: unknown fields, trailing data and a
// body over the bound are errors the caller sees. An empty body leaves v
// alone unless required.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any, required bool) bool {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		h.bodyError(w, r, err)
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if required {
			writeError(w, http.StatusBadRequest, codeInvalidRequest, "the request body is empty: a JSON object is expected")
			return false
		}
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "the body is not the JSON expected: "+jsonMessage(err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "the body has data after its JSON value")
		return false
	}
	return true
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("want %s, got %s", te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// bodyError answers a failure to read the body.
func (h *handler) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		tooLarge(w, mbe.Limit)
		return
	}
	writeError(w, http.StatusBadRequest, codeInvalidRequest, "the request body could not be read")
}

// clip shortens s to at most n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
