package planreport

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMarkdownLimit keeps the Markdown under GitHub's 65 536-character comment limit with
// room for a CI system's own framing.
const DefaultMarkdownLimit = 60000

// MarkdownOptions tune WriteMarkdown.
type MarkdownOptions struct {
	// Limit is the size the report aims to stay under, in characters (runes); rows beyond it are
	// left out per section, saying how many. 0 means DefaultMarkdownLimit, negative no limit.
	Limit int
}

// WriteMarkdown writes the review in GitHub-flavoured Markdown, sized for a pull-request or run
// comment: counts first, then the sections in order.
func (r *Report) WriteMarkdown(w io.Writer, opts MarkdownOptions) error {
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultMarkdownLimit
	}
	head := r.markdownHead()
	notes := r.markdownNotes()
	type rendered struct {
		header string
		rows   []string // rendered rows: all of them, or the first ones past the limit
		size   int      // runes of the rendered rows
		total  int      // rows in the section
		keep   int      // rows kept
	}
	secs := make([]rendered, len(r.Sections))
	fixed := runes(head) + runes(notes)
	total := fixed
	for i, s := range r.Sections {
		if len(s.Rows) == 0 {
			continue
		}
		secs[i].header = fmt.Sprintf("### %s (%d)\n\n_%s_\n\n| User | Connection | Action | Reason (source_state) | Changes |\n|---|---|---|---|---|\n",
			s.Title, len(s.Rows), mdText(s.Description))
		// No section can keep more than the whole limit: rows past it are never rendered (a
		// first plan of 50 000 creates renders a few hundred).
		secs[i].rows = make([]string, 0, min(len(s.Rows), 1024))
		for _, row := range s.Rows {
			if limit > 0 && secs[i].size > limit {
				break
			}
			text := markdownRow(row)
			secs[i].rows = append(secs[i].rows, text)
			secs[i].size += runes(text)
		}
		secs[i].total = len(s.Rows)
		secs[i].keep = len(secs[i].rows)
		fixed += runes(secs[i].header) + 1
		total += runes(secs[i].header) + 1 + secs[i].size
	}
	if limit > 0 && total > limit {
		// Share what is left after the fixed parts equally among the sections; a section that
		// needs less than its share gives the rest to the others.
		const truncLine = 160 // the "rows left out" line
		budget := limit - fixed
		order := []int{}
		for i := range secs {
			if len(secs[i].rows) > 0 {
				budget -= truncLine
				order = append(order, i)
			}
		}
		slices.SortFunc(order, func(a, b int) int { return secs[a].size - secs[b].size })
		for n, i := range order {
			share := max(budget, 0) / (len(order) - n)
			if secs[i].size <= share {
				budget -= secs[i].size
				continue
			}
			used, keep := 0, 0
			for _, row := range secs[i].rows {
				if used+runes(row) > share {
					break
				}
				used += runes(row)
				keep++
			}
			secs[i].keep = keep
			budget -= used
		}
	}
	var b strings.Builder
	b.WriteString(head)
	for i, s := range secs {
		if len(s.rows) == 0 {
			continue
		}
		b.WriteString(s.header)
		for _, row := range s.rows[:s.keep] {
			b.WriteString(row)
		}
		if left := s.total - s.keep; left > 0 {
			fmt.Fprintf(&b, "\n**%d of %d rows left out** of %s to keep this report under %d characters; `pingid-plan-report --format html` lists every row.\n",
				left, s.total, r.Sections[i].Title, limit)
		}
		b.WriteString("\n")
	}
	b.WriteString(notes)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) markdownHead() string {
	var b strings.Builder
	b.WriteString("## PingID plan review\n\n")
	total := r.TotalRows()
	fmt.Fprintf(&b, "%s plan (format %s): **%d user %s** in %d PingID %s.\n\n",
		mdText(r.CLIText()), mdText(r.FormatVersion), total, plural(total, "change", "changes"),
		len(r.Resources), plural(len(r.Resources), "resource", "resources"))
	actions := sortedActions(r.Counts)
	if len(actions) > 0 {
		b.WriteString("| Action | Users | Section |\n|---|---:|---|\n")
		for _, a := range actions {
			fmt.Fprintf(&b, "| %s | %d | %s |\n", a, r.Counts[a], r.sectionTitle(a))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No PingID user changes.\n\n")
	}
	b.WriteString("### By connection\n\n| Connection | Terraform action | Users before → after |")
	for _, a := range actions {
		fmt.Fprintf(&b, " %s |", a)
	}
	b.WriteString("\n|---|---|---|")
	for range actions {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, res := range r.Resources {
		fmt.Fprintf(&b, "| %s | %s | %s |", resourceLabel(res), res.PlanAction, usersBeforeAfter(res))
		for _, a := range actions {
			fmt.Fprintf(&b, " %d |", res.Counts[a])
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if brakes := r.markdownBrakes(); brakes != "" {
		b.WriteString(brakes)
	}
	return b.String()
}

func resourceLabel(res *Resource) string {
	if res.Type == TypeMappedUser {
		return code(res.Address)
	}
	return code(res.Name) + " (" + mdText(res.Address) + ")"
}

func usersBeforeAfter(res *Resource) string {
	switch {
	case res.Type == TypeMappedUser:
		return "-"
	case res.UsersUnknown:
		return fmt.Sprintf("%d → (known after apply)", res.Managed)
	}
	return fmt.Sprintf("%d → %d", res.Managed, res.Planned)
}

func (r *Report) sectionTitle(a Action) string {
	for _, s := range r.Sections {
		if slices.Contains(s.Actions, a) {
			return s.Title
		}
	}
	return ""
}

func (r *Report) markdownBrakes() string {
	var b strings.Builder
	for _, res := range r.Resources {
		if res.Type != TypeConnection {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("### Brakes\n\nDeprovisions (disables, deletes, links that suspend) planned against each limit; a plan over a limit fails, so the headroom is what the next plan may add.\n\n")
			b.WriteString("| Connection | Deprovisions planned | max_deprovisions | max_deprovisions_percent |\n|---|---:|---|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", code(res.Name), res.Deprovisions, brakeCell(res, "max_deprovisions"), brakeCell(res, "max_deprovisions_percent"))
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// BrakeText describes one brake of a connection, e.g. "10: 2 planned, 8 left".
func BrakeText(res *Resource, setting string) string {
	for _, br := range res.Brakes {
		if br.Setting != setting {
			continue
		}
		switch {
		case br.Unlimited:
			return fmt.Sprintf("%s (off): no limit", br.Value)
		case br.Setting == "max_deprovisions_percent":
			return fmt.Sprintf("%s = %d allowed: %d left", br.Basis, br.Allowed, max(br.Headroom(), 0)) + overText(br)
		}
		return fmt.Sprintf("%s allowed: %d left", br.Value, max(br.Headroom(), 0)) + overText(br)
	}
	return "not in this plan"
}

func overText(br Brake) string {
	if br.Headroom() < 0 {
		return fmt.Sprintf(" (over by %d: applying this plan fails)", -br.Headroom())
	}
	return ""
}

func brakeCell(res *Resource, setting string) string { return mdText(BrakeText(res, setting)) }

func (r *Report) markdownNotes() string {
	var lines []string
	for _, res := range r.Resources {
		for _, n := range res.Notes {
			lines = append(lines, fmt.Sprintf("- %s: %s\n", code(res.Name), mdText(n)))
		}
	}
	for _, n := range r.Notes {
		lines = append(lines, "- "+mdText(n)+"\n")
	}
	if len(lines) == 0 {
		return ""
	}
	return "### Notes\n\n" + strings.Join(lines, "") + "\n"
}

func markdownRow(row Row) string {
	reason := mdText(row.Reason)
	if row.SourceState != "" {
		reason += " (" + mdText(row.SourceState) + ")"
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", code(row.User), code(row.Connection), row.Action, reason, markdownChanges(row))
}

func markdownChanges(row Row) string {
	parts := make([]string, 0, len(row.Changes))
	for _, ch := range row.Changes {
		parts = append(parts, mdText(ch.Field)+changeText(ch, row.NewUser, code))
	}
	return strings.Join(parts, "<br>")
}

// changeText renders " = new" for a new user's value, else ": old → new" (∅ = absent).
func changeText(ch Change, newUser bool, quote func(string) string) string {
	val := func(p *string) string {
		if p == nil {
			return "∅"
		}
		return quote(*p)
	}
	if newUser && ch.Old == nil {
		return " = " + val(ch.New)
	}
	return ": " + val(ch.Old) + " → " + val(ch.New)
}

// visibleText replaces control characters (a newline would end the table row) with Go escapes.
func visibleText(s string) string {
	if plainASCII(s) || !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// plainASCII reports whether s is printable ASCII only: the common case, checked without
// decoding runes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// code renders s as an inline code span that is safe inside a table cell.
func code(s string) string {
	s = strings.ReplaceAll(visibleText(s), "|", `\|`)
	if s == "" {
		return "`\"\"`"
	}
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

// mdText escapes s as plain text in a table cell.
func mdText(s string) string {
	s = visibleText(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '#':
			b.WriteByte('\\')
		case '&':
			b.WriteString("&amp;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func runes(s string) int { return utf8.RuneCountInString(s) }
