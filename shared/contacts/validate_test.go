package contacts

import (
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "alice@acme.fr", want: "alice@acme.fr"},
		{in: "  Alice.Martin+crm@Acme.FR ", want: "Alice.Martin+crm@Acme.FR"},
		{in: "Alice Martin <alice@acme.fr>", want: "alice@acme.fr"},
		{in: "MAILTO:alice@acme.fr", want: "alice@acme.fr"},
		{in: "bob@société.fr", want: "bob@société.fr"},
		{in: "", err: "empty"},
		{in: "alice", err: "not a valid"},
		{in: "alice@", err: "not a valid"},
		{in: "@acme.fr", err: "not a valid"},
		{in: "alice@@acme.fr", err: "several"},
		{in: "alice@acme", err: "no dot"},
		{in: "alice@acme.", err: "not a valid"},
		{in: "alice@-acme.fr", err: "invalid domain"},
		{in: "alice@acme.f", err: "invalid domain"},
		{in: "alice@acme_corp.fr", err: "invalid character"},
		{in: "alice@[10.0.0.1]", err: "not a valid"},
		{in: "ali ce@acme.fr", err: "not a valid"},
		{in: `"ali ce"@acme.fr`, err: "character ' '"},
		{in: "alice@acme.fr, bob@acme.fr", err: "several"},
		{in: "é@acme.fr", err: "character 'é'"},
		{in: strings.Repeat("a", 65) + "@acme.fr", err: "length"},
		// A CSV cell starting with = + - @ is a formula to spreadsheets and
		// sequencer imports; such an address is refused at read time.
		{in: "=cmd|calc@acme.fr", err: `starts with "="`},
		{in: "+33612@acme.fr", err: `starts with "+"`},
		{in: "-alice@acme.fr", err: `starts with "-"`},
		{in: " =alice@acme.fr", err: `starts with "="`},
		{in: "mailto:+alice@acme.fr", err: `starts with "+"`},
		{in: "Alice <-alice@acme.fr>", err: `starts with "-"`},
		{in: "@alice@acme.fr", err: "several"},
		{in: "a=b+c-d@acme.fr", want: "a=b+c-d@acme.fr"},
		{in: "Alice =x <alice@acme.fr>", want: "alice@acme.fr"},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeWebsite(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "", want: ""},
		{in: "acme.fr", want: "https://acme.fr"},
		{in: " www.Acme.FR/Qui-Sommes-Nous ", want: "https://www.acme.fr/Qui-Sommes-Nous"},
		{in: "HTTP://Acme.fr/a?b=C#d", want: "http://acme.fr/a?b=C#d"},
		{in: "//acme.fr", want: "https://acme.fr"},
		{in: "Société.fr/équipe", want: "https://xn--socit-esab.fr/%C3%A9quipe"},
		{in: "acme.fr:8443/x", want: "https://acme.fr:8443/x"},
		{in: "javascript:alert(1)", err: `scheme "javascript"`},
		{in: "ftp://x.fr", err: `scheme "ftp"`},
		{in: "mailto:a@acme.fr", err: `scheme "mailto"`},
		{in: "not a url", err: "spaces"},
		{in: "http://", err: "no host"},
		{in: "https://localhost:8080", err: "no dot"},
		{in: "http://127.0.0.1", err: "invalid domain"},
		{in: "http://[::1]/", err: "no dot"},
		{in: "https://a:b@acme.fr", err: "user name"},
		{in: "https://acme.fr:99999", err: "invalid port"},
		{in: "https://acme.fr:0", err: "invalid port"},
		{in: "https://acme..fr", err: "invalid domain"},
	}
	for _, tt := range tests {
		got, err := NormalizeWebsite(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeWebsite(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeWebsite(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
