package baseline

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"testing/quick"
)

// poisson draws a Poisson count with mean lam (Knuth for small means, a
// rounded normal approximation for large ones).
func poisson(r *rand.Rand, lam float64) float64 {
	if lam > 50 {
		return math.Max(0, math.Round(lam+math.Sqrt(lam)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-lam), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func newCount(t testing.TB, cfg CountConfig) *Count {
	t.Helper()
	c, err := NewCount(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCountNoFalseAlarm: Poisson counts at the learned rate never alarm over
// a simulated day, at rates from a quiet night on a small site to a large
// one; so do counts whose rate wanders by about ±15 % from minute to minute
// (over-dispersed traffic; user-initiated connection arrivals are close to
// Poisson with a slowly varying rate, Paxson and Floyd 1995).
func TestCountNoFalseAlarm(t *testing.T) {
	t.Parallel()
	for _, lam := range []float64{0.02, 0.5, 5, 500} {
		for _, wander := range []bool{false, true} {
			r := rand.New(rand.NewPCG(uint64(lam*1000), 7))
			c := newCount(t, CountConfig{})
			factor := 1.0
			for i := range 86400 {
				if wander && i%60 == 0 {
					factor = math.Exp(0.15*r.NormFloat64() - 0.01125)
				}
				vd := c.Step(poisson(r, lam*factor), 0, true)
				if vd.High() {
					t.Errorf("rate %v (wander %v): false alarm at %d s: %+v", lam, wander, i, vd)
					break
				}
			}
		}
	}
}

// TestCountDetectsByEvidence: a 3× rise is found after enough counts have
// accumulated, whatever the rate: within a second or two at 500/s, within a
// minute or two at 0.5/s; a 20× rise on a near-zero series within seconds.
func TestCountDetectsByEvidence(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		lam, ratio float64
		within     int
	}{
		{name: "3x at 500/s", lam: 500, ratio: 3, within: 2},
		{name: "3x at 5/s", lam: 5, ratio: 3, within: 10},
		{name: "3x at 0.5/s", lam: 0.5, ratio: 3, within: 120},
		{name: "20x at 0.05/s", lam: 0.05, ratio: 20, within: 60},
		{name: "10x at 1/s", lam: 1, ratio: 10, within: 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(3, uint64(tt.lam*100)))
			c := newCount(t, CountConfig{})
			for range 3600 {
				c.Step(poisson(r, tt.lam), 0, true)
			}
			for i := range tt.within {
				if c.Step(poisson(r, tt.lam*tt.ratio), 0, true).High() {
					t.Logf("alarm after %d s", i+1)
					return
				}
			}
			t.Errorf("no alarm within %d s (sum %.1f nats)", tt.within, c.Sum())
		})
	}
}

// TestCountPrior: before anything is learned, a test with a prior is ready
// and judged against it; without a prior it is not ready; a flood at the
// start is not learned as normal.
func TestCountPrior(t *testing.T) {
	t.Parallel()
	c := newCount(t, CountConfig{})
	if vd := c.Step(5, 0, true); vd.Ready {
		t.Fatalf("ready without prior or learning: %+v", vd)
	}
	c.Reset()
	for i := range 10 {
		vd := c.Step(0, 0.3, true)
		if !vd.Ready || !c.Prior() || vd.Expected != 0.3 {
			t.Fatalf("step %d: not judged against the prior: %+v", i, vd)
		}
	}
	fired := -1
	for i := range 10 {
		if c.Step(20, 0.3, true).High() {
			fired = i
			break
		}
	}
	if fired < 0 || fired > 2 {
		t.Errorf("flood of 20/s against a prior of 0.3/s fired at %d, want within 3 s", fired)
	}
	if c.Level() > 2 {
		t.Errorf("level %v learned the flood", c.Level())
	}
}

// TestPropertyCountMonotone: a larger count never scores lower.
func TestPropertyCountMonotone(t *testing.T) {
	t.Parallel()
	f := func(seed uint64, a, b uint16) bool {
		r := rand.New(rand.NewPCG(seed, 1))
		c := newCount(t, CountConfig{Memory: 50})
		for range 100 {
			c.Step(poisson(r, 2), 0, true)
		}
		lo, hi := float64(min(a, b)%200), float64(max(a, b)%200)
		if lo > hi {
			lo, hi = hi, lo
		}
		c2 := clonedCount(t, c)
		return c.Step(lo, 0, false).Score <= c2.Step(hi, 0, false).Score
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyCountIntervalInvariant: the evidence depends on counts and
// time, not on how time is cut into intervals: an interval of rate 2λ scores
// what two intervals of rate λ do (away from the zero floor and the cap).
func TestPropertyCountIntervalInvariant(t *testing.T) {
	t.Parallel()
	f := func(k uint8) bool {
		lam := 0.5 + float64(k%20)
		one := newCount(t, CountConfig{})
		two := newCount(t, CountConfig{})
		x := 3 * lam
		one.Step(2*x, 2*lam, false)
		two.Step(x, lam, false)
		two.Step(x, lam, false)
		return math.Abs(one.Sum()-two.Sum()) < 1e-9*max(1, one.Sum())
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyCountNoLearningDuringIncident: scoring without learning, or
// learning while in alarm, leaves the level and dispersion unchanged.
func TestPropertyCountNoLearningDuringIncident(t *testing.T) {
	t.Parallel()
	f := func(seed uint64, x uint16) bool {
		r := rand.New(rand.NewPCG(seed, 2))
		c := newCount(t, CountConfig{Memory: 50})
		for range 100 {
			c.Step(poisson(r, 3), 0, true)
		}
		lvl, disp := c.Level(), c.Dispersion()
		c.Step(float64(x), 0, false)
		if c.Level() != lvl || c.Dispersion() != disp {
			return false
		}
		for c.Sum() <= c.Config().H {
			c.Step(100, 0, true)
		}
		lvl, disp = c.Level(), c.Dispersion()
		c.Step(100, 0, true) // in alarm: scored, not learned
		return c.Level() == lvl && c.Dispersion() == disp
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

func clonedCount(t testing.TB, c *Count) *Count {
	t.Helper()
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d := newCount(t, c.Config())
	if err := d.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCountStateRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 1))
	c := newCount(t, CountConfig{})
	for range 500 {
		c.Step(poisson(r, 4), 0, true)
	}
	c.Step(30, 0, true)
	d := clonedCount(t, c)
	if d.Level() != c.Level() || d.Dispersion() != c.Dispersion() || d.Sum() != c.Sum() || d.Learned() != c.Learned() {
		t.Errorf("restored %+v, want %+v", d, c)
	}
	other := newCount(t, CountConfig{Ratios: []float64{3}})
	b, _ := c.MarshalBinary()
	if err := other.UnmarshalBinary(b); !errors.Is(err, ErrMismatch) {
		t.Errorf("two-test state into a one-test Count: err = %v, want ErrMismatch", err)
	}
	cs := must(NewCUSUM(CUSUMConfig{}))
	if err := cs.UnmarshalBinary(b); !errors.Is(err, ErrMismatch) {
		t.Errorf("count state into a CUSUM: err = %v, want ErrMismatch", err)
	}
}

func TestCountConfigValidate(t *testing.T) {
	t.Parallel()
	err := CountConfig{Ratios: []float64{1, 2, 3, 4, 5}, H: -1, Memory: -2, Cap: 0.5}.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"ratios: at most 4", "ratios[0]", "h:", "memory:", "cap:"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// FuzzCountUnmarshal: arbitrary bytes never panic; accepted state re-encodes
// to the same bytes and gives finite verdicts.
func FuzzCountUnmarshal(f *testing.F) {
	c := must(NewCount(CountConfig{}))
	for i := range 400 {
		c.Step(float64(i%7), 0, true)
	}
	data, _ := c.MarshalBinary()
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("m443"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 4 && len(data)%2 == 1 {
			data = reseal(data)
		}
		r := must(NewCount(CountConfig{}))
		if err := r.UnmarshalBinary(data); err != nil {
			return
		}
		again, _ := r.MarshalBinary()
		if string(again) != string(data) {
			t.Fatalf("accepted state re-encodes differently")
		}
		for _, x := range []float64{0, 1, 1e6} {
			vd := r.Step(x, 0, true)
			if math.IsNaN(vd.Score) || math.IsNaN(vd.Upper) {
				t.Fatalf("NaN verdict %+v", vd)
			}
		}
	})
}

// TestCountAlarmEnds: on a near-zero series, an alarm ends within seconds of
// the end of a large rise, and within a minute of a small one, instead of
// draining at the design allowance for many minutes.
func TestCountAlarmEnds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		lam, flood float64
		within     int
	}{
		{name: "1000/s over 0.01/s", lam: 0.01, flood: 1000, within: 2},
		{name: "3x at 0.5/s", lam: 0.5, flood: 1.5, within: 60},
		// A flood of a few per second: the rise's rate must not be
		// dragged down by the quiet that follows it, or the evidence that
		// the rate is back never gathers and the alarm drains for minutes.
		{name: "2/s over 0.01/s", lam: 0.01, flood: 2, within: 30},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(9, uint64(tt.flood)))
			c := newCount(t, CountConfig{})
			for range 1200 {
				c.Step(poisson(r, tt.lam), 0, true)
			}
			alarmed := false
			for range 300 {
				alarmed = c.Step(poisson(r, tt.flood), 0, false).High() || alarmed
			}
			if !alarmed {
				t.Fatal("no alarm during the rise")
			}
			for i := range tt.within {
				if !c.Step(poisson(r, tt.lam), 0, false).High() {
					t.Logf("alarm ended after %d s", i+1)
					return
				}
			}
			t.Errorf("still in alarm %d s after the rise ended (sum %.1f)", tt.within, c.Sum())
		})
	}
}

// TestCountSlowRiseNotLearned: a rise that is still gathering evidence is not
// learned. On a near-zero series (a few unanswered attempts an hour), a flood
// of one attempt every few seconds alarms within a minute: neither the level
// nor the dispersion may learn the flood's first events while the test is
// still counting them. Against the floor rate the fast test needs about eight
// events (ln 20 nats each), some 40 s at 0.2/s; 90 s covers the Poisson
// spread of their arrival (fewer than eight in 90 s has odds near 0.3 %).
func TestCountSlowRiseNotLearned(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		lam, rate float64
		within    int
	}{
		{name: "0.2/s over 1/h", lam: 1.0 / 3600, rate: 0.2, within: 90},
		{name: "0.25/s over 0.01/s", lam: 0.01, rate: 0.25, within: 90},
		{name: "3x at 0.2/s", lam: 0.2, rate: 0.6, within: 120},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(5) {
				r := rand.New(rand.NewPCG(seed, 11))
				c := newCount(t, CountConfig{})
				for range 3600 {
					c.Step(poisson(r, tt.lam), 0, true)
				}
				fired := -1
				for i := range 300 {
					if c.Step(poisson(r, tt.rate), 0, true).High() {
						fired = i + 1
						break
					}
				}
				if fired < 0 || fired > tt.within {
					t.Errorf("seed %d: alarm after %d s, want within %d s (level %.3g, dispersion %.3g, sum %.1f)",
						seed, fired, tt.within, c.Level(), c.Dispersion(), c.Sum())
				}
			}
		})
	}
}

