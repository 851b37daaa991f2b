package detect

import (
	"encoding"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/monitor443/monitor443/detect/baseline"
)

// DetectorState is the latest verdict of one detector at one scope, for
// metrics. For scopes with many targets it is the target with the highest
// score.
type DetectorState struct {
	Detector string
	Scope    string
	Target   string
	Value    float64
	Expected float64
	Lower    float64
	Upper    float64
	Score    float64
	// Ready is false while the baseline is still learning.
	Ready bool
}

// rateBase is a rate baseline: an EWMA band, and a daily Holt-Winters
// profile that takes over once it has learned a full day.
type rateBase struct {
	ew *baseline.EWMA
	se *baseline.Seasonal
}

func newRateBase(c *DetectionConfig, warmup int, k float64, g baseline.Guard) *rateBase {
	b := &rateBase{ew: must(baseline.NewEWMA(baseline.EWMAConfig{Warmup: warmup, K: k, Guard: g}))}
	if !c.NoSeasonal {
		b.se = must(baseline.NewSeasonal(baseline.SeasonalConfig{Spread: 1, K: k, Guard: g}))
	}
	return b
}

// step scores v at t and learns it when learn is set.
func (b *rateBase) step(t int64, v float64, learn bool) baseline.Verdict {
	var ve baseline.Verdict
	if learn {
		ve = b.ew.Observe(t, v)
	} else {
		ve = b.ew.Check(t, v)
	}
	if b.se != nil {
		var vs baseline.Verdict
		if learn {
			vs = b.se.Observe(t, v)
		} else {
			vs = b.se.Check(t, v)
		}
		if vs.Ready {
			return vs
		}
	}
	return ve
}

// check scores v without learning (a key scored against its scope's band).
func (b *rateBase) check(t int64, v float64) baseline.Verdict {
	if b.se != nil && b.se.Ready() {
		return b.se.Check(t, v)
	}
	return b.ew.Check(t, v)
}

func (b *rateBase) states(prefix string, out map[string][]byte) {
	if d, err := b.ew.MarshalBinary(); err == nil {
		out[prefix+"|ewma"] = d
	}
	if b.se != nil {
		if d, err := b.se.MarshalBinary(); err == nil {
			out[prefix+"|seasonal"] = d
		}
	}
}

// track is the incident state of one (detector, scope, target).
type track struct {
	det, scope, target string

	st   trackState // the detector's state, global and server scopes
	fast *rateBase  // request_burst at a watched prefix

	kofn *baseline.KOfN
	res  *baseline.Resolver

	runStart int64 // start of the first positive interval of the current run
	last     baseline.Verdict
	a        Anomaly // the open incident's firing event
	peak     float64
	peakSc   float64

	// A keyed request_burst track's run (burstkeyed.go): the counts and
	// their expectation since the key crossed the band, over runIv
	// intervals, and whether it is above the band in this interval.
	runX, runMu float64
	runIv       int
	runHigh     bool
}

// stage runs the detectors over merged intervals. Owned by the
// aggregation goroutine, except for the published state behind the
// engine's mutex.
type stage struct {
	cfg    DetectionConfig
	iv     int64
	ivSec  float64
	logger *slog.Logger
	emit   func(Anomaly)
	dets   []detector // the registry's detectors (detector.go)

	global map[string]*track // by detector
	server map[string]*track // by detector + "|" + target
	// servers holds the targets of s.server (server tracks are never
	// removed, and are bounded by 3·MaxServers plus the watched servers).
	servers map[string]struct{}
	keyed   map[string]map[string]*track
	scopeB  map[string]*rateBase   // max-key baselines by detector|scope
	keyWin  map[string]*keyRing    // sketched scopes' recent key rates by scope
	keyDisp float64                // the learned dispersion of single clients' hello counts (learnKeyDisp)
	pfx     []map[string]*track    // watched prefixes: by detector
	groups  map[string]*alertGroup // open alert groups, by detector
	mix     *stackMix              // the learned mix of client stacks (burst.go)
	cw      *clientWindows         // egress by client over the bandwidth windows (bandwidth.go)
	// watched holds the configured watch-list servers, which always get
	// per-server tracks whatever MaxServers says.
	watched map[string]bool

	next      int64 // start of the next expected interval
	lastCkpt  int64
	restore   map[string][]byte
	dropped   uint64
	states    []DetectorState
	maxGapIvs int64
}

