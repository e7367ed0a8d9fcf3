package api

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
)

// Ids of the fake's data.
const (
	clientA   = "aaaaaaaa-0000-4000-8000-000000000001"
	clientB   = "bbbbbbbb-0000-4000-8000-000000000002"
	keyA      = "kl_keyofclienta"
	keyA2     = "kl_secondkeyofclienta"
	keyB      = "kl_keyofclientb"
	keyOld    = "kl_revokedkey"
	keyAID    = "11111111-0000-4000-8000-00000000000a"
	keyA2ID   = "11111111-0000-4000-8000-0000000000a2"
	keyBID    = "11111111-0000-4000-8000-00000000000b"
	tmplA     = "cccccccc-0000-4000-8000-00000000000a"
	tmplB     = "cccccccc-0000-4000-8000-00000000000b"
	batchA    = "dddddddd-0000-4000-8000-00000000000a"
	batchB    = "dddddddd-0000-4000-8000-00000000000b"
	newBatch  = "eeeeeeee-0000-4000-8000-000000000001"
	emailOfA  = "ffffffff-0000-4000-8000-0000000000a1"
	emailOfB  = "ffffffff-0000-4000-8000-0000000000b1"
	noSuchID  = "99999999-0000-4000-8000-000000000000"
	knownMail = "known@acme.example"
)

type upload struct {
	ClientID, TemplateID, CSV string
}

// fakeStore implements Store in memory, with the store's rules that the
// API relies on: scopes, the pending_review → decided transition, the CSV
// rules of Upload.
type fakeStore struct {
	mu        sync.Mutex
	keys      map[string]store.APIKey
	revoked   map[string]bool
	emails    map[string]*store.EmailDetail
	batches   map[string]string // batch → client
	counts    map[string]store.Counts
	uploads   []upload
	decisions []store.Decision
	checks    int // CheckAPIKey calls
	dash      store.Dashboard
	dashArgs  []string // scope clients|client|from|to of each Dashboard call
	// err, when set, is returned by every call but CheckAPIKey.
	err error
}

func newFake() *fakeStore {
	f := &fakeStore{
		keys: map[string]store.APIKey{
			keyA:   {ID: keyAID, ClientID: clientA, Name: "n8n"},
			keyA2:  {ID: keyA2ID, ClientID: clientA, Name: "make"},
			keyB:   {ID: keyBID, ClientID: clientB, Name: "clay"},
			keyOld: {ID: "11111111-0000-4000-8000-0000000000ff", ClientID: clientA, Name: "old"},
		},
		revoked: map[string]bool{keyOld: true},
		emails:  map[string]*store.EmailDetail{},
		batches: map[string]string{batchA: clientA, batchB: clientB},
		counts: map[string]store.Counts{
			batchA: {Total: 4, Pending: 1, Enriching: 1, Completed: 1, Failed: 1},
			batchB: {Total: 1, Completed: 1},
		},
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	f.addEmail(emailOfA, clientA, 70, t0)
	f.addEmail(emailOfB, clientB, 40, t0)
	return f
}

func (f *fakeStore) addEmail(id, client string, score int, at time.Time) {
	f.emails[id] = &store.EmailDetail{
		EmailSummary: store.EmailSummary{ID: id, ClientID: client, ClientName: "client " + client[:1], TemplateID: tmplA,
			BatchID: batchA, FirstName: "Camille", ContactEmail: "camille@" + id[:4] + ".example", CompanyName: "Voxaly",
			Subject: "Subject of " + id, Score: score, Status: "pending_review", CreatedAt: at},
		Body:      "Bonjour Camille,\n\n…",
		Variables: map[string]email.Variable{"target_persona": {Value: "directeurs commerciaux", Agent: "persona", Confidence: 4, FallbackLevel: 1}},
		Quality:   email.Report{Score: score, Flags: []email.Flag{{Code: "long", Points: 5, Message: "too long"}}},
	}
}

func inScope(sc store.Scope, client string) bool {
	return sc.All || slices.Contains(sc.ClientIDs, client)
}

func (f *fakeStore) CheckAPIKey(ctx context.Context, key string) (store.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	k, ok := f.keys[key]
	if !ok || f.revoked[key] {
		return store.APIKey{}, fmt.Errorf("store: api key: %w", store.ErrNotFound)
	}
	return k, nil
}

func (f *fakeStore) Upload(ctx context.Context, clientID, templateID string, r io.Reader) (store.UploadReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.UploadReport{}, f.err
	}
	if own := map[string]string{clientA: tmplA, clientB: tmplB}; templateID != "" && templateID != own[clientID] {
		return store.UploadReport{}, fmt.Errorf("store: upload: template %s of client %s: %w", templateID, clientID, store.ErrNotFound)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return store.UploadReport{}, err
	}
	file, err := contacts.Read(bytes.NewReader(b))
	if err != nil {
		return store.UploadReport{}, fmt.Errorf("store: upload: %w", err)
	}
	f.uploads = append(f.uploads, upload{clientID, templateID, string(b)})
	rep := store.UploadReport{Read: len(file.Contacts) + len(file.Errors), RowErrors: file.Errors}
	for _, c := range file.Contacts {
		if strings.EqualFold(c.Email, knownMail) {
			rep.Duplicates = append(rep.Duplicates, store.Duplicate{Line: c.Line, Email: c.Email, ContactID: noSuchID, BatchID: batchA})
			continue
		}
		rep.Imported++
	}
	if rep.Imported > 0 {
		rep.BatchID = newBatch
		f.batches[newBatch] = clientID
		f.counts[newBatch] = store.Counts{Total: rep.Imported, Pending: rep.Imported}
	}
	return rep, nil
}

