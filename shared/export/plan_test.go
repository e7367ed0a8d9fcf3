package export

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/store"
)

func TestPlanHoldsBackWithTheReason(t *testing.T) {
	t.Parallel()
	c := func(id, addr string, mut ...func(*store.ExportCandidate)) store.ExportCandidate {
		x := store.ExportCandidate{EmailID: id, Address: addr, Subject: "s", Body: "b", CompanyName: "Co"}
		for _, m := range mut {
			m(&x)
		}
		return x
	}
	ex := newExclusions([]store.Exclusion{
		{Kind: "domain", Value: "customer.example", Note: "existing customer"},
		{Kind: "email", Value: "ceo@other.example"},
	})
	cands := []store.ExportCandidate{
		c("1", "a@ok.example"),
		c("2", "b@sales.customer.example"), // subdomain of an excluded domain
		c("3", "ceo@other.example"),        // excluded address
		c("4", "a@ok.example"),             // same address twice
		c("5", "x@busy.example"),           // cap 2: one used already, this one fills it
		c("6", "y@busy.example"),           // over the cap
		c("7", "z@busy.example"),           // over the cap
		c("8", "not-an-address"),           // invalid
		c("9", "e@ok2.example", func(x *store.ExportCandidate) { x.Body = " " }),
		c("10", "f@ok3.example", func(x *store.ExportCandidate) { x.AddressInCampaign = true }),
		c("11", "g@ok4.example", func(x *store.ExportCandidate) {
			x.LedgerStatus, x.LedgerError = store.LedgerFailed, "invalid e-mail address (smartlead)"
		}),
		c("12", "h@ok5.example", func(x *store.ExportCandidate) {
			x.LedgerStatus, x.LedgerAttempts, x.LedgerError, x.LedgerCampaign = store.LedgerPending, 3, "not found in the campaign", "777"
		}),
		c("13", "i@ok6.example", func(x *store.ExportCandidate) {
			x.LedgerStatus, x.LedgerAttempts, x.LedgerCampaign = store.LedgerPending, 1, "777"
		}),
		c("15", "k@ok7.example", func(x *store.ExportCandidate) {
			x.LedgerStatus, x.LedgerAttempts, x.LedgerCampaign = store.LedgerPending, 1, "555"
		}),
		c("14", "j@customer.example.org"), // not a subdomain of customer.example
	}
	send, held, giveUp := plan(cands, "777", ex, map[string]int{"busy.example": 1}, 2, 3)
	var sent []string
	for _, s := range send {
		sent = append(sent, s.EmailID)
	}
	if got, want := strings.Join(sent, ","), "1,5,13,14"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	want := map[string]string{
		"2":  "excluded: domain customer.example (existing customer)",
		"3":  "excluded: address ceo@other.example",
		"4":  "same address as email 1 of this export",
		"6":  "domain daily cap (2) reached for busy.example",
		"7":  "domain daily cap (2) reached for busy.example",
		"8":  `no valid e-mail address ("not-an-address")`,
		"9":  "empty subject or body",
		"10": "address already in the campaign (another email to f@ok3.example)",
		"11": "refused by the destination earlier: invalid e-mail address (smartlead)",
		"12": "not confirmed after 3 attempts (not found in the campaign): given up",
		"15": "sent to campaign 555 without a confirmation: export to that campaign again to reconcile it",
	}
	if len(held) != len(want) {
		t.Errorf("held %d, want %d: %+v", len(held), len(want), held)
	}
	for _, h := range held {
		if want[h.EmailID] != h.Reason {
			t.Errorf("email %s held for %q, want %q", h.EmailID, h.Reason, want[h.EmailID])
		}
	}
	if len(giveUp) != 1 || giveUp[0].EmailID != "12" {
		t.Errorf("given up %+v, want email 12", giveUp)
	}
}

func TestParseExclusions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []store.Exclusion
		err      string
	}{
		{name: "domains, addresses, notes, comments",
			in: "\ufeff# existing customers\nAcme.example, customer since 2024\n\nhttps://www.Beta.example/about\n@gamma.example\nBoss@Delta.example\texec\n",
			want: []store.Exclusion{{Kind: "domain", Value: "acme.example", Note: "customer since 2024"},
				{Kind: "domain", Value: "beta.example"}, {Kind: "domain", Value: "gamma.example"},
				{Kind: "email", Value: "boss@delta.example", Note: "exec"}}},
		{name: "idn domain", in: "société.example\n", want: []store.Exclusion{{Kind: "domain", Value: "xn--socit-esab.example"}}},
		{name: "bad lines named", in: "ok.example\nlocalhost\nnot an@address.example\n", err: "line 2: \"localhost\" is not a domain or an e-mail address; line 3:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExclusions(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrBadRequest) {
					t.Fatalf("err %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFollowUpsAreThePlans(t *testing.T) {
	t.Parallel()
	f := followUps()
	if len(f) != 3 {
		t.Fatalf("%d follow-ups, want 3 (days 4, 7, 14): %q", len(f), f)
	}
	for i, s := range f {
		if !strings.HasPrefix(s, "Bonjour {{first_name}},<br>") || strings.Contains(s, "#") || strings.Contains(s, "---") {
			t.Errorf("follow-up %d: %q", i+1, s)
		}
	}
}
