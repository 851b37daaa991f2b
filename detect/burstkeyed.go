package detect

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"

	"github.com/monitor443/monitor443/detect/baseline"
)

// request_burst at the client, SNI and prefix scopes: the keys of a sketched
// scope (the heaviest clients and SNIs by ClientHellos, the heaviest /24 and
// /64 prefixes by SYNs) are each scored against one band per scope, learned
// from the scope's heaviest key per interval, so a crawler, a busy NAT
// gateway or a single bot is judged against what the heaviest keys normally
// do rather than against the whole site. Watched prefixes get their own
// baselines with exact counts.

// burstKeyed runs request_burst at the sketched scopes: clients and SNIs by
// ClientHellos, prefixes by SYNs, and the watched prefixes.
func (s *stage) burstKeyed(start, end int64, m *merged, note func(*track, string, baseline.Verdict)) {
	clients := map[string]float64{}
	for a := range m.clientHello {
		clients[a.String()] = s.rate(m.helloCount(a))
	}
	s.keyedScope(ScopeClient, start, end, clients, m, note)
	snis := map[string]float64{}
	for n, c := range m.sni {
		snis[n] = s.rate(c)
	}
	s.keyedScope(ScopeSNI, start, end, snis, m, note)
	pfx := map[string]float64{}
	for p, c := range m.pfxSYN {
		// A watched prefix has its own track with exact counts; the
		// sketch must not open a second incident with the same target.
		if !slices.ContainsFunc(s.cfg.WatchPrefixes, func(w netip.Prefix) bool { return w.Masked() == p }) {
			pfx[p.String()] = s.rate(c)
		}
	}
	s.keyedScope(ScopePrefix, start, end, pfx, m, note)
	s.watchedPrefixes(start, end, m, note)
}

// keyedBase returns the max-key baseline of a sketched scope.
func (s *stage) keyedBase(det, scope string) *rateBase {
	k := det + "|" + scope
	b := s.scopeB[k]
	if b == nil {
		b = newRateBase(&s.cfg, s.warmup(), bandK, s.guard(det))
		s.restoreInto(k+"|max|ewma", b.ew)
		if b.se != nil {
			s.restoreInto(k+"|max|seasonal", b.se)
		}
		s.scopeB[k] = b
	}
	return b
}

// topHello returns the heaviest client's ClientHellos in the interval.
func (s *stage) topHello(m *merged) uint64 {
	var t uint64
	for a := range m.clientHello {
		t = max(t, m.helloCount(a))
	}
	return t
}

// concentrated reports whether the heaviest client (its interval count
// topCount) explains at least FlashCrowdShare of the excess over the
// baseline; an excess spread over many light clients is a flash crowd.
func (s *stage) concentrated(vd baseline.Verdict, top float64) bool {
	if s.cfg.FlashCrowdShare <= 0 {
		return true
	}
	excess := vd.Value - vd.Expected
	if excess <= 0 {
		return false
	}
	return top >= s.cfg.FlashCrowdShare*excess
}

