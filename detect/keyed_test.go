package detect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/capture/synth"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/monitor443/monitor443/detect/sketch"
)

// packets decodes a few seconds of synthetic traffic with a SYN flood, and
// moves every packet into one interval so no interval closes while a
// benchmark or allocation test loops over them.
func packets(tb testing.TB) []capture.Packet {
	tb.Helper()
	g, err := synth.NewGenerator(synth.Config{Seed: 3, Duration: 20 * time.Second, ConnRate: 50, Clients: 500,
		MaxResponseBytes: 64 << 10, IPv6Fraction: 0.3,
		Events: []synth.Event{{Kind: synth.SYNFlood, Start: 5 * time.Second, Duration: 5 * time.Second, Rate: 500}}})
	if err != nil {
		tb.Fatal(err)
	}
	dec := capture.NewDecoder(capture.DecoderConfig{TCPPorts: []uint16{443}})
	var out []capture.Packet
	var fr capture.Frame
	for g.Read(&fr) == nil {
		var p capture.Packet
		if dec.Decode(&fr, &p) != capture.ResultOK {
			continue
		}
		p.Payload = append([]byte(nil), p.Payload...)
		p.Timestamp = int64(time.Hour) + int64(len(out))
		out = append(out, p)
	}
	return out
}

func newTestAnalyzer(detectors bool) *analyzer {
	c := new(Counters)
	a := &analyzer{interval: int64(time.Hour), out: make(chan snapshot, 16), c: c}
	a.tls = newTLSAnalyzer(4096, &c.TLS, nil, nil, Blocklist{})
	a.table = flow.NewTable(flow.TableConfig{ServerPorts: []uint16{443}, OnEnd: a.tls.flowEnded})
	if detectors {
		a.keys = newKeyed(DetectionConfig{}.withDefaults())
	}
	return a
}

func TestObserveAllocs(t *testing.T) {
	ps := packets(t)
	a := newTestAnalyzer(true)
	for i := range ps { // warm: flows, pools, sketches full
		a.observe(&ps[i])
	}
	i := 0
	allocs := testing.AllocsPerRun(len(ps), func() {
		a.observe(&ps[i%len(ps)])
		i++
	})
	if allocs != 0 {
		t.Errorf("observe allocates %v per packet, want 0", allocs)
	}
}

// BenchmarkObserve measures the per-packet work with and without the
// detectors' keyed features (server counters, sketches, HyperLogLogs).
func BenchmarkObserve(b *testing.B) {
	ps := packets(b)
	for _, det := range []bool{false, true} {
		name := "plain"
		if det {
			name = "keyed"
		}
		b.Run(name, func(b *testing.B) {
			a := newTestAnalyzer(det)
			for i := range ps {
				a.observe(&ps[i])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				a.observe(&ps[i%len(ps)])
				i++
			}
		})
	}
}

// TestKeyedSnapshot checks the per-worker keyed features against hand
// counts and the merge of two workers.
func TestKeyedSnapshot(t *testing.T) {
	t.Parallel()
	srv := netip.MustParseAddrPort("198.18.0.1:443")
	k := newKeyed(DetectionConfig{WatchServers: []netip.AddrPort{srv},
		WatchPrefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}.withDefaults())
	c1, c2 := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.9")
	syn := func(c netip.Addr, ttl uint8) {
		p := capture.Packet{Src: c, Dst: srv.Addr(), SrcPort: 40000, DstPort: 443, Proto: capture.ProtoTCP, Flags: capture.FlagSYN, TTL: ttl, IPLen: 60}
		sc := k.server(nil, &p, true)
		if sc == nil {
			t.Fatal("watched server not tracked")
		}
		count(&sc.f, &p, 0, true, false)
		k.packet(&p, nil, c, sketch.HashAddr(c), true, true, false, sc)
	}
	syn(c1, 64)
	syn(c1, 64)
	syn(c2, 128)
	k.hello(c1, []byte("a.example"), 1)
	k.hello(c1, []byte("a.example"), 1)
	k.hello(c2, []byte("b.example"), 2)
	k.hello(netip.MustParseAddr("192.0.2.77"), nil, 0) // over QUIC
	s := k.snapshot()
	m := newMerged(1)
	m.add(s)
	m.add(s) // a second worker with the same counts
	if got := m.servers[srv].f.SYN; got != 6 {
		t.Errorf("server SYN = %d, want 6", got)
	}
	if h := m.servers[srv].ttl; h == nil {
		t.Error("no SYNs by TTL")
	} else if h[64] != 4 || h[128] != 2 {
		t.Errorf("SYNs by TTL: %d at 64 and %d at 128, want 4 and 2", h[64], h[128])
	}
	if got := m.prefixes[0]; got != (prefixCounts{syn: 4}) {
		t.Errorf("watched prefix = %+v, want 4 SYN", got)
	}
	if got := m.helloCount(c1); got != 4 {
		t.Errorf("hellos of %v = %d, want 4", c1, got)
	}
	if got := m.sni["a.example"]; got != 4 {
		t.Errorf("sni a.example = %d, want 4", got)
	}
	if got := m.pfxSYN[netip.MustParsePrefix("10.1.2.0/24")]; got != 4 {
		t.Errorf("prefix SYN = %d, want 4", got)
	}
	// Merging a sketch with itself does not double distinct counts.
	if got := estimate(m.synSources); got < 1.9 || got > 2.1 {
		t.Errorf("unique SYN sources = %v, want 2", got)
	}
	// The clients of TCP hellos: c1 and c2, not the QUIC client.
	if got := estimate(m.helloSrc); got < 1.9 || got > 2.1 {
		t.Errorf("clients of TCP hellos = %v, want 2", got)
	}
	// After the snapshot, the worker's state is empty.
	if s2 := k.snapshot(); len(s2.servers) != 0 || len(s2.clientHello) != 0 || s2.helloCM != nil || s2.helloSrc != nil {
		t.Errorf("snapshot after reset not empty: %+v", s2)
	}
}

