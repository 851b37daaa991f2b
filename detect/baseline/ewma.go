package baseline

import "math"

// EWMAConfig configures an [EWMA]. The zero value of each field selects its
// default.
type EWMAConfig struct {
	// Alpha is the level's smoothing factor in (0, 1]; its memory is about
	// 1/Alpha observations. Default 0.05 (about 20 s at 1 s intervals).
	Alpha float64
	// Gamma is the deviation's smoothing factor in (0, 1]. Default 0.02, a
	// slower memory than the level so the band does not collapse in a lull.
	Gamma float64
	// K scales the band: Expected ± K·deviation. Default 4 (about 3.2σ for
	// normal noise, since the mean absolute deviation is 0.80σ).
	K float64
	// Warmup is the number of learned observations before verdicts are
	// ready. Default 60.
	Warmup int
	// Learn is the policy for anomalous points. Default [LearnClamped].
	Learn Learn
	Guard
}

func (c EWMAConfig) withDefaults() EWMAConfig {
	if c.Alpha == 0 {
		c.Alpha = 0.05
	}
	if c.Gamma == 0 {
		c.Gamma = 0.02
	}
	if c.K == 0 {
		c.K = 4
	}
	if c.Warmup == 0 {
		c.Warmup = 60
	}
	c.Guard = c.Guard.withDefaults()
	return c
}

// Validate reports every invalid field, after defaults are applied.
func (c EWMAConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	errs = checkOpen01(errs, "alpha", c.Alpha)
	errs = checkOpen01(errs, "gamma", c.Gamma)
	errs = checkRange(errs, "k", c.K, 0, 1e6)
	errs = checkInt(errs, "warmup", c.Warmup, 1, math.MaxInt32)
	errs = checkLearn(errs, c.Learn)
	errs = c.Guard.validate("", errs)
	return joined(errs)
}

// EWMA tracks an exponentially weighted moving average of the level and of
// the mean absolute deviation around it, as in Brutlag's aberrant-behaviour
// band without the seasonal term. For each learned point x, with e = x-level
// taken before the update:
//
//	deviation ← Gamma·|e| + (1-Gamma)·deviation
//	level     ← level + Alpha·e
//
// The first point sets the level and a zero deviation. The band is
// level ± K·deviation, never narrower than the [Guard] floor. It ignores t.
// The zero value is not usable; call [NewEWMA].
type EWMA struct {
	cfg   EWMAConfig
	n     uint64 // learned points
	level float64
	dev   float64
}

// NewEWMA returns an empty EWMA, or the configuration's validation error.
func NewEWMA(cfg EWMAConfig) (*EWMA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &EWMA{cfg: cfg.withDefaults()}, nil
}

// Config returns the configuration with defaults applied.
func (e *EWMA) Config() EWMAConfig { return e.cfg }

// Level returns the current level estimate.
func (e *EWMA) Level() float64 { return e.level }

// Deviation returns the current mean absolute deviation estimate.
func (e *EWMA) Deviation() float64 { return e.dev }

// Observe scores v, then learns it according to the Learn policy. A
// non-finite v is scored 0 and not learned.
func (e *EWMA) Observe(_ int64, v float64) Verdict {
	vd := e.score(v)
	if !finite(v) {
		return vd
	}
	x, learn, clamped := e.cfg.Learn.learnValue(vd)
	if learn {
		e.learn(x, clamped)
	}
	return vd
}

// Check scores v without learning it.
func (e *EWMA) Check(_ int64, v float64) Verdict { return e.score(v) }

func (e *EWMA) score(v float64) Verdict {
	if e.n < uint64(e.cfg.Warmup) || !finite(v) {
		return Verdict{Value: v, Expected: e.level, Lower: e.level, Upper: e.level, Ready: e.n >= uint64(e.cfg.Warmup)}
	}
	w := e.cfg.K * e.dev
	return e.cfg.Guard.verdict(v, e.level, w, w)
}

func (e *EWMA) learn(x float64, clamped bool) {
	if e.n == 0 {
		e.level, e.dev = x, 0
		e.n = 1
		return
	}
	d := x - e.level
	if !clamped {
		e.dev = e.cfg.Gamma*math.Abs(d) + (1-e.cfg.Gamma)*e.dev
	}
	e.level += e.cfg.Alpha * d
	e.n++
}

// Reset forgets everything learned.
func (e *EWMA) Reset() { e.n, e.level, e.dev = 0, 0, 0 }

// MarshalBinary encodes the learned state (not the configuration).
func (e *EWMA) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindEWMA, 24)
	enc.u64(e.n)
	enc.f64(e.level)
	enc.f64(e.dev)
	return enc.finish(), nil
}

// UnmarshalBinary restores state written by [EWMA.MarshalBinary]. On error,
// wrapping [ErrCorrupt] or [ErrMismatch], e is unchanged.
func (e *EWMA) UnmarshalBinary(data []byte) error {
	d, err := newDecoder(data, kindEWMA)
	if err != nil {
		return err
	}
	n := d.u64()
	level := d.f64("level")
	dev := d.nonneg("deviation")
	if err := d.done(); err != nil {
		return err
	}
	e.n, e.level, e.dev = n, level, dev
	return nil
}
