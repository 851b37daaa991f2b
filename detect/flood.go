package detect

import (
	"fmt"
	"math"
	"strconv"

	"github.com/monitor443/monitor443/detect/baseline"
)

// Flood detectors (syn_flood, quic_flood) judge counts with count
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

// floodState is a flood detector's per-track state.
type floodState struct {
	cnt *baseline.Count
	// pending is the last interval's SYNs that no handshake completed yet:
	// a handshake may complete in the interval after its SYN, so a SYN
	// counts as unanswered only when the next interval has not completed it
	// either (a delay of one interval).
	pending uint64
	// hs is the smoothed handshakes per interval.
	hs float64
	// since is when the current alarm began without the evidence that makes
	// it an incident (request_burst), 0 when none.
	since int64
	// recent holds the last mixWindow+onsetWindow counts (request_burst),
	// rn written.
	recent [mixWindow + onsetWindow]float64
	rn     int
}

// window records x and returns the sum of the last mixWindow counts and how
// many there are.
func (fs *floodState) window(x float64) (sum float64, n int) {
	const l = len(fs.recent)
	fs.recent[fs.rn%l] = x
	fs.rn++
	n = min(fs.rn, mixWindow)
	for i := range n {
		sum += fs.recent[(fs.rn-1-i)%l]
	}
	return sum, n
}

// before returns the sum of the onsetWindow counts before the last
// mixWindow ones, and how many there are.
func (fs *floodState) before() (sum float64, n int) {
	const l = len(fs.recent)
	n = min(max(0, fs.rn-mixWindow), onsetWindow)
	for i := range n {
		sum += fs.recent[(fs.rn-1-mixWindow-i)%l]
	}
	return sum, n
}

// newFloodState returns a flood track's state whose learned rate is
// trusted after warmup intervals (the Learning period).
func newFloodState(warmup int) *floodState {
	return &floodState{cnt: must(baseline.NewCount(baseline.CountConfig{Warmup: warmup}))}
}

// unanswered returns the SYNs of the previous interval that neither it nor
// this interval completed. An interval's completions pay for its own SYNs
// first (a handshake takes one round trip, far less than an interval) and
// what is left for the previous interval's: paying the oldest first would
// keep a whole interval's SYNs pending, and any fall of the rate would then
// count them as unanswered.
func (fs *floodState) unanswered(syn, hs uint64) uint64 {
	now := min(syn, hs)
	u := fs.pending - min(fs.pending, hs-now)
	fs.pending = syn - now
	return u
}

// synFloodScore scores one interval of a syn_flood track: the unanswered
// SYNs (SYNs minus completed handshakes) against their learned rate, or,
// before it is learned, against the prior that at most one attempt fails for
// four that complete, plus background scanning of every monitored server.
// A flash crowd completes its handshakes and raises nothing here; a
// spoofed flood's SYNs are never completed; a botnet that completes a
// third of its handshakes leaves two thirds unanswered. Spoofing evidence
// (unique sources, TTL spread) is reported in the alert, not required.
func (s *stage) synFloodScore(tr *track, start int64, f *Features, learn bool, servers int) verdict {
	fs := tr.flood
	u := fs.unanswered(f.SYN, f.Handshakes)
	fs.hs += hsAlpha * (float64(f.Handshakes) - fs.hs)
	prior := priorScanRate*s.ivSec*float64(max(1, servers)) + priorFailShare*fs.hs
	vd := fs.cnt.Step(float64(u), prior, learn)
	why := ""
	if vd.Ready && vd.Score > 1 {
		why = s.floodWhy(fs.cnt, vd, "unanswered SYNs", fmt.Sprintf("%d SYNs, %d handshakes completed", f.SYN, f.Handshakes))
	}
	return verdict{vd: s.perSecond(vd), cond: vd.High(), why: why}
}

// quicFloodScore scores one interval of quic_flood: client Initials against
// their learned rate. QUIC gives a passive monitor no completion to watch,
// so there is no prior: the test is ready once the rate has been learned.
func (s *stage) quicFloodScore(tr *track, f *Features, learn bool) verdict {
	vd := tr.flood.cnt.Step(float64(f.QUICInitials), 0, learn)
	why := ""
	if vd.Ready && vd.Score > 1 {
		why = s.floodWhy(tr.flood.cnt, vd, "client Initials", "")
	}
	return verdict{vd: s.perSecond(vd), cond: vd.High(), why: why}
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