// keyedScope runs request_burst over the keys of a sketched scope. A client
// or prefix is judged by its mean rate over the last N intervals of
// request_burst's k-of-n filter (keyWindow), an SNI by its rate in the
// interval (it sums many clients, whose clusters average out within the
// second, and a window would only make the filter's intervals depend on each
// other, so that 3 of 5 no longer means three independent excesses). The
// scope's baseline learns the heaviest key's such rate each interval, every
// key is scored against that band, and keys whose condition holds get their
// own k-of-n filter and resolver (at most MaxTargets per scope). A static
// threshold judges the interval's own rate.
func (s *stage) keyedScope(scope string, start, end int64, vals map[string]float64, m *merged,
	note func(*track, string, baseline.Verdict)) {
	det := KindRequestBurst
	b := s.keyedBase(det, scope)
	tracks := s.keyed[scope]
	if tracks == nil {
		tracks = map[string]*track{}
		s.keyed[scope] = tracks
	}
	static := s.cfg.RequestBurst.Static[scope]
	inst := vals
	if scope != ScopeSNI {
		vals = s.keyWindow(scope, vals)
	}
	keys := make([]string, 0, len(vals))
	maxV := 0.0
	for k, v := range vals {
		keys = append(keys, k)
		maxV = max(maxV, v)
	}
	sort.Strings(keys)
	stepped := map[string]bool{}
	topHello := s.topHello(m)
	var best baseline.Verdict
	bestKey := ""
	n := max(1, s.detCfg(KindRequestBurst).N)
	load := func(v float64) float64 { return s.siteLoad(n, v*float64(n)*s.ivSec) }
	judging := false // a key above the band holds more than half the evidence it needs
	win := n         // intervals in a key's value: the k-of-n window, one for an SNI
	if scope == ScopeSNI {
		win = 1
	}
	for _, k := range keys {
		v := vals[k]
		vd, r := b.check(start, v), load(v)
		if r > 1 {
			// Judged against the band scaled by the site's load: the
			// score of v/r, the guard on v itself.
			sc := b.check(start, v/r)
			vd.Score, vd.Expected, vd.Lower, vd.Upper = sc.Score, sc.Expected*r, sc.Lower*r, sc.Upper*r
		}
		if bestKey == "" || vd.Score > best.Score {
			best, bestKey = vd, k
		}
		high := vd.High()
		if scope == ScopeSNI {
			high = high && s.concentrated(vd, s.rate(topHello))
		}
		why := ""
		if r > 1 {
			why = fmt.Sprintf("against the heaviest keys' band scaled by the site's load, %.1f times its learned rate", r)
		}
		tr := tracks[k]
		if tr == nil {
			if !high && (static == 0 || inst[k] < static) {
				continue
			}
			if len(tracks) >= s.cfg.MaxTargets {
				s.dropped++
				continue
			}
			tr = s.newTrack(det, scope, k)
			tracks[k] = tr
			// The run begins with the window that crossed the band.
			tr.runX, tr.runMu, tr.runIv = v*s.ivSec*float64(win), vd.Expected*s.ivSec*float64(win), win
		} else {
			tr.runX += inst[k] * s.ivSec
			tr.runMu += vd.Expected * s.ivSec
			tr.runIv++
		}
		tr.runHigh = high
		cond := false
		if high {
			nats, h := s.runEvidence(tr)
			cond = nats >= h
			judging = judging || nats > h/2
			what := "hellos"
			if scope == ScopePrefix {
				what = "SYNs"
			}
			why = joinDetail(why, fmt.Sprintf("evidence %.0f nats: %.0f %s over %.0f s against %.0f at the heaviest keys' %s/s",
				nats, tr.runX, what, float64(tr.runIv)*s.ivSec, tr.runMu, fmtSmall(vd.Expected)))
		}
		if v := inst[k]; static > 0 && v >= static {
			cond, why = true, "above the static threshold "+fmtRate(static)
		}
		stepped[k] = true
		tr.last = vd
		s.hysteresis(tr, &input{start: start, m: m}, end, verdict{vd: vd, cond: cond, why: why})
	}
	for _, k := range sortedKeys(tracks) {
		tr := tracks[k]
		if !stepped[k] {
			vd := b.check(start, 0)
			tr.runMu += vd.Expected * s.ivSec
			tr.runIv++
			tr.runHigh = false
			s.hysteresis(tr, &input{start: start, m: m}, end, verdict{vd: vd})
		}
		if !tr.res.Active() && tr.kofn.Count() == 0 && !tr.runHigh {
			delete(tracks, k)
		}
	}
	// Learn the heaviest key's rate, unless one of the keys is in an
	// incident or being judged (then only score, so an attack does not
	// become normal: the heaviest key is the attacker, and learned while
	// its evidence gathers, the band climbs with it and it never alerts;
	// half the threshold's evidence, as the count tests).
	learn := !judging
	for _, tr := range tracks {
		if tr.res.Active() {
			learn = false
			break
		}
	}
	if learn && scope == ScopeClient {
		s.learnKeyDisp()
	}
	mv := b.step(start, maxV/load(maxV), learn)
	if bestKey == "" {
		best = mv
	}
	note(&track{det: det, scope: scope}, bestKey, best)
}

