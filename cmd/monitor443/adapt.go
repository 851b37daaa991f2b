package main

import (
	"github.com/monitor443/monitor443/alerting"
	"github.com/monitor443/monitor443/detect"
)

// toAlert adapts a detector anomaly into an alert for the sinks: detect
// and alerting do not import each other.
func toAlert(a detect.Anomaly) alerting.Alert {
	sev, err := alerting.ParseSeverity(a.Severity)
	if err != nil {
		sev = alerting.SeverityWarning
	}
	out := alerting.Alert{
		Kind: a.Kind, Scope: a.Scope, Target: a.Target, Severity: sev,
		Value: a.Value, Expected: a.Baseline, Lower: a.Lower, Upper: a.Upper, Score: a.Score, Unit: a.Unit,
		StartsAt: a.Start, State: alerting.StateFiring, Summary: a.Summary, Description: a.Detail,
	}
	if a.Group != "" {
		// One label for every alert of an event seen at several scopes, so
		// that receivers (Alertmanager's group_by) notify about it once.
		out.Labels = map[string]string{"group": a.Group}
	}
	if a.State == detect.StateResolved {
		out.State = alerting.StateResolved
		if a.End != nil {
			out.EndsAt = *a.End
		}
	}
	for _, c := range a.Top {
		ac := alerting.Contributor{Key: c.Key, Value: c.Value}
		if a.Value > 0 {
			ac.Share = min(1, c.Value/a.Value)
		}
		out.Contributors = append(out.Contributors, ac)
	}
	return out
}
