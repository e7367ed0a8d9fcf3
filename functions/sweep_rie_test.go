package functions_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/queue/sqstest"
	"github.com/kaleads/kaleads/shared/sweep"
)

// TestSweepUnderEmulator runs the sweep binary under the Runtime Interface
// Emulator: a pending contact whose webhook was lost is sent to the (fake)
// SQS queue through the real SDK.
func TestSweepUnderEmulator(t *testing.T) {
	t.Parallel()
	ctx, dbURL, st, client, tp := exampleDB(t)
	csv := "first_name,last_name,email,company_name,industry\nCamille,Rousseau,camille.rousseau@voxaly.example,Voxaly,télécoms\n"
	if _, err := st.Upload(ctx, client.ID, tp.ID, strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	// The webhook never came: the contact has been pending for a while.
	// (Triggers off for this update, or updated_at would be set to now.)
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "set local session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	var contactID string
	if err := tx.QueryRow(ctx, `update public.contacts_to_enrich
		set created_at = now() - interval '30 minutes', updated_at = now() - interval '30 minutes'
		where client_id = $1 returning id::text`, client.ID).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	sq := sqstest.New(t)
	const queueURL = "https://sqs.eu-west-3.amazonaws.com/123456789012/kaleads-enrich"
	emu := startEmulator(t, buildFunction(t, "sweep"), map[string]string{
		"DATABASE_URL":          dbURL,
		"KALEADS_QUEUE_URL":     queueURL,
		"AWS_REGION":            "eu-west-3",
		"AWS_ACCESS_KEY_ID":     "AKIDSMOKETEST",
		"AWS_SECRET_ACCESS_KEY": "smoke-test-secret-key",
		"AWS_ENDPOINT_URL_SQS":  sq.URL,
	})
	// What EventBridge Scheduler sends (the payload is ignored).
	event := map[string]any{"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.scheduler", "time": "2026-12-02T09:15:00Z", "detail": map[string]any{}}
	start := time.Now()
	var rep sweep.Report
	emu.invoke(t, event, &rep)
	firstInvoke := time.Since(start)
	if rep.Resent != 1 {
		t.Fatalf("report %+v, want 1 resent\n%s", rep, emu.out.String())
	}
	msgs := sq.Messages()
	if len(msgs) != 1 || msgs[0].QueueURL != queueURL {
		t.Fatalf("SQS got %+v", msgs)
	}
	if id, err := queue.Decode(msgs[0].Body); err != nil || id != contactID {
		t.Fatalf("message %q: %q, %v", msgs[0].Body, id, err)
	}
	t.Logf("sweep: init %v (emulator's Init Duration), first invoke answered in %v, emulator start to answer %v",
		emu.initDuration(t), firstInvoke, time.Since(emu.started))
}
