package detect

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/baseline"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/monitor443/monitor443/detect/sketch"
)

const sec = int64(time.Second)

func newTestStage(c DetectionConfig) (*stage, *[]Anomaly) {
	var out []Anomaly
	c.NoSeasonal = true
	st := newStage(c.withDefaults(), time.Second, slog.New(slog.DiscardHandler), func(a Anomaly) { out = append(out, a) })
	return st, &out
}

// TestSYNFloodHandComputed follows the count test by hand. Three learning
// intervals of 4 SYN/s, all completed, learned once the 120-interval guard
// (twice the flood deadline) has passed, leave no SYN unanswered, so the
// learned rate is the floor 1/300 per interval. Interval numbers below count
// from the end of the guard (g). A SYN counts as unanswered
// when neither its interval nor the next completes it, so the flood of
// intervals 10 to 12 (40 SYN, 4 completed) shows 36 unanswered SYNs in each
// of intervals 11 to 13. The first adds 36·ln 20 ≈ 108 nats to the
// ρ = 20 test, capped at 1.25·H = 25, so both intervals 11 and 12 alarm and
// 2-of-3 fires at the end of interval 12 (t0+13 s). The filter holds through
// interval 14 (last firing at its end, t0+15 s); once the unanswered SYNs
// stop, the downward test ends the alarm at once, and the 5 s quiet period
// resolves at the end of interval 19.
func TestSYNFloodHandComputed(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{Learning: 3 * time.Second,
		SYNFlood: DetectorConfig{K: 2, N: 3, Quiet: 5 * time.Second}})
	t0 := int64(1_700_000_000) * sec
	resolvedAt := -1
	const g = 120 // the guard, in intervals; i < 0 before its end
	for j := range g + 40 {
		i := j - g
		f := Features{SYN: 4, Handshakes: 4, ClientHellos: 4, HalfOpen: 3}
		if i >= 10 && i < 13 {
			f.SYN, f.HalfOpen = 40, 3+36*uint64(i-9)
		}
		n := len(*out)
		st.interval(t0+int64(i)*sec, &f, newMerged(0))
		for _, a := range (*out)[n:] {
			if a.State == StateResolved {
				resolvedAt = i
			}
		}
	}
	if len(*out) != 2 {
		for _, a := range *out {
			t.Logf("%+v", a)
		}
		t.Fatalf("got %d events, want firing and resolved", len(*out))
	}
	f, r := (*out)[0], (*out)[1]
	want := func(name string, got, want time.Time) {
		if !got.Equal(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if f.Kind != KindSYNFlood || f.State != StateFiring || f.Scope != ScopeGlobal || r.ID != f.ID {
		t.Errorf("events = %+v / %+v", f, r)
	}
	want("start", f.Start, time.Unix(0, t0+11*sec).UTC())
	want("detected", *f.Detected, time.Unix(0, t0+13*sec).UTC())
	want("end", *r.End, time.Unix(0, t0+15*sec).UTC())
	if resolvedAt != 19 {
		t.Errorf("resolved at interval %d, want 19", resolvedAt)
	}
	if f.Value != 36 || math.Abs(f.Baseline-1.0/300) > 1e-12 || f.Score != 1.25 {
		t.Errorf("value %v baseline %v score %v, want 36, 1/300, 1.25", f.Value, f.Baseline, f.Score)
	}
	// Half-open flows grew by 36 a second; the firing interval (12) ended
	// with 111, and the last interval before the run (10) with 39.
	if !strings.Contains(f.Detail, "half-open flows 111 (39 before)") || !strings.Contains(f.Detail, "unanswered SYNs 36/s") {
		t.Errorf("detail %q does not report the unanswered SYNs and the half-open growth", f.Detail)
	}
}

// TestStaticThreshold checks that a static threshold alerts during
// learning, after k of n intervals.
func TestStaticThreshold(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{RequestBurst: DetectorConfig{Static: map[string]float64{ScopeGlobal: 20}}})
	t0 := int64(1_700_000_000) * sec
	for i := range 3 {
		m := newMerged(0)
		m.clientHello[netip.MustParseAddr("192.0.2.1")] = 25
		st.interval(t0+int64(i)*sec, &Features{ClientHellos: 25}, m)
		if i < 2 && len(*out) != 0 {
			t.Fatalf("fired after %d intervals, want 3 (3 of 5)", i+1)
		}
	}
	if len(*out) != 1 || (*out)[0].Kind != KindRequestBurst || (*out)[0].Detail == "" {
		t.Fatalf("events = %+v, want one request_burst with a detail", *out)
	}
}

// TestFlashCrowd feeds the same global rise of ClientHellos twice: spread
// over many one-hello clients with the usual mix (a flash crowd) it must
// stay quiet; concentrated on one client it must fire at client scope,
// where a single client is judged, and not at global scope.
func TestFlashCrowd(t *testing.T) {
	t.Parallel()
	for _, crowd := range []bool{true, false} {
		t.Run(fmt.Sprint("crowd=", crowd), func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: 10 * time.Second})
			t0 := int64(1_700_000_000) * sec
			for i := range 40 {
				m := newMerged(0)
				n := uint64(4)
				if i >= 30 {
					n = 40
				}
				for c := range uint64(4) {
					m.clientHello[netip.AddrFrom4([4]byte{192, 0, 2, byte(c)})] = 1
				}
				if n > 4 {
					if crowd {
						for c := range n - 4 {
							m.clientHello[netip.AddrFrom4([4]byte{198, 51, 100, byte(c)})] = 1
						}
					} else {
						m.clientHello[netip.MustParseAddr("203.0.113.7")] = n - 4
					}
				}
				st.interval(t0+int64(i)*sec, &Features{ClientHellos: n}, m)
			}
			scopes := map[string]bool{}
			for _, a := range *out {
				scopes[a.Scope] = true
			}
			if crowd && len(*out) != 0 {
				t.Errorf("flash crowd alerted: %+v", *out)
			}
			if !crowd && (scopes[ScopeGlobal] || !scopes[ScopeClient]) {
				t.Errorf("burst alerted at scopes %v, want client and not global", scopes)
			}
			// One event at several scopes: one group, named after the first.
			for _, a := range *out {
				if a.Group != (*out)[0].ID {
					t.Errorf("%s %s alert in group %q, want the first alert's ID %q", a.Scope, a.Target, a.Group, (*out)[0].ID)
				}
			}
		})
	}
}

