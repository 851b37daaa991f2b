package baseline

import (
	"fmt"
	"math"
)

// CountConfig configures a [Count]. The zero value of each field selects its
// default, and every default comes from a principle stated on its field, not
// from a data set.
type CountConfig struct {
	// Ratios are the design shifts ρ of the parallel sequential tests: each
	// test is quickest at detecting a rate of ρ times the expected one.
	// Default {3, 20}: 3 is the smallest rise the detectors are asked to
	// find (a 3× flood), and 20 makes a near-zero series (unanswered SYNs,
	// whose normal rate is tiny) and a large flood alarm within seconds.
	// A test ignores rises below (ρ−1)/ln ρ times the expected rate (1.8×
	// for ρ = 3), so ordinary minute-scale burstiness never accumulates.
	Ratios []float64
	// H is the decision threshold in nats of log-likelihood ratio. Default
	// 20: for a Poisson CUSUM the mean time between false alarms is at least
	// e^H observations (Lorden 1971), so with two tests it is above 2.4·10⁸
	// one-second intervals (about 7,500 years) per series when the model
	// holds. The margin pays for what the model does not capture
	// (over-dispersion beyond the estimated factor, a level that lags a
	// slow change) over the hundreds of series a sensor runs.
	H float64
	// Memory is the level's memory in observations: the level is an
	// exponentially weighted mean with α = 1/Memory, or over minEvents
	// events when they take longer to arrive (see minEvents). Default 300 (five
	// minutes of one-second intervals): traffic's daily cycle moves a rate
	// by well under 1 % a minute, so a five-minute mean tracks it, while
	// an attack that lasts minutes is not learned (points are clamped and
	// nothing is learned during an alarm). It also floors the expected rate
	// at 1/Memory per observation: one event per memory is the smallest
	// rate that a memory of data can tell from zero.
	Memory int
	// Warmup is the number of learned observations before the learned level
	// is trusted. Until then the verdict is judged against the prior given
	// to [Count.Step] (and is not ready without one). Default Memory.
	Warmup int
	// Cap bounds each sum at Cap·H, so after an attack the sum falls below H
	// within (Cap−1)·H nats of negative drift. Default 1.25.
	Cap float64
	// Guard is the delay, in learnable observations, before an observation
	// is learned; an alarm discards the observations still waiting. Default
	// 120. A rise gathers its evidence over many intervals, and until it
	// alarms each of its counts looks only mildly high; learned at once,
	// the first counts of a slow rise raise the level and, on a near-zero
	// series, the dispersion that divides the evidence, so the test learns
	// the rise instead of finding it (one event in a second is 300 times
	// the variance a floor rate of 1/300 expects). The guard band between
	// the observation under test and the reference it is judged against is
	// the remedy of radar's CFAR detectors (guard cells around the cell
	// under test) and of the CDC's EARS C2/C3 outbreak detectors (a two-day
	// lag, Hutwagner et al. 2003). 120 is twice the longest time the
	// detectors are asked to take for the slowest rise they must find (a 3×
	// flood within 60 s), so a rise found within its deadline was never
	// learned, with the same again for an onset that creeps before it
	// counts. Memory: 8 bytes per guarded observation.
	Guard int
}

func (c CountConfig) withDefaults() CountConfig {
	if len(c.Ratios) == 0 {
		c.Ratios = []float64{3, 20}
	}
	if c.H == 0 {
		c.H = 20
	}
	if c.Memory == 0 {
		c.Memory = 300
	}
	if c.Warmup == 0 {
		c.Warmup = c.Memory
	}
	if c.Cap == 0 {
		c.Cap = 1.25
	}
	if c.Guard == 0 {
		c.Guard = 120
	}
	return c
}

// maxRatios bounds the parallel tests of one [Count].
const maxRatios = 4

