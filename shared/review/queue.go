package review

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
)

// pageSize is the queue's page length (the plan: 50 emails a page).
const pageSize = 50

// filterView is the queue's filters as typed (echoed in the form) and as
// the store reads them.
type filterView struct {
	Client, Template, Batch, From, To, Min, Max, Q string
	F                                              store.EmailFilter
	Problems                                       []string
}

const dateLayout = "2006-01-02"

// parseFilter reads the filters from a query string or a form. Dates are
// whole UTC days, To included.
func parseFilter(v url.Values) filterView {
	fv := filterView{
		Client: clip(v.Get("client"), 64), Template: clip(v.Get("template"), 64), Batch: clip(v.Get("batch"), 64),
		From: clip(v.Get("from"), 10), To: clip(v.Get("to"), 10),
		Min: clip(v.Get("min"), 3), Max: clip(v.Get("max"), 3), Q: clip(strings.TrimSpace(v.Get("q")), 200),
	}
	fv.F = store.EmailFilter{Text: fv.Q}
	id := func(s, name string) string {
		if s != "" && !isUUID(s) {
			fv.Problems = append(fv.Problems, "the "+name+" is not an id (a UUID): ignored")
			return ""
		}
		return strings.ToLower(s)
	}
	fv.F.ClientID, fv.F.TemplateID, fv.F.BatchID = id(fv.Client, "client"), id(fv.Template, "template"), id(fv.Batch, "batch")
	if fv.From != "" {
		if t, err := time.Parse(dateLayout, fv.From); err == nil {
			fv.F.From = t
		} else {
			fv.Problems = append(fv.Problems, "“from” is not a date (YYYY-MM-DD): ignored")
		}
	}
	if fv.To != "" {
		if t, err := time.Parse(dateLayout, fv.To); err == nil {
			fv.F.To = t.AddDate(0, 0, 1) // the store's To is exclusive
		} else {
			fv.Problems = append(fv.Problems, "“to” is not a date (YYYY-MM-DD): ignored")
		}
	}
	score := func(s, name string) int {
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			fv.Problems = append(fv.Problems, "the "+name+" score is not a number from 0 to 100: ignored")
			return 0
		}
		return n
	}
	fv.F.MinScore = score(fv.Min, "minimum")
	fv.F.MaxScore = score(fv.Max, "maximum")
	if fv.F.MaxScore > 0 && fv.F.MinScore > fv.F.MaxScore {
		fv.Problems = append(fv.Problems, "the minimum score is above the maximum: the score range is ignored")
		fv.F.MinScore, fv.F.MaxScore = 0, 0
	}
	return fv
}

// isUUID reports whether s is a UUID in its text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// clip cuts s to n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Values are the non-empty filters, for links and hidden fields.
func (fv filterView) Values() url.Values {
	v := url.Values{}
	for _, kv := range fv.Fields() {
		v.Set(kv.Name, kv.Value)
	}
	return v
}

type field struct{ Name, Value string }

// Fields are the non-empty filters in a stable order.
func (fv filterView) Fields() []field {
	var out []field
	for _, kv := range []field{{"client", fv.Client}, {"template", fv.Template}, {"batch", fv.Batch},
		{"from", fv.From}, {"to", fv.To}, {"min", fv.Min}, {"max", fv.Max}, {"q", fv.Q}} {
		if kv.Value != "" {
			out = append(out, kv)
		}
	}
	return out
}

// queueHref is the queue page for these filters, optionally at a cursor
// and with an email selected.
func (fv filterView) queueHref(after, selected string) string {
	v := fv.Values()
	if after != "" {
		v.Set("after", after)
	}
	if selected != "" {
		v.Set("email", selected)
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

type option struct {
	Value, Label string
	Selected     bool
}

// clientOptions are the clients a user may pick: its memberships, plus
// the selected client and the clients seen on the page (an admin sees
// every client but has no list of them).
func clientOptions(u store.User, selected string, seen []store.EmailSummary) []option {
	var opts []option
	have := map[string]bool{}
	add := func(id, name string) {
		if id == "" || have[id] {
			return
		}
		have[id] = true
		if name == "" {
			name = id
		}
		opts = append(opts, option{Value: id, Label: name, Selected: id == selected})
	}
	for _, m := range u.Clients {
		add(m.ClientID, m.ClientName)
	}
	for _, e := range seen {
		add(e.ClientID, e.ClientName)
	}
	add(selected, "")
	slices.SortFunc(opts, func(a, b option) int { return strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)) })
	return opts
}