func (f *fakeStore) BatchCounts(ctx context.Context, batchID string, staleAfter time.Duration) (store.Counts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.Counts{}, f.err
	}
	c, ok := f.counts[batchID]
	if !ok {
		return c, fmt.Errorf("store: batch %s: %w", batchID, store.ErrNotFound)
	}
	return c, nil
}

func (f *fakeStore) BatchClient(ctx context.Context, batchID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	c, ok := f.batches[batchID]
	if !ok {
		return "", fmt.Errorf("store: batch %s: %w", batchID, store.ErrNotFound)
	}
	return c, nil
}

func (f *fakeStore) TemplateByName(ctx context.Context, clientID, name string) (store.Template, error) {
	if f.err != nil {
		return store.Template{}, f.err
	}
	if name == "Cold Email V1" {
		id := tmplA
		if clientID == clientB {
			id = tmplB
		}
		return store.Template{ID: id, ClientID: clientID, Name: name}, nil
	}
	return store.Template{}, fmt.Errorf("store: template %q: %w", name, store.ErrNotFound)
}

// Emails: worst score first, then created_at, id; the cursor is the last
// id of the page.
func (f *fakeStore) Emails(ctx context.Context, sc store.Scope, fl store.EmailFilter) ([]store.EmailSummary, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, "", f.err
	}
	status := cmp.Or(fl.Status, "pending_review")
	var all []store.EmailSummary
	for _, e := range f.emails {
		if !inScope(sc, e.ClientID) || status != "any" && e.Status != status ||
			fl.BatchID != "" && e.BatchID != fl.BatchID || e.Score < fl.MinScore || fl.MaxScore > 0 && e.Score > fl.MaxScore {
			continue
		}
		all = append(all, e.EmailSummary)
	}
	slices.SortFunc(all, func(a, b store.EmailSummary) int {
		return cmp.Or(cmp.Compare(a.Score, b.Score), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if fl.After != "" {
		i := slices.IndexFunc(all, func(e store.EmailSummary) bool { return "c:"+e.ID == fl.After })
		if i < 0 {
			return nil, "", fmt.Errorf("store: emails: %w: bad cursor", store.ErrInvalid)
		}
		all = all[i+1:]
	}
	limit := cmp.Or(fl.Limit, 50)
	if len(all) <= limit {
		return all, "", nil
	}
	return all[:limit], "c:" + all[limit-1].ID, nil
}

func (f *fakeStore) Email(ctx context.Context, sc store.Scope, id string) (store.EmailDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.EmailDetail{}, f.err
	}
	e, ok := f.emails[id]
	if !ok || !inScope(sc, e.ClientID) {
		return store.EmailDetail{}, fmt.Errorf("store: email %s: %w", id, store.ErrNotFound)
	}
	return *e, nil
}

func (f *fakeStore) Decide(ctx context.Context, sc store.Scope, d store.Decision) (store.EmailDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.EmailDetail{}, f.err
	}
	e, ok := f.emails[d.EmailID]
	if !ok || !inScope(sc, e.ClientID) {
		return store.EmailDetail{}, fmt.Errorf("store: decide %s: %w", d.EmailID, store.ErrNotFound)
	}
	if e.Status != "pending_review" {
		return store.EmailDetail{}, fmt.Errorf("store: decide %s: %w: the email is %s", d.EmailID, store.ErrConflict, e.Status)
	}
	f.decisions = append(f.decisions, d)
	switch d.Action {
	case "approve":
		e.Status = "approved"
	case "edit":
		e.Status, e.FinalSubject, e.Final = "approved_edited", d.Subject, d.Body
	case "reject":
		e.Status, e.RejectionReason, e.RejectionDetails = "rejected", d.Reason, d.Details
	}
	e.ReviewedAt = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return *e, nil
}

func (f *fakeStore) Dashboard(ctx context.Context, sc store.Scope, clientID string, p store.Period) (store.Dashboard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.Dashboard{}, f.err
	}
	f.dashArgs = append(f.dashArgs, fmt.Sprintf("%s|%s|%s|%s", strings.Join(sc.ClientIDs, ","), clientID,
		p.From.Format(time.DateOnly), p.To.Format(time.DateOnly)))
	if !inScope(sc, clientID) {
		return store.Dashboard{}, fmt.Errorf("store: dashboard: %w", store.ErrNotFound)
	}
	return f.dash, nil
}

func (f *fakeStore) revoke(key string) {
	f.mu.Lock()
	f.revoked[key] = true
	f.mu.Unlock()
}

func (f *fakeStore) checkCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks
}

func (f *fakeStore) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.emails[id].Status
}
