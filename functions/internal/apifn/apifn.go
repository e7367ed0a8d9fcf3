// Package apifn wires the api Lambda: the REST API (shared/api) behind a
// Function URL, over the database.
package apifn

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/time/rate"

	"github.com/kaleads/kaleads/functions/internal/exportfn"
	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/functions/internal/storesetup"
	"github.com/kaleads/kaleads/shared/api"
)

// Variables of the api function besides the database's.
const (
	// EnvRate and EnvBurst set each API key's rate limit (requests per
	// second, burst). The limit is kept per execution environment: with N
	// environments warm, a key may send up to N times as much.
	EnvRate  = "KALEADS_API_RATE"
	EnvBurst = "KALEADS_API_BURST"
)

// New reads DATABASE_URL or DATABASE_URL_SECRET_ARN (and the optional
// KALEADS_API_RATE, KALEADS_API_BURST), opens the store and returns the
// API handler. Contacts posted to the API are inserted in the database,
// whose webhook (the ingest function) queues them: the handler wakes no
// worker itself.
func New(ctx context.Context, env setup.Env, opts ...setup.Option) (http.Handler, *setup.Setup, error) {
	ctx, cancel := context.WithTimeout(ctx, setup.InitTimeout)
	defer cancel()
	s, err := setup.New(ctx, env, opts...)
	if err != nil {
		return nil, nil, err
	}
	cfg := api.Config{Log: s.Log}
	if v := strings.TrimSpace(env(EnvRate)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return nil, s, fmt.Errorf("%s=%q: want a positive number of requests per second", EnvRate, v)
		}
		cfg.Rate = rate.Limit(f)
	}
	if v := strings.TrimSpace(env(EnvBurst)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, s, fmt.Errorf("%s=%q: want a positive whole number", EnvBurst, v)
		}
		cfg.Burst = n
	}
	st, err := storesetup.Open(ctx, s)
	if err != nil {
		return nil, s, err
	}
	cfg.Store = api.FromStore(st)
	x, err := exportfn.Exporter(ctx, s, env, st, false)
	if err != nil {
		st.Close()
		return nil, s, err
	}
	cfg.Export = x.RunConfigured
	return api.New(cfg), s, nil
}
