package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Truth is the ground truth of one generated capture: what was injected,
// when, and against whom. It encodes to JSON for detection evaluation.
type Truth struct {
	Seed  uint64    `json:"seed"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Packets and Bytes count every generated frame and its wire length.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// Connections counts connections started (flood SYNs excluded).
	Connections uint64 `json:"connections"`
	// DroppedConns counts arrivals dropped because MaxConns were in flight.
	DroppedConns uint64 `json:"dropped_conns"`
	// Events lists the injected events in the order of Config.Events; a
	// NightlyBackup or BackupPull appears once per day, in consecutive
	// entries. Events that would start after the end are left out.
	Events []TruthEvent `json:"events"`
}

// TruthEvent is one injected event as it was generated.
type TruthEvent struct {
	Kind  EventKind `json:"kind"`
	Start time.Time `json:"start"`
	// End is when the event stopped, clipped to the capture's end.
	End time.Time `json:"end"`
	// Target is the attacked server's address and port; it is invalid
	// (and encodes as "") when the event targets every server.
	Target netip.AddrPort `json:"target"`
	// TargetName is the target's first server name.
	TargetName string  `json:"target_name,omitempty"`
	Rate       float64 `json:"rate"`
	RateUnit   string  `json:"rate_unit"`
	// Spoofed says the sources are random spoofed addresses.
	Spoofed bool `json:"spoofed"`
	// Sources is the number of source hosts or flows.
	Sources int `json:"sources"`
	// Packets and Bytes count the frames the event produced, both
	// directions.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// Label is the event's free-text label from the Config.
	Label string `json:"label,omitempty"`
	// Class is "attack" (a detector should alert) or "benign" (none
	// should).
	Class string `json:"class"`
	// Detectors lists the detector IDs whose alert counts as detecting the
	// event; empty for benign events.
	Detectors DetectorIDs `json:"detectors"`
	// Factor is the event's configured multiple of the target's normal
	// rate, when Rate was derived from it.
	Factor float64 `json:"factor,omitempty"`
	// TargetLatency is the detection latency the scenario asks for, as a
	// Go duration ("1m0s").
	TargetLatency string `json:"target_latency,omitempty"`
	// Server is the target's server index, -1 for every server.
	Server int `json:"server"`
}

// DetectorIDs is a list of detector IDs. It is held comma-separated so that
// a TruthEvent stays comparable with ==, and encodes as a JSON array.
type DetectorIDs string

// List returns the IDs; nil when there are none.
func (d DetectorIDs) List() []string {
	if d == "" {
		return nil
	}
	return strings.Split(string(d), ",")
}

// Has reports whether id is in the list.
func (d DetectorIDs) Has(id string) bool { return slices.Contains(d.List(), id) }

// MarshalJSON implements json.Marshaler: an array of strings.
func (d DetectorIDs) MarshalJSON() ([]byte, error) {
	l := d.List()
	if l == nil {
		l = []string{}
	}
	return json.Marshal(l)
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *DetectorIDs) UnmarshalJSON(b []byte) error {
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("detectors: %w", err)
	}
	*d = DetectorIDs(strings.Join(l, ","))
	return nil
}

// WriteJSON writes t to w as indented JSON followed by a newline.
func (t Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// ReadTruth decodes a Truth written by [Truth.WriteJSON].
func ReadTruth(r io.Reader) (Truth, error) {
	var t Truth
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return Truth{}, fmt.Errorf("read truth: %w", err)
	}
	return t, nil
}