type queueView struct {
	Filter     filterView
	Clients    []option
	Rows       []rowView
	NextHref   string
	FirstHref  string
	Paged      bool // not the first page
	Card       cardView
	Standalone bool // one email's page, no queue
}

type rowView struct {
	store.EmailSummary
	Badge, Href, CardURL string
	Current              bool
}

func rowsOf(items []store.EmailSummary, fv filterView, after, current string) []rowView {
	rows := make([]rowView, 0, len(items))
	for _, e := range items {
		rows = append(rows, rowView{EmailSummary: e, Badge: badgeClass(e.Score),
			Href: fv.queueHref(after, e.ID), CardURL: "/emails/" + url.PathEscape(e.ID), Current: e.ID == current})
	}
	return rows
}

// cardView is one email as the card shows it.
type cardView struct {
	Empty   bool
	E       store.EmailDetail
	Badge   string
	Pending bool
	// Subject and Body are the text that would be sent: the reviewer's
	// version once edited.
	Subject, Body string
	Edited        bool
	Website       string // http(s) link or ""
	Vars, Columns []varView
	Shown         string // when the card was rendered (unix ms): time-to-decision
	CSRF          string
	Reasons       []reasonOption
	// Variables are the email's variables a rejection may name.
	Variables []option
	URL       string // /emails/{id}
	// Set when a decision was refused: the panel to reopen, what was typed
	// and why it was refused.
	Open, Error                            string
	EditSubject, EditBody, Reason, Details string
	// Variable is the reject form's variable: "" = the reason's obvious
	// one, variableNone = none, else one of Variables.
	Variable string
}

// reasonOption is a rejection reason in the reject form, with the variable
// it is obviously about (the form picks it when the reason is chosen).
type reasonOption struct {
	option
	Variable string
}

// variableNone is the reject form's "no particular variable".
const variableNone = "none"

type varView struct {
	Name, Value, Agent, Engine, Reasoning, FallbackReason, LevelName string
	Confidence, Level                                                int
	Cached                                                           bool
	Evidence                                                         []evidenceView
}

type evidenceView struct{ Quote, URL, Host string }

var levelNames = map[int]string{
	email.LevelSite:     "found on the site",
	email.LevelInferred: "inferred",
	email.LevelContext:  "client context",
	email.LevelDefault:  "generic default",
}

// safeURL returns u when it is an absolute http(s) URL (a bare domain gets
// https://), else "".
func safeURL(u string) (string, string) {
	u = strings.TrimSpace(u)
	if u == "" {
		return "", ""
	}
	if !strings.Contains(u, "://") {
		u = "https://" + u
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", ""
	}
	return p.String(), p.Host
}

func (h *handler) card(s *session, e store.EmailDetail) cardView {
	c := cardView{E: e, Badge: badgeClass(e.Score), Pending: e.Status == statusPending,
		Subject: e.Subject, Body: e.Body, CSRF: s.csrf, URL: "/emails/" + url.PathEscape(e.ID),
		Shown: strconv.FormatInt(h.now().UnixMilli(), 10)}
	if e.Final != "" {
		c.Body, c.Edited = e.Final, true
	}
	if e.FinalSubject != "" {
		c.Subject, c.Edited = e.FinalSubject, true
	}
	c.EditSubject, c.EditBody = c.Subject, c.Body
	c.Website, _ = safeURL(e.Website)
	names := make([]string, 0, len(e.Variables))
	for n := range e.Variables {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := e.Variables[n]
		vv := varView{Name: n, Value: v.Value, Agent: v.Agent, Engine: v.Engine, Reasoning: v.Reasoning,
			FallbackReason: v.FallbackReason, Confidence: v.Confidence, Level: v.FallbackLevel,
			LevelName: levelNames[v.FallbackLevel], Cached: v.Cached}
		for _, ev := range v.Evidence {
			link, host := safeURL(ev.URL)
			vv.Evidence = append(vv.Evidence, evidenceView{Quote: ev.Quote, URL: link, Host: host})
		}
		if v.Agent == "" {
			c.Columns = append(c.Columns, vv)
		} else {
			c.Vars = append(c.Vars, vv)
		}
	}
	for _, r := range rejectionReasons {
		c.Reasons = append(c.Reasons, reasonOption{option: option{Value: r.Code, Label: r.Label}, Variable: reasonVariable(r.Code, e.Variables)})
	}
	for _, n := range names {
		c.Variables = append(c.Variables, option{Value: n, Label: n})
	}
	return c
}

