package slack

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Slack's limits, enforced by Validate.
const (
	MaxBlocks      = 50   // blocks in a message
	MaxSectionText = 3000 // characters in a section's text (longer is truncated)
	maxFieldText   = 2000 // characters in a section field (longer is truncated)
)

// Message is the webhook payload. Text is required: it is the notification
// fallback when Blocks are present.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks,omitempty"`
}

// Block is a layout block: a "section" (Text and/or Fields), a "context"
// (Elements) or another type passed through as is (e.g. "divider").
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a text object: Type is "mrkdwn" or "plain_text".
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Mrkdwn returns a mrkdwn text object. s is sent as is: Escape user content.
func Mrkdwn(s string) Text { return Text{Type: "mrkdwn", Text: s} }

// Section returns a section block with mrkdwn text.
func Section(s string) Block { t := Mrkdwn(s); return Block{Type: "section", Text: &t} }

// Fields returns a section block made of mrkdwn fields (shown in two columns).
func Fields(fields ...string) Block {
	b := Block{Type: "section"}
	for _, f := range fields {
		b.Fields = append(b.Fields, Mrkdwn(f))
	}
	return b
}

// Context returns a context block of mrkdwn elements (small grey text).
func Context(elements ...string) Block {
	b := Block{Type: "context"}
	for _, e := range elements {
		b.Elements = append(b.Elements, Mrkdwn(e))
	}
	return b
}

// Validate refuses a blank Text (Slack answers no_text) and more than 50
// blocks. Texts over Slack's limits (3000 characters in a section or context,
// 2000 in a field) are truncated with "…" instead, without leaving half an
// entity or half a link in mrkdwn. The truncated blocks are copies, so slices
// shared with the caller's other Messages are not modified.
func (m *Message) Validate() error {
	if m == nil || strings.TrimSpace(m.Text) == "" {
		return errors.New("slack: message text is required (it is the notification fallback)")
	}
	if len(m.Blocks) > MaxBlocks {
		return fmt.Errorf("slack: %d blocks, at most %d", len(m.Blocks), MaxBlocks)
	}
	m.Blocks = slices.Clone(m.Blocks)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		if b.Text != nil {
			b.Text = &fit([]Text{*b.Text}, MaxSectionText)[0]
		}
		b.Fields, b.Elements = fit(b.Fields, maxFieldText), fit(b.Elements, MaxSectionText)
	}
	return nil
}

// fit returns a copy of ts with texts over limit characters truncated.
func fit(ts []Text, limit int) []Text {
	ts = slices.Clone(ts)
	for i, t := range ts {
		ts[i].Text = truncate(t.Text, limit, t.Type == "mrkdwn")
	}
	return ts
}

// truncate keeps at most n characters of s, the last one "…". For mrkdwn it
// also drops a trailing half entity ("&am") or half link ("<https://…").
func truncate(s string, n int, mrkdwn bool) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	kept := string([]rune(s)[:n-1])
	if mrkdwn {
		if i := strings.LastIndexByte(kept, '&'); i >= 0 && len(kept)-i < len("&amp;") && !strings.Contains(kept[i:], ";") {
			kept = kept[:i]
		}
		if i := strings.LastIndexByte(kept, '<'); i >= 0 && !strings.Contains(kept[i:], ">") {
			kept = kept[:i]
		}
	}
	return kept + "…"
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes user content literal in mrkdwn: &, < and > become &amp;,
// &lt; and &gt;, so "<!channel>" or "<https://evil|x>" show as typed.
func Escape(s string) string { return escaper.Replace(s) }

// Link returns <url|label> with the label escaped (and put on one line) and
// the URL made unable to end the link: |, <, >, quotes, spaces and control
// characters are percent-encoded and & becomes &amp;. A URL that is not
// absolute http(s), or longer than 2000 bytes, yields the escaped label alone
// (the URL if label is empty).
func Link(rawURL, label string) string {
	label = strings.Join(strings.Fields(label), " ")
	raw := strings.TrimSpace(rawURL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		if label == "" {
			label = raw
		}
		return Escape(label)
	}
	var b strings.Builder
	b.WriteByte('<')
	for _, r := range raw {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '|' || r == '<' || r == '>' || r == '"' || r <= ' ' || r == 0x7f:
			fmt.Fprintf(&b, "%%%02X", r)
		default:
			b.WriteRune(r)
		}
	}
	if label != "" {
		b.WriteString("|" + Escape(label))
	}
	b.WriteByte('>')
	return b.String()
}
