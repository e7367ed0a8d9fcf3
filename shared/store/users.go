package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/bcrypt"
)

// Member roles (the member_role enum).
const (
	RoleOwner    = "owner"
	RoleReviewer = "reviewer"
)

// DefaultPasswordCost is the bcrypt cost of new passwords.
const DefaultPasswordCost = 12

// MinPasswordLen is the shortest password CreateUser accepts; bcrypt reads
// at most 72 bytes, so longer ones are refused rather than cut.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// Membership is a user's role on one client.
type Membership struct{ ClientID, ClientName, Role string } // Role: "owner" | "reviewer"

// User is a person who signs in: a row of auth.users, an admin flag
// (public.app_admins) and memberships (public.client_members).
type User struct {
	ID, Email string
	Admin     bool // sees every client
	Clients   []Membership
}

// Scope limits every read and write to some clients. A reviewer: its
// memberships; an admin: All; an API key: its client. Out-of-scope ids are
// ErrNotFound, never a different error. The zero Scope sees nothing.
type Scope struct {
	All       bool
	ClientIDs []string
}

// Scope returns what the user may see: every client for an admin, else the
// clients they are a member of.
func (u User) Scope() Scope {
	if u.Admin {
		return Scope{All: true}
	}
	ids := make([]string, 0, len(u.Clients))
	for _, m := range u.Clients {
		ids = append(ids, m.ClientID)
	}
	return Scope{ClientIDs: ids}
}

// has reports whether the scope includes the client.
func (sc Scope) has(clientID string) bool {
	if sc.All {
		return true
	}
	for _, id := range sc.ClientIDs {
		if strings.EqualFold(id, clientID) {
			return true
		}
	}
	return false
}