// Validate reports every invalid field, after defaults are applied.
func (c CountConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if len(c.Ratios) > maxRatios {
		errs = append(errs, fmt.Errorf("ratios: at most %d, got %d", maxRatios, len(c.Ratios)))
	}
	for i, r := range c.Ratios {
		errs = checkRange(errs, fmt.Sprintf("ratios[%d]", i), r, 1.01, 1e6)
	}
	errs = checkRange(errs, "h", c.H, math.SmallestNonzeroFloat64, 1e6)
	errs = checkInt(errs, "memory", c.Memory, 1, math.MaxInt32)
	errs = checkInt(errs, "warmup", c.Warmup, 1, math.MaxInt32)
	errs = checkRange(errs, "cap", c.Cap, 1, 1e6)
	errs = checkInt(errs, "guard", c.Guard, 1, 1<<16)
	return joined(errs)
}

// Count is a sequential test for a rise in a count per interval (SYNs,
// unanswered SYNs, ClientHellos, QUIC Initials): counts are counts, so each
// observation is scored with the Poisson log-likelihood ratio of a rate ρ·λ
// against the expected rate λ, and evidence accumulates in Page's CUSUM:
//
//	S_ρ ← min(max(0, S_ρ + (x·ln ρ − (ρ−1)·λ)/φ), Cap·H)      alarm while S_ρ > H
//
// for each design ratio ρ. φ ≥ 1 is the dispersion (variance over mean) of
// the learned series, which turns the Poisson likelihood into a
// quasi-likelihood for over-dispersed traffic (McCullagh and Nelder 1989).
// The same configuration serves every scale: a 3× rise at 500 per second
// gains hundreds of nats in one interval, one at 0.5 per second about 0.65
// nats a second and alarms after about half a minute.
//
// λ is an exponentially weighted mean of learned counts. Until Warmup counts
// have been learned it is the caller's prior (see [Count.Step]), so a test
// with a prior has no blind start. [Verdict.Score] is max S_ρ / H;
// [Verdict.Upper] is the smallest count that would alarm at this step. Not
// safe for concurrent use.
type Count struct {
	cfg   CountConfig
	logs  [maxRatios]float64
	n     uint64
	level float64
	disp  float64 // dispersion φ of single counts, at least 1
	dispB float64 // dispersion of sums over a block of observations, at least 1
	bx    float64 // the current block's learned counts
	bl    float64 // and their expectations
	bn    int     // observations in the current block
	sums  [maxRatios]float64
	// In alarm: mu is the smoothed rate of the rise (its current rate, for
	// Rebase), rise its mean rate since the alarm began over nrise
	// observations, and down the evidence (in nats) that the rate has
	// fallen back from rise to the expected one.
	mu, rise, down float64
	nrise          int
	// held counts the observations in a row not learned because the
	// evidence stood between half the threshold and the threshold.
	held  int
	prior bool // the last verdict was judged against the prior
	// pend holds the last Guard learnable observations, oldest at head,
	// waiting to be learned (see CountConfig.Guard); lam < 0 marks one that
	// was scored but may not be learned.
	pend       []pendingCount
	head, npnd int
}

// pendingCount is an observation waiting out the guard: the count and the
// rate it was judged against. Single precision is ample for an
// exponentially weighted mean and halves the guard's memory.
type pendingCount struct{ x, lam float32 }

// NewCount returns an empty Count, or the configuration's validation error.
func NewCount(cfg CountConfig) (*Count, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Count{cfg: cfg.withDefaults(), disp: 1, dispB: 1}
	c.pend = make([]pendingCount, c.cfg.Guard)
	c.cfg.Ratios = append([]float64(nil), c.cfg.Ratios...)
	for i, r := range c.cfg.Ratios {
		c.logs[i] = math.Log(r)
	}
	return c, nil
}

// Config returns the configuration with defaults applied.
func (c *Count) Config() CountConfig { return c.cfg }

// Learned reports whether Warmup counts have been learned.
func (c *Count) Learned() bool { return c.n >= uint64(c.cfg.Warmup) }

