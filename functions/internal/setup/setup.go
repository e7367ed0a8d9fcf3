// Package setup builds the pieces of the Lambda functions from their
// environment: the logger, the AWS configuration, secrets (read once per
// execution environment, at init), the queue and the handlers. It is the
// one place under functions/ that reads the environment; the mains only
// call it and start the runtime.
//
// Variables:
//
//	KALEADS_WEBHOOK_SECRET or KALEADS_WEBHOOK_SECRET_ARN   ingest: the shared webhook secret, or its Secrets Manager ARN
//	KALEADS_QUEUE_URL                                      ingest, sweep: the enrichment queue
//	DATABASE_URL or DATABASE_URL_SECRET_ARN                generate, sweep: the database URL, or its Secrets Manager ARN
//	OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ARN            generate: the LLM key (optional: no key means the offline engine)
//	KALEADS_ENGINE                                         generate: auto (default), llm or offline
//	AWS_LAMBDA_LOG_LEVEL                                   DEBUG, INFO (default), WARN, ERROR
//
// The AWS SDK reads its own variables (AWS_REGION, credentials,
// AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_SECRETS_MANAGER…)
// through config.LoadDefaultConfig.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Variable names.
const (
	EnvWebhookSecret    = "KALEADS_WEBHOOK_SECRET"
	EnvWebhookSecretARN = "KALEADS_WEBHOOK_SECRET_ARN"
	EnvQueueURL         = "KALEADS_QUEUE_URL"
	EnvDatabaseURL      = "DATABASE_URL"
	EnvDatabaseURLARN   = "DATABASE_URL_SECRET_ARN"
	EnvOpenAIKey        = "OPENAI_API_KEY"
	EnvOpenAIKeyARN     = "OPENAI_API_KEY_SECRET_ARN"
	EnvEngine           = "KALEADS_ENGINE"
	// KALEADS_CONTEXT_SOURCE=storage reads clients' context files from
	// Supabase Storage (SUPABASE_URL, and SUPABASE_SERVICE_ROLE_KEY or its
	// secret's ARN) instead of the database's copies.
	EnvContextSource  = "KALEADS_CONTEXT_SOURCE"
	EnvSupabaseURL    = "SUPABASE_URL"
	EnvSupabaseKey    = "SUPABASE_SERVICE_ROLE_KEY"
	EnvSupabaseKeyARN = "SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN"
	EnvLogLevel       = "AWS_LAMBDA_LOG_LEVEL"
)

// InitTimeout bounds the whole init: loading the AWS configuration,
// fetching secrets, connecting to the database. Lambda's init phase itself
// is limited to 10 s.
const InitTimeout = 8 * time.Second

// SecretTimeout bounds one Secrets Manager call.
const SecretTimeout = 4 * time.Second

// Env is a function that reads a variable (os.Getenv in the mains).
type Env func(string) string

// SecretsAPI is the Secrets Manager call Setup makes.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Setup holds what every function needs.
type Setup struct {
	Env Env
	Log *slog.Logger
	AWS aws.Config

	secrets SecretsAPI
}

// Option adjusts New (tests use it to point the SDK at fakes).
type Option func(*options)

type options struct {
	logOut  io.Writer
	awsOpts []func(*config.LoadOptions) error
	secrets SecretsAPI
}

// WithLogOutput sends the log to w instead of stdout.
func WithLogOutput(w io.Writer) Option { return func(o *options) { o.logOut = w } }

// WithAWSOptions adds options to config.LoadDefaultConfig.
func WithAWSOptions(fns ...func(*config.LoadOptions) error) Option {
	return func(o *options) { o.awsOpts = append(o.awsOpts, fns...) }
}

// WithSecrets replaces the Secrets Manager client.
func WithSecrets(s SecretsAPI) Option { return func(o *options) { o.secrets = s } }

// New builds the logger and loads the AWS configuration.
func New(ctx context.Context, env Env, opts ...Option) (*Setup, error) {
	o := options{logOut: os.Stdout}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Setup{Env: env, Log: Logger(o.logOut, Level(env(EnvLogLevel)))}
	cfg, err := config.LoadDefaultConfig(ctx, o.awsOpts...)
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration: %w", err)
	}
	s.AWS = cfg
	s.secrets = o.secrets
	return s, nil
}

// Logger returns a JSON logger writing to w that adds the Lambda request id
// (requestId) to records logged with a context that has one; keys follow
// Lambda's JSON log format (timestamp, level, message).
func Logger(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(requestIDHandler{h})
}

// Level parses AWS_LAMBDA_LOG_LEVEL (TRACE and DEBUG are debug; FATAL is
// error); anything else is INFO.
func Level(s string) slog.Level {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// Logger returns s.Log; nil when s is nil (init failed before the logger).
func (s *Setup) Logger() *slog.Logger {
	if s == nil {
		return nil
	}
	return s.Log
}

// Required returns the value of a variable that must be set.
func (s *Setup) Required(name string) (string, error) {
	v := strings.TrimSpace(s.Env(name))
	if v == "" {
		return "", fmt.Errorf("%s is not set", name)
	}
	return v, nil
}

// ErrNoSecret is returned by Secret when neither variable is set.
var ErrNoSecret = errors.New("not set")

// Secret returns the value of the variable name when it is set, else the
// Secrets Manager secret whose ARN (or name) the variable arnName holds.
// The secret must be a non-empty string; surrounding white space is
// dropped. Errors name the variables, never a value. When neither is set
// the error wraps ErrNoSecret.
func (s *Setup) Secret(ctx context.Context, name, arnName string) (string, error) {
	if v := strings.TrimSpace(s.Env(name)); v != "" {
		return v, nil
	}
	arn := strings.TrimSpace(s.Env(arnName))
	if arn == "" {
		return "", fmt.Errorf("%s or %s: %w", name, arnName, ErrNoSecret)
	}
	if s.secrets == nil {
		s.secrets = secretsmanager.NewFromConfig(s.AWS)
	}
	ctx, cancel := context.WithTimeout(ctx, SecretTimeout)
	defer cancel()
	out, err := s.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("%s: read the secret from Secrets Manager: %w", arnName, err)
	}
	v := aws.ToString(out.SecretString)
	if v == "" && len(out.SecretBinary) > 0 {
		v = string(out.SecretBinary)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("%s: the secret is empty", arnName)
	}
	return v, nil
}

// SQS returns an SQS client (honouring AWS_ENDPOINT_URL_SQS).
func (s *Setup) SQS() *sqs.Client { return sqs.NewFromConfig(s.AWS) }

// Exit logs err (when not nil) and ends the process: an init that cannot
// complete fails the execution environment, which Lambda reports and
// retries on the next invoke.
func Exit(log *slog.Logger, err error) {
	if err == nil {
		return
	}
	if log == nil {
		log = Logger(os.Stdout, slog.LevelInfo)
	}
	log.Error("init failed", "err", err)
	os.Exit(1)
}
