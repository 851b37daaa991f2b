package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/monitor443/monitor443/detect"
)

// TestPrintIncidentsGroups: the run summary lists an event's alerts at
// several scopes together, the group's first alert first and the others
// marked as the same event, even when another incident started in between.
func TestPrintIncidentsGroups(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 5, 0, 2, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	end := func(s int) *time.Time { e := at(s); return &e }
	b := newAlertBook()
	for _, a := range []detect.Anomaly{
		{ID: "g1", Group: "g1", Kind: detect.KindSYNFlood, Scope: detect.ScopeGlobal, Start: at(0), Unit: "syn/s"},
		{ID: "b1", Group: "b1", Kind: detect.KindBandwidthSpike, Scope: detect.ScopeGlobal, Start: at(1), Unit: "bytes/s"},
		{ID: "s1", Group: "g1", Kind: detect.KindSYNFlood, Scope: detect.ScopeServer, Target: "198.51.100.1:443", Start: at(2), Unit: "syn/s"},
	} {
		a.State = detect.StateFiring
		a.Severity = "warning"
		b.observe(a)
		a.State, a.End = detect.StateResolved, end(30)
		b.observe(a)
	}
	var out bytes.Buffer
	printIncidents(&out, b)
	var rows []string
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] != "incidents:" {
			rows = append(rows, strings.Join(f[:min(len(f), 4)], " "))
		}
	}
	want := []string{
		"syn_flood warning global 2026-01-05",
		"└ same event warning", // the SYN flood at its server, right under its group
		"bandwidth_spike warning global 2026-01-05",
	}
	if len(rows) != len(want) {
		t.Fatalf("rows:\n%s", out.String())
	}
	for i := range want {
		if !strings.HasPrefix(rows[i], want[i]) {
			t.Errorf("row %d = %q, want prefix %q\n%s", i, rows[i], want[i], out.String())
		}
	}
}