// Level returns the learned mean count per interval.
func (c *Count) Level() float64 { return c.level }

// Dispersion returns the learned dispersion φ (at least 1): the larger of
// the variance-to-mean ratios of single counts and of sums over blockLen
// counts. Rates that wander from minute to minute correlate neighbouring
// counts, which single counts do not show but a CUSUM, which sums them,
// feels.
func (c *Count) Dispersion() float64 { return max(c.disp, c.dispB) }

// CountDispersion returns the learned dispersion of single counts (at least
// 1), without the block dispersion: how widely one count scatters about
// its rate, for a caller that estimates the current rate from a few counts
// and must not count the wandering of the rate itself as noise.
func (c *Count) CountDispersion() float64 { return c.disp }

// blockLen is the number of observations summed for the block dispersion:
// ten seconds, the time over which a CUSUM gathers its evidence for a rise
// of a few times the rate.
const blockLen = 10

// Sum returns the largest of the cumulative sums, in nats.
func (c *Count) Sum() float64 {
	s := 0.0
	for i := range c.cfg.Ratios {
		s = max(s, c.sums[i])
	}
	return s
}

// Prior reports whether the last verdict was judged against the prior rather
// than the learned level.
func (c *Count) Prior() bool { return c.prior }

// expected returns the rate to test against and whether it is the prior's.
func (c *Count) expected(prior float64) (float64, bool) {
	floor := 1 / float64(c.cfg.Memory)
	if c.Learned() {
		return max(c.level, floor), false
	}
	if prior > 0 {
		return max(prior, floor), true
	}
	return 0, false
}

// Step scores the count x of one interval against the expected rate, advances
// the sums and, when learn is set and no test holds more than half the
// threshold's evidence, learns x once Guard more learnable observations have
// passed without an alarm. prior is
// the caller's expectation for this interval before the level is learned (a
// rate every normal network stays under, such as "almost every SYN is
// answered"), or 0 for none: then verdicts are not ready until Warmup counts
// have been learned. A negative or non-finite x is scored as 0 and not
// learned.
func (c *Count) Step(x, prior float64, learn bool) Verdict {
	if !finite(x) || x < 0 {
		x, learn = 0, false
	}
	lam, fromPrior := c.expected(prior)
	c.prior = fromPrior
	vd := Verdict{Value: x, Expected: lam, Lower: lam, Upper: lam}
	if lam > 0 {
		vd.Ready = true
		disp := c.Dispersion()
		need := math.Inf(1)
		top := 0.0
		for i := range c.cfg.Ratios {
			r := c.cfg.Ratios[i]
			// The count that takes this sum to H from where it stands.
			need = min(need, ((c.cfg.H-c.sums[i])*disp+(r-1)*lam)/c.logs[i])
			s := c.sums[i] + (x*c.logs[i]-(r-1)*lam)/disp
			c.sums[i] = min(max(0, s), c.cfg.Cap*c.cfg.H)
			top = max(top, c.sums[i])
		}
		vd.Upper = max(lam, need)
		vd.Score = top / c.cfg.H
		c.endAlarm(x, lam, disp, top)
		if c.Sum() == 0 {
			vd.Score = min(vd.Score, 1) // the rise just ended
		}
	}
	// Learn only while the evidence of a rise stays under half the
	// threshold (odds of e^(H/2) to one): a rise that is building up must
	// not teach the level to expect it. Evidence that lingers there for a
	// whole memory without ever reaching the threshold is no rise: on a
	// near-zero series a few events keep the slow test's sum up for long,
	// and the level must go on learning meanwhile.
	switch {
	case vd.Score <= 0.5:
		c.held = 0
	case vd.Score <= 1:
		c.held++
	default:
		c.held = 0
	}
	switch {
	case vd.Score > 1:
		c.npnd = 0 // the rise's build-up is not normal either
		if learn {
			c.guard(0, -1)
		}
	case learn && (vd.Score <= 0.5 || c.held >= c.cfg.Memory):
		c.guard(x, lam)
	case learn:
		c.guard(0, -1)
	}
	return vd
}

