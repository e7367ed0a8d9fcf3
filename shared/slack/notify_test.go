package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var oldest = time.Date(2026, 3, 2, 9, 30, 0, 0, time.FixedZone("CET", 3600))

func builderCases() map[string]Message {
	export := ExportInfo{Client: "Acme", Destination: "Smartlead", CampaignID: "123", CampaignName: "Q3 outreach",
		Sent: 97, Skipped: 3, HeldBack: 2, Reasons: map[string]int{"duplicate": 2, "unsubscribed": 2, "no email": 1}}
	dry := export
	dry.DryRun, dry.CampaignName, dry.Reasons = true, "", nil
	return map[string]Message{
		"batch_generated": BatchGenerated(BatchInfo{Client: "Acme", BatchID: "42", Total: 25, Completed: 24, Failed: 1,
			AutoApproved: 20, Held: 4, AvgQuality: 83.46, CostUSD: 0.4134, ReviewURL: "https://app.example/review?batch=42&client=acme"}),
		"batch_generated_empty": BatchGenerated(BatchInfo{}),
		"held_for_review": HeldForReview(HeldInfo{Client: "Acme", Waiting: 12, Oldest: oldest, ReviewURL: "https://app.example/review",
			TopGates: map[string]int{"ungrounded_claim": 5, "competitor_mention": 3, "tone": 3, "length": 1, "spam_words": 1, "greeting": 1, "x": 0}}),
		"held_for_review_one": HeldForReview(HeldInfo{Waiting: 1}),
		"export_done":         ExportDone(export),
		"export_done_dry_run": ExportDone(dry),
		"export_failed":       ExportFailed(export, errors.New("smartlead: add leads: HTTP 422 invalid email [permanent]")),
		"export_failed_nil":   ExportFailed(ExportInfo{}, nil),
	}
}

// The builders' output is pinned in testdata/*.json (go test -update rewrites).
func TestBuildersGolden(t *testing.T) {
	t.Parallel()
	for name, m := range builderCases() {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // readable goldens; Post's \u003c escapes decode the same
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		path := filepath.Join("testdata", name+".json")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./shared/slack -update creates it)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs (go test -update if intended):\n got: %s\nwant: %s", name, got, want)
		}
	}
}

// The headline figures read as the notes describe.
func TestBuilderHeadlines(t *testing.T) {
	t.Parallel()
	c := builderCases()
	for name, want := range map[string][]string{
		"batch_generated": {"Batch 42 generated for Acme: 24/25 emails", "*Batch 42 generated* for Acme: 24/25 emails",
			"*Auto-approved:*\n20", "*To review:*\n4", "*Failed:*\n1", "*Avg quality:*\n83.5/100", "*Cost:*\n$0.41",
			"<https://app.example/review?batch=42&amp;client=acme|Review the batch>"},
		"batch_generated_empty": {"Batch generated: 0/0 emails", "*Avg quality:*\nn/a", "*Cost:*\n$0.00"},
		"held_for_review": {"12 emails waiting for review for Acme",
			"\nOldest held since <!date^1772440200^{date_short_pretty} at {time}|2026-03-02 08:30 UTC>",
			"*Most common gates:*\n• `ungrounded_claim`: 5\n• `competitor_mention`: 3\n• `tone`: 3\n• `greeting`: 1\n• `length`: 1",
			"<https://app.example/review|Open the review queue>"},
		"held_for_review_one": {"1 email waiting for review"},
		"export_done": {"Export done for Acme to Smartlead campaign Q3 outreach (123): 97 leads",
			"*Export done* for Acme to Smartlead campaign Q3 outreach (123): 97 leads",
			"*Skipped:*\n3", "*Held back:*\n2", "*Top reasons:*\n• duplicate: 2\n• unsubscribed: 2\n• no email: 1"},
		"export_done_dry_run": {"*Export dry run done* for Acme to Smartlead campaign 123: 97 leads would be sent"},
		"export_failed": {"Export failed for Acme to Smartlead campaign Q3 outreach (123)",
			"*Reason:* smartlead: add leads: HTTP 422 invalid email [permanent]", "*Already sent:*\n97"},
		"export_failed_nil": {"Export failed to the sequencer", "*Reason:* unknown error"},
	} {
		texts := allTexts(c[name])
		joined := strings.Join(texts, "\x00")
		for _, w := range want {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: no %q in %q", name, w, texts)
			}
		}
	}
	if got := allTexts(c["held_for_review_one"]); len(got) != 2 {
		t.Errorf("held_for_review_one: %q, want no gates and no link", got)
	}
	if b := c["batch_generated_empty"].Blocks; b[len(b)-1].Type == "context" {
		t.Errorf("batch without a review URL has a link line: %+v", b)
	}
}

