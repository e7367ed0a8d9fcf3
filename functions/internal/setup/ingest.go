package setup

import (
	"context"
	"net/http"

	"github.com/kaleads/kaleads/shared/ingest"
	"github.com/kaleads/kaleads/shared/queue/sqsqueue"
)

// Ingest builds the webhook handler of the ingest function: the webhook
// secret (KALEADS_WEBHOOK_SECRET or KALEADS_WEBHOOK_SECRET_ARN) and the SQS
// sender to KALEADS_QUEUE_URL.
func Ingest(ctx context.Context, env Env, opts ...Option) (http.Handler, *Setup, error) {
	ctx, cancel := context.WithTimeout(ctx, InitTimeout)
	defer cancel()
	s, err := New(ctx, env, opts...)
	if err != nil {
		return nil, nil, err
	}
	secret, err := s.Secret(ctx, EnvWebhookSecret, EnvWebhookSecretARN)
	if err != nil {
		return nil, s, err
	}
	queueURL, err := s.Required(EnvQueueURL)
	if err != nil {
		return nil, s, err
	}
	return ingest.New(secret, sqsqueue.New(s.SQS(), queueURL), s.Log), s, nil
}