// ids returns the scope's client ids that are UUIDs (anything else cannot
// match a row), lower-cased and without repeats.
func (sc Scope) ids() []string {
	out := make([]string, 0, len(sc.ClientIDs))
	seen := map[string]bool{}
	for _, id := range sc.ClientIDs {
		id = strings.ToLower(id)
		if isUUID(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Store) passwordCost() int {
	if s.PasswordCost > 0 {
		return s.PasswordCost
	}
	return DefaultPasswordCost
}

// dummyHashes holds, per cost, the hash Authenticate compares an unknown
// e-mail's password with, so it costs what a wrong password costs.
var dummyHashes sync.Map // int → []byte

func dummyHash(cost int) []byte {
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	h, err := bcrypt.GenerateFromPassword([]byte(base64.RawURLEncoding.EncodeToString(b[:])), cost)
	if err != nil { // only for a cost out of range
		h, _ = bcrypt.GenerateFromPassword(b[:], bcrypt.DefaultCost)
	}
	got, _ := dummyHashes.LoadOrStore(cost, h)
	return got.([]byte)
}

// normEmail trims and lower-cases an e-mail address, as Supabase Auth
// stores them.
func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser adds a user who signs in with email and password: a row of
// auth.users shaped as Supabase Auth (GoTrue) makes them — bcrypt hash of
// cost Store.PasswordCost (12) in encrypted_password, aud and role
// "authenticated", e-mail confirmed — so the same account also signs in to
// a Supabase front end; admin adds the user to app_admins. The e-mail is
// stored lower-case; one a user already has (whatever its case) is
// ErrExists. A password shorter than MinPasswordLen or longer than
// MaxPasswordLen bytes is ErrInvalid.
func (s *Store) CreateUser(ctx context.Context, email, password string, admin bool) (User, error) {
	const op = "store: create user"
	email = normEmail(email)
	if at := strings.IndexByte(email, '@'); at < 1 || at == len(email)-1 || len(email) > 255 ||
		!utf8.ValidString(email) || strings.ContainsAny(email, " \t\r\n\x00") {
		return User{}, fmt.Errorf("%s: %w: %q is not an e-mail address", op, ErrInvalid, clip(email, 80))
	}
	if utf8.RuneCountInString(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return User{}, fmt.Errorf("%s: %w: the password must have %d to %d bytes", op, ErrInvalid, MinPasswordLen, MaxPasswordLen)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost())
	if err != nil {
		return User{}, fmt.Errorf("%s: %w", op, err)
	}
	u := User{ID: newUUID(), Email: email, Admin: admin}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from auth.users where lower(email) = $1)`, email).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrExists
		}
		_, err := tx.Exec(ctx, `insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
				email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
				confirmation_token, recovery_token, email_change_token_new, email_change)
			values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', $2, $3,
				now(), '{"provider": "email", "providers": ["email"]}', '{}', now(), now(), '', '', '', '')`,
			u.ID, email, string(hash))
		if err != nil {
			return err
		}
		if admin {
			_, err = tx.Exec(ctx, `insert into public.app_admins (user_id) values ($1)`, u.ID)
		}
		return err
	})
	var pe *pgconn.PgError
	if errors.Is(err, ErrExists) || errors.As(err, &pe) && pe.Code == "23505" {
		return User{}, fmt.Errorf("%s %q: %w", op, email, ErrExists)
	}
	if err != nil {
		return User{}, wrap(op, err)
	}
	return u, nil
}

// AddMember makes the user a member of the client with role "owner" or
// "reviewer", or changes their role. An unknown user or client is
// ErrNotFound.
func (s *Store) AddMember(ctx context.Context, userID, clientID, role string) error {
	const op = "store: add member"
	if !isUUID(userID) || !isUUID(clientID) {
		return fmt.Errorf("%s: %w: no such user or client", op, ErrNotFound)
	}
	if role != RoleOwner && role != RoleReviewer {
		return fmt.Errorf("%s: %w: role %q (owner or reviewer)", op, ErrInvalid, clip(role, 40))
	}
	_, err := s.pool.Exec(ctx, `insert into public.client_members (client_id, user_id, role)
		values ($1, $2, $3::text::public.member_role)
		on conflict (client_id, user_id) do update set role = excluded.role`, clientID, userID, role)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return fmt.Errorf("%s: %w: no such user or client", op, ErrNotFound)
	}
	return wrap(op, err)
}

// Authenticate returns the user whose e-mail and password these are, else
// ErrBadCredentials. An unknown e-mail, a user without a password (signed up
// through another provider), a banned or deleted one, a password longer than
// MaxPasswordLen costs the same bcrypt
// comparison as a wrong password, so the time taken does not tell which
// addresses have an account. It records the sign-in time.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	const op = "store: authenticate"
	email = normEmail(email)
	var id string
	var hash *string
	err := s.pool.QueryRow(ctx, `select id::text, encrypted_password from auth.users
		where lower(email) = $1 and deleted_at is null and (banned_until is null or banned_until <= now())
		order by created_at limit 1`, text(email)).Scan(&id, &hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return User{}, wrap(op, err)
	}
	if hash == nil || *hash == "" || len(password) > MaxPasswordLen {
		_ = bcrypt.CompareHashAndPassword(dummyHash(s.passwordCost()), []byte(password))
		return User{}, fmt.Errorf("%s: %w", op, ErrBadCredentials)
	}
	if bcrypt.CompareHashAndPassword([]byte(*hash), []byte(password)) != nil {
		return User{}, fmt.Errorf("%s: %w", op, ErrBadCredentials)
	}
	if _, err := s.pool.Exec(ctx, `update auth.users set last_sign_in_at = now() where id = $1`, id); err != nil {
		return User{}, wrap(op, err)
	}
	return s.UserByID(ctx, id)
}

// UserByID returns a user with their admin flag and memberships (sorted by
// client name); an unknown id is ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	op := "store: user " + clip(id, 40)
	if !isUUID(id) {
		return User{}, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return s.user(ctx, op, `u.id = $1`, id)
}

// user reads the one user matching where (over auth.users u).
func (s *Store) user(ctx context.Context, op, where string, args ...any) (User, error) {
	var u User
	var ids, names, roles []string
	err := s.pool.QueryRow(ctx, `select u.id::text, coalesce(u.email, ''),
			exists (select 1 from public.app_admins a where a.user_id = u.id),
			coalesce(array_agg(m.client_id::text order by c.client_name, m.client_id) filter (where m.client_id is not null), '{}'),
			coalesce(array_agg(c.client_name order by c.client_name, m.client_id) filter (where m.client_id is not null), '{}'),
			coalesce(array_agg(m.role::text order by c.client_name, m.client_id) filter (where m.client_id is not null), '{}')
		from auth.users u
		left join public.client_members m on m.user_id = u.id
		left join public.clients c on c.id = m.client_id
		where `+where+` and u.deleted_at is null
		group by u.id`, args...).Scan(&u.ID, &u.Email, &u.Admin, &ids, &names, &roles)
	if err != nil {
		return User{}, wrap(op, err)
	}
	for i := range ids {
		u.Clients = append(u.Clients, Membership{ClientID: ids[i], ClientName: names[i], Role: roles[i]})
	}
	return u, nil
}

// sessionTokenLen is the length of a session token: 32 bytes, base64url.
var sessionTokenLen = base64.RawURLEncoding.EncodedLen(32)

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a session of ttl for the user and returns its token
// (32 random bytes, base64url, for a cookie); only the token's SHA-256 is
// stored. The user's expired sessions are deleted on the way.
func (s *Store) CreateSession(ctx context.Context, userID string, ttl time.Duration) (token string, err error) {
	const op = "store: create session"
	if !isUUID(userID) {
		return "", fmt.Errorf("%s: %w: no such user", op, ErrNotFound)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("%s: %w: the lifetime must be positive", op, ErrInvalid)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from public.sessions where user_id = $1 and expires_at <= now()`, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into public.sessions (token_hash, user_id, expires_at)
			values ($1, $2, now() + make_interval(secs => $3))`, hashToken(token), userID, ttl.Seconds())
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return "", fmt.Errorf("%s: %w: no such user", op, ErrNotFound)
	}
	if err != nil {
		return "", wrap(op, err)
	}
	return token, nil
}

// SessionUser returns the user of a session; an unknown or expired token,
// or a user deleted or banned since (Supabase Auth's deleted_at,
// banned_until), is ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, token string) (User, error) {
	const op = "store: session"
	if len(token) != sessionTokenLen {
		return User{}, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return s.user(ctx, op, `u.id = (select x.user_id from public.sessions x where x.token_hash = $1 and x.expires_at > now())
		and (u.banned_until is null or u.banned_until <= now())`, hashToken(token))
}

// DeleteSession ends a session (signing out); an unknown token is not an
// error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if len(token) != sessionTokenLen {
		return nil
	}
	_, err := s.pool.Exec(ctx, `delete from public.sessions where token_hash = $1`, hashToken(token))
	return wrap("store: delete session", err)
}
