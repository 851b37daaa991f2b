package detect

import (
	"encoding"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/monitor443/monitor443/detect/baseline"
	"github.com/monitor443/monitor443/detect/sketch"
)

// request_burst at global and server scope counts ClientHellos with the
// count test of the flood detectors (baseline.Count): a burst is many more
// new TLS connections than the learned rate makes plausible, found by
// evidence rather than by volume. A rise of new connections is also what a
// flash crowd of real users is, so a burst alerts only when evidence that
// differs between the two says it is not a crowd:
//
//   - the mix of client stacks shifted: a crowd of real visitors brings the
//     usual mix of browsers, while a bot tool has one or a few TLS stacks,
//     so the hellos of stacks beyond their learned share carry at least a
//     quarter of the rise (under the usual mix no stack stands 4σ above
//     its share, so any sizeable part is evidence; a quarter leaves room for
//     bots whose stack is also a common browser's, such as headless Chrome),
//   - or, at a server, the rise began abruptly: the intervals since the count test began
//     to gather evidence (the rise so far, at most mixWindow) hold at least
//     three times the learned rate (the smallest rise the detector is asked
//     to find) while the onsetWindow intervals before them were still
//     normal (not 3σ above the learned rate), and the rise stands 3σ above
//     the rate of those intervals themselves (steep). Judging the rise since it
//     began, not a fixed window, finds a step within seconds of the count
//     test's alarm instead of once a half-minute window has filled. Bot
//     tools start at full rate at once; a flash crowd builds up over
//     minutes as word spreads (Jung, Krishnamurthy and Rabinovich 2002), so
//     by the time its rise is certain the minute before it was already
//     busier than normal. Not at the global scope: the whole site stepping
//     up at once, in the usual mix and from clients at their usual
//     intensity, is the site's load moving in one minute (a notification
//     sent to every user, jobs scheduled on many clients at the same
//     minute; on the evaluation's generator, its per-minute factor of the
//     benign rate, a log-normal that reaches three times about once in
//     three days), and the global count test, which sums every server,
//     has the most evidence for exactly that step. Both false episodes of
//     the small network's table before this rule, and the one left on it
//     at 40 times its rate, were such global steps. A burst against some
//     servers is a step at those servers, judged at server scope, where
//     the site's busy minute is spread thin; a burst over every server is
//     a step at each, and at global scope it still alerts by its mix or
//     its intensity. And a server's step must be a step beyond the site's:
//     three times its learned rate times the site's load over the same
//     intervals without the server's own hellos (siteLoad, the keyed
//     scopes' rule: a burst is a key that rises more than the site), or a
//     busy minute of the whole site alerts at each server whose own count
//     gathers the evidence alone.
//   - or the rise came from clients that each send far more than clients
//     do (intensity): a crowd adds visitors, and each sends about what a
//     visitor sends; a bot tool adds requests per client, since a burst
//     of a few hundred hosts at one request a second each needs no more
//     hosts than that. So the window's TCP hellos above their learned
//     number are weighed against the clients above the learned number of
//     clients (distinct sources of TCP hellos, counted with a
//     HyperLogLog): the added clients must each carry at least
//     intensityRatio times the learned hellos per client, with the added
//     clients taken onsetZ standard deviations high. Under a load that
//     scales the site's visitors, both rise together and the ratio stays
//     near the learned one; a busy minute, a crowd or a release wave adds
//     clients with their hellos. The rise must also stand out as a step
//     against the minute before it (steep, without the abrupt onset's
//     three times the learned rate and normal minute before): a crowd that
//     arrives through a few large NAT pools (a mobile carrier's) adds
//     requests per address too, but it builds up over minutes.
//
// and the rise is spread over many clients: the heaviest client of the
// window carries less than a fifth of it (a rise of hundreds of clients has
// no client anywhere near that; a crawler or a NAT gateway that supplies a
// good part of a small site's rise is not a crowd of bots). A rise that one client carries is
// judged at client scope, against that client's own history and the
// heaviest clients' normal rate, so a crawler or a busy NAT gateway is not
// compared with the whole site.
//
// A rise that lasts longer than the Learning period without any of this
// evidence (an organic ramp, a long flash crowd) becomes the new normal:
// the count test is rebased on it.
//
// A request is a new connection from a real client, over TCP or QUIC, so
// the count is TCP ClientHellos plus QUIC connections whose client answered
// the server's first flight (Features.QUICReturned): an HTTP/3 burst is a
// burst too. A QUIC connection counts once it has returned, not at its
// first Initial, because a spoofed Initial never returns: a QUIC flood is
// quic_flood's, and its hellos must not pass for requests here. QUIC hellos
// join no stack mix (their JA4 differs from the same browser's over TCP),
// so a burst over QUIC alone is found by its onset at a server, not by its mix.
//
// Limits: the intensity needs the burst's hosts to be few for their
// hellos: a burst of a site's usual rate spread over as many hosts as
// the site has visitors (each host at a visitor's rate) adds clients like a
// crowd and is judged by its mix and its onset alone; and a step of many
// clients that each carry many users at once (the NAT gateways of offices
// that open together) looks like it, when none of them carries a fifth of
// the rise. The mix is learned over all servers, so a burst against one server
// of a large site moves it less than the same burst against the whole site;
// the heaviest client is the whole site's too (hellos are kept by client, not
// by client and server), so at server scope a client that is heavy at
// another server can make a smaller burst look carried by one client; and a
// botnet of real browsers that keeps the usual mix passes for a crowd
// (docs/detection.md, Flash crowds).