// BenchmarkInterval measures the aggregator's per-interval work: merging
// two workers' snapshots and running every detector, with 8 servers and
// a few hundred clients per interval.
func BenchmarkInterval(b *testing.B) {
	c := DetectionConfig{}.withDefaults()
	mk := func(w int) *keyedSnap {
		k := newKeyed(c)
		for i := range 300 {
			cl := netip.AddrFrom4([4]byte{10, byte(w), byte(i >> 8), byte(i)})
			srv := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i % 8)}), 443)
			k.admit(srv)
			sc := &k.srv[k.srvIdx[srv]]
			sc.f.SYN++
			sc.f.BytesOut += 5000
			p := capture.Packet{PayloadLen: 100, IPLen: 1500, TTL: 64}
			k.packet(&p, nil, cl, sketch.HashAddr(cl), true, true, false, sc)
			k.hello(cl, []byte("www.example"), 1)
		}
		return k.snapshot()
	}
	s0, s1 := mk(0), mk(1)
	st, _ := newTestStage(DetectionConfig{})
	t0 := int64(1_700_000_000) * sec
	i := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		m := newMerged(0)
		m.add(s0)
		m.add(s1)
		st.interval(t0+i*sec, &Features{SYN: 600, Handshakes: 600, ClientHellos: 600, BytesOut: 3e6}, m)
		i++
	}
}

// TestQUICFlood: a steady rate of QUIC connections whose clients return
// learns a near-zero rate of unreturned attempts; a tenfold crowd of
// returning clients raises no quic_flood; a flood of attempts that never return
// fires one quic_flood incident within 2 intervals, which resolves after
// the quiet period once the flood ends.
func TestQUICFlood(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{Learning: 60 * time.Second, QUICFlood: DetectorConfig{Quiet: 10 * time.Second}})
	t0 := int64(1_700_000_000) * sec
	i := 0
	carry := uint64(0) // attempts that return in the next interval
	step := func(conns, flood uint64) {
		// Two thirds return within their interval, the rest in the next.
		f := &Features{QUICInitials: 2*conns + flood, QUICConns: conns + flood,
			QUICReturned: carry + conns*2/3, QUICReturnedLate: carry}
		carry = conns - conns*2/3
		st.interval(t0+int64(i)*sec, f, newMerged(0))
		i++
	}
	for range 120 {
		step(uint64(10+i%5), 0) // 10 to 14 connections a second
	}
	for range 60 {
		step(120, 0) // a crowd: ten times the connections, all real
	}
	for range 60 {
		step(12, 0)
	}
	// A rise of returning connections is request_burst's to judge (a step
	// of ten times is an abrupt one), never a QUIC flood.
	for _, a := range *out {
		if a.Kind == KindQUICFlood {
			t.Fatalf("quic_flood on returning traffic: %+v", a)
		}
	}
	onset := i
	for range 10 {
		step(12, 110)
	}
	var fired *Anomaly
	for j := range *out {
		if (*out)[j].Kind == KindQUICFlood && (*out)[j].State == StateFiring {
			fired = &(*out)[j]
			break
		}
	}
	if fired == nil {
		t.Fatalf("no quic_flood firing; events %+v", *out)
	}
	if lat := fired.Detected.Sub(time.Unix(0, t0+int64(onset)*sec)); lat > 2*time.Second {
		t.Errorf("detected %v after onset, want within 2s", lat)
	}
	if fired.Unit != "attempts/s" || fired.Value < 100 || fired.Baseline > 1 {
		t.Errorf("anomaly = value %v baseline %v unit %q", fired.Value, fired.Baseline, fired.Unit)
	}
	for range 60 {
		step(12, 0)
	}
	var last Anomaly
	for _, a := range *out {
		if a.Kind == KindQUICFlood {
			last = a
		}
	}
	if last.State != StateResolved {
		t.Errorf("last quic_flood event = %s, want resolved", last.State)
	}
}

// TestQUICFloodColdStart: before anything is learned, a flood of
// unreturned QUIC attempts 10 s after the start is judged against the
// prior and fires within seconds, and the alert says so.
func TestQUICFloodColdStart(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{})
	t0 := int64(1_700_000_000) * sec
	for i := range 30 {
		f := &Features{QUICConns: 5, QUICReturned: 5}
		if i >= 10 {
			f.QUICConns += 50 // 10x the connections, none returning
		}
		st.interval(t0+int64(i)*sec, f, newMerged(0))
	}
	for _, a := range *out {
		if a.Kind == KindQUICFlood && a.State == StateFiring {
			if lat := a.Detected.Sub(time.Unix(0, t0+10*sec)); lat > 3*time.Second {
				t.Errorf("detected %v after onset, want within 3 s", lat)
			}
			if !strings.Contains(a.Detail, "prior") {
				t.Errorf("detail %q does not say it was judged against the prior", a.Detail)
			}
			return
		}
	}
	t.Fatalf("no quic_flood alert: %+v", *out)
}

// TestAlertGroups: incidents of one detector that overlap share the first
// one's group; once all have resolved, the next incident opens a new group;
// other detectors have their own.
func TestAlertGroups(t *testing.T) {
	t.Parallel()
	st, _ := newTestStage(DetectionConfig{})
	if g := st.joinGroup(KindSYNFlood, "a"); g != "a" {
		t.Errorf("first group = %q, want a", g)
	}
	if g := st.joinGroup(KindSYNFlood, "b"); g != "a" {
		t.Errorf("overlapping incident's group = %q, want a", g)
	}
	if g := st.joinGroup(KindRequestBurst, "c"); g != "c" {
		t.Errorf("other detector's group = %q, want c", g)
	}
	st.leaveGroup(KindSYNFlood)
	if g := st.joinGroup(KindSYNFlood, "d"); g != "a" {
		t.Errorf("group with one incident still open = %q, want a", g)
	}
	st.leaveGroup(KindSYNFlood)
	st.leaveGroup(KindSYNFlood)
	st.leaveGroup(KindSYNFlood) // one too many: must not go negative
	if g := st.joinGroup(KindSYNFlood, "e"); g != "e" {
		t.Errorf("group after all resolved = %q, want a new one, e", g)
	}
}

// TestIncidentIDsUnique covers two ways one (kind, scope, target) could
// have two open incidents with one ID: two hygiene findings on one server
// (an expired and a self-signed certificate), and a watched /24 that the
// sketched prefix scope also sees. Each must be its own ID, or the watched
// prefix alone must report.
func TestIncidentIDsUnique(t *testing.T) {
	t.Parallel()
	in := newIncidents(int64(time.Minute), 10)
	var got []Anomaly
	for _, d := range []string{"certificate expired", "certificate is self-signed"} {
		in.hit(hygieneEvent{kind: KindBadCertificate, hit: hygieneHit{target: "198.51.100.1:443", detail: d, ts: 1e18}},
			func(a Anomaly) { got = append(got, a) })
	}
	if len(got) != 2 || got[0].ID == got[1].ID {
		t.Errorf("two certificate findings: %d incidents, IDs %q", len(got), ids(got))
	}

	pfx := netip.MustParsePrefix("198.51.100.0/24")
	st, out := newTestStage(DetectionConfig{Learning: 10 * time.Second, WatchPrefixes: []netip.Prefix{pfx}})
	t0 := int64(1_700_000_000) * sec
	for i := range 40 {
		m := newMerged(1)
		n := uint64(10)
		if i >= 30 {
			n = 400
		}
		m.prefixes[0].syn = n
		m.pfxSYN[pfx] = n
		m.pfxSYN[netip.MustParsePrefix("203.0.113.0/24")] = 10
		st.interval(t0+int64(i)*sec, &Features{SYN: n + 10, Handshakes: n + 10}, m)
	}
	var prefixAlerts []Anomaly
	for _, a := range *out {
		if a.Scope == ScopePrefix && a.State == StateFiring {
			prefixAlerts = append(prefixAlerts, a)
			if a.Target != pfx.String() {
				t.Errorf("prefix alert for %s", a.Target)
			}
		}
	}
	if len(prefixAlerts) != 1 {
		t.Errorf("watched prefix flood: %d firing prefix alerts (IDs %q), want one", len(prefixAlerts), ids(prefixAlerts))
	}
}

