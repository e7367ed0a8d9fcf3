// Package store keeps campaigns in PostgreSQL (a Supabase project's database
// in production, a local PostgreSQL in development and tests) through one
// pgx pool: migrations, clients and their context files, templates, CSV
// uploads, the contact state machine (pending → enriching → completed |
// failed), generated emails with their per-agent trace, and the per-company
// agent answer cache.
//
// IDs are UUIDs in their text form. Every method takes a context. Errors
// name the operation and wrap ErrNotFound, ErrInvalid, ErrConflict,
// ErrForbidden or ErrNotMigrated where one applies (the review API adds
// ErrExists, ErrBadCredentials and ErrNothingToUndo).
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors matched with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid value")
	// ErrConflict: a unique value taken, or a change refused because the
	// row is no longer in the state it was read in (an email decided by
	// someone else meanwhile).
	ErrConflict    = errors.New("conflict")
	ErrForbidden   = errors.New("not allowed")
	ErrNotMigrated = errors.New("the database schema is missing or old: run `kaleads migrate`")
	// ErrExists: CreateUser with an e-mail address a user already has.
	ErrExists = errors.New("already exists")
	// ErrBadCredentials: Authenticate with an unknown e-mail address or a
	// wrong password (the two are not told apart).
	ErrBadCredentials = errors.New("wrong e-mail address or password")
	// ErrNothingToUndo: Undo found no recent decision it can revert.
	ErrNothingToUndo = errors.New("nothing to undo")
	// ErrUnavailable marks a failure of the connection, not of the request:
	// the server is restarting, unreachable or shedding load. Retrying later
	// (the pool reconnects) can succeed.
	ErrUnavailable = errors.New("database unavailable")
)

// DefaultMaxAttempts is how many times a contact is tried before it is
// marked failed.
const DefaultMaxAttempts = 3

// Store is the database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// MaxAttempts is the number of claims after which Fail marks a contact
	// failed instead of returning it to pending.
	MaxAttempts int
	// PasswordCost is the bcrypt cost of the passwords CreateUser hashes
	// (0: DefaultPasswordCost, 12). Tests lower it: a cost-12 hash takes
	// 0.25 s, and seconds under the race detector.
	PasswordCost int
	// claimer names the process in the contacts it claims (see Claimer).
	claimer string
}

// Claimer returns a Store whose claims carry name (a worker process's
// unique name), so ReleaseOrphans can find them. It shares s's pool.
func (s *Store) Claimer(name string) *Store {
	c := *s
	c.claimer = name
	return &c
}

// Open connects to databaseURL (a postgres:// URL or key=value string; pgx
// and pgxpool parameters such as pool_max_conns are honoured) and checks the
// connection. On port 6543, Supabase's transaction pooler, statements are
// sent unprepared (default_query_exec_mode=exec) unless the URL chooses a
// mode itself: a transaction pooler cannot keep prepared statements.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := poolConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrap(fmt.Sprintf("store: connect to %s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database), err)
	}
	return &Store{pool: pool, MaxAttempts: DefaultMaxAttempts}, nil
}

func poolConfig(databaseURL string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: database URL: %w", err)
	}
	if cfg.ConnConfig.Port == 6543 && !strings.Contains(databaseURL, "default_query_exec_mode") {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	return cfg, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool returns the underlying pool, for queries this package does not offer.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// wrap names the operation and maps PostgreSQL errors to this package's
// errors, keeping the original in the chain.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var kind error
	switch pe.Code {
	case "42P01", "42704", "42883", "42703", "3F000": // undefined table, object, function, column, schema
		kind = ErrNotMigrated
	case "23505": // unique_violation
		kind = ErrConflict
	case "42501": // insufficient_privilege, row-level security
		kind = ErrForbidden
	case "22P02", "22001", "22003", "22021", "23502", "23503", "23514", "22007", "22008":
		// bad text representation, too long, out of range, bad encoding,
		// not null, foreign key, check, bad date
		kind = ErrInvalid
	}
	if kind == nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, kind, err)
}

// unavailable reports whether err is a connection failure rather than an
// answer of the server to the request: the server shut down or restarted,
// refused or dropped the connection, or cannot take more connections.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || // connection exception
			pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || // admin/crash shutdown, cannot connect now
			pe.Code == "53300" || // too many connections
			pe.Code == "40001" || pe.Code == "40P01" // serialization failure, deadlock: the transaction may be retried
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "conn closed")
}

// checkID returns an ErrInvalid error unless id is a UUID in text form.
func checkID(what, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("%w: %s %q is not a UUID", ErrInvalid, what, clip(id, 60))
	}
	return nil
}

func isUUID(s string) bool {
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

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// nullID turns "" into SQL NULL.
func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// text makes s storable in a PostgreSQL text column: valid UTF-8 without
// NUL characters.
func text(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// jsonb makes marshalled JSON storable in a jsonb column, which refuses the
// \u0000 escape: each one becomes \ufffd.
func jsonb(b []byte) string {
	if !strings.Contains(string(b), `\u0000`) {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			out = append(out, `\ufffd`...)
			i += 5
			continue
		}
		out = append(out, b[i], b[i+1]) // any other escape, \\ included
		i++
	}
	return string(out)
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
