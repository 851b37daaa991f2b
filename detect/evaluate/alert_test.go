package evaluate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/monitor443/monitor443/detect"
)

// anomaly returns a firing detect.Anomaly that the detector confirmed at
// at, for an incident that began 2 s earlier.
func anomaly(kind, group, scope, target string, at time.Time) detect.Anomaly {
	return detect.Anomaly{ID: group + "-" + scope, Group: group, Kind: kind, State: detect.StateFiring, Scope: scope, Target: target,
		Start: at.Add(-2 * time.Second), Detected: &at, Value: 60, Baseline: 3, Score: 9, Severity: "critical",
		Top: []detect.Contributor{{Key: "10.9.9.9", Value: 12}}, Spoofed: kind == detect.KindSYNFlood, Summary: kind + " at " + scope}
}

// jsonLines marshals anomalies as -output.alerts writes them.
func jsonLines(t *testing.T, as ...detect.Anomaly) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, a := range as {
		if err := enc.Encode(a); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// readAnomalies round-trips anomalies through the alerts file format.
func readAnomalies(t *testing.T, as ...detect.Anomaly) []Alert {
	t.Helper()
	got, err := ReadAlerts(bytes.NewReader(jsonLines(t, as...)))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReadAlerts(t *testing.T) {
	t.Parallel()
	at := t0.Add(time.Hour)
	end := at.Add(time.Minute)
	firing := anomaly(detect.KindSYNFlood, "g1", "global", "", at)
	resolved := firing
	resolved.State, resolved.End = detect.StateResolved, &end
	hygiene := detect.Anomaly{ID: "h", Group: "h", Kind: detect.KindWeakCipher, State: detect.StateFiring, Scope: "client",
		Target: "10.2.0.1", Start: at, Summary: "weak cipher"}
	in := append(jsonLines(t, firing, resolved), "\n  \n"...)
	in = append(in, jsonLines(t, hygiene)...)
	in = bytes.TrimSuffix(in, []byte("\n")) // the last line may lack its newline

	got, err := ReadAlerts(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Alert{
		{ID: "g1-global", Group: "g1", Kind: "syn_flood", State: "firing", Scope: "global", Start: at.Add(-2 * time.Second), Detected: &at,
			Summary: "syn_flood at global", Line: 1},
		{ID: "g1-global", Group: "g1", Kind: "syn_flood", State: "resolved", Scope: "global", Start: at.Add(-2 * time.Second), End: &end,
			Detected: &at, Summary: "syn_flood at global", Line: 2},
		{ID: "h", Group: "h", Kind: "weak_cipher", State: "firing", Scope: "client", Target: "10.2.0.1", Start: at, Summary: "weak cipher", Line: 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadAlerts (-want +got):\n%s", diff)
	}
	if !got[0].Time().Equal(at) || !got[2].Time().Equal(at) {
		t.Errorf("Time() = %v, %v; want detected, else start: %v", got[0].Time(), got[2].Time(), at)
	}
}

func TestReadAlertsErrors(t *testing.T) {
	t.Parallel()
	good := `{"id":"a","group":"a","kind":"syn_flood","state":"firing","scope":"global","target":"","start":"2026-01-06T01:00:00Z"}`
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "truncated third line", in: good + "\n" + good + "\n" + `{"id":"b","kind":` + "\n", want: "line 3: unexpected end of JSON input"},
		{name: "garbage after blank lines", in: good + "\n\n\nnot json\n", want: "line 4: invalid character"},
		{name: "not an alert", in: `{"flows": 3}` + "\n", want: "line 1: not an alert: kind, state and start are required"},
		{name: "bad time", in: strings.Replace(good, "2026-01-06T01:00:00Z", "yesterday", 1), want: "line 1: parsing time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadAlerts(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadAlerts error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
