package alerting

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// nopSink accepts everything; the tests below read the queue directly.
type nopSink struct{}

func (nopSink) Send(context.Context, *Notification) (bool, error) { return false, nil }

func noiseManager(t *testing.T, clock *fakeClock, rl *RateLimit, filter Filter) (*Manager, *prometheus.Registry) {
	t.Helper()
	cfg := Config{
		Spool:           SpoolConfig{MaxEntries: 100, MaxBytes: 1 << 20},
		RepeatInterval:  time.Hour,
		ResolveAfter:    5 * time.Minute,
		MaxActiveAlerts: 4,
		Retry:           RetryConfig{InitialBackoff: time.Second, MaxBackoff: time.Second},
		Sinks:           []SinkConfig{{Name: "s", Type: SinkWebhook, RepeatInterval: time.Hour, RateLimit: rl, Filter: filter}},
	}
	reg := prometheus.NewPedanticRegistry()
	m, err := NewManager(cfg, Deps{Now: clock.Now, Sinks: map[string]Sink{"s": nopSink{}}}, discard, reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// queued takes every queued notification of the first sink, in order, as
// "trigger kind/target severity" strings.
func queued(t *testing.T, m *Manager) ([]string, []Notification) {
	t.Helper()
	sp := m.routes[0].spool
	var (
		out []string
		ns  []Notification
	)
	for sp.Len() > 0 {
		e, err := sp.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var n Notification
		if err := json.Unmarshal(e.Data, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(n.Trigger)+" "+n.Alert.Kind+"/"+n.Alert.Target+" "+n.Alert.Severity.String())
		ns = append(ns, n)
		if err := sp.Remove(e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	return out, ns
}

func observe(t *testing.T, m *Manager, alerts ...Alert) {
	t.Helper()
	for _, a := range alerts {
		if err := m.Observe(a); err != nil {
			t.Fatalf("Observe(%s %s): %v", a.Kind, a.Target, err)
		}
	}
}

func TestGroupingRepeatEscalateResolve(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m, reg := noiseManager(t, clock, nil, Filter{})
	fire := testAlert("syn_flood", "t1", SeverityWarning, StateFiring)

	// Reports of one incident every 10s give one notification.
	for range 5 {
		observe(t, m, fire)
		m.tick(clock.Advance(10 * time.Second))
	}
	got, ns := queued(t, m)
	if diff := cmp.Diff([]string{"firing syn_flood/t1 warning"}, got); diff != "" {
		t.Errorf("after repeated reports (-want +got):\n%s", diff)
	}
	firstID := ns[0].ID

	// Severity rises: escalation at once; severity falls: nothing.
	crit := fire
	crit.Severity = SeverityCritical
	observe(t, m, crit, fire)
	// After repeat_interval of continued reports: one repeat.
	for range 7 {
		clock.Advance(10 * time.Minute)
		observe(t, m, fire)
		m.tick(clock.Now())
	}
	got, ns = queued(t, m)
	want := []string{"escalated syn_flood/t1 critical", "repeat syn_flood/t1 warning"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("escalation and repeat (-want +got):\n%s", diff)
	}
	if ns[0].ID == firstID || ns[1].ID == ns[0].ID {
		t.Errorf("notifications share an id: %s %s %s", firstID, ns[0].ID, ns[1].ID)
	}

	// The producer goes quiet: resolved after resolve_after, ending at the
	// last report.
	lastSeen := clock.Now()
	m.tick(clock.Advance(4 * time.Minute))
	if got, _ := queued(t, m); len(got) != 0 {
		t.Errorf("resolved too early: %v", got)
	}
	m.tick(clock.Advance(time.Minute))
	got, ns = queued(t, m)
	if diff := cmp.Diff([]string{"resolved syn_flood/t1 warning"}, got); diff != "" {
		t.Errorf("resolve_after (-want +got):\n%s", diff)
	}
	if len(ns) == 1 && !ns[0].Alert.EndsAt.Equal(lastSeen) {
		t.Errorf("EndsAt = %v, want last report %v", ns[0].Alert.EndsAt, lastSeen)
	}
	if !ns[0].Alert.StartsAt.Equal(fire.StartsAt) {
		t.Errorf("StartsAt = %v, want first report's %v", ns[0].Alert.StartsAt, fire.StartsAt)
	}
	if got := metricValue(t, reg, MetricAlertsActive, nil); got != 0 {
		t.Errorf("active alerts = %v, want 0", got)
	}
}

func TestExplicitResolveAndMaxActive(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m, reg := noiseManager(t, clock, nil, Filter{})
	for _, target := range []string{"a", "b", "c", "d", "e"} {
		observe(t, m, testAlert("request_burst", target, SeverityInfo, StateFiring))
	}
	// A resolve for an unknown incident is ignored; "e" was over the limit.
	observe(t, m, testAlert("request_burst", "e", SeverityInfo, StateResolved))
	observe(t, m, testAlert("request_burst", "a", SeverityInfo, StateResolved))
	got, _ := queued(t, m)
	want := []string{
		"firing request_burst/a info", "firing request_burst/b info", "firing request_burst/c info",
		"firing request_burst/d info", "resolved request_burst/a info",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := metricValue(t, reg, MetricAlertsDropped, map[string]string{"reason": DropMaxActive}); got != 1 {
		t.Errorf("dropped{max_active_alerts} = %v, want 1", got)
	}
	if err := m.Observe(Alert{Kind: "x", Scope: "global", State: StateFiring}); err == nil {
		t.Error("Observe accepted an alert without severity")
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m, _ := noiseManager(t, clock, nil, Filter{Kinds: []string{"syn_flood", "deprecated_tls"}, Scopes: []string{"server"}, MinSeverity: SeverityWarning})
	other := testAlert("syn_flood", "g", SeverityCritical, StateFiring)
	other.Scope = "global"
	observe(t, m,
		testAlert("syn_flood", "a", SeverityInfo, StateFiring),           // too low
		testAlert("bandwidth_spike", "b", SeverityCritical, StateFiring), // wrong kind
		other, // wrong scope
		testAlert("deprecated_tls", "c", SeverityWarning, StateFiring),     // selected
		testAlert("deprecated_tls", "c", SeverityWarning, StateResolved),   // selected
		testAlert("bandwidth_spike", "b", SeverityCritical, StateResolved), // never notified
	)
	got, _ := queued(t, m)
	want := []string{"firing deprecated_tls/c warning", "resolved deprecated_tls/c warning"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRateLimitSummary(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m, reg := noiseManager(t, clock, &RateLimit{Burst: 2, Every: time.Minute}, Filter{})
	observe(t, m,
		testAlert("syn_flood", "a", SeverityCritical, StateFiring),
		testAlert("syn_flood", "b", SeverityCritical, StateFiring),
		testAlert("syn_flood", "c", SeverityWarning, StateFiring),
	)
	got, _ := queued(t, m)
	if diff := cmp.Diff([]string{"firing syn_flood/a critical", "firing syn_flood/b critical"}, got); diff != "" {
		t.Errorf("within burst (-want +got):\n%s", diff)
	}
	if got := metricValue(t, reg, MetricNotificationsLimited, map[string]string{"sink": "s"}); got != 1 {
		t.Errorf("rate limited = %v, want 1", got)
	}
	// Half a token after 30s: no summary yet.
	m.tick(clock.Advance(30 * time.Second))
	if got, _ := queued(t, m); len(got) != 0 {
		t.Errorf("summary before a token refilled: %v", got)
	}
	// A full token after 60s: one summary of what was held back. The
	// resolved notice of "c" is not sent since its firing never was.
	observe(t, m, testAlert("syn_flood", "c", SeverityWarning, StateResolved))
	m.tick(clock.Advance(30 * time.Second))
	got, ns := queued(t, m)
	if diff := cmp.Diff([]string{"suppressed_summary notifications_suppressed/s warning"}, got); diff != "" {
		t.Fatalf("summary (-want +got):\n%s", diff)
	}
	wantSup := []SuppressedGroup{{Kind: "syn_flood", Scope: "server", Target: "c", Severity: SeverityWarning, Count: 1}}
	if diff := cmp.Diff(wantSup, ns[0].Suppressed); diff != "" || ns[0].SuppressedTotal != 1 {
		t.Errorf("suppressed (-want +got):\n%s total %d", diff, ns[0].SuppressedTotal)
	}
	// Resolved notices bypass the (now empty) bucket.
	observe(t, m, testAlert("syn_flood", "a", SeverityCritical, StateResolved))
	got, _ = queued(t, m)
	if diff := cmp.Diff([]string{"resolved syn_flood/a critical"}, got); diff != "" {
		t.Errorf("resolved with empty bucket (-want +got):\n%s", diff)
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	b := newTokenBucket(RateLimit{Burst: 3, Every: 10 * time.Second}, t0)
	// Hand-computed: 3 tokens, then one per 10s, never above 3.
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false},
		{5 * time.Second, false}, {10 * time.Second, true}, {10 * time.Second, false},
		{100 * time.Second, true}, {100 * time.Second, true}, {100 * time.Second, true}, {100 * time.Second, false},
	}
	for i, s := range steps {
		if got := b.allow(t0.Add(s.at)); got != s.want {
			t.Errorf("step %d at %v: allow = %v, want %v", i, s.at, got, s.want)
		}
	}
}

func TestSpoolFullPolicyCounted(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	cfg := Config{
		Spool:           SpoolConfig{Dir: t.TempDir(), MaxEntries: 2, MaxBytes: 1 << 20},
		RepeatInterval:  time.Hour,
		ResolveAfter:    time.Hour,
		MaxActiveAlerts: 10,
		Retry:           RetryConfig{InitialBackoff: time.Second, MaxBackoff: time.Second},
		Sinks:           []SinkConfig{{Name: "s", Type: SinkWebhook, RepeatInterval: time.Hour}},
	}
	for _, tt := range []struct {
		policy      string
		wantQueued  []string
		wantReason  string
		wantDropped float64
	}{
		{"drop_oldest", []string{"firing syn_flood/b warning", "resolved syn_flood/a warning"}, DropSpoolEvict, 1},
		{"reject_new", []string{"firing syn_flood/a warning", "firing syn_flood/b warning"}, DropSpoolFull, 1},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			c := cfg
			c.Spool.Dir = t.TempDir()
			raw := RawConfig{Spool: &RawSpoolConfig{FullPolicy: &tt.policy}}
			parsed, err := ParseConfig(raw)
			if err != nil {
				t.Fatal(err)
			}
			c.Spool.Policy = parsed.Spool.Policy
			reg := prometheus.NewRegistry()
			m, err := NewManager(c, Deps{Now: clock.Now, Sinks: map[string]Sink{"s": nopSink{}}}, discard, reg)
			if err != nil {
				t.Fatal(err)
			}
			observe(t, m,
				testAlert("syn_flood", "a", SeverityWarning, StateFiring),
				testAlert("syn_flood", "b", SeverityWarning, StateFiring),
				testAlert("syn_flood", "a", SeverityWarning, StateResolved),
			)
			if got := metricValue(t, reg, MetricNotificationsDropped, map[string]string{"sink": "s", "reason": tt.wantReason}); got != tt.wantDropped {
				t.Errorf("dropped{%s} = %v, want %v", tt.wantReason, got, tt.wantDropped)
			}
			if got := metricValue(t, reg, MetricSpoolEntries, map[string]string{"sink": "s"}); got != 2 {
				t.Errorf("spool entries = %v, want 2", got)
			}
			got, _ := queued(t, m)
			if diff := cmp.Diff(tt.wantQueued, got); diff != "" {
				t.Errorf("queued (-want +got):\n%s", diff)
			}
		})
	}
}
