package slack

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// BatchInfo describes a finished generation batch.
type BatchInfo struct {
	Client, BatchID          string
	Total, Completed, Failed int
	AutoApproved, Held       int
	AvgQuality               float64 // 0 to 100
	CostUSD                  float64
	ReviewURL                string
}

// HeldInfo describes the emails waiting for a human review.
type HeldInfo struct {
	Client    string
	Waiting   int
	Oldest    time.Time      // zero when unknown
	TopGates  map[string]int // quality gate code -> emails it held
	ReviewURL string
}

// ExportInfo describes an export of leads to a sequencer campaign.
type ExportInfo struct {
	Client, Destination, CampaignID, CampaignName string
	Sent, Skipped, HeldBack                       int
	Reasons                                       map[string]int // why leads were skipped or held back -> count
	DryRun                                        bool
}

const (
	maxName   = 150 // characters kept of a client, batch or campaign name
	maxTop    = 5   // entries listed from a count map
	maxReason = 500 // characters kept of an error text
)

// BatchGenerated announces a generated batch: "*Batch 42 generated* for
// Acme: 24/25 emails", then approval, failure, quality and cost figures and
// the review link.
func BatchGenerated(b BatchInfo) Message {
	head := "Batch"
	if b.BatchID != "" {
		head += " " + inline(b.BatchID)
	}
	head += " generated"
	rest := fmt.Sprintf("%s: %d/%d emails", forClient(b.Client), b.Completed, b.Total)
	quality := "n/a"
	if b.Completed > 0 && !math.IsNaN(b.AvgQuality) && !math.IsInf(b.AvgQuality, 0) {
		quality = fmt.Sprintf("%.1f/100", b.AvgQuality)
	}
	m := Message{Text: head + rest, Blocks: []Block{
		Section("*" + head + "*" + rest),
		Fields(
			fmt.Sprintf("*Auto-approved:*\n%d", b.AutoApproved),
			fmt.Sprintf("*To review:*\n%d", b.Held),
			fmt.Sprintf("*Failed:*\n%d", b.Failed),
			"*Avg quality:*\n"+quality,
			"*Cost:*\n"+dollars(b.CostUSD),
		),
	}}
	return withLink(m, b.ReviewURL, "Review the batch")
}

// HeldForReview reports emails held back for a human review, with how long
// the oldest has waited and the gates that held the most.
func HeldForReview(h HeldInfo) Message {
	head := fmt.Sprintf("%d %s waiting for review", h.Waiting, plural(h.Waiting, "email", "emails"))
	text := "*" + head + "*" + forClient(h.Client)
	if !h.Oldest.IsZero() {
		// Slack shows the date in the reader's time zone; the fallback is UTC.
		text += fmt.Sprintf("\nOldest held since <!date^%d^{date_short_pretty} at {time}|%s>",
			h.Oldest.Unix(), h.Oldest.UTC().Format("2006-01-02 15:04 UTC"))
	}
	m := Message{Text: head + forClient(h.Client), Blocks: []Block{Section(text)}}
	if list := ranking(h.TopGates, true); list != "" {
		m.Blocks = append(m.Blocks, Section("*Most common gates:*\n"+list))
	}
	return withLink(m, h.ReviewURL, "Open the review queue")
}

// ExportDone reports a finished export: "*Export done* for Acme to Smartlead
// campaign Q3 (123): 97 leads", then the skipped and held-back counts and the
// most common reasons.
func ExportDone(e ExportInfo) Message {
	head, rest := "Export done", fmt.Sprintf(": %d %s", e.Sent, plural(e.Sent, "lead", "leads"))
	if e.DryRun {
		head, rest = "Export dry run done", rest+" would be sent"
	}
	rest = exportTarget(e) + rest
	m := Message{Text: head + rest, Blocks: []Block{
		Section("*" + head + "*" + rest),
		Fields(fmt.Sprintf("*Skipped:*\n%d", e.Skipped), fmt.Sprintf("*Held back:*\n%d", e.HeldBack)),
	}}
	if list := ranking(e.Reasons, false); list != "" {
		m.Blocks = append(m.Blocks, Section("*Top reasons:*\n"+list))
	}
	return m
}

// ExportFailed reports an export that stopped on err, with what was already
// sent before it did.
func ExportFailed(e ExportInfo, err error) Message {
	head := "Export failed"
	if e.DryRun {
		head = "Export dry run failed"
	}
	rest := exportTarget(e)
	return Message{Text: head + rest, Blocks: []Block{
		Section("*" + head + "*" + rest),
		Section("*Reason:* " + Escape(truncate(errText(err), maxReason, false))),
		Fields(fmt.Sprintf("*Already sent:*\n%d", e.Sent), fmt.Sprintf("*Skipped:*\n%d", e.Skipped),
			fmt.Sprintf("*Held back:*\n%d", e.HeldBack)),
	}}
}

// inline makes a user-supplied name safe: one line, clipped, escaped.
func inline(s string) string {
	return Escape(truncate(strings.Join(strings.Fields(s), " "), maxName, false))
}

func forClient(client string) string {
	if c := inline(client); c != "" {
		return " for " + c
	}
	return ""
}

// exportTarget is " for Acme to Smartlead campaign Q3 (123)".
func exportTarget(e ExportInfo) string {
	s := forClient(e.Client) + " to " + cmp.Or(inline(e.Destination), "the sequencer")
	name, id := inline(e.CampaignName), inline(e.CampaignID)
	if name != "" && id != "" {
		id = " (" + id + ")"
	}
	if name+id != "" {
		s += " campaign " + name + id
	}
	return s
}

// ranking lists the largest counts (then names A to Z), at most 5, one
// "• name: n" per line; code puts names in backticks.
func ranking(counts map[string]int, code bool) string {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b)) })
	var lines []string
	for _, k := range keys[:min(len(keys), maxTop)] {
		name := inline(k)
		switch {
		case name == "":
			name = "(none)"
		case code:
			name = "`" + strings.ReplaceAll(name, "`", "'") + "`"
		}
		lines = append(lines, fmt.Sprintf("• %s: %d", name, counts[k]))
	}
	return strings.Join(lines, "\n")
}

func withLink(m Message, rawURL, label string) Message {
	if strings.TrimSpace(rawURL) != "" {
		m.Blocks = append(m.Blocks, Context(Link(rawURL, label)))
	}
	return m
}

func dollars(usd float64) string {
	switch {
	case math.IsNaN(usd) || math.IsInf(usd, 0):
		return "n/a"
	case usd > 0 && usd < 0.01:
		return "under $0.01"
	}
	return fmt.Sprintf("$%.2f", usd)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errText is err's text, even for a nil error or one whose Error panics.
func errText(err error) (s string) {
	if err == nil {
		return "unknown error"
	}
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("%T (its Error method panicked)", err)
		}
	}()
	if s = strings.TrimSpace(err.Error()); s == "" {
		s = fmt.Sprintf("%T with an empty message", err)
	}
	return s
}
