package flow

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/monitor443/monitor443/capture"
)

const (
	fSYN = capture.FlagSYN
	fACK = capture.FlagACK
	fFIN = capture.FlagFIN
	fRST = capture.FlagRST
	fPSH = capture.FlagPSH
)

// ms is a millisecond in packet-time nanoseconds.
const ms = int64(time.Millisecond)

// conn builds packets of one TCP connection between a client and a server.
type conn struct {
	c, s   netip.Addr
	cp, sp uint16
}

func newConn(client, server string, cport, sport uint16) conn {
	return conn{netip.MustParseAddr(client), netip.MustParseAddr(server), cport, sport}
}

func (c conn) pkt(ts int64, d Dir, fl capture.TCPFlags, seq, ack uint32, payload []byte) *capture.Packet {
	p := &capture.Packet{
		Timestamp: ts, Src: c.c, Dst: c.s, SrcPort: c.cp, DstPort: c.sp, Proto: capture.ProtoTCP,
		Flags: fl, Seq: seq, Ack: ack, TTL: 64, IPLen: 40 + uint32(len(payload)),
		PayloadLen: uint32(len(payload)), Payload: payload, Window: 65535,
	}
	if d == ServerToClient {
		p.Src, p.Dst, p.SrcPort, p.DstPort = c.s, c.c, c.sp, c.cp
		p.TTL = 50
	}
	return p
}

func smallConfig() TableConfig {
	return TableConfig{MaxFlows: 64, MaxHalfOpen: 16, MaxReassembly: 8}
}

func TestKeyOfCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		src, dst     string
		sport, dport uint16
		wantA        string
		wantAPort    uint16
		wantSrcIsA   bool
	}{
		{"v4 lower src", "10.0.0.1", "10.0.0.2", 50000, 443, "10.0.0.1", 50000, true},
		{"v4 lower dst", "10.0.0.2", "10.0.0.1", 443, 50000, "10.0.0.1", 50000, false},
		{"same addr, port decides", "10.0.0.1", "10.0.0.1", 9000, 443, "10.0.0.1", 443, false},
		{"v6", "2001:db8::2", "2001:db8::1", 443, 1234, "2001:db8::1", 1234, false},
		{"v4 sorts before v6", "2001:db8::1", "192.0.2.1", 1, 2, "192.0.2.1", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &capture.Packet{Src: netip.MustParseAddr(tt.src), Dst: netip.MustParseAddr(tt.dst),
				SrcPort: tt.sport, DstPort: tt.dport, Proto: capture.ProtoTCP}
			k, srcIsA := KeyOf(p)
			r := &capture.Packet{Src: p.Dst, Dst: p.Src, SrcPort: p.DstPort, DstPort: p.SrcPort, Proto: p.Proto}
			k2, rIsA := KeyOf(r)
			if k != k2 {
				t.Errorf("KeyOf(reverse) = %+v, want %+v", k2, k)
			}
			if srcIsA == rIsA {
				t.Errorf("srcIsA = %v for both directions", srcIsA)
			}
			if k.A != netip.MustParseAddr(tt.wantA) || k.APort != tt.wantAPort || srcIsA != tt.wantSrcIsA {
				t.Errorf("KeyOf = %+v srcIsA=%v, want A=%s:%d srcIsA=%v", k, srcIsA, tt.wantA, tt.wantAPort, tt.wantSrcIsA)
			}
			u := *p
			u.Proto = capture.ProtoUDP
			if ku, _ := KeyOf(&u); ku == k {
				t.Error("TCP and UDP keys are equal")
			}
		})
	}
}