// TestCountLearnsSmallShift: a lasting shift below the rise the tests look
// for is learned once it has waited out the guard, and never alarms.
func TestCountLearnsSmallShift(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 5))
	c := newCount(t, CountConfig{})
	for range 3600 {
		c.Step(poisson(r, 5), 0, true)
	}
	for i := range 3600 {
		if c.Step(poisson(r, 6.5), 0, true).High() {
			t.Fatalf("a 1.3× shift alarmed after %d s", i+1)
		}
	}
	if lvl := c.Level(); math.Abs(lvl-6.5) > 0.5 {
		t.Errorf("level %.2f an hour after a shift to 6.5", lvl)
	}
}

// TestCountQuietLevelSteady: the level of a quiet series rests on enough
// events to stay near the true rate. Over five minutes a series of 0.01 per
// second shows three events, and a level learned from them swings between
// a third and twice the rate; learned over a hundred events it stays within
// about a third of it.
func TestCountQuietLevelSteady(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 21))
		c := newCount(t, CountConfig{})
		lo, hi := math.Inf(1), 0.0
		for i := range 40000 {
			c.Step(poisson(r, 0.01), 0, true)
			if i >= 20000 {
				lo, hi = min(lo, c.Level()), max(hi, c.Level())
			}
		}
		if lo < 0.0065 || hi > 0.015 {
			t.Errorf("seed %d: level between %.4f and %.4f, want near 0.01", seed, lo, hi)
		}
	}
}
