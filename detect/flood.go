package detect

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/monitor443/monitor443/detect/baseline"
)

// The count detectors (syn_flood, quic_flood, and request_burst at the
// global and server scopes) judge counts with count
// statistics (baseline.Count): a flood is many more events than the learned
// rate makes plausible, and the evidence for it accumulates in nats of
// log-likelihood ratio until it passes the test's threshold. No absolute
// volume guard applies: a 3× flood on a quiet site is found by accumulating
// evidence for longer, a large one within a second.

// Priors for the start, before a baseline is learned (see floodPrior).
const (
	// priorScanRate is the rate of unanswered SYNs per monitored server
	// that background scanning of the internet can explain before anything
	// is learned: 0.05/s, about 4,300 a day per address. Published surveys
	// of internet-wide scanning (Durumeric et al. 2014; Richter and Berger
	// 2019) put the probes one address receives on one port well below
	// that, so the prior errs toward quiet.
	priorScanRate = 0.05
	// priorFailShare is the share of connection attempts that may fail
	// normally, expressed against completed handshakes: up to one failure
	// for four completions. Almost every SYN a service gets is answered and
	// completes; a completion ratio that collapses while unanswered SYNs
	// pile up is a flood on any network.
	priorFailShare = 0.25
	// hsAlpha smooths the handshake rate the prior scales with (a memory of
	// about ten intervals): completions are not inflated by a spoofed
	// flood, so they say how busy the service normally is.
	hsAlpha = 0.1
)

// Detection deadlines set the count tests' guards (baseline.CountConfig.Guard:
// an observation is learned only after the guard has passed without an
// alarm). The guard is twice the time a detector is asked to take to find
// the slowest rise it must find, so that a rise found within its deadline
// was never learned. A longer guard only makes the learned level lag the
// daily cycle more, which on the hello series, which follows that cycle,
// shows as alarms at the morning ramp.
const (
	// floodDeadline: a 3× SYN or QUIC flood is to be found within a
	// minute.
	floodDeadline = 60 * time.Second
	// burstDeadline: a request burst is to be found within 10 s.
	burstDeadline = 10 * time.Second
)

// newCount returns a count test whose learned rate is trusted after the
// Learning period and which learns an observation once twice deadline has
// passed without an alarm.
func (s *stage) newCount(deadline time.Duration) *baseline.Count {
	guard := max(1, int(int64(2*deadline)/s.iv))
	return must(baseline.NewCount(baseline.CountConfig{Warmup: s.warmup(), Guard: guard}))
}

// saveCount adds a count test's state to out under prefix|count.
func saveCount(c *baseline.Count, prefix string, out map[string][]byte) {
	if d, err := c.MarshalBinary(); err == nil {
		out[prefix+"|count"] = d
	}
}

// attempts counts the connection attempts (SYNs, QUIC first Initials) that
// no completion answered. Completions are counted per interval, and each
// knows whether its flow began in this interval or before: an interval's
// own completions pay for its own attempts, and its late ones (flows that
// began before it) for the previous interval's attempts still unpaid; what
// the late ones leave unpaid is unanswered. An attempt thus has the rest of
// its interval and the whole next one to complete, and a flood's attempts
// are counted one interval late. Knowing which completions are late keeps
// the count exact when the rate changes: a rise must not spend the previous
// interval's late answers on its own attempts (that would count them as
// unanswered), and a fall must not leave attempts paid by the wrong
// interval.
type attempts struct {
	pending uint64 // the previous interval's unpaid attempts
	last    uint64 // the previous interval's attempts
	judged  uint64 // the attempts of the interval the last step judged
}

// step accounts one interval's attempts n and completions done, of which
// late belong to flows that began before the interval, and returns the
// previous interval's attempts that were never answered.
func (x *attempts) step(n, done, late uint64) uint64 {
	late = min(late, done)
	u := x.pending - min(x.pending, late)
	x.pending = n - min(n, done-late)
	x.judged, x.last = x.last, n
	return u
}

// why says what the last step judged, for an alert: its unanswered count u
// belongs to the interval before, whose attempts it names, while now
// describes the interval that just closed.
func (x *attempts) why(u uint64, now string) string {
	return fmt.Sprintf("%d of the %d attempts begun the interval before were never answered; this interval: %s", u, x.judged, now)
}

// floodWhy explains a flood verdict: what was counted against what, and how
// strong the evidence is.
func (s *stage) floodWhy(c *baseline.Count, vd baseline.Verdict, what, extra string) string {
	against := "the learned rate"
	if c.Prior() {
		against = "the prior for an unlearned network (at most one failed attempt per four completed handshakes, plus background scanning)"
	}
	d := fmt.Sprintf("%s %s/s judged against %s of %s/s: evidence %.0f nats (threshold %.0f)", what,
		fmtSmall(vd.Value/s.ivSec), against, fmtSmall(vd.Expected/s.ivSec), c.Sum(), c.Config().H)
	return joinDetail(d, extra)
}

// perSecond converts a count verdict to per-second values for alerts and
// metrics; the score is unchanged.
func (s *stage) perSecond(vd baseline.Verdict) baseline.Verdict {
	vd.Value /= s.ivSec
	vd.Expected /= s.ivSec
	vd.Lower /= s.ivSec
	vd.Upper /= s.ivSec
	if math.IsInf(vd.Upper, 0) {
		vd.Upper = vd.Expected
	}
	return vd
}

// fmtSmall formats a rate with two significant digits, so that the small
// learned rates of count tests (0.0033/s) do not print as 0.
func fmtSmall(v float64) string {
	if math.Abs(v) >= 10 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}
