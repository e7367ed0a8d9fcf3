package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// APIKey describes a REST API key; the key itself is never stored.
type APIKey struct {
	ID        string
	ClientID  string
	Name      string
	Prefix    string // the key's first characters, to tell keys apart
	CreatedAt time.Time
}

// apiKeyPrefix starts every key, so a leaked one is recognisable.
const apiKeyPrefix = "kl_"

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey makes a key for the client's REST API. The key is returned
// once; only its SHA-256 and its first characters are stored.
func (s *Store) CreateAPIKey(ctx context.Context, clientID, name string) (key string, k APIKey, err error) {
	if err := checkID("client id", clientID); err != nil {
		return "", k, fmt.Errorf("store: create api key: %w", err)
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	key = apiKeyPrefix + hex.EncodeToString(b[:])
	k = APIKey{ClientID: clientID, Name: text(strings.TrimSpace(name)), Prefix: key[:len(apiKeyPrefix)+8]}
	err = s.pool.QueryRow(ctx, `insert into public.api_keys (client_id, name, prefix, key_hash) values ($1, $2, $3, $4)
		returning id::text, created_at`, clientID, k.Name, k.Prefix, hashKey(key)).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		return "", APIKey{}, wrap("store: create api key", err)
	}
	return key, k, nil
}

// CheckAPIKey returns the key's description if it exists and is not revoked
// (else an error matching ErrNotFound), and records its use.
func (s *Store) CheckAPIKey(ctx context.Context, key string) (APIKey, error) {
	var k APIKey
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 200 {
		return k, fmt.Errorf("store: api key: %w", ErrNotFound)
	}
	err := s.pool.QueryRow(ctx, `update public.api_keys set last_used_at = now()
		where key_hash = $1 and revoked_at is null
		returning id::text, client_id::text, name, prefix, created_at`, hashKey(key)).
		Scan(&k.ID, &k.ClientID, &k.Name, &k.Prefix, &k.CreatedAt)
	return k, wrap("store: api key", err)
}

// RevokeAPIKey revokes a key by id.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	if err := checkID("api key id", id); err != nil {
		return fmt.Errorf("store: revoke api key: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `update public.api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrap("store: revoke api key "+id, err)
}

// Automation phases (the seed's rollout).
const (
	PhaseShadow  = "shadow"  // every email is reviewed
	PhasePartial = "partial" // auto-approve at PartialThreshold and above
	PhaseFull    = "full"    // auto-approve at FullThreshold and above, but RandomReviewRate of them
)

// Automation is a client's automation settings.
type Automation struct {
	Phase            string
	PartialThreshold int     // default 90
	FullThreshold    int     // default 85
	RandomReviewRate float64 // default 0.05
}

// Automation returns the client's automation settings, the defaults when
// none were set.
func (s *Store) Automation(ctx context.Context, clientID string) (Automation, error) {
	a := Automation{Phase: PhaseShadow, PartialThreshold: 90, FullThreshold: 85, RandomReviewRate: 0.05}
	if err := checkID("client id", clientID); err != nil {
		return a, fmt.Errorf("store: automation: %w", err)
	}
	err := s.pool.QueryRow(ctx, `select phase::text, partial_threshold, full_threshold, random_review_rate::float8
		from public.automation_settings where client_id = $1`, clientID).
		Scan(&a.Phase, &a.PartialThreshold, &a.FullThreshold, &a.RandomReviewRate)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, nil
	}
	return a, wrap("store: automation", err)
}

// SetAutomation stores the client's automation settings.
func (s *Store) SetAutomation(ctx context.Context, clientID string, a Automation) error {
	if err := checkID("client id", clientID); err != nil {
		return fmt.Errorf("store: set automation: %w", err)
	}
	_, err := s.pool.Exec(ctx, `insert into public.automation_settings (client_id, phase, partial_threshold, full_threshold, random_review_rate)
		values ($1, $2::text::public.automation_phase, $3, $4, $5)
		on conflict (client_id) do update set phase = excluded.phase, partial_threshold = excluded.partial_threshold,
			full_threshold = excluded.full_threshold, random_review_rate = excluded.random_review_rate`,
		clientID, a.Phase, a.PartialThreshold, a.FullThreshold, a.RandomReviewRate)
	return wrap("store: set automation", err)
}
