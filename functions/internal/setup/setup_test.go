package setup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/kaleads/kaleads/functions/internal/fakeaws"
	"github.com/kaleads/kaleads/functions/internal/setup"
	"github.com/kaleads/kaleads/shared/queue/sqstest"
)

const (
	webhookARN = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:kaleads/webhook-AbCdEf"
	dbARN      = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:kaleads/db-AbCdEf"
)

func env(m map[string]string) setup.Env { return func(k string) string { return m[k] } }

// awsOffline points every AWS client at endpoint with static credentials.
func awsOffline(endpoint string) setup.Option {
	return setup.WithAWSOptions(
		config.WithRegion("eu-west-3"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		config.WithBaseEndpoint(endpoint),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
}

func TestSecretFromEnv(t *testing.T) {
	t.Parallel()
	s, err := setup.New(context.Background(), env(map[string]string{setup.EnvWebhookSecret: " direct \n", setup.EnvWebhookSecretARN: webhookARN}),
		setup.WithLogOutput(&bytes.Buffer{}), awsOffline("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Secret(context.Background(), setup.EnvWebhookSecret, setup.EnvWebhookSecretARN)
	if err != nil || v != "direct" {
		t.Fatalf("Secret = %q, %v; want the variable, no Secrets Manager call", v, err)
	}
}

func TestSecretFromSecretsManager(t *testing.T) {
	t.Parallel()
	sm := fakeaws.NewSecretsManager(t, map[string]string{webhookARN: "from-sm\n", dbARN: ""})
	s, err := setup.New(context.Background(), env(map[string]string{setup.EnvWebhookSecretARN: webhookARN, setup.EnvDatabaseURLARN: dbARN, setup.EnvOpenAIKeyARN: "arn:missing"}),
		setup.WithLogOutput(&bytes.Buffer{}), awsOffline(sm.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := s.Secret(ctx, setup.EnvWebhookSecret, setup.EnvWebhookSecretARN)
	if err != nil || v != "from-sm" {
		t.Fatalf("Secret = %q, %v", v, err)
	}
	_, err = s.Secret(ctx, setup.EnvDatabaseURL, setup.EnvDatabaseURLARN)
	if err == nil || !strings.Contains(err.Error(), setup.EnvDatabaseURLARN+": the secret is empty") {
		t.Fatalf("empty secret: %v", err)
	}
	_, err = s.Secret(ctx, setup.EnvOpenAIKey, setup.EnvOpenAIKeyARN)
	if err == nil || !strings.Contains(err.Error(), setup.EnvOpenAIKeyARN) || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("missing secret: %v", err)
	}
	_, err = s.Secret(ctx, "NOPE", "NOPE_ARN")
	if !errors.Is(err, setup.ErrNoSecret) || !strings.Contains(err.Error(), "NOPE or NOPE_ARN") {
		t.Fatalf("unset: %v", err)
	}
	if got := sm.Calls(); len(got) != 3 {
		t.Errorf("Secrets Manager calls %v", got)
	}
}

// A hung Secrets Manager does not hang the init.
func TestSecretTimeout(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	s, err := setup.New(context.Background(), env(map[string]string{setup.EnvWebhookSecretARN: webhookARN}), setup.WithLogOutput(&bytes.Buffer{}), awsOffline(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Secret(ctx, setup.EnvWebhookSecret, setup.EnvWebhookSecretARN)
	if err == nil || !strings.Contains(err.Error(), setup.EnvWebhookSecretARN) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// fakeSecrets is a SecretsAPI answering a blank secret.
type fakeSecrets struct{}

func (fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("   ")}, nil
}

func TestSecretWithClient(t *testing.T) {
	t.Parallel()
	s, err := setup.New(context.Background(), env(map[string]string{setup.EnvWebhookSecretARN: webhookARN}), setup.WithLogOutput(&bytes.Buffer{}), setup.WithSecrets(fakeSecrets{}), awsOffline("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(context.Background(), setup.EnvWebhookSecret, setup.EnvWebhookSecretARN); err == nil {
		t.Fatal("a blank secret was accepted")
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := setup.Logger(&buf, setup.Level("debug")).With("fn", "ingest")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	log.DebugContext(ctx, "hello", "contact_id", "c1")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%q", buf.String())
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["requestId"] != "req-42" || first["message"] != "hello" || first["level"] != "DEBUG" || first["fn"] != "ingest" || first["contact_id"] != "c1" || first["timestamp"] == nil {
		t.Errorf("first line %v", first)
	}
	if _, ok := second["requestId"]; ok {
		t.Errorf("second line %v", second)
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "WARN": slog.LevelWarn, "error": slog.LevelError, "TRACE": slog.LevelDebug, "bogus": slog.LevelInfo} {
		if got := setup.Level(in); got != want {
			t.Errorf("Level(%q) = %v", in, got)
		}
	}
}

func TestIngest(t *testing.T) {
	t.Parallel()
	sm := fakeaws.NewSecretsManager(t, map[string]string{webhookARN: "hook-secret"})
	sq := sqstest.New(t)
	ctx := context.Background()

	var logs bytes.Buffer
	_, _, err := setup.Ingest(ctx, env(map[string]string{setup.EnvWebhookSecretARN: webhookARN}), setup.WithLogOutput(&logs), awsOffline(sm.URL))
	if err == nil || !strings.Contains(err.Error(), setup.EnvQueueURL+" is not set") {
		t.Fatalf("no queue URL: %v", err)
	}
	_, _, err = setup.Ingest(ctx, env(map[string]string{setup.EnvQueueURL: sq.URL + "/q"}), setup.WithLogOutput(&logs), awsOffline(sm.URL))
	if !errors.Is(err, setup.ErrNoSecret) {
		t.Fatalf("no secret: %v", err)
	}

	// Secrets Manager and SQS are both the fakes' base endpoints here: one
	// server per service, so route by pointing the SDK at a mux.
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		to := sq.URL
		if strings.HasPrefix(target, "secretsmanager.") {
			to = sm.URL
		}
		proxy(w, r, to)
	})
	front := httptest.NewServer(mux)
	defer front.Close()
	h, s, err := setup.Ingest(ctx, env(map[string]string{setup.EnvWebhookSecretARN: webhookARN, setup.EnvQueueURL: "https://sqs.eu-west-3.amazonaws.com/123456789012/q"}),
		setup.WithLogOutput(&logs), awsOffline(front.URL))
	if err != nil {
		t.Fatal(err)
	}
	if s.Log == nil {
		t.Fatal("no logger")
	}
	const id = "6a1f4c2e-8b3d-4e5f-9a0b-1c2d3e4f5a6b"
	body := `{"type":"INSERT","table":"contacts_to_enrich","schema":"public","record":{"id":"` + id + `"},"old_record":null}`
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Webhook-Secret", "hook-secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 202 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	msgs := sq.Messages()
	if len(msgs) != 1 || msgs[0].Body != `{"contact_id":"`+id+`"}` {
		t.Fatalf("messages %v", msgs)
	}
	if strings.Contains(logs.String(), "hook-secret") {
		t.Fatalf("the log holds the secret: %s", logs.String())
	}
}

// proxy forwards r to base (a tiny reverse proxy that keeps the signature's
// headers).
func proxy(w http.ResponseWriter, r *http.Request, base string) {
	out, _ := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	_, _ = w.Write(buf.Bytes())
}