// runEvidence returns the evidence, in nats, that a key's hellos (SYNs for
// a prefix) since it crossed the band come from a higher rate than the
// heaviest keys' learned one, and the threshold it must reach: the count
// tests' H (baseline.CountConfig).
//
// Principle: counts are counts. The band says a key is above what the
// heaviest keys normally reach; whether its count says so or chance does
// is a question of count statistics. A busy NAT gateway of a mid-sized
// site sends a few hellos a second in clusters (each user's page load
// opens several connections at once), and its five-second window crosses
// the band now and then: on a site of 20 connections a second (the small
// evaluation network at 40 times its rate), three client alerts, one for
// a /24 and one for an SNI in two days, at 27 hellos where 10 were expected, which is 10
// nats of Poisson evidence and less once the clusters are counted. So a
// key's run (from the window that crossed the band to now, x hellos where
// the band expected μ) must hold as much evidence as a count test needs to
// alarm: the Poisson log-likelihood ratio at the run's own rate,
// x·ln(x/μ) − (x − μ), divided by the dispersion of single clients' counts
// (their clusters, learnKeyDisp), at least H. A gateway's busy window is a short run
// that falls back below the band; a bot's run keeps gathering evidence
// until it alarms (a bot at 20 a second against heavy keys at 4 a second
// and clusters of 3.5 connections gathers about 4 nats a second). μ is
// floored at one event per count memory per interval, the smallest rate the
// count tests tell from zero.
func (s *stage) runEvidence(tr *track) (nats, h float64) {
	cfg := countDefaults
	x := tr.runX
	mu := max(tr.runMu, float64(tr.runIv)/float64(cfg.Memory))
	if x <= mu {
		return 0, cfg.H
	}
	return (x*math.Log(x/mu) - (x - mu)) / max(1, s.keyDisp), cfg.H
}

// learnKeyDisp learns the dispersion of single keys' counts from the
// client scope's window (keyWindow): the sum of the clients' variances over
// the sum of their means, each over the k-of-n window, averaged over the
// count tests' memory. It is the clustering of one client's connections (a
// page load's several at once), measured on the keys that are judged, the
// heaviest clients, and not the site's dispersion, which also holds the
// site's rate wandering from minute to minute: that grows with the site's
// rate (on the large evaluation network it stands near the count tests'
// cap of 100 while a heavy client's counts disperse by a few), and a
// client's rate wanders in proportion to its own.
func (s *stage) learnKeyDisp() {
	w := s.keyWin[ScopeClient]
	if w == nil || w.meanSum <= 0 {
		return
	}
	a := 1 / float64(countDefaults.Memory)
	s.keyDisp += a * (w.varSum/w.meanSum - s.keyDisp)
}

// countDefaults is the count tests' default configuration.
var countDefaults = must(baseline.NewCount(baseline.CountConfig{})).Config()

// loadZ is how many standard deviations below the site's observed hellos
// the load ratio is taken (siteLoad): 3σ, this package's level for "not
// normal", so that only a load that is clearly up scales the band, and the
// few hellos of a small site's window never do by chance.
const loadZ = 3

// siteLoad returns how many times its learned rate the site's TCP
// ClientHellos stood over the last n intervals, leaving out own (the hellos
// of the key being judged), at the lower loadZ bound of the observed count
// widened by the dispersion of single counts (hellos come in clusters, a
// page's connections at once); not by the block dispersion, which measures
// how the rate itself wanders, the very thing estimated here. 1 when the
// global request_burst count test has not learned, or the load is not
// clearly up.
//
// Principle: clients' rates rise and fall with the site's load. In a busy
// minute or a crowd every client browses faster, so the heaviest clients
// all cross the band learned from the heaviest key at once (dozens of
// clients and their prefixes at once on the large evaluation network, in a
// minute when the whole site ran at twice its rate after a minute at half
// of it). A burst from one
// key is a key that rises more than the site: its band is scaled by the
// load of every other key, so a key's own burst does not hide itself, and
// the band learns the heaviest key's rate at normal load. A rise of many
// clients together is a site-wide rise, judged at global and server scope.
func (s *stage) siteLoad(n int, own float64) float64 {
	st := s.globalBurst()
	if st == nil || st.rn < n {
		return 1
	}
	x := max(0, st.last(n)-own)
	lo := x - loadZ*math.Sqrt(st.cnt.CountDispersion()*x)
	exp := float64(n) * st.cnt.Level()
	if exp <= 0 || lo <= exp {
		return 1
	}
	return lo / exp
}