func TestOrientation(t *testing.T) {
	t.Parallel()
	a, b := "192.0.2.10", "198.51.100.20"
	tests := []struct {
		name         string
		cfg          TableConfig
		proto        capture.Proto
		flags        capture.TCPFlags
		sport, dport uint16
		wantClient   string // "src" or "dst"
		wantMid      bool
	}{
		{"SYN sender is client even from port 443", TableConfig{}, capture.ProtoTCP, fSYN, 443, 50000, "src", false},
		{"SYN-ACK receiver is client", TableConfig{}, capture.ProtoTCP, fSYN | fACK, 50000, 40000, "dst", false},
		{"no SYN, dst on 443", TableConfig{}, capture.ProtoTCP, fACK, 50000, 443, "src", true},
		{"no SYN, src on 443", TableConfig{}, capture.ProtoTCP, fACK | fPSH, 443, 1000, "dst", true},
		{"no SYN, configured port 8443", TableConfig{ServerPorts: []uint16{8443}}, capture.ProtoTCP, fACK, 8443, 80, "dst", true},
		{"no SYN, both monitored, lower port is server", TableConfig{}, capture.ProtoTCP, fACK, 443, 443, "src", true},
		{"no SYN, neither monitored, lower port is server", TableConfig{}, capture.ProtoTCP, fACK, 80, 51000, "dst", true},
		{"UDP to 443", TableConfig{}, capture.ProtoUDP, 0, 51000, 443, "src", true},
		{"UDP from 53", TableConfig{}, capture.ProtoUDP, 0, 53, 51000, "dst", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tab := NewTable(TableConfig{MaxFlows: 4, MaxHalfOpen: 4, ServerPorts: tt.cfg.ServerPorts})
			p := &capture.Packet{Src: netip.MustParseAddr(a), Dst: netip.MustParseAddr(b),
				SrcPort: tt.sport, DstPort: tt.dport, Proto: tt.proto, Flags: tt.flags}
			f, ev := tab.Observe(p)
			if !ev.Has(EventNewFlow) {
				t.Fatalf("events = %v, want new_flow", ev)
			}
			src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
			wantC, wantS := src, dst
			if tt.wantClient == "dst" {
				wantC, wantS = dst, src
			}
			if f.Client() != wantC || f.Server() != wantS {
				t.Errorf("client, server = %v, %v; want %v, %v", f.Client(), f.Server(), wantC, wantS)
			}
			if got := f.State().Has(StateMidstream); got != tt.wantMid {
				t.Errorf("midstream = %v, want %v", got, tt.wantMid)
			}
		})
	}
}

type step struct {
	dt      int64 // ms since the previous packet
	d       Dir
	fl      capture.TCPFlags
	seq     uint32
	ack     uint32
	payload string
	want    Events
}

func run(t *testing.T, tab *Table, c conn, steps []step) (*Flow, int64) {
	t.Helper()
	ts := int64(1_700_000_000) * int64(time.Second)
	var f *Flow
	for i, s := range steps {
		ts += s.dt * ms
		var ev Events
		f, ev = tab.Observe(c.pkt(ts, s.d, s.fl, s.seq, s.ack, []byte(s.payload)))
		if ev != s.want {
			t.Errorf("packet %d: events = %v, want %v", i, ev, s.want)
		}
	}
	return f, ts
}

