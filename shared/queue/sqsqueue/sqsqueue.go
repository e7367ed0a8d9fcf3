// Package sqsqueue sends queue messages (package queue's format) to Amazon
// Sender.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/kaleads/kaleads/shared/queue"
)

// BatchSize is the most messages one SendMessageBatch call carries (an Sender
// limit).
const BatchSize = 10

// API is the part of the Sender client that Sender uses; *sqs.Client
// satisfies it.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Sender sends contact ids to one Sender queue. It is safe for concurrent use.
type Sender struct {
	client   API
	queueURL string
}

// New returns a sender to the queue at queueURL.
func New(client API, queueURL string) *Sender {
	return &Sender{client: client, queueURL: queueURL}
}

// Failure is one contact that was not enqueued.
type Failure struct {
	ContactID string
	// Code is the Sender error code of the entry, or "BadMessage" (not a UUID),
	// "RequestFailed" (the call failed), "NotTried" (the context ended
	// first) or "Missing" (Sender answered neither success nor failure).
	Code    string
	Message string
}

// EnqueueError reports the contacts Enqueue did not send; the others were
// sent. It unwraps to the request errors met (and queue.ErrBadMessage for invalid
// ids), so errors.Is(err, context.DeadlineExceeded) works.
type EnqueueError struct {
	Failed []Failure
	Sent   int
	errs   []error
}

func (e *EnqueueError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "queue: %d of %d contacts not enqueued:", len(e.Failed), len(e.Failed)+e.Sent)
	const show = 20
	for i, f := range e.Failed {
		if i == show {
			fmt.Fprintf(&b, " … and %d more", len(e.Failed)-show)
			break
		}
		if i > 0 {
			b.WriteByte(';')
		}
		if f.Message == "" {
			fmt.Fprintf(&b, " %s (%s)", f.ContactID, f.Code)
		} else {
			fmt.Fprintf(&b, " %s (%s: %s)", f.ContactID, f.Code, f.Message)
		}
	}
	for _, err := range e.errs {
		if !errors.Is(err, queue.ErrBadMessage) {
			fmt.Fprintf(&b, "; %v", err)
		}
	}
	return b.String()
}

// Unwrap returns the underlying errors.
func (e *EnqueueError) Unwrap() []error { return e.errs }

// FailedIDs returns the ids of the contacts not enqueued.
func (e *EnqueueError) FailedIDs() []string {
	ids := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		ids[i] = f.ContactID
	}
	return ids
}

// Enqueue sends one message per contact id, in SendMessageBatch calls of up
// to BatchSize messages. Repeated ids are sent once. It returns nil when
// every message was accepted, else an *EnqueueError naming the ids that were
// not (a partial failure is an error). Invalid ids are reported, not sent;
// the other ids are still sent. After a cancelled context the remaining ids
// are reported without being tried.
func (q *Sender) Enqueue(ctx context.Context, contactIDs ...string) error {
	var fails []Failure
	var errs []error
	var bodies []entry
	seen := make(map[string]bool, len(contactIDs))
	for _, id := range contactIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		body, err := queue.Encode(id)
		if err != nil {
			fails = append(fails, Failure{ContactID: id, Code: "BadMessage", Message: "not a UUID"})
			if len(errs) == 0 || !errors.Is(errs[0], queue.ErrBadMessage) {
				errs = append(errs, err)
			}
			continue
		}
		bodies = append(bodies, entry{id: id, body: body})
	}
	sent := 0
	for start := 0; start < len(bodies); start += BatchSize {
		chunk := bodies[start:min(start+BatchSize, len(bodies))]
		if err := ctx.Err(); err != nil {
			fails = appendAll(fails, chunk, "NotTried")
			if len(errs) == 0 || errs[len(errs)-1] != err {
				errs = append(errs, err)
			}
			continue
		}
		n, f, err := q.send(ctx, chunk)
		sent += n
		fails = append(fails, f...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(fails) == 0 {
		return nil
	}
	return &EnqueueError{Failed: fails, Sent: sent, errs: errs}
}

type entry struct{ id, body string }

// send makes one SendMessageBatch call. Entry ids are the positions in the
// chunk, so repeated or odd contact ids can never clash with Sender's rules on
// entry ids.
func (q *Sender) send(ctx context.Context, chunk []entry) (sent int, fails []Failure, err error) {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.queueURL)}
	for i, e := range chunk {
		in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{
			Id:          aws.String(strconv.Itoa(i)),
			MessageBody: aws.String(e.body),
		})
	}
	out, err := q.client.SendMessageBatch(ctx, in)
	if err != nil {
		err = fmt.Errorf("queue: SendMessageBatch: %w", err)
		return 0, appendAll(nil, chunk, "RequestFailed"), err
	}
	ok := make([]bool, len(chunk))
	for _, s := range out.Successful {
		if i, found := index(s.Id, len(chunk)); found {
			ok[i] = true
		}
	}
	for _, f := range out.Failed {
		i, found := index(f.Id, len(chunk))
		if !found || ok[i] {
			continue
		}
		ok[i] = true // reported once, here
		fails = append(fails, Failure{ContactID: chunk[i].id, Code: aws.ToString(f.Code), Message: aws.ToString(f.Message)})
	}
	for i, e := range chunk {
		if !ok[i] {
			// Neither successful nor failed: never assume it was sent.
			fails = append(fails, Failure{ContactID: e.id, Code: "Missing", Message: "not in the SendMessageBatch answer"})
		}
	}
	return len(chunk) - len(fails), fails, nil
}

func index(id *string, n int) (int, bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	if err != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}

// appendAll reports every contact of chunk with code; the cause is in
// EnqueueError's errors, said once.
func appendAll(fails []Failure, chunk []entry, code string) []Failure {
	for _, e := range chunk {
		fails = append(fails, Failure{ContactID: e.id, Code: code})
	}
	return fails
}