func ids(as []Anomaly) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// TestWatchedServerBeyondCap: a watched server gets its per-server tracks
// even when MaxServers is already taken by servers seen before it.
func TestWatchedServerBeyondCap(t *testing.T) {
	t.Parallel()
	w := netip.MustParseAddrPort("203.0.113.9:443")
	st, _ := newTestStage(DetectionConfig{MaxServers: 1, WatchServers: []netip.AddrPort{w}})
	t0 := int64(1_700_000_000) * sec
	m := newMerged(0)
	for _, a := range []string{"198.51.100.1:443", "198.51.100.2:443", w.String()} {
		ap := netip.MustParseAddrPort(a)
		m.servers[ap] = &serverSnap{addr: ap, f: Features{SYN: 1, BytesOut: 1000}}
	}
	st.interval(t0, &Features{SYN: 3}, m)
	for _, det := range []string{KindBandwidthSpike, KindRequestBurst, KindSYNFlood} {
		if st.server[det+"|"+w.String()] == nil {
			t.Errorf("watched server has no %s track", det)
		}
	}
}

// TestIdleServerResolves: a server's SYN flood resolves when the server
// goes silent, even with bandwidth_spike (whose tracks used to be the only
// ones stepped on idle servers) disabled, and its alert group closes.
func TestIdleServerResolves(t *testing.T) {
	t.Parallel()
	srv := netip.MustParseAddrPort("198.51.100.1:443")
	st, out := newTestStage(DetectionConfig{Learning: 10 * time.Second, BandwidthSpike: DetectorConfig{Disabled: true},
		SYNFlood: DetectorConfig{Quiet: 5 * time.Second}})
	t0 := int64(1_700_000_000) * sec
	for i := range 60 {
		m := newMerged(0)
		f := Features{SYN: 10, Handshakes: 10}
		if i >= 20 && i < 25 {
			f = Features{SYN: 300, Handshakes: 10}
		}
		if i < 25 { // then the server is never seen again
			m.servers[srv] = &serverSnap{addr: srv, f: f}
		}
		st.interval(t0+int64(i)*sec, &f, m)
	}
	fired, resolved := 0, 0
	for _, a := range *out {
		if a.Scope == ScopeServer {
			switch a.State {
			case StateFiring:
				fired++
			case StateResolved:
				resolved++
			}
		}
	}
	if fired != 1 || resolved != 1 {
		t.Errorf("server syn_flood: %d firing, %d resolved events, want 1 and 1", fired, resolved)
	}
	if g := st.groups[KindSYNFlood]; g == nil || g.open != 0 {
		t.Errorf("syn_flood group after every incident resolved: %+v, want none open", g)
	}
}

// TestStaticBandwidthReportsRate: when a static threshold decides a
// bandwidth alert, the alert reports the second's rate that crossed it,
// not a window's mean (which is lower in a bursty pattern such as 2 MB/s,
// 2 MB/s, 0, 0, 2 MB/s).
func TestStaticBandwidthReportsRate(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{Learning: 10 * time.Second,
		BandwidthSpike: DetectorConfig{K: 1, N: 1, Static: map[string]float64{ScopeGlobal: 1e6}}})
	t0 := int64(1_700_000_000) * sec
	for i, b := range []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2e6, 2e6, 0, 0, 2e6} {
		st.interval(t0+int64(i)*sec, &Features{BytesOut: b}, newMerged(0))
	}
	for _, a := range *out {
		if a.Kind == KindBandwidthSpike && a.State == StateFiring && a.Value < 1e6 {
			t.Errorf("static-threshold alert reports %v bytes/s: %s", a.Value, a.Summary)
		}
	}
	if len(*out) == 0 {
		t.Error("no alert above the static threshold")
	}
}

// TestUnansweredSYNs: a handshake that completes in the interval after its
// SYN is not unanswered, neither when the rate halves nor when it rises
// tenfold while a tenth of the handshakes complete one interval late, and
// a flood's SYNs are counted one interval late.
func TestUnansweredSYNs(t *testing.T) {
	t.Parallel()
	fs := &synFloodState{cnt: must(baseline.NewCount(baseline.CountConfig{Warmup: 10}))}
	var prevSYN uint64
	for i, tt := range []struct{ syn, hs, late, want uint64 }{
		{syn: 40, hs: 40, want: 0},
		{syn: 40, hs: 37, want: 0}, // three complete in the next interval
		{syn: 40, hs: 43, late: 3, want: 0},
		{syn: 49, hs: 49, want: 0},
		{syn: 18, hs: 18, want: 0},                // the rate halves
		{syn: 20, hs: 18, want: 0},                // a tenth late from here on
		{syn: 200, hs: 2 + 180, late: 2, want: 0}, // tenfold
		{syn: 200, hs: 20 + 180, late: 20, want: 0},
		{syn: 20, hs: 20 + 18, late: 20, want: 0}, // back
		{syn: 20, hs: 2 + 18, late: 2, want: 0},
		{syn: 500, hs: 2 + 18, late: 2, want: 0}, // a flood
		{syn: 500, hs: 2 + 18, late: 2, want: 480},
		{syn: 20, hs: 2 + 18, late: 2, want: 480},
		{syn: 20, hs: 2 + 18, late: 2, want: 0},
		{syn: 20, hs: 2 + 18, late: 2, want: 0},
		{syn: 20, hs: 2, late: 2, want: 0}, // the server stops answering
		{syn: 20, hs: 0, want: 20},
		{syn: 20, hs: 0, want: 20},
	} {
		if got := fs.unanswered(&Features{SYN: tt.syn, Handshakes: tt.hs, HandshakesLate: tt.late}); got != tt.want {
			t.Errorf("interval %d (%d SYN, %d completed, %d late): %d unanswered, want %d", i, tt.syn, tt.hs, tt.late, got, tt.want)
		}
		// The alert names the attempts of the interval judged, the one before.
		if wantJudged := prevSYN; fs.pending.judged != wantJudged {
			t.Errorf("interval %d: the count judged %d attempts, want the %d of the interval before", i, fs.pending.judged, wantJudged)
		}
		prevSYN = tt.syn
	}
}

