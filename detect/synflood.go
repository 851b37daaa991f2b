package detect

import (
	"encoding"
	"fmt"
	"math"

	"github.com/monitor443/monitor443/detect/baseline"
	"github.com/monitor443/monitor443/detect/sketch"
)

// synFlood is syn_flood: SYN floods by what a flood does. It counts the SYNs
// that no handshake completed (unanswered SYNs) and judges them with the
// count test against their learned, usually near-zero, rate or, before it
// is learned, against the prior that at most one attempt fails for four
// that complete, plus background scanning of every monitored server
// (flood.go). A flash crowd completes its handshakes and raises nothing
// here; a spoofed flood's SYNs are never completed; a botnet that completes
// a third of its handshakes leaves two thirds unanswered. Spoofing evidence
// (unique sources, TTL spread, completion) and half-open growth are
// reported in the alert, not required to fire.
type synFlood struct{}

func (synFlood) kind() string                               { return KindSYNFlood }
func (synFlood) section(c *DetectionConfig) *DetectorConfig { return &c.SYNFlood }
func (synFlood) atServers() bool                            { return true }
func (synFlood) unit(string) string                         { return "syn/s" }

func (synFlood) newState(s *stage, restore func(string, encoding.BinaryUnmarshaler)) trackState {
	st := &synFloodState{cnt: s.newCount(floodDeadline)}
	restore("count", st.cnt)
	return st
}

func (synFlood) contributors(s *stage, _ *track, m *merged) []Contributor {
	return s.synContributors(m)
}

// synFloodState is a syn_flood track's state.
type synFloodState struct {
	cnt *baseline.Count
	// pending holds the SYNs no handshake completed yet (attempts).
	pending attempts
	// hs is the smoothed handshakes per interval.
	hs float64
	// halfOpen is the half-open flow count at the end of the last interval
	// that was not part of a run (global scope only), for the alert.
	halfOpen uint64
}

func (st *synFloodState) score(s *stage, tr *track, in *input) verdict {
	f := in.f
	u := st.unanswered(f)
	st.hs += hsAlpha * (float64(f.Handshakes) - st.hs)
	prior := priorScanRate*s.ivSec*float64(max(1, s.knownServers(tr))) + priorFailShare*st.hs
	vd := st.cnt.Step(float64(u), prior, in.learn)
	v := verdict{vd: s.perSecond(vd), cond: vd.High()}
	if vd.Ready && vd.Score > 1 {
		v.why = s.floodWhy(st.cnt, vd, "unanswered SYNs", st.pending.why(u, fmt.Sprintf("%d SYNs, %d handshakes completed", f.SYN, f.Handshakes)))
	}
	if tr.scope == ScopeGlobal && v.cond && f.HalfOpen > 0 {
		v.why = joinDetail(v.why, fmt.Sprintf("half-open flows %d (%d before)", f.HalfOpen, st.halfOpen))
	}
	if !v.cond && tr.runStart == 0 && !tr.res.Active() {
		st.halfOpen = f.HalfOpen
	}
	v.aboveStatic(s.rate(f.SYN), in.static, "SYNs ")
	return v
}

func (st *synFloodState) save(prefix string, out map[string][]byte) { saveCount(st.cnt, prefix, out) }

// unanswered returns the connection attempts that no handshake completed.
// An attempt is a SYN that is not its flow's SYN again: a client whose
// SYN-ACKs are lost on the way (a broken path, a firewall) retries the same
// attempt five or six times within a minute, and counted as packets those
// retries would be a clump of dependent events, which the count test
// takes for a rise (or, learned, for dispersion that hides one). Counts are
// counts of independent events. A spoofed flood's SYNs are each a new
// attempt; a SYN the flow table could not track (its budget spent) counts
// as one too.
//
// At the global scope two more kinds of SYN are left out (a server's own
// features have neither): attempts at addresses that never answered (a
// sweep of unused address space probes no server), and a source's second
// and later attempts within the interval, with the handshakes of a client
// that already completed one (see srcSet: one actor's clump is one event).
func (st *synFloodState) unanswered(f *Features) uint64 {
	n := f.SYN - min(f.SYN, f.SYNRepeats+f.DarkSYNs+f.SYNSourceRepeats)
	done := f.Handshakes - min(f.Handshakes, f.HandshakeSourceRepeats)
	late := f.HandshakesLate - min(f.HandshakesLate, f.HandshakeLateSourceRepeats)
	return st.pending.step(n, done, late)
}

// explain judges whether a SYN flood's sources look spoofed: nearly as
// many unique sources as SYNs (each source sends about one), few completed
// handshakes and, where the SYNs' TTLs are known (at a tracked server),
// TTLs that no crowd of real hosts shows (see ttlEvidence).
func (synFlood) explain(s *stage, a *Anomaly, in *input) string {
	m, srv := in.m, in.srv
	if m == nil {
		return ""
	}
	var syn, hs uint64
	var uniq float64
	var ttl ttlHist
	if srv != nil {
		syn, hs, uniq = srv.f.SYN, srv.f.Handshakes, estimate(srv.synSrc)
		if srv.ttl != nil {
			ttl = *srv.ttl
		}
	} else if fl := floodedServers(m); fl.syn > 0 {
		// The flood's SYNs are those at the servers that stopped
		// completing handshakes: the site's other servers, with their
		// ordinary clients, would dilute the evidence (a flood against one
		// server of a busy site leaves the site's completion above half),
		// and the grouped server alert would say spoofed while the global
		// one did not.
		syn, hs, uniq, ttl = fl.syn, fl.hs, estimate(fl.src), fl.ttl
	} else {
		// The global figures count the attempts at every address that is
		// not dark, tracked as a server or not (a victim that never
		// answered is never tracked); TTLs are counted at servers.
		syn, hs, uniq = in.f.SYN-min(in.f.SYN, in.f.DarkSYNs), in.f.Handshakes, estimate(m.synSources)
		for _, x := range m.servers {
			if x.ttl != nil {
				ttl.add(x.ttl)
			}
		}
	}
	if syn == 0 {
		return ""
	}
	ratio := uniq / float64(syn)
	compl := float64(hs) / float64(syn)
	spoofed := ratio >= s.cfg.SpoofedSourceRatio && compl < 0.5 && syn >= 20
	a.UniqueSources = math.Round(uniq)
	d := fmt.Sprintf("%d SYNs from about %.0f unique sources (%.2f per SYN), handshake completion %.0f%%", syn, uniq, ratio, 100*compl)
	if forged, why, ok := ttlEvidence(&ttl, uniq); ok {
		spoofed = spoofed && forged
		d += ", " + why
	}
	a.Spoofed = spoofed
	if spoofed {
		a.Severity = SeverityCritical.String()
		d += ": the sources look spoofed"
	}
	return d
}

