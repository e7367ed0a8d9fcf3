package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store"
)

type fakeUserStore struct {
	clients map[string]string // name → id
	users   map[string]bool
	created []string // "email|password|admin"
	members []string // "user|client|role"
}

func (f *fakeUserStore) CreateUser(ctx context.Context, email, password string, admin bool) (store.User, error) {
	if f.users[email] {
		return store.User{}, fmt.Errorf("fake: %w", store.ErrExists)
	}
	if len(password) < store.MinPasswordLen {
		return store.User{}, fmt.Errorf("fake: %w: short password", store.ErrInvalid)
	}
	f.created = append(f.created, fmt.Sprintf("%s|%s|%v", email, password, admin))
	return store.User{ID: "u-1", Email: email, Admin: admin}, nil
}

func (f *fakeUserStore) AddMember(ctx context.Context, userID, clientID, role string) error {
	f.members = append(f.members, userID+"|"+clientID+"|"+role)
	return nil
}

func (f *fakeUserStore) ClientByName(ctx context.Context, name string) (store.Client, error) {
	id, ok := f.clients[name]
	if !ok {
		return store.Client{}, fmt.Errorf("fake: %w", store.ErrNotFound)
	}
	return store.Client{ID: id, Name: name}, nil
}

func TestUserAdd(t *testing.T) {
	cases := []struct {
		name, stdin string
		args        []string
		wantErr     string
		created     string
		members     []string
	}{
		{name: "reviewer of two clients", args: []string{"--email", "ana@agency.fr", "--role", "reviewer", "--client", "Acme", "--client", "Beta"},
			stdin: "correct horse\n", created: "ana@agency.fr|correct horse|false", members: []string{"u-1|c-acme|reviewer", "u-1|c-beta|reviewer"}},
		{name: "admin, password without newline, CRLF", args: []string{"--email", "root@agency.fr", "--role", "admin"},
			stdin: "admin password\r\n", created: "root@agency.fr|admin password|true"},
		{name: "admin owning a client", args: []string{"--email", "root@agency.fr", "--role", "admin", "--client", "Acme"},
			stdin: "admin password", created: "root@agency.fr|admin password|true", members: []string{"u-1|c-acme|owner"}},
		{name: "reviewer without client", args: []string{"--email", "ana@agency.fr", "--role", "reviewer"}, stdin: "pw\n", wantErr: "give at least one --client"},
		{name: "bad role", args: []string{"--email", "ana@agency.fr", "--role", "owner"}, stdin: "pw\n", wantErr: "--role must be admin or reviewer"},
		{name: "no e-mail", args: []string{"--role", "admin"}, stdin: "pw\n", wantErr: "--email is required"},
		{name: "unknown client stores nothing", args: []string{"--email", "ana@agency.fr", "--role", "reviewer", "--client", "Nope"}, stdin: "correct horse\n", wantErr: `no client named "Nope"`},
		{name: "existing user", args: []string{"--email", "taken@agency.fr", "--role", "admin"}, stdin: "correct horse\n", wantErr: "exists already"},
		{name: "short password", args: []string{"--email", "ana@agency.fr", "--role", "admin"}, stdin: "short\n", wantErr: "short password"},
		{name: "empty stdin", args: []string{"--email", "ana@agency.fr", "--role", "admin"}, stdin: "", wantErr: "no password on stdin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &fakeUserStore{clients: map[string]string{"Acme": "c-acme", "Beta": "c-beta"}, users: map[string]bool{"taken@agency.fr": true}}
			var out bytes.Buffer
			err := func() error {
				o, err := parseUserAdd(c.args, io.Discard)
				if err != nil {
					return err
				}
				pw, err := readPassword(strings.NewReader(c.stdin), io.Discard, o.email)
				if err != nil {
					return err
				}
				return userAdd(context.Background(), st, o, pw, &out)
			}()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				if len(st.created) != 0 {
					t.Errorf("stored %v despite the error", st.created)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(st.created) != 1 || st.created[0] != c.created {
				t.Errorf("created %v, want %q", st.created, c.created)
			}
			if strings.Join(st.members, ",") != strings.Join(c.members, ",") {
				t.Errorf("members %v, want %v", st.members, c.members)
			}
			if !strings.Contains(out.String(), "user ") {
				t.Errorf("output %q", out.String())
			}
		})
	}
}

func TestUserCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"user"}, {"user", "remove"}} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "usage: kaleads user add") {
			t.Errorf("%v: %v", args, err)
		}
	}
	old := userStdin
	t.Cleanup(func() { userStdin = old })
	userStdin = strings.NewReader("correct horse\n")
	t.Setenv("DATABASE_URL", "")
	err := run(context.Background(), []string{"user", "add", "--email", "a@b.fr", "--role", "admin"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("without a database: %v", err)
	}
}