// withReason marks the chosen reason and variable in the card's selects.
func (c *cardView) withReason(code, variable string) {
	c.Reason, c.Variable = code, variable
	for i := range c.Reasons {
		c.Reasons[i].Selected = c.Reasons[i].Value == code
	}
	for i := range c.Variables {
		c.Variables[i].Selected = c.Variables[i].Value == variable
	}
}

// queuePage: GET / — the emails waiting for review, worst score first, and
// the selected (or first) one's card.
func (h *handler) queuePage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	fv := parseFilter(q)
	after := clip(q.Get("after"), 512)
	f := fv.F
	f.After, f.Limit = after, pageSize
	sc := s.user.Scope()
	items, next, err := h.cfg.Store.Emails(r.Context(), sc, f)
	if errors.Is(err, store.ErrInvalid) && f.After != "" {
		// A stale or mangled page link: start from the first page.
		fv.Problems = append(fv.Problems, "the page link is not valid: showing the first page")
		f.After, after = "", ""
		items, next, err = h.cfg.Store.Emails(r.Context(), sc, f)
	}
	if errors.Is(err, store.ErrNotFound) && f.ClientID != "" {
		fv.Problems = append(fv.Problems, "that client is not one of yours: showing every client")
		fv.Client, f.ClientID, fv.F.ClientID = "", "", ""
		items, next, err = h.cfg.Store.Emails(r.Context(), sc, f)
	}
	if err != nil {
		h.serverError(w, r, "queue", err)
		return
	}
	v := queueView{Filter: fv, Clients: clientOptions(s.user, fv.Client, items), Paged: after != "",
		FirstHref: fv.queueHref("", "")}
	if next != "" {
		v.NextHref = fv.queueHref(next, "")
	}
	selected := clip(q.Get("email"), 64)
	if selected == "" && len(items) > 0 {
		selected = items[0].ID
	}
	v.Rows = rowsOf(items, fv, after, selected)
	if selected == "" {
		v.Card = cardView{Empty: true}
	} else {
		e, ok := h.email(w, r, s, sc, selected)
		if !ok {
			return
		}
		v.Card = h.card(s, e)
	}
	h.render(w, r, http.StatusOK, "queue", h.newPage(s, "queue", "Review queue", v))
}

// email loads one email in scope sc; an unknown or out-of-scope id
// answers 404 and another error 500, and ok is false then.
func (h *handler) email(w http.ResponseWriter, r *http.Request, s *session, sc store.Scope, id string) (e store.EmailDetail, ok bool) {
	e, err := h.cfg.Store.Email(r.Context(), sc, id)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r, s)
		return e, false
	}
	if err != nil {
		h.serverError(w, r, "email", err)
		return e, false
	}
	return e, true
}

// emailCard: GET /emails/{id} — the card alone for htmx, else a page with
// that email.
func (h *handler) emailCard(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := h.email(w, r, s, s.user.Scope(), r.PathValue("id"))
	if !ok {
		return
	}
	h.respondCard(w, r, s, http.StatusOK, h.card(s, e), nil)
}

// respondCard answers with a card: the fragment (and notice) for htmx, a
// page otherwise.
func (h *handler) respondCard(w http.ResponseWriter, r *http.Request, s *session, status int, c cardView, n *notice) {
	if isHTMX(r) {
		frags := []fragment{{"card", c}}
		if n != nil {
			frags = append(frags, fragment{"notice-oob", n})
		}
		h.renderFragments(w, r, status, frags...)
		return
	}
	p := h.newPage(s, "queue", "Email", queueView{Standalone: true, Card: c})
	p.Notice = n
	h.render(w, r, status, "queue", p)
}

