package detect

import "time"

// Severity ranks an anomaly.
type Severity uint8

// Severities, lowest first.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

// AllSeverities lists every Severity for label values.
var AllSeverities = [...]Severity{SeverityInfo, SeverityWarning, SeverityCritical}

// String returns "info", "warning" or "critical".
func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return "info"
}

// Anomaly kinds. The statistical detectors use their detector IDs; the
// hygiene checks of TLS handshakes use the others.
const (
	KindSYNFlood       = "syn_flood"
	KindQUICFlood      = "quic_flood"
	KindBandwidthSpike = "bandwidth_spike"
	KindRequestBurst   = "request_burst"
	KindDeprecatedTLS  = "deprecated_tls"
	KindWeakCipher     = "weak_cipher"
	KindBadCertificate = "bad_certificate"
	KindNonTLS         = "non_tls"
	KindBlocklisted    = "blocklisted_fingerprint"
)

// AllKinds lists every anomaly kind, for label values.
var AllKinds = [...]string{KindSYNFlood, KindQUICFlood, KindBandwidthSpike, KindRequestBurst, KindDeprecatedTLS,
	KindWeakCipher, KindBadCertificate, KindNonTLS, KindBlocklisted}

// State is an anomaly's lifecycle state.
type State string

// Anomaly states.
const (
	StateFiring   State = "firing"
	StateResolved State = "resolved"
)

// Contributor is one of the top contributors to an anomaly.
type Contributor struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
}

// Anomaly is one incident's firing or resolved event, as written to
// --output.alerts and adapted into an alert by cmd.
type Anomaly struct {
	ID string `json:"id"`
	// Group correlates alerts of one event seen at several scopes: it is
	// the ID of the first alert of the same kind whose incident was still
	// open when this one fired (its own ID when none was). A 40 hellos/s
	// client fires at global, server, client, prefix and SNI scope under
	// one group.
	Group  string     `json:"group"`
	Kind   string     `json:"kind"`
	State  State      `json:"state"`
	Scope  string     `json:"scope"`
	Target string     `json:"target"`
	Start  time.Time  `json:"start"`
	End    *time.Time `json:"end,omitempty"`
	// Detected is when the detector fired, in packet time: the end of the
	// interval that confirmed the incident (statistical detectors only).
	Detected *time.Time    `json:"detected,omitempty"`
	Value    float64       `json:"value"`
	Baseline float64       `json:"baseline"`
	Lower    float64       `json:"lower"`
	Upper    float64       `json:"upper"`
	Score    float64       `json:"score"`
	Severity string        `json:"severity"`
	Unit     string        `json:"unit,omitempty"`
	Top      []Contributor `json:"top"`
	// Spoofed says a SYN flood's sources look spoofed (many unique
	// sources each sending about one SYN, a wide TTL spread, few completed
	// handshakes).
	Spoofed bool `json:"spoofed,omitempty"`
	// UniqueSources is the estimated number of distinct SYN sources in the
	// interval that fired (syn_flood only).
	UniqueSources float64 `json:"unique_sources,omitempty"`
	Summary       string  `json:"summary"`
	Detail        string  `json:"detail,omitempty"`
}
