package baseline

import (
	"fmt"
	"math"
)

// CUSUMConfig configures a [CUSUM]. The zero value of each field selects its
// default. K, H and Cap are in units of the baseline standard deviation σ.
type CUSUMConfig struct {
	// Alpha smooths the baseline mean and variance, in (0, 1]. Default 0.01
	// (a memory of about 100 observations).
	Alpha float64
	// K is the reference value (allowance): only the part of each
	// standardized observation above K adds to the sum. Default 0.5, which
	// makes the test quickest at detecting a shift of 2·K = 1σ.
	K float64
	// H is the decision threshold. Default 5: with K = 0.5 a sustained shift
	// of 3σ alarms on the third interval, while independent normal data with
	// a known baseline alarms about once per 940 intervals (Siegmund's
	// approximation); the [Guard] floors make false alarms rarer on real
	// traffic, and callers add [KOfN] on top.
	H float64
	// Cap bounds the sum at Cap·H so it falls back below H within about
	// (Cap-1)·H/K quiet intervals after a long attack. Default 2; at least 1.
	Cap float64
	// Clamp limits learned points to the mean ± Clamp·σ so a single outlier
	// cannot drag the baseline. Default 3.
	Clamp float64
	// Warmup is the number of learned observations before verdicts are
	// ready; the sum stays 0 until then. Default 60.
	Warmup int
	// Guard.Floor and Guard.FloorFraction floor σ (not a band half-width);
	// Guard.MinVolume suppresses verdicts on small values as elsewhere.
	Guard
}

func (c CUSUMConfig) withDefaults() CUSUMConfig {
	if c.Alpha == 0 {
		c.Alpha = 0.01
	}
	if c.K == 0 {
		c.K = 0.5
	}
	if c.H == 0 {
		c.H = 5
	}
	if c.Cap == 0 {
		c.Cap = 2
	}
	if c.Clamp == 0 {
		c.Clamp = 3
	}
	if c.Warmup == 0 {
		c.Warmup = 60
	}
	c.Guard = c.Guard.withDefaults()
	return c
}

// Validate reports every invalid field, after defaults are applied.
func (c CUSUMConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	errs = checkOpen01(errs, "alpha", c.Alpha)
	errs = checkRange(errs, "k", c.K, 0, 1e6)
	errs = checkRange(errs, "h", c.H, math.SmallestNonzeroFloat64, 1e6)
	errs = checkRange(errs, "cap", c.Cap, 1, 1e6)
	errs = checkRange(errs, "clamp", c.Clamp, math.SmallestNonzeroFloat64, 1e6)
	errs = checkInt(errs, "warmup", c.Warmup, 1, math.MaxInt32)
	errs = c.Guard.validate("", errs)
	return joined(errs)
}

// CUSUM is Page's one-sided cumulative sum test for an increase in rate, in
// the non-parametric form Wang, Zhang and Shin (2002) applied to SYN floods.
// Each observation x is standardized against an exponentially weighted mean μ
// and standard deviation σ (σ at least the [Guard] floor) and accumulated:
//
//	S ← min(max(0, S + (x-μ)/σ - K), Cap·H)
//
// An alarm ([Verdict.High]) is S > H; [Verdict.Score] is S/H. The baseline
// learns x clamped to μ ± Clamp·σ, and not at all while S > H, so a flood does
// not become the new normal. It ignores t. The zero value is not usable; call
// [NewCUSUM].
type CUSUM struct {
	cfg      CUSUMConfig
	n        uint64
	mean     float64
	variance float64
	sum      float64
}

// NewCUSUM returns an empty CUSUM, or the configuration's validation error.
func NewCUSUM(cfg CUSUMConfig) (*CUSUM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &CUSUM{cfg: cfg.withDefaults()}, nil
}

// Config returns the configuration with defaults applied.
func (c *CUSUM) Config() CUSUMConfig { return c.cfg }

