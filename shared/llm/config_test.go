package llm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for agent, model := range c.Models {
		if _, ok := c.Prices.Lookup(model); !ok {
			t.Errorf("default model %s of %s has no price", model, agent)
		}
	}
	if _, err := New(c, &fakeFallback{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("New without key on api.openai.com: err = %v, want ErrNoAPIKey", err)
	}
	c.BaseURL = "http://localhost:11434/v1"
	if _, err := New(c, &fakeFallback{}); err != nil {
		t.Errorf("a local server needs no key: %v", err)
	}
	if _, err := New(c, nil); err == nil {
		t.Error("New accepted a nil fallback")
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "llm.json")
	os.WriteFile(file, []byte(`{"models": {"pain": "gpt-4.1-mini"}, "rpm": 30, "timeout": "15s",
		"prices": {"models": {"my-model": {"input": 1, "output": 2}}}}`), 0o644)

	c, err := LoadConfig(file, env(map[string]string{
		EnvAPIKey: " sk-test ", EnvModelAgent + "SIGNAL": "gpt-4.1-mini", EnvModelAgent + "CASE_STUDY": "my-model", EnvTPM: "90000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for agent, want := range map[string]string{"pain": "gpt-4.1-mini", "signal": "gpt-4.1-mini", "case_study": "my-model", "persona": "gpt-4o-mini", "system": "gpt-4o-mini"} {
		if got := c.Model(agent); got != want {
			t.Errorf("model of %s = %s, want %s", agent, got, want)
		}
	}
	if c.APIKey != "sk-test" || c.RPM != 30 || c.TPM != 90000 || time.Duration(c.Timeout) != 15*time.Second {
		t.Errorf("config = %+v", c)
	}
	if _, ok := c.Prices.Models["gpt-4o"]; !ok {
		t.Error("a file's price entries must merge with the defaults")
	}

	c, err = LoadConfig("", env(map[string]string{EnvModel: "llama3.1", EnvModelAgent + "SIGNAL": "qwen2.5", EnvBaseURL: "http://localhost:11434/v1"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Model("persona") != "llama3.1" || c.Model("system") != "llama3.1" || c.Model("signal") != "qwen2.5" || c.BaseURL != "http://localhost:11434/v1" {
		t.Errorf("KALEADS_MODEL / per-agent override: %+v", c.Models)
	}

	for name, tc := range map[string]struct {
		file string
		env  map[string]string
		want string
	}{
		"typo in file":  {`{"modles": {}}`, nil, "unknown field"},
		"unknown agent": {`{"models": {"personna": "x"}}`, nil, "unknown agent"},
		"bad duration":  {`{"timeout": "soon"}`, nil, "duration"},
		"bad base url":  {`{}`, map[string]string{EnvBaseURL: "localhost:11434"}, "base_url"},
		"bad rpm":       {`{}`, map[string]string{EnvRPM: "many"}, EnvRPM},
		"zero attempts": {`{"max_attempts": 0}`, nil, "max_attempts"},
	} {
		os.WriteFile(file, []byte(tc.file), 0o644)
		if _, err := LoadConfig(file, env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.json"), nil); err == nil {
		t.Error("missing file accepted")
	}
}
