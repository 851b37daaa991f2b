package evaluate

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// attack returns an attack event of kind at offset off from t0, lasting
// 3 minutes.
func attack(kind, label string, off time.Duration, factor float64, target time.Duration) Event {
	return Event{Kind: kind, Label: label, Class: ClassAttack, Detectors: InferDetectors(kind), Start: t0.Add(off),
		End: t0.Add(off + 3*time.Minute), Factor: factor, TargetLatency: Duration(target)}
}

// result returns a scored attack; lat < 0 means not detected.
func result(e Event, lat time.Duration, groups, refired int) AttackResult {
	r := AttackResult{Event: e, Groups: groups, Refired: refired}
	if lat >= 0 {
		r.Detected, r.Latency, r.Alerts = true, new(Duration(lat)), 1
	}
	if e.TargetLatency > 0 {
		r.LatencyMet = new(r.Detected && Duration(lat) <= e.TargetLatency)
	}
	return r
}

// twoRuns returns a report of two one-day runs: seed 1 meets every target
// with one false episode; seed 2 misses a flood and a latency target, with
// two false episodes.
func twoRuns() Report {
	flood := attack("syn_flood", "SYN flood 3x", time.Hour, 3, 2*time.Second)
	burst := attack("request_burst", "client burst", 4*time.Hour, 0, 5*time.Second)
	bw := attack("bandwidth_spike", "bandwidth 2x, 10 min", 12*time.Hour, 2.04, 0)
	run := func(name string, falses int, res ...AttackResult) Run {
		r := Run{Name: name, Start: t0, End: t0.Add(24 * time.Hour), Attacks: res}
		for i := range falses {
			r.FalseEpisodes = append(r.FalseEpisodes, Episode{Detector: "bandwidth_spike", Scope: "global", Start: t0.Add(time.Duration(i) * time.Hour)})
		}
		r.Totals = RunTotals{Attacks: len(res), FalseEpisodes: falses, Unlabelled: falses, Days: 1, FalsePerDay: float64(falses)}
		for _, a := range res {
			if a.Detected {
				r.Totals.Detected++
			}
			if a.LatencyMet != nil {
				r.Totals.LatencyTargets++
				if !*a.LatencyMet {
					r.Totals.LatencyMisses++
				}
			}
		}
		return r
	}
	return NewReport(
		run("seed1", 1, result(flood, time.Second, 1, 0), result(burst, 3*time.Second, 2, 1), result(bw, 2*time.Minute, 1, 0)),
		run("seed2", 2, result(flood, -1, 0, 0), result(burst, 7*time.Second, 1, 0), result(bw, 4*time.Minute, 1, 0)),
	)
}

func TestMisses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		targets Targets
		want    []string
	}{
		{
			name: "defaults: 3 false episodes in 2 days is over 1 a day",
			want: []string{
				"seed2: SYN flood 3x (syn_flood at 01:00): not detected",
				"seed2: client burst (request_burst at 04:00): detected after 7s, target 5s",
				"3 false episodes in 2 days: 1.50 per day, target at most 1",
			},
		},
		{
			name:    "two a day allowed",
			targets: Targets{MaxFalsePerDay: 2},
			want: []string{
				"seed2: SYN flood 3x (syn_flood at 01:00): not detected",
				"seed2: client burst (request_burst at 04:00): detected after 7s, target 5s",
			},
		},
		{
			name:    "every run on its own",
			targets: Targets{MaxFalsePerDay: 1.5, RequireAll: true},
			want: []string{
				"seed2: SYN flood 3x (syn_flood at 01:00): not detected",
				"seed2: client burst (request_burst at 04:00): detected after 7s, target 5s",
				"seed2: 2 false episodes in 1 day: 2.00 per day, target at most 1.5",
			},
		},
		{
			name:    "none allowed, one group",
			targets: Targets{MaxFalsePerDay: -1, OneGroup: true},
			want: []string{
				"seed1: client burst (request_burst at 04:00): its alerts fell into 2 groups, want one",
				"seed1: client burst (request_burst at 04:00): 1 detector scopes and targets fired more than once",
				"seed2: SYN flood 3x (syn_flood at 01:00): not detected",
				"seed2: client burst (request_burst at 04:00): detected after 7s, target 5s",
				"3 false episodes in 2 days: 1.50 per day, target at most 0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, twoRuns().Misses(tt.targets)); diff != "" {
				t.Errorf("Misses (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("met", func(t *testing.T) {
		t.Parallel()
		r := twoRuns()
		r = NewReport(r.Runs[0])
		if got := r.Misses(Targets{}); got != nil {
			t.Errorf("Misses = %q, want none", got)
		}
	})
}

// TestMerge writes two reports as JSON, reads them back and merges them:
// the summary is recomputed over all runs.
func TestMerge(t *testing.T) {
	t.Parallel()
	both := twoRuns()
	var reports []Report
	for _, run := range both.Runs {
		var buf bytes.Buffer
		if err := NewReport(run).WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		r, err := ReadReport(&buf)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	got := Merge(reports...)
	if diff := cmp.Diff(both, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
	want := Summary{
		Totals: RunTotals{Attacks: 6, Detected: 5, LatencyTargets: 4, LatencyMisses: 2, FalseEpisodes: 3, Unlabelled: 3, Days: 2, FalsePerDay: 1.5},
		Classes: []ClassSummary{
			{Class: "syn_flood 3x", Kind: "syn_flood", Factor: 3, Attacks: 2, Detected: 1, DetectionRate: 0.5,
				MedianLatency: new(Duration(time.Second)), MaxLatency: new(Duration(time.Second))},
			{Class: "client burst", Kind: "request_burst", Attacks: 2, Detected: 2, DetectionRate: 1,
				MedianLatency: new(Duration(5 * time.Second)), MaxLatency: new(Duration(7 * time.Second))},
			{Class: "bandwidth_spike 2x", Kind: "bandwidth_spike", Factor: 2, Attacks: 2, Detected: 2, DetectionRate: 1,
				MedianLatency: new(Duration(3 * time.Minute)), MaxLatency: new(Duration(4 * time.Minute))},
		},
	}
	if diff := cmp.Diff(want, got.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestFormatFactor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{name: "integer", in: 3, want: "3x"},
		{name: "two digits", in: 20.4, want: "20x"},
		{name: "fraction", in: 1.46, want: "1.5x"},
		{name: "hundreds", in: 153, want: "150x"},
		{name: "small", in: 0.3, want: "0.3x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := formatFactor(tt.in); got != tt.want {
				t.Errorf("formatFactor(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