func newStage(c DetectionConfig, iv time.Duration, logger *slog.Logger, emit func(Anomaly)) *stage {
	watched := map[string]bool{}
	for _, a := range c.WatchServers {
		watched[a.String()] = true
	}
	return &stage{
		cfg: c, dets: registry, iv: int64(iv), ivSec: iv.Seconds(), logger: logger, emit: emit, watched: watched,
		global: map[string]*track{}, server: map[string]*track{}, servers: map[string]struct{}{}, keyed: map[string]map[string]*track{},
		scopeB: map[string]*rateBase{}, keyWin: map[string]*keyRing{}, keyDisp: 1, groups: map[string]*alertGroup{}, mix: newStackMix(), cw: newClientWindows(max(1, int(bwShortWindow/iv)), max(1, int(bwShortWindow/iv), int(c.Slow/iv)), int(bwStall/iv)), maxGapIvs: int64(10 * time.Minute / iv),
	}
}

func (s *stage) detCfg(det string) DetectorConfig { return *s.detector(det).section(&s.cfg) }

func (s *stage) guard(det string) baseline.Guard {
	mv := s.detCfg(det).MinVolume
	return baseline.Guard{Floor: max(1, mv/2), FloorFraction: 0.25, MinVolume: mv}
}

// bandK is the band width, in deviations, of the EWMA and seasonal
// baselines that remain (request_burst's client, SNI and prefix scopes):
// 4·mean absolute deviation ≈ 3.2σ (docs/detection.md, EWMA band).
const bandK = 4

func (s *stage) warmup() int { return max(1, int(int64(s.cfg.Learning)/s.iv)) }

// restoreInto loads the saved state named key into m, if any.
func (s *stage) restoreInto(key string, m encoding.BinaryUnmarshaler) {
	d, ok := s.restore[key]
	if !ok {
		return
	}
	delete(s.restore, key)
	if err := m.UnmarshalBinary(d); err != nil {
		s.logger.Warn("baseline not restored, relearning", "baseline", key, "err", err)
	}
}

// newTrack returns a track with its incident state only.
func (s *stage) newTrack(det, scope, target string) *track {
	c := s.detCfg(det)
	return &track{det: det, scope: scope, target: target,
		kofn: must(baseline.NewKOfN(c.K, c.N)), res: must(baseline.NewResolver(c.Quiet))}
}

// newDetectorTrack returns a global or per-server track of d, with its
// state restored from the checkpoint where it holds one.
func (s *stage) newDetectorTrack(d detector, scope, target string) *track {
	t := s.newTrack(d.kind(), scope, target)
	key := d.kind() + "|" + scope + "|" + target
	t.st = d.newState(s, func(series string, into encoding.BinaryUnmarshaler) { s.restoreInto(key+"|"+series, into) })
	return t
}

// interval runs every detector over the interval starting at start. Gaps
// of up to ten minutes since the last interval are filled with empty
// intervals, since a silent second is a rate of zero; longer gaps (a
// restart, the next file) are skipped.
func (s *stage) interval(start int64, f *Features, m *merged) {
	if s.next != 0 && start > s.next {
		if (start-s.next)/s.iv <= s.maxGapIvs {
			empty := newMerged(len(s.cfg.WatchPrefixes))
			for t := s.next; t < start; t += s.iv {
				s.run(t, &Features{Start: t}, empty)
			}
		} else {
			s.skipGap()
		}
	}
	s.run(start, f, m)
	s.next = start + s.iv
}

// skipGap forgets the windows that span a skipped gap (a restart, the next
// file): the window sums of bandwidth_spike must not mix seconds from
// before and after it. Baselines and open incidents stay.
func (s *stage) skipGap() {
	s.cw.reset()
	for _, w := range s.keyWin {
		w.reset()
	}
	for _, m := range []map[string]*track{s.global, s.server} {
		for _, tr := range m {
			if w, ok := tr.st.(windowed); ok {
				w.reset()
			}
		}
	}
}

func (s *stage) rate(n uint64) float64 { return float64(n) / s.ivSec }

// knownServers returns how many monitored servers a track covers: one for a
// server's track, every server with a track for the global one.
func (s *stage) knownServers(tr *track) int {
	if tr.scope != ScopeGlobal {
		return 1
	}
	return len(s.servers)
}

// verdict is one interval's evaluation of a track.
type verdict struct {
	vd   baseline.Verdict
	cond bool
	// why explains the evidence, for the alert's detail.
	why string
}

