package evaluate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/monitor443/monitor443/detect"
)

// day is a one-day truth with a 3-minute SYN flood at 03:30 (target
// latency 2 s) and a nightly backup at 02:00.
func day() Truth {
	return Truth{Start: t0, End: t0.Add(24 * time.Hour), Events: []Event{
		{Kind: "nightly_backup", Class: ClassBenign, Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 20*time.Minute)},
		{Kind: "syn_flood", Label: "SYN flood 3x", Class: ClassAttack, Detectors: []string{"syn_flood"}, Start: t0.Add(3*time.Hour + 30*time.Minute),
			End: t0.Add(3*time.Hour + 33*time.Minute), Factor: 3, TargetLatency: Duration(2 * time.Second)},
	}}
}

// TestScoreWindow checks the edges of an attack's window with one alert.
func TestScoreWindow(t *testing.T) {
	t.Parallel()
	start := t0.Add(3*time.Hour + 30*time.Minute)
	end := start.Add(3 * time.Minute)
	tests := []struct {
		name        string
		alert       detect.Anomaly
		grace       time.Duration
		wantLatency *Duration // nil: not detected
		wantMet     bool
		wantFalse   int
	}{
		{name: "at start", alert: anomaly("syn_flood", "g", "global", "", start), wantLatency: new(Duration(0)), wantMet: true},
		{name: "5 s early counts, latency 0", alert: anomaly("syn_flood", "g", "global", "", start.Add(-5*time.Second)),
			wantLatency: new(Duration(0)), wantMet: true},
		{name: "6 s early is false", alert: anomaly("syn_flood", "g", "global", "", start.Add(-6*time.Second)), wantFalse: 1},
		{name: "2 s meets the target", alert: anomaly("syn_flood", "g", "global", "", start.Add(2*time.Second)),
			wantLatency: new(Duration(2 * time.Second)), wantMet: true},
		{name: "3 s misses the target", alert: anomaly("syn_flood", "g", "global", "", start.Add(3*time.Second)),
			wantLatency: new(Duration(3 * time.Second))},
		{name: "at end plus grace", alert: anomaly("syn_flood", "g", "global", "", end.Add(DefaultGrace)),
			wantLatency: new(Duration(4 * time.Minute))},
		{name: "after end plus grace is false", alert: anomaly("syn_flood", "g", "global", "", end.Add(DefaultGrace+time.Second)), wantFalse: 1},
		{name: "longer grace", alert: anomaly("syn_flood", "g", "global", "", end.Add(DefaultGrace+time.Second)), grace: 2 * time.Minute,
			wantLatency: new(Duration(4*time.Minute + time.Second))},
		{name: "no grace", alert: anomaly("syn_flood", "g", "global", "", end.Add(time.Second)), grace: -1, wantFalse: 1},
		{name: "other detector does not detect but is no false episode", alert: anomaly("request_burst", "g", "global", "", start.Add(time.Second))},
		{name: "hygiene does not count", alert: anomaly("weak_cipher", "g", "client", "10.2.0.1", start.Add(-time.Hour))},
		{
			name: "resolved does not count",
			alert: func() detect.Anomaly {
				a := anomaly("syn_flood", "g", "global", "", start.Add(time.Second))
				a.State = detect.StateResolved
				return a
			}(),
		},
		{
			name: "start when not detected",
			alert: func() detect.Anomaly {
				a := anomaly("syn_flood", "g", "global", "", start.Add(time.Second))
				a.Detected = nil // incident began at start - 1 s
				return a
			}(),
			wantLatency: new(Duration(0)), wantMet: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := Score("w", day(), readAnomalies(t, tt.alert), Options{Grace: tt.grace})
			a := run.Attacks[0]
			if diff := cmp.Diff(tt.wantLatency, a.Latency); diff != "" {
				t.Errorf("latency (-want +got):\n%s", diff)
			}
			if a.Detected != (tt.wantLatency != nil) {
				t.Errorf("detected = %v, want %v", a.Detected, tt.wantLatency != nil)
			}
			if a.LatencyMet == nil || *a.LatencyMet != tt.wantMet {
				t.Errorf("latency met = %v, want %v", a.LatencyMet, tt.wantMet)
			}
			if run.Totals.FalseEpisodes != tt.wantFalse {
				t.Errorf("false episodes = %d, want %d: %+v", run.Totals.FalseEpisodes, tt.wantFalse, run.FalseEpisodes)
			}
		})
	}
}