const (
	// mixWindow is the number of intervals whose hellos are compared with the
	// learned mix: half a minute holds enough hellos of a small site's rise
	// for the comparison to mean something.
	mixWindow = 30
	// mixMemory is the learned mix's memory in intervals (an hour): the mix
	// of client stacks changes over hours (office hours, night-time
	// crawlers), not seconds.
	mixMemory = 3600
	// mixMinLearned is how many hellos the learned mix needs before it is
	// used: with fewer, shares of a few percent are not known.
	mixMinLearned = 200
	// mixZ is how many standard deviations above its learned share a stack's
	// count must be to count as over-represented: 4σ, so that with a few
	// dozen stacks none stands out by chance in a normal window.
	mixZ = 4
	// maxMixStacks bounds the learned mix; the lightest stack is forgotten
	// first.
	maxMixStacks = 512
	// mixDays is the memory, in days, of the mix learned for each hour of
	// the day (hourMix): a week, the Record's history (baseline.Record),
	// so that the weekday's hours and the weekend's both weigh in.
	mixDays = 7
	// onsetWindow is the span before the rise whose rate
	// tells an abrupt rise from a gradual one: a minute, which a crowd that
	// gathers over minutes has already made busier by the time its rise is
	// certain.
	onsetWindow = 60
	// intensityRatio is how many times the learned hellos per client the
	// clients a rise adds must each send for the rise to count as requests
	// added per client rather than clients added: 3, the smallest rise the
	// detectors are asked to find, taken per client; it leaves room for a
	// crowd's visitors sending more than the average client in their first
	// half-minute (a page load on a cold cache opens several connections).
	intensityRatio = 3
	// intensityMemory is the memory, in intervals, of the learned hellos
	// and clients per window: five minutes, the count test's memory
	// (baseline.CountConfig.Memory), since both follow the daily cycle.
	intensityMemory = 300
	// onsetZ is how many standard deviations the rise must stand above the
	// minute before it (see steep): 3σ, the level this file uses for "not
	// normal" elsewhere, one chance in about 700 for a steady rate; it is
	// asked only once the count test has alarmed.
	onsetZ = 3
)

// stackMix is the learned mix of client stacks (ClientHellos by JA4 hash)
// and the hellos of the last mixWindow intervals. Owned by the aggregation
// goroutine.
type stackMix struct {
	learned map[uint64]float64 // decayed hello counts per stack
	total   float64
	// hours holds the mix learned in each hour of the (UTC) day over the
	// last mixDays days, and hour is the newest interval's. The mix of
	// client stacks follows the time of day: automated clients
	// (crawlers, pollers, scanners, monitoring) keep the night, people's
	// browsers arrive in the morning. After a night, a site's first
	// visitors are all "beyond the learned share" of a mix learned over
	// the last hour, though they are the usual mix for the hour; so a
	// stack is over-represented only above both its share of the last
	// hour and its share at this hour on the previous days.
	hours   [24]hourMix
	hour    int
	day     int64
	ring    [mixWindow]map[uint64]uint64
	clients [mixWindow]map[netip.Addr]uint64 // hellos by client, same intervals
	n       int

	// The intensity's window: TCP hellos and their clients per interval
	// (src nil when none), the window's sums (winH hellos from about winD
	// clients), and their learned values (lH, lD over lN windows).
	tcp        [mixWindow]float64
	src        [mixWindow]*sketch.HyperLogLog
	union      *sketch.HyperLogLog
	winH, winD float64
	lH, lD     float64
	lN         int
}

