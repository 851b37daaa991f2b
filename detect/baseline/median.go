package baseline

import (
	"fmt"
	"slices"
)

// MedianConfig configures a [Median]. The zero value of each field selects
// its default.
type MedianConfig struct {
	// Window is the number of most recent learned points kept, at least 3.
	// Default 300.
	Window int
	// K scales the band: median ± K·1.4826·MAD, where 1.4826·MAD estimates
	// the standard deviation of normal data. Default 4.
	K float64
	// Warmup is the number of learned points before verdicts are ready, at
	// most Window. Default Window.
	Warmup int
	// Learn is the policy for anomalous points. Default [LearnClamped].
	Learn Learn
	Guard
}

// MaxWindow bounds [MedianConfig.Window].
const MaxWindow = 1 << 20

func (c MedianConfig) withDefaults() MedianConfig {
	if c.Window == 0 {
		c.Window = 300
	}
	if c.K == 0 {
		c.K = 4
	}
	if c.Warmup == 0 {
		c.Warmup = c.Window
	}
	c.Guard = c.Guard.withDefaults()
	return c
}

// Validate reports every invalid field, after defaults are applied.
func (c MedianConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	errs = checkInt(errs, "window", c.Window, 3, MaxWindow)
	errs = checkRange(errs, "k", c.K, 0, 1e6)
	errs = checkInt(errs, "warmup", c.Warmup, 1, max(1, c.Window))
	errs = checkLearn(errs, c.Learn)
	errs = c.Guard.validate("", errs)
	return joined(errs)
}

// madScale makes the MAD a consistent estimator of σ for normal data:
// 1/Φ⁻¹(3/4).
const madScale = 1.482602218505602

// Median is a rolling median and median absolute deviation (MAD) over the
// last Window learned points: robust to up to half the window being outliers.
// A ring buffer keeps arrival order and a sorted copy gives the median in
// O(1); each update moves O(Window) elements and the MAD takes one O(Window)
// merge walk, without allocating. It ignores t. The zero value is not usable;
// call [NewMedian].
type Median struct {
	cfg    MedianConfig
	ring   []float64 // arrival order, oldest at head once full
	sorted []float64
	head   int
	learnt uint64
}

// NewMedian returns an empty Median, or the configuration's validation error.
func NewMedian(cfg MedianConfig) (*Median, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Median{
		cfg:    cfg,
		ring:   make([]float64, 0, cfg.Window),
		sorted: make([]float64, 0, cfg.Window),
	}, nil
}

// Config returns the configuration with defaults applied.
func (m *Median) Config() MedianConfig { return m.cfg }

// Len returns the number of points in the window.
func (m *Median) Len() int { return len(m.sorted) }

// Median returns the median of the window, or 0 when it is empty.
func (m *Median) Median() float64 { return medianOf(m.sorted) }

// MAD returns the median absolute deviation from the median, unscaled.
func (m *Median) MAD() float64 { return madOf(m.sorted, medianOf(m.sorted)) }

func medianOf(s []float64) float64 {
	n := len(s)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// madOf returns the median of |s[i]-med| for sorted s. The deviations left
// of med and right of it are each sorted by distance from med, so merging
// the two runs outward from med yields them in order.
func madOf(s []float64, med float64) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	j, _ := slices.BinarySearch(s, med) // s[j] is the first element >= med
	i := j - 1
	next := func() float64 {
		if i >= 0 && (j >= n || med-s[i] <= s[j]-med) {
			i--
			return med - s[i+1]
		}
		j++
		return s[j-1] - med
	}
	for range (n - 1) / 2 { // skip the smaller half
		next()
	}
	d := next()
	if n%2 == 1 {
		return d
	}
	return (d + next()) / 2
}

// Observe scores v, then learns it according to the Learn policy. A
// non-finite v is scored 0 and not learned.
func (m *Median) Observe(_ int64, v float64) Verdict {
	vd := m.score(v)
	if !finite(v) {
		return vd
	}
	if x, learn, _ := m.cfg.Learn.learnValue(vd); learn {
		m.insert(x)
	}
	return vd
}

// Check scores v without learning it.
func (m *Median) Check(_ int64, v float64) Verdict { return m.score(v) }

func (m *Median) score(v float64) Verdict {
	med := medianOf(m.sorted)
	ready := m.learnt >= uint64(m.cfg.Warmup)
	if !ready || !finite(v) {
		return Verdict{Value: v, Expected: med, Lower: med, Upper: med, Ready: ready}
	}
	w := m.cfg.K * madScale * madOf(m.sorted, med)
	return m.cfg.Guard.verdict(v, med, w, w)
}

func (m *Median) insert(x float64) {
	if len(m.ring) < m.cfg.Window {
		m.ring = append(m.ring, x)
	} else {
		old := m.ring[m.head]
		m.ring[m.head] = x
		m.head = (m.head + 1) % len(m.ring)
		k, _ := slices.BinarySearch(m.sorted, old)
		m.sorted = slices.Delete(m.sorted, k, k+1)
	}
	k, _ := slices.BinarySearch(m.sorted, x)
	m.sorted = slices.Insert(m.sorted, k, x)
	m.learnt++
}

// Reset forgets everything learned.
func (m *Median) Reset() {
	m.ring, m.sorted, m.head, m.learnt = m.ring[:0], m.sorted[:0], 0, 0
}

// MarshalBinary encodes the window, oldest point first, and the window
// length, which a restoring Median must share.
func (m *Median) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindMedian, 24+8*len(m.ring))
	enc.u64(uint64(m.cfg.Window))
	enc.u64(m.learnt)
	enc.u64(uint64(len(m.ring)))
	for k := range m.ring {
		enc.f64(m.ring[(m.head+k)%len(m.ring)])
	}
	return enc.finish(), nil
}

// UnmarshalBinary restores state written by [Median.MarshalBinary]. It
// returns an error wrapping [ErrMismatch] when the window length differs, or
// [ErrCorrupt] for bad bytes; m is then unchanged.
func (m *Median) UnmarshalBinary(data []byte) error {
	d, err := newDecoder(data, kindMedian)
	if err != nil {
		return err
	}
	if w := d.u64(); d.err == nil && w != uint64(m.cfg.Window) {
		return fmt.Errorf("%w: window %d, want %d", ErrMismatch, w, m.cfg.Window)
	}
	learnt := d.u64()
	n := d.count("length", uint64(m.cfg.Window))
	if d.err == nil && learnt < n {
		d.fail("learned %d < length %d", learnt, n)
	}
	if d.err == nil && uint64(len(d.b)) != 8*n {
		d.fail("length %d does not match %d bytes", n, len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	ring := make([]float64, n, m.cfg.Window)
	for k := range ring {
		ring[k] = d.f64("value")
	}
	if err := d.done(); err != nil {
		return err
	}
	sorted := append(make([]float64, 0, m.cfg.Window), ring...)
	slices.Sort(sorted)
	m.ring, m.sorted, m.head, m.learnt = ring, sorted, 0, learnt
	return nil
}
