package evaluate

import (
	"fmt"
	"time"
)

// DefaultMaxFalsePerDay is the false episode rate a report may reach.
const DefaultMaxFalsePerDay = 1

// Targets are what a detection run must achieve; see [Report.Misses].
type Targets struct {
	// MaxFalsePerDay is the most false episodes per day allowed: 0 means
	// DefaultMaxFalsePerDay, a negative value none.
	MaxFalsePerDay float64
	// RequireAll holds every run to MaxFalsePerDay on its own; otherwise
	// the false episodes of all runs are divided by all their days.
	RequireAll bool
	// OneGroup also requires every detected attack's alerts to fall into
	// one group, with no detector, scope and target firing twice.
	OneGroup bool
}

func (t Targets) maxFalse() float64 {
	switch {
	case t.MaxFalsePerDay == 0:
		return DefaultMaxFalsePerDay
	case t.MaxFalsePerDay < 0:
		return 0
	}
	return t.MaxFalsePerDay
}

// Misses checks r against t and returns one human-readable line per miss:
// an attack not detected, a target latency not met, too many false
// episodes per day (and with OneGroup, an attack split over several groups
// or re-fired). It returns nil when every target is met.
func (r Report) Misses(t Targets) []string {
	var out []string
	limit := t.maxFalse()
	for _, run := range r.Runs {
		prefix := ""
		if run.Name != "" {
			prefix = run.Name + ": "
		}
		multi := dayOf(run.End.Add(-time.Nanosecond), run.Start) > 0
		for _, a := range run.Attacks {
			e := a.Event
			name := fmt.Sprintf("%s%s (%s at %s)", prefix, e.Name(), e.Kind, clock(e.Start, run.Start, multi, false))
			switch {
			case !a.Detected:
				out = append(out, name+": not detected")
			case a.LatencyMet != nil && !*a.LatencyMet:
				out = append(out, fmt.Sprintf("%s: detected after %s, target %s", name,
					formatLatency(time.Duration(*a.Latency)), formatLatency(time.Duration(e.TargetLatency))))
			}
			if t.OneGroup && a.Detected {
				if a.Groups > 1 {
					out = append(out, fmt.Sprintf("%s: its alerts fell into %d groups, want one", name, a.Groups))
				}
				if a.Refired > 0 {
					out = append(out, fmt.Sprintf("%s: %d detector scopes and targets fired more than once", name, a.Refired))
				}
			}
		}
		if t.RequireAll && run.Totals.FalsePerDay > limit {
			out = append(out, fmt.Sprintf("%s%d false episodes in %s: %s per day, target at most %g", prefix,
				run.Totals.FalseEpisodes, spanDays(run.Totals.Days), formatRate(run.Totals.FalsePerDay), limit))
		}
	}
	if s := r.Summary.Totals; !t.RequireAll && s.FalsePerDay > limit {
		out = append(out, fmt.Sprintf("%d false episodes in %s: %s per day, target at most %g",
			s.FalseEpisodes, spanDays(s.Days), formatRate(s.FalsePerDay), limit))
	}
	return out
}