func TestStateMachine(t *testing.T) {
	t.Parallel()
	const cISN, sISN = 1000, 5000
	hs := []step{
		{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
		{5, ServerToClient, fSYN | fACK, sISN, cISN + 1, "", EventSYNACK},
		{2, ClientToServer, fACK, cISN + 1, sISN + 1, "", EventHandshakeComplete | EventConfirmed},
	}
	tests := []struct {
		name      string
		steps     []step
		wantState State
		wantSyn   int64 // ms, -1 unknown
		wantAck   int64
	}{
		{"handshake", hs, StateSYN | StateSYNACK | StateEstablished | StateConfirmed, 5, 2},
		{"fin both ways closes", append(hs[:3:3],
			step{1, ClientToServer, fFIN | fACK, cISN + 1, sISN + 1, "", EventFIN},
			step{1, ServerToClient, fFIN | fACK, sISN + 1, cISN + 2, "", EventFIN | EventClosed},
			step{1, ClientToServer, fACK, cISN + 2, sISN + 2, "", 0},
		), StateSYN | StateSYNACK | StateEstablished | StateConfirmed | StateFINClient | StateFINServer | StateClosed, 5, 2},
		{"rst closes", append(hs[:3:3],
			step{1, ServerToClient, fRST, sISN + 1, 0, "", EventRST | EventClosed},
		), StateSYN | StateSYNACK | StateEstablished | StateConfirmed | StateRST | StateClosed, 5, 2},
		{"refused: SYN then RST stays half-open", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{1, ServerToClient, fRST | fACK, 0, cISN + 1, "", EventRST | EventClosed},
		}, StateSYN | StateRST | StateClosed, -1, -1},
		{"SYN retransmitted", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{1000, ClientToServer, fSYN, cISN, 0, "", EventSYN | EventRetransmit | EventSYNRepeat},
			{30, ServerToClient, fSYN | fACK, sISN, cISN + 1, "", EventSYNACK},
			{10, ClientToServer, fACK, cISN + 1, sISN + 1, "", EventHandshakeComplete | EventConfirmed},
		}, StateSYN | StateSYNACK | StateEstablished | StateConfirmed, 1030, 10},
		{"SYN with another ISN on a half-open flow is no repeat", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{1000, ClientToServer, fSYN, cISN + 5000, 0, "", EventSYN},
		}, StateSYN, -1, -1},
		{"missing SYN: RTT from SYN-ACK only", []step{
			{0, ServerToClient, fSYN | fACK, sISN, cISN + 1, "", EventNewFlow | EventSYNACK},
			{3, ClientToServer, fACK, cISN + 1, sISN + 1, "", EventHandshakeComplete | EventConfirmed},
		}, StateSYNACK | StateEstablished | StateConfirmed, -1, 3},
		{"wrong ack does not complete", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{5, ServerToClient, fSYN | fACK, sISN, cISN + 1, "", EventSYNACK},
			{2, ClientToServer, fACK, cISN + 1, sISN + 77, "", 0},
		}, StateSYN | StateSYNACK, 5, -1},
		{"answer unseen: the client's ACK completes (a capture of one direction)", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{7, ClientToServer, fACK, cISN + 1, sISN + 1, "", EventHandshakeComplete | EventConfirmed},
			{1, ClientToServer, fACK | fPSH, cISN + 1, sISN + 1, "hello", EventClientDataReady},
		}, StateSYN | StateEstablished | StateAnswerUnseen | StateConfirmed, -1, -1},
		{"answer seen late: the SYN-ACK still gives the SYN round trip", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{7, ClientToServer, fACK, cISN + 1, sISN + 1, "", EventHandshakeComplete | EventConfirmed},
			{-2, ServerToClient, fSYN | fACK, sISN, cISN + 1, "", EventSYNACK},
		}, StateSYN | StateSYNACK | StateEstablished | StateAnswerUnseen | StateConfirmed, 5, -1},
		{"answer unseen: a segment at another sequence number does not complete", []step{
			{0, ClientToServer, fSYN, cISN, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
			{7, ClientToServer, fACK, cISN + 99, sISN + 1, "", 0},
		}, StateSYN, -1, -1},
		{"midstream confirmed by two-way traffic", []step{
			{0, ClientToServer, fACK | fPSH, 100, 200, "", EventNewFlow},
			{1, ServerToClient, fACK, 200, 100, "", EventConfirmed},
		}, StateMidstream | StateConfirmed, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tab := NewTable(smallConfig())
			f, _ := run(t, tab, newConn("10.1.1.1", "10.2.2.2", 40000, 443), tt.steps)
			if f.State() != tt.wantState {
				t.Errorf("state = %#x, want %#x", f.State(), tt.wantState)
			}
			if got, want := tab.Stats().UnseenAnswers, uint64(0); tt.wantState.Has(StateAnswerUnseen) != (got > want) {
				t.Errorf("UnseenAnswers = %d with state %#x", got, tt.wantState)
			}
			for _, r := range []struct {
				name string
				fn   func() (int64, bool)
				want int64
			}{{"SynRTT", f.SynRTT, tt.wantSyn}, {"AckRTT", f.AckRTT, tt.wantAck}} {
				got, ok := r.fn()
				if w := r.want; (w >= 0) != ok || (ok && got != w*ms) {
					t.Errorf("%s = %d, %v; want %d ms", r.name, got, ok, r.want)
				}
			}
		})
	}
}

