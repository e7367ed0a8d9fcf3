package csvexport

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/kaleads/kaleads/shared/sequencer"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	leads := []sequencer.Lead{
		{Email: "lea@acme.fr", FirstName: "Léa", LastName: "Durand", CompanyName: "Acme", Website: "acme.fr",
			Subject: "prospection chez Acme", Body: "Bonjour Léa,\n\nChez Acme, « vous vendez »…", Custom: map[string]string{"persona": "équipes RH"}},
		{Email: "x@evil.example", FirstName: "=HYPERLINK(\"http://evil\")", CompanyName: "+cmd", Subject: "-1", Body: "@SUM(A1)"},
	}
	tests := []struct {
		format string
		header string
	}{
		{Smartlead, "email,first_name,last_name,company_name,website,subject,email_body,persona"},
		{Instantly, "email,first_name,last_name,company_name,website,subject,email_body,persona"},
		{Lemlist, "email,firstName,lastName,companyName,companyDomain,subject,email_body,persona"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := Write(&b, tt.format, leads, true); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b.Bytes(), []byte("\ufeff")) {
				t.Error("no byte-order mark")
			}
			rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(b.String(), "\ufeff"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rows[0], ","); got != tt.header {
				t.Errorf("header %s, want %s", got, tt.header)
			}
			if len(rows) != 3 || rows[1][6] != leads[0].Body || rows[1][1] != "Léa" || rows[1][7] != "équipes RH" {
				t.Errorf("row 1 %q: the body (with its line breaks and quotes) must survive", rows[1])
			}
			for _, cell := range rows[2][1:] {
				if cell != "" && strings.ContainsAny(cell[:1], "=+-@") {
					t.Errorf("cell %q would run as a formula", cell)
				}
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := Write(&b, "mailchimp", nil, false); err == nil || !strings.Contains(err.Error(), "smartlead") {
		t.Errorf("unknown format: %v", err)
	}
	if err := Write(&b, Smartlead, []sequencer.Lead{{FirstName: "x"}}, false); err == nil {
		t.Error("a lead with no e-mail address was written")
	}
	many := map[string]string{}
	for i := range MaxCustom {
		many[string(rune('a'+i))+"_field"] = "v"
	}
	if err := Write(&b, Smartlead, []sequencer.Lead{{Email: "a@b.fr", Custom: many}}, false); err == nil {
		t.Error("more custom columns than Smartlead takes")
	}
}
