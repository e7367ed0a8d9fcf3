// Package funcurl serves an http.Handler behind an AWS Lambda Function URL
// in the default (BUFFERED) invoke mode: the Function URL event becomes an
// *http.Request, the handler writes into a buffer, and the buffer becomes
// the Function URL response.
//
// aws-lambda-go's lambdaurl does the same only for InvokeMode
// RESPONSE_STREAM; a buffered response keeps the status code honest for
// callers such as pg_net, which read it.
package funcurl

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

type eventKey struct{}

// Event returns the Function URL event a request was built from, for
// handlers that need more of it (the request id, an IAM authorizer).
func Event(ctx context.Context) (*events.LambdaFunctionURLRequest, bool) {
	ev, ok := ctx.Value(eventKey{}).(*events.LambdaFunctionURLRequest)
	return ev, ok
}

// Handler returns a Lambda handler serving h behind a Function URL.
//
// The request gets the method, raw path and raw query string, the headers
// (a comma-joined value stays one value, as the Function URL sent it),
// the cookies as one Cookie header, the body (base64-decoded when the event
// says so), RemoteAddr "sourceIp:0", Host the URL's domain, a non-nil TLS
// (Function URLs are HTTPS only) and the Lambda context as its context.
//
// The response carries h's status (200 when it set none), its headers with
// repeated values joined by commas, Set-Cookie headers as Cookies, and the
// body — base64-encoded unless the Content-Type is textual and the body
// valid UTF-8. A Content-Type is sniffed when h set none and wrote a body.
func Handler(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		req, err := Request(ctx, &ev)
		if err != nil {
			return plain(http.StatusBadRequest, err.Error()), nil
		}
		w := &ResponseWriter{}
		h.ServeHTTP(w, req)
		return w.Response(), nil
	}
}

// Request builds the *http.Request for a Function URL event.
func Request(ctx context.Context, ev *events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, &badRequest{"body is not valid base64"}
		}
		body = b
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	rawPath := ev.RawPath
	if rawPath == "" {
		rawPath = "/"
	}
	requestURI := rawPath
	if ev.RawQueryString != "" {
		requestURI += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(requestURI)
	if err != nil {
		return nil, &badRequest{"bad request path"}
	}
	u.Scheme = "https"
	host := ev.RequestContext.DomainName
	if h := ev.Headers["host"]; h != "" {
		host = h
	}
	u.Host = host

	ctx = context.WithValue(ctx, eventKey{}, ev)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, &badRequest{"bad request: " + err.Error()}
	}
	req.URL = u
	req.RequestURI = requestURI
	req.Host = host
	req.ContentLength = int64(len(body))
	if p := ev.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = p, major, minor
		}
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "host") {
			continue
		}
		req.Header.Add(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		req.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	req.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: ev.RequestContext.DomainName}
	return req, nil
}

type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// ResponseWriter buffers a handler's response. The zero value is ready.
type ResponseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header returns the response headers.
func (w *ResponseWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

// WriteHeader sets the status; informational (1xx) statuses and calls
// after the first are ignored, as net/http does for a buffered response.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.status != 0 || status < 200 || status > 999 {
		return
	}
	w.status = status
}

// Write appends to the body.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(p)
}

// Flush does nothing: the response goes out when the handler returns.
func (w *ResponseWriter) Flush() {}

// Response returns the Function URL response of what was written.
func (w *ResponseWriter) Response() events.LambdaFunctionURLResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	hdr := w.Header()
	if hdr.Get("Content-Type") == "" && len(body) > 0 && hdr.Get("Transfer-Encoding") == "" {
		hdr.Set("Content-Type", http.DetectContentType(body))
	}
	resp := events.LambdaFunctionURLResponse{StatusCode: status, Headers: make(map[string]string, len(hdr))}
	for k, vs := range hdr {
		if len(vs) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	if len(body) > 0 {
		if isText(hdr.Get("Content-Type")) && utf8.Valid(body) {
			resp.Body = string(body)
		} else {
			resp.Body = base64.StdEncoding.EncodeToString(body)
			resp.IsBase64Encoded = true
		}
	}
	return resp
}

// isText reports whether a Content-Type is text that a JSON string carries
// unchanged.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript",
		"application/x-www-form-urlencoded", "application/x-ndjson", "image/svg+xml":
		return true
	}
	return false
}

func plain(status int, msg string) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": strconv.Itoa(len(msg) + 1)},
		Body:       msg + "\n",
	}
}
