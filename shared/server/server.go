// Package server is `kaleads serve`: the same webhook handler as the ingest
// Lambda, a worker pool claiming pending contacts in-process, wake-ups from
// PostgreSQL (LISTEN/NOTIFY) with polling as the safety net, a scheduler
// (the sweeper every minute), health and readiness endpoints, and a
// graceful shutdown. Several serve processes may share one database: claims
// never overlap.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaleads/kaleads/shared/api"
	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/ingest"
	"github.com/kaleads/kaleads/shared/review"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/sweep"
	"github.com/kaleads/kaleads/shared/worker"
)

// Config of a server.
type Config struct {
	Store  *store.Store
	Worker *worker.Worker
	// Addr to listen on (":8080"); Listener, when set, is used instead.
	Addr     string
	Listener net.Listener
	// Workers is how many contacts are processed at once (default 8).
	Workers int
	// WebhookSecret authenticates POST /webhooks/contacts (the
	// X-Webhook-Secret header). Empty: the endpoint refuses every call.
	WebhookSecret string
	Log           *slog.Logger
	// Poll is the safety-net claim period when no wake-up comes (default
	// 5 s); SweepEvery the sweeper's period (default 1 minute).
	Poll, SweepEvery time.Duration
	// Grace is how long contacts in flight may finish on shutdown before
	// they are given back (default 20 s).
	Grace time.Duration
	// Ready is called with the listening address once the server accepts
	// connections.
	Ready func(addr string)
	// InsecureCookies serves the review UI's cookies without the Secure
	// attribute, for a plain-http address other than localhost.
	InsecureCookies bool
	// Jobs are run by the scheduler, each at the times its Next gives (the
	// daily export at 14:00 Europe/Paris...).
	Jobs []Job
	// Export runs a client's export for POST /api/v1/exports (nil: 501).
	Export func(ctx context.Context, clientID string, req export.Request) (export.Report, error)
}

// Job is a scheduled task: Run is called at Next(now), then again at the
// next time, until the server stops. A run that is still going when its
// next time comes delays that time (runs of a job never overlap).
type Job struct {
	Name string
	Next func(now time.Time) time.Time
	Run  func(ctx context.Context)
}

// Run serves until ctx ends, then shuts down: the HTTP server stops
// accepting, the pool stops claiming, and contacts in flight finish within
// Grace or are given back to pending.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Store == nil || cfg.Worker == nil {
		return errors.New("server: store and worker are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 20 * time.Second
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	outer := ctx
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	sw, err := sweep.New(sweep.Config{Store: cfg.Store, StaleAfter: cfg.Worker.StaleAfter(), Log: cfg.Log})
	if err != nil {
		return err
	}

	h, err := Handler(cfg.Store, cfg.WebhookSecret, wakeQueue(poke), cfg.Log, HandlerOptions{InsecureCookies: cfg.InsecureCookies, Export: cfg.Export})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, j := range cfg.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runJob(ctx, j, cfg.Log)
		}()
	}
	wg.Add(4)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("serve: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		listen(ctx, cfg.Store.Pool(), poke, cfg.Log)
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.SweepEvery)
		defer t.Stop()
		for {
			if rep, err := sw.Run(ctx); err != nil && ctx.Err() == nil {
				cfg.Log.ErrorContext(ctx, "sweep failed", "error", err)
			} else if rep.Requeued > 0 {
				poke()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer wg.Done()
		_, err := cfg.Worker.Run(ctx, worker.RunOptions{Workers: cfg.Workers, Wake: wake, Poll: cfg.Poll, Grace: cfg.Grace})
		if err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("worker pool: %w", err)
		}
	}()
	cfg.Log.Info("serving", "addr", ln.Addr().String(), "workers", cfg.Workers)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}

	var runErr error
	select {
	case <-outer.Done():
	case runErr = <-errs:
	}
	stop()
	cfg.Log.Info("shutting down: no new claims; contacts in flight finish or are given back", "grace", cfg.Grace.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace+10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		cfg.Log.Warn("http shutdown", "error", err)
	}
	wg.Wait()
	cfg.Log.Info("stopped")
	return runErr
}

// runJob runs j at each of its times until ctx ends.
func runJob(ctx context.Context, j Job, log *slog.Logger) {
	for {
		at := j.Next(time.Now())
		log.DebugContext(ctx, "job scheduled", "job", j.Name, "at", at.Format(time.RFC3339))
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		j.Run(ctx)
	}
}

// wakeQueue is the in-process queue behind the webhook: the contacts are
// already pending in the database, so enqueuing wakes the pool, which
// claims them.
type wakeQueue func()

func (q wakeQueue) Enqueue(context.Context, ...string) error { q(); return nil }

// HandlerOptions tunes Handler.
type HandlerOptions struct {
	InsecureCookies bool // review UI cookies without Secure (plain http)
	// Export runs a client's export for POST /api/v1/exports (nil: 501).
	Export func(ctx context.Context, clientID string, req export.Request) (export.Report, error)
}

// Handler serves the webhook endpoint, the health checks, the REST API
// for automation tools under /api/ (/api/v1/…, /api/openapi.json) and the
// review UI (everything else: /, /login, /emails/…, /dashboard, /static/…).
func Handler(st *store.Store, secret string, q ingest.Enqueuer, log *slog.Logger, opts HandlerOptions) (http.Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wake func(context.Context, ...string) error
	if q != nil {
		wake = q.Enqueue
	}
	ui, err := review.New(review.Config{Store: st, Wake: wake, Log: log, InsecureCookies: opts.InsecureCookies})
	if err != nil {
		return nil, fmt.Errorf("server: review UI: %w", err)
	}
	apiCfg := api.Config{Store: api.FromStore(st), Log: log, Export: opts.Export}
	if q != nil {
		apiCfg.Wake = func(ctx context.Context, _ string) {
			if err := q.Enqueue(ctx); err != nil {
				log.Warn("api: wake the worker", "error", err)
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/", ui)
	mux.Handle("/api/", api.New(apiCfg))
	mux.Handle("/webhooks/contacts", ingest.New(secret, q, log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable", "error": err.Error()})
			return
		}
		missing, err := st.MissingMigrations(ctx)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database error", "error": err.Error()})
			return
		}
		if len(missing) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "migrations missing: run kaleads migrate", "missing": missing})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// listen wakes the pool on each notification of channel kaleads_contacts
// (sent by the contacts table's triggers), reconnecting with back-off when
// the connection drops. Behind a transaction pooler (Supabase :6543) LISTEN
// does not work: polling still finds the contacts.
func listen(ctx context.Context, pool *pgxpool.Pool, wake func(), log *slog.Logger) {
	delay := time.Second
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer func() {
				// A connection left listening goes back closed, not to the pool.
				conn.Conn().Close(context.WithoutCancel(ctx))
				conn.Release()
			}()
			if _, err := conn.Exec(ctx, "listen kaleads_contacts"); err != nil {
				return err
			}
			delay = time.Second
			wake() // anything inserted while we were not listening
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				wake()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		log.Warn("LISTEN kaleads_contacts lost; polling meanwhile, reconnecting", "error", err, "in", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, 30*time.Second)
	}
}
