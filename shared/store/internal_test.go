package store

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestPoolConfigPooler(t *testing.T) {
	tests := []struct {
		url  string
		want pgx.QueryExecMode
	}{
		{"postgres://postgres:pw@db.ref.supabase.co:5432/postgres", pgx.QueryExecModeCacheStatement},
		{"postgres://postgres.ref:pw@aws-0-eu-west-3.pooler.supabase.com:5432/postgres", pgx.QueryExecModeCacheStatement},
		{"postgres://postgres.ref:pw@aws-0-eu-west-3.pooler.supabase.com:6543/postgres?sslmode=require", pgx.QueryExecModeExec},
		{"postgres://postgres.ref:pw@aws-0-eu-west-3.pooler.supabase.com:6543/postgres?default_query_exec_mode=simple_protocol", pgx.QueryExecModeSimpleProtocol},
		{"host=localhost port=6543 user=postgres", pgx.QueryExecModeExec},
	}
	for _, tt := range tests {
		cfg, err := poolConfig(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if got := cfg.ConnConfig.DefaultQueryExecMode; got != tt.want {
			t.Errorf("%s: mode %v, want %v", tt.url, got, tt.want)
		}
	}
	if _, err := poolConfig("postgres://u:secret@host:notaport/db"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL: %v (must fail without echoing the password)", err)
	}
}

func TestJSONBRemovesNULEscapes(t *testing.T) {
	in := map[string]string{"a": "x\x00y", "b": `lit\u0000eral`, "c": "ok"}
	b, _ := json.Marshal(in)
	out := jsonb(b)
	if strings.Contains(strings.ReplaceAll(out, `\\u0000`, ""), `\u0000`) {
		t.Fatalf("jsonb left a NUL escape: %s", out)
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("jsonb output is not JSON: %v: %s", err, out)
	}
	if back["a"] != "x\uFFFDy" || back["b"] != `lit\u0000eral` || back["c"] != "ok" {
		t.Errorf("jsonb changed the values: %q", back)
	}
	if got := text("a\x00b\xff"); got != "a\uFFFDb\uFFFD" {
		t.Errorf("text = %q", got)
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"3f2504e0-4f89-41d3-9a0c-0305e82c3301": true,
		"3F2504E0-4F89-41D3-9A0C-0305E82C3301": true,
		"3f2504e0-4f89-41d3-9a0c-0305e82c330":  false,
		"3f2504e04f8941d39a0c0305e82c3301":     false,
		"3f2504e0-4f89-41d3-9a0c-0305e82c330g": false,
		"":                                     false,
	} {
		if isUUID(s) != want {
			t.Errorf("isUUID(%q) = %v", s, !want)
		}
	}
	if id := newUUID(); !isUUID(id) || id[14] != '4' {
		t.Errorf("newUUID() = %q, want a version 4 UUID", id)
	}
}
