package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestUpload(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	csv, err := os.ReadFile("testdata/contacts.csv")
	if err != nil {
		t.Fatal(err)
	}

	rep := upload(t, s, c.ID, tp.ID, string(csv))
	if rep.Read != 6 || rep.Imported != 3 || rep.BatchID == "" {
		t.Errorf("first upload: read %d, imported %d, batch %q; want 6 read, 3 imported, a batch", rep.Read, rep.Imported, rep.BatchID)
	}
	var lines []int
	for _, e := range rep.RowErrors {
		lines = append(lines, e.Line)
	}
	if !slices.Equal(lines, []int{3, 5, 6}) {
		t.Errorf("row errors on lines %v, want [3 5 6] (bad email, duplicate in file, no company): %+v", lines, rep.RowErrors)
	}
	if len(rep.Duplicates) != 0 {
		t.Errorf("first upload reports duplicates: %+v", rep.Duplicates)
	}
	if n := count(t, s, `select count(*) from contacts_to_enrich where batch_id = $1 and status = 'pending' and attempts = 0
		and client_id = $2 and template_id = $3`, rep.BatchID, c.ID, tp.ID); n != 3 {
		t.Errorf("%d pending contacts of the batch in the database, want 3", n)
	}
	var size, website string
	err = s.Pool().QueryRow(ctx, `select fields->>'taille_entreprise', website from contacts_to_enrich where email = 'camille@voxaly.example'`).Scan(&size, &website)
	if err != nil || size != "120" || website != "https://www.voxaly.example" {
		t.Errorf("extra column / normalised website not stored: %q %q %v", size, website, err)
	}

	// The same people again, one with another case, plus a new one.
	second := "email,company_name\nCAMILLE@voxaly.example,Voxaly\nhugo@stockeo.example,Stockeo\nnew@acme.example,Acme\n"
	rep2 := upload(t, s, c.ID, tp.ID, second)
	if rep2.Imported != 1 || len(rep2.Duplicates) != 2 || rep2.Read != 3 {
		t.Fatalf("second upload: imported %d, duplicates %+v; want 1 imported, 2 duplicates", rep2.Imported, rep2.Duplicates)
	}
	d := rep2.Duplicates[0]
	if d.Line != 2 || d.Email != "CAMILLE@voxaly.example" || d.BatchID != rep.BatchID || d.ContactID == "" {
		t.Errorf("duplicate = %+v, want line 2 naming the first batch's contact", d)
	}

	// Another client may have the same people; no template named: the
	// client's latest active one.
	other, otp := newClient(t, s, "Other")
	if rep3 := upload(t, s, other.ID, "", second); rep3.Imported != 3 {
		t.Errorf("another client's upload imported %d, want 3", rep3.Imported)
	} else if n := count(t, s, `select count(*) from contacts_to_enrich where batch_id = $1 and template_id = $2`, rep3.BatchID, otp.ID); n != 3 {
		t.Errorf("%d of 3 contacts uploaded without a template got the client's template", n)
	}

	// Only duplicates: nothing imported, no batch.
	rep4 := upload(t, s, c.ID, tp.ID, "email,company_name\nnew@acme.example,Acme\n")
	if rep4.Imported != 0 || rep4.BatchID != "" || len(rep4.Duplicates) != 1 {
		t.Errorf("all-duplicate upload: %+v", rep4)
	}
}

func TestUploadFatalImportsNothing(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	tests := []struct {
		name               string
		clientID, template string
		csv                string
		want               error
	}{
		{"no company column", c.ID, tp.ID, "first_name,email\nA,a@x.example\n", nil},
		{"empty file", c.ID, tp.ID, "", nil},
		{"unknown client", "00000000-0000-4000-8000-000000000000", "", csvOf(3, "u"), store.ErrNotFound},
		{"template of no such id", c.ID, "00000000-0000-4000-8000-000000000000", csvOf(3, "v"), store.ErrNotFound},
		{"client id not a uuid", "acme", "", csvOf(3, "w"), store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := s.Upload(ctx, tt.clientID, tt.template, strings.NewReader(tt.csv))
			if err == nil {
				t.Fatalf("no error, report %+v", rep)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if rep.Imported != 0 || rep.BatchID != "" {
				t.Errorf("report says something was imported: %+v", rep)
			}
		})
	}
	var fe *contacts.FormatError
	if _, err := s.Upload(ctx, c.ID, tp.ID, strings.NewReader("first_name,email\nA,a@x.example\n")); !errors.As(err, &fe) {
		t.Errorf("a file without company_name: %v, want a *contacts.FormatError", err)
	}
	if n := count(t, s, "select count(*) from contacts_to_enrich"); n != 0 {
		t.Errorf("%d contacts in the database after failed uploads", n)
	}
}

