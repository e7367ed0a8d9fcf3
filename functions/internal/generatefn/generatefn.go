// Package generatefn wires the generate Lambda: SQS messages naming
// contacts → the worker, with partial batch failures.
package generatefn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/shared/llm"
	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/scrape"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/worker"
)

// ContactTimeout bounds one contact; it stays below the function's
// Timeout (300 s in template.yaml) so the worker records the outcome
// itself rather than being killed.
const ContactTimeout = 240 * time.Second

// Processor is the worker call the handler makes.
type Processor interface {
	ProcessContact(ctx context.Context, contactID string) (worker.Outcome, error)
}

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
	w, err := worker.New(worker.Config{
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
	return SQSHandler(w, s.Log), s, nil
}

func dbVar(env setup.Env) string {
	if strings.TrimSpace(env(setup.EnvDatabaseURL)) != "" {
		return setup.EnvDatabaseURL
	}
	return setup.EnvDatabaseURLARN
}

// SQSHandler processes each message's contact and reports as batch item
// failures the messages to deliver again: a message that is not a contact
// id (it ends in the dead-letter queue after the redrive count), a claim
// that could not be made, and a contact given back for a later attempt
// (its next delivery claims it once its back-off has passed; the store
// fails it for good after its attempts, and later deliveries are skipped).
func SQSHandler(p Processor, log *slog.Logger) Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, m := range ev.Records {
			l := log.With("message_id", m.MessageId)
			id, err := queue.Decode(m.Body)
			if err != nil {
				l.ErrorContext(ctx, "bad queue message", "err", err, "receive_count", m.Attributes["ApproximateReceiveCount"])
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				continue
			}
			l = l.With("contact_id", id)
			out, err := p.ProcessContact(ctx, id)
			switch {
			case err != nil:
				l.ErrorContext(ctx, "claim failed; the message will be delivered again", "err", err)
			case out.Status == store.StatusPending:
				l.WarnContext(ctx, "contact given back for a later attempt", "err", out.Err)
			default:
				l.InfoContext(ctx, "contact processed", "status", out.Status, "email_id", out.EmailID, "created", out.Created, "quality", out.Quality)
				continue
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		return resp, nil
	}
}
