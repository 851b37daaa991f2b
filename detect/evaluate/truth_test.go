package evaluate

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/monitor443/monitor443/capture/synth"
)

var t0 = time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)

// TestReadTruthSynth decodes a truth file written by capture/synth and
// infers each event's class and detectors from its kind.
func TestReadTruthSynth(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort("10.1.0.2:443")
	st := synth.Truth{Seed: 11, Start: t0, End: t0.Add(24 * time.Hour), Packets: 1000, Events: []synth.TruthEvent{
		{Kind: synth.SYNFlood, Start: t0.Add(time.Hour), End: t0.Add(time.Hour + 2*time.Minute), Target: ap, TargetName: "shop.example.com",
			Rate: 61, RateUnit: "syn/s", Spoofed: true, Sources: 100000},
		{Kind: synth.BotnetFlood, Start: t0.Add(8 * time.Hour), End: t0.Add(8*time.Hour + 3*time.Minute), Target: ap, Rate: 15, RateUnit: "conn/s"},
		{Kind: synth.RequestBurst, Start: t0.Add(18 * time.Hour), End: t0.Add(18*time.Hour + 3*time.Minute), Rate: 10, RateUnit: "hello/s"},
		{Kind: synth.NightlyBackup, Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 20*time.Minute), Target: ap, Rate: 4e5, RateUnit: "bytes/s"},
	}}
	var buf bytes.Buffer
	if err := st.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := Truth{Start: t0, End: t0.Add(24 * time.Hour), Events: []Event{
		{Kind: "syn_flood", Class: ClassAttack, Detectors: []string{"syn_flood"}, Start: t0.Add(time.Hour), End: t0.Add(time.Hour + 2*time.Minute),
			Target: "10.1.0.2:443", TargetName: "shop.example.com", Rate: 61, RateUnit: "syn/s"},
		{Kind: "botnet_flood", Class: ClassAttack, Detectors: []string{"syn_flood", "request_burst"}, Start: t0.Add(8 * time.Hour),
			End: t0.Add(8*time.Hour + 3*time.Minute), Target: "10.1.0.2:443", Rate: 15, RateUnit: "conn/s"},
		{Kind: "request_burst", Class: ClassAttack, Detectors: []string{"request_burst"}, Start: t0.Add(18 * time.Hour),
			End: t0.Add(18*time.Hour + 3*time.Minute), Rate: 10, RateUnit: "hello/s"},
		{Kind: "nightly_backup", Class: ClassBenign, Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 20*time.Minute),
			Target: "10.1.0.2:443", Rate: 4e5, RateUnit: "bytes/s"},
	}}
	// Server is written by synth versions that know it; it is checked by
	// TestReadTruthNewFields.
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Event{}, "Server")); diff != "" {
		t.Errorf("ReadTruth (-want +got):\n%s", diff)
	}
}

