package detect

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"slices"
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

	fast  *rateBase   // request_burst at client, SNI and prefix scope
	flood *floodState // syn_flood, quic_flood (flood.go)
	bw    *bwState    // bandwidth_spike (bandwidth.go)

	kofn *baseline.KOfN
	res  *baseline.Resolver

	runStart int64 // start of the first positive interval of the current run
	// halfOpen is the half-open flow count at the end of the last interval
	// that was not part of a run (global syn_flood only), for the alert.
	halfOpen uint64
	last     baseline.Verdict
	a        Anomaly // the open incident's firing event
	peak     float64
	peakSc   float64
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

	global map[string]*track // by detector
	server map[string]*track // by detector + "|" + target
	keyed  map[string]map[string]*track
	scopeB map[string]*rateBase   // max-key baselines by detector|scope
	pfx    []map[string]*track    // watched prefixes: by detector
	groups map[string]*alertGroup // open alert groups, by detector
	mix    *stackMix              // the learned mix of client stacks (burst.go)
	cw     *clientWindows         // egress by client over the bandwidth windows (bandwidth.go)
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
		cfg: c, iv: int64(iv), ivSec: iv.Seconds(), logger: logger, emit: emit, watched: watched,
		global: map[string]*track{}, server: map[string]*track{}, keyed: map[string]map[string]*track{},
		scopeB: map[string]*rateBase{}, groups: map[string]*alertGroup{}, mix: newStackMix(), cw: newClientWindows(max(1, int(bwShortWindow/iv)), max(1, int(bwShortWindow/iv), int(c.Slow/iv))), maxGapIvs: int64(10 * time.Minute / iv),
	}
}

func (s *stage) detCfg(det string) DetectorConfig {
	switch det {
	case KindBandwidthSpike:
		return s.cfg.BandwidthSpike
	case KindRequestBurst:
		return s.cfg.RequestBurst
	case KindQUICFlood:
		return s.cfg.QUICFlood
	}
	return s.cfg.SYNFlood
}

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
func (s *stage) restoreInto(key string, m interface{ UnmarshalBinary([]byte) error }) {
	d, ok := s.restore[key]
	if !ok {
		return
	}
	delete(s.restore, key)
	if err := m.UnmarshalBinary(d); err != nil {
		s.logger.Warn("baseline not restored, relearning", "baseline", key, "err", err)
	}
}

func (s *stage) newTrack(det, scope, target string, withBase bool) *track {
	c := s.detCfg(det)
	t := &track{det: det, scope: scope, target: target,
		kofn: must(baseline.NewKOfN(c.K, c.N)), res: must(baseline.NewResolver(c.Quiet))}
	if !withBase {
		return t
	}
	key := det + "|" + scope + "|" + target
	g := s.guard(det)
	switch {
	case det == KindQUICFlood, det == KindSYNFlood,
		det == KindRequestBurst && (scope == ScopeGlobal || scope == ScopeServer):
		t.flood = newFloodState(s.warmup())
		s.restoreInto(key+"|count", t.flood.cnt)
	case det == KindBandwidthSpike:
		t.bw = newBWState(time.Duration(s.iv), s.cfg.Slow, s.cfg.Learning)
		s.restoreInto(key+"|record|short", t.bw.rec[0])
		s.restoreInto(key+"|record|long", t.bw.rec[1])
	default:
		t.fast = newRateBase(&s.cfg, s.warmup(), bandK, g)
		s.restoreInto(key+"|ewma", t.fast.ew)
		if t.fast.se != nil {
			s.restoreInto(key+"|seasonal", t.fast.se)
		}
	}
	return t
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
	if tr := s.global[KindBandwidthSpike]; tr != nil && tr.bw != nil {
		tr.bw.reset()
	}
	for _, tr := range s.server {
		if tr.bw != nil {
			tr.bw.reset()
		}
	}
}