func (h *handler) approve(w http.ResponseWriter, r *http.Request, s *session) {
	h.decide(w, r, s, store.Decision{Action: "approve"}, nil)
}

// Limits of what a reviewer writes, in characters (within the store's
// limits in bytes: 1,000 for a subject, 64 KiB for a body, 4,000 for the
// details, whatever the characters).
const (
	maxSubject = 250
	maxBody    = 16000
	maxDetails = 1000
)

func (h *handler) edit(w http.ResponseWriter, r *http.Request, s *session) {
	subject := strings.TrimSpace(r.PostForm.Get("subject"))
	body := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("body"), "\r\n", "\n"))
	var problem string
	switch {
	case subject == "" || body == "":
		problem = "The subject and the body must not be empty."
	case !utf8.ValidString(subject) || !utf8.ValidString(body):
		problem = "The text is not valid UTF-8."
	case utf8.RuneCountInString(subject) > maxSubject || strings.ContainsAny(subject, "\r\n"):
		problem = "The subject must be one line of at most 250 characters."
	case utf8.RuneCountInString(body) > maxBody:
		problem = "The body is too long (16,000 characters at most)."
	}
	if problem != "" {
		h.refuse(w, r, s, func(c *cardView) { c.Open, c.Error, c.EditSubject, c.EditBody = "edit", problem, subject, body })
		return
	}
	h.decide(w, r, s, store.Decision{Action: "edit", Subject: subject, Body: body}, func(cur store.EmailDetail) bool {
		// Saving the text unchanged is an approval, not an edit.
		c := h.card(s, cur)
		return subject == strings.TrimSpace(c.Subject) && body == strings.TrimSpace(strings.ReplaceAll(c.Body, "\r\n", "\n"))
	})
}

// reject: the reason, details and the variable the rejection is about:
// one of the email's variables, variableNone, or "" for the reason's
// obvious one (target_persona for a wrong persona, competitor_name for an
// incorrect competitor, when the email has it; else none).
func (h *handler) reject(w http.ResponseWriter, r *http.Request, s *session) {
	reason := r.PostForm.Get("reason")
	details := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("details"), "\r\n", "\n"))
	variable := strings.TrimSpace(r.PostForm.Get("variable"))
	e, ok := h.email(w, r, s, s.user.Scope(), r.PathValue("id"))
	if !ok {
		return
	}
	_, known := e.Variables[variable]
	var problem string
	switch {
	case !validReason(reason):
		problem = "Choose a rejection reason."
	case reason == "other" && details == "":
		problem = "Say why in the details when the reason is “other”."
	case !utf8.ValidString(details) || utf8.RuneCountInString(details) > maxDetails:
		problem = "The details are too long (1,000 characters at most)."
	case variable != "" && variable != variableNone && !known:
		problem = "Choose one of the email's variables, or none."
		variable = ""
	}
	if problem != "" {
		h.refuse(w, r, s, func(c *cardView) {
			c.Open, c.Error, c.Details = "reject", problem, details
			c.withReason(reason, variable)
		})
		return
	}
	switch variable {
	case "":
		variable = reasonVariable(reason, e.Variables)
	case variableNone:
		variable = ""
	}
	h.decide(w, r, s, store.Decision{Action: "reject", Reason: reason, Details: details, Variable: variable}, nil)
}

// refuse re-renders the card with the panel reopened and the problem
// (422), storing nothing.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, s *session, set func(*cardView)) {
	e, ok := h.email(w, r, s, s.user.Scope(), r.PathValue("id"))
	if !ok {
		return
	}
	c := h.card(s, e)
	set(&c)
	h.respondCard(w, r, s, http.StatusUnprocessableEntity, c, &notice{Kind: "error", Message: c.Error})
}

// shownAt reads the card's render time, bounded to the last day (a
// forged or stale value only skews the reviewer's own review time).
func (h *handler) shownAt(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	t, now := time.UnixMilli(ms), h.now()
	if t.After(now) || now.Sub(t) > 24*time.Hour {
		return time.Time{}
	}
	return t
}

var actionDone = map[string]string{"approve": "Approved", "edit": "Edited and approved", "reject": "Rejected"}