// hourMix is the mix of one hour of the day, decayed by day.
type hourMix struct {
	learned map[uint64]float64
	total   float64
	day     int64 // the day it was last learned on
}

// add adds one interval's hellos by stack on day, first decaying the
// hour's mix by the days since it was last learned.
func (h *hourMix) add(day int64, fp map[uint64]uint64) {
	if h.learned == nil {
		h.learned, h.day = map[uint64]float64{}, day
	}
	if gap := day - h.day; gap > 0 {
		d := math.Pow(1-1.0/mixDays, float64(min(gap, 10*mixDays)))
		h.total *= d
		decay(h.learned, d)
		h.day = day
	}
	for k, c := range fp {
		if _, ok := h.learned[k]; !ok && len(h.learned) >= maxMixStacks {
			h.total -= evictLightest(h.learned)
		}
		h.learned[k] += float64(c)
		h.total += float64(c)
	}
}

func newStackMix() *stackMix {
	return &stackMix{learned: map[uint64]float64{}, union: must(sketch.NewHyperLogLog(helloHLLPrecision))}
}

// push records one interval (starting at t, Unix nanoseconds): its hellos
// by stack and by client, its TCP hellos and the HyperLogLog of their
// clients (nil for none).
func (x *stackMix) push(t int64, fp map[uint64]uint64, clients map[netip.Addr]uint64, tcp float64, src *sketch.HyperLogLog) {
	const hour, day = int64(time.Hour), int64(24 * time.Hour)
	x.day = t / day
	if t < 0 && t%day != 0 {
		x.day--
	}
	x.hour = int((t - x.day*day) / hour)
	i := x.n % mixWindow
	x.ring[i] = fp
	x.clients[i] = clients
	x.tcp[i], x.src[i] = tcp, src
	x.n++
	x.winH = 0
	x.union.Reset()
	for j := range min(x.n, mixWindow) {
		x.winH += x.tcp[j]
		if x.src[j] != nil {
			_ = x.union.Merge(x.src[j]) // one shape
		}
	}
	x.winD = x.union.Estimate()
}

// helloHLLErr is the relative standard error of the clients' count,
// 1.04/√m for m registers (Flajolet et al. 2007); linear counting does
// better at the counts of a small site, so it is an upper bound.
var helloHLLErr = 1.04 / math.Sqrt(float64(int(1)<<helloHLLPrecision))

// intensity returns the window's TCP hellos above their learned number
// (dh), its clients above their learned number taken onsetZ standard
// deviations high (dd), and the learned hellos per client (r0). A rise is
// intense when dh ≥ intensityRatio · r0 · dd: the clients it added, however
// many the noise allows, each sent intensityRatio times what a client
// normally sends. ok is false until intensityMemory windows are learned.
func (x *stackMix) intensity() (dh, dd, r0 float64, ok bool) {
	if x.lN < intensityMemory || x.lD < 1 || x.n < mixWindow {
		return 0, 0, 0, false
	}
	r0 = x.lH / x.lD
	dh = x.winH - x.lH
	// The clients vary as a Poisson count would and the estimate adds its
	// own error; both widen the allowance.
	sd := math.Sqrt(x.lD + (helloHLLErr*x.lD)*(helloHLLErr*x.lD))
	dd = max(0, x.winD-x.lD) + onsetZ*sd
	return dh, dd, r0, true
}

// topClient returns the most hellos one client sent over the window.
func (x *stackMix) topClient() float64 {
	w := map[netip.Addr]uint64{}
	var top uint64
	for i := range min(x.n, mixWindow) {
		for a, c := range x.clients[i] {
			w[a] += c
			top = max(top, w[a])
		}
	}
	return float64(top)
}

