package slack

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                        "",
		"plain *bold* _it_":       "plain *bold* _it_",
		"<!channel>":              "&lt;!channel&gt;",
		"<https://evil|x>":        "&lt;https://evil|x&gt;",
		"Tom & Jerry":             "Tom &amp; Jerry",
		"&amp; already":           "&amp;amp; already",
		"a<b>c&d<@U1><#C1|gen>":   "a&lt;b&gt;c&amp;d&lt;@U1&gt;&lt;#C1|gen&gt;",
		"\xff invalid utf-8 <x>":  "\xff invalid utf-8 &lt;x&gt;",
		"<!here> <!everyone> >>>": "&lt;!here&gt; &lt;!everyone&gt; &gt;&gt;&gt;",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, label, want string }{
		{"https://app.example/review/42", "Review", "<https://app.example/review/42|Review>"},
		{"https://app.example/x?a=1&b=2", "Open <now> & go", "<https://app.example/x?a=1&amp;b=2|Open &lt;now&gt; &amp; go>"},
		{"https://app.example/a|b>c<d", "x", "<https://app.example/a%7Cb%3Ec%3Cd|x>"},
		{"https://app.example/a b\"c", "multi\nline  label", "<https://app.example/a%20b%22c|multi line label>"},
		{"  http://localhost:8080/q  ", "", "<http://localhost:8080/q>"},
		{"https://app.example/x", "<!channel>", "<https://app.example/x|&lt;!channel&gt;>"},
		{"javascript:alert(1)", "click", "click"},
		{"/relative/path", "<b>", "&lt;b&gt;"},
		{"https://evil|x>", "label", "label"}, // not a valid URL: the label alone
		{"", "just text", "just text"},
		{"not a url <!here>", "", "not a url &lt;!here&gt;"},
		{"", "", ""},
	} {
		if got := Link(tc.url, tc.label); got != tc.want {
			t.Errorf("Link(%q, %q) = %q, want %q", tc.url, tc.label, got, tc.want)
		}
	}
}

