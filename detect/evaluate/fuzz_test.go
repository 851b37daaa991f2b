package evaluate

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadTruth: any input either decodes to a truth file that passes its
// own check and can be scored, or returns an error; it never panics.
func FuzzReadTruth(f *testing.F) {
	const span = `"start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z"`
	f.Add(`{` + span + `, "events": [{"kind": "syn_flood", "start": "2026-01-06T01:00:00Z", "end": "2026-01-06T01:01:00Z", "target_latency": "5s", "factor": 10}]}`)
	f.Add(`{` + span + `, "events": [{"kind": "nightly_backup", "class": "benign", "start": "2026-01-06T02:00:00Z", "end": "2026-01-06T02:20:00Z"}]}`)
	f.Add(`{` + span + `, "events": [{"kind": "port_scan", "class": "attack", "detectors": ["syn_flood"], "start": "2026-01-06T01:00:00Z", "end": "2026-01-06T01:01:00Z"}]}`)
	f.Add(`{"start": `)
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ReadTruth(strings.NewReader(in))
		if err != nil {
			return
		}
		if err := tr.Check(); err != nil {
			t.Fatalf("ReadTruth accepted a truth file its check rejects: %v", err)
		}
		Score("fuzz", tr, nil, Options{})
	})
}

// FuzzReadAlerts: any input either decodes to alerts that can be scored
// against a truth file, or returns an error; it never panics.
func FuzzReadAlerts(f *testing.F) {
	f.Add(`{"id":"a","group":"a","kind":"syn_flood","state":"firing","scope":"global","target":"","start":"2026-01-06T01:00:00Z","detected_at":"2026-01-06T01:00:02Z"}` + "\n" +
		`{"id":"a","group":"a","kind":"syn_flood","state":"resolved","scope":"global","target":"","start":"2026-01-06T01:00:00Z","end":"2026-01-06T01:03:00Z"}`)
	f.Add("\n  \n")
	f.Add(`{"id":"a"`)
	truth := `{"start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z", "events": [{"kind": "syn_flood", "start": "2026-01-06T01:00:00Z", "end": "2026-01-06T01:01:00Z"}]}`
	tr, err := ReadTruth(strings.NewReader(truth))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		as, err := ReadAlerts(bytes.NewReader([]byte(in)))
		if err != nil {
			return
		}
		Score("fuzz", tr, as, Options{})
	})
}