func hostileMessages(evil string) []Message {
	e := ExportInfo{Client: evil, Destination: evil, CampaignID: evil, CampaignName: evil, Reasons: map[string]int{evil: 1}}
	return []Message{
		BatchGenerated(BatchInfo{Client: evil, BatchID: evil, ReviewURL: "https://review.example/b?x=1&y=<2>|" + evil}),
		HeldForReview(HeldInfo{Client: evil, Waiting: 3, Oldest: oldest, TopGates: map[string]int{evil + "`": 2, "ok": 1},
			ReviewURL: "https://review.example/q"}),
		ExportDone(e),
		ExportFailed(e, errors.New(evil)),
	}
}

// Every user string is escaped, so no mention or foreign link survives.
func TestBuildersEscape(t *testing.T) {
	t.Parallel()
	for _, evil := range []string{"<!channel>", "<https://evil.example|click>", "a & b > c", "<@U123>\n<!here|here>", "&lt;"} {
		for i, m := range hostileMessages(evil) {
			found := false
			for _, s := range allTexts(m) {
				checkMrkdwn(t, s)
				found = found || strings.Contains(s, Escape(evil)) || strings.Contains(s, Escape(strings.ReplaceAll(evil, "\n", " ")))
			}
			if !found {
				t.Errorf("message %d: %q not shown escaped in %q", i, evil, allTexts(m))
			}
		}
	}
}

type panicky struct{ msg *string }

func (p *panicky) Error() string { return *p.msg }

// Whatever the input, a builder returns a valid message within Slack's
// limits that Validate leaves as is, and does not panic.
func TestBuildersAlwaysValid(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("<&>é", 250_000)
	gates := map[string]int{}
	for i := range 5000 {
		gates[strings.Repeat("g", i%300)+string(rune('a'+i%26))] = i % 7
	}
	var typedNil *panicky
	msgs := map[string]Message{
		"batch huge": BatchGenerated(BatchInfo{Client: huge, BatchID: huge, ReviewURL: "https://x.example/" + huge,
			Total: -1, Completed: math.MaxInt, AvgQuality: math.NaN(), CostUSD: math.Inf(1)}),
		"batch tiny cost": BatchGenerated(BatchInfo{Completed: 1, CostUSD: 0.004, AvgQuality: math.Inf(-1)}),
		"held huge":       HeldForReview(HeldInfo{Client: huge, Waiting: -5, TopGates: gates, ReviewURL: "javascript:" + huge}),
		"held blank gate": HeldForReview(HeldInfo{TopGates: map[string]int{"": 3, "\n": 2}}),
		"export huge":     ExportDone(ExportInfo{Client: huge, Destination: huge, CampaignName: huge, CampaignID: huge, Reasons: gates}),
		"failed huge":     ExportFailed(ExportInfo{Client: huge}, errors.New(huge)),
		"failed panicky":  ExportFailed(ExportInfo{}, typedNil),
		"failed blank":    ExportFailed(ExportInfo{}, errors.New(" ")),
	}
	for name, m := range msgs {
		before, _ := json.Marshal(m)
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if after, _ := json.Marshal(m); string(after) != string(before) {
			t.Errorf("%s: Validate had to truncate (%d bytes)", name, len(before))
		}
		if len(before) > 20_000 {
			t.Errorf("%s: %d bytes", name, len(before))
		}
		for _, s := range allTexts(m) {
			checkEntities(t, s)
		}
	}
	if s := strings.Join(allTexts(msgs["failed panicky"]), " "); !strings.Contains(s, "*slack.panicky") {
		t.Errorf("panicking error shown as %q", s)
	}
	if s := strings.Join(allTexts(msgs["held blank gate"]), " "); !strings.Contains(s, "• `(none)`: 3") && !strings.Contains(s, "• (none): 3") {
		t.Errorf("blank gate shown as %q", s)
	}
	if s := strings.Join(allTexts(msgs["batch tiny cost"]), " "); !strings.Contains(s, "under $0.01") || !strings.Contains(s, "quality:*\nn/a") {
		t.Errorf("tiny cost shown as %q", s)
	}
	if got := msgs["failed huge"].Blocks[1].Text.Text; !strings.HasSuffix(got, "…") || len([]rune(got)) > 500*5+20 {
		t.Errorf("error text not truncated: %d characters", len([]rune(got)))
	}
	if b := msgs["held huge"].Blocks; b[len(b)-1].Elements[0].Text != "Open the review queue" {
		t.Errorf("held huge: a javascript: URL gives %+v, want the label alone", b[len(b)-1])
	}
	if b := msgs["batch huge"].Blocks; b[len(b)-1].Elements[0].Text != "Review the batch" {
		t.Errorf("batch huge: a 1 MB URL gives %.80q, want the label alone", b[len(b)-1].Elements[0].Text)
	}
}