// TestSYNRepeatsAreOneAttempt: a client whose SYN-ACKs never reach it
// retries the same SYN (1, 2, 4, 8, 16 and 32 s later on Linux); through
// the flow table and the interval counters that is one unanswered attempt,
// not seven, while SYNs of new attempts on the same addresses each count.
func TestSYNRepeatsAreOneAttempt(t *testing.T) {
	t.Parallel()
	tab := flow.NewTable(flow.TableConfig{})
	fs := &synFloodState{cnt: must(baseline.NewCount(baseline.CountConfig{Warmup: 10}))}
	syn := func(port uint16, seq uint32, at int64) capture.Packet {
		return capture.Packet{Timestamp: at * sec, Proto: capture.ProtoTCP, Flags: capture.FlagSYN, Seq: seq,
			Src: netip.MustParseAddr("203.0.113.9"), Dst: netip.MustParseAddr("198.51.100.1"), SrcPort: port, DstPort: 443, IPLen: 60}
	}
	retries := map[int64]bool{0: true, 1: true, 3: true, 7: true, 15: true, 31: true, 63: true}
	var total uint64
	for i := range int64(70) {
		var f Features
		if retries[i] {
			p := syn(40000, 1000, i)
			_, ev := tab.Observe(&p)
			count(&f, &p, ev, true, false)
		}
		if i == 40 || i == 41 { // two new attempts: new ports, or a new sequence number
			p := syn(40001+uint16(i-40), 5000, i)
			_, ev := tab.Observe(&p)
			count(&f, &p, ev, true, false)
		}
		total += fs.unanswered(&f)
	}
	total += fs.unanswered(&Features{})
	if total != 3 {
		t.Errorf("%d unanswered attempts, want 3 (one retried seven times, two new)", total)
	}
}

// TestGapResetsWindows: after a gap too long to fill (a restart, the next
// file), the bandwidth windows start again instead of mixing in seconds from
// before the gap; the records stay.
func TestGapResetsWindows(t *testing.T) {
	t.Parallel()
	st, _ := newTestStage(DetectionConfig{Learning: 10 * time.Second})
	t0 := int64(1_700_000_040) * sec
	for i := range 400 {
		st.interval(t0+int64(i)*sec, &Features{BytesOut: 5e5}, newMerged(0))
	}
	st.interval(t0+(3600+50)*sec, &Features{BytesOut: 1000}, newMerged(0))
	bw := st.global[KindBandwidthSpike].st.(*bwState)
	if bw.n != 1 || bw.sums[0] != 1000 || bw.sums[1] != 1000 {
		t.Errorf("after the gap: %d values, sums %v; want one value of 1000", bw.n, bw.sums)
	}
}

// TestBandwidthRecords: a day of traffic in which a new client downloads
// 30 MB in ten seconds every hour learns the records; the next day the same
// downloads raise nothing, and since each is one client's session, left out
// of the window's value, the record stays at the background's level. Then
// two minutes of 400 kB/s, below what the hourly download moves in a
// minute: carried by two hosts that each pull an object every ten seconds,
// it fires from the short window and the alert says so; carried by one
// such host alone (one session), by a crowd of clients that each receive
// for two seconds, by one connection (one large object), or by one large
// object next to a smaller one (the smaller is one draw too), it does not.
func TestBandwidthRecords(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"two pullers", "one host's chain", "crowd", "one transfer", "two objects"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: time.Minute})
			t0 := int64(1_767_225_600) * sec // a midnight
			srv := netip.MustParseAddrPort("198.51.100.1:443")
			// background returns one interval's egress and its pairs: the
			// hourly 30 MB download by a new client each hour.
			background := func(i int) (uint64, *merged) {
				v := uint64(20_000 + 7_000*(i%5))
				m := newMerged(0)
				if i%3600 < 10 {
					p := pair{netip.AddrFrom4([4]byte{192, 0, 2, byte(i / 3600)}), srv}
					v += 3_000_000
					m.pairBytes[p] = 3_000_000
					if i%3600 == 0 {
						m.pairConns[p] = 1
					}
				}
				return v, m
			}
			day := 86400
			start := 2*day + 10*3600 + 1800 // day 2, 10:30
			for i := range start {
				v, m := background(i)
				st.interval(t0+int64(i)*sec, &Features{BytesOut: v}, m)
			}
			if len(*out) != 0 {
				t.Fatalf("ordinary hourly downloads alerted: %+v", (*out)[0])
			}
			for i := start; i < start+180; i++ {
				v, m := background(i)
				if i < start+120 {
					v += 400_000
					a, b := pair{netip.MustParseAddr("203.0.113.7"), srv}, pair{netip.MustParseAddr("203.0.113.8"), srv}
					chain := (i-start)%10 == 0
					switch how {
					case "crowd":
						for c := range 2 {
							p := pair{netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(2*i + c)}), srv}
							m.pairBytes[p], m.pairConns[p] = 200_000, 1
						}
					case "two pullers":
						m.pairBytes[a], m.pairBytes[b] = 200_000, 200_000
						if chain {
							m.pairConns[a], m.pairConns[b] = 1, 1
						}
					case "one host's chain":
						m.pairBytes[a] = 400_000
						if chain {
							m.pairConns[a] = 1
						}
					case "one transfer":
						m.pairBytes[a] = 400_000
						if i == start {
							m.pairConns[a] = 1
						}
					case "two objects":
						m.pairBytes[a], m.pairBytes[b] = 250_000, 150_000
						if i == start {
							m.pairConns[a], m.pairConns[b] = 1, 1
						}
					}
				}
				st.interval(t0+int64(i)*sec, &Features{BytesOut: v}, m)
			}
			var fired *Anomaly
			for i := range *out {
				if (*out)[i].Kind == KindBandwidthSpike && (*out)[i].State == StateFiring {
					fired = &(*out)[i]
					break
				}
			}
			if how != "two pullers" {
				if fired != nil {
					t.Errorf("%s alerted: %s", how, fired.Detail)
				}
				return
			}
			if fired == nil {
				t.Fatalf("no bandwidth_spike for %s below the untrimmed record", how)
			}
			if lat := fired.Detected.Sub(time.Unix(0, t0+int64(start)*sec)); lat > 70*time.Second {
				t.Errorf("detected %v after the rise began, want within about a minute", lat)
			}
			want := "1 new clients pulling through the window over 5 connections"
			if !strings.Contains(fired.Detail, "egress over the last 1m0s") || !strings.Contains(fired.Detail, want) ||
				!strings.Contains(fired.Detail, "both without the heaviest client, 203.0.113.") {
				t.Errorf("detail %q does not explain the record and the pullers", fired.Detail)
			}
			// The contributors are the window's heaviest clients, the
			// pullers first, at their mean rate over the window (which
			// they have filled for less than its minute when it fires).
			if len(fired.Top) < 2 || fired.Top[0].Key != "client:203.0.113.7" || fired.Top[1].Key != "client:203.0.113.8" ||
				fired.Top[0].Value < 100_000 || fired.Top[0].Value > 200_000 {
				t.Errorf("contributors %+v, want the two pullers at up to 200000 bytes/s", fired.Top)
			}
		})
	}
}

