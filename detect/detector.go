package detect

import (
	"encoding"
	"fmt"
)

// The statistical detectors at the global and per-server scopes.
//
// Each detector is its own type in its own file (bandwidth.go, burst.go,
// synflood.go, quicflood.go) behind the detector interface: it makes the
// state of one track (the detector at one scope and target), and that state
// judges one interval at a time, features in, verdict out. The stage
// (stage.go) owns what every detector shares: the tracks, the k-of-n filter
// and the resolver that turn verdicts into incidents, alert groups,
// contributors, checkpoints, and request_burst's keyed scopes (client, SNI
// and prefix, scored against the band of their heaviest key). The shared
// estimators are in detect/baseline.
//
// Adding a detector is one file with its type and its tests, its section
// of DetectionConfig, and one line in registry.

// detector is one statistical detector.
type detector interface {
	// kind is the detector's ID, the alert's kind.
	kind() string
	// section returns the detector's part of the configuration.
	section(c *DetectionConfig) *DetectorConfig
	// atServers reports whether the detector runs per server as well as
	// globally.
	atServers() bool
	// unit is the unit of the values the detector judges at scope.
	unit(scope string) string
	// newState returns a track's fresh state; restore fills one of its
	// series from the checkpoint, when the checkpoint holds it.
	newState(s *stage, restore func(series string, into encoding.BinaryUnmarshaler)) trackState
	// contributors lists the heaviest keys relevant to the detector for
	// track tr's alert, from the interval's summaries m or the detector's
	// own windows.
	contributors(s *stage, tr *track, m *merged) []Contributor
}

// trackState is a detector's state for one track.
type trackState interface {
	// score judges one interval.
	score(s *stage, tr *track, in *input) verdict
	// save adds the state's series to out, each under prefix|series, the
	// names newState's restore receives.
	save(prefix string, out map[string][]byte)
}

// windowed is a track state with windows that must not span a gap in the
// capture (a restart, the next file); reset forgets them.
type windowed interface{ reset() }

// explainer is a detector that adds evidence to its alerts beyond the
// verdict's (spoofing evidence for floods); it may set the alert's fields.
type explainer interface {
	explain(s *stage, a *Anomaly, in *input) string
}

// input is one interval as a track sees it.
type input struct {
	start int64
	f     *Features   // the scope's features: global, or the server's
	m     *merged     // the interval's merged sketches (all servers)
	srv   *serverSnap // the server's sketches, nil at the global scope
	// learn is false while the track is in an incident, so that an attack
	// does not become normal.
	learn bool
	// static is the configured static threshold at this scope, 0 if none.
	static float64
}

// registry lists the detectors, in the order they run each interval. A
// stage runs the detectors of its own copy (stage.dets).
var registry = []detector{
	bandwidthSpike{},
	requestBurst{},
	synFlood{},
	quicFlood{},
}

// detector returns the stage's detector of a kind; it panics on an unknown
// kind, which is a programming error (tracks are made only for the stage's
// detectors).
func (s *stage) detector(kind string) detector {
	for _, d := range s.dets {
		if d.kind() == kind {
			return d
		}
	}
	panic(fmt.Sprintf("detect: unknown detector %q", kind))
}

// aboveStatic makes v fire when value reaches a configured static
// threshold, saying so in its evidence, and reports whether it did; what
// names the value.
func (v *verdict) aboveStatic(value, static float64, what string) bool {
	if static <= 0 || value < static {
		return false
	}
	v.cond, v.why = true, joinDetail(what+"above the static threshold "+fmtRate(static), v.why)
	return true
}