// guard queues an observation (lam < 0: not to be learned) and learns the
// one that has waited Guard observations.
func (c *Count) guard(x, lam float64) {
	if c.npnd == len(c.pend) {
		old := c.pend[c.head]
		c.head = (c.head + 1) % len(c.pend)
		c.npnd--
		if old.lam >= 0 {
			c.learn(float64(old.x), float64(old.lam))
		}
	}
	c.pend[(c.head+c.npnd)%len(c.pend)] = pendingCount{float32(x), float32(lam)}
	c.npnd++
}

// endThreshold is the evidence, in nats, that ends an alarm: odds of about
// 1000 to 1 that the rate has fallen from the rise's rate back to the
// expected one. It needs far less evidence than an alarm, since the rise
// itself is no longer in doubt, only whether it goes on.
const endThreshold = 7

// endAlarm ends an alarm on evidence that the rate is back to normal. A
// CUSUM alone drains at the design allowance (ρ−1)·λ per interval, which on
// a near-zero series (unanswered SYNs) would hold an alarm for many minutes
// after a flood of thousands per second stopped. So while in alarm, a
// second, downward CUSUM tests the expected rate λ against the rise's rate
// μ, and when it passes endThreshold every sum restarts at 0. μ is the
// rise's mean rate since the alarm began (its maximum-likelihood estimate
// under one rise rate), not a fast-moving average: an average that follows
// the counts down after the rise ends soon stands near λ itself, and then
// the evidence that the rate fell from μ to λ stops growing (after a flood
// of 2/s over 0.01/s it never reached the threshold, and the alarm drained
// for minutes, re-firing on the next stray attempt).
func (c *Count) endAlarm(x, lam, disp, top float64) {
	if top <= c.cfg.H {
		if c.mu != 0 || c.down != 0 || c.nrise != 0 {
			c.mu, c.rise, c.down, c.nrise = 0, 0, 0, 0
		}
		return
	}
	if c.mu == 0 {
		c.mu = max(x, lam)
	} else {
		c.mu += 0.3 * (x - c.mu)
	}
	c.nrise++
	c.rise += (x - c.rise) / float64(c.nrise)
	mu := max(c.rise, lam*1.01)
	c.down = max(0, c.down+(x*math.Log(lam/mu)+(mu-lam))/disp)
	if c.down > endThreshold {
		c.sums = [maxRatios]float64{}
		c.mu, c.rise, c.down, c.nrise = 0, 0, 0, 0
	}
}

// learn updates the level and the dispersion with x, clamped to the
// expected rate plus three standard deviations so that a rise that has not
// yet alarmed cannot drag the level up with it.
func (c *Count) learn(x, lam float64) {
	if lam > 0 {
		x = min(x, lam+3*math.Sqrt(c.disp*lam)+1)
	}
	c.n++
	m := max(c.level, 1/float64(c.cfg.Memory))
	// A plain mean until the window is full, then an exponentially weighted
	// one over the window.
	a := 1 / min(float64(c.n), c.window(m))
	d := x - c.level
	c.level += a * d
	if c.n > 1 {
		// φ tracks E[(x−λ)²]/λ; at least 1 (Poisson), at most maxDisp.
		c.disp = min(max(1, c.disp+a*(d*d/m-c.disp)), maxDisp)
	}
	// Blocks compare their sum with the learned level's (not with a prior
	// the count was judged against), weighted as single counts are: a plain
	// mean over blocks until the window is full.
	c.bx, c.bl, c.bn = c.bx+x, c.bl+m, c.bn+1
	if c.bn == blockLen {
		db := c.bx - c.bl
		ab := min(1, blockLen*a)
		c.dispB = min(max(1, c.dispB+ab*(db*db/c.bl-c.dispB)), maxDisp)
		c.bx, c.bl, c.bn = 0, 0, 0
	}
}

