package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Severity ranks an alert. Larger is more severe.
type Severity int

// Severities, from least to most severe.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityCritical
)

// Severities lists every Severity, least severe first.
var Severities = []Severity{SeverityInfo, SeverityWarning, SeverityCritical}

// String returns the label value of s: "info", "warning" or "critical".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	default:
		return "severity(" + strconv.Itoa(int(s)) + ")"
	}
}

// ParseSeverity returns the Severity named s.
func ParseSeverity(s string) (Severity, error) {
	for _, v := range Severities {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning or critical)", s)
}

// MarshalText encodes s as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// State says whether an alert is active.
type State int

// States of an alert.
const (
	StateFiring State = iota + 1
	StateResolved
)

// States lists every State.
var States = []State{StateFiring, StateResolved}

// String returns "firing" or "resolved".
func (s State) String() string {
	switch s {
	case StateFiring:
		return "firing"
	case StateResolved:
		return "resolved"
	default:
		return "state(" + strconv.Itoa(int(s)) + ")"
	}
}

// MarshalText encodes s as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	for _, v := range States {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown state %q", b)
}

// Contributor is one of the largest contributors to an anomaly, such as a
// source address or an SNI, with its share of the anomalous value.
type Contributor struct {
	// Key names the contributor, for example "198.51.100.7" or "api.example.com".
	Key string `json:"key"`
	// Value is the contributor's part of the alert's Value.
	Value float64 `json:"value"`
	// Share is Value divided by the alert's Value, in [0, 1]; 0 if unknown.
	Share float64 `json:"share,omitempty"`
}

// Alert is one anomaly as the alerting side sees it: identifying labels plus
// the values that explain it.
//
// The labels are Kind, Scope, Target, Severity and Labels; together they form
// the alert's identity ([Alert.Fingerprint]). Notifications are grouped by
// Kind, Scope and Target ([Alert.GroupKey]), so a change of severity during
// an incident stays one incident.
type Alert struct {
	// Kind is the detector ID, such as "syn_flood", "bandwidth_spike",
	// "request_burst" or "deprecated_tls".
	Kind string `json:"kind"`
	// Scope says what Target is, such as "global", "server" or "sni".
	Scope string `json:"scope"`
	// Target is the affected entity, such as "203.0.113.10:443"; empty for
	// scope "global".
	Target string `json:"target,omitempty"`
	// Severity ranks the alert.
	Severity Severity `json:"severity"`
	// Labels are further identifying labels; they must not use the names
	// kind, scope, target or severity.
	Labels map[string]string `json:"labels,omitempty"`

	// Value is the observed value that triggered the alert.
	Value float64 `json:"value"`
	// Expected is the baseline value the detector expected.
	Expected float64 `json:"expected"`
	// Lower and Upper bound the expected band.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Score is the detector's anomaly score, such as a z-score.
	Score float64 `json:"score"`
	// Unit names the unit of Value, Expected, Lower and Upper, such as
	// "packets_per_second"; empty if none.
	Unit string `json:"unit,omitempty"`
	// Contributors lists the largest contributors, largest first.
	Contributors []Contributor `json:"contributors,omitempty"`

	// StartsAt is when the anomaly began (packet time).
	StartsAt time.Time `json:"starts_at"`
	// EndsAt is when the anomaly ended; zero while firing.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// State is firing or resolved.
	State State `json:"state"`

	// Summary is a one-line human description; the default templates
	// build one if empty.
	Summary string `json:"summary,omitempty"`
	// Description is a longer human description.
	Description string `json:"description,omitempty"`
}

// Reserved label names; Alert.Labels must not use them.
const (
	LabelKind     = "kind"
	LabelScope    = "scope"
	LabelTarget   = "target"
	LabelSeverity = "severity"
)

// LabelSet returns all identifying labels of a, including kind, scope, target
// and severity. The result is a new map the caller owns.
func (a *Alert) LabelSet() map[string]string {
	ls := make(map[string]string, len(a.Labels)+4)
	maps.Copy(ls, a.Labels)
	ls[LabelKind] = a.Kind
	ls[LabelScope] = a.Scope
	ls[LabelTarget] = a.Target
	ls[LabelSeverity] = a.Severity.String()
	return ls
}

// Fingerprint is the identity of an alert: a hash of its sorted labels.
type Fingerprint [8]byte

// String returns the fingerprint as 16 lowercase hex digits.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// MarshalText encodes f as 16 hex digits.
func (f Fingerprint) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText decodes 16 hex digits.
func (f *Fingerprint) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(f) {
		return fmt.Errorf("fingerprint must be %d hex digits", 2*len(f))
	}
	_, err := hex.Decode(f[:], b)
	return err
}

// Fingerprint returns the identity of a: the first 8 bytes of the SHA-256 of
// its labels sorted by name, each written as name, 0xff, value, 0xff.
func (a *Alert) Fingerprint() Fingerprint {
	return fingerprint(a.LabelSet())
}

// GroupKey returns the identity of the incident a belongs to: the
// fingerprint of its kind, scope and target labels only.
func (a *Alert) GroupKey() Fingerprint {
	return fingerprint(map[string]string{LabelKind: a.Kind, LabelScope: a.Scope, LabelTarget: a.Target})
}

func fingerprint(ls map[string]string) Fingerprint {
	h := sha256.New()
	sep := []byte{0xff}
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		h.Write([]byte(k))
		h.Write(sep)
		h.Write([]byte(ls[k]))
		h.Write(sep)
	}
	var f Fingerprint
	copy(f[:], h.Sum(nil))
	return f
}

// validate reports the first problem that makes a unusable.
func (a *Alert) validate() error {
	if a.Kind == "" {
		return fmt.Errorf("alert kind is empty")
	}
	if a.Scope == "" {
		return fmt.Errorf("alert %s: scope is empty", a.Kind)
	}
	if a.Severity < SeverityInfo || a.Severity > SeverityCritical {
		return fmt.Errorf("alert %s: invalid severity %d", a.Kind, int(a.Severity))
	}
	if a.State != StateFiring && a.State != StateResolved {
		return fmt.Errorf("alert %s: invalid state %d", a.Kind, int(a.State))
	}
	for _, k := range []string{LabelKind, LabelScope, LabelTarget, LabelSeverity} {
		if _, ok := a.Labels[k]; ok {
			return fmt.Errorf("alert %s: label %q is reserved", a.Kind, k)
		}
	}
	return nil
}