func (s *stage) rate(n uint64) float64 { return float64(n) / s.ivSec }

// knownServers returns how many monitored servers a track covers: one for a
// server's track, every tracked server for the global one.
func (s *stage) knownServers(tr *track) int {
	if tr.scope != ScopeGlobal {
		return 1
	}
	n := 0
	for _, x := range s.server {
		if x.det == tr.det {
			n++
		}
	}
	return n
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
		for _, det := range Detectors {
			if s.detCfg(det).Disabled || (det == KindQUICFlood && scope != ScopeGlobal) {
				continue
			}
			var tr *track
			if scope == ScopeGlobal {
				tr = s.global[det]
				if tr == nil {
					tr = s.newTrack(det, scope, target, true)
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
					tr = s.newTrack(det, scope, target, true)
					s.server[k] = tr
				}
			}
			v := s.evaluate(tr, start, ff, m, srv)
			note(tr, target, v.vd)
			s.hysteresis(tr, start, end, v, m, srv)
		}
	}
	s.mix.push(m.fp, m.clientHello)
	s.cw.push(m.pairBytes)
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
	// Sketched scopes: clients and SNIs by ClientHellos, prefixes by SYNs.
	if !s.cfg.RequestBurst.Disabled {
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

// evaluate scores one interval of a global or per-server track.
func (s *stage) evaluate(tr *track, start int64, f *Features, m *merged, srv *serverSnap) verdict {
	learn := !tr.res.Active()
	c := s.detCfg(tr.det)
	static := c.Static[tr.scope]
	switch tr.det {
	case KindQUICFlood:
		v := s.quicFloodScore(tr, f, learn)
		tr.last = v.vd
		if static > 0 && v.vd.Value >= static {
			v.cond, v.why = true, joinDetail("above the static threshold "+fmtRate(static), v.why)
		}
		return v
	case KindSYNFlood:
		v := s.synFloodScore(tr, start, f, learn, s.knownServers(tr))
		tr.last = v.vd
		if tr.scope == ScopeGlobal && v.cond && f.HalfOpen > 0 {
			v.why = joinDetail(v.why, fmt.Sprintf("half-open flows %d (%d before)", f.HalfOpen, tr.halfOpen))
		}
		if !v.cond && tr.runStart == 0 && !tr.res.Active() {
			tr.halfOpen = f.HalfOpen
		}
		if syn := s.rate(f.SYN); static > 0 && syn >= static {
			v.cond, v.why = true, joinDetail("SYNs above the static threshold "+fmtRate(static), v.why)
		}
		return v
	case KindBandwidthSpike:
		v := s.bandwidthScore(tr, start, f, learn)
		tr.last = v.vd
		if egress := s.rate(f.BytesOut); static > 0 && egress >= static {
			// The static rule judges this second's rate, so the alert
			// reports that rate.
			v.cond, v.why = true, joinDetail("above the static threshold "+fmtRate(static), v.why)
			v.vd.Value = max(v.vd.Value, egress)
		}
		return v
	default: // request_burst
		v := s.burstScore(tr, start, f, learn)
		tr.last = v.vd
		if static > 0 && v.vd.Value >= static {
			v.cond, v.why = true, joinDetail("above the static threshold "+fmtRate(static), v.why)
		}
		return v
	}
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
func (s *stage) hysteresis(tr *track, start, end int64, v verdict, m *merged, srv *serverSnap) {
	if v.cond && tr.runStart == 0 {
		tr.runStart = start
	}
	fire := tr.kofn.Step(v.cond)
	if !fire && tr.kofn.Count() == 0 {
		tr.runStart = 0
	}
	switch tr.res.Step(end, fire) {
	case baseline.Started:
		tr.a = s.anomaly(tr, v, m, srv)
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

func unitOf(det, scope string) string {
	switch det {
	case KindBandwidthSpike:
		return "bytes/s"
	case KindSYNFlood:
		return "syn/s"
	case KindQUICFlood:
		return "initials/s"
	}
	if scope == ScopePrefix {
		return "syn/s"
	}
	return "hellos/s"
}

func fmtRate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func fmtUnit(v float64, unit string) string { return fmtRate(v) + " " + unit }

// anomaly builds the firing event of a track's new incident.
func (s *stage) anomaly(tr *track, v verdict, m *merged, srv *serverSnap) Anomaly {
	vd := v.vd
	start := tr.runStart
	if start == 0 {
		start = tr.res.Start() - s.iv
	}
	a := Anomaly{
		Kind: tr.det, State: StateFiring, Scope: tr.scope, Target: tr.target,
		Start: time.Unix(0, start).UTC(), Value: vd.Value, Baseline: vd.Expected, Lower: max(0, vd.Lower), Upper: vd.Upper,
		Score: finiteOr(vd.Score), Severity: SeverityWarning.String(), Unit: unitOf(tr.det, tr.scope),
		Top: s.contributors(tr.det, tr.scope, m),
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
	detail := v.why
	if tr.det == KindSYNFlood && m != nil {
		detail = joinDetail(detail, s.spoofDetail(&a, m, srv))
	}
	if tr.det == KindQUICFlood && m != nil {
		detail = joinDetail(detail, s.quicSpoofDetail(&a, m))
	}
	a.Detail = detail
	return a
}

// quicSpoofDetail judges whether a QUIC Initial flood's sources look
// spoofed: nearly as many unique sources as Initials (each a new
// connection from a new address), over at least 20 Initials. Without a
// handshake to complete, the source count is the evidence.
func (s *stage) quicSpoofDetail(a *Anomaly, m *merged) string {
	inits := math.Round(a.Value * s.ivSec) // the firing interval's Initials
	if inits == 0 {
		return ""
	}
	uniq := estimate(m.quicSources)
	ratio := uniq / inits
	a.UniqueSources = math.Round(uniq)
	d := fmt.Sprintf("%.0f client Initials from about %.0f unique sources (%.2f per Initial)", inits, uniq, ratio)
	if ratio >= s.cfg.SpoofedSourceRatio && inits >= 20 {
		a.Spoofed = true
		a.Severity = SeverityCritical.String()
		d += ": the sources look spoofed"
	}
	return d
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

// spoofDetail judges whether a SYN flood's sources look spoofed: nearly as
// many unique sources as SYNs (each source sends about one), a wide spread
// of TTLs, and few completed handshakes.
func (s *stage) spoofDetail(a *Anomaly, m *merged, srv *serverSnap) string {
	var syn, hs uint64
	var uniq float64
	ttls := -1
	if srv != nil {
		syn, hs, uniq, ttls = srv.f.SYN, srv.f.Handshakes, estimate(srv.synSrc), ttlCount(srv.ttl)
	} else {
		uniq = estimate(m.synSources)
		for _, x := range m.servers {
			syn += x.f.SYN
			hs += x.f.Handshakes
		}
	}
	if syn == 0 {
		return ""
	}
	ratio := uniq / float64(syn)
	compl := float64(hs) / float64(syn)
	spoofed := ratio >= s.cfg.SpoofedSourceRatio && compl < 0.5 && syn >= 20
	if ttls >= 0 {
		spoofed = spoofed && ttls >= 16
	}
	a.Spoofed = spoofed
	a.UniqueSources = math.Round(uniq)
	d := fmt.Sprintf("%d SYNs from about %.0f unique sources (%.2f per SYN), handshake completion %.0f%%", syn, uniq, ratio, 100*compl)
	if ttls >= 0 {
		d += fmt.Sprintf(", %d distinct TTLs", ttls)
	}
	if spoofed {
		a.Severity = SeverityCritical.String()
		d += ": the sources look spoofed"
	}
	return d
}

// contributors lists the interval's heaviest keys relevant to det at
// scope. They come from the whole interval, not one server: per-server
// alerts list the heaviest clients, SNIs or prefixes over all servers.
// Prefix-scope request bursts are SYN rates, so they list SYN sources; a
// QUIC flood lists what its Initials' ClientHellos name and come from.
func (s *stage) contributors(det, scope string, m *merged) []Contributor {
	out := []Contributor{}
	if m == nil {
		return out
	}
	n := s.cfg.TopContributors
	addr := func(a netip.Addr) string { return a.String() }
	add := func(kind string, k string, v uint64) {
		out = append(out, Contributor{Key: kind + ":" + k, Value: s.rate(v)})
	}
	switch {
	case det == KindRequestBurst && scope == ScopePrefix:
		det = KindSYNFlood
	case det == KindQUICFlood:
		det = KindRequestBurst // its ClientHellos: the names flooded, and the sources
	}
	switch det {
	case KindBandwidthSpike:
		for _, e := range top(m.clientBytes, n, addr) {
			add(ScopeClient, e.k.String(), e.v)
		}
	case KindRequestBurst:
		hc := map[netip.Addr]uint64{}
		for a := range m.clientHello {
			hc[a] = m.helloCount(a)
		}
		for _, e := range top(hc, n, addr) {
			add(ScopeClient, e.k.String(), e.v)
		}
		for _, e := range top(m.sni, n, func(s string) string { return s }) {
			add(ScopeSNI, e.k, e.v)
		}
	case KindSYNFlood:
		for _, e := range top(m.pfxSYN, n, func(p netip.Prefix) string { return p.String() }) {
			add(ScopePrefix, e.k.String(), e.v)
		}
		for _, e := range top(m.clientSYN, n, addr) {
			add(ScopeClient, e.k.String(), e.v)
		}
	}
	return out
}

// keyedScope runs request_burst over the keys of a sketched scope. The
// scope's baseline learns the heaviest key's rate each interval; every key
// is scored against that band, and keys whose condition holds get their own
// k-of-n filter and resolver (at most MaxTargets per scope).
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
	for _, k := range keys {
		v := vals[k]
		vd := b.check(start, v)
		if bestKey == "" || vd.Score > best.Score {
			best, bestKey = vd, k
		}
		cond := vd.High()
		if scope == ScopeSNI {
			cond = cond && s.concentrated(vd, s.rate(topHello))
		}
		why := ""
		if static > 0 && v >= static {
			cond, why = true, "above the static threshold "+fmtRate(static)
		}
		tr := tracks[k]
		if tr == nil {
			if !cond {
				continue
			}
			if len(tracks) >= s.cfg.MaxTargets {
				s.dropped++
				continue
			}
			tr = s.newTrack(det, scope, k, false)
			tracks[k] = tr
		}
		stepped[k] = true
		tr.last = vd
		s.hysteresis(tr, start, end, verdict{vd: vd, cond: cond, why: why}, m, nil)
	}
	for _, k := range sortedKeys(tracks) {
		tr := tracks[k]
		if !stepped[k] {
			vd := b.check(start, 0)
			s.hysteresis(tr, start, end, verdict{vd: vd}, m, nil)
		}
		if !tr.res.Active() && tr.kofn.Count() == 0 {
			delete(tracks, k)
		}
	}
	// Learn the heaviest key's rate, unless one of the keys is in an
	// incident (then only score, so an attack does not become normal).
	learn := true
	for _, tr := range tracks {
		if tr.res.Active() {
			learn = false
			break
		}
	}
	mv := b.step(start, maxV, learn)
	if bestKey == "" {
		best = mv
	}
	note(&track{det: det, scope: scope}, bestKey, best)
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
			tr = s.newTrack(KindRequestBurst, ScopePrefix, p.String(), true)
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
		s.hysteresis(tr, start, end, verdict{vd: vd, cond: cond, why: why}, m, nil)
	}
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
