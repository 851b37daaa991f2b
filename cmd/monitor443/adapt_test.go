package main

import (
	"testing"
	"time"

	"github.com/monitor443/monitor443/alerting"
	"github.com/monitor443/monitor443/detect"
)

// TestToAlert checks the anomaly-to-alert adapter: identity labels carry
// the group, values and contributor shares carry over, and a resolved
// anomaly ends at its end.
func TestToAlert(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	end := start.Add(time.Minute)
	a := detect.Anomaly{ID: "b", Group: "a", Kind: detect.KindSYNFlood, State: detect.StateResolved, Scope: detect.ScopeServer,
		Target: "203.0.113.10:443", Start: start, End: &end, Value: 200, Baseline: 10, Score: 5, Severity: "critical",
		Top: []detect.Contributor{{Key: "prefix:198.51.100.0/24", Value: 150}}}
	got := toAlert(a)
	ls := got.LabelSet()
	if ls["group"] != "a" || ls[alerting.LabelKind] != detect.KindSYNFlood || ls[alerting.LabelTarget] != a.Target {
		t.Errorf("labels = %v", ls)
	}
	if got.Severity != alerting.SeverityCritical || got.State != alerting.StateResolved || !got.EndsAt.Equal(end) {
		t.Errorf("severity %v state %v ends %v", got.Severity, got.State, got.EndsAt)
	}
	if len(got.Contributors) != 1 || got.Contributors[0].Share != 0.75 {
		t.Errorf("contributors = %+v, want one with share 0.75", got.Contributors)
	}
	a.Group = ""
	if got := toAlert(a); got.LabelSet()["group"] != "" {
		t.Error("group label without a group")
	}
}
