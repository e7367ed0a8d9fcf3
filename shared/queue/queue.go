// Package queue is the message format of the enrichment queue (the SQS
// sender is in queue/sqsqueue, so readers of messages do not link the AWS SDK).
//
// A message names one contact of public.contacts_to_enrich by its id and
// nothing else: the consumer re-reads (and claims) the row from the database,
// so a message carries no data that could be stale or forged. Sending the
// same contact twice is harmless: the claim succeeds once.
package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrBadMessage is wrapped by the errors of Encode and Decode.
var ErrBadMessage = errors.New("bad queue message")

// Message is the body of one queue message.
type Message struct {
	ContactID string `json:"contact_id"`
}

// maxBody bounds what Decode reads; a real message is about 60 bytes.
const maxBody = 4 << 10

// Encode returns the message body for a contact.
func Encode(contactID string) (string, error) {
	if !IsUUID(contactID) {
		return "", fmt.Errorf("%w: contact_id %q is not a UUID", ErrBadMessage, clip(contactID))
	}
	b, err := json.Marshal(Message{ContactID: contactID})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	return string(b), nil
}

// Decode returns the contact id of a message body. It refuses anything but
// one JSON object {"contact_id": "<uuid>"}: other fields, trailing data, a
// missing, empty or non-UUID id.
func Decode(body string) (contactID string, err error) {
	if len(body) > maxBody {
		return "", fmt.Errorf("%w: body is %d bytes, more than %d", ErrBadMessage, len(body), maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return "", fmt.Errorf("%w: body is not a JSON object: %v", ErrBadMessage, err)
	}
	if raw == nil {
		return "", fmt.Errorf("%w: body is null, want a JSON object", ErrBadMessage)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", fmt.Errorf("%w: data after the JSON object", ErrBadMessage)
	}
	for k := range raw {
		if k != "contact_id" {
			return "", fmt.Errorf("%w: unknown field %q", ErrBadMessage, clip(k))
		}
	}
	v, ok := raw["contact_id"]
	if !ok {
		return "", fmt.Errorf("%w: contact_id is missing", ErrBadMessage)
	}
	var id string
	if err := json.Unmarshal(v, &id); err != nil {
		return "", fmt.Errorf("%w: contact_id is not a string", ErrBadMessage)
	}
	if id == "" {
		return "", fmt.Errorf("%w: contact_id is empty", ErrBadMessage)
	}
	if !IsUUID(id) {
		return "", fmt.Errorf("%w: contact_id %q is not a UUID", ErrBadMessage, clip(id))
	}
	return id, nil
}

// IsUUID reports whether s is a UUID in its 36-character text form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 60
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