// keyWindow returns each key's mean rate over the last N intervals (N of
// request_burst's k-of-n filter), given this interval's rates. A request
// burst from one key is a rate held for seconds, while a client's
// connections come in clusters within a second (a browser opens a page's
// connections to a host at once, six in parallel over HTTP/1.1): judged
// second by second, a heavy client that loads a few pages in a row shows
// five hellos in three seconds of five, as a bot would. Over the filter's
// window the cluster is spread over its seconds and a tool's rate is not.
// Keys absent from an interval count zero there; until N intervals have
// passed (at the start, after a gap) the mean is over those there are.
func (s *stage) keyWindow(scope string, vals map[string]float64) map[string]float64 {
	w := s.keyWin[scope]
	if w == nil {
		w = &keyRing{maps: make([]map[string]float64, max(1, s.detCfg(KindRequestBurst).N))}
		s.keyWin[scope] = w
	}
	w.maps[w.n%len(w.maps)] = vals
	w.n++
	span := float64(min(w.n, len(w.maps)))
	out := map[string]float64{}
	for _, m := range w.maps {
		for k, v := range m {
			out[k] += v / span
		}
	}
	// The clients' dispersion over the window: the sum of their counts'
	// variances over the sum of their means (var/mean of counts is
	// var/mean of rates times ivSec).
	w.varSum, w.meanSum = 0, 0
	if scope == ScopeClient && w.n >= len(w.maps) && len(w.maps) > 1 { // learnKeyDisp's
		for k, mean := range out {
			ss := 0.0
			for _, m := range w.maps {
				d := m[k] - mean
				ss += d * d
			}
			w.varSum += ss / (span - 1) * s.ivSec
			w.meanSum += mean
		}
	}
	return out
}

// reset forgets the intervals before a gap.
func (w *keyRing) reset() {
	clear(w.maps)
	w.n = 0
}

// keyRing holds the last intervals' rates of a sketched scope's keys, and
// the sums of their counts' variances and means over them.
type keyRing struct {
	maps            []map[string]float64
	n               int
	varSum, meanSum float64
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// watchedPrefixes runs request_burst over the watched prefixes' SYN rates,
// each with its own baseline.
func (s *stage) watchedPrefixes(start, end int64, m *merged, note func(*track, string, baseline.Verdict)) {
	if len(s.cfg.WatchPrefixes) == 0 {
		return
	}
	if s.pfx == nil {
		s.pfx = make([]map[string]*track, len(s.cfg.WatchPrefixes))
	}
	for i, p := range s.cfg.WatchPrefixes {
		tr := s.pfx[i][KindRequestBurst]
		if tr == nil {
			tr = s.newTrack(KindRequestBurst, ScopePrefix, p.String())
			key := KindRequestBurst + "|" + ScopePrefix + "|" + p.String()
			tr.fast = newRateBase(&s.cfg, s.warmup(), bandK, s.guard(KindRequestBurst))
			s.restoreInto(key+"|ewma", tr.fast.ew)
			if tr.fast.se != nil {
				s.restoreInto(key+"|seasonal", tr.fast.se)
			}
			s.pfx[i] = map[string]*track{KindRequestBurst: tr}
		}
		var syn uint64
		if i < len(m.prefixes) {
			syn = m.prefixes[i].syn
		}
		v := s.rate(syn)
		vd := tr.fast.step(start, v, !tr.res.Active())
		tr.last = vd
		cond := vd.High()
		why := ""
		if st := s.cfg.RequestBurst.Static[ScopePrefix]; st > 0 && v >= st {
			cond, why = true, "above the static threshold "+fmtRate(st)
		}
		note(tr, tr.target, vd)
		s.hysteresis(tr, &input{start: start, m: m}, end, verdict{vd: vd, cond: cond, why: why})
	}
}
