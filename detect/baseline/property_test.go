package baseline

import (
	"math"
	"math/rand/v2"
	"testing"
	"testing/quick"
	"time"
)

// Property tests: each draws random series (heavy-tailed, with level
// shifts and outliers) from a seed that testing/quick picks, and checks an
// invariant every estimator must keep whatever the data.

// series returns n non-negative values: a level that shifts now and then,
// Pareto-like noise, and rare outliers.
func series(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	level := 1 + 1000*r.Float64()
	out := make([]float64, n)
	for i := range out {
		if r.IntN(200) == 0 {
			level *= 0.25 + 2*r.Float64()
		}
		v := level * (0.5 + 0.5/math.Pow(1-r.Float64()*0.999, 0.7))
		if r.IntN(100) == 0 {
			v *= 20
		}
		out[i] = v
	}
	return out
}

// estimators builds one of each estimator with guard g, and small warmups
// and seasons so that random series of a few hundred points exercise the
// ready state (the seasonal one has 60 one-second bins per minute).
func estimators(t *testing.T, g Guard) map[string]Estimator {
	t.Helper()
	ew, err := NewEWMA(EWMAConfig{Warmup: 10, Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	md, err := NewMedian(MedianConfig{Window: 31, Warmup: 10, Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := NewCUSUM(CUSUMConfig{Warmup: 10, Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	se, err := NewSeasonal(SeasonalConfig{Season: time.Minute, Bins: 60, Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Estimator{"ewma": ew, "median": md, "cusum": cs, "seasonal": se}
}

func clone(t *testing.T, name string, e Estimator) Estimator {
	t.Helper()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := estimators(t, Guard{})[name]
	switch x := e.(type) { // the clone needs the original's configuration
	case *EWMA:
		c = must(NewEWMA(x.Config()))
	case *Median:
		c = must(NewMedian(x.Config()))
	case *CUSUM:
		c = must(NewCUSUM(x.Config()))
	case *Seasonal:
		c = must(NewSeasonal(x.Config()))
	}
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return c
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

const sec = int64(time.Second)

var quickCfg = &quick.Config{MaxCount: 60}

// TestPropertyVerdictShape: every verdict on finite input is finite, has
// Lower <= Expected <= Upper, and scores 0 while not ready. (CUSUM's Upper
// is the value that would alarm at this step, which falls below its
// reference once the sum is past the threshold, so only finiteness holds.)
func TestPropertyVerdictShape(t *testing.T) {
	t.Parallel()
	f := func(seed uint64) bool {
		for name, e := range estimators(t, Guard{FloorFraction: 0.1}) {
			for i, v := range series(seed, 400) {
				vd := e.Observe(int64(i)*sec, v)
				ok := finite(vd.Expected) && finite(vd.Lower) && finite(vd.Upper) && finite(vd.Score) &&
					vd.Lower <= vd.Expected+1e-9 && vd.Expected <= vd.Upper+1e-9 && (vd.Ready || vd.Score == 0)
				if name == "cusum" {
					ok = finite(vd.Expected) && finite(vd.Lower) && finite(vd.Upper) && finite(vd.Score) && (vd.Ready || vd.Score == 0)
				}
				if !ok {
					t.Logf("%s seed %d point %d: %+v", name, seed, i, vd)
					return false
				}
			}
		}
		return true
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyScoreMonotone: from any learned state, a larger value never
// scores lower. Each candidate is scored on its own copy of the state, since
// Check advances the CUSUM sum and the seasonal clock.
func TestPropertyScoreMonotone(t *testing.T) {
	t.Parallel()
	f := func(seed uint64, a, b float64) bool {
		lo, hi := math.Abs(math.Mod(a, 1e4)), math.Abs(math.Mod(b, 1e4))
		if lo > hi {
			lo, hi = hi, lo
		}
		for name, e := range estimators(t, Guard{}) {
			s := series(seed, 200)
			for i, v := range s {
				e.Observe(int64(i)*sec, v)
			}
			tn := int64(len(s)) * sec
			vl, vh := clone(t, name, e).Check(tn, lo), clone(t, name, e).Check(tn, hi)
			if vl.Score > vh.Score+1e-12 {
				t.Logf("%s seed %d: Check(%v) = %v > Check(%v) = %v", name, seed, lo, vl.Score, hi, vh.Score)
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyScaleInvariant: multiplying the data and the absolute floor
// by the same factor multiplies Expected and the band by it and leaves
// every score unchanged: the estimators have no hidden unit.
func TestPropertyScaleInvariant(t *testing.T) {
	t.Parallel()
	f := func(seed uint64, k uint8) bool {
		scale := math.Ldexp(1, int(k%16)-4) // a power of two: exact in floating point
		base, scaled := estimators(t, Guard{Floor: 1, FloorFraction: 0.05}), estimators(t, Guard{Floor: scale, FloorFraction: 0.05})
		for name := range base {
			for i, v := range series(seed, 300) {
				x, y := base[name].Observe(int64(i)*sec, v), scaled[name].Observe(int64(i)*sec, v*scale)
				if x.Ready != y.Ready || math.Abs(x.Score-y.Score) > 1e-9*max(1, math.Abs(x.Score)) ||
					math.Abs(x.Expected*scale-y.Expected) > 1e-9*max(1, math.Abs(y.Expected)) {
					t.Logf("%s seed %d scale %v point %d: %+v vs %+v", name, seed, scale, i, x, y)
					return false
				}
			}
		}
		return true
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyCheckDoesNotLearn: scoring points with Check (what the
// detectors do during an incident) teaches the baseline nothing, so after
// them the estimator predicts what a copy that never saw them predicts.
// (For the seasonal estimator the copy is moved to the same time.)
func TestPropertyCheckDoesNotLearn(t *testing.T) {
	t.Parallel()
	f := func(seed uint64) bool {
		for name, e := range estimators(t, Guard{}) {
			if name == "cusum" {
				continue // Check advances the CUSUM sum by design; its mean and variance are checked below
			}
			s := series(seed, 300)
			for i, v := range s[:200] {
				e.Observe(int64(i)*sec, v)
			}
			c := clone(t, name, e)
			for i, v := range s[200:] {
				e.Check(int64(200+i)*sec, v*50)
			}
			tn := int64(len(s)) * sec
			if name == "seasonal" {
				c.Check(tn-sec, 0) // advance the clock only
			}
			x, y := e.Check(tn, 1), c.Check(tn, 1)
			if math.Abs(x.Expected-y.Expected) > 1e-9*max(1, math.Abs(y.Expected)) || math.Abs(x.Upper-y.Upper) > 1e-9*max(1, math.Abs(y.Upper)) {
				t.Logf("%s seed %d: after checks %+v, copy %+v", name, seed, x, y)
				return false
			}
		}
		cs := estimators(t, Guard{})["cusum"].(*CUSUM)
		s := series(seed, 300)
		for i, v := range s[:200] {
			cs.Observe(int64(i)*sec, v)
		}
		m, sd := cs.Mean(), cs.StdDev()
		for i, v := range s[200:] {
			cs.Check(int64(200+i)*sec, v*50)
		}
		return cs.Mean() == m && cs.StdDev() == sd
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyKOfNMatchesWindow: the filter fires exactly when the naive
// count over the last n conditions reaches k.
func TestPropertyKOfNMatchesWindow(t *testing.T) {
	t.Parallel()
	f := func(kk, nn uint8, bits []bool) bool {
		n := int(nn%64) + 1
		k := int(kk)%n + 1
		fl := must(NewKOfN(k, n))
		for i, b := range bits {
			got := fl.Step(b)
			c := 0
			for j := max(0, i-n+1); j <= i; j++ {
				if bits[j] {
					c++
				}
			}
			if got != (c >= k) || fl.Count() != c {
				t.Logf("k=%d n=%d step %d: got %v count %d, naive count %d", k, n, i, got, fl.Count(), c)
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}
}

// TestPropertyResolverOneEventPerIncident: starts and resolutions
// alternate, an incident opens on the first firing step, and it resolves
// exactly when quiet time has passed since its last firing step.
func TestPropertyResolverOneEventPerIncident(t *testing.T) {
	t.Parallel()
	const quiet = 5 * time.Second
	f := func(firing []bool) bool {
		r := must(NewResolver(quiet))
		active, last := false, int64(0)
		for i, fire := range firing {
			now := int64(i+1) * sec
			tr := r.Step(now, fire)
			want := None
			switch {
			case fire && !active:
				want, active = Started, true
			case !fire && active && now-last >= int64(quiet):
				want, active = Resolved, false
			}
			if fire {
				last = now
			}
			if tr != want || r.Active() != active {
				t.Logf("step %d (fire %v): %v active %v, want %v active %v", i, fire, tr, r.Active(), want, active)
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}
}
