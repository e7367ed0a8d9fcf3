// Package exportfn wires the export Lambda: at the daily slot (14:00
// Europe/Paris) it exports every client's approved emails to the
// destination the client configured; on its short schedule it runs the
// full phase's "at once" pass (see shared/export).
package exportfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/functions/internal/storesetup"
	"github.com/kaleads/kaleads/shared/export"
	"github.com/kaleads/kaleads/shared/storage"
	"github.com/kaleads/kaleads/shared/store"
)

// The sequencer keys may come from Secrets Manager.
const (
	EnvSmartleadKeyARN = "SMARTLEAD_API_KEY_SECRET_ARN"
	EnvInstantlyKeyARN = "INSTANTLY_API_KEY_SECRET_ARN"
)

// Event is the scheduler's input: {"mode": "daily"} (the default) or
// {"mode": "at_once"}.
type Event struct {
	Mode string `json:"mode"`
}

// Result sums up one invocation, per client.
type Result struct {
	Mode    string          `json:"mode"`
	Clients []ClientOutcome `json:"clients"`
}

// ClientOutcome is one client's export.
type ClientOutcome struct {
	Client      string `json:"client"`
	Destination string `json:"destination"`
	Campaign    string `json:"campaign,omitempty"`
	Sent        int    `json:"sent"`
	Held        int    `json:"held"`
	Refused     int    `json:"refused"`
	Unconfirmed int    `json:"unconfirmed"`
	Reconciled  int    `json:"reconciled"`
	Error       string `json:"error,omitempty"`
}

// Handler is the export Lambda's handler type.
type Handler = func(context.Context, json.RawMessage) (Result, error)

// New reads DATABASE_URL (or its secret), the sequencer keys
// (SMARTLEAD_API_KEY / INSTANTLY_API_KEY, or their *_SECRET_ARN; base URLs
// from SMARTLEAD_BASE_URL / INSTANTLY_BASE_URL) and, for clients exporting
// to csv, SUPABASE_URL and its key (files go to the Storage bucket
// "exports"), and returns the scheduled handler.
func New(ctx context.Context, env setup.Env, opts ...setup.Option) (Handler, *setup.Setup, error) {
	ctx, cancel := context.WithTimeout(ctx, setup.InitTimeout)
	defer cancel()
	s, err := setup.New(ctx, env, opts...)
	if err != nil {
		return nil, nil, err
	}
	st, err := storesetup.Open(ctx, s)
	if err != nil {
		return nil, s, err
	}
	x, err := Exporter(ctx, s, env, st, true)
	if err != nil {
		st.Close()
		return nil, s, err
	}
	return func(ctx context.Context, raw json.RawMessage) (Result, error) {
		var ev Event
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &ev); err != nil {
				return Result{}, fmt.Errorf("export: event: %w", err)
			}
		}
		switch ev.Mode {
		case "":
			ev.Mode = "daily"
		case "daily", "at_once":
		default:
			return Result{}, fmt.Errorf("export: event mode %q: want daily or at_once", ev.Mode)
		}
		outs, err := x.Scheduled(ctx, ev.Mode == "at_once")
		res := Result{Mode: ev.Mode, Clients: []ClientOutcome{}}
		var failed []string
		for _, o := range outs {
			r := o.Report
			co := ClientOutcome{Client: o.Client, Destination: r.Destination, Campaign: r.CampaignID, Sent: len(r.Sent), Held: len(r.Held),
				Refused: len(r.Refused), Unconfirmed: len(r.Unconfirmed), Reconciled: r.Reconciled}
			if o.Err != nil {
				co.Error = o.Err.Error()
				if !errors.Is(o.Err, export.ErrBusy) {
					failed = append(failed, o.Client)
				}
			}
			res.Clients = append(res.Clients, co)
		}
		if err == nil && len(failed) > 0 && ev.Mode == "daily" {
			// Failing the invocation makes the scheduler retry it (a rerun
			// reconciles against the ledger and sends nothing twice).
			s.Log.ErrorContext(ctx, "daily export failed for some clients", "clients", failed, "result", res)
			err = fmt.Errorf("export: daily export failed for %d clients (%s); the scheduler retries", len(failed), strings.Join(failed, ", "))
		}
		return res, err
	}, s, nil
}

// Exporter builds the exports' runner of a function: the sequencer clients
// from SMARTLEAD_API_KEY / INSTANTLY_API_KEY or their secrets (base URLs
// from SMARTLEAD_BASE_URL / INSTANTLY_BASE_URL), Slack notifications, and,
// with files and SUPABASE_URL set, csv files into the Storage bucket
// "exports". The export and api functions share it.
func Exporter(ctx context.Context, s *setup.Setup, env setup.Env, st *store.Store, files bool) (*export.Exporter, error) {
	vars := map[string]string{}
	for name, arn := range map[string]string{export.EnvSmartleadKey: EnvSmartleadKeyARN, export.EnvInstantlyKey: EnvInstantlyKeyARN} {
		v, err := s.Secret(ctx, name, arn)
		if err != nil && !errors.Is(err, setup.ErrNoSecret) {
			return nil, err
		}
		vars[name] = v
	}
	getenv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return env(k)
	}
	seqs, err := export.Sequencers(getenv, s.Log)
	if err != nil {
		return nil, err
	}
	var sink export.Sink
	if u := env(setup.EnvSupabaseURL); files && u != "" {
		key, err := s.Secret(ctx, setup.EnvSupabaseKey, setup.EnvSupabaseKeyARN)
		if err != nil {
			return nil, err
		}
		sc, err := storage.New(u, key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setup.EnvSupabaseURL, err)
		}
		sink = export.Storage{C: sc}
	}
	return export.New(export.Config{Store: st, Sequencers: seqs, Files: sink, Notify: export.NewSlackNotifier(st, s.Log), Log: s.Log})
}