// TestPrefixBurstContributors: a prefix-scope request_burst scores SYN/s,
// so its top contributors are SYN sources (prefixes and clients), not the
// clients with the most ClientHellos.
func TestPrefixBurstContributors(t *testing.T) {
	t.Parallel()
	st, _ := newTestStage(DetectionConfig{})
	m := newMerged(0)
	m.pfxSYN[netip.MustParsePrefix("198.51.100.0/24")] = 50
	m.clientSYN[netip.MustParseAddr("198.51.100.7")] = 40
	m.clientHello[netip.MustParseAddr("192.0.2.1")] = 9
	top := requestBurst{}.contributors(st, &track{scope: ScopePrefix}, m)
	if len(top) != 2 || top[0].Key != "prefix:198.51.100.0/24" || top[1].Key != "client:198.51.100.7" {
		t.Errorf("prefix burst contributors = %+v, want the SYN prefix and client", top)
	}
	if top := (requestBurst{}).contributors(st, &track{scope: ScopeClient}, m); len(top) == 0 || top[0].Key != "client:192.0.2.1" {
		t.Errorf("client burst contributors = %+v, want the hello client", top)
	}
}

// TestBurstStackMix: after the usual mix of client stacks has been
// learned, a rise of hellos to four times the rate over five minutes,
// spread over many clients with that mix (a flash crowd), stays quiet, while
// a rise to four times at once from many clients of two stacks that were
// rare before (a bot tool) fires at global scope.
func TestBurstStackMix(t *testing.T) {
	t.Parallel()
	for _, bots := range []bool{false, true} {
		t.Run(fmt.Sprint("bots=", bots), func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: time.Minute})
			t0 := int64(1_700_000_000) * sec
			client := 0
			for i := range 1800 {
				m := newMerged(0)
				n := 8
				switch {
				case i >= 1200 && bots:
					n = 32
				case i >= 1200:
					n = 8 + min(24, 24*(i-1200)/300)
				}
				for j := range n {
					fp := uint64(1 + j%8) // the usual mix: eight stacks
					if j >= 8 && bots {
						fp = uint64(100 + j%2)
					}
					m.fp[fp]++
					client++
					m.clientHello[netip.AddrFrom4([4]byte{10, byte(client >> 16), byte(client >> 8), byte(client)})] = 1
				}
				st.interval(t0+int64(i)*sec, &Features{ClientHellos: uint64(n)}, m)
			}
			var global *Anomaly
			for i := range *out {
				if a := &(*out)[i]; a.Kind == KindRequestBurst && a.Scope == ScopeGlobal && a.State == StateFiring {
					global = a
				}
			}
			switch {
			case !bots && global != nil:
				t.Errorf("a rise with the usual mix alerted: %s", global.Detail)
			case bots && global == nil:
				t.Errorf("a rise from two rare stacks did not alert; events %+v", *out)
			case bots && !strings.Contains(global.Detail, "mix of client stacks shifted") && !strings.Contains(global.Detail, "abrupt rise"):
				t.Errorf("detail %q names neither the shifted mix nor the abrupt rise", global.Detail)
			}
		})
	}
}

// TestQUICStaticJudgesInitials: quic_flood's static threshold judges all
// client Initials, returned or not, as syn_flood's judges all SYNs.
func TestQUICStaticJudgesInitials(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{QUICFlood: DetectorConfig{Static: map[string]float64{ScopeGlobal: 100}}})
	t0 := int64(1_700_000_000) * sec
	for i := range 5 {
		st.interval(t0+int64(i)*sec, &Features{QUICInitials: 150, QUICConns: 75, QUICReturned: 75}, newMerged(0))
	}
	if len(*out) == 0 || (*out)[0].Kind != KindQUICFlood || !strings.Contains((*out)[0].Detail, "client Initials above the static threshold 100.0") {
		t.Fatalf("150 Initials/s over a static 100: %+v", *out)
	}
}

// TestSteepOnset: an onset is steep only when the rise stands 3σ above the
// minute before it, whatever the learned rate says. Six hellos in 30 s after
// two in the minute before are 2.5σ; a step from 0.5/s to 1.5/s over 20 s is
// 4.5σ; a steep rise stays steep with more hellos, and clustered hellos
// (dispersion 4) need twice the deviation.
func TestSteepOnset(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n, m, rl, disp float64
		want           bool
	}{
		{n: 6, m: 2, rl: 30, disp: 1, want: false},
		{n: 30, m: 30, rl: 20, disp: 1, want: true},
		{n: 30, m: 30, rl: 20, disp: 4, want: false},
		{n: 60, m: 60, rl: 20, disp: 4, want: true},
		{n: 0, m: 0, rl: 10, disp: 1, want: false},
		{n: 20, m: 0, rl: 5, disp: 1, want: true},
	} {
		if got := steep(tt.n, tt.m, tt.rl, tt.disp); got != tt.want {
			t.Errorf("steep(%v, %v, %v, %v) = %v, want %v", tt.n, tt.m, tt.rl, tt.disp, got, tt.want)
		}
	}
}