// TestScoreEpisodes scores a two-day run: an attack drawing several alerts
// and groups, a false episode during the backup, and unlabelled ones.
func TestScoreEpisodes(t *testing.T) {
	t.Parallel()
	truth := Truth{Start: t0, End: t0.Add(48 * time.Hour), Events: []Event{
		{Kind: "nightly_backup", Label: "backup", Class: ClassBenign, Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 20*time.Minute)},
		{Kind: "botnet_flood", Label: "botnet", Class: ClassAttack, Detectors: []string{"syn_flood", "request_burst"},
			Start: t0.Add(32 * time.Hour), End: t0.Add(32*time.Hour + 3*time.Minute), Factor: 5},
		{Kind: "flash_crowd", Label: "crowd", Class: ClassBenign, Start: t0.Add(38 * time.Hour), End: t0.Add(38*time.Hour + 15*time.Minute)},
	}}
	atk := t0.Add(32 * time.Hour)
	alerts := readAnomalies(t,
		// The attack: syn_flood at two scopes in one group, global
		// re-fired later in a new group, and request_burst from a client.
		anomaly("syn_flood", "s1", "global", "", atk.Add(2*time.Second)),
		anomaly("syn_flood", "s1", "server", "10.1.0.4:443", atk.Add(3*time.Second)),
		anomaly("request_burst", "r1", "client", "10.3.0.7", atk.Add(time.Second)),
		anomaly("syn_flood", "s2", "global", "", atk.Add(2*time.Minute)),
		// Its group continues after the window: still the attack's.
		anomaly("syn_flood", "s2", "server", "10.1.0.4:443", atk.Add(10*time.Minute)),
		// During the backup, one group at two scopes (one episode), and
		// one alert without a group 50 s after its end (within grace).
		anomaly("bandwidth_spike", "b1", "global", "", t0.Add(2*time.Hour+5*time.Minute)),
		anomaly("bandwidth_spike", "b1", "server", "10.1.0.6:443", t0.Add(2*time.Hour+6*time.Minute)),
		anomaly("bandwidth_spike", "", "server", "10.1.0.6:443", t0.Add(2*time.Hour+20*time.Minute+50*time.Second)),
		// Unlabelled: two alerts without a group are two episodes.
		anomaly("request_burst", "", "client", "10.3.0.9", t0.Add(12*time.Hour)),
		anomaly("request_burst", "", "client", "10.3.0.9", t0.Add(12*time.Hour+time.Minute)),
		// A hygiene finding is no episode.
		anomaly("non_tls", "n1", "server", "10.1.0.6:443", t0.Add(13*time.Hour)),
	)
	run := Score("two days", truth, alerts, Options{})

	wantAttack := AttackResult{Event: truth.Events[1], Detected: true, Latency: new(Duration(time.Second)), Alerts: 4, Groups: 3, Refired: 1,
		First: &AlertRef{Detector: "request_burst", Scope: "client", Target: "10.3.0.7", Time: atk.Add(time.Second), Summary: "request_burst at client"}}
	if diff := cmp.Diff([]AttackResult{wantAttack}, run.Attacks); diff != "" {
		t.Errorf("attacks (-want +got):\n%s", diff)
	}
	ep := func(group, det, scope, target string, from, to time.Time, n int, during ...string) Episode {
		return Episode{Group: group, Detector: det, Scope: scope, Target: target, Summary: det + " at " + scope, Start: from, End: to, Alerts: n,
			During: during}
	}
	b1 := ep("b1", "bandwidth_spike", "global", "", t0.Add(2*time.Hour+5*time.Minute), t0.Add(2*time.Hour+6*time.Minute), 2, "backup")
	b2 := ep("", "bandwidth_spike", "server", "10.1.0.6:443", t0.Add(2*time.Hour+20*time.Minute+50*time.Second),
		t0.Add(2*time.Hour+20*time.Minute+50*time.Second), 1, "backup")
	u1 := ep("", "request_burst", "client", "10.3.0.9", t0.Add(12*time.Hour), t0.Add(12*time.Hour), 1)
	u2 := ep("", "request_burst", "client", "10.3.0.9", t0.Add(12*time.Hour+time.Minute), t0.Add(12*time.Hour+time.Minute), 1)
	if diff := cmp.Diff([]Episode{b1, b2, u1, u2}, run.FalseEpisodes); diff != "" {
		t.Errorf("false episodes (-want +got):\n%s", diff)
	}
	wantBenign := []BenignResult{{Event: truth.Events[0], Episodes: []Episode{b1, b2}}, {Event: truth.Events[2], Episodes: []Episode{}}}
	if diff := cmp.Diff(wantBenign, run.Benign); diff != "" {
		t.Errorf("benign (-want +got):\n%s", diff)
	}
	wantTotals := RunTotals{Attacks: 1, Detected: 1, FalseEpisodes: 4, Unlabelled: 2, Days: 2, FalsePerDay: 2}
	if diff := cmp.Diff(wantTotals, run.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	wantDets := []string{"bandwidth_spike", "quic_flood", "request_burst", "syn_flood"}
	if diff := cmp.Diff(wantDets, run.Detectors); diff != "" {
		t.Errorf("detectors (-want +got):\n%s", diff)
	}
}

// TestScoreDetectors checks Options.Detectors: hygiene kinds can be made
// to count, and an attack's own detectors always count.
func TestScoreDetectors(t *testing.T) {
	t.Parallel()
	truth := day()
	truth.Events = append(truth.Events, Event{Kind: "bad_client", Class: ClassAttack, Detectors: []string{"blocklisted_fingerprint"},
		Start: t0.Add(5 * time.Hour), End: t0.Add(5*time.Hour + time.Minute)})
	alerts := readAnomalies(t,
		anomaly("weak_cipher", "w", "client", "10.2.0.1", t0.Add(9*time.Hour)),
		anomaly("blocklisted_fingerprint", "f", "client", "10.2.0.2", t0.Add(5*time.Hour+time.Second)),
		anomaly("blocklisted_fingerprint", "f2", "client", "10.2.0.3", t0.Add(11*time.Hour)),
	)
	tests := []struct {
		name      string
		opt       Options
		wantFalse int
	}{
		{name: "default", wantFalse: 1},
		{name: "with weak_cipher", opt: Options{Detectors: []string{"syn_flood", "weak_cipher"}}, wantFalse: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := Score("d", truth, alerts, tt.opt)
			if !run.Attacks[1].Detected {
				t.Errorf("bad_client not detected by its own detector")
			}
			if run.Totals.FalseEpisodes != tt.wantFalse {
				t.Errorf("false episodes = %d, want %d: %+v", run.Totals.FalseEpisodes, tt.wantFalse, run.FalseEpisodes)
			}
		})
	}
}