// Whatever the input, Link yields one well-formed link or escaped text.
func FuzzLink(f *testing.F) {
	f.Add("https://app.example/x?a=1&b=2", "Open")
	f.Add("https://a.example/|>", "<!channel>")
	f.Add("http://127.0.0.1/\x00\n", "a|b")
	f.Fuzz(func(t *testing.T, url, label string) {
		got := Link(url, label)
		inner := got
		if strings.HasPrefix(got, "<") {
			if !strings.HasSuffix(got, ">") {
				t.Fatalf("Link = %q: unterminated", got)
			}
			inner = got[1 : len(got)-1]
			if u, _, _ := strings.Cut(inner, "|"); strings.ContainsAny(u, " \n") {
				t.Fatalf("Link = %q: whitespace in the URL", got)
			}
			if _, l, ok := strings.Cut(inner, "|"); ok && strings.Contains(l, "|") && !strings.Contains(label, "|") {
				t.Fatalf("Link = %q: a second |", got)
			}
		}
		if strings.ContainsAny(inner, "<>") {
			t.Fatalf("Link(%q, %q) = %q: a raw < or > inside", url, label, got)
		}
		checkEntities(t, inner)
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	a3000, a3001 := strings.Repeat("a", 3000), strings.Repeat("a", 3001)
	for _, tc := range []struct {
		name    string
		m       Message
		wantErr bool
		want    []string // texts after Validate, in allTexts order (nil: unchanged)
	}{
		{"ok", simple, false, nil},
		{"text only", Message{Text: "hi"}, false, nil},
		{"empty text", Message{Blocks: simple.Blocks}, true, nil},
		{"blank text", Message{Text: " \t\n", Blocks: simple.Blocks}, true, nil},
		{"50 blocks", Message{Text: "x", Blocks: repeat(Section("s"), 50)}, false, nil},
		{"51 blocks", Message{Text: "x", Blocks: repeat(Section("s"), 51)}, true, nil},
		{"3000 kept", Message{Text: "x", Blocks: []Block{Section(a3000)}}, false, nil},
		{"3001 truncated", Message{Text: "x", Blocks: []Block{Section(a3001)}}, false,
			[]string{"x", a3000[:2999] + "…"}},
		{"multibyte counted as characters", Message{Text: "x", Blocks: []Block{Section(strings.Repeat("é", 3001))}}, false,
			[]string{"x", strings.Repeat("é", 2999) + "…"}},
		{"no half entity", Message{Text: "x", Blocks: []Block{Section(strings.Repeat("a", 2997) + "&amp;tail")}}, false,
			[]string{"x", strings.Repeat("a", 2997) + "…"}},
		{"no half link", Message{Text: "x", Blocks: []Block{Section(strings.Repeat("a", 2990) + "<https://x.example/long|l>")}}, false,
			[]string{"x", strings.Repeat("a", 2990) + "…"}},
		{"plain text cut as is", Message{Text: "x", Blocks: []Block{{Type: "section", Text: &Text{"plain_text", strings.Repeat("a", 2997) + "<abcdef"}}}}, false,
			[]string{"x", strings.Repeat("a", 2997) + "<a…"}},
		{"field over 2000", Message{Text: "x", Blocks: []Block{Fields("f", strings.Repeat("b", 2001))}}, false,
			[]string{"x", "f", strings.Repeat("b", 1999) + "…"}},
		{"context over 3000", Message{Text: "x", Blocks: []Block{Context(a3001)}}, false,
			[]string{"x", a3000[:2999] + "…"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := allTexts(tc.m)
			m := tc.m
			err := m.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			want := tc.want
			if want == nil {
				want = before
			}
			if got := allTexts(m); !reflect.DeepEqual(got, want) {
				t.Errorf("after Validate: %d texts %q…", len(got), clipForLog(got))
			}
			for _, s := range allTexts(m) {
				if n := utf8.RuneCountInString(s); n > MaxSectionText {
					t.Errorf("a text of %d characters remains", n)
				}
			}
			if !reflect.DeepEqual(allTexts(tc.m), before) {
				t.Error("Validate modified texts shared with the original")
			}
		})
	}
	var nilMsg *Message
	if nilMsg.Validate() == nil {
		t.Error("a nil message validates")
	}
}

func repeat(b Block, n int) []Block {
	out := make([]Block, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// allTexts lists m's text, then every text object in block order.
func allTexts(m Message) []string {
	out := []string{m.Text}
	for _, b := range m.Blocks {
		if b.Text != nil {
			out = append(out, b.Text.Text)
		}
		for _, t := range append(append([]Text(nil), b.Fields...), b.Elements...) {
			out = append(out, t.Text)
		}
	}
	return out
}

func clipForLog(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if len(s) > 40 {
			s = s[:20] + "…" + s[len(s)-20:]
		}
		out[i] = s
	}
	return out
}

// checkEntities fails when an & does not start one of the three entities.
func checkEntities(t *testing.T, s string) {
	t.Helper()
	for i := strings.IndexByte(s, '&'); i >= 0; i = next(s, i) {
		if r := s[i:]; !strings.HasPrefix(r, "&amp;") && !strings.HasPrefix(r, "&lt;") && !strings.HasPrefix(r, "&gt;") {
			t.Errorf("raw & in %q", s)
			return
		}
	}
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '&')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// checkMrkdwn fails unless every < opens one of the builders' own
// constructs (a review.example link or a date) and &s are entities.
func checkMrkdwn(t *testing.T, s string) {
	t.Helper()
	checkEntities(t, s)
	rest := s
	for {
		i := strings.IndexAny(rest, "<>")
		if i < 0 {
			return
		}
		j := strings.IndexByte(rest[i:], '>')
		if rest[i] == '>' || j < 0 {
			t.Errorf("stray %q in %q", rest[i], s)
			return
		}
		inner := rest[i+1 : i+j]
		if !strings.HasPrefix(inner, "https://review.example/") && !strings.HasPrefix(inner, "!date^") ||
			strings.Count(inner, "|") > 1 || strings.Contains(inner, "<") {
			t.Errorf("foreign construct <%s> in %q", inner, s)
		}
		rest = rest[i+j+1:]
	}
}