// decide records a decision and answers with the next card. unchanged,
// when set, turns an edit into an approval when the text is the same.
func (h *handler) decide(w http.ResponseWriter, r *http.Request, s *session, d store.Decision, unchanged func(store.EmailDetail) bool) {
	ctx, sc := r.Context(), s.user.Scope()
	d.EmailID, d.ReviewerID, d.Via = r.PathValue("id"), s.user.ID, "ui"
	d.ShownAt = h.shownAt(r.PostForm.Get("shown"))
	if unchanged != nil {
		cur, ok := h.email(w, r, s, sc, d.EmailID)
		if !ok {
			return
		}
		if unchanged(cur) {
			d.Action, d.Subject, d.Body = "approve", "", ""
		}
	}
	done, err := h.cfg.Store.Decide(ctx, sc, d)
	status := http.StatusOK
	var n *notice
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.notFound(w, r, s)
		return
	case errors.Is(err, store.ErrInvalid):
		h.refuse(w, r, s, func(c *cardView) {
			c.Error = "The decision was refused: check the text (the body must not be empty, the subject is one line) and the reason."
			if d.Action == "edit" {
				c.Open, c.EditSubject, c.EditBody = "edit", d.Subject, d.Body
			} else if d.Action == "reject" {
				c.Open, c.Details = "reject", d.Details
				c.withReason(d.Reason, d.Variable)
			}
		})
		return
	case errors.Is(err, store.ErrConflict):
		// Someone else decided first: say so and move on.
		status = http.StatusConflict
		cur, cerr := h.cfg.Store.Email(ctx, sc, d.EmailID)
		if cerr != nil {
			h.serverError(w, r, "email", cerr)
			return
		}
		done = cur
		n = &notice{Kind: "warn", Message: "Not saved: this email was already decided (" + statusLabel(cur.Status) + "). Here is the next one."}
	case err != nil:
		h.serverError(w, r, "decide", err)
		return
	default:
		who := strings.TrimSpace(done.FirstName + " " + done.LastName)
		if done.CompanyName != "" {
			who += " (" + done.CompanyName + ")"
		}
		n = &notice{Kind: "ok", Message: actionDone[d.Action] + ": " + who + ". Press u to undo."}
	}
	h.advance(w, r, s, status, done.ID, n)
}

func statusLabel(s string) string {
	switch s {
	case "pending_review":
		return "pending review"
	case "approved_edited":
		return "edited and approved"
	}
	return strings.ReplaceAll(s, "_", " ")
}

// advance answers an action that takes an email out of the queue: the
// next card, the row removed and a notice (htmx), or back to the queue.
func (h *handler) advance(w http.ResponseWriter, r *http.Request, s *session, status int, goneID string, n *notice) {
	fv := parseFilter(r.PostForm)
	if !isHTMX(r) {
		http.Redirect(w, r, fv.queueHref("", ""), http.StatusSeeOther)
		return
	}
	next, refill, cursor, err := h.nextCard(r.Context(), s, r.PostForm["queued"], goneID, fv)
	if err != nil {
		h.serverError(w, r, "next email", err)
		return
	}
	// The queue page's list sends list=1: the standalone email page has no
	// list to update (htmx would log a missing target).
	hasList := r.PostForm.Get("list") == "1"
	frags := []fragment{{"card", next}}
	if hasList {
		frags = append(frags, fragment{"row-delete", goneID})
	}
	if refill != nil && hasList {
		v := queueView{Filter: fv, Rows: rowsOf(refill, fv, "", next.E.ID)}
		if cursor != "" {
			v.NextHref = fv.queueHref(cursor, "")
		}
		frags = append(frags, fragment{"queue-list-oob", v}, fragment{"pager-oob", v})
	}
	if n != nil {
		frags = append(frags, fragment{"notice-oob", n})
	}
	h.renderFragments(w, r, status, frags...)
}

