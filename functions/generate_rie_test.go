package functions_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/store"
)

// TestGenerateUnderEmulator runs the generate binary under the Runtime
// Interface Emulator against a scratch database: an SQS event naming a
// contact yields its stored email.
func TestGenerateUnderEmulator(t *testing.T) {
	t.Parallel()
	ctx, dbURL, st, client, tp := exampleDB(t)
	// No website: nothing is scraped (no network), and the offline engine
	// falls back on the client's context.
	csv := "first_name,last_name,email,company_name,website,industry,job_title\n" +
		"Camille,Rousseau,camille.rousseau@voxaly.example,Voxaly,,télécoms,CEO\n"
	rep, err := st.Upload(ctx, client.ID, tp.ID, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upload: %+v", rep)
	var contactID string
	if err := st.Pool().QueryRow(ctx, "select id::text from public.contacts_to_enrich where client_id = $1", client.ID).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	body, _ := queue.Encode(contactID)

	emu := startEmulator(t, buildFunction(t, "generate"), map[string]string{
		"DATABASE_URL":   dbURL,
		"KALEADS_ENGINE": "offline",
		"AWS_REGION":     "eu-west-3",
	})
	event := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "msg-1", Body: body, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:eu-west-3:123456789012:kaleads-enrich",
		Attributes:     map[string]string{"ApproximateReceiveCount": "1"},
	}}}
	start := time.Now()
	var resp events.SQSEventResponse
	emu.invoke(t, event, &resp)
	firstInvoke := time.Since(start)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch item failures %v\n%s", resp.BatchItemFailures, emu.out.String())
	}
	var n int
	var status string
	if err := st.Pool().QueryRow(ctx, "select count(*) from public.emails_generated where contact_id = $1", contactID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool().QueryRow(ctx, "select status::text from public.contacts_to_enrich where id = $1", contactID).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if n != 1 || status != store.StatusCompleted {
		t.Fatalf("%d emails, contact %s; output:\n%s", n, status, emu.out.String())
	}
	t.Logf("generate: init %v (emulator's Init Duration), first invoke answered in %v, emulator start to answer %v",
		emu.initDuration(t), firstInvoke, time.Since(emu.started))

	// The same message again (SQS delivers at least once): skipped, no
	// second email.
	emu.invoke(t, event, &resp)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v", resp.BatchItemFailures)
	}
	_ = st.Pool().QueryRow(ctx, "select count(*) from public.emails_generated where contact_id = $1", contactID).Scan(&n)
	if n != 1 {
		t.Fatalf("%d emails after a redelivery", n)
	}
}
