package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/store"
)

// SQSHandler is the generate Lambda: each message names a contact, which
// is claimed and processed. The response lists the messages to deliver
// again (partial batch failures): a contact given back for a later attempt,
// a claim the database could not take, a message that is not ours (it ends
// in the dead-letter queue after the queue's receive count). Completed,
// failed-for-good and not-claimable contacts are done.
//
// Before the invocation's deadline the handler stops: the contact in flight
// is given back with margin to spare (never killed mid-write), and the
// messages not started are returned for redelivery.
func (w *Worker) SQSHandler(margin time.Duration) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-margin),
				fmt.Errorf("the Lambda invocation is about to time out (%s left)", margin))
			defer cancel()
		}
		for _, m := range ev.Records {
			retry := func() {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
			if ctx.Err() != nil {
				retry()
				continue
			}
			id, err := queue.Decode(m.Body)
			if err != nil {
				w.log.ErrorContext(ctx, "bad queue message", "message_id", m.MessageId, "error", err)
				retry()
				continue
			}
			out, err := w.ProcessContact(ctx, id)
			if err != nil {
				w.log.ErrorContext(ctx, "contact not claimed", "contact_id", id, "error", err)
				retry()
				continue
			}
			if out.Status == store.StatusPending || out.Status == store.StatusEnriching {
				retry()
			}
		}
		return resp, nil
	}
}