// minEvents is the number of events the learned level and dispersion rest
// on at least. A rate is known from the events seen, not from the intervals
// (its relative error is about 1/√events), so at a rate m per observation
// the window is Memory observations or minEvents/m, whichever is longer: a
// series of 0.01 per second would otherwise estimate its level from the
// three events of its last five minutes, wrong by half either way, and an
// alarm that begins while the level happens to stand at half the true rate
// never ends, since nothing is learned during it. With 100 events the
// level is within about 10 % (the slow test ignores rises below 1.8×) and
// the dispersion within about 14 %. Quiet series learn more slowly in
// exchange, which suits them: the unanswered attempts that make them up
// (scanners, failed clients) do not follow the daily cycle.
const minEvents = 100

// window returns the learning window in observations at a level m per
// observation.
func (c *Count) window(m float64) float64 {
	return max(float64(c.cfg.Memory), minEvents/m)
}

// maxDisp bounds the dispersion, so that a burst of learned noise cannot
// make the test deaf.
const maxDisp = 100

// Rebase accepts a rise as the new normal: the level becomes the rise's
// smoothed rate (when in alarm) and every sum restarts at zero. Callers use
// it when a rise has lasted long without the evidence of an attack, such as
// an organic ramp.
func (c *Count) Rebase() {
	if c.mu > 0 {
		c.level = c.mu
	}
	c.sums = [maxRatios]float64{}
	c.mu, c.rise, c.down, c.nrise, c.held = 0, 0, 0, 0, 0
}

// Reset forgets everything learned, as if newly constructed.
func (c *Count) Reset() {
	c.n, c.level, c.disp, c.dispB, c.prior = 0, 0, 1, 1, false
	c.bx, c.bl, c.bn = 0, 0, 0
	c.sums = [maxRatios]float64{}
	c.mu, c.rise, c.down, c.nrise, c.held = 0, 0, 0, 0, 0
	c.npnd = 0
}

// MarshalBinary encodes the learned state (not the configuration). The
// observations still waiting out the guard are not saved: a restored Count
// has simply learned a little less.
func (c *Count) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindCount, 32+8*maxRatios)
	enc.u64(c.n)
	enc.f64(c.level)
	enc.f64(c.disp)
	enc.f64(c.dispB)
	enc.u8(uint8(len(c.cfg.Ratios)))
	for i := range c.cfg.Ratios {
		enc.f64(c.sums[i])
	}
	return enc.finish(), nil
}

// UnmarshalBinary restores state written by [Count.MarshalBinary]. Sums
// above this configuration's Cap·H are lowered to it. On error, wrapping
// [ErrCorrupt] or [ErrMismatch], c is unchanged.
func (c *Count) UnmarshalBinary(data []byte) error {
	d, err := newDecoder(data, kindCount)
	if err != nil {
		return err
	}
	n := d.u64()
	level := d.nonneg("level")
	disp := d.f64("dispersion")
	dispB := d.f64("block dispersion")
	k := int(d.u8())
	if d.err == nil && k != len(c.cfg.Ratios) {
		return fmt.Errorf("%w: %d tests, want %d", ErrMismatch, k, len(c.cfg.Ratios))
	}
	var sums [maxRatios]float64
	for i := range k {
		sums[i] = min(d.nonneg("sum"), c.cfg.Cap*c.cfg.H)
	}
	if err := d.done(); err != nil {
		return err
	}
	if disp < 1 || disp > maxDisp || dispB < 1 || dispB > maxDisp {
		return fmt.Errorf("%w: dispersion %v or %v outside [1, %v]", ErrCorrupt, disp, dispB, maxDisp)
	}
	if n == 0 && level != 0 {
		return fmt.Errorf("%w: level without observations", ErrCorrupt)
	}
	c.n, c.level, c.disp, c.dispB, c.sums, c.prior = n, level, disp, dispB, sums, false
	c.bx, c.bl, c.bn = 0, 0, 0
	c.npnd = 0
	return nil
}
