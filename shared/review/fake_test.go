package review

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/store"
)

// fakeStore is an in-memory Store that scopes like the real one: an email
// of a client out of scope is ErrNotFound.
type fakeStore struct {
	mu        sync.Mutex
	passwords map[string]string // e-mail → password
	users     map[string]store.User
	sessions  map[string]string // token → user id
	emails    []*store.EmailDetail
	decisions []store.Decision
	undo      map[string][]undoEntry // reviewer → decisions, last last
	regen     []string
	auths     int
	filters   []store.EmailFilter
	dash      store.Dashboard
	dashArgs  []string
	failDash  error
	decideErr error // returned by Decide when set
}

type undoEntry struct{ id, status string }

func newFakeStore() *fakeStore {
	return &fakeStore{passwords: map[string]string{}, users: map[string]store.User{}, sessions: map[string]string{}, undo: map[string][]undoEntry{}}
}

func (f *fakeStore) addUser(u store.User, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u.ID] = u
	f.passwords[u.Email] = password
}

func (f *fakeStore) addEmail(e store.EmailDetail) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.Status == "" {
		e.Status = statusPending
	}
	f.emails = append(f.emails, &e)
}

func (f *fakeStore) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.emails {
		if e.ID == id {
			return e.Status
		}
	}
	return ""
}

func inScope(sc store.Scope, clientID string) bool {
	return sc.All || slices.Contains(sc.ClientIDs, clientID)
}

func (f *fakeStore) Authenticate(ctx context.Context, email, password string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auths++
	if p, ok := f.passwords[email]; !ok || p != password {
		return store.User{}, fmt.Errorf("fake: %w", store.ErrBadCredentials)
	}
	for _, u := range f.users {
		if u.Email == email {
			return u, nil
		}
	}
	return store.User{}, store.ErrBadCredentials
}

func (f *fakeStore) CreateSession(ctx context.Context, userID string, ttl time.Duration) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "tok-" + userID + "-" + strconv.Itoa(len(f.sessions))
	f.sessions[tok] = userID
	return tok, nil
}

func (f *fakeStore) SessionUser(ctx context.Context, token string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.sessions[token]
	if !ok {
		return store.User{}, fmt.Errorf("fake session: %w", store.ErrNotFound)
	}
	return f.users[id], nil
}

func (f *fakeStore) DeleteSession(ctx context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, token)
	return nil
}

func (f *fakeStore) Emails(ctx context.Context, sc store.Scope, flt store.EmailFilter) ([]store.EmailSummary, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	if flt.ClientID != "" && !inScope(sc, flt.ClientID) {
		return nil, "", fmt.Errorf("fake emails: client: %w", store.ErrNotFound)
	}
	var out []store.EmailSummary
	for _, e := range f.emails {
		st := cmp.Or(flt.Status, statusPending)
		if !inScope(sc, e.ClientID) || (st != "any" && e.Status != st) ||
			(flt.ClientID != "" && e.ClientID != flt.ClientID) || e.Score < flt.MinScore ||
			(flt.MaxScore > 0 && e.Score > flt.MaxScore) ||
			(flt.Text != "" && !strings.Contains(strings.ToLower(e.Subject+" "+e.Body+" "+e.CompanyName), strings.ToLower(flt.Text))) {
			continue
		}
		out = append(out, e.EmailSummary)
	}
	slices.SortStableFunc(out, func(a, b store.EmailSummary) int {
		return cmp.Or(cmp.Compare(a.Score, b.Score), a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	start := 0
	if flt.After != "" {
		start, _ = strconv.Atoi(strings.TrimPrefix(flt.After, "c"))
	}
	out = out[min(start, len(out)):]
	limit := cmp.Or(flt.Limit, 50)
	next := ""
	if len(out) > limit {
		out, next = out[:limit], "c"+strconv.Itoa(start+limit)
	}
	return out, next, nil
}

func (f *fakeStore) find(sc store.Scope, id string) (*store.EmailDetail, error) {
	for _, e := range f.emails {
		if e.ID == id && inScope(sc, e.ClientID) {
			return e, nil
		}
	}
	return nil, fmt.Errorf("fake email %s: %w", id, store.ErrNotFound)
}

func (f *fakeStore) Email(ctx context.Context, sc store.Scope, id string) (store.EmailDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.find(sc, id)
	if err != nil {
		return store.EmailDetail{}, err
	}
	return *e, nil
}

func (f *fakeStore) Decide(ctx context.Context, sc store.Scope, d store.Decision) (store.EmailDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.find(sc, d.EmailID)
	if err != nil {
		return store.EmailDetail{}, err
	}
	if f.decideErr != nil {
		return store.EmailDetail{}, f.decideErr
	}
	if e.Status != statusPending {
		return store.EmailDetail{}, fmt.Errorf("fake decide: %w: the email is %s", store.ErrConflict, e.Status)
	}
	f.decisions = append(f.decisions, d)
	switch d.Action {
	case "approve":
		e.Status = "approved"
	case "edit":
		e.Status, e.FinalSubject, e.Final = "approved_edited", d.Subject, d.Body
	case "reject":
		e.Status, e.RejectionReason, e.RejectionDetails = "rejected", d.Reason, d.Details
	default:
		return store.EmailDetail{}, fmt.Errorf("fake decide: action %q: %w", d.Action, store.ErrInvalid)
	}
	e.ReviewerID = d.ReviewerID
	f.undo[d.ReviewerID] = append(f.undo[d.ReviewerID], undoEntry{e.ID, e.Status})
	return *e, nil
}

func (f *fakeStore) Undo(ctx context.Context, sc store.Scope, reviewerID string) (store.EmailDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stack := f.undo[reviewerID]
	if len(stack) == 0 {
		return store.EmailDetail{}, fmt.Errorf("fake undo: %w", store.ErrNothingToUndo)
	}
	last := stack[len(stack)-1]
	f.undo[reviewerID] = stack[:len(stack)-1]
	e, err := f.find(sc, last.id)
	if err != nil || e.Status != last.status {
		return store.EmailDetail{}, fmt.Errorf("fake undo: %w", store.ErrNothingToUndo)
	}
	e.Status, e.Final, e.FinalSubject, e.RejectionReason, e.RejectionDetails, e.ReviewerID = statusPending, "", "", "", "", ""
	return *e, nil
}

func (f *fakeStore) Dashboard(ctx context.Context, sc store.Scope, clientID string, p store.Period) (store.Dashboard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dashArgs = append(f.dashArgs, fmt.Sprintf("%v|%s|%s|%s", sc.All, clientID, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly)))
	if clientID != "" && !inScope(sc, clientID) {
		return store.Dashboard{}, fmt.Errorf("fake dashboard: %w", store.ErrNotFound)
	}
	return f.dash, f.failDash
}

func (f *fakeStore) Regenerate(ctx context.Context, sc store.Scope, emailID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.find(sc, emailID)
	if err != nil {
		return "", err
	}
	if e.Status != statusPending && e.Status != "rejected" {
		return "", fmt.Errorf("fake regenerate: %w: the email is %s", store.ErrConflict, e.Status)
	}
	f.regen = append(f.regen, emailID)
	e.Status = "regenerating"
	return "contact-of-" + emailID, nil
}
