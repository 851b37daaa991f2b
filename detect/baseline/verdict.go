package baseline

import (
	"encoding"
	"math"
)

// Estimator is the common shape of the rolling baselines in this package:
// [EWMA], [Seasonal], [CUSUM] and [Median]. Timestamps t are unix nanoseconds
// taken from packets by the caller; estimators that are not seasonal ignore
// them.
type Estimator interface {
	// Observe scores v against the baseline and then learns it, following the
	// estimator's [Learn] policy.
	Observe(t int64, v float64) Verdict
	// Check scores v and advances time-driven state (the CUSUM sum, the
	// seasonal bin clock) without teaching the baseline anything. Callers use
	// it for points they know to be abnormal, for example while an incident
	// is open.
	Check(t int64, v float64) Verdict
	// Reset forgets everything learned, as if newly constructed.
	Reset()
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

var (
	_ Estimator = (*EWMA)(nil)
	_ Estimator = (*Seasonal)(nil)
	_ Estimator = (*CUSUM)(nil)
	_ Estimator = (*Median)(nil)
)

// Verdict is the result of scoring one observation.
type Verdict struct {
	// Value is the observed value.
	Value float64
	// Expected is the baseline's prediction for this point.
	Expected float64
	// Lower and Upper bound the normal band. A value above Upper scores above
	// 1 and a value below Lower scores below -1. For [CUSUM], Lower is the
	// reference level above which evidence accumulates and Upper is the
	// smallest value that would raise an alarm at this step.
	Lower, Upper float64
	// Score is (Value-Expected) divided by the half-width of the band on
	// Value's side, each half-width at least the [Guard] floor; for [CUSUM] it
	// is the cumulative sum divided by the threshold h. |Score| > 1 is
	// anomalous.
	Score float64
	// Ready is false while the estimator is still learning; the score is then
	// 0 and must not be acted on.
	Ready bool
	// Guarded is true when both Value and Expected are below
	// [Guard.MinVolume], so the point is too small to matter.
	Guarded bool
}

// High reports whether the verdict is an anomalous increase: ready, not
// guarded and Score > 1.
func (v Verdict) High() bool { return v.Ready && !v.Guarded && v.Score > 1 }

// Low reports whether the verdict is an anomalous decrease: ready, not
// guarded and Score < -1.
func (v Verdict) Low() bool { return v.Ready && !v.Guarded && v.Score < -1 }

// Anomalous reports whether [Verdict.High] or [Verdict.Low] holds.
func (v Verdict) Anomalous() bool { return v.High() || v.Low() }

// Guard holds the floors that keep tiny values from alerting. Its fields are
// promoted into every estimator configuration.
type Guard struct {
	// Floor is the smallest half-width of the band, in the units of the
	// observed value, so a perfectly flat history does not turn the first
	// wobble into an infinite score. For [CUSUM] it floors the standard
	// deviation instead. Zero means 1.
	Floor float64
	// FloorFraction raises the floor to FloorFraction·|Expected| when that is
	// larger: 0.1 means a change of under 10 % never alerts.
	FloorFraction float64
	// MinVolume suppresses verdicts (sets [Verdict.Guarded]) while both the
	// value and the expectation are below it.
	MinVolume float64
}

func (g Guard) validate(prefix string, errs []error) []error {
	errs = checkRange(errs, prefix+"floor", g.Floor, 0, math.MaxFloat64)
	errs = checkRange(errs, prefix+"floor_fraction", g.FloorFraction, 0, math.MaxFloat64)
	errs = checkRange(errs, prefix+"min_volume", g.MinVolume, 0, math.MaxFloat64)
	return errs
}

func (g Guard) withDefaults() Guard {
	if g.Floor == 0 {
		g.Floor = 1
	}
	return g
}

// floor returns the minimum half-width around expected.
func (g Guard) floor(expected float64) float64 {
	return max(g.Floor, g.FloorFraction*math.Abs(expected))
}

func (g Guard) guarded(v, expected float64) bool {
	return v < g.MinVolume && expected < g.MinVolume
}

// verdict builds a ready verdict from a prediction and the raw half-widths
// below and above it.
func (g Guard) verdict(v, expected, down, up float64) Verdict {
	f := g.floor(expected)
	down, up = max(down, f), max(up, f)
	d := v - expected
	var s float64
	if d >= 0 {
		s = d / up
	} else {
		s = d / down
	}
	return Verdict{
		Value:    v,
		Expected: expected,
		Lower:    expected - down,
		Upper:    expected + up,
		Score:    s,
		Ready:    true,
		Guarded:  g.guarded(v, expected),
	}
}

// Learn says what an estimator learns from a point that its verdict marks
// [Verdict.Anomalous]. Normal points are always learned as they are.
type Learn uint8

// Learn policies.
const (
	// LearnClamped learns an anomalous point as the nearest band edge and
	// leaves the deviation estimate alone, so the level follows a lasting
	// change slowly while a burst cannot widen the band. It is the default.
	LearnClamped Learn = iota
	// LearnNormal skips anomalous points entirely. A lasting change of level
	// then alerts until the caller resets the estimator.
	LearnNormal
	// LearnAll learns every point as it is. An attack becomes the new normal.
	LearnAll
)

// AllLearn lists every Learn policy.
var AllLearn = []Learn{LearnClamped, LearnNormal, LearnAll}

// String returns the policy's snake_case name.
func (l Learn) String() string {
	switch l {
	case LearnClamped:
		return "clamped"
	case LearnNormal:
		return "normal"
	case LearnAll:
		return "all"
	}
	return "unknown"
}

// learnValue returns the value to learn for verdict vd and whether to learn
// it at all; clamped is true when the value was moved to the band edge.
func (l Learn) learnValue(vd Verdict) (x float64, learn, clamped bool) {
	if !vd.Anomalous() || l == LearnAll {
		return vd.Value, true, false
	}
	if l == LearnNormal {
		return 0, false, false
	}
	return min(max(vd.Value, vd.Lower), vd.Upper), true, true
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
