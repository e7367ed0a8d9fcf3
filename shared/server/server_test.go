package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/agents/offline"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/server"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
	"github.com/kaleads/kaleads/shared/worker"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const example = "../../examples/prospectia"

func start(t *testing.T) (st *store.Store, base string, stop func() error, c store.Client, tp store.Template) {
	t.Helper()
	ctx := context.Background()
	st = storetest.Open(t)
	c, err := st.AddClient(ctx, "Prospectia", clientctx.Dir(example))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(example + "/template.md")
	if tp, err = st.AddTemplate(ctx, c.ID, "Cold Email V1", data); err != nil {
		t.Fatal(err)
	}
	sc, stopSites, err := scrape.NewForSites(example+"/sites", scrape.Options{PerHostDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSites)
	off, _ := offline.New()
	w, err := worker.New(worker.Config{Store: st, Engine: off, Scraper: sc})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	// Poll is an hour: only the database's notifications and the webhook
	// can wake the pool in this test.
	go func() {
		done <- server.Run(rctx, server.Config{Store: st, Worker: w, Listener: ln, Workers: 4, WebhookSecret: "s3cret", Poll: time.Hour})
	}()
	stop = func() error { cancel(); return <-done }
	t.Cleanup(func() { cancel() })
	return st, "http://" + ln.Addr().String(), stop, c, tp
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t *testing.T, st *store.Store, sql string, args ...any) int {
	var n int
	if err := st.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Rows inserted straight into the table, with no webhook configured, are
// processed within seconds; a webhook delivered twice gives one email; the
// health checks answer; shutdown is clean.
func TestServe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, base, stop, c, tp := start(t)

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}

	for i := range 5 {
		_, err := st.Pool().Exec(ctx, `insert into contacts_to_enrich (client_id, template_id, first_name, email, company_name, website)
			values ($1, $2, 'Zoé', $3, 'Voxaly', 'https://www.voxaly.example')`, c.ID, tp.ID, fmt.Sprintf("z%d@voxaly.example", i))
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the inserted contacts to be processed", func() bool {
		return count(t, st, `select count(*) from emails_generated`) == 5
	})

	// A webhook names a contact; delivered twice, it still makes one email.
	var id string
	err := st.Pool().QueryRow(ctx, `insert into contacts_to_enrich (client_id, template_id, first_name, email, company_name, website)
		values ($1, $2, 'Léa', 'lea@salario.example', 'Salario', 'https://www.salario.example') returning id::text`, c.ID, tp.ID).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"type":"INSERT","table":"contacts_to_enrich","schema":"public","record":{"id":%q},"old_record":null}`, id)
	for range 2 {
		req, _ := http.NewRequest("POST", base+"/webhooks/contacts", strings.NewReader(body))
		req.Header.Set("X-Webhook-Secret", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("POST", base+"/webhooks/contacts", strings.NewReader(body))
	req.Header.Set("X-Webhook-Secret", "wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("webhook with a wrong secret: %v %v", resp, err)
	}
	waitFor(t, "the webhook's contact", func() bool {
		return count(t, st, `select count(*) from contacts_to_enrich where id = $1 and status = 'completed'`, id) == 1
	})
	if n := count(t, st, `select count(*) from emails_generated where contact_id = $1`, id); n != 1 {
		t.Errorf("%d emails for a webhook delivered twice", n)
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// readyz tells an unmigrated database apart.
func TestReadyzNeedsMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := server.Handler(st, "x", nil, nil, server.HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "kaleads migrate") {
		t.Errorf("readyz on an empty database: %d %s", rec.Code, rec.Body.String())
	}
}

// One handler serves the review UI, the REST API and the webhook.
func TestHandlerMountsUIAndAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := server.Handler(st, "x", nil, nil, server.HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{"/login", "<form", http.StatusOK},
		{"/api/openapi.json", `"openapi"`, http.StatusOK},
		{"/api/v1/emails", `"unauthorized"`, http.StatusUnauthorized},
		{"/api/v1/nope", `"not_found"`, http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("GET %s: %d %.200s, want %d with %s", tc.path, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
}