// nextCard picks the email to show after goneID: the next one still
// pending in the list on screen (queued, in order; then the ones above
// it), else the first of a fresh page of the queue (refill, to replace the
// list), else an empty card.
func (h *handler) nextCard(ctx context.Context, s *session, queued []string, goneID string, fv filterView) (c cardView, refill []store.EmailSummary, cursor string, err error) {
	sc := s.user.Scope()
	if len(queued) > pageSize {
		queued = queued[:pageSize]
	}
	var cands []string
	if i := slices.Index(queued, goneID); i >= 0 {
		cands = append(cands, queued[i+1:]...)
		for j := i - 1; j >= 0; j-- {
			cands = append(cands, queued[j])
		}
	} else {
		cands = queued
	}
	tries := 0
	for _, id := range cands {
		if id == goneID || id == "" {
			continue
		}
		if tries++; tries > 5 {
			break
		}
		e, err := h.cfg.Store.Email(ctx, sc, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return c, nil, "", err
		}
		if e.Status == statusPending {
			return h.card(s, e), nil, "", nil
		}
	}
	f := fv.F
	f.Limit = pageSize
	items, cursor, err := h.cfg.Store.Emails(ctx, sc, f)
	if err != nil {
		return c, nil, "", err
	}
	items = slices.DeleteFunc(items, func(e store.EmailSummary) bool { return e.ID == goneID })
	if len(items) == 0 {
		return cardView{Empty: true}, []store.EmailSummary{}, "", nil
	}
	e, err := h.cfg.Store.Email(ctx, sc, items[0].ID)
	if err != nil {
		return c, nil, "", err
	}
	return h.card(s, e), items, cursor, nil
}

// regenerate: POST /emails/{id}/regenerate — the contact goes back to the
// worker; the email leaves the queue.
func (h *handler) regenerate(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	contactID, err := h.cfg.Store.Regenerate(r.Context(), s.user.Scope(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r, s)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		e, err := h.cfg.Store.Email(r.Context(), s.user.Scope(), id)
		if err != nil {
			h.serverError(w, r, "email", err)
			return
		}
		h.respondCard(w, r, s, http.StatusConflict, h.card(s, e), &notice{Kind: "warn",
			Message: "Not regenerated: only an email waiting for review or rejected can be, once its contact is done."})
		return
	}
	if err != nil {
		h.serverError(w, r, "regenerate", err)
		return
	}
	msg := "Regeneration queued: the new email will appear in the queue when the worker is done."
	if h.cfg.Wake != nil {
		if err := h.cfg.Wake(r.Context(), contactID); err != nil {
			h.log.ErrorContext(r.Context(), "review: wake the worker after regenerate", "contact", contactID, "error", err)
			msg = "Regeneration queued: the worker will pick it up at its next poll."
		}
	}
	h.advance(w, r, s, http.StatusOK, id, &notice{Kind: "ok", Message: msg})
}

// undo: POST /undo — the reviewer's last decision is reverted and its
// email shown again.
func (h *handler) undo(w http.ResponseWriter, r *http.Request, s *session) {
	e, err := h.cfg.Store.Undo(r.Context(), s.user.Scope(), s.user.ID)
	if errors.Is(err, store.ErrNothingToUndo) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		n := &notice{Kind: "warn", Message: "Nothing to undo: no decision of yours from the last 30 minutes can be reverted."}
		if !isHTMX(r) {
			h.redirectQueue(w, r)
			return
		}
		w.Header().Set("HX-Reswap", "none")
		h.renderFragments(w, r, http.StatusConflict, fragment{"notice-oob", n})
		return
	}
	if err != nil {
		h.serverError(w, r, "undo", err)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/?email="+url.QueryEscape(e.ID), http.StatusSeeOther)
		return
	}
	fv := parseFilter(r.PostForm)
	c := h.card(s, e)
	row := rowsOf([]store.EmailSummary{e.EmailSummary}, fv, "", e.ID)[0]
	frags := []fragment{{"card", c}}
	if queued := r.PostForm["queued"]; r.PostForm.Get("list") == "1" && !slices.Contains(queued, e.ID) {
		frags = append(frags, fragment{"row-prepend", row})
		if len(queued) == 0 {
			// The list said it was empty.
			frags = append(frags, fragment{"row-delete", "queue-none"})
		}
	}
	frags = append(frags, fragment{"notice-oob", &notice{Kind: "ok", Message: "Undone: the email is back in review."}})
	h.renderFragments(w, r, http.StatusOK, frags...)
}

func (h *handler) redirectQueue(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, parseFilter(r.PostForm).queueHref("", ""), http.StatusSeeOther)
}