func TestClientPrefix(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.77", "192.0.2.0/24"},
		{"::ffff:192.0.2.77", "192.0.2.0/24"},
		{"2001:db8:c100:1:2:3:4:5", "2001:db8:c100:1::/64"},
	} {
		if got := clientPrefix(netip.MustParseAddr(tt.in)).String(); got != tt.want {
			t.Errorf("clientPrefix(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestPairsRankedByServerShare: on a busy network, the few hosts pulling
// from a small server are reported among the interval's pairs although
// hundreds of pairs of a big server each received more: a pair is ranked by
// the share of its own server's egress.
func TestPairsRankedByServerShare(t *testing.T) {
	t.Parallel()
	k := newKeyed(DetectionConfig{TopClients: 16}.withDefaults())
	big, small := netip.MustParseAddrPort("198.51.100.1:443"), netip.MustParseAddrPort("198.51.100.2:443")
	bi, si := k.admit(big), k.admit(small)
	seg := func(srv netip.AddrPort, client netip.Addr, n int) {
		for range n {
			p := capture.Packet{Proto: capture.ProtoTCP, Src: srv.Addr(), SrcPort: srv.Port(), Dst: client, DstPort: 40000,
				PayloadLen: 1400, IPLen: 1452}
			k.packet(&p, nil, client, 0, false, false, false, nil)
			c := &k.srv[bi]
			if srv == small {
				c = &k.srv[si]
			}
			c.f.BytesOut += uint64(p.IPLen)
		}
	}
	// 100 clients of the big server with 40 segments each, interleaved with
	// three pullers of the small server with 30 each.
	pullers := []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("203.0.113.3")}
	for i := range 100 {
		seg(big, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 40)
		if i%10 == 0 {
			for _, p := range pullers {
				seg(small, p, 3)
			}
		}
	}
	s := k.snapshot()
	if len(s.pairBytes) != 16 {
		t.Fatalf("%d pairs reported, want TopClients (16)", len(s.pairBytes))
	}
	found := 0
	for _, e := range s.pairBytes {
		if e.Key.server == small {
			found++
			if e.Guaranteed() != 30*1452 {
				t.Errorf("puller %v: %d guaranteed bytes, want %d", e.Key.client, e.Guaranteed(), 30*1452)
			}
		}
	}
	if found != len(pullers) {
		t.Errorf("%d of the small server's %d pullers reported, want all", found, len(pullers))
	}
}

// BenchmarkPairs: choosing the interval's reported pairs from a full pair
// summary (2048 counters, 64 servers), once per interval and worker.
func BenchmarkPairs(b *testing.B) {
	k := newKeyed(DetectionConfig{}.withDefaults())
	for i := range 64 {
		k.admit(netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 443))
	}
	for i := range 8192 {
		srv := k.srvAddr[i%64]
		client := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		p := capture.Packet{Proto: capture.ProtoTCP, Src: srv.Addr(), SrcPort: srv.Port(), Dst: client, PayloadLen: 1400,
			IPLen: uint32(1452 * (1 + i%7))}
		k.packet(&p, nil, client, 0, false, false, false, nil)
		k.srv[i%64].f.BytesOut += uint64(p.IPLen)
	}
	b.ReportAllocs()
	for b.Loop() {
		k.pairs()
	}
}