// Mean returns the baseline mean μ.
func (c *CUSUM) Mean() float64 { return c.mean }

// StdDev returns the baseline standard deviation before flooring.
func (c *CUSUM) StdDev() float64 { return math.Sqrt(c.variance) }

// Sum returns the cumulative sum S.
func (c *CUSUM) Sum() float64 { return c.sum }

func (c *CUSUM) sigma() float64 {
	return max(math.Sqrt(c.variance), c.cfg.Guard.floor(c.mean))
}

// step returns the verdict for v and the sum after it.
func (c *CUSUM) step(v float64) (Verdict, float64) {
	ready := c.n >= uint64(c.cfg.Warmup)
	if !ready || !finite(v) {
		return Verdict{Value: v, Expected: c.mean, Lower: c.mean, Upper: c.mean, Ready: ready}, c.sum
	}
	sd := c.sigma()
	s := min(max(0, c.sum+(v-c.mean)/sd-c.cfg.K), c.cfg.Cap*c.cfg.H)
	return Verdict{
		Value:    v,
		Expected: c.mean,
		Lower:    c.mean + c.cfg.K*sd,
		Upper:    c.mean + (c.cfg.K+c.cfg.H-c.sum)*sd,
		Score:    s / c.cfg.H,
		Ready:    true,
		Guarded:  c.cfg.Guard.guarded(v, c.mean),
	}, s
}

// Observe scores v, advances the sum and learns v unless the sum is above H.
// A non-finite v is scored 0 and changes nothing.
func (c *CUSUM) Observe(_ int64, v float64) Verdict {
	vd, s := c.step(v)
	if !finite(v) {
		return vd
	}
	c.sum = s
	if s > c.cfg.H {
		return vd
	}
	if c.n == 0 {
		c.mean, c.variance, c.n = v, 0, 1
		return vd
	}
	if c.n >= uint64(c.cfg.Warmup) {
		sd := c.sigma()
		v = min(max(v, c.mean-c.cfg.Clamp*sd), c.mean+c.cfg.Clamp*sd)
	}
	// West's incremental exponentially weighted mean and variance.
	diff := v - c.mean
	incr := c.cfg.Alpha * diff
	c.mean += incr
	c.variance = (1 - c.cfg.Alpha) * (c.variance + diff*incr)
	c.n++
	return vd
}

// Check scores v and advances the sum, but does not teach the baseline.
func (c *CUSUM) Check(_ int64, v float64) Verdict {
	vd, s := c.step(v)
	if finite(v) {
		c.sum = s
	}
	return vd
}

// Reset forgets the baseline and the sum.
func (c *CUSUM) Reset() { c.n, c.mean, c.variance, c.sum = 0, 0, 0, 0 }

// MarshalBinary encodes the learned state (not the configuration).
func (c *CUSUM) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindCUSUM, 32)
	enc.u64(c.n)
	enc.f64(c.mean)
	enc.f64(c.variance)
	enc.f64(c.sum)
	return enc.finish(), nil
}

// UnmarshalBinary restores state written by [CUSUM.MarshalBinary]. A sum
// above this configuration's Cap·H is lowered to it. On error, wrapping
// [ErrCorrupt] or [ErrMismatch], c is unchanged.
func (c *CUSUM) UnmarshalBinary(data []byte) error {
	d, err := newDecoder(data, kindCUSUM)
	if err != nil {
		return err
	}
	n := d.u64()
	mean := d.f64("mean")
	variance := d.nonneg("variance")
	sum := d.nonneg("sum")
	if err := d.done(); err != nil {
		return err
	}
	if n == 0 && (mean != 0 || variance != 0) {
		return fmt.Errorf("%w: baseline without observations", ErrCorrupt)
	}
	c.n, c.mean, c.variance, c.sum = n, mean, variance, min(sum, c.cfg.Cap*c.cfg.H)
	return nil
}