func TestCountersAndReuse(t *testing.T) {
	t.Parallel()
	var ended []EndReason
	cfg := smallConfig()
	cfg.OnEnd = func(f *Flow, r EndReason) { ended = append(ended, r) }
	tab := NewTable(cfg)
	c := newConn("10.1.1.1", "10.2.2.2", 40000, 443)
	f, _ := run(t, tab, c, []step{
		{0, ClientToServer, fSYN, 1, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
		{1, ServerToClient, fSYN | fACK, 9, 2, "", EventSYNACK},
		{1, ClientToServer, fACK, 2, 10, "", EventHandshakeComplete | EventConfirmed},
		{1, ClientToServer, fACK | fPSH, 2, 10, "hello", EventClientDataReady},
		{1, ServerToClient, fACK | fPSH, 10, 7, "hi", EventServerDataReady},
		{1, ClientToServer, fRST, 7, 0, "", EventRST | EventClosed},
	})
	if got := [4]uint64{f.Packets(ClientToServer), f.Packets(ServerToClient), f.Bytes(ClientToServer), f.Bytes(ServerToClient)}; got != [4]uint64{4, 2, 4*40 + 5, 2*40 + 2} {
		t.Errorf("packets, bytes = %v", got)
	}
	if f.TTL(ClientToServer) != 64 || f.TTL(ServerToClient) != 50 {
		t.Errorf("TTL = %d, %d; want 64, 50", f.TTL(ClientToServer), f.TTL(ServerToClient))
	}
	if f.Last()-f.First() != 5*ms {
		t.Errorf("duration = %d, want 5ms", f.Last()-f.First())
	}
	// A retransmitted SYN of the old connection does not reuse the flow;
	// a SYN with a new ISN does.
	f, ev := tab.Observe(c.pkt(f.Last()+ms, ClientToServer, fSYN, 1, 0, nil))
	if ev != EventSYN|EventRetransmit|EventSYNRepeat || len(ended) != 0 {
		t.Fatalf("old SYN: events = %v, ended = %v", ev, ended)
	}
	f, ev = tab.Observe(c.pkt(f.Last()+ms, ClientToServer, fSYN, 777, 0, nil))
	if ev != EventNewFlow|EventNewHalfOpen|EventSYN {
		t.Errorf("new SYN: events = %v", ev)
	}
	if diff := cmp.Diff([]EndReason{EndReused}, ended); diff != "" {
		t.Errorf("ended (-want +got):\n%s", diff)
	}
	if f.Packets(ClientToServer) != 1 || f.State() != StateSYN {
		t.Errorf("reused flow: packets = %d, state = %#x", f.Packets(ClientToServer), f.State())
	}
	st := tab.Stats()
	if st.Created != 2 || st.Flows != 1 || st.HalfOpen != 1 || st.Ended[EndReused] != 1 || st.Confirmed != 1 {
		t.Errorf("stats = %+v", st)
	}
	if st.ReassemblyBuffers != 0 {
		t.Errorf("reassembly buffers in use after reuse = %d, want 0", st.ReassemblyBuffers)
	}
}

func TestRetransmissions(t *testing.T) {
	t.Parallel()
	const c0, s0 = 100, 9000
	tab := NewTable(smallConfig())
	data := func(n int) string { return string(bytes.Repeat([]byte{'x'}, n)) }
	f, _ := run(t, tab, newConn("10.1.1.1", "10.2.2.2", 40000, 443), []step{
		{0, ClientToServer, fSYN, c0, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
		{1, ServerToClient, fSYN | fACK, s0, c0 + 1, "", EventSYNACK},
		{1, ServerToClient, fSYN | fACK, s0, c0 + 1, "", EventSYNACK | EventRetransmit},
		{1, ClientToServer, fACK, c0 + 1, s0 + 1, "", EventHandshakeComplete | EventConfirmed},
		{1, ClientToServer, fACK, c0 + 1, s0 + 1, data(10), EventClientDataReady},
		{1, ClientToServer, fACK, c0 + 1, s0 + 1, data(10), EventRetransmit},                        // same segment
		{1, ClientToServer, fACK, c0 + 6, s0 + 1, data(10), EventClientDataReady | EventRetransmit}, // overlaps, extends
		{1, ClientToServer, fACK, c0 + 15, s0 + 1, data(1), 0},                                      // keep-alive: seq = nxt-1
		{1, ClientToServer, fACK, c0 + 16, s0 + 1, "", 0},                                           // pure ACK
		{1, ServerToClient, fACK, s0 + 1, c0 + 16, data(5), EventServerDataReady},
		{1, ServerToClient, fFIN | fACK, s0 + 6, c0 + 16, "", EventFIN},
		{1, ServerToClient, fFIN | fACK, s0 + 6, c0 + 16, "", EventRetransmit}, // FIN again
	})
	if f.Retransmits(ClientToServer) != 2 || f.Retransmits(ServerToClient) != 2 {
		t.Errorf("retransmits = %d, %d; want 2, 2", f.Retransmits(ClientToServer), f.Retransmits(ServerToClient))
	}
	if got := tab.Stats().Retransmits; got != 4 {
		t.Errorf("Stats.Retransmits = %d, want 4", got)
	}
}

func TestSequenceWrap(t *testing.T) {
	t.Parallel()
	c0 := uint32(0xFFFF_FFF0)
	tab := NewTable(smallConfig())
	f, _ := run(t, tab, newConn("10.1.1.1", "10.2.2.2", 40000, 443), []step{
		{0, ClientToServer, fSYN, c0, 0, "", EventNewFlow | EventNewHalfOpen | EventSYN},
		{1, ServerToClient, fSYN | fACK, 5, c0 + 1, "", EventSYNACK},
		{1, ClientToServer, fACK, c0 + 1, 6, "", EventHandshakeComplete | EventConfirmed},
		{1, ClientToServer, fACK, c0 + 21, 6, "0123456789", 0}, // held: wraps past zero
		{1, ClientToServer, fACK, c0 + 1, 6, "abcdefghijklmnopqrst", EventClientDataReady | EventRetransmit},
		{1, ClientToServer, fACK, c0 + 11, 6, "KLMNOPQRST", EventRetransmit},
	})
	if got, want := string(f.ClientStream()), "abcdefghijklmnopqrst0123456789"; got != want {
		t.Errorf("ClientStream = %q, want %q", got, want)
	}
	if f.Retransmits(ClientToServer) != 2 {
		// The in-order fill after the held segment starts below the highest
		// sequence seen, so it counts as a retransmission too.
		t.Errorf("retransmits = %d, want 2", f.Retransmits(ClientToServer))
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	cfg := TableConfig{MaxFlows: 8, MaxHalfOpen: 8, IdleTimeout: 60 * time.Second,
		HalfOpenTimeout: 10 * time.Second, ClosedTimeout: 2 * time.Second}
	got := map[uint16]EndReason{}
	cfg.OnEnd = func(f *Flow, r EndReason) { got[f.Client().Port()] = r }
	tab := NewTable(cfg)
	sec := int64(time.Second)
	t0 := int64(1_000) * sec
	open := func(port uint16, ts int64) conn {
		c := newConn("10.0.0.1", "10.0.0.2", port, 443)
		tab.Observe(c.pkt(ts, ClientToServer, fSYN, 1, 0, nil))
		tab.Observe(c.pkt(ts, ServerToClient, fSYN|fACK, 1, 2, nil))
		tab.Observe(c.pkt(ts, ClientToServer, fACK, 2, 2, nil))
		return c
	}
	// 1: half-open only. 2: established, idle. 3: established, active.
	// 4: closed by RST. 5: established, then FIN both ways late.
	tab.Observe(newConn("10.0.0.1", "10.0.0.2", 1, 443).pkt(t0, ClientToServer, fSYN, 1, 0, nil))
	open(2, t0)
	c3 := open(3, t0)
	c4 := open(4, t0)
	tab.Observe(c4.pkt(t0+sec, ServerToClient, fRST, 2, 0, nil))
	c5 := open(5, t0)

	if n := tab.Expire(t0 + 2*sec); n != 0 {
		t.Errorf("Expire at +2s ended %d flows, want 0 (closed timeout counts from the last packet)", n)
	}
	if n := tab.Expire(t0 + 3*sec); n != 1 || got[4] != EndClosedTimeout {
		t.Errorf("Expire at +3s: n = %d, ended = %v; want flow 4 closed_timeout", n, got)
	}
	tab.Observe(c3.pkt(t0+9*sec, ClientToServer, fACK, 2, 2, nil))
	if n := tab.Expire(t0 + 10*sec); n != 1 || got[1] != EndHalfOpenTimeout {
		t.Errorf("Expire at +10s: n = %d, ended = %v; want flow 1 half_open_timeout", n, got)
	}
	tab.Observe(c3.pkt(t0+50*sec, ClientToServer, fACK, 2, 2, nil))
	tab.Observe(c5.pkt(t0+55*sec, ClientToServer, fFIN|fACK, 2, 2, nil))
	tab.Observe(c5.pkt(t0+55*sec, ServerToClient, fFIN|fACK, 2, 3, nil))
	if n := tab.Expire(t0 + 57*sec); n != 1 || got[5] != EndClosedTimeout {
		t.Errorf("Expire at +57s: n = %d, ended = %v; want flow 5 closed_timeout", n, got)
	}
	if n := tab.Expire(t0 + 60*sec); n != 1 || got[2] != EndIdleTimeout {
		t.Errorf("Expire at +60s: n = %d, ended = %v; want flow 2 idle_timeout", n, got)
	}
	if n := tab.Expire(t0 + 109*sec); n != 0 || tab.Len() != 1 {
		t.Errorf("Expire at +109s: n = %d, len = %d; want flow 3 alive", n, tab.Len())
	}
	if n := tab.Expire(t0 + 110*sec); n != 1 || got[3] != EndIdleTimeout || tab.Len() != 0 {
		t.Errorf("Expire at +110s: n = %d, len = %d, ended = %v", n, tab.Len(), got)
	}
	st := tab.Stats()
	want := [numEndReasons]uint64{EndIdleTimeout: 2, EndHalfOpenTimeout: 1, EndClosedTimeout: 2}
	if st.Ended != want {
		t.Errorf("Stats.Ended = %v, want %v", st.Ended, want)
	}
}

func TestEviction(t *testing.T) {
	t.Parallel()
	var ended []uint16
	var reasons []EndReason
	cfg := TableConfig{MaxFlows: 4, MaxHalfOpen: 3}
	cfg.OnEnd = func(f *Flow, r EndReason) {
		ended = append(ended, f.Client().Port())
		reasons = append(reasons, r)
	}
	tab := NewTable(cfg)
	ts := int64(0)
	syn := func(port uint16) conn {
		ts += ms
		c := newConn("10.0.0.1", "10.0.0.2", port, 443)
		tab.Observe(c.pkt(ts, ClientToServer, fSYN, 1, 0, nil))
		return c
	}
	establish := func(port uint16) conn {
		c := syn(port)
		tab.Observe(c.pkt(ts, ServerToClient, fSYN|fACK, 1, 2, nil))
		tab.Observe(c.pkt(ts, ClientToServer, fACK, 2, 2, nil))
		return c
	}
	check := func(name string, wantPorts []uint16, wantReasons []EndReason) {
		t.Helper()
		if diff := cmp.Diff(wantPorts, ended); diff != "" {
			t.Errorf("%s: evicted ports (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantReasons, reasons); diff != "" {
			t.Errorf("%s: reasons (-want +got):\n%s", name, diff)
		}
		ended, reasons = nil, nil
	}

	// Half-open budget: FIFO, never touches confirmed flows.
	c1 := establish(1)
	for p := uint16(100); p < 106; p++ {
		syn(p)
	}
	check("half-open", []uint16{100, 101, 102}, []EndReason{EndEvictHalfOpen, EndEvictHalfOpen, EndEvictHalfOpen})
	if tab.HalfOpen() != 3 || tab.Len() != 4 {
		t.Errorf("half-open = %d, len = %d; want 3, 4", tab.HalfOpen(), tab.Len())
	}

	// Main budget: approximate LRU. Flows 1..4 fill it; 1 and 3 are used
	// again, so 2 then 4 go first.
	establish(2)
	c3 := establish(3)
	establish(4)
	// Each SYN takes a half-open slot that confirmation frees again, so
	// only the first needs room.
	check("fill", []uint16{103}, []EndReason{EndEvictHalfOpen})
	ts += ms
	tab.Observe(c1.pkt(ts, ClientToServer, fACK, 2, 2, nil))
	tab.Observe(c3.pkt(ts, ClientToServer, fACK, 2, 2, nil))
	establish(5)
	establish(6)
	check("lru", []uint16{2, 4}, []EndReason{EndEvictLRU, EndEvictLRU})

	// A closed flow goes before any open one.
	ts += ms
	tab.Observe(c3.pkt(ts, ServerToClient, fRST, 2, 0, nil))
	establish(7)
	check("closed first", []uint16{3}, []EndReason{EndEvictClosed})
	for _, p := range []uint16{1, 5, 6, 7} {
		k, _ := KeyOf(newConn("10.0.0.1", "10.0.0.2", p, 443).pkt(0, ClientToServer, 0, 0, 0, nil))
		if tab.Lookup(k) == nil {
			t.Errorf("flow %d missing", p)
		}
	}
	st := tab.Stats()
	if st.Evictions() != 7 || st.Ended[EndEvictHalfOpen] != 4 || st.Ended[EndEvictLRU] != 2 || st.Ended[EndEvictClosed] != 1 {
		t.Errorf("evictions = %d, by reason %v", st.Evictions(), st.Ended)
	}
}

func TestFlush(t *testing.T) {
	t.Parallel()
	n := 0
	cfg := smallConfig()
	cfg.OnEnd = func(f *Flow, r EndReason) {
		if r != EndFlush {
			t.Errorf("reason = %v, want flush", r)
		}
		n++
	}
	tab := NewTable(cfg)
	for p := range uint16(10) {
		tab.Observe(newConn("10.0.0.1", "10.0.0.2", 1000+p, 443).pkt(0, ClientToServer, fSYN, 1, 0, nil))
	}
	tab.Flush()
	if n != 10 || tab.Len() != 0 {
		t.Errorf("flushed %d, len %d; want 10, 0", n, tab.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (TableConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	err := TableConfig{MaxFlows: -1, MaxOutOfOrderSegments: 99, ClientStreamCap: -2}.Validate()
	if err == nil {
		t.Fatal("Validate accepted negative MaxFlows")
	}
	for _, s := range []string{"max_flows", "max_out_of_order_segments", "client_stream_cap"} {
		if !bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
}

func TestIgnoresOtherProtocols(t *testing.T) {
	t.Parallel()
	tab := NewTable(smallConfig())
	f, ev := tab.Observe(&capture.Packet{Proto: 1})
	if f != nil || ev != 0 || tab.Stats().Ignored != 1 {
		t.Errorf("ICMP: flow %v, events %v, ignored %d", f, ev, tab.Stats().Ignored)
	}
}