// flooded sums the servers of an interval that completed fewer than half
// of their SYNs' handshakes.
type flooded struct {
	syn, hs uint64
	src     *sketch.HyperLogLog
	ttl     ttlHist
}

func floodedServers(m *merged) flooded {
	var fl flooded
	for _, x := range m.servers {
		if x.f.SYN == 0 || 2*x.f.Handshakes >= x.f.SYN || x.synSrc == nil {
			continue
		}
		fl.syn += x.f.SYN
		fl.hs += x.f.Handshakes
		if fl.src == nil {
			fl.src = cloneHLL(x.synSrc)
		} else {
			_ = fl.src.Merge(x.synSrc) // one shape
		}
		if x.ttl != nil {
			fl.ttl.add(x.ttl)
		}
	}
	return fl
}

// TTL evidence of forged sources. A TTL seen here is the sender's initial
// TTL less the hops on its path. Stacks start at 64 (Linux, macOS, the
// BSDs, Android, iOS), 128 (Windows) or 255 (network equipment, some
// Unix), and internet paths are rarely longer than ttlMaxHops hops
// (measured path lengths centre on 15 to 20), so real hosts arrive with
// TTLs in the bands just below those values, spread over the hop counts of
// their different paths. Forged sources show one of two things instead:
//
//   - one sender's path: however many sources the SYNs claim, they left
//     one machine over one route, so one or two TTLs (a route that changed,
//     a tool that alternates) carry most of the SYNs. Hundreds of real
//     hosts do not agree on their hop count like that. (Both public
//     captures of spoofed floods in the shared test data show exactly two
//     values, 242 and 244, over thousands of sources.)
//   - random TTLs: a tool that draws the TTL at random puts many values
//     outside every band (65 to 87 and 129 to 214 take paths of more than
//     40 hops), where real paths almost never arrive.
//
// Sources behind one NAT gateway or on one LAN share a path too, but they
// complete their handshakes, which explain requires not to be the case
// before it asks.
const (
	ttlMaxHops = 40
	// ttlOnePathShare: the two most common TTLs carry at least half of the
	// SYNs. A spoofed verdict already needs most SYNs unanswered, so the
	// flood is most of the SYNs, and the server's ordinary clients, with
	// their spread of TTLs, the rest.
	ttlOnePathShare = 0.5
	// ttlOnePathSources is the least number of unique sources for one
	// path to say anything: a handful of hosts may share a hop count.
	ttlOnePathSources = 20
	// ttlRandomMin and ttlRandomShare: at least 16 distinct values of
	// which a quarter lie outside every band. Values drawn at random over
	// the byte's range fall outside in 43 % of draws; paths of more than
	// 40 hops are rare enough that real hosts put one value or two there,
	// not four of sixteen.
	ttlRandomMin   = 16
	ttlRandomShare = 0.25
)

// ttlPlausible reports whether a host with a common initial TTL could have
// sent a packet that arrives with ttl.
func ttlPlausible(ttl int) bool {
	for _, init := range [...]int{64, 128, 255} {
		if ttl <= init && init-ttl <= ttlMaxHops {
			return true
		}
	}
	return false
}

// ttlEvidence judges the TTLs of a flood's SYNs (counts by value) from
// uniq unique sources and says why; ok is false without SYNs.
func ttlEvidence(h *ttlHist, uniq float64) (forged bool, why string, ok bool) {
	var total, top1, top2 uint64
	distinct, odd := 0, 0
	for v, c := range h {
		if c == 0 {
			continue
		}
		n := uint64(c)
		total += n
		distinct++
		if !ttlPlausible(v) {
			odd++
		}
		switch {
		case n > top1:
			top1, top2 = n, top1
		case n > top2:
			top2 = n
		}
	}
	if total == 0 {
		return false, "", false
	}
	why = fmt.Sprintf("%d distinct TTLs", distinct)
	share := float64(top1+top2) / float64(total)
	switch {
	case share >= ttlOnePathShare && uniq >= ttlOnePathSources:
		if distinct > 2 {
			why += fmt.Sprintf(", two of them on %.0f%% of the SYNs", 100*share)
		}
		return true, why + ": one sender's path", true
	case distinct >= ttlRandomMin && float64(odd) >= ttlRandomShare*float64(distinct):
		return true, fmt.Sprintf("%s, %d of them from no common initial TTL within %d hops: drawn at random", why, odd, ttlMaxHops), true
	}
	if odd > 0 {
		why += fmt.Sprintf(" (%d outside the bands of real paths)", odd)
	}
	return false, why, true
}
