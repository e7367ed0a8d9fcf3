package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/kaleads/kaleads/shared/queue"
	"github.com/kaleads/kaleads/shared/queue/sqsqueue"
	"github.com/kaleads/kaleads/shared/queue/sqstest"
)

const queueURL = "https://sqs.eu-west-3.amazonaws.com/123456789012/kaleads-enrich"

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	return out
}

// fakeSQS records calls and answers with failures for the ids it is told to.
type fakeSQS struct {
	mu     sync.Mutex
	calls  []*sqs.SendMessageBatchInput
	failID map[string]bool // contact ids whose entries fail
	drop   map[string]bool // contact ids absent from the answer
	err    error           // whole-call error
}

func (f *fakeSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		id, err := queue.Decode(aws.ToString(e.MessageBody))
		if err != nil {
			return nil, err
		}
		switch {
		case f.drop[id]:
		case f.failID[id]:
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("KmsThrottled"), Message: aws.String("throttled")})
		default:
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m")})
		}
	}
	return out, nil
}

func sentIDs(t *testing.T, calls []*sqs.SendMessageBatchInput) []string {
	t.Helper()
	var out []string
	for _, c := range calls {
		if aws.ToString(c.QueueUrl) != queueURL {
			t.Errorf("QueueUrl = %q", aws.ToString(c.QueueUrl))
		}
		for _, e := range c.Entries {
			id, err := queue.Decode(aws.ToString(e.MessageBody))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
	}
	return out
}

func TestEnqueueChunks(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 10, 11, 25} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			f := &fakeSQS{}
			all := ids(n)
			if err := sqsqueue.New(f, queueURL).Enqueue(context.Background(), all...); err != nil {
				t.Fatal(err)
			}
			if want := (n + 9) / 10; len(f.calls) != want {
				t.Fatalf("%d calls, want %d", len(f.calls), want)
			}
			for _, c := range f.calls {
				if len(c.Entries) > sqsqueue.BatchSize {
					t.Fatalf("a call has %d entries", len(c.Entries))
				}
			}
			if got := sentIDs(t, f.calls); !slices.Equal(got, all) {
				t.Fatalf("sent %v, want %v", got, all)
			}
		})
	}
}

func TestEnqueueDuplicatesSentOnce(t *testing.T) {
	t.Parallel()
	f := &fakeSQS{}
	all := ids(3)
	if err := sqsqueue.New(f, queueURL).Enqueue(context.Background(), all[0], all[1], all[0], all[2], all[1]); err != nil {
		t.Fatal(err)
	}
	if got := sentIDs(t, f.calls); !slices.Equal(got, all) {
		t.Fatalf("sent %v, want %v", got, all)
	}
}

func TestEnqueuePartialFailure(t *testing.T) {
	t.Parallel()
	all := ids(23)
	f := &fakeSQS{failID: map[string]bool{all[3]: true, all[17]: true}, drop: map[string]bool{all[21]: true}}
	err := sqsqueue.New(f, queueURL).Enqueue(context.Background(), all...)
	var ee *sqsqueue.EnqueueError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *EnqueueError", err)
	}
	if got, want := ee.FailedIDs(), []string{all[3], all[17], all[21]}; !slices.Equal(got, want) {
		t.Fatalf("failed %v, want %v", got, want)
	}
	if ee.Sent != 20 {
		t.Errorf("Sent = %d, want 20", ee.Sent)
	}
	for _, s := range []string{all[3], all[17], all[21], "KmsThrottled", "3 of 23"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if len(f.calls) != 3 {
		t.Errorf("%d calls, want 3 (a failed entry does not stop the others)", len(f.calls))
	}
}

func TestEnqueueRequestError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	f := &fakeSQS{err: boom}
	all := ids(12)
	err := sqsqueue.New(f, queueURL).Enqueue(context.Background(), all...)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the request error", err)
	}
	var ee *sqsqueue.EnqueueError
	if !errors.As(err, &ee) || !slices.Equal(ee.FailedIDs(), all) {
		t.Fatalf("err = %#v, want every id failed", err)
	}
	if !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), all[11]) {
		t.Errorf("error %q", err)
	}
}

func TestEnqueueBadIDs(t *testing.T) {
	t.Parallel()
	f := &fakeSQS{}
	all := ids(2)
	err := sqsqueue.New(f, queueURL).Enqueue(context.Background(), all[0], "not-a-uuid", all[1])
	if !errors.Is(err, queue.ErrBadMessage) || !strings.Contains(err.Error(), "not-a-uuid") {
		t.Fatalf("err = %v", err)
	}
	if got := sentIDs(t, f.calls); !slices.Equal(got, all) {
		t.Fatalf("sent %v, want the valid ids %v", got, all)
	}
}

func TestEnqueueCancelled(t *testing.T) {
	t.Parallel()
	f := &fakeSQS{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sqsqueue.New(f, queueURL).Enqueue(ctx, ids(15)...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("%d calls after cancel", len(f.calls))
	}
}

// realClient is the real SDK client pointed at a fake endpoint, offline.
func realClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           "eu-west-3",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// TestEnqueueRealClient sends through the real aws-sdk-go-v2 client to an
// httptest server speaking the SQS JSON protocol: serialisation, signing,
// the MD5 check of the answer and partial failures all go through the SDK.
func TestEnqueueRealClient(t *testing.T) {
	t.Parallel()
	srv := sqstest.New(t)
	all := ids(13)
	bad, _ := queue.Encode(all[4])
	srv.FailBody = func(body string) bool { return body == bad }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := sqsqueue.New(realClient(srv.URL), queueURL).Enqueue(ctx, all...)
	var ee *sqsqueue.EnqueueError
	if !errors.As(err, &ee) || !slices.Equal(ee.FailedIDs(), []string{all[4]}) {
		t.Fatalf("err = %v, want only %s failed", err, all[4])
	}
	var got []string
	for _, m := range srv.Messages() {
		if m.QueueURL != queueURL {
			t.Errorf("QueueURL = %q", m.QueueURL)
		}
		var msg queue.Message
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, msg.ContactID)
	}
	want := slices.Delete(slices.Clone(all), 4, 5)
	if !slices.Equal(got, want) {
		t.Fatalf("arrived %v, want %v", got, want)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.Target != "AmazonSQS.SendMessageBatch" || r.ContentType != "application/x-amz-json-1.0" {
			t.Errorf("request %+v", r)
		}
		if !strings.HasPrefix(r.Authorization, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(r.Authorization, "/eu-west-3/sqs/") {
			t.Errorf("Authorization = %q, want a SigV4 signature", r.Authorization)
		}
	}

	// An error answer from the service fails every id of the call.
	srv.Status.Store(403)
	err = sqsqueue.New(realClient(srv.URL), queueURL).Enqueue(ctx, all[:3]...)
	if !errors.As(err, &ee) || !slices.Equal(ee.FailedIDs(), all[:3]) {
		t.Fatalf("err = %v, want the 3 ids failed", err)
	}
}
