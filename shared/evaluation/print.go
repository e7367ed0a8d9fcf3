package evaluation

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the figures, one column per split, then the gate flag
// codes and the lists of self-competitors, partners named as competitors
// and leaks.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	row := func(name string, cell func(f Figures) string) {
		fmt.Fprint(tw, name)
		for _, f := range r.Figures {
			fmt.Fprint(tw, "\t", cell(f))
		}
		fmt.Fprintln(tw, "\t")
	}
	row("", func(f Figures) string { return f.Split })
	row("companies (emails generated)", func(f Figures) string { return fmt.Sprintf("%d (%d)", f.Companies, f.Generated) })
	row("category accuracy", func(f Figures) string { return f.Category.String() })
	row("persona accuracy", func(f Figures) string { return f.Persona.String() })
	row("  persona = client's own (of which ✓)", func(f Figures) string {
		return fmt.Sprintf("%d (%d)", f.PersonaFromClient.Of, f.PersonaFromClient.Hits)
	})
	row("competitor accuracy", func(f Figures) string { return f.Competitor.String() })
	row("self-competitors", func(f Figures) string { return fmt.Sprint(f.SelfCompetitors) })
	row("partners named as competitors", func(f Figures) string { return fmt.Sprint(f.Partners) })
	row("quotes grounded", func(f Figures) string { return f.QuotesGrounded.String() })
	row("emails with ungrounded quotes", func(f Figures) string { return fmt.Sprint(f.UngroundedEmails) })
	row("average quality", func(f Figures) string { return fmt.Sprintf("%.1f", f.AvgQuality) })
	row("emails with a gate flag", func(f Figures) string { return fmt.Sprint(f.Gated) })
	row("leaks (file names, markup)", func(f Figures) string { return fmt.Sprint(f.Leaks) })
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	for _, f := range r.Figures {
		fmt.Fprintf(w, "gate flags, %s: %s\n", f.Split, codes(f.GateCodes))
	}
	last := r.Figures[len(r.Figures)-1]
	list := func(title string, items []Item) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, it := range items {
			fmt.Fprintf(w, "  %-7s %-24s %s %q — %s\n", it.Split, it.Host, it.Variable, it.Value, it.Why)
		}
	}
	list("self-competitors", last.SelfCompetitorList)
	list("partners named as competitors", last.PartnerList)
	list("leaks", last.LeakList)
	if r.HeldoutHidden {
		fmt.Fprintln(w, "(held-out companies are counted above but never named: `--split heldout` shows them, once tuning is over)")
	}
	return nil
}

// WriteDetails prints one line per company of r.Companies: each judged
// variable with ✓/✗, its fallback level and confidence, and why.
func (r *Report) WriteDetails(w io.Writer) error {
	check := func(name string, c Check) string {
		mark := "✗"
		if c.OK {
			mark = "✓"
		}
		lc := ""
		if c.FallbackLevel > 0 {
			lc = fmt.Sprintf(" (L%d c%d)", c.FallbackLevel, c.Confidence)
		}
		return fmt.Sprintf("%s %s %q%s — %s", name, mark, c.Value, lc, c.Why)
	}
	for _, c := range r.Companies {
		fmt.Fprintf(w, "%s [%s] %s\n", c.Host, c.Split, c.Status)
		fmt.Fprintf(w, "    %s\n", check("category  ", c.Category))
		fmt.Fprintf(w, "    %s\n", check("persona   ", c.Persona))
		fmt.Fprintf(w, "    %s\n", check("competitor", c.Competitor))
		if c.Status != "generated" {
			continue
		}
		gates := "none"
		if len(c.GateFlags) > 0 {
			gates = strings.Join(c.GateFlags, ", ")
		}
		fmt.Fprintf(w, "    quality %d, gates: %s, quotes grounded %d/%d\n", c.Quality, gates, c.Quotes.Hits, c.Quotes.Of)
		for _, q := range c.Ungrounded {
			fmt.Fprintf(w, "    ungrounded quote  %s\n", q)
		}
		for _, l := range c.Leaks {
			fmt.Fprintf(w, "    leak  %s %q — %s\n", l.Variable, l.Value, l.Why)
		}
	}
	if r.HeldoutHidden {
		fmt.Fprintln(w, "(held-out companies are not listed: `--split heldout --details` shows them, once tuning is over)")
	}
	return nil
}

func codes(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