func TestClaimCompleteFlow(t *testing.T) {
	for _, mode := range []string{"", "exec", "simple_protocol"} {
		t.Run("mode="+mode, func(t *testing.T) {
			ctx := context.Background()
			u, err := url.Parse(storetest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			if mode != "" {
				q := u.Query()
				q.Set("default_query_exec_mode", mode)
				u.RawQuery = q.Encode()
			}
			s, err := store.Open(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, tp := newClient(t, s, "Acme")
			rep := upload(t, s, c.ID, tp.ID, csvOf(5, "flow"))

			got, err := s.ClaimBatch(ctx, rep.BatchID, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("claimed %d, want 2", len(got))
			}
			cc := got[0]
			if cc.ClientID != c.ID || cc.TemplateID != tp.ID || cc.BatchID != rep.BatchID || cc.Attempts != 1 ||
				cc.Contact.Line != 2 || cc.Contact.Email != "flow0@company0.example" || cc.Contact.Get("industry") != "saas" {
				t.Errorf("claimed contact = %+v", cc)
			}

			res := resultFor(cc)
			res.Body += " \x00 null byte from a scraped page"
			res.Answers["persona"] = withReasoning(res.Answers["persona"], "quote \x00 inside")
			id, created, err := s.Complete(ctx, cc.ID, res)
			if err != nil || !created {
				t.Fatal(err)
			}
			var status, persona, metrics, review string
			var score, ms, tokens int
			err = s.Pool().QueryRow(ctx, `select c.status::text, e.target_persona, e.quality_metrics::text, e.review_status::text,
					e.quality_score, e.generation_time_ms, e.tokens_used
				from emails_generated e join contacts_to_enrich c on c.id = e.contact_id where e.id = $1`, id).
				Scan(&status, &persona, &metrics, &review, &score, &ms, &tokens)
			if err != nil {
				t.Fatal(err)
			}
			if status != "completed" || persona != "directeurs commerciaux de PME" || review != "pending_review" ||
				score != 78 || ms != 1234 || tokens != 960 {
				t.Errorf("stored email: status %s persona %q review %s score %d ms %d tokens %d", status, persona, review, score, ms, tokens)
			}
			var qm store.QualityMetrics
			if err := json.Unmarshal([]byte(metrics), &qm); err != nil {
				t.Fatal(err)
			}
			if qm.OverallScore != 78 || qm.FallbackLevels["competitor_name"] != 3 || qm.ConfidenceScores["target_persona"] != 4 ||
				len(qm.Flags) != 1 || qm.Flags[0].Code != "high_fallback" {
				t.Errorf("quality_metrics = %s", metrics)
			}
			if _, ok := qm.FallbackLevels["first_name"]; ok {
				t.Errorf("quality_metrics has a fallback level for a contact column: %s", metrics)
			}
			if n := count(t, s, `select count(*) from agent_runs where email_id = $1 and (agent <> 'competitor' or cached)
				and (agent <> 'persona' or (prompt_tokens = 900 and jsonb_array_length(calls) = 1))`, id); n != 2 {
				t.Errorf("%d agent runs as expected, want 2", n)
			}

			// Fail the second one: back to pending with its error.
			st, err := s.Fail(ctx, got[1], errors.New("scrape: timeout"))
			if err != nil || st != store.StatusPending {
				t.Errorf("fail = %q, %v; want pending", st, err)
			}
			// The remaining pending ones; the failed one waits for its retry time.
			rest, err := s.ClaimBatch(ctx, rep.BatchID, 10)
			if err != nil || len(rest) != 3 {
				t.Fatalf("claimed %d (%v), want the 3 pending not waiting", len(rest), err)
			}
			counts, err := s.BatchCounts(ctx, rep.BatchID, time.Hour)
			if err != nil || counts.Total != 5 || counts.Pending != 1 || counts.Waiting != 1 || counts.Enriching != 3 ||
				counts.Completed != 1 || counts.NextRetry.Before(time.Now()) || counts.Stale != 0 {
				t.Errorf("counts %+v (%v)", counts, err)
			}
			if _, err := s.Pool().Exec(ctx, `update contacts_to_enrich set retry_at = now() where id = $1`, got[1].ID); err != nil {
				t.Fatal(err)
			}
			if again, err := s.ClaimBatch(ctx, rep.BatchID, 10); err != nil || len(again) != 1 || again[0].ID != got[1].ID {
				t.Fatalf("claim once due: %v %v", again, err)
			}
			if more, _ := s.ClaimBatch(ctx, rep.BatchID, 10); len(more) != 0 {
				t.Errorf("claimed %d from an exhausted batch", len(more))
			}

			// Cache and context source in this mode too.
			a := email.Answer{Agent: "persona", Values: map[string]string{"target_persona": "DAF"}, Reasoning: "nul \x00"}
			if err := s.AgentCache(c.ID).Put(ctx, "voxaly.example/persona/1", a); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := s.AgentCache(c.ID).Get(ctx, "voxaly.example/persona/1"); err != nil || !ok || got.Values["target_persona"] != "DAF" {
				t.Errorf("cache get = %+v %v %v", got, ok, err)
			}
			if _, err := clientctx.Load(ctx, s.ContextSource(c.ID)); err != nil {
				t.Errorf("load context from the database: %v", err)
			}
		})
	}
}

func withReasoning(a email.Answer, r string) email.Answer {
	a.Reasoning = r
	return a
}

func TestCompleteTwiceYieldsOneEmail(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(1, "twice"))
	got, err := s.ClaimBatch(ctx, rep.BatchID, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", got, err)
	}
	res := resultFor(got[0])

	// Two workers finish the same contact at once, then a retried message.
	var wg sync.WaitGroup
	ids := make([]string, 3)
	created := make([]bool, 3)
	errs := make([]error, 3)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], created[i], errs[i] = s.Complete(ctx, got[0].ID, res)
		}()
	}
	wg.Wait()
	ids[2], created[2], errs[2] = s.Complete(ctx, got[0].ID, res)
	if n := btoi(created[0]) + btoi(created[1]) + btoi(created[2]); n != 1 {
		t.Errorf("%d completions report a new email, want exactly 1", n)
	}
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("complete %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("complete %d returned email %s, the first returned %s", i, ids[i], ids[0])
		}
	}
	if n := count(t, s, "select count(*) from emails_generated"); n != 1 {
		t.Errorf("%d emails for one contact", n)
	}
	if n := count(t, s, "select count(*) from agent_runs"); n != 2 {
		t.Errorf("%d agent runs, want the 2 of one email", n)
	}
	// A late failure does not undo the completion.
	if st, err := s.Fail(ctx, got[0], errors.New("late")); err != nil || st != store.StatusCompleted {
		t.Errorf("fail after complete = %q %v, want completed", st, err)
	}
	// A failed result is not an email.
	res.Status, res.Error = email.StatusFailed, "quota"
	if _, _, err := s.Complete(ctx, got[0].ID, res); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("complete with a failed result: %v, want ErrInvalid", err)
	}
	if _, _, err := s.Complete(ctx, "00000000-0000-4000-8000-000000000000", resultFor(got[0])); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("complete an unknown contact: %v, want ErrNotFound", err)
	}
}

