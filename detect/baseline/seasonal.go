package baseline

import (
	"fmt"
	"math"
	"time"
)

// SeasonalConfig configures a [Seasonal] estimator. The zero value of each
// field selects its default.
type SeasonalConfig struct {
	// Season is the period of the pattern. Default 24h.
	Season time.Duration
	// Bins is the number of seasonal bins per Season; Season must divide
	// into whole nanoseconds per bin. Default 288 (five-minute bins).
	Bins int
	// Alpha smooths the level, once per bin, in (0, 1]. Default 0.05.
	Alpha float64
	// Beta smooths the trend, once per bin, in [0, 1]; 0 disables the trend
	// (the default), which suits traffic that has no lasting growth within
	// days.
	Beta float64
	// Gamma smooths each bin's seasonal coefficient and deviation, once per
	// season, in (0, 1]. Default 0.1 (a memory of about ten seasons).
	Gamma float64
	// K scales the band: prediction ± K·deviation. Default 4 (about 3.2σ).
	K float64
	// Spread widens the band to the envelope of the Spread neighbouring bins
	// on each side, so a daily event that starts a few minutes early or late
	// does not alert. 0 uses the own bin only.
	Spread int
	// Learn is the policy for anomalous points. Default [LearnClamped].
	Learn Learn
	Guard
}

// MaxBins bounds [SeasonalConfig.Bins].
const MaxBins = 1 << 16

func (c SeasonalConfig) withDefaults() SeasonalConfig {
	if c.Season == 0 {
		c.Season = 24 * time.Hour
	}
	if c.Bins == 0 {
		c.Bins = 288
	}
	if c.Alpha == 0 {
		c.Alpha = 0.05
	}
	if c.Gamma == 0 {
		c.Gamma = 0.1
	}
	if c.K == 0 {
		c.K = 4
	}
	c.Guard = c.Guard.withDefaults()
	return c
}

// Validate reports every invalid field, after defaults are applied.
func (c SeasonalConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Season <= 0 {
		errs = append(errs, fmt.Errorf("season: must be > 0, got %v", c.Season))
	}
	errs = checkInt(errs, "bins", c.Bins, 1, MaxBins)
	if c.Season > 0 && c.Bins > 0 && c.Season%time.Duration(c.Bins) != 0 {
		errs = append(errs, fmt.Errorf("bins: season %v does not divide into %d equal bins", c.Season, c.Bins))
	}
	errs = checkOpen01(errs, "alpha", c.Alpha)
	errs = checkRange(errs, "beta", c.Beta, 0, 1)
	errs = checkOpen01(errs, "gamma", c.Gamma)
	errs = checkRange(errs, "k", c.K, 0, 1e6)
	errs = checkInt(errs, "spread", c.Spread, 0, max(0, c.Bins/2))
	errs = checkLearn(errs, c.Learn)
	errs = c.Guard.validate("", errs)
	return joined(errs)
}

// Seasonal is Holt-Winters forecasting with Brutlag's confidence band
// (Brutlag 2000, "Aberrant behavior detection in time series for network
// monitoring"), adapted to observations that arrive much more often than the
// seasonal bins: every second, with five-minute bins.
//
// Observations are grouped by bin (t divided by the bin width). For the open
// bin b the prediction is ŷ = level + trend + season[b], and each point is
// scored against ŷ ± K·dev[b] (widened by Spread). When time moves into a new
// bin, the closed bin's mean ȳ and mean absolute prediction error ē update the
// model with the Holt-Winters equations:
//
//	ŷ         = level + trend + season[b]
//	e*        = clamp(ȳ - ŷ, ±max(2·σ, floor))
//	σ'        = Alpha·|e*| + (1-Alpha)·σ
//	level'    = Alpha·(ŷ + e* - season[b]) + (1-Alpha)·(level + trend)
//	trend'    = Beta·(level' - level) + (1-Beta)·trend
//	season[b] = Gamma·(ȳ - level') + (1-Gamma)·season[b]
//	dev[b]    = Gamma·ē + (1-Gamma)·dev[b]
//
// so dev[b] measures the spread of single observations, not of bin means.
// σ is a robust scale of bin-mean innovations that starts at the mean of
// dev[b] after learning. The cleaned innovation e* (Gelper, Fried and Croux
// 2010) keeps a bin that differs from
// its history, such as the edge of a nightly backup that started a few
// minutes early, from dragging the level of the whole day; the seasonal term
// still learns the raw ȳ, so a daily event that moves for good is learned at
// rate Gamma per season.
// Bins without observations are skipped. The first full season is learning:
// each bin's mean and standard deviation (times √(2/π), the mean absolute
// deviation of a normal distribution) seed season[b] and dev[b], the level
// starts at the mean of the bin means, and bins never seen get a zero seasonal
// term and the average deviation. t must not go backwards; an earlier t is
// treated as belonging to the open bin. The zero value is not usable; call
// [NewSeasonal].
type Seasonal struct {
	cfg   SeasonalConfig
	width int64 // bin width in ns

	started bool
	ready   bool
	first   int64 // bin sequence number of the first observation
	cur     int64 // bin sequence number of the open bin

	level, trend float64
	innov        float64 // robust scale of bin-mean innovations
	season, dev  []float64
	seen         []bool // bins observed during learning

	// Open bin accumulators.
	n, nErr             uint64
	sum, sumSq, sumAbsE float64
}

