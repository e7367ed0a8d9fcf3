package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

// fastStore is a fresh store whose passwords are hashed at bcrypt's
// minimum cost: cost 12 takes seconds under the race detector.
func fastStore(t testing.TB) *store.Store {
	t.Helper()
	s := storetest.Open(t)
	s.PasswordCost = 4
	return s
}

// newUser creates a user and fails the test on error.
func newUser(t testing.TB, s *store.Store, email string, admin bool, clients ...store.Client) store.User {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, email, "correct horse battery", admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if err := s.AddMember(ctx, u.ID, c.ID, store.RoleReviewer); err != nil {
			t.Fatal(err)
		}
	}
	if u, err = s.UserByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	acme, _ := newClient(t, s, "Acme")
	beta, _ := newClient(t, s, "Beta")

	ana, err := s.CreateUser(ctx, "  Ana@Agency.FR ", "correct horse battery", false)
	if err != nil {
		t.Fatal(err)
	}
	if ana.Email != "ana@agency.fr" || ana.Admin || ana.ID == "" {
		t.Errorf("created %+v, want a reviewer ana@agency.fr", ana)
	}
	if err := s.AddMember(ctx, ana.ID, beta.ID, store.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, ana.ID, acme.ID, store.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, ana.ID, acme.ID, store.RoleReviewer); err != nil { // a role change
		t.Fatal(err)
	}
	boss := newUser(t, s, "boss@agency.fr", true)

	// Stored as Supabase Auth stores it: a bcrypt hash, never the password.
	var hash, aud string
	if err := s.Pool().QueryRow(ctx, `select encrypted_password, aud from auth.users where id = $1`, ana.ID).Scan(&hash, &aud); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$04$") || strings.Contains(hash, "horse") || aud != "authenticated" {
		t.Errorf("stored password %q, aud %q; want a bcrypt hash and aud authenticated", hash, aud)
	}

	refused := []struct {
		name, email, password string
		want                  error
	}{
		{"same address in another case", "ANA@agency.fr", "another password", store.ErrExists},
		{"short password", "new@agency.fr", "short", store.ErrInvalid},
		{"password over 72 bytes", "new@agency.fr", strings.Repeat("x", 73), store.ErrInvalid},
		{"not an address", "ana.agency.fr", "correct horse battery", store.ErrInvalid},
		{"empty address", " ", "correct horse battery", store.ErrInvalid},
	}
	for _, tt := range refused {
		t.Run("create/"+tt.name, func(t *testing.T) {
			if _, err := s.CreateUser(ctx, tt.email, tt.password, false); !errors.Is(err, tt.want) {
				t.Errorf("CreateUser(%q): %v, want %v", tt.email, err, tt.want)
			}
		})
	}
	if err := s.AddMember(ctx, ana.ID, acme.ID, "admin"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddMember with role admin: %v, want ErrInvalid", err)
	}
	for _, ids := range [][2]string{{ana.ID, "00000000-0000-4000-8000-000000000000"}, {"00000000-0000-4000-8000-000000000000", acme.ID}, {"x", acme.ID}} {
		if err := s.AddMember(ctx, ids[0], ids[1], store.RoleReviewer); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddMember(%s, %s): %v, want ErrNotFound", ids[0], ids[1], err)
		}
	}

	signIn := []struct {
		name, email, password string
		want                  string // user id, "" for ErrBadCredentials
	}{
		{"right password", "ana@agency.fr", "correct horse battery", ana.ID},
		{"address in another case, with spaces", " ANA@Agency.fr", "correct horse battery", ana.ID},
		{"admin", "boss@agency.fr", "correct horse battery", boss.ID},
		{"wrong password", "ana@agency.fr", "correct horse battery!", ""},
		{"password in another case", "ana@agency.fr", "Correct horse battery", ""},
		{"empty password", "ana@agency.fr", "", ""},
		{"password over 72 bytes", "ana@agency.fr", "correct horse battery" + strings.Repeat("x", 60), ""},
		{"unknown address", "nobody@agency.fr", "correct horse battery", ""},
		{"empty address", "", "", ""},
	}
	for _, tt := range signIn {
		t.Run("authenticate/"+tt.name, func(t *testing.T) {
			u, err := s.Authenticate(ctx, tt.email, tt.password)
			if tt.want == "" {
				if !errors.Is(err, store.ErrBadCredentials) {
					t.Errorf("Authenticate: %+v %v, want ErrBadCredentials", u, err)
				}
				return
			}
			if err != nil || u.ID != tt.want {
				t.Errorf("Authenticate: %+v %v, want user %s", u, err, tt.want)
			}
		})
	}

	got, err := s.UserByID(ctx, ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Membership{{ClientID: acme.ID, ClientName: "Acme", Role: "reviewer"}, {ClientID: beta.ID, ClientName: "Beta", Role: "owner"}}
	if !slices.Equal(got.Clients, want) || got.Admin {
		t.Errorf("UserByID = %+v, want memberships %+v", got, want)
	}
	if sc := got.Scope(); sc.All || !slices.Equal(sc.ClientIDs, []string{acme.ID, beta.ID}) {
		t.Errorf("reviewer scope %+v, want Acme and Beta", sc)
	}
	if sc := boss.Scope(); !sc.All || !boss.Admin {
		t.Errorf("admin %+v has scope %+v, want All", boss, sc)
	}
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-an-id", ""} {
		if _, err := s.UserByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(%q): %v, want ErrNotFound", id, err)
		}
	}
}

