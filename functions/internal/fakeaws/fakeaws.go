// Package fakeaws is a fake AWS Secrets Manager endpoint for tests: an
// httptest server speaking the JSON protocol (X-Amz-Target:
// secretsmanager.GetSecretValue), to point the real SDK at with
// BaseEndpoint or AWS_ENDPOINT_URL_SECRETS_MANAGER. (The fake SQS endpoint
// is shared/queue/sqstest.)
package fakeaws

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// SecretsManager is a fake Secrets Manager holding secrets by ARN.
type SecretsManager struct {
	*httptest.Server

	mu      sync.Mutex
	secrets map[string]string
	calls   []string // the SecretIds asked for
}

// NewSecretsManager starts a server holding secrets (ARN → value), closed
// by t's cleanup.
func NewSecretsManager(t interface{ Cleanup(func()) }, secrets map[string]string) *SecretsManager {
	s := &SecretsManager{secrets: secrets}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Calls returns the SecretIds asked for so far.
func (s *SecretsManager) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *SecretsManager) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"InvalidRequestException","message":"unsupported or unsigned request"}`))
		return
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	s.calls = append(s.calls, in.SecretID)
	v, ok := s.secrets[in.SecretID]
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN":           in.SecretID,
		"Name":          in.SecretID[strings.LastIndex(in.SecretID, ":")+1:],
		"SecretString":  v,
		"VersionId":     "v1",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   1.7e9,
	})
}