func TestEventInference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		json      string
		wantClass Class
		wantDets  []string
	}{
		{name: "syn flood", json: `{"kind":"syn_flood"}`, wantClass: ClassAttack, wantDets: []string{"syn_flood"}},
		{name: "botnet", json: `{"kind":"botnet_flood"}`, wantClass: ClassAttack, wantDets: []string{"syn_flood", "request_burst"}},
		{name: "distributed burst", json: `{"kind":"distributed_burst"}`, wantClass: ClassAttack, wantDets: []string{"request_burst"}},
		{name: "egress spike", json: `{"kind":"egress_spike"}`, wantClass: ClassAttack, wantDets: []string{"bandwidth_spike"}},
		{name: "bandwidth spike", json: `{"kind":"bandwidth_spike"}`, wantClass: ClassAttack, wantDets: []string{"bandwidth_spike"}},
		{name: "quic flood", json: `{"kind":"quic_flood"}`, wantClass: ClassAttack, wantDets: []string{"quic_flood"}},
		{name: "flash crowd is benign", json: `{"kind":"flash_crowd"}`, wantClass: ClassBenign},
		{name: "unknown kind is benign", json: `{"kind":"maintenance"}`, wantClass: ClassBenign},
		{name: "explicit class wins", json: `{"kind":"flash_crowd","class":"attack","detectors":["request_burst"]}`,
			wantClass: ClassAttack, wantDets: []string{"request_burst"}},
		{name: "explicit detectors win", json: `{"kind":"syn_flood","detectors":["syn_flood","bandwidth_spike"]}`,
			wantClass: ClassAttack, wantDets: []string{"syn_flood", "bandwidth_spike"}},
		{name: "benign syn flood kind", json: `{"kind":"syn_flood","class":"benign"}`, wantClass: ClassBenign},
		{name: "empty class and detectors are inferred", json: `{"kind":"botnet_flood","class":"","detectors":[]}`,
			wantClass: ClassAttack, wantDets: []string{"syn_flood", "request_burst"}},
		{name: "null detectors are inferred", json: `{"kind":"egress_spike","detectors":null,"target_latency":""}`,
			wantClass: ClassAttack, wantDets: []string{"bandwidth_spike"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e Event
			if err := e.UnmarshalJSON([]byte(tt.json)); err != nil {
				t.Fatal(err)
			}
			if e.Class != tt.wantClass {
				t.Errorf("class = %q, want %q", e.Class, tt.wantClass)
			}
			if diff := cmp.Diff(tt.wantDets, e.Detectors); diff != "" {
				t.Errorf("detectors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadTruthNewFields decodes a hand-written truth with every field the
// package reads and some it does not.
func TestReadTruthNewFields(t *testing.T) {
	t.Parallel()
	in := `{"seed": 3, "start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z", "comment": "mine",
	  "events": [{"kind": "syn_flood", "label": "SYN flood 3x", "class": "attack", "detectors": ["syn_flood"],
	    "start": "2026-01-06T03:30:00Z", "end": "2026-01-06T03:33:00Z", "target": "10.1.0.2:443", "target_name": "a.example",
	    "rate": 9.2, "rate_unit": "syn/s", "factor": 3, "target_latency": "1m0s", "server": 2, "spoofed": true, "packets": 7}]}`
	got, err := ReadTruth(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{Kind: "syn_flood", Label: "SYN flood 3x", Class: ClassAttack, Detectors: []string{"syn_flood"},
		Start: t0.Add(3*time.Hour + 30*time.Minute), End: t0.Add(3*time.Hour + 33*time.Minute), Target: "10.1.0.2:443",
		TargetName: "a.example", Rate: 9.2, RateUnit: "syn/s", Factor: 3, TargetLatency: Duration(time.Minute), Server: new(2)}
	if diff := cmp.Diff([]Event{want}, got.Events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestReadTruthErrors(t *testing.T) {
	t.Parallel()
	const span = `"start": "2026-01-06T00:00:00Z", "end": "2026-01-07T00:00:00Z"`
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error, every one
	}{
		{name: "not json", in: `{"start": `, want: []string{"decode truth"}},
		{name: "no span", in: `{"events": []}`, want: []string{"start and end: required"}},
		{name: "end before start", in: `{"start": "2026-01-07T00:00:00Z", "end": "2026-01-06T00:00:00Z"}`, want: []string{"end: 2026-01-06T00:00:00Z is not after start"}},
		{name: "bad target latency", in: `{` + span + `, "events": [{"kind": "syn_flood", "start": "2026-01-06T01:00:00Z",
			"end": "2026-01-06T01:01:00Z", "target_latency": 5}]}`, want: []string{"decode truth"}},
		{name: "every problem", in: `{` + span + `, "events": [
			{"kind": "port_scan", "class": "attack", "start": "2026-01-06T01:00:00Z", "end": "2026-01-06T01:01:00Z"},
			{"start": "2026-01-06T01:00:00Z", "end": "2026-01-06T00:01:00Z"},
			{"kind": "syn_flood", "class": "evil", "start": "2026-01-06T01:00:00Z"}]}`,
			want: []string{`events[0].detectors: an attack of kind "port_scan" needs`, "events[1].kind: required", "events[1].end: before start",
				`events[2].class: want attack or benign, got "evil"`, "events[2]: start and end are required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadTruth(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
