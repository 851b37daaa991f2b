package detect

import (
	"encoding"
	"fmt"
	"math"

	"github.com/monitor443/monitor443/detect/baseline"
)

// quicFlood is quic_flood: QUIC floods by what a flood does, as syn_flood
// judges TCP. A QUIC client whose address is real answers the server's
// first datagram (its second flight, or a new Initial after a Retry); a
// spoofed Initial's source never does, whether the server answers it or
// not. So the detector counts the QUIC connection attempts (first client
// Initials) that no client datagram followed once the server had sent one
// (unreturned attempts), with the count test against their learned, usually
// small, rate or, before it is learned, against the same prior as syn_flood:
// at most one failed attempt for four that completed, plus background
// scanning of every monitored server (flood.go). A crowd of real visitors
// returns and raises nothing here. Whether the sources look spoofed is
// reported in the alert. It runs at the global scope only.
//
// Limit: a botnet of real hosts that completes its QUIC handshakes is not a
// flood of unreturned attempts; it is a rise of connections, which
// request_burst judges for TCP only.
type quicFlood struct{}

func (quicFlood) kind() string                               { return KindQUICFlood }
func (quicFlood) section(c *DetectionConfig) *DetectorConfig { return &c.QUICFlood }
func (quicFlood) atServers() bool                            { return false }
func (quicFlood) unit(string) string                         { return "attempts/s" }

func (quicFlood) newState(s *stage, restore func(string, encoding.BinaryUnmarshaler)) trackState {
	st := &quicFloodState{cnt: s.newCount(floodDeadline)}
	restore("count", st.cnt)
	return st
}

// contributors lists what the flood's ClientHellos name and where they come
// from.
func (quicFlood) contributors(s *stage, _ *track, m *merged) []Contributor {
	return s.helloContributors(m)
}

// quicFloodState is a quic_flood track's state.
type quicFloodState struct {
	cnt *baseline.Count
	// pending holds the attempts not yet returned: a client answers one
	// round trip after the server, possibly in a later interval (attempts).
	pending attempts
	// ret is the smoothed returned attempts per interval.
	ret float64
}

func (st *quicFloodState) score(s *stage, tr *track, in *input) verdict {
	f := in.f
	u := st.unreturned(f)
	st.ret += hsAlpha * (float64(f.QUICReturned) - st.ret)
	prior := priorScanRate*s.ivSec*float64(max(1, s.knownServers(tr))) + priorFailShare*st.ret
	vd := st.cnt.Step(float64(u), prior, in.learn)
	v := verdict{vd: s.perSecond(vd), cond: vd.High()}
	if vd.Ready && vd.Score > 1 {
		v.why = s.floodWhy(st.cnt, vd, "unreturned QUIC connection attempts",
			st.pending.why(u, fmt.Sprintf("%d client Initials, %d new connections, %d returned", f.QUICInitials, f.QUICConns, f.QUICReturned)))
	}
	v.aboveStatic(s.rate(f.QUICInitials), in.static, "client Initials ")
	return v
}

// unreturned returns the QUIC connection attempts that no client datagram
// followed, counting a client's attempts and returns within an interval
// once each (see analyzer.quicSources).
func (st *quicFloodState) unreturned(f *Features) uint64 {
	n := f.QUICConns - min(f.QUICConns, f.QUICSourceRepeats)
	done := f.QUICReturned - min(f.QUICReturned, f.QUICReturnSourceRepeats)
	late := f.QUICReturnedLate - min(f.QUICReturnedLate, f.QUICReturnLateSourceRepeats)
	return st.pending.step(n, done, late)
}

func (st *quicFloodState) save(prefix string, out map[string][]byte) { saveCount(st.cnt, prefix, out) }

// explain judges whether a QUIC Initial flood's sources look spoofed:
// nearly as many unique sources as Initials (each a new connection from a
// new address), over at least 20 Initials. Without a handshake to complete,
// the source count is the evidence.
func (quicFlood) explain(s *stage, a *Anomaly, in *input) string {
	if in.m == nil {
		return ""
	}
	inits := float64(in.f.QUICInitials) // the firing interval's Initials
	if inits == 0 {
		return ""
	}
	uniq := estimate(in.m.quicSources)
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
