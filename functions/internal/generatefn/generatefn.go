// Package generatefn wires the generate Lambda: SQS messages naming
// contacts → the worker, with partial batch failures.
package generatefn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/llm"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/storage"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/worker"
)

// ContactTimeout bounds one contact; it stays below the function's
// Timeout (300 s in template.yaml) so the worker records the outcome
// itself rather than being killed.
const ContactTimeout = 240 * time.Second

// DeadlineMargin is kept before the invocation's deadline to give back the
// contact in flight and answer.
const DeadlineMargin = 20 * time.Second

// Handler is the SQS handler type.
type Handler = func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// New reads the environment (DATABASE_URL or DATABASE_URL_SECRET_ARN,
// OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ARN, KALEADS_ENGINE and the
// engine's variables), opens the store and returns the SQS handler.
func New(ctx context.Context, env setup.Env, opts ...setup.Option) (Handler, *setup.Setup, error) {
	ctx, cancel := context.WithTimeout(ctx, setup.InitTimeout)
	defer cancel()
	s, err := setup.New(ctx, env, opts...)
	if err != nil {
		return nil, nil, err
	}
	dbURL, err := s.Secret(ctx, setup.EnvDatabaseURL, setup.EnvDatabaseURLARN)
	if err != nil {
		return nil, s, err
	}
	key, err := s.Secret(ctx, setup.EnvOpenAIKey, setup.EnvOpenAIKeyARN)
	if err != nil && !errors.Is(err, setup.ErrNoSecret) {
		return nil, s, err
	}
	getenv := func(k string) string {
		if k == setup.EnvOpenAIKey {
			return key
		}
		return env(k)
	}
	choice := strings.TrimSpace(env(setup.EnvEngine))
	if choice == "" {
		choice = llm.ChoiceAuto
	}
	engine, err := llm.NewEngine(choice, getenv)
	if err != nil {
		return nil, s, fmt.Errorf("%s=%s: %w", setup.EnvEngine, choice, err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, s, fmt.Errorf("%s: open the database: %w", dbVar(env), err)
	}
	var contexts func(string) clientctx.Source
	switch src := strings.TrimSpace(env(setup.EnvContextSource)); src {
	case "", "db":
	case "storage":
		key, err := s.Secret(ctx, setup.EnvSupabaseKey, setup.EnvSupabaseKeyARN)
		if err != nil {
			st.Close()
			return nil, s, err
		}
		sc, err := storage.New(env(setup.EnvSupabaseURL), key)
		if err != nil {
			st.Close()
			return nil, s, fmt.Errorf("%s: %w", setup.EnvSupabaseURL, err)
		}
		contexts = func(id string) clientctx.Source { return sc.ClientSource(id) }
	default:
		st.Close()
		return nil, s, fmt.Errorf("%s=%q: want db or storage", setup.EnvContextSource, src)
	}
	w, err := worker.New(worker.Config{
		Contexts:       contexts,
		Store:          st,
		Engine:         engine,
		Scraper:        scrape.New(scrape.Options{}),
		Log:            s.Log,
		ContactTimeout: ContactTimeout,
	})
	if err != nil {
		st.Close()
		return nil, s, err
	}
	return w.SQSHandler(DeadlineMargin), s, nil
}

func dbVar(env setup.Env) string {
	if strings.TrimSpace(env(setup.EnvDatabaseURL)) != "" {
		return setup.EnvDatabaseURL
	}
	return setup.EnvDatabaseURLARN
}
