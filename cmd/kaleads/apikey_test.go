package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store"
	"github.com/kaleads/kaleads/shared/store/storetest"
)

func TestAPIKeyCommands(t *testing.T) {
	url := storetest.URL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	do := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	if _, stderr, err := do("client", "add", "../../examples/prospectia", "--name", "Acme"); err != nil {
		t.Fatalf("client add: %v\n%s", err, stderr)
	}
	out, info, err := do("apikey", "create", "--client", "Acme", "--name", "n8n")
	if err != nil {
		t.Fatalf("apikey create: %v\n%s", err, info)
	}
	key := strings.TrimSpace(out)
	if !regexp.MustCompile(`^kl_[0-9a-f]{48}$`).MatchString(key) || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q: want the key alone", out)
	}
	if strings.Contains(info, key) || !strings.Contains(info, "shown once") || !strings.Contains(info, "Authorization: Bearer") {
		t.Errorf("stderr %q", info)
	}
	st2, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	k, err := st2.CheckAPIKey(ctx, key)
	if err != nil || k.Name != "n8n" || !strings.Contains(info, k.ID) {
		t.Fatalf("CheckAPIKey: %+v, %v", k, err)
	}
	if out, _, err := do("apikey", "revoke", k.ID); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %q %v", out, err)
	}
	if _, err := st2.CheckAPIKey(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CheckAPIKey after revoke: %v", err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apikey"}, "usage: kaleads apikey create"},
		{[]string{"apikey", "list"}, `unknown subcommand "list"`},
		{[]string{"apikey", "create", "--client", "Acme"}, "usage: kaleads apikey create"},
		{[]string{"apikey", "create", "--name", "x"}, "usage: kaleads apikey create"},
		{[]string{"apikey", "create", "--client", "Nobody", "--name", "x"}, "not found"},
		{[]string{"apikey", "revoke"}, "usage: kaleads apikey create"},
		{[]string{"apikey", "revoke", "not-a-uuid"}, "not a UUID"},
		{[]string{"apikey", "revoke", "00000000-0000-4000-8000-000000000000"}, "not found"},
	} {
		if _, _, err := do(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