// NewSeasonal returns an empty Seasonal estimator, or the configuration's
// validation error.
func NewSeasonal(cfg SeasonalConfig) (*Seasonal, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Seasonal{
		cfg:    cfg,
		width:  int64(cfg.Season) / int64(cfg.Bins),
		season: make([]float64, cfg.Bins),
		dev:    make([]float64, cfg.Bins),
		seen:   make([]bool, cfg.Bins),
	}, nil
}

// Config returns the configuration with defaults applied.
func (s *Seasonal) Config() SeasonalConfig { return s.cfg }

// Bin returns the seasonal bin that holds time t.
func (s *Seasonal) Bin(t int64) int { return s.binOf(floorDiv(t, s.width)) }

func (s *Seasonal) binOf(seq int64) int {
	b := seq % int64(s.cfg.Bins)
	if b < 0 {
		b += int64(s.cfg.Bins)
	}
	return int(b)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Observe scores v at time t, then learns it according to the Learn policy.
// A non-finite v is scored 0 and not learned.
func (s *Seasonal) Observe(t int64, v float64) Verdict {
	s.advance(t)
	vd := s.score(v)
	if !finite(v) {
		return vd
	}
	x, learn, clamped := s.cfg.Learn.learnValue(vd)
	if !learn {
		return vd
	}
	s.n++
	s.sum += x
	s.sumSq += x * x
	if s.ready && !clamped {
		s.nErr++
		s.sumAbsE += math.Abs(x - vd.Expected)
	}
	return vd
}

// Check scores v at time t without learning it; it still closes bins that t
// has moved past.
func (s *Seasonal) Check(t int64, v float64) Verdict {
	s.advance(t)
	return s.score(v)
}

// Ready reports whether the learning season is over.
func (s *Seasonal) Ready() bool { return s.ready }

// Level returns the current level.
func (s *Seasonal) Level() float64 { return s.level }

// Trend returns the current trend per bin.
func (s *Seasonal) Trend() float64 { return s.trend }

// Profile copies the seasonal coefficients and deviations into season and dev
// (each of length Bins, or nil to skip).
func (s *Seasonal) Profile(season, dev []float64) {
	copy(season, s.season)
	copy(dev, s.dev)
}

func (s *Seasonal) advance(t int64) {
	seq := floorDiv(t, s.width)
	if !s.started {
		s.started, s.first, s.cur = true, seq, seq
		return
	}
	if seq > s.cur {
		s.closeBin()
		s.cur = seq
	}
}

func (s *Seasonal) score(v float64) Verdict {
	if !s.ready || !finite(v) {
		return Verdict{Value: v, Ready: s.ready}
	}
	b := s.binOf(s.cur)
	base := s.level + s.trend
	pred := base + s.season[b]
	hi, lo := pred+s.cfg.K*s.dev[b], pred-s.cfg.K*s.dev[b]
	for o := 1; o <= s.cfg.Spread; o++ {
		for _, j := range [2]int{s.binOf(int64(b + o)), s.binOf(int64(b - o))} {
			p := base + s.season[j]
			hi = max(hi, p+s.cfg.K*s.dev[j])
			lo = min(lo, p-s.cfg.K*s.dev[j])
		}
	}
	return s.cfg.Guard.verdict(v, pred, pred-lo, hi-pred)
}

// levelClamp bounds a bin's innovation, in units of the innovation scale,
// before it reaches the level and trend.
const levelClamp = 2

// closeBin folds the open bin into the model.
func (s *Seasonal) closeBin() {
	b := s.binOf(s.cur)
	if s.n > 0 {
		n := float64(s.n)
		mean := s.sum / n
		if !s.ready {
			s.season[b] = mean
			s.dev[b] = math.Sqrt(max(0, s.sumSq/n-mean*mean)) * math.Sqrt(2/math.Pi)
			s.seen[b] = true
		} else {
			// Huber-style cleaning of the bin's innovation (Gelper, Fried and
			// Croux 2010): a bin that differs from its own history only
			// because a daily event came early or late moves the level by
			// at most Alpha·levelClamp·innov.
			a := s.level
			pred := s.level + s.trend + s.season[b]
			c := max(levelClamp*s.innov, s.cfg.Guard.floor(pred))
			e := min(max(mean-pred, -c), c)
			s.innov = s.cfg.Alpha*math.Abs(e) + (1-s.cfg.Alpha)*s.innov
			y := pred + e
			s.level = s.cfg.Alpha*(y-s.season[b]) + (1-s.cfg.Alpha)*(s.level+s.trend)
			s.trend = s.cfg.Beta*(s.level-a) + (1-s.cfg.Beta)*s.trend
			s.season[b] = s.cfg.Gamma*(mean-s.level) + (1-s.cfg.Gamma)*s.season[b]
			if s.nErr > 0 {
				s.dev[b] = s.cfg.Gamma*(s.sumAbsE/float64(s.nErr)) + (1-s.cfg.Gamma)*s.dev[b]
			}
		}
	}
	s.n, s.nErr, s.sum, s.sumSq, s.sumAbsE = 0, 0, 0, 0, 0
	if !s.ready && s.cur-s.first+1 >= int64(s.cfg.Bins) {
		s.finishLearning()
	}
}

func (s *Seasonal) finishLearning() {
	var k int
	var sumMean, sumDev float64
	for i, ok := range s.seen {
		if ok {
			k++
			sumMean += s.season[i]
			sumDev += s.dev[i]
		}
	}
	if k == 0 {
		return // nothing seen yet: keep learning
	}
	s.level, s.trend, s.innov = sumMean/float64(k), 0, sumDev/float64(k)
	for i, ok := range s.seen {
		if ok {
			s.season[i] -= s.level
		} else {
			s.season[i], s.dev[i] = 0, sumDev/float64(k)
		}
	}
	clear(s.seen)
	s.ready = true
}

// Reset forgets everything learned.
func (s *Seasonal) Reset() {
	s.started, s.ready, s.first, s.cur = false, false, 0, 0
	s.level, s.trend, s.innov = 0, 0, 0
	clear(s.season)
	clear(s.dev)
	clear(s.seen)
	s.n, s.nErr, s.sum, s.sumSq, s.sumAbsE = 0, 0, 0, 0, 0
}

// MarshalBinary encodes the learned state, including Season and Bins, which a
// restoring estimator must share.
func (s *Seasonal) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindSeasonal, 100+17*len(s.season))
	enc.i64(int64(s.cfg.Season))
	enc.u64(uint64(s.cfg.Bins))
	enc.bool(s.started)
	enc.bool(s.ready)
	enc.i64(s.first)
	enc.i64(s.cur)
	enc.f64(s.level)
	enc.f64(s.trend)
	enc.f64(s.innov)
	enc.u64(s.n)
	enc.u64(s.nErr)
	enc.f64(s.sum)
	enc.f64(s.sumSq)
	enc.f64(s.sumAbsE)
	for i := range s.season {
		enc.f64(s.season[i])
		enc.f64(s.dev[i])
		enc.bool(s.seen[i])
	}
	return enc.finish(), nil
}