func (s *stage) run(start int64, f *Features, m *merged) {
	end := start + s.iv
	states := map[string]*DetectorState{}
	note := func(tr *track, target string, vd baseline.Verdict) {
		k := tr.det + "|" + tr.scope
		if st := states[k]; st == nil || vd.Score > st.Score {
			states[k] = &DetectorState{Detector: tr.det, Scope: tr.scope, Target: target, Value: vd.Value,
				Expected: vd.Expected, Lower: max(0, vd.Lower), Upper: vd.Upper, Score: vd.Score, Ready: vd.Ready}
		}
	}
	// Global and per-server scopes.
	scoped := func(scope, target string, ff *Features, srv *serverSnap) {
		for _, d := range s.dets {
			c := d.section(&s.cfg)
			if c.Disabled || (scope != ScopeGlobal && !d.atServers()) {
				continue
			}
			det := d.kind()
			var tr *track
			if scope == ScopeGlobal {
				tr = s.global[det]
				if tr == nil {
					tr = s.newDetectorTrack(d, scope, target)
					s.global[det] = tr
				}
			} else {
				k := det + "|" + target
				tr = s.server[k]
				if tr == nil {
					if len(s.server) >= 3*s.cfg.MaxServers && !s.watched[target] {
						s.dropped++
						continue
					}
					tr = s.newDetectorTrack(d, scope, target)
					s.server[k] = tr
					s.servers[target] = struct{}{}
				}
			}
			in := &input{start: start, f: ff, m: m, srv: srv, learn: !tr.res.Active(), static: c.Static[scope]}
			v := tr.st.score(s, tr, in)
			tr.last = v.vd
			note(tr, target, v.vd)
			s.hysteresis(tr, in, end, v)
		}
	}
	s.mix.push(start, m.fp, m.clientHello, float64(f.ClientHellos-min(f.ClientHellos, f.QUICHellos)), m.helloSrc)
	s.cw.push(m.pairBytes, m.pairConns)
	scoped(ScopeGlobal, "", f, nil)
	targets := make([]string, 0, len(m.servers))
	byName := map[string]*serverSnap{}
	for a, x := range m.servers {
		n := a.String()
		targets = append(targets, n)
		byName[n] = x
	}
	// Known servers without traffic this interval see zeros, for every
	// detector, so their incidents resolve and their baselines learn the
	// quiet second.
	for _, tr := range s.server {
		if byName[tr.target] == nil {
			targets = append(targets, tr.target)
			byName[tr.target] = &serverSnap{}
		}
	}
	sort.Strings(targets)
	for _, n := range targets {
		x := byName[n]
		scoped(ScopeServer, n, &x.f, x)
	}
	// request_burst's sketched scopes (burstkeyed.go).
	if !s.cfg.RequestBurst.Disabled {
		s.burstKeyed(start, end, m, note)
	}
	out := make([]DetectorState, 0, len(states))
	for _, st := range states {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Detector != out[j].Detector {
			return out[i].Detector < out[j].Detector
		}
		return out[i].Scope < out[j].Scope
	})
	s.states = out
	s.learnMix()
}

// alertGroup is the open group of one detector's overlapping incidents.
type alertGroup struct {
	id   string
	open int // incidents of the group not yet resolved
}

// joinGroup returns the group of a new incident of det with ID id: the
// open group of det, or a new one named id.
func (s *stage) joinGroup(det, id string) string {
	g := s.groups[det]
	if g == nil || g.open == 0 {
		g = &alertGroup{id: id}
		s.groups[det] = g
	}
	g.open++
	return g.id
}

// leaveGroup records that one incident of det's open group resolved.
func (s *stage) leaveGroup(det string) {
	if g := s.groups[det]; g != nil && g.open > 0 {
		g.open--
	}
}

// hysteresis runs the k-of-n filter and the resolver, and emits firing and
// resolved events.
func (s *stage) hysteresis(tr *track, in *input, end int64, v verdict) {
	if v.cond && tr.runStart == 0 {
		tr.runStart = in.start
	}
	fire := tr.kofn.Step(v.cond)
	if !fire && tr.kofn.Count() == 0 {
		tr.runStart = 0
	}
	switch tr.res.Step(end, fire) {
	case baseline.Started:
		tr.a = s.anomaly(tr, v, in)
		tr.a.Group = s.joinGroup(tr.det, tr.a.ID)
		tr.peak, tr.peakSc = v.vd.Value, v.vd.Score
		s.emit(tr.a)
	case baseline.Resolved:
		s.resolved(tr)
	default:
		if tr.res.Active() && fire {
			tr.peak = max(tr.peak, v.vd.Value)
			tr.peakSc = max(tr.peakSc, v.vd.Score)
		}
	}
}

