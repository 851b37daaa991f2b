package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
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
	// NightlyBackup appears once per day, in consecutive entries. Events
	// that would start after the end are left out.
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
