package generatefn_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/functions/internal/generatefn"
	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/worker"
)

type fakeWorker map[string]worker.Outcome

func (f fakeWorker) ProcessContact(ctx context.Context, id string) (worker.Outcome, error) {
	if id == "00000000-0000-4000-8000-00000000000e" {
		return worker.Outcome{}, errors.New("database unreachable")
	}
	return f[id], nil
}

func TestSQSHandler(t *testing.T) {
	t.Parallel()
	w := fakeWorker{
		"00000000-0000-4000-8000-000000000001": {Status: store.StatusCompleted, EmailID: "e1", Created: true},
		"00000000-0000-4000-8000-000000000002": {Status: store.StatusPending, Err: errors.New("LLM down")},
		"00000000-0000-4000-8000-000000000003": {Status: worker.Skipped},
		"00000000-0000-4000-8000-000000000004": {Status: store.StatusFailed, Err: errors.New("no template")},
	}
	msg := func(id, body string) events.SQSMessage { return events.SQSMessage{MessageId: id, Body: body} }
	ev := events.SQSEvent{Records: []events.SQSMessage{
		msg("m1", `{"contact_id":"00000000-0000-4000-8000-000000000001"}`),
		msg("m2", `{"contact_id":"00000000-0000-4000-8000-000000000002"}`),
		msg("m3", `{"contact_id":"00000000-0000-4000-8000-000000000003"}`),
		msg("m4", `{"contact_id":"00000000-0000-4000-8000-000000000004"}`),
		msg("m5", `not json`),
		msg("m6", `{"contact_id":"00000000-0000-4000-8000-00000000000e"}`),
	}}
	resp, err := generatefn.SQSHandler(w, nil)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	if want := []string{"m2", "m5", "m6"}; !slices.Equal(got, want) {
		t.Fatalf("batch item failures %v, want %v", got, want)
	}
}