// TestBurstIntensity: a site of 20 hellos a second, each from one of
// 100,000 clients (so about one hello per client in a half-minute), learns
// its hellos per client. Then the hellos rise to 2.5 times, with the usual
// mix of stacks, after a normal minute: too small a step for the abrupt
// onset (which asks three times the learned rate) and no shift of the mix.
// When 30 hosts step up to one hello a second each, the rise is requests
// added per client and request_burst fires at global scope, naming that
// evidence, within 20 s, and nothing of it is learned while it lasts. When
// 30 new visitors a second send one each (a crowd), or when the same 30
// hosts build up over two minutes (as a crowd through a few large NAT
// pools would; without the step test this alerts), nothing alerts.
func TestBurstIntensity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		bots  bool
		ramp  int // intervals to full rate
		alert bool
	}{
		{name: "crowd", ramp: 1},
		{name: "bots", bots: true, ramp: 1, alert: true},
		{name: "bots building up", bots: true, ramp: 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: time.Minute})
			t0 := int64(1_700_000_000) * sec
			r := rand.New(rand.NewPCG(1, 2))
			const onset = 900
			fresh := 0
			acc := 0.0
			var lH, lD float64
			for i := range onset + 600 {
				m := newMerged(0)
				src := must(sketch.NewHyperLogLog(helloHLLPrecision))
				hello := func(a netip.Addr, j int) {
					m.fp[uint64(1+j%8)]++ // the usual mix: eight stacks
					m.clientHello[a]++
					src.Add(sketch.HashAddr(a))
				}
				n := 0
				for ; n < 20; n++ {
					c := r.IntN(100_000)
					hello(netip.AddrFrom4([4]byte{10, byte(c >> 16), byte(c >> 8), byte(c)}), n)
				}
				if i >= onset {
					for acc += 30 * min(1, float64(i-onset+1)/float64(tc.ramp)); acc >= 1; acc-- {
						a := netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(30))})
						if !tc.bots {
							fresh++
							a = netip.AddrFrom4([4]byte{172, 16, byte(fresh >> 8), byte(fresh)})
						}
						hello(a, n)
						n++
					}
				}
				m.helloSrc = src
				st.interval(t0+int64(i)*sec, &Features{ClientHellos: uint64(n)}, m)
				if i == onset+20 {
					lH, lD = st.mix.lH, st.mix.lD
				}
				if i == onset+59 && tc.alert {
					break
				}
			}
			// Nothing of the burst is learned while it is judged.
			if tc.alert && (st.mix.lH != lH || st.mix.lD != lD) {
				t.Errorf("learned hellos and clients per window moved during the burst: %.0f, %.0f to %.0f, %.0f", lH, lD, st.mix.lH, st.mix.lD)
			}
			var global *Anomaly
			for i := range *out {
				if a := &(*out)[i]; a.Kind == KindRequestBurst && a.Scope == ScopeGlobal && a.State == StateFiring && global == nil {
					global = a
				}
			}
			switch {
			case !tc.alert && global != nil:
				t.Errorf("alerted: %s", global.Detail)
			case tc.alert && global == nil:
				t.Errorf("30 hosts at one hello a second each did not alert; events %+v", *out)
			case tc.alert && !strings.Contains(global.Detail, "requests added per client"):
				t.Errorf("detail %q does not name the requests added per client", global.Detail)
			case tc.alert && global.Start.After(time.Unix(0, t0+(onset+20)*sec)):
				t.Errorf("fired at %v, more than 20 s after the onset", global.Start.Sub(time.Unix(0, t0+onset*sec)))
			}
		})
	}
}

// TestClientBurst: at client scope a key's mean rate over the k-of-n
// window is judged against the band of what the heaviest client normally
// does. An hour of visitors opening a page's six connections in one second,
// next to a busy NAT gateway at two hellos a second (Poisson, so five in a
// second now and then) or to a crawler that loads three pages in three
// seconds each minute (eight hellos in three seconds of five, which judged
// second by second passed for a burst), raises nothing; then a new client
// at 20/s and the gateway at 20/s each fire at client scope within 10 s,
// the deadline for request bursts (6 s: the run must hold the count tests'
// evidence against the visitors' clustered connections, runEvidence, and
// then pass the k-of-n filter).
func TestClientBurst(t *testing.T) {
	t.Parallel()
	for _, attack := range []string{"none", "crawler", "new client 20/s", "gateway 20/s"} {
		t.Run(attack, func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: time.Minute})
			r := rand.New(rand.NewPCG(7, 7))
			gw := netip.MustParseAddr("203.0.113.9")
			bot := netip.MustParseAddr("198.51.100.200")
			crawler := netip.MustParseAddr("203.0.113.50")
			t0 := int64(1_700_000_000) * sec
			const learn = 3600
			fired := -1
			for i := range learn + 60 {
				m := newMerged(0)
				var total uint64
				add := func(a netip.Addr, n uint64) {
					if n > 0 {
						m.clientHello[a] += n
						total += n
					}
				}
				if r.Float64() < 0.2 { // a visitor loads a page
					add(netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(200))}), 6)
				}
				if attack == "crawler" && i%60 < 3 { // three pages in a row each minute
					add(crawler, 8)
				}
				gwRate := 2.0
				if i >= learn {
					switch attack {
					case "new client 20/s":
						add(bot, uint64(poissonN(r, 20)))
					case "gateway 20/s":
						gwRate = 20
					}
				}
				if attack != "crawler" {
					add(gw, uint64(poissonN(r, gwRate)))
				}
				for _, a := range stepHellos(st, out, t0+int64(i)*sec, total, m) {
					if i < learn {
						t.Fatalf("false alert at %d s: %s", i, a.Summary)
					}
					if fired < 0 {
						fired = i - learn + 1
					}
				}
			}
			switch {
			case (attack == "none" || attack == "crawler") && fired >= 0:
				t.Errorf("alert without an attack")
			case strings.HasSuffix(attack, "20/s") && (fired < 0 || fired > 10):
				t.Errorf("client alert after %d s, want within 10 s", fired)
			}
			t.Logf("client alert after %d s", fired)
		})
	}
}

// stepHellos runs one interval starting at t of total ClientHellos (each
// completing its handshake) with the merged sketches m, and returns the
// client-scope alerts that fired in it.
func stepHellos(st *stage, out *[]Anomaly, t int64, total uint64, m *merged) []Anomaly {
	n := len(*out)
	st.interval(t, &Features{ClientHellos: total, SYN: total, Handshakes: total}, m)
	var fired []Anomaly
	for _, a := range (*out)[n:] {
		if a.Scope == ScopeClient && a.State == StateFiring {
			fired = append(fired, a)
		}
	}
	return fired
}

// poissonN draws a Poisson count (Knuth's method; fine for small means).
func poissonN(r *rand.Rand, lam float64) int {
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// TestClientBurstBusySite: forty clients at one hello a second each for an
// hour, then a minute in which the whole site runs at three times that (a
// busy minute: every client browses faster). The heaviest clients all cross
// the band learned from the heaviest key, but none rises more than the
// site: no client alert. A bot at 30/s in the same minute rises far more
// than the site and fires at client scope within 5 s.
func TestClientBurstBusySite(t *testing.T) {
	t.Parallel()
	for _, bot := range []bool{false, true} {
		t.Run(fmt.Sprint("bot=", bot), func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: time.Minute})
			r := rand.New(rand.NewPCG(11, 3))
			t0 := int64(1_700_000_000) * sec
			const learn = 3600
			fired := -1
			for i := range learn + 60 {
				m := newMerged(0)
				var total uint64
				rate := 1.0
				if i >= learn {
					rate = 3
				}
				for c := range 40 {
					if n := uint64(poissonN(r, rate)); n > 0 {
						m.clientHello[netip.AddrFrom4([4]byte{192, 0, 2, byte(c)})] = n
						total += n
					}
				}
				if bot && i >= learn {
					n := uint64(poissonN(r, 30))
					m.clientHello[netip.MustParseAddr("198.51.100.200")] = n
					total += n
				}
				for _, a := range stepHellos(st, out, t0+int64(i)*sec, total, m) {
					if i < learn || a.Target != "198.51.100.200" {
						t.Fatalf("client alert at %d s: %s", i, a.Summary)
					}
					if fired < 0 {
						fired = i - learn + 1
					}
				}
			}
			if bot && (fired < 0 || fired > 5) {
				t.Errorf("bot's client alert after %d s, want within 5 s", fired)
			}
		})
	}
}

