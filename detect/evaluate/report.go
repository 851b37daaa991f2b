package evaluate

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Report holds the scores of one or more runs and their summary.
type Report struct {
	Runs    []Run   `json:"runs"`
	Summary Summary `json:"summary"`
}

// Summary sums up the runs of a [Report].
type Summary struct {
	// Totals adds up every run's totals; its FalsePerDay divides all
	// false episodes by all days.
	Totals RunTotals `json:"totals"`
	// Classes scores attacks by class across runs, in order of first
	// appearance.
	Classes []ClassSummary `json:"classes"`
}

// ClassSummary scores the attacks of one class (kind and factor) across
// runs.
type ClassSummary struct {
	// Class is the kind and the factor rounded to two digits ("syn_flood
	// 3x"); the label when there is no factor; else the kind.
	Class    string  `json:"class"`
	Kind     string  `json:"kind"`
	Factor   float64 `json:"factor,omitempty"`
	Attacks  int     `json:"attacks"`
	Detected int     `json:"detected"`
	// DetectionRate is Detected / Attacks.
	DetectionRate float64 `json:"detection_rate"`
	// MedianLatency and MaxLatency are over the detected attacks; nil
	// when none was.
	MedianLatency *Duration `json:"median_latency,omitempty"`
	MaxLatency    *Duration `json:"max_latency,omitempty"`
}

// NewReport returns a Report of runs with its summary.
func NewReport(runs ...Run) Report {
	r := Report{Runs: slices.Clone(runs)}
	if r.Runs == nil {
		r.Runs = []Run{}
	}
	r.Summary = summarize(r.Runs)
	return r
}

// Merge combines reports into one, recomputing the summary over all their
// runs.
func Merge(reports ...Report) Report {
	var runs []Run
	for _, r := range reports {
		runs = append(runs, r.Runs...)
	}
	return NewReport(runs...)
}

// ReadReport decodes a Report written by [Report.WriteJSON].
func ReadReport(r io.Reader) (Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return Report{}, fmt.Errorf("decode report: %w", err)
	}
	return rep, nil
}

// WriteJSON writes r to w as indented JSON followed by a newline.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ClassOf returns the summary class of an attack event (see
// [ClassSummary.Class]).
func ClassOf(e Event) string {
	switch {
	case e.Factor > 0:
		return e.Kind + " " + formatFactor(e.Factor)
	case e.Label != "":
		return e.Label
	}
	return e.Kind
}

// roundFactor rounds f > 0 to two significant digits.
func roundFactor(f float64) float64 {
	if f <= 0 {
		return 0
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 2, 64), 64)
	return r
}

// formatFactor formats f rounded to two significant digits: "3x", "20x",
// "1.5x", "150x".
func formatFactor(f float64) string {
	return strconv.FormatFloat(roundFactor(f), 'f', -1, 64) + "x"
}

func summarize(runs []Run) Summary {
	s := Summary{Classes: []ClassSummary{}}
	lats := map[string][]time.Duration{}
	idx := map[string]int{}
	for _, r := range runs {
		s.Totals.add(r.Totals)
		for _, a := range r.Attacks {
			c := ClassOf(a.Event)
			i, ok := idx[c]
			if !ok {
				i = len(s.Classes)
				idx[c] = i
				s.Classes = append(s.Classes, ClassSummary{Class: c, Kind: a.Event.Kind, Factor: roundFactor(a.Event.Factor)})
			}
			s.Classes[i].Attacks++
			if a.Detected && a.Latency != nil {
				s.Classes[i].Detected++
				lats[c] = append(lats[c], time.Duration(*a.Latency))
			}
		}
	}
	for i := range s.Classes {
		c := &s.Classes[i]
		c.DetectionRate = float64(c.Detected) / float64(c.Attacks)
		if l := lats[c.Class]; len(l) > 0 {
			slices.Sort(l)
			med := l[len(l)/2]
			if len(l)%2 == 0 {
				med = (l[len(l)/2-1] + l[len(l)/2]) / 2
			}
			mx := l[len(l)-1]
			c.MedianLatency, c.MaxLatency = new(Duration(med)), new(Duration(mx))
		}
	}
	return s
}