func TestFailAttempts(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	s.MaxAttempts = 2
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(2, "fail"))

	claimOne := func() store.ClaimedContact {
		t.Helper()
		got, err := s.ClaimBatch(ctx, rep.BatchID, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim: %v %v", got, err)
		}
		return got[0]
	}
	first := claimOne()
	if st, err := s.Fail(ctx, first, errors.New("site down")); err != nil || st != store.StatusPending {
		t.Fatalf("first failure: %q %v, want pending", st, err)
	}
	// Given back with a back-off: not claimable before its retry time.
	var wait float64
	if err := s.Pool().QueryRow(ctx, `select extract(epoch from retry_at - now()) from contacts_to_enrich where id = $1`, first.ID).Scan(&wait); err != nil {
		t.Fatal(err)
	}
	if wait < 25 || wait > 31 {
		t.Errorf("retry in %.0f s, want about 30", wait)
	}
	if _, more, err := s.ClaimContact(ctx, first.ID); err != nil || more {
		t.Fatalf("claimed before its retry time (%v)", err)
	}
	if _, err := s.Pool().Exec(ctx, `update contacts_to_enrich set retry_at = now() where id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	again := claimOne()
	if again.ID != first.ID || again.Attempts != 2 {
		t.Fatalf("reclaimed %s with %d attempts, want %s with 2", again.ID, again.Attempts, first.ID)
	}
	if st, err := s.Fail(ctx, first, errors.New("stale claim")); err != nil || st != store.StatusEnriching {
		t.Fatalf("failure with the first, stale claim: %q %v, want enriching (ignored)", st, err)
	}
	if st, err := s.Fail(ctx, again, errors.New("site still down")); err != nil || st != store.StatusFailed {
		t.Fatalf("second failure: %q %v, want failed", st, err)
	}
	var msg string
	var attempts int
	if err := s.Pool().QueryRow(ctx, `select error_message, attempts from contacts_to_enrich where id = $1`, first.ID).Scan(&msg, &attempts); err != nil {
		t.Fatal(err)
	}
	if msg != "gave up after 2 attempts: site still down" || attempts != 2 {
		t.Errorf("kept error %q and attempts %d", msg, attempts)
	}

	other := claimOne()
	if st, err := s.Fail(ctx, other, store.Permanent(errors.New("the contact has no client"))); err != nil || st != store.StatusFailed {
		t.Errorf("permanent failure on the first attempt: %q %v, want failed", st, err)
	}
	if _, err := s.Fail(ctx, store.ClaimedContact{ID: "00000000-0000-4000-8000-000000000000"}, errors.New("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("fail an unknown contact: %v, want ErrNotFound", err)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(4, "sweep"))
	got, err := s.ClaimBatch(ctx, rep.BatchID, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("claim: %v %v", got, err)
	}
	// Two claims went stale an hour ago, one of them on its third attempt;
	// the third claim is fresh.
	if _, err := s.Pool().Exec(ctx, `update contacts_to_enrich set claimed_at = now() - interval '1 hour' where id = any($1::uuid[])`,
		[]string{got[0].ID, got[1].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `update contacts_to_enrich set attempts = 3 where id = $1`, got[1].ID); err != nil {
		t.Fatal(err)
	}
	sw, err := s.Sweep(ctx, 10*time.Minute, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Requeued != 1 || sw.Failed != 1 {
		t.Errorf("sweep = %+v, want 1 requeued and 1 failed", sw)
	}
	want := map[string]string{got[0].ID: "pending", got[1].ID: "failed", got[2].ID: "enriching"}
	for id, st := range want {
		var have string
		if err := s.Pool().QueryRow(ctx, `select status::text from contacts_to_enrich where id = $1`, id).Scan(&have); err != nil {
			t.Fatal(err)
		}
		if have != st {
			t.Errorf("contact %s is %s, want %s", id, have, st)
		}
	}
	if sw, err := s.Sweep(ctx, 10*time.Minute, 3); err != nil || sw != (store.SweepReport{}) {
		t.Errorf("second sweep = %+v %v, want nothing", sw, err)
	}
}

func TestDashboardInsertIsProcessed(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	// What a Supabase dashboard CSV import sends: only some columns.
	_, err := s.Pool().Exec(ctx, `insert into contacts_to_enrich (first_name, email, company_name)
		values ('Zoé', ' zoe@voxaly.example ', 'Voxaly')`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimNext(ctx, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim next: %+v %v", got, err)
	}
	cc := got[0]
	if cc.ClientID != c.ID || cc.TemplateID != tp.ID || cc.BatchID != "" || cc.Attempts != 1 ||
		cc.Contact.Email != "zoe@voxaly.example" || cc.Contact.Get("company_name") != "Voxaly" || cc.Contact.Get("first_name") != "Zoé" {
		t.Errorf("claimed %+v", cc)
	}
	if _, _, err := s.Complete(ctx, cc.ID, resultFor(cc)); err != nil {
		t.Fatal(err)
	}

	// With two clients the row cannot be attributed: it is still claimed,
	// with no client, so the worker can fail it for good.
	newClient(t, s, "Second")
	if _, err := s.Pool().Exec(ctx, `insert into contacts_to_enrich (company_name) values ('Orphan')`); err != nil {
		t.Fatal(err)
	}
	got, err = s.ClaimNext(ctx, 10)
	if err != nil || len(got) != 1 || got[0].ClientID != "" {
		t.Fatalf("claim orphan: %+v %v", got, err)
	}
	if st, err := s.Fail(ctx, got[0], store.Permanent(errors.New("no client"))); err != nil || st != store.StatusFailed {
		t.Errorf("fail orphan: %q %v", st, err)
	}
}

func TestClaimContact(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	rep := upload(t, s, c.ID, tp.ID, csvOf(2, "one"))
	var id string
	if err := s.Pool().QueryRow(ctx, `select id::text from contacts_to_enrich where batch_id = $1 order by line limit 1`, rep.BatchID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	cc, ok, err := s.ClaimContact(ctx, id)
	if err != nil || !ok || cc.ID != id {
		t.Fatalf("claim contact: %+v %v %v", cc, ok, err)
	}
	if _, ok, err := s.ClaimContact(ctx, id); ok || err != nil {
		t.Errorf("claimed an enriching contact again: %v %v", ok, err)
	}
	if _, _, err := s.ClaimContact(ctx, "nope"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("claim contact 'nope': %v, want ErrInvalid", err)
	}
	if _, err := s.ClaimBatch(ctx, "'; drop table clients; --", 1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("claim batch with a bad id: %v, want ErrInvalid", err)
	}
}

func TestClaimConcurrentNoDoubleClaims(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	const n = 600
	rep := upload(t, s, c.ID, tp.ID, csvOf(n, "conc"))
	// Half of the claimers take the batch, half take anything.
	seen, err := claimAll(ctx, s, rep.BatchID, 8, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("claimed %d distinct contacts, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("contact %s claimed %d times", id, k)
		}
	}
	if m := count(t, s, `select count(*) from contacts_to_enrich where status = 'enriching' and attempts = 1`); m != n {
		t.Errorf("%d contacts enriching with one attempt, want %d", m, n)
	}
}

// claimAll runs workers claimers, each claiming per contacts at a time until
// nothing is left, and returns how often each contact was claimed.
func claimAll(ctx context.Context, s *store.Store, batchID string, workers, per int) (map[string]int, error) {
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []store.ClaimedContact
				var err error
				if w%2 == 0 {
					got, err = s.ClaimBatch(ctx, batchID, per)
				} else {
					got, err = s.ClaimNext(ctx, per)
				}
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, g := range got {
					seen[g.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return seen, <-errs
}

func TestClientsAndContextSource(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, tp := newClient(t, s, "Acme")
	want := []string{"case_studies/appelia.md", "competitors.json", "pain_points.md", "pci.md", "personas.md", "template.md"}
	if !slices.Equal(c.Files, want) {
		t.Errorf("stored files %v, want %v", c.Files, want)
	}
	byName, err := s.ClientByName(ctx, "Acme")
	if err != nil || byName.ID != c.ID || !slices.Equal(byName.Files, want) {
		t.Errorf("client by name = %+v %v", byName, err)
	}
	if _, err := s.ClientByName(ctx, "Nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown client: %v", err)
	}
	if got, err := s.TemplateByName(ctx, c.ID, "Cold Email V1"); err != nil || got.ID != tp.ID || got.Language != "fr" || got.Version == "" {
		t.Errorf("template by name = %+v %v", got, err)
	}
	if got, err := s.TemplateByID(ctx, tp.ID); err != nil || got.Name != "Cold Email V1" || !strings.Contains(got.Text, "{{company_name}}") {
		t.Errorf("template by id = %+v %v", got, err)
	}
	if _, err := s.AddTemplate(ctx, c.ID, "Broken", []byte("no subject line {{x")); err == nil {
		t.Error("a template that does not parse was stored")
	}

	// The stored context loads like the directory it came from.
	fromDir, err := clientctx.Load(ctx, clientctx.Dir(clientDir))
	if err != nil {
		t.Fatal(err)
	}
	src := s.ContextSource(c.ID)
	fromDB, err := clientctx.Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if fromDB.Hash() != fromDir.Hash() || fromDB.Hash() != c.ContextHash || len(fromDB.CaseStudies) != 1 {
		t.Errorf("context from the database differs: hash %s vs %s (client %s), %d case studies",
			fromDB.Hash(), fromDir.Hash(), c.ContextHash, len(fromDB.CaseStudies))
	}
	if _, err := src.ReadFile(ctx, "missing.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := src.ReadFile(ctx, "../etc/passwd"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("invalid name: %v, want an invalid-path error", err)
	}

	// Adding the client again with a case study less replaces its files.
	dir := t.TempDir()
	copyDir(t, clientDir, dir)
	if err := os.Remove(filepath.Join(dir, "case_studies", "appelia.md")); err != nil {
		t.Fatal(err)
	}
	again, err := s.AddClient(ctx, "Acme", clientctx.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != c.ID || slices.Contains(again.Files, "case_studies/appelia.md") {
		t.Errorf("re-added client %+v", again)
	}
	if names, err := src.List(ctx, "case_studies"); err != nil || len(names) != 0 {
		t.Errorf("case studies after removal: %v %v", names, err)
	}

	// A context that does not load is refused and stores nothing.
	if err := os.Remove(filepath.Join(dir, "pci.md")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddClient(ctx, "Broken", clientctx.Dir(dir)); err == nil {
		t.Error("a context without pci.md was stored")
	}
	if _, err := s.ClientByName(ctx, "Broken"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused client exists: %v", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	a, _ := newClient(t, s, "A")
	b, _ := newClient(t, s, "B")
	ans := email.Answer{Agent: "persona", Values: map[string]string{"target_persona": "DAF de PME"}, Confidence: 4, FallbackLevel: 1,
		Evidence: []email.Evidence{{URL: "https://x.example", Quote: "pour les DAF"}}}
	if _, ok, err := s.CacheGet(ctx, a.ID, "k"); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	if err := s.CachePut(ctx, a.ID, "k", ans); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.CacheGet(ctx, a.ID, "k")
	if err != nil || !ok || got.Values["target_persona"] != "DAF de PME" || got.Evidence[0].Quote != "pour les DAF" {
		t.Errorf("cache get = %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.CacheGet(ctx, b.ID, "k"); ok {
		t.Error("client B sees client A's cached answer")
	}
	ans.Confidence = 2
	if err := s.CachePut(ctx, a.ID, "k", ans); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.CacheGet(ctx, a.ID, "k"); got.Confidence != 2 {
		t.Errorf("replaced answer has confidence %d", got.Confidence)
	}
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, _ := newClient(t, s, "Acme")
	key, k, err := s.CreateAPIKey(ctx, c.ID, "zapier")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, k.Prefix) || len(key) < 40 {
		t.Errorf("key %q with prefix %q", key, k.Prefix)
	}
	if n := count(t, s, `select count(*) from api_keys where key_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`, key); n != 1 {
		t.Error("the key's SHA-256 is not what is stored")
	}
	if n := count(t, s, `select count(*) from api_keys where prefix = $1 or key_hash = $1`, key); n != 0 {
		t.Error("the key itself is stored")
	}
	got, err := s.CheckAPIKey(ctx, key)
	if err != nil || got.ClientID != c.ID || got.ID != k.ID {
		t.Errorf("check key = %+v %v", got, err)
	}
	for _, bad := range []string{key + "x", "kl_", "", strings.ToUpper(key)} {
		if _, err := s.CheckAPIKey(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("check %q: %v, want ErrNotFound", bad, err)
		}
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckAPIKey(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked key: %v, want ErrNotFound", err)
	}
}

func TestAutomation(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	c, _ := newClient(t, s, "Acme")
	a, err := s.Automation(ctx, c.ID)
	want := store.Automation{Phase: store.PhaseShadow, PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}
	if err != nil || a != want {
		t.Errorf("defaults = %+v %v, want %+v", a, err, want)
	}
	full := store.Automation{Phase: store.PhaseFull, PartialThreshold: 92, FullThreshold: 88, RandomReviewRate: 0.1}
	if err := s.SetAutomation(ctx, c.ID, full); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Automation(ctx, c.ID); err != nil || a != full {
		t.Errorf("stored = %+v %v, want %+v", a, err, full)
	}
	for _, bad := range []store.Automation{{Phase: "yolo", PartialThreshold: 90, FullThreshold: 85}, {Phase: "full", PartialThreshold: 101, FullThreshold: 85}} {
		if err := s.SetAutomation(ctx, c.ID, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("set %+v: %v, want ErrInvalid", bad, err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
