package evaluation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaleads/kaleads/shared/campaign"
	"github.com/kaleads/kaleads/shared/email"
	"github.com/kaleads/kaleads/shared/output"
)

// TestGenerateMatchesCampaign runs the real set once with the offline
// engine (well under a second) and checks that Generate gives exactly the
// emails `kaleads generate` (campaign.Run) writes to emails.jsonl, that
// every labelled company is judged, and that the figures hold together.
// It asserts no accuracy: the engines change, the harness does not.
func TestGenerateMatchesCampaign(t *testing.T) {
	t.Parallel()
	s, err := Load(realSet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	evalOut := t.TempDir()
	out, err := Generate(ctx, s, RunOptions{OutDir: evalOut})
	if err != nil {
		t.Fatal(err)
	}
	if out.Engine != "offline" || len(out.Results) != len(s.Labels) || out.Summary.Generated != len(s.Labels) {
		t.Fatalf("engine %q, %d results, %d generated, want %d", out.Engine, len(out.Results), out.Summary.Generated, len(s.Labels))
	}

	campOut := t.TempDir()
	if _, err := campaign.Run(ctx, campaign.Options{ClientDir: s.ClientDir, ContactsFile: s.ContactsFile, SitesDir: s.SitesDir, OutDir: campOut, Concurrency: 8}); err != nil {
		t.Fatal(err)
	}
	want := readJSONL(t, filepath.Join(campOut, output.FileEmailsJSONL))
	written := readJSONL(t, filepath.Join(evalOut, output.FileEmailsJSONL))
	if len(want) != len(out.Results) || len(written) != len(out.Results) {
		t.Fatalf("campaign wrote %d emails, eval --out %d, Generate returned %d", len(want), len(written), len(out.Results))
	}
	for i, r := range out.Results {
		if got := comparable(t, r); got != comparable(t, want[i]) || got != comparable(t, written[i]) {
			t.Errorf("email %d (%s) differs from campaign.Run's:\n got %s\nwant %s", i, r.Contact.Website, got, comparable(t, want[i]))
		}
		if len(r.Answers) == 0 {
			t.Errorf("%s: no agent answers", r.Contact.Website)
		}
	}

	rep, err := Evaluate(s, out.Results, SplitAll)
	if err != nil {
		t.Fatal(err)
	}
	dev, heldout, all := rep.Figures[0], rep.Figures[1], rep.Figures[2]
	if all.Companies != len(s.Labels) || all.Generated != all.Companies || dev.Companies+heldout.Companies != all.Companies {
		t.Errorf("companies: dev %d, heldout %d, all %d (%d generated)", dev.Companies, heldout.Companies, all.Companies, all.Generated)
	}
	for _, r := range []func(Figures) Ratio{
		func(f Figures) Ratio { return f.Category }, func(f Figures) Ratio { return f.Persona },
		func(f Figures) Ratio { return f.Competitor }, func(f Figures) Ratio { return f.QuotesGrounded },
	} {
		if d, h, a := r(dev), r(heldout), r(all); d.Hits+h.Hits != a.Hits || d.Of+h.Of != a.Of || a.Hits > a.Of {
			t.Errorf("dev %v + heldout %v != all %v", d, h, a)
		}
	}
	if all.QuotesGrounded.Of == 0 || all.AvgQuality <= 0 || all.AvgQuality > 100 {
		t.Errorf("quotes %v, average quality %.1f", all.QuotesGrounded, all.AvgQuality)
	}
}

func readJSONL(t *testing.T, name string) []email.Result {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []email.Result
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r email.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// comparable is an email's JSON without its timings (and, through a JSON
// round trip, with nil and empty slices alike).
func comparable(t *testing.T, r email.Result) string {
	t.Helper()
	r.Timings = email.Timings{}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back email.Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if data, err = json.Marshal(back); err != nil {
		t.Fatal(err)
	}
	return string(data)
}
