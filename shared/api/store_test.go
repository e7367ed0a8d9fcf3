package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/api"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// *store.Store, through FromStore, is the API's Store.
var _ api.Store = api.FromStore(nil)

// TestWithStore runs the API over a real database: a key made by the store
// uploads contacts, reads its campaign, and sees nothing of another
// client's; a revoked key is refused.
func TestWithStore(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmpl, err := os.ReadFile("../../examples/prospectia/template.md")
	if err != nil {
		t.Fatal(err)
	}
	var keys, batches []string
	for _, name := range []string{"Prospectia", "Other"} {
		c, err := st.AddClient(ctx, name, clientctx.Dir("../../examples/prospectia"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddTemplate(ctx, c.ID, "Cold Email V1", tmpl); err != nil {
			t.Fatal(err)
		}
		key, _, err := st.CreateAPIKey(ctx, c.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	var woken []string
	h := api.New(api.Config{Store: api.FromStore(st), Wake: func(_ context.Context, id string) { woken = append(woken, id) }})
	do := func(method, path, key, body string) (int, []byte) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.Bytes()
	}
	for i, key := range keys {
		code, body := do("POST", "/api/v1/campaigns", key, `{"template": "Cold Email V1", "contacts": [
			{"first_name": "Camille", "email": "camille.rousseau@voxaly.example", "Société": "Voxaly", "website": "voxaly.example"},
			{"first_name": "Bob", "email": "bob@", "company_name": "Acme"}]}`)
		var c api.Campaign
		if err := json.Unmarshal(body, &c); code != http.StatusAccepted || err != nil {
			t.Fatalf("client %d: POST: %d %s", i, code, body)
		}
		if c.Upload.Imported != 1 || len(c.Upload.Rejected) != 1 || *c.Upload.Rejected[0].Index != 1 {
			t.Errorf("client %d: upload %+v", i, c.Upload)
		}
		batches = append(batches, c.BatchID)
	}
	if len(woken) != 2 || woken[0] != batches[0] {
		t.Errorf("woken %v, batches %v", woken, batches)
	}
	code, body := do("GET", "/api/v1/campaigns/"+batches[0], keys[0], "")
	var c api.Campaign
	if err := json.Unmarshal(body, &c); code != 200 || err != nil || c.Status != "queued" || c.Counts.Total != 1 || c.Counts.Pending != 1 {
		t.Errorf("GET own campaign: %d %s", code, body)
	}
	// The same contacts again: all already known.
	code, body = do("POST", "/api/v1/campaigns", keys[0], `{"contacts": [{"email": "Camille.Rousseau@voxaly.example", "company": "Voxaly"}]}`)
	if code != 422 || !strings.Contains(string(body), batches[0]) {
		t.Errorf("again: %d %s", code, body)
	}
	// Another client's batch, or one that does not exist: 404.
	for _, id := range []string{batches[1], "0b6f5a52-3c1e-4d0e-9a57-2f4c5d6e7f80"} {
		if code, body := do("GET", "/api/v1/campaigns/"+id, keys[0], ""); code != 404 || strings.Contains(string(body), "Other") {
			t.Errorf("GET %s: %d %s", id, code, body)
		}
		if code, _ := do("POST", "/api/v1/campaigns", keys[0], `{"batch_id": "`+id+`"}`); code != 404 {
			t.Errorf("POST batch %s: %d", id, code)
		}
	}
	// The worker writes the email of client 0's contact; the key lists it,
	// reads it and approves it; a second decision is a conflict; the other
	// client's key sees none of it.
	claimed, err := st.ClaimBatch(ctx, batches[0], 5)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	emailID, _, err := st.Complete(ctx, claimed[0].ID, email.Result{
		Contact: claimed[0].Contact, Subject: "Voxaly et la prospection", Body: "Bonjour Camille, …",
		Variables: map[string]email.Variable{"target_persona": {Value: "directeurs commerciaux", Agent: "persona", Confidence: 4, FallbackLevel: 1}},
		Quality:   email.Report{Score: 81, Flags: []email.Flag{}}, Status: email.StatusGenerated,
	})
	if err != nil {
		t.Fatal(err)
	}
	code, body = do("GET", "/api/v1/emails?batch_id="+batches[0], keys[0], "")
	var page api.EmailPage
	if err := json.Unmarshal(body, &page); code != 200 || err != nil || len(page.Data) != 1 || page.Data[0].ID != emailID || page.Data[0].Score != 81 {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = do("GET", "/api/v1/emails/"+emailID, keys[0], "")
	if code != 200 || !strings.Contains(string(body), `"target_persona"`) || !strings.Contains(string(body), `"body":"Bonjour Camille, …"`) {
		t.Errorf("get: %d %s", code, body)
	}
	for _, path := range []string{"/api/v1/emails/" + emailID, "/api/v1/emails/" + emailID + "/approve"} {
		method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(path, "approve")]
		if code, body := do(method, path, keys[1], ""); code != 404 || strings.Contains(string(body), "Prospectia") {
			t.Errorf("other client's key: %s %s: %d %s", method, path, code, body)
		}
	}
	if code, body := do("GET", "/api/v1/emails?status=any", keys[1], ""); code != 200 || !strings.Contains(string(body), `"data":[]`) {
		t.Errorf("other client's list: %d %s", code, body)
	}
	code, body = do("POST", "/api/v1/emails/"+emailID+"/edit", keys[0], `{"body": "Bonjour Camille, mieux."}`)
	if code != 200 || !strings.Contains(string(body), `"status":"approved_edited"`) || !strings.Contains(string(body), `"final_body":"Bonjour Camille, mieux."`) {
		t.Errorf("edit: %d %s", code, body)
	}
	code, body = do("POST", "/api/v1/emails/"+emailID+"/reject", keys[0], `{"reason": "other"}`)
	if code != 409 || !strings.Contains(string(body), `"code":"conflict"`) || !strings.Contains(string(body), `"status":"approved_edited"`) {
		t.Errorf("decided twice: %d %s", code, body)
	}
	var via string
	if err := st.Pool().QueryRow(ctx, `select via from public.review_decisions where email_id = $1`, emailID).Scan(&via); err != nil || !strings.HasPrefix(via, "api:") {
		t.Errorf("review_decisions.via %q, %v", via, err)
	}

	// A revoked key.
	k, err := st.CheckAPIKey(ctx, keys[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := do("GET", "/api/v1/campaigns/"+batches[1], keys[1], ""); code != 401 {
		t.Errorf("revoked key: %d", code)
	}
	if _, err := api.FromStore(st).BatchClient(ctx, "nope"); !isNotFound(err) {
		t.Errorf("BatchClient(nope): %v", err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
