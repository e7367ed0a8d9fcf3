// Package sqstest is a fake Amazon SQS endpoint for tests: an httptest
// server speaking the SQS JSON protocol (application/x-amz-json-1.0,
// X-Amz-Target: AmazonSQS.<Operation>) for SendMessage and SendMessageBatch,
// so the real aws-sdk-go-v2 client can be pointed at it (BaseEndpoint, or
// AWS_ENDPOINT_URL_SQS for a whole program) and work offline.
package sqstest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Message is a message the server accepted.
type Message struct {
	QueueURL string
	Body     string
}

// Request is what the server saw of one call.
type Request struct {
	Target        string // X-Amz-Target
	ContentType   string
	Authorization string // the SigV4 header ("" when unsigned)
	Entries       int
}

// Server is a fake SQS endpoint. Its fields may be set before the first
// request.
type Server struct {
	*httptest.Server

	// FailBody, when set, makes the server refuse the batch entries whose
	// body it returns true for, with SenderFault false and code
	// "InternalError".
	FailBody func(body string) bool
	// Status, when not 0, is the HTTP status every call answers with (an
	// error document), e.g. 500 or 403.
	Status atomic.Int32

	mu       sync.Mutex
	messages []Message
	requests []Request
	arrived  chan struct{}
}

// New starts a fake SQS server; it is closed by t's cleanup when t is given.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{arrived: make(chan struct{}, 1024)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Messages returns the messages accepted so far, in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests returns the calls seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Arrived receives a value for each accepted message.
func (s *Server) Arrived() <-chan struct{} { return s.arrived }

type entryIn struct {
	ID          string `json:"Id"`
	MessageBody string `json:"MessageBody"`
}

type batchIn struct {
	QueueURL string    `json:"QueueUrl"`
	Entries  []entryIn `json:"Entries"`
}

type sendIn struct {
	QueueURL    string `json:"QueueUrl"`
	MessageBody string `json:"MessageBody"`
}

type okEntry struct {
	ID               string `json:"Id"`
	MessageID        string `json:"MessageId"`
	MD5OfMessageBody string `json:"MD5OfMessageBody"`
}

type failEntry struct {
	ID          string `json:"Id"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	SenderFault bool   `json:"SenderFault"`
}

var next atomic.Int64

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	req := Request{Target: target, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization")}
	if r.Method != http.MethodPost || !strings.HasPrefix(req.ContentType, "application/x-amz-json-1.0") {
		s.record(req, nil)
		fail(w, http.StatusBadRequest, "com.amazonaws.sqs#InvalidAction", "want a POST of application/x-amz-json-1.0")
		return
	}
	if st := s.Status.Load(); st != 0 {
		s.record(req, nil)
		fail(w, int(st), "com.amazonaws.sqs#InternalError", "configured failure")
		return
	}
	switch target {
	case "AmazonSQS.SendMessageBatch":
		var in batchIn
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.QueueURL == "" || len(in.Entries) == 0 || len(in.Entries) > 10 {
			s.record(req, nil)
			fail(w, http.StatusBadRequest, "com.amazonaws.sqs#InvalidParameterValue", "bad SendMessageBatch input")
			return
		}
		req.Entries = len(in.Entries)
		out := struct {
			Successful []okEntry   `json:"Successful"`
			Failed     []failEntry `json:"Failed"`
		}{Successful: []okEntry{}, Failed: []failEntry{}}
		var accepted []Message
		for _, e := range in.Entries {
			if s.FailBody != nil && s.FailBody(e.MessageBody) {
				out.Failed = append(out.Failed, failEntry{ID: e.ID, Code: "InternalError", Message: "fake failure"})
				continue
			}
			out.Successful = append(out.Successful, okEntry{ID: e.ID, MessageID: messageID(), MD5OfMessageBody: md5hex(e.MessageBody)})
			accepted = append(accepted, Message{QueueURL: in.QueueURL, Body: e.MessageBody})
		}
		s.record(req, accepted)
		reply(w, out)
	case "AmazonSQS.SendMessage":
		var in sendIn
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.QueueURL == "" {
			s.record(req, nil)
			fail(w, http.StatusBadRequest, "com.amazonaws.sqs#InvalidParameterValue", "bad SendMessage input")
			return
		}
		req.Entries = 1
		s.record(req, []Message{{QueueURL: in.QueueURL, Body: in.MessageBody}})
		reply(w, map[string]string{"MessageId": messageID(), "MD5OfMessageBody": md5hex(in.MessageBody)})
	default:
		s.record(req, nil)
		fail(w, http.StatusBadRequest, "com.amazonaws.sqs#InvalidAction", "unsupported action "+target)
	}
}

func (s *Server) record(req Request, msgs []Message) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.messages = append(s.messages, msgs...)
	s.mu.Unlock()
	for range msgs {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", strings.TrimPrefix(typ, "com.amazonaws.sqs#")+";Sender")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func messageID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", next.Add(1))
}