// learn decays the learned mix by one interval and adds the newest
// interval's hellos.
func (x *stackMix) learn() {
	d := 1 - 1.0/mixMemory
	x.total *= d
	decay(x.learned, d)
	if x.n == 0 {
		return
	}
	if x.n >= mixWindow {
		a := 1 / float64(min(x.lN+1, intensityMemory))
		x.lH += a * (x.winH - x.lH)
		x.lD += a * (x.winD - x.lD)
		x.lN++
	}
	newest := x.ring[(x.n-1)%mixWindow]
	for k, c := range newest {
		if _, ok := x.learned[k]; !ok && len(x.learned) >= maxMixStacks {
			x.total -= evictLightest(x.learned)
		}
		x.learned[k] += float64(c)
		x.total += float64(c)
	}
	x.hours[x.hour].add(x.day, newest)
}

// decay multiplies every stack's weight in a learned mix by d and forgets
// the stacks whose weight falls below a thousandth of a hello.
func decay(m map[uint64]float64, d float64) {
	for k, v := range m {
		if v *= d; v < 1e-3 {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

// evictLightest forgets the lightest stack of a learned mix and returns
// its weight.
func evictLightest(m map[uint64]float64) float64 {
	var lk uint64
	lv := math.Inf(1)
	for k, v := range m {
		if v < lv || v == lv && k < lk {
			lk, lv = k, v
		}
	}
	delete(m, lk)
	return lv
}

// shifted returns the hellos of the window and how many of them are beyond
// their stacks' learned shares, counting only stacks over-represented by
// more than mixZ standard deviations; ok is false (and beyond 0) while too
// little is learned.
func (x *stackMix) shifted() (n, beyond float64, ok bool) {
	w := map[uint64]uint64{}
	for i := range min(x.n, mixWindow) {
		for k, c := range x.ring[i] {
			w[k] += c
		}
	}
	for _, c := range w {
		n += float64(c)
	}
	if x.total < mixMinLearned {
		return n, 0, false
	}
	cats := float64(len(x.learned) + 1)
	h := &x.hours[x.hour]
	hcats := float64(len(h.learned) + 1)
	for k, c := range w {
		// Laplace-smoothed share, so an unseen stack has a small share
		// rather than none; the larger of the last hour's and this hour
		// of the day's, once that has enough hellos.
		p := (x.learned[k] + 0.5) / (x.total + 0.5*cats)
		if h.total >= mixMinLearned {
			p = max(p, (h.learned[k]+0.5)/(h.total+0.5*hcats))
		}
		e := n * p
		if float64(c)-e > mixZ*math.Sqrt(e*(1-p))+1 {
			beyond += float64(c) - e
		}
	}
	return n, beyond, true
}

// requestBurst is request_burst. At the global and server scopes it is the
// count test described above (burstState); at the client, SNI and prefix
// scopes the stage runs it over keyed sketches (stage.keyedScope).
type requestBurst struct{}

func (requestBurst) kind() string                               { return KindRequestBurst }
func (requestBurst) section(c *DetectionConfig) *DetectorConfig { return &c.RequestBurst }
func (requestBurst) atServers() bool                            { return true }

// unit: prefix-scope bursts are SYN rates, the others ClientHello rates.
func (requestBurst) unit(scope string) string {
	if scope == ScopePrefix {
		return "syn/s"
	}
	return "hellos/s"
}

func (requestBurst) newState(s *stage, restore func(string, encoding.BinaryUnmarshaler)) trackState {
	st := &burstState{cnt: s.newCount(burstDeadline)}
	restore("count", st.cnt)
	return st
}

func (requestBurst) contributors(s *stage, tr *track, m *merged) []Contributor {
	if tr.scope == ScopePrefix {
		return s.synContributors(m)
	}
	return s.helloContributors(m)
}

// burstState is a request_burst track's state at the global or server
// scope.
type burstState struct {
	cnt *baseline.Count
	// since is when the current alarm began without the evidence that makes
	// it an incident, 0 when none.
	since int64
	// recent holds the last mixWindow+onsetWindow counts, rn written.
	recent [mixWindow + onsetWindow]float64
	rn     int
	// run is how many intervals the count test has held evidence for (its
	// sum above zero), the length of the rise so far.
	run int
	// now is the last interval's rate, for the static threshold.
	now float64
}

func (st *burstState) save(prefix string, out map[string][]byte) { saveCount(st.cnt, prefix, out) }

// window records x and returns the sum of the last mixWindow counts and how
// many there are.
func (st *burstState) window(x float64) (sum float64, n int) {
	const l = len(st.recent)
	st.recent[st.rn%l] = x
	st.rn++
	n = min(st.rn, mixWindow)
	for i := range n {
		sum += st.recent[(st.rn-1-i)%l]
	}
	return sum, n
}

// last returns the sum of the last k counts (k ≤ mixWindow).
func (st *burstState) last(k int) float64 {
	const l = len(st.recent)
	sum := 0.0
	for i := range min(k, st.rn) {
		sum += st.recent[(st.rn-1-i)%l]
	}
	return sum
}

// before returns the sum of the onsetWindow counts before the last skip
// ones (skip ≤ mixWindow), and how many there are.
func (st *burstState) before(skip int) (sum float64, n int) {
	const l = len(st.recent)
	n = min(max(0, st.rn-skip), onsetWindow)
	for i := range n {
		sum += st.recent[(st.rn-1-skip-i)%l]
	}
	return sum, n
}

// score scores one interval of a global or per-server request_burst track.
func (st *burstState) score(s *stage, tr *track, in *input) verdict {
	v := st.judge(s, tr, in)
	v.aboveStatic(st.now, in.static, "")
	return v
}

func (st *burstState) judge(s *stage, tr *track, in *input) verdict {
	fs, start, f := st, in.start, in.f
	x := float64(f.ClientHellos - min(f.ClientHellos, f.QUICHellos) + f.QUICReturned)
	vd := s.perSecond(fs.cnt.Step(x, 0, in.learn))
	fs.now = vd.Value
	n, k := fs.window(x)
	if fs.cnt.Sum() == 0 {
		fs.run = 0
	} else {
		fs.run++
	}
	// The rise so far: the intervals since the count test began to gather
	// evidence (at most the mix window), and the minute before them.
	rl := min(max(fs.run, 1), mixWindow)
	runN := fs.last(rl)
	before, bn := fs.before(rl)
	if !vd.High() {
		fs.since = 0
		return verdict{vd: vd}
	}
	// In alarm the value is the rise's rate: the larger of this interval's
	// and the mean since the rise began. The interval that confirms an
	// incident on a quiet server may hold no hello at all, and an alert
	// of "0 hellos/s" says nothing of the rise it reports.
	vd.Value = max(vd.Value, runN/(float64(rl)*s.ivSec))
	ivs := float64(k)
	winExcess := max(0, n-vd.Expected*s.ivSec*ivs) // the window's hellos above the learned rate
	_, beyond, ok := s.mix.shifted()
	// The mix is counted over the whole site, so the hellos beyond their
	// stacks' shares are weighed against the whole site's rise in the
	// window, like with like: in a busy minute of the whole site the mix's
	// ordinary scatter belongs to every server's rise, and one server's
	// share of the site must not pass for that server's bots. (A burst
	// against one server is most of the site's rise as well.)
	mixExcess := max(winExcess, s.siteExcess(k))
	top := s.mix.topClient()
	ev := fmt.Sprintf("ClientHellos %s/s (over TCP, and QUIC connections that returned) against the learned %s/s: evidence %.0f nats", fmtSmall(vd.Value), fmtSmall(vd.Expected), fs.cnt.Sum())
	spread := winExcess > 0 && top < 0.2*winExcess
	expBefore := vd.Expected * s.ivSec * onsetWindow // hellos the minute before should have held
	dh, dd, r0, iok := s.mix.intensity()
	intense := iok && dh > 0 && dh >= intensityRatio*r0*dd
	switch {
	case spread && ok && beyond >= 0.25*mixExcess:
		fs.since = 0
		return verdict{vd: vd, cond: true, why: joinDetail(ev, fmt.Sprintf(
			"the mix of client stacks shifted: %.0f of the last %.0f s's %.0f hellos came from TLS stacks beyond their learned share, and no client sent more than %.0f (a crowd of visitors brings the usual mix)",
			beyond, ivs*s.ivSec, n, top))}
	case spread && intense && bn == onsetWindow && steep(runN, before, float64(rl), fs.cnt.Dispersion()):
		fs.since = 0
		return verdict{vd: vd, cond: true, why: joinDetail(ev, fmt.Sprintf(
			"requests added per client, not clients: the last %.0f s's %.0f TCP hellos above the learned %.0f came from at most %.0f more clients than usual, at least %.1f each against %.1f a client normally, and no client sent more than %.0f; the rise began as a step, %.0f hellos in %.0f s after %s/s in the minute before (a crowd adds visitors, who each send what visitors send, and builds up over minutes)",
			ivs*s.ivSec, dh, s.mix.lH, dd, dh/dd, r0, top, runN, float64(rl)*s.ivSec, fmtSmall(before/(onsetWindow*s.ivSec))))}
	case spread && tr.scope == ScopeServer && bn == onsetWindow && runN >= 3*vd.Expected*s.ivSec*float64(rl)*s.siteLoad(rl, runN) &&
		before <= expBefore+3*math.Sqrt(fs.cnt.Dispersion()*expBefore) && steep(runN, before, float64(rl), fs.cnt.Dispersion()):
		fs.since = 0
		return verdict{vd: vd, cond: true, why: joinDetail(ev, fmt.Sprintf(
			"an abrupt rise: %.0f hellos in the %.0f s since the rise began, from many clients (none more than %.0f in the last %.0f s), after a normal %s/s in the minute before (a crowd builds up over minutes)",
			runN, float64(rl)*s.ivSec, top, ivs*s.ivSec, fmtSmall(before/(onsetWindow*s.ivSec))))}
	}
	// A rise without the evidence of an attack: a flash crowd, or the
	// traffic growing. Once it has lasted the Learning period, it is the
	// new normal.
	if !tr.res.Active() {
		if fs.since == 0 {
			fs.since = start
		} else if start-fs.since >= int64(s.cfg.Learning) {
			fs.cnt.Rebase()
			fs.since = 0
		}
	}
	why := "spread over many clients with the usual mix of client stacks: a flash crowd"
	if top >= 0.2*winExcess {
		why = fmt.Sprintf("carried largely by one client (%.0f of the last %.0f s's %.0f hellos), which is judged at client scope", top, ivs*s.ivSec, n)
	}
	return verdict{vd: vd, why: joinDetail(ev, why)}
}

// globalBurst returns the global request_burst track's state once its count
// test has learned, or nil.
func (s *stage) globalBurst() *burstState {
	tr := s.global[KindRequestBurst]
	if tr == nil {
		return nil
	}
	if st, ok := tr.st.(*burstState); ok && st.cnt.Learned() {
		return st
	}
	return nil
}

// siteExcess returns the site's requests (TCP ClientHellos and returned QUIC
// connections) of the last k intervals above the global count test's
// learned rate, or 0 while it has not learned.
func (s *stage) siteExcess(k int) float64 {
	st := s.globalBurst()
	if st == nil {
		return 0
	}
	return max(0, st.last(k)-float64(k)*st.cnt.Level())
}

// steep reports whether a rise of n counts over rl intervals stands out
// against the m counts of the onsetWindow intervals before it, by more than
// onsetZ standard deviations. The learned rate lags a rate that has been
// climbing for minutes, so an onset judged against it alone calls any
// crowd abrupt; judged against the minute before, it must be a step. Under
// one common rate, and given the total of both spans, the rise's share is
// binomial with p = rl/(rl+onsetWindow) (the conditional test of two Poisson
// rates, Przyborowski and Wilenski 1940), its variance widened by the
// learned dispersion φ for hellos that come in clusters (a page's
// connections). It needs no rate estimate, so at a handful of hellos it
// says "not shown" rather than guess: six hellos after two in the minute
// before are 2.5σ.
func steep(n, m, rl, disp float64) bool {
	tot := n + m
	if tot <= 0 {
		return false
	}
	p := rl / (rl + onsetWindow)
	return n-tot*p >= onsetZ*math.Sqrt(disp*tot*p*(1-p))
}

// learnMix teaches the stack mix the newest interval unless a burst is being
// judged: the global request_burst track in an incident or holding more than
// half its threshold's evidence.
func (s *stage) learnMix() {
	if tr := s.global[KindRequestBurst]; tr != nil {
		if st, ok := tr.st.(*burstState); ok && (tr.res.Active() || st.cnt.Sum() > st.cnt.Config().H/2) {
			return
		}
	}
	s.mix.learn()
}
