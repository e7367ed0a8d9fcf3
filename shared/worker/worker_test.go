package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/agents/offline"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/storage/storagetest"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
	"github.com/kaleads/kaleads/shared/worker"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const example = "../../examples/prospectia"

type fixture struct {
	st      *store.Store
	client  store.Client
	tmpl    store.Template
	scraper *scrape.Scraper
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return setupOn(t, storetest.Open(t))
}

func setupOn(t testing.TB, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	c, err := st.AddClient(ctx, "Prospectia", clientctx.Dir(example))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(example + "/template.md")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := st.AddTemplate(ctx, c.ID, "Cold Email V1", data)
	if err != nil {
		t.Fatal(err)
	}
	sc, stop, err := scrape.NewForSites(example+"/sites", scrape.Options{PerHostDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &fixture{st: st, client: c, tmpl: tp, scraper: sc}
}

func (f *fixture) worker(t testing.TB, e agents.Engine, mod func(*worker.Config)) *worker.Worker {
	t.Helper()
	if e == nil {
		var err error
		if e, err = offline.New(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := worker.Config{Store: f.st, Engine: e, Scraper: f.scraper, DatabaseRetry: 20 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (f *fixture) upload(t *testing.T, file string) store.UploadReport {
	t.Helper()
	r, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep, err := f.st.Upload(context.Background(), f.client.ID, f.tmpl.ID, r)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.st.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// insert adds a contact the way n8n or the Supabase dashboard would.
func (f *fixture) insert(t *testing.T, emailAddr, company, website string) string {
	t.Helper()
	var id string
	err := f.st.Pool().QueryRow(context.Background(), `insert into contacts_to_enrich (client_id, template_id, first_name, email, company_name, website)
		values ($1, $2, 'Zoé', $3, $4, $5) returning id::text`, f.client.ID, f.tmpl.ID, emailAddr, company, website).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) contact(t *testing.T, id string) (status, errMsg string, attempts int) {
	t.Helper()
	var msg *string
	err := f.st.Pool().QueryRow(context.Background(), `select status::text, error_message, attempts from contacts_to_enrich where id = $1`, id).
		Scan(&status, &msg, &attempts)
	if err != nil {
		t.Fatal(err)
	}
	if msg != nil {
		errMsg = *msg
	}
	return status, errMsg, attempts
}

// The database path: an uploaded batch is processed to the end, every valid
// contact gets one email pending review, and a second run makes none.
func TestRunBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	up := f.upload(t, example+"/contacts_bad.csv")
	if up.Imported == 0 || len(up.RowErrors) == 0 {
		t.Fatalf("upload %+v", up)
	}
	var mu sync.Mutex
	var outcomes []worker.Outcome
	w := f.worker(t, nil, nil)
	st, err := w.Run(ctx, worker.RunOptions{Workers: 4, BatchID: up.BatchID, UntilDone: true,
		OnDone: func(o worker.Outcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Claimed != up.Imported || st.Completed != up.Imported || st.Failed+st.Released+st.Existing != 0 || len(outcomes) != up.Imported {
		t.Fatalf("stats %+v, %d outcomes, for %d imported", st, len(outcomes), up.Imported)
	}
	again, err := w.Run(ctx, worker.RunOptions{BatchID: up.BatchID, UntilDone: true})
	if err != nil || again.Claimed != 0 {
		t.Fatalf("second run %+v (%v)", again, err)
	}
	if n := f.count(t, `select count(*) from emails_generated e join contacts_to_enrich c on c.id = e.contact_id
		where c.batch_id = $1 and e.review_status = 'pending_review' and e.email_generated like 'Bonjour%'`, up.BatchID); n != up.Imported {
		t.Errorf("%d emails pending review, want %d", n, up.Imported)
	}
}

// gateEngine blocks the persona agent of one company until released, and
// can fail every call.
type gateEngine struct {
	agents.Engine
	company string
	release chan struct{}
	started chan struct{}
	fail    error
}

func (g *gateEngine) Answer(ctx context.Context, req agents.Request) (email.Answer, error) {
	if g.fail != nil {
		return email.Answer{}, g.fail
	}
	if req.Contact.CompanyName == g.company && req.Spec.Name == "persona" {
		close(g.started)
		select {
		case <-g.release:
		case <-ctx.Done():
			return email.Answer{}, ctx.Err()
		}
	}
	return g.Engine.Answer(ctx, req)
}

// Slots are refilled as contacts finish: one slow contact does not hold
// back the others (no waves).
func TestRunClaimsAsSlotsFree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	up := f.upload(t, example+"/contacts.csv")
	off, _ := offline.New()
	g := &gateEngine{Engine: off, company: "Voxaly", release: make(chan struct{}), started: make(chan struct{})}
	w := f.worker(t, g, nil)
	done := make(chan worker.Stats)
	finished := make(chan worker.Outcome, up.Imported)
	go func() {
		// Voxaly's 3 contacts (the first rows) take 3 of the 4 slots and wait
		// on the gate; the others must still go through the fourth.
		st, _ := w.Run(ctx, worker.RunOptions{Workers: 4, BatchID: up.BatchID, UntilDone: true,
			OnDone: func(o worker.Outcome) { finished <- o }})
		done <- st
	}()
	<-g.started
	for range up.Imported - 3 {
		select {
		case o := <-finished:
			if o.Status != store.StatusCompleted {
				t.Fatalf("outcome %+v", o)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the other contacts did not complete while one company was slow")
		}
	}
	close(g.release)
	st := <-done
	if st.Completed != up.Imported {
		t.Errorf("stats %+v, want %d completed", st, up.Imported)
	}
}

// Causes a retry cannot fix fail the contact for good, with the reason;
// causes that may pass give it back, with a back-off.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)

	t.Run("invalid email inserted directly", func(t *testing.T) {
		id := f.insert(t, "not-an-address", "Voxaly", "https://www.voxaly.example")
		out, err := f.worker(t, nil, nil).ProcessContact(ctx, id)
		if err != nil || out.Status != store.StatusFailed {
			t.Fatalf("outcome %+v (%v), want failed", out, err)
		}
		if st, msg, _ := f.contact(t, id); st != "failed" || !strings.Contains(msg, `email "not-an-address": not a valid email address`) {
			t.Errorf("contact %s: %q", st, msg)
		}
		if n := f.count(t, `select count(*) from emails_generated where contact_id = $1`, id); n != 0 {
			t.Error("an email was made for an invalid contact")
		}
	})

	t.Run("context files that do not parse", func(t *testing.T) {
		other := setupOn(t, storetest.Open(t))
		if _, err := other.st.Pool().Exec(ctx, `update client_context_files set content = '[{"name": ' where name = 'competitors.json'`); err != nil {
			t.Fatal(err)
		}
		id := other.insert(t, "zoe@voxaly.example", "Voxaly", "https://www.voxaly.example")
		out, _ := other.worker(t, nil, nil).ProcessContact(ctx, id)
		if st, msg, _ := other.contact(t, id); out.Status != store.StatusFailed || st != "failed" || !strings.Contains(msg, "competitors.json") {
			t.Errorf("outcome %+v; contact %s: %q", out, st, msg)
		}
	})

	t.Run("context source down", func(t *testing.T) {
		id := f.insert(t, "ines@voxaly.example", "Voxaly", "https://www.voxaly.example")
		down := func(string) clientctx.Source { return brokenSource{} }
		out, _ := f.worker(t, nil, func(c *worker.Config) { c.Contexts = down }).ProcessContact(ctx, id)
		st, msg, attempts := f.contact(t, id)
		if out.Status != store.StatusPending || st != "pending" || attempts != 1 || !strings.Contains(msg, "storage unavailable") {
			t.Errorf("outcome %+v; contact %s after %d attempts: %q", out, st, attempts, msg)
		}
		// Not claimable again before its back-off.
		if again, _ := f.worker(t, nil, nil).ProcessContact(ctx, id); again.Status != worker.Skipped {
			t.Errorf("reclaimed at once: %+v", again)
		}
	})

	t.Run("engine down", func(t *testing.T) {
		other := setupOn(t, storetest.Open(t))
		up := other.upload(t, example+"/contacts.csv")
		off, _ := offline.New()
		quota := errors.New("insufficient_quota: check your plan")
		w := other.worker(t, &gateEngine{Engine: off, fail: quota}, nil)
		st, err := w.Run(ctx, worker.RunOptions{Workers: 2, BatchID: up.BatchID, UntilDone: true})
		if !errors.Is(err, quota) {
			t.Fatalf("run error %v, want the quota error", err)
		}
		if st.Completed != 0 || st.Released == 0 || st.Claimed > 4 {
			t.Errorf("stats %+v: the run should stop claiming at the first engine failure", st)
		}
		if n := other.count(t, `select count(*) from contacts_to_enrich where status = 'failed'`); n != 0 {
			t.Errorf("%d contacts failed for good because of an engine outage", n)
		}
	})
}

type brokenSource struct{}

func (brokenSource) ReadFile(context.Context, string) ([]byte, error) {
	return nil, errors.New("storage unavailable (503)")
}
func (brokenSource) List(context.Context, string) ([]string, error) { return nil, fs.ErrNotExist }

// An edited template is picked up without a restart; a contact processed
// twice (duplicate webhook) has one email.
func TestTemplateEditAndDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	w := f.worker(t, nil, nil)
	a := f.insert(t, "a@voxaly.example", "Voxaly", "https://www.voxaly.example")
	if out, err := w.ProcessContact(ctx, a); err != nil || out.Status != store.StatusCompleted || !out.Created {
		t.Fatalf("first: %+v %v", out, err)
	}
	if out, err := w.ProcessContact(ctx, a); err != nil || out.Status != worker.Skipped {
		t.Fatalf("duplicate delivery: %+v %v, want skipped", out, err)
	}
	data, _ := os.ReadFile(example + "/template.md")
	edited := strings.Replace(string(data), "Bonjour {{first_name}},", "Hello {{first_name}},", 1)
	if edited == string(data) {
		t.Fatal("template greeting not found")
	}
	if _, err := f.st.AddTemplate(ctx, f.client.ID, "Cold Email V1", []byte(edited)); err != nil {
		t.Fatal(err)
	}
	b := f.insert(t, "b@voxaly.example", "Voxaly", "https://www.voxaly.example")
	if out, err := w.ProcessContact(ctx, b); err != nil || out.Status != store.StatusCompleted {
		t.Fatalf("after edit: %+v %v", out, err)
	}
	var body string
	f.st.Pool().QueryRow(ctx, `select email_generated from emails_generated where contact_id = $1`, b).Scan(&body)
	if !strings.HasPrefix(body, "Hello Zoé,") {
		t.Errorf("email after the template edit starts %q", body[:min(30, len(body))])
	}
	if n := f.count(t, `select count(*) from emails_generated where contact_id = $1`, a); n != 1 {
		t.Errorf("%d emails for a contact delivered twice", n)
	}
}

// The generate Lambda: partial batch failures name exactly the messages to
// deliver again.
func TestSQSHandler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	w := f.worker(t, nil, nil)
	ok := f.insert(t, "ok@voxaly.example", "Voxaly", "https://www.voxaly.example")
	bad := f.insert(t, "nope", "Voxaly", "https://www.voxaly.example")
	body := func(id string) string { s, _ := queue.Encode(id); return s }
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: body(ok)},
		{MessageId: "m2", Body: body(ok)},          // duplicate: skipped, done
		{MessageId: "m3", Body: body(bad)},         // invalid contact: failed for good, done
		{MessageId: "m4", Body: `{"contact":"x"}`}, // not ours: redeliver, then DLQ
	}}
	resp, err := w.SQSHandler(5*time.Second)(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(resp.BatchItemFailures); got != "[{m4}]" {
		t.Errorf("failures %s, want [{m4}]", got)
	}
	if st, _, _ := f.contact(t, ok); st != "completed" {
		t.Errorf("contact %s", st)
	}

	// Too close to the deadline: nothing is started, everything comes back.
	late := f.insert(t, "late@voxaly.example", "Voxaly", "https://www.voxaly.example")
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, _ = w.SQSHandler(5*time.Second)(dctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "l1", Body: body(late)}}})
	if len(resp.BatchItemFailures) != 1 {
		t.Errorf("failures %v, want the message back", resp.BatchItemFailures)
	}
	if st, _, _ := f.contact(t, late); st != "pending" {
		t.Errorf("late contact %s, want still pending", st)
	}
}

// The context can come from Supabase Storage (bucket clients/{client_id}/)
// instead of the database's copies.
func TestContextFromStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	fake, client := storagetest.New(t, "service-key", true)
	src := client.ClientSource(f.client.ID)
	for _, name := range f.client.Files {
		data, err := os.ReadFile(example + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	// The database's copy is broken: only Storage can give a good context.
	if _, err := f.st.Pool().Exec(ctx, `update client_context_files set content = 'broken' where name = 'competitors.json'`); err != nil {
		t.Fatal(err)
	}
	w := f.worker(t, nil, func(c *worker.Config) {
		c.Contexts = func(id string) clientctx.Source { return client.ClientSource(id) }
	})
	id := f.insert(t, "s@voxaly.example", "Voxaly", "https://www.voxaly.example")
	out, err := w.ProcessContact(ctx, id)
	if err != nil || out.Status != store.StatusCompleted {
		t.Fatalf("outcome %+v (%v)", out, err)
	}
	if fake.Lists() == 0 {
		t.Error("the case studies were not listed from Storage")
	}
}

// The client's phase is applied when the email is stored: in shadow every
// email goes to review; in the full phase the offline engine's emails are
// held (their signals and systems are level-4 phrase patterns), never
// auto-approved, and the reason says so.
func TestAutomationPhaseAtStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	up := f.upload(t, example+"/contacts.csv")
	if err := f.st.SetAutomation(ctx, f.client.ID, store.Automation{Phase: "full", PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}); err != nil {
		t.Fatal(err)
	}
	w := f.worker(t, nil, nil)
	if _, err := w.Run(ctx, worker.RunOptions{Workers: 4, BatchID: up.BatchID, UntilDone: true}); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `select count(*) from emails_generated where automation_outcome = 'held'
		and automation_reason like '%fallback_level_4:specific_target_1%' and review_status = 'pending_review'`); n != up.Imported {
		t.Errorf("%d emails held with the level-4 reason, want all %d", n, up.Imported)
	}
	if n := f.count(t, `select count(*) from emails_generated where review_status = 'approved'`); n != 0 {
		t.Errorf("%d offline emails auto-approved", n)
	}
}
