package detect

import (
	"net/netip"
	"testing"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/baseline"
)

func TestSrcSet(t *testing.T) {
	t.Parallel()
	var s srcSet
	if s.mark(1, srcAttempt) {
		t.Error("first attempt of a source seen before")
	}
	if !s.mark(1, srcAttempt) {
		t.Error("second attempt of a source not seen")
	}
	if s.mark(1, srcHandshake) {
		t.Error("a handshake after an attempt counted as a repeated handshake")
	}
	if s.mark(1+srcSetSize, srcAttempt) { // same slot, another source
		t.Error("a source sharing the slot of another was taken for it")
	}
	s.next()
	if s.mark(1, srcAttempt) {
		t.Error("an attempt of the last interval carried over")
	}
	// Bounded: beyond three quarters of the slots every source is new,
	// as the count was before the set.
	s.next()
	const golden uint64 = 0x9e3779b97f4a7c15 // spreads the hashes over the slots
	for i := range uint64(srcSetSize) {
		s.mark(i*golden, srcAttempt)
	}
	if s.used > srcSetSize*3/4 {
		t.Errorf("%d slots used, want at most %d", s.used, srcSetSize*3/4)
	}
	h := ^uint64(0) - 12345
	first := s.mark(h, srcAttempt)
	if again := s.mark(h, srcAttempt); first || again {
		t.Error("a source was deduplicated in a full set")
	}
	// The generation wraps without reviving old marks.
	s.gen = ^uint32(0)
	s.mark(7, srcAttempt)
	s.next()
	if s.gen != 1 || s.mark(7, srcAttempt) {
		t.Errorf("after the wrap: generation %d, old mark seen", s.gen)
	}
}