// TestBurstMixSiteWide: the mix of client stacks is counted over the whole
// site, so it is weighed against the whole site's rise. Two servers of 30
// hellos/s each from eight stacks; then a minute in which the whole site
// runs at 2.5 times that and a fifth of the extra hellos come from a ninth
// stack, on both servers: the site's rise is not a bot's, and neither
// server alerts for a shifted mix. A bot tool that adds the same 45/s to one
// server from two stacks of its own alerts there.
func TestBurstMixSiteWide(t *testing.T) {
	t.Parallel()
	for _, bots := range []bool{false, true} {
		t.Run(fmt.Sprint("bots=", bots), func(t *testing.T) {
			t.Parallel()
			st, out := newTestStage(DetectionConfig{Learning: time.Minute})
			r := rand.New(rand.NewPCG(5, 9))
			srvs := []netip.AddrPort{netip.MustParseAddrPort("198.51.100.1:443"), netip.MustParseAddrPort("198.51.100.2:443")}
			t0 := int64(1_700_000_000) * sec
			const learn = 3600
			client := 0
			for i := range learn + 60 {
				m := newMerged(0)
				var total uint64
				for si, srv := range srvs {
					n := poissonN(r, 30)
					extra, fpExtra := 0, func(j int) uint64 { return uint64(1 + j%8) }
					if i >= learn {
						switch {
						case !bots:
							extra = poissonN(r, 45)
							fpExtra = func(j int) uint64 {
								if j%5 == 0 {
									return 9
								}
								return uint64(1 + j%8)
							}
						case si == 0:
							extra = poissonN(r, 45)
							fpExtra = func(j int) uint64 { return uint64(100 + j%2) }
						}
					}
					for j := range n + extra {
						fp := uint64(1 + r.IntN(8))
						if j >= n {
							fp = fpExtra(j - n)
						}
						m.fp[fp]++
						client++
						m.clientHello[netip.AddrFrom4([4]byte{10, byte(client >> 16), byte(client >> 8), byte(client)})] = 1
					}
					c := uint64(n + extra)
					m.servers[srv] = &serverSnap{addr: srv, f: Features{ClientHellos: c}}
					total += c
				}
				st.interval(t0+int64(i)*sec, &Features{ClientHellos: total}, m)
			}
			var srvAlert *Anomaly
			for i := range *out {
				if a := &(*out)[i]; a.Kind == KindRequestBurst && a.Scope == ScopeServer && a.State == StateFiring {
					if srvAlert == nil {
						srvAlert = a
					}
				}
			}
			switch {
			case !bots && srvAlert != nil:
				t.Errorf("a busy minute of the whole site alerted at a server: %s", srvAlert.Detail)
			case bots && (srvAlert == nil || srvAlert.Target != srvs[0].String()):
				t.Errorf("a bot tool's 45/s on one server did not alert there; events %+v", *out)
			}
		})
	}
}

// BenchmarkClientWindows measures one interval of the bandwidth windows on a
// large site: 512 (client, server) pairs toward 64 servers each interval,
// most of them new, so the five-minute window holds about 150,000 pairs,
// and one heavy client per server that receives every interval.
func BenchmarkClientWindows(b *testing.B) {
	cw := newClientWindows(60, 300, 1)
	srvs := make([]netip.AddrPort, 64)
	for i := range srvs {
		srvs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), 443)
	}
	mk := func(n int) (map[pair]uint64, map[pair]uint64) {
		m, c := map[pair]uint64{}, map[pair]uint64{}
		for j := range 512 {
			p := pair{netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), byte(j)}), srvs[j%64]}
			if j < 64 {
				p.client = netip.AddrFrom4([4]byte{192, 0, 2, byte(j)}) // the heavy ones
			}
			m[p], c[p] = uint64(1500*(1+j%7)), 1
		}
		return m, c
	}
	ivs := make([][2]map[pair]uint64, 600)
	for n := range ivs {
		ivs[n][0], ivs[n][1] = mk(n)
	}
	for n := range 300 {
		cw.push(ivs[n][0], ivs[n][1])
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		iv := ivs[n%len(ivs)]
		cw.push(iv[0], iv[1])
		for _, s := range srvs {
			_ = cw.largest(0, s)
			_ = cw.largest(1, s)
		}
		_ = cw.largest(0, netip.AddrPort{})
		n++
	}
}

// TestClientWindowsHeaviest: the heaviest client kept as bytes come and go
// is the one a scan of the windows finds, interval after interval, for
// every server and for all of them, whatever clients come, stay and leave,
// ties included (many clients receive one byte).
func TestClientWindowsHeaviest(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	cw := newClientWindows(5, 20, 1)
	srvs := make([]netip.AddrPort, 4)
	for i := range srvs {
		srvs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 443)
	}
	for n := range 2000 {
		m, c := map[pair]uint64{}, map[pair]uint64{}
		for range r.IntN(12) {
			// Few clients, so that they come back and the heaviest changes.
			p := pair{netip.AddrFrom4([4]byte{203, 0, 113, byte(r.IntN(10))}), srvs[r.IntN(len(srvs))]}
			m[p] += uint64(1 + r.IntN(100_000)*r.IntN(3))
			c[p] = uint64(r.IntN(2))
		}
		cw.push(m, c)
		for i := range cw.wins {
			var all float64
			for _, s := range append(srvs, netip.AddrPort{}) {
				// The scan: most bytes, and of equal ones the least server,
				// then client.
				var want heaviest
				for srv, cls := range cw.sums[i] {
					if s.IsValid() && srv != s {
						continue
					}
					for cl, cs := range cls {
						b := float64(cs.bytes)
						if b > want.bytes || b == want.bytes && (srv.Compare(want.p.server) < 0 ||
							srv == want.p.server && cl.Compare(want.p.client) < 0) {
							want = heaviest{p: pair{cl, srv}, bytes: b}
						}
					}
				}
				h := cw.largest(i, s)
				if h.bytes != want.bytes || h.p != want.p {
					t.Fatalf("interval %d, window %d, server %v: heaviest %v with %v bytes, a scan finds %v with %v",
						n, i, s, h.p, h.bytes, want.p, want.bytes)
				}
				all = max(all, want.bytes)
			}
			if got := cw.largest(i, netip.AddrPort{}).bytes; got != all {
				t.Fatalf("interval %d, window %d: heaviest of all %v, want %v", n, i, got, all)
			}
		}
	}
}