// resolved emits the resolved event of a track's open incident, with its
// end and peak, and closes its share of the alert group.
func (s *stage) resolved(tr *track) {
	a := tr.a
	a.State = StateResolved
	e := time.Unix(0, tr.res.LastFiring()).UTC()
	a.End = &e
	a.Value, a.Score = tr.peak, tr.peakSc
	a.Summary = a.Summary + fmt.Sprintf("; ended after %v, peak %s", e.Sub(a.Start).Round(time.Second), fmtUnit(tr.peak, a.Unit))
	s.emit(a)
	s.leaveGroup(tr.det)
	tr.runStart = 0
}

func fmtRate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func fmtUnit(v float64, unit string) string { return fmtRate(v) + " " + unit }

// anomaly builds the firing event of a track's new incident.
func (s *stage) anomaly(tr *track, v verdict, in *input) Anomaly {
	vd := v.vd
	d := s.detector(tr.det)
	start := tr.runStart
	if start == 0 {
		start = tr.res.Start() - s.iv
	}
	a := Anomaly{
		Kind: tr.det, State: StateFiring, Scope: tr.scope, Target: tr.target,
		Start: time.Unix(0, start).UTC(), Value: vd.Value, Baseline: vd.Expected, Lower: max(0, vd.Lower), Upper: vd.Upper,
		Score: finiteOr(vd.Score), Severity: SeverityWarning.String(), Unit: d.unit(tr.scope),
		Top: []Contributor{},
	}
	if in.m != nil {
		a.Top = d.contributors(s, tr, in.m)
	}
	if a.Score >= 4 {
		a.Severity = SeverityCritical.String()
	}
	a.ID = incidentID(a.Kind, a.Scope, a.Target, start)
	det := time.Unix(0, tr.res.Start()).UTC()
	a.Detected = &det
	where := tr.scope
	if tr.target != "" {
		where += " " + tr.target
	}
	a.Summary = fmt.Sprintf("%s at %s: %s, expected %s (band %s to %s), score %.1f", tr.det, where,
		fmtUnit(vd.Value, a.Unit), fmtSmall(vd.Expected), fmtSmall(a.Lower), fmtSmall(vd.Upper), a.Score)
	a.Detail = v.why
	if x, ok := d.(explainer); ok && in.m != nil {
		a.Detail = joinDetail(a.Detail, x.explain(s, &a, in))
	}
	return a
}

func finiteOr(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return 0
	}
	return x
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// helloContributors lists the interval's heaviest clients by ClientHellos
// and the SNIs most named. They come from the whole interval, not one
// server: per-server alerts list the heaviest keys over all servers.
func (s *stage) helloContributors(m *merged) []Contributor {
	hc := map[netip.Addr]uint64{}
	for a := range m.clientHello {
		hc[a] = m.helloCount(a)
	}
	out := topContributors(s, ScopeClient, hc, netip.Addr.String)
	return append(out, topContributors(s, ScopeSNI, m.sni, func(n string) string { return n })...)
}

// synContributors lists the interval's heaviest SYN sources: prefixes, then
// clients.
func (s *stage) synContributors(m *merged) []Contributor {
	out := topContributors(s, ScopePrefix, m.pfxSYN, netip.Prefix.String)
	return append(out, topContributors(s, ScopeClient, m.clientSYN, netip.Addr.String)...)
}

// byteContributors lists the clients that received the most bytes.
func (s *stage) byteContributors(m *merged) []Contributor {
	return topContributors(s, ScopeClient, m.clientBytes, netip.Addr.String)
}

// topContributors lists the TopContributors heaviest keys of counts, as
// kind:key with their rate.
func topContributors[K comparable](s *stage, kind string, counts map[K]uint64, str func(K) string) []Contributor {
	out := []Contributor{}
	for _, e := range top(counts, s.cfg.TopContributors, str) {
		out = append(out, Contributor{Key: kind + ":" + str(e.k), Value: s.rate(e.v)})
	}
	return out
}

// resolveAll ends every open incident at its last firing time (the replay
// ended).
func (s *stage) resolveAll() {
	var all []*track
	for _, k := range sortedKeys(s.global) {
		all = append(all, s.global[k])
	}
	for _, k := range sortedKeys(s.server) {
		all = append(all, s.server[k])
	}
	for _, sc := range sortedKeys(s.keyed) {
		for _, k := range sortedKeys(s.keyed[sc]) {
			all = append(all, s.keyed[sc][k])
		}
	}
	for _, m := range s.pfx {
		for _, tr := range m {
			all = append(all, tr)
		}
	}
	for _, tr := range all {
		if !tr.res.Active() {
			continue
		}
		s.resolved(tr)
		tr.res.Reset()
		tr.kofn.Reset()
	}
}
