package detect

import (
	"encoding"
	"fmt"
	"math"

	"github.com/monitor443/monitor443/detect/baseline"
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
// many unique sources as SYNs (each source sends about one), a wide spread
// of TTLs, and few completed handshakes.
func (synFlood) explain(s *stage, a *Anomaly, in *input) string {
	m, srv := in.m, in.srv
	if m == nil {
		return ""
	}
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
