package evaluate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Class says whether a truth event is an attack, which should be detected,
// or a benign event, which should draw no alert.
type Class string

// Event classes.
const (
	ClassAttack Class = "attack"
	ClassBenign Class = "benign"
)

// Duration is a time.Duration that encodes in JSON as a Go duration string
// such as "1m30s".
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// time.ParseDuration accepts, and "" for 0.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Truth is the labelled ground truth of one capture: its time span and the
// events in it. It decodes the JSON that capture/synth writes with the
// synth -truth flag, and hand-written files of the same shape for other
// labelled captures:
//
//	{
//	  "start": "2026-01-06T00:00:00Z",
//	  "end":   "2026-01-07T00:00:00Z",
//	  "events": [
//	    {"kind": "syn_flood", "label": "SYN flood 3x", "start": "2026-01-06T03:30:00Z",
//	     "end": "2026-01-06T03:33:00Z", "target": "10.1.0.2:443", "rate": 9, "rate_unit": "syn/s",
//	     "factor": 3, "target_latency": "2s"},
//	    {"kind": "nightly_backup", "start": "2026-01-06T02:00:00Z", "end": "2026-01-06T02:20:00Z"}
//	  ]
//	}
//
// Other top-level fields (seed, packets, ...) are ignored. See [Event] for
// the fields of an event.
type Truth struct {
	// Start and End bound the capture; false episodes per day divide by
	// this span. Both are required.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Events lists the labelled events, attacks and benign ones.
	Events []Event `json:"events"`
}

// Event is one labelled event of a [Truth]. In JSON:
//
//   - kind (required): what happened, e.g. "syn_flood", "nightly_backup".
//   - start, end (required): RFC 3339 times; end is not before start.
//   - label: a human name for the tables ("SYN flood 3x"); the kind when absent.
//   - class: "attack" or "benign". When absent or "" it is inferred from kind:
//     syn_flood, botnet_flood, bandwidth_spike, request_burst,
//     distributed_burst, egress_spike and quic_flood are attacks, any other
//     kind is benign.
//   - detectors: the detector IDs whose alerts count as detecting the
//     attack. When absent or empty: syn_flood → syn_flood; botnet_flood → syn_flood,
//     request_burst; request_burst and distributed_burst → request_burst;
//     bandwidth_spike and egress_spike → bandwidth_spike; quic_flood →
//     quic_flood. An attack of another kind must list them.
//   - target: the attacked server as "ip:port", or "" for every server.
//   - target_name: the target's server name.
//   - rate, rate_unit: the event's intensity, e.g. 9 and "syn/s".
//   - factor: the intensity as a multiple of normal (3 for a 3× flood);
//     the summary groups attacks by kind and factor.
//   - target_latency: a Go duration ("2s", "1m0s"): the attack must be
//     detected within it.
//   - server: the index of the target server in the generator.
//
// Unknown fields are ignored.
type Event struct {
	Kind          string    `json:"kind"`
	Label         string    `json:"label,omitempty"`
	Class         Class     `json:"class"`
	Detectors     []string  `json:"detectors,omitempty"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Target        string    `json:"target"`
	TargetName    string    `json:"target_name,omitempty"`
	Rate          float64   `json:"rate,omitempty"`
	RateUnit      string    `json:"rate_unit,omitempty"`
	Factor        float64   `json:"factor,omitempty"`
	TargetLatency Duration  `json:"target_latency,omitempty"`
	Server        *int      `json:"server,omitempty"`
}

// Name returns the event's label, or its kind when it has none.
func (e Event) Name() string {
	if e.Label != "" {
		return e.Label
	}
	return e.Kind
}

// UnmarshalJSON decodes an event and fills an absent or empty class, and
// an attack's absent or empty detectors, from its kind (see [Event]).
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = Event(p)
	if e.Class == "" {
		e.Class = InferClass(e.Kind)
	}
	if len(e.Detectors) == 0 {
		e.Detectors = nil
		if e.Class == ClassAttack {
			e.Detectors = InferDetectors(e.Kind)
		}
	}
	return nil
}

// InferClass returns the class of an event kind whose truth gives none:
// ClassAttack for the attack kinds listed under [Event], else ClassBenign.
func InferClass(kind string) Class {
	switch kind {
	case "syn_flood", "botnet_flood", "bandwidth_spike", "request_burst", "distributed_burst", "egress_spike", "quic_flood":
		return ClassAttack
	}
	return ClassBenign
}

// InferDetectors returns the detectors that count as detecting an attack
// of kind whose truth lists none (see [Event]); nil for other kinds.
func InferDetectors(kind string) []string {
	switch kind {
	case "syn_flood":
		return []string{"syn_flood"}
	case "botnet_flood":
		return []string{"syn_flood", "request_burst"}
	case "request_burst", "distributed_burst":
		return []string{"request_burst"}
	case "bandwidth_spike", "egress_spike":
		return []string{"bandwidth_spike"}
	case "quic_flood":
		return []string{"quic_flood"}
	}
	return nil
}

// ReadTruth decodes and checks a [Truth]. It reports every problem it
// finds, each with the event's index.
func ReadTruth(r io.Reader) (Truth, error) {
	var t Truth
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return Truth{}, fmt.Errorf("decode truth: %w", err)
	}
	if err := t.Check(); err != nil {
		return Truth{}, err
	}
	return t, nil
}

// Check reports every problem of t: a missing span or kind, an end before
// a start, an unknown class, an attack without detectors.
func (t Truth) Check() error {
	var errs []error
	if t.Start.IsZero() || t.End.IsZero() {
		errs = append(errs, errors.New("start and end: required (the capture's span)"))
	} else if !t.End.After(t.Start) {
		errs = append(errs, fmt.Errorf("end: %s is not after start %s", t.End.Format(time.RFC3339), t.Start.Format(time.RFC3339)))
	}
	for i, e := range t.Events {
		p := fmt.Sprintf("events[%d]", i)
		if e.Kind == "" {
			errs = append(errs, fmt.Errorf("%s.kind: required", p))
		}
		if e.Start.IsZero() || e.End.IsZero() {
			errs = append(errs, fmt.Errorf("%s: start and end are required", p))
		} else if e.End.Before(e.Start) {
			errs = append(errs, fmt.Errorf("%s.end: before start", p))
		}
		switch e.Class {
		case ClassAttack:
			if len(e.Detectors) == 0 {
				errs = append(errs, fmt.Errorf("%s.detectors: an attack of kind %q needs the detectors that count as detecting it", p, e.Kind))
			}
		case ClassBenign:
		default:
			errs = append(errs, fmt.Errorf("%s.class: want attack or benign, got %q", p, e.Class))
		}
		if e.TargetLatency < 0 {
			errs = append(errs, fmt.Errorf("%s.target_latency: must be >= 0, got %s", p, time.Duration(e.TargetLatency)))
		}
	}
	return errors.Join(errs...)
}
