package functions_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kaleads/kaleads/functions/internal/fakeaws"
	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/queue/sqstest"
)

// TestIngestUnderEmulator runs the ingest binary under the Runtime
// Interface Emulator: the webhook secret comes from (fake) Secrets Manager,
// the contact goes to a (fake) SQS endpoint through the real SDK, and the
// answers are Function URL responses.
func TestIngestUnderEmulator(t *testing.T) {
	t.Parallel()
	const (
		secretARN = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:kaleads/webhook-AbCdEf"
		secret    = "webhook-secret-for-the-smoke-test"
		queueURL  = "https://sqs.eu-west-3.amazonaws.com/123456789012/kaleads-enrich"
		contactID = "6a1f4c2e-8b3d-4e5f-9a0b-1c2d3e4f5a6b"
	)
	sm := fakeaws.NewSecretsManager(t, map[string]string{secretARN: secret})
	sq := sqstest.New(t)
	bootstrap := buildFunction(t, "ingest")
	emu := startEmulator(t, bootstrap, map[string]string{
		"KALEADS_WEBHOOK_SECRET_ARN":       secretARN,
		"KALEADS_QUEUE_URL":                queueURL,
		"AWS_REGION":                       "eu-west-3",
		"AWS_ACCESS_KEY_ID":                "AKIDSMOKETEST",
		"AWS_SECRET_ACCESS_KEY":            "smoke-test-secret-key",
		"AWS_ENDPOINT_URL_SQS":             sq.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
	})

	body, err := os.ReadFile("../shared/ingest/testdata/insert.json")
	if err != nil {
		t.Fatal(err)
	}
	event := func(secretHeader string) events.LambdaFunctionURLRequest {
		return events.LambdaFunctionURLRequest{
			Version: "2.0", RawPath: "/",
			Headers: map[string]string{"content-type": "application/json", "x-webhook-secret": secretHeader, "user-agent": "pg_net/0.14.0"},
			RequestContext: events.LambdaFunctionURLRequestContext{
				DomainName: "abc.lambda-url.eu-west-3.on.aws", RequestID: "r1",
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/", Protocol: "HTTP/1.1", SourceIP: "198.51.100.20"},
			},
			Body: string(body),
		}
	}

	start := time.Now()
	var resp events.LambdaFunctionURLResponse
	emu.invoke(t, event(secret), &resp)
	firstInvoke := time.Since(start)
	if resp.StatusCode != 202 || !strings.Contains(resp.Body, `"enqueued":"`+contactID+`"`) {
		t.Fatalf("response %+v, want 202 enqueued", resp)
	}
	msgs := sq.Messages()
	if len(msgs) != 1 || msgs[0].QueueURL != queueURL {
		t.Fatalf("SQS got %+v", msgs)
	}
	if id, err := queue.Decode(msgs[0].Body); err != nil || id != contactID {
		t.Fatalf("message %q: %q, %v", msgs[0].Body, id, err)
	}
	if calls := sm.Calls(); len(calls) != 1 || calls[0] != secretARN {
		t.Errorf("Secrets Manager calls %v, want one at init", calls)
	}
	t.Logf("ingest: init %v (emulator's Init Duration), first invoke answered in %v, emulator start to answer %v",
		emu.initDuration(t), firstInvoke, time.Since(emu.started))

	// A wrong secret: 401, nothing enqueued, the secret not fetched again.
	emu.invoke(t, event("wrong"), &resp)
	if resp.StatusCode != 401 || !strings.Contains(resp.Body, "wrong X-Webhook-Secret") {
		t.Fatalf("response %+v, want 401", resp)
	}
	if n := len(sq.Messages()); n != 1 {
		t.Errorf("%d messages after a refused event", n)
	}
	if n := len(sm.Calls()); n != 1 {
		t.Errorf("%d Secrets Manager calls, want 1 (once per execution environment)", n)
	}
	// The log has the contact id and the request id, never the secret.
	lines := emu.logLines("contact enqueued")
	if len(lines) != 1 || lines[0]["contact_id"] != contactID || lines[0]["requestId"] == nil {
		t.Errorf("log lines %v", lines)
	}
	if strings.Contains(emu.out.String(), secret) {
		t.Error("the secret is in the log")
	}
}
