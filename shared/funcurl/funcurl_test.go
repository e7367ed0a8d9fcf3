package funcurl_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/kaleads/kaleads/shared/funcurl"
)

func event(t *testing.T, name string) events.LambdaFunctionURLRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// seen is what the echo handler reports of its request.
type seen struct {
	Method, Path, RawPath, RawQuery, RequestURI, Host, RemoteAddr, Proto string
	Query                                                                url.Values
	Header                                                               http.Header
	Cookies                                                              map[string]string
	Body                                                                 []byte
	ContentLength                                                        int64
	TLS                                                                  bool
	RequestID                                                            string
	EventRequestID                                                       string
}

func echo(t *testing.T, got *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		*got = seen{
			Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			RequestURI: r.RequestURI, Host: r.Host, RemoteAddr: r.RemoteAddr, Proto: r.Proto,
			Query: r.URL.Query(), Header: r.Header, Cookies: map[string]string{},
			Body: body, ContentLength: r.ContentLength, TLS: r.TLS != nil,
		}
		for _, c := range r.Cookies() {
			got.Cookies[c.Name] = c.Value
		}
		if lc, ok := lambdacontext.FromContext(r.Context()); ok {
			got.RequestID = lc.AwsRequestID
		}
		if ev, ok := funcurl.Event(r.Context()); ok {
			got.EventRequestID = ev.RequestContext.RequestID
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func lambdaCtx() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
}

func TestRequestGet(t *testing.T) {
	t.Parallel()
	var got seen
	resp, err := funcurl.Handler(echo(t, &got))(lambdaCtx(), event(t, "get.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 204 || resp.Body != "" {
		t.Fatalf("response %+v", resp)
	}
	const domain = "abcdefghijklmnopqrstuvwxyz123456.lambda-url.eu-west-3.on.aws"
	for _, c := range []struct{ what, got, want string }{
		{"method", got.Method, "GET"},
		{"path", got.Path, "/emails/café/42"},
		{"raw path", got.RawPath, "/emails/caf%C3%A9/42"},
		{"raw query", got.RawQuery, "status=pending_review&status=approved&q=a%20b"},
		{"request URI", got.RequestURI, "/emails/caf%C3%A9/42?status=pending_review&status=approved&q=a%20b"},
		{"host", got.Host, domain},
		{"remote addr", got.RemoteAddr, "203.0.113.7:0"},
		{"proto", got.Proto, "HTTP/1.1"},
		{"accept", got.Header.Get("Accept"), "text/html,application/json"},
		{"x-forwarded-for", got.Header.Get("X-Forwarded-For"), "203.0.113.7"},
		{"host header", got.Header.Get("Host"), ""},
		{"lambda request id", got.RequestID, "req-1"},
		{"event request id", got.EventRequestID, "c4f1a2b3-d4e5-4f60-8a7b-9c0d1e2f3a4b"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if q := got.Query["status"]; !slices.Equal(q, []string{"pending_review", "approved"}) || got.Query.Get("q") != "a b" {
		t.Errorf("query %v", got.Query)
	}
	if got.Cookies["session"] != "abc123" || got.Cookies["theme"] != "dark" {
		t.Errorf("cookies %v", got.Cookies)
	}
	if !got.TLS {
		t.Error("TLS is nil")
	}
	host, _, err := net.SplitHostPort(got.RemoteAddr)
	if err != nil || host != "203.0.113.7" {
		t.Errorf("SplitHostPort(RemoteAddr) = %q, %v", host, err)
	}
}

func TestRequestBase64Body(t *testing.T) {
	t.Parallel()
	var got seen
	if _, err := funcurl.Handler(echo(t, &got))(context.Background(), event(t, "post_base64.json")); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0, 1, 2, 255, 254, 10}, "é"...)
	if !slices.Equal(got.Body, want) || got.ContentLength != int64(len(want)) {
		t.Fatalf("body %v (length %d), want %v", got.Body, got.ContentLength, want)
	}
	if got.Method != "POST" || got.RemoteAddr != "[2001:db8::1]:0" || got.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("request %+v", got)
	}
}

func TestRequestPlainBody(t *testing.T) {
	t.Parallel()
	var got seen
	if _, err := funcurl.Handler(echo(t, &got))(context.Background(), event(t, "post_json.json")); err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != `{"type":"INSERT","table":"contacts_to_enrich","schema":"public","record":{}}` {
		t.Errorf("body %q", got.Body)
	}
	if got.Header.Get("X-Webhook-Secret") != "s3cr3t" || got.Path != "/" {
		t.Errorf("request %+v", got)
	}
}

func TestBadBase64(t *testing.T) {
	t.Parallel()
	ev := event(t, "post_base64.json")
	ev.Body = "%%%"
	called := false
	resp, err := funcurl.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), ev)
	if err != nil || resp.StatusCode != 400 || called {
		t.Fatalf("response %+v, %v, called %v", resp, err, called)
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		status  int
		headers map[string]string
		cookies []string
		body    string
		base64  bool
	}{
		{
			name: "json with multi-value header and cookies",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Cookie")
				http.SetCookie(w, &http.Cookie{Name: "session", Value: "xyz", HttpOnly: true, Secure: true})
				http.SetCookie(w, &http.Cookie{Name: "theme", Value: "light"})
				w.WriteHeader(http.StatusAccepted)
				_, _ = io.WriteString(w, `{"enqueued":"é"}`)
			},
			status:  202,
			headers: map[string]string{"Content-Type": "application/json", "Vary": "Accept,Cookie"},
			cookies: []string{"session=xyz; HttpOnly; Secure", "theme=light"},
			body:    `{"enqueued":"é"}`,
		},
		{
			name: "binary",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				_, _ = w.Write(png)
			},
			status:  200,
			headers: map[string]string{"Content-Type": "image/png"},
			body:    base64.StdEncoding.EncodeToString(png),
			base64:  true,
		},
		{
			name:    "sniffed html",
			h:       func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<!DOCTYPE html><p>ok</p>") },
			status:  200,
			headers: map[string]string{"Content-Type": "text/html; charset=utf-8"},
			body:    "<!DOCTYPE html><p>ok</p>",
		},
		{
			name: "text type but invalid UTF-8",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte{0xff, 'a'})
			},
			status:  200,
			headers: map[string]string{"Content-Type": "text/plain"},
			body:    base64.StdEncoding.EncodeToString([]byte{0xff, 'a'}),
			base64:  true,
		},
		{
			name:    "nothing written",
			h:       func(w http.ResponseWriter, r *http.Request) {},
			status:  200,
			headers: map[string]string{},
		},
		{
			name: "second WriteHeader ignored",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusContinue)
				w.WriteHeader(http.StatusNotFound)
				w.WriteHeader(http.StatusOK)
				http.Error(w, "gone", http.StatusInternalServerError)
			},
			status:  404,
			headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
			body:    "gone\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := funcurl.Handler(tc.h)(context.Background(), event(t, "get.json"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || resp.Body != tc.body || resp.IsBase64Encoded != tc.base64 || !slices.Equal(resp.Cookies, tc.cookies) {
				t.Errorf("response %+v", resp)
			}
			if len(resp.Headers) != len(tc.headers) {
				t.Errorf("headers %v, want %v", resp.Headers, tc.headers)
			}
			for k, v := range tc.headers {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
		})
	}
}

// The response marshals to what a Function URL expects.
func TestResponseJSON(t *testing.T) {
	t.Parallel()
	resp, _ := funcurl.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"error":"wrong X-Webhook-Secret"}`)
	}))(context.Background(), event(t, "post_json.json"))
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["statusCode"] != float64(401) || m["body"] != `{"error":"wrong X-Webhook-Secret"}` || m["isBase64Encoded"] != false {
		t.Fatalf("%s", b)
	}
}
