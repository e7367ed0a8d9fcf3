package worker

import (
	"errors"

	"github.com/kaleads/kaleads/shared/agents"
	"github.com/kaleads/kaleads/shared/clientctx"
	"github.com/kaleads/kaleads/shared/contacts"
	"github.com/kaleads/kaleads/shared/template"
)

// invalidError marks a cause the worker found that retrying cannot fix.
type invalidError struct{ err error }

func (e invalidError) Error() string { return e.err.Error() }
func (e invalidError) Unwrap() error { return e.err }

func invalid(err error) error { return invalidError{err} }

// Permanent reports whether err is a cause that retrying cannot fix: an
// invalid contact row, template or context files, a template variable
// nothing produces, a contact without client or template. Every other cause
// (the run stopping, a deadline, a lost database connection, an LLM outage,
// a Storage error) is retryable.
func Permanent(err error) bool {
	var ie invalidError
	var ue *agents.UnknownVariableError
	return errors.As(err, &ie) || errors.As(err, &ue) ||
		errors.Is(err, template.ErrSyntax) || errors.Is(err, clientctx.ErrInvalid) || errors.Is(err, contacts.ErrInvalid)
}