// TestSweepIsNotAFlood feeds one interval through an analyzer: a known
// server (it answered), a scanner that sweeps its /24 (255 dark addresses
// and the server), a browser whose six parallel attempts all go
// unanswered, three clients that each complete a handshake and one that
// completes three. The global count of unanswered attempts is then two
// (the scanner's, the browser's), the server's own count keeps all seven
// of its unanswered attempts, and a spoofed flood keeps every SYN. On a
// capture of one direction a server is known once a client acknowledges
// its unseen answer; before, nothing is dark.
func TestSweepIsNotAFlood(t *testing.T) {
	t.Parallel()
	srv := netip.MustParseAddrPort("198.51.100.1:443")
	ts := int64(0)
	type pkt struct {
		src, dst netip.AddrPort
		flags    capture.TCPFlags
		seq, ack uint32
	}
	feed := func(a *analyzer, ps ...pkt) {
		for _, x := range ps {
			ts += 1000
			p := capture.Packet{Timestamp: ts, Proto: capture.ProtoTCP, Flags: x.flags, Seq: x.seq, Ack: x.ack,
				Src: x.src.Addr(), Dst: x.dst.Addr(), SrcPort: x.src.Port(), DstPort: x.dst.Port(), IPLen: 60, TTL: 60}
			a.observe(&p)
		}
	}
	port := uint16(30000)
	handshake := func(a *analyzer, c string) {
		port++
		cl := netip.AddrPortFrom(netip.MustParseAddr(c), port)
		feed(a, pkt{cl, srv, capture.FlagSYN, 100, 0},
			pkt{srv, cl, capture.FlagSYN | capture.FlagACK, 500, 101},
			pkt{cl, srv, capture.FlagACK, 101, 501})
	}
	attempt := func(a *analyzer, c string, dst netip.Addr) {
		port++
		feed(a, pkt{netip.AddrPortFrom(netip.MustParseAddr(c), port), netip.AddrPortFrom(dst, 443), capture.FlagSYN, 7, 0})
	}
	interval := func(a *analyzer) *Features {
		for _, c := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
			handshake(a, c)
		}
		for range 3 {
			handshake(a, "203.0.113.4")
		}
		for i := range 256 {
			attempt(a, "203.0.113.99", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		}
		for range 6 {
			attempt(a, "203.0.113.50", srv.Addr())
		}
		return &a.cur
	}
	unanswered := func(f *Features) uint64 {
		fs := &synFloodState{cnt: must(baseline.NewCount(baseline.CountConfig{Warmup: 10}))}
		fs.unanswered(f)
		return fs.unanswered(&Features{})
	}

	a := newTestAnalyzer(true)
	handshake(a, "203.0.113.1") // the server answers: it is tracked
	a.cur = Features{}
	a.srcs.next()
	a.keys.snapshot() // starts the keyed features' next interval
	f := interval(a)
	if f.DarkSYNs != 255 {
		t.Errorf("%d dark SYNs, want 255 (the sweep's addresses but the server)", f.DarkSYNs)
	}
	if f.SYNSourceRepeats != 7 || f.HandshakeSourceRepeats != 2 {
		t.Errorf("repeats: %d attempts, %d handshakes; want 7 (2 of the client with three handshakes, 5 of the browser) and 2",
			f.SYNSourceRepeats, f.HandshakeSourceRepeats)
	}
	if got := unanswered(f); got != 2 {
		t.Errorf("global: %d unanswered attempts, want 2 (the scanner's and the browser's)", got)
	}
	sc := a.keys.server(nil, &capture.Packet{Src: srv.Addr(), SrcPort: srv.Port(), Dst: srv.Addr(), DstPort: 1}, false)
	if got := unanswered(&sc.f); got != 7 {
		t.Errorf("server: %d unanswered attempts, want 7 (the scanner's and the browser's six)", got)
	}
	if p := a.keys.pfxSYN.Top(nil); len(p) == 0 {
		t.Error("no prefix counted SYNs")
	} else {
		for _, e := range p {
			if e.Key == netip.MustParsePrefix("203.0.113.0/24") && e.Count > 6+6+1 {
				t.Errorf("prefix 203.0.113.0/24 counted %d SYNs, want at most 13 (the sweep's dark probes left out)", e.Count)
			}
		}
	}

	// A spoofed flood: each SYN a new source, each counted.
	a.cur = Features{}
	a.srcs.next()
	for i := range 300 {
		attempt(a, netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}).String(), srv.Addr())
	}
	if got := unanswered(&a.cur); got != 300 {
		t.Errorf("spoofed flood: %d unanswered attempts at the global scope, want 300", got)
	}

	// One direction only (a tap that sees the clients' packets): until a
	// client acknowledges an answer the capture did not see, no server is
	// tracked and nothing is dark; then the server is, and a sweep's other
	// addresses are dark.
	b := newTestAnalyzer(true)
	attempt(b, "203.0.113.99", netip.AddrFrom4([4]byte{198, 51, 100, 7}))
	if b.cur.DarkSYNs != 0 {
		t.Errorf("one direction, no server answered yet: %d dark SYNs, want 0", b.cur.DarkSYNs)
	}
	port++
	cl := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.5"), port)
	feed(b, pkt{cl, srv, capture.FlagSYN, 100, 0}, pkt{cl, srv, capture.FlagACK, 101, 501})
	srvPkt := &capture.Packet{Src: srv.Addr(), SrcPort: srv.Port(), Dst: cl.Addr(), DstPort: cl.Port()}
	if b.cur.Handshakes != 1 || b.keys.server(nil, srvPkt, false) == nil {
		t.Fatalf("one direction: %d handshakes, server tracked %v; want the client's acknowledgement to complete one and admit the server",
			b.cur.Handshakes, b.keys.server(nil, srvPkt, false) != nil)
	}
	b.cur = Features{}
	b.srcs.next()
	for i := range 10 {
		attempt(b, "203.0.113.99", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		attempt(b, netip.AddrFrom4([4]byte{100, 64, 0, byte(i)}).String(), srv.Addr())
	}
	if b.cur.DarkSYNs != 9 || unanswered(&b.cur) != 11 {
		t.Errorf("one direction: %d dark SYNs, %d unanswered; want 9 and 11 (the scanner once, ten spoofed)", b.cur.DarkSYNs, unanswered(&b.cur))
	}
}
