package functions_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestAPIUnderEmulator runs the api binary under the Runtime Interface
// Emulator against a scratch database: Function URL events for the public
// routes, a refused key, and a campaign posted and read with a client's key.
func TestAPIUnderEmulator(t *testing.T) {
	t.Parallel()
	ctx, dbURL, st, client, _ := exampleDB(t)
	key, _, err := st.CreateAPIKey(ctx, client.ID, "n8n")
	if err != nil {
		t.Fatal(err)
	}

	emu := startEmulator(t, buildFunction(t, "api"), map[string]string{
		"DATABASE_URL":          dbURL,
		"KALEADS_API_RATE":      "5",
		"AWS_REGION":            "eu-west-3",
		"AWS_ACCESS_KEY_ID":     "AKIDSMOKETEST",
		"AWS_SECRET_ACCESS_KEY": "smoke-test-secret-key",
	})
	event := func(method, path, query, auth, body string) events.LambdaFunctionURLRequest {
		h := map[string]string{"content-type": "application/json", "user-agent": "n8n"}
		if auth != "" {
			h["authorization"] = "Bearer " + auth
		}
		return events.LambdaFunctionURLRequest{
			Version: "2.0", RawPath: path, RawQueryString: query, Headers: h, Body: body,
			RequestContext: events.LambdaFunctionURLRequestContext{
				DomainName: "abc.lambda-url.eu-west-3.on.aws", RequestID: "r1",
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "198.51.100.20"},
			},
		}
	}
	call := func(method, path, query, auth, body string) events.LambdaFunctionURLResponse {
		t.Helper()
		var resp events.LambdaFunctionURLResponse
		emu.invoke(t, event(method, path, query, auth, body), &resp)
		return resp
	}

	start := time.Now()
	resp := call("GET", "/api/v1/healthz", "", "", "")
	firstInvoke := time.Since(start)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"ok"`) {
		t.Fatalf("healthz: %+v", resp)
	}
	if resp = call("GET", "/api/openapi.json", "", "", ""); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"openapi": "3.1`) {
		t.Errorf("openapi: %d %.200s", resp.StatusCode, resp.Body)
	}
	if resp = call("GET", "/api/v1/emails", "", "kl_wrong", ""); resp.StatusCode != 401 || !strings.Contains(resp.Body, `"unauthorized"`) {
		t.Errorf("wrong key: %+v", resp)
	}

	resp = call("POST", "/api/v1/campaigns", "", key, `{"contacts": [
		{"first_name": "Camille", "email": "camille.rousseau@voxaly.example", "company": "Voxaly", "industry": "télécoms"},
		{"first_name": "Bob", "email": "bob@", "company": "Acme"}]}`)
	var c struct {
		BatchID, URL string
		Status       string
		Upload       struct{ Imported int }
	}
	if err := json.Unmarshal([]byte(resp.Body), &c); resp.StatusCode != 202 || err != nil || c.Upload.Imported != 1 || resp.Headers["Location"] != c.URL {
		t.Fatalf("POST /api/v1/campaigns: %+v", resp)
	}
	resp = call("GET", c.URL, "", key, "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"total":1`) {
		t.Errorf("GET %s: %+v", c.URL, resp)
	}
	resp = call("GET", "/api/v1/emails", "status=any&limit=10", key, "")
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"data":[]`) {
		t.Errorf("GET /api/v1/emails: %+v", resp)
	}
	if strings.Contains(emu.out.String(), key) {
		t.Error("the API key is in the log")
	}
	t.Logf("api: init %v (emulator's Init Duration), first invoke answered in %v, emulator start to answer %v",
		emu.initDuration(t), firstInvoke, time.Since(emu.started))
}