// TestAuthenticateUnknownEmailCostsTheSame: signing in with an address
// nobody has takes about as long as with a wrong password (one bcrypt
// comparison either way), so the time does not reveal which addresses
// have an account.
func TestAuthenticateUnknownEmailCostsTheSame(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t)
	s.PasswordCost = 8 // ~15 ms a comparison (more under -race): far above a query
	newUser(t, s, "ana@agency.fr", false)
	median := func(email string) time.Duration {
		var d []time.Duration
		for range 5 {
			start := time.Now()
			_, err := s.Authenticate(ctx, email, "not the password")
			d = append(d, time.Since(start))
			if !errors.Is(err, store.ErrBadCredentials) {
				t.Fatalf("Authenticate(%s): %v, want ErrBadCredentials", email, err)
			}
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	wrong, unknown := median("ana@agency.fr"), median("nobody@agency.fr")
	t.Logf("wrong password %v, unknown address %v", wrong, unknown)
	if unknown < wrong/3 {
		t.Errorf("an unknown address is answered in %v, a wrong password in %v: the time tells them apart", unknown, wrong)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := fastStore(t)
	acme, _ := newClient(t, s, "Acme")
	ana := newUser(t, s, "ana@agency.fr", false, acme)

	token, err := s.CreateSession(ctx, ana.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q: want 32 bytes in unpadded base64url", token)
	}
	u, err := s.SessionUser(ctx, token)
	if err != nil || u.ID != ana.ID || len(u.Clients) != 1 || u.Clients[0].ClientName != "Acme" {
		t.Fatalf("SessionUser = %+v %v, want ana with Acme", u, err)
	}
	// Only the SHA-256 is stored.
	sum := sha256.Sum256([]byte(token))
	if n := count(t, s, `select count(*) from sessions where token_hash = $1`, hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("%d sessions stored under the token's SHA-256, want 1", n)
	}
	if n := count(t, s, `select count(*) from sessions s where strpos(s::text, $1) > 0`, token); n != 0 {
		t.Errorf("the raw token is stored in %d session rows", n)
	}

	other, err := s.CreateSession(ctx, ana.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired := func(tok string) {
		sum := sha256.Sum256([]byte(tok))
		if _, err := s.Pool().Exec(ctx, `update sessions set created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'
			where token_hash = $1`, hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
	}
	expired(other)

	cases := []struct {
		name, token string
	}{
		{"expired", other},
		{"unknown", strings.Repeat("A", 43)},
		{"garbage", "'; select pg_sleep(10); --"},
		{"empty", ""},
		{"the hash instead of the token", hex.EncodeToString(sum[:])},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if u, err := s.SessionUser(ctx, tt.token); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SessionUser: %+v %v, want ErrNotFound", u, err)
			}
		})
	}

	// A new session sweeps the user's expired ones.
	if _, err := s.CreateSession(ctx, ana.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `select count(*) from sessions where expires_at <= now()`); n != 0 {
		t.Errorf("%d expired sessions left after a new one", n)
	}

	// A user banned since cannot use their session.
	if _, err := s.Pool().Exec(ctx, `update auth.users set banned_until = now() + interval '1 day' where id = $1`, ana.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SessionUser of a banned user: %v, want ErrNotFound", err)
	}
	if _, err := s.Authenticate(ctx, "ana@agency.fr", "correct horse battery"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("a banned user signs in: %v", err)
	}
	if _, err := s.Pool().Exec(ctx, `update auth.users set banned_until = null where id = $1`, ana.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, token); err != nil {
		t.Errorf("SessionUser once the ban is lifted: %v", err)
	}

	if err := s.DeleteSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SessionUser after sign-out: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, token); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
	if _, err := s.CreateSession(ctx, ana.ID, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CreateSession with no lifetime: %v, want ErrInvalid", err)
	}
	if _, err := s.CreateSession(ctx, "00000000-0000-4000-8000-000000000000", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateSession for nobody: %v, want ErrNotFound", err)
	}
}
