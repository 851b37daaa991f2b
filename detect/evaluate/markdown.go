package evaluate

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteMarkdown writes r as Markdown tables with aligned columns: for each
// run, its attacks, its benign events and its false episodes; then, when
// there are several runs, a summary per run and per attack class.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	for i, run := range r.Runs {
		if i > 0 {
			b.WriteString("\n")
		}
		writeRun(&b, run)
	}
	if len(r.Runs) > 1 {
		b.WriteString("\n")
		writeSummary(&b, r)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// WriteSummaryMarkdown writes only the summary tables of r (per run and per
// attack class), for a document that holds many runs.
func (r Report) WriteSummaryMarkdown(w io.Writer) error {
	var b strings.Builder
	writeSummary(&b, r)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

func writeRun(b *strings.Builder, r Run) {
	multi := dayOf(r.End.Add(-time.Nanosecond), r.Start) > 0
	at := func(t time.Time) string { return clock(t, r.Start, multi, false) }
	title := "Run"
	if r.Name != "" {
		title += " " + r.Name
	}
	fmt.Fprintf(b, "### %s\n\n%s to %s (%s), grace %s.\n\n", title, r.Start.Format("2006-01-02 15:04 MST"),
		r.End.In(r.Start.Location()).Format("2006-01-02 15:04 MST"), spanDays(r.Totals.Days),
		time.Duration(r.Grace))

	t := table{header: []string{"attack", "kind", "start", "factor / rate", "target", "detected", "latency", "target latency",
		"alerts", "groups", "re-fired", "first alert"}}
	for _, a := range r.Attacks {
		e := a.Event
		det, lat, met, n, g, re, first := "yes", "-", "-", strconv.Itoa(a.Alerts), strconv.Itoa(a.Groups), strconv.Itoa(a.Refired), ""
		if a.Latency != nil {
			lat = formatLatency(time.Duration(*a.Latency))
		}
		if !a.Detected {
			det = "**no**"
		}
		if a.LatencyMet != nil {
			met = "yes"
			if !*a.LatencyMet {
				met = "**no**"
			}
			met += " (≤ " + formatLatency(time.Duration(e.TargetLatency)) + ")"
		}
		if a.First != nil {
			first = strings.TrimSpace(a.First.Detector + " " + a.First.Scope + " " + a.First.Target)
		}
		t.add(e.Name(), e.Kind, at(e.Start), intensity(e), target(e), det, lat, met, n, g, re, first)
	}
	if len(t.rows) > 0 {
		t.write(b)
		b.WriteString("\n")
	}

	t = table{header: []string{"benign event", "kind", "start", "factor / rate", "target", "alerts drawn (episodes)"}}
	for _, be := range r.Benign {
		e := be.Event
		t.add(e.Name(), e.Kind, at(e.Start), intensity(e), target(e), strconv.Itoa(len(be.Episodes)))
	}
	if len(t.rows) > 0 {
		t.write(b)
		b.WriteString("\n")
	}

	fmt.Fprintf(b, "False episodes: %d in %s (%s per day), %d unlabelled.\n", r.Totals.FalseEpisodes,
		spanDays(r.Totals.Days), formatRate(r.Totals.FalsePerDay), r.Totals.Unlabelled)
	for _, ep := range r.FalseEpisodes {
		b.WriteString("- " + describe(ep, r.Start, multi) + "\n")
	}
}

// describe returns one line about a false episode.
func describe(ep Episode, start time.Time, multi bool) string {
	s := clock(ep.Start, start, multi, true) + " " + strings.TrimSpace(ep.Detector+" "+ep.Scope+" "+ep.Target)
	if ep.Alerts > 1 {
		s += fmt.Sprintf(" (%d alerts", ep.Alerts)
		if ep.End.After(ep.Start) {
			s += " to " + clock(ep.End, start, multi, true)
		}
		s += ")"
	}
	if ep.Summary != "" {
		s += ": " + ep.Summary
	}
	if len(ep.During) > 0 {
		s += "; during " + strings.Join(ep.During, ", ")
	} else {
		s += "; unlabelled"
	}
	return s
}

func writeSummary(b *strings.Builder, r Report) {
	fmt.Fprintf(b, "### Summary of %d runs\n\n", len(r.Runs))
	t := table{header: []string{"run", "detected", "latency misses", "false episodes", "days", "false per day"}}
	row := func(name string, x RunTotals) {
		t.add(name, fmt.Sprintf("%d/%d", x.Detected, x.Attacks), fmt.Sprintf("%d/%d", x.LatencyMisses, x.LatencyTargets),
			strconv.Itoa(x.FalseEpisodes), fmtDays(x.Days), formatRate(x.FalsePerDay))
	}
	for _, run := range r.Runs {
		row(run.Name, run.Totals)
	}
	row("**all**", r.Summary.Totals)
	t.write(b)
	b.WriteString("\n")

	t = table{header: []string{"attack class", "detected", "detection rate", "median latency", "max latency"}}
	for _, c := range r.Summary.Classes {
		med, mx := "-", "-"
		if c.MedianLatency != nil {
			med, mx = formatLatency(time.Duration(*c.MedianLatency)), formatLatency(time.Duration(*c.MaxLatency))
		}
		t.add(c.Class, fmt.Sprintf("%d/%d", c.Detected, c.Attacks), fmt.Sprintf("%.0f%%", 100*c.DetectionRate), med, mx)
	}
	if len(t.rows) > 0 {
		t.write(b)
	}
}

// dayOf returns the number of calendar days from start's date to t's, in
// start's time zone.
func dayOf(t, start time.Time) int {
	t = t.In(start.Location())
	d0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	d1 := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return int(d1.Sub(d0).Hours() / 24)
}

// clock formats t as HH:MM (HH:MM:SS with seconds) in start's time zone,
// prefixed with its day offset ("d1 03:30") when the run spans several
// days.
func clock(t, start time.Time, multi, seconds bool) string {
	layout := "15:04"
	if seconds {
		layout = "15:04:05"
	}
	s := t.In(start.Location()).Format(layout)
	if multi {
		s = fmt.Sprintf("d%d %s", dayOf(t, start), s)
	}
	return s
}

func formatLatency(d time.Duration) string {
	if d >= time.Second || d == 0 {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

func formatRate(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func intensity(e Event) string {
	switch {
	case e.Factor > 0:
		return strconv.FormatFloat(e.Factor, 'f', -1, 64) + "x"
	case e.Rate == 0:
		return "-"
	case e.Rate >= 100:
		return strings.TrimSpace(fmt.Sprintf("%.0f %s", e.Rate, e.RateUnit))
	}
	return strings.TrimSpace(fmt.Sprintf("%.3g %s", e.Rate, e.RateUnit))
}

func target(e Event) string {
	switch {
	case e.TargetName != "":
		return e.TargetName
	case e.Target != "":
		return e.Target
	}
	return "all"
}

// table is a Markdown table whose columns are padded to equal width.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(b *strings.Builder) {
	width := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c), 3)
		}
	}
	line := func(row []string) {
		for i, c := range row {
			b.WriteString("| " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " ")
		}
		b.WriteString("|\n")
	}
	line(t.header)
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	line(sep)
	for _, row := range t.rows {
		line(row)
	}
}

// fmtDays formats a number of days with at most two decimals.
func fmtDays(d float64) string { return strconv.FormatFloat(math.Round(d*100)/100, 'f', -1, 64) }

// spanDays formats a number of days with its unit: "1 day", "2.5 days".
func spanDays(d float64) string {
	if s := fmtDays(d); s != "1" {
		return s + " days"
	}
	return "1 day"
}