// UnmarshalBinary restores state written by [Seasonal.MarshalBinary]. It
// returns an error wrapping [ErrMismatch] when Season or Bins differ from s's
// configuration, or [ErrCorrupt] for bad bytes; s is then unchanged.
func (s *Seasonal) UnmarshalBinary(data []byte) error {
	d, err := newDecoder(data, kindSeasonal)
	if err != nil {
		return err
	}
	season, bins := d.i64(), d.u64()
	if d.err == nil && (season != int64(s.cfg.Season) || bins != uint64(s.cfg.Bins)) {
		return fmt.Errorf("%w: season %v in %d bins, want %v in %d", ErrMismatch,
			time.Duration(season), bins, s.cfg.Season, s.cfg.Bins)
	}
	n := &Seasonal{cfg: s.cfg, width: s.width,
		season: make([]float64, len(s.season)), dev: make([]float64, len(s.dev)), seen: make([]bool, len(s.seen))}
	n.started = d.bool("started")
	n.ready = d.bool("ready")
	n.first, n.cur = d.i64(), d.i64()
	n.level, n.trend, n.innov = d.f64("level"), d.f64("trend"), d.nonneg("innovation_scale")
	n.n, n.nErr = d.u64(), d.u64()
	n.sum, n.sumSq, n.sumAbsE = d.f64("sum"), d.nonneg("sum_sq"), d.nonneg("sum_abs_err")
	for i := range n.season {
		n.season[i] = d.f64("season")
		n.dev[i] = d.nonneg("deviation")
		n.seen[i] = d.bool("seen")
	}
	if err := d.done(); err != nil {
		return err
	}
	switch {
	case n.cur < n.first:
		return fmt.Errorf("%w: open bin before first bin", ErrCorrupt)
	case n.nErr > n.n:
		return fmt.Errorf("%w: error count exceeds count", ErrCorrupt)
	case !n.started && (n.ready || n.n != 0):
		return fmt.Errorf("%w: state without observations", ErrCorrupt)
	}
	*s = *n
	return nil
}