// TestClientWindowsActive: the intervals a pair counts as receiving in each
// window are the ones a scan of its history finds (those with bytes, and
// runs of at most bridge intervals without bytes between two with bytes),
// interval after interval, as bytes come and go.
func TestClientWindowsActive(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for _, bridge := range []int{0, 1, 2} {
		cw := newClientWindows(5, 20, bridge)
		srv := netip.MustParseAddrPort("198.51.100.1:443")
		cls := []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("203.0.113.3")}
		var hist []map[netip.Addr]bool
		for n := range 1000 {
			m, seen := map[pair]uint64{}, map[netip.Addr]bool{}
			for j, cl := range cls {
				if r.IntN(4) < j+1 { // from rare to frequent
					m[pair{cl, srv}], seen[cl] = 1, true
				}
			}
			cw.push(m, nil)
			hist = append(hist, seen)
			for i, w := range cw.wins {
				for _, cl := range cls {
					want := 0
					for k := max(0, n+1-w); k <= n; k++ {
						if hist[k][cl] {
							want++
							continue
						}
						j, l := k, k
						for j >= 0 && !hist[j][cl] {
							j--
						}
						for l <= n && !hist[l][cl] {
							l++
						}
						if j >= 0 && l <= n && l-j-1 <= bridge {
							want++
						}
					}
					if got := cw.sums[i][srv][cl].active; got != want {
						t.Fatalf("bridge %d, interval %d, window %d, client %v: active %d, a scan finds %d", bridge, n, i, cl, got, want)
					}
				}
			}
		}
	}
}

// TestClientWindowsPersistence: a new client counts as pulling without
// pause in the long window once it has received in four of five intervals
// over at least half the window (bwPresence), judged over the intervals
// since it began; in the short window only over the whole window. (A
// client is new in a window for two of its lengths.)
func TestClientWindowsPersistence(t *testing.T) {
	t.Parallel()
	srv := netip.MustParseAddrPort("198.51.100.1:443")
	heavy := pair{netip.MustParseAddr("203.0.113.1"), srv} // the heaviest, always left out
	puller := pair{netip.MustParseAddr("203.0.113.2"), srv}
	for _, c := range []struct {
		name   string
		ivs    int // intervals since the puller began
		every  int // it receives in one interval of every
		short  bool
		long   bool
		reason string
	}{
		{"a quarter of the long window", 75, 1, true, false, "present for less than half the long window"},
		{"half the long window", 150, 1, false, true, "new in the short window for two of its lengths only"},
		{"half, stalling", 150, 2, false, true, "a one-interval silence is a stall (bwStall)"},
		{"half, with pauses", 150, 3, false, false, "received in a third of its intervals"},
		{"the whole long window", 300, 1, false, true, ""},
		{"half a minute", 30, 1, false, false, "the short window is judged whole"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cw := newClientWindows(60, 300, 1)
			for n := range 400 {
				m, conns := map[pair]uint64{heavy: 1_000_000}, map[pair]uint64{}
				if n == 0 {
					conns[heavy] = 1
				}
				if k := n - (400 - c.ivs); k >= 0 && k%c.every == 0 {
					m[puller] = 10_000
					if k == 0 {
						conns[puller] = 1
					}
				}
				cw.push(m, conns)
			}
			for i, want := range []bool{c.short, c.long} {
				_, clients, _, _, _ := cw.persistent(i, srv)
				if got := clients == 1; got != want {
					t.Errorf("window %d: puller counted %v, want %v (%s)", i, got, want, c.reason)
				}
			}
		})
	}
}

// TestIntensityScaleInvariant: the intensity judges hellos per added
// client, so its verdict does not depend on the site's size. At 20, 200
// and 2,000 hellos a second, each from a fresh client, a rise to 2.5
// times from fresh clients (a crowd) is not intense, and the same rise
// from hosts that each send one hello a second is, once the window holds
// a few seconds of it.
func TestIntensityScaleInvariant(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{20, 200, 2000} {
		for _, bots := range []bool{false, true} {
			x := newStackMix()
			fresh := 0
			step := func(extra int) {
				src := must(sketch.NewHyperLogLog(helloHLLPrecision))
				for range rate {
					fresh++
					src.Add(sketch.HashAddr(netip.AddrFrom4([4]byte{10, byte(fresh >> 16), byte(fresh >> 8), byte(fresh)})))
				}
				for b := range extra {
					a := netip.AddrFrom4([4]byte{198, 51, byte(b >> 8), byte(b)})
					if !bots {
						fresh++
						a = netip.AddrFrom4([4]byte{172, byte(fresh >> 16), byte(fresh >> 8), byte(fresh)})
					}
					src.Add(sketch.HashAddr(a))
				}
				x.push(0, nil, nil, float64(rate+extra), src)
			}
			for range mixWindow + intensityMemory {
				step(0)
				x.learn()
			}
			intense := false
			for range 15 {
				step(3 * rate / 2)
				dh, dd, r0, ok := x.intensity()
				intense = ok && dh > 0 && dh >= intensityRatio*r0*dd
			}
			if intense != bots {
				t.Errorf("rate %d, bots %v: intense = %v", rate, bots, intense)
			}
		}
	}
}

// TestBurstValueIsTheRise: an alert's value is the rate of the rise it
// reports. A quiet server (a hello every 20 s from the usual mix) meets a
// bot tool that sends three hellos every third second: most of the
// burst's intervals hold no hello, and the alert must not say 0 hellos/s.
func TestBurstValueIsTheRise(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{Learning: time.Minute})
	t0 := int64(1_700_000_000) * sec
	srv := netip.MustParseAddrPort("198.51.100.1:443")
	const onset = 1800
	for i := range onset + 120 {
		m := newMerged(0)
		n := 0
		if i%20 == 0 {
			m.fp[uint64(1+i/20%8)]++
			m.clientHello[netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})]++
			n++
		}
		if i >= onset && i%3 == 0 {
			for j := range 3 {
				m.fp[999]++
				m.clientHello[netip.AddrFrom4([4]byte{198, 51, 100, byte(i + j)})]++
				n++
			}
		}
		m.servers[srv] = &serverSnap{addr: srv, f: Features{ClientHellos: uint64(n)}}
		st.interval(t0+int64(i)*sec, &Features{ClientHellos: uint64(n)}, m)
	}
	fired := false
	for _, a := range *out {
		if a.Kind != KindRequestBurst || a.Scope != ScopeServer || a.State != StateFiring {
			continue
		}
		fired = true
		if a.Value < 0.5 || a.Value > 3 {
			t.Errorf("alert value %.2f hellos/s, want the rise's rate (about 1/s): %s", a.Value, a.Summary)
		}
	}
	if !fired {
		t.Fatalf("no server request_burst; events %+v", *out)
	}
}
