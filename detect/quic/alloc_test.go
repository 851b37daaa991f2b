package quic

import (
	"testing"

	"github.com/monitor443/monitor443/detect/tlshello"
)

// initialPath is the per-Initial work of a worker: parse and decrypt, add
// the frames to the connection's Conn, and parse the completed hello.
func initialPath(p *Parser, c *Conn, h *tlshello.ClientHello, pkt []byte) bool {
	info, err := p.Packet(pkt)
	if err != nil || !info.ClientInitial {
		return false
	}
	c.Reset(info.DCID)
	if c.Add(info.Payload) != nil {
		return false
	}
	msg, ok := c.Hello()
	return ok && h.Parse(msg) == nil
}

func TestAllocsPerInitial(t *testing.T) {
	for _, file := range []string{"rfc9001-a2-client-initial.hex", "rfc9369-a2-client-initial.hex"} {
		pkt := readHex(t, file)
		var p Parser
		var h tlshello.ClientHello
		c := NewConn(0)
		if !initialPath(&p, c, &h, pkt) {
			t.Fatalf("%s: hello not read", file)
		}
		if n := testing.AllocsPerRun(100, func() { initialPath(&p, c, &h, pkt) }); n != 0 {
			t.Errorf("%s: %v allocations per Initial, want 0", file, n)
		}
		if n := testing.AllocsPerRun(100, func() { IsServerPacket(pkt, 443, 443) }); n != 0 {
			t.Errorf("IsServerPacket: %v allocations, want 0", n)
		}
		if n := testing.AllocsPerRun(100, func() { ClientInitialSecrets(Version1, pkt[6:14]) }); n != 0 {
			t.Errorf("ClientInitialSecrets: %v allocations, want 0", n)
		}
	}
}

// BenchmarkInitial measures one client Initial of a connection whose keys
// are cached: header, header protection, AES-GCM, CRYPTO reassembly and
// ClientHello parsing.
func BenchmarkInitial(b *testing.B) {
	pkt := readHex(b, "rfc9001-a2-client-initial.hex")
	var p Parser
	var h tlshello.ClientHello
	c := NewConn(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if !initialPath(&p, c, &h, pkt) {
			b.Fatal("hello not read")
		}
	}
}

// BenchmarkInitialNewConnection is BenchmarkInitial with a key cache miss
// every time, as for the first Initial of each new connection: it adds the
// key derivation and the AES/GCM set-up, which allocate.
func BenchmarkInitialNewConnection(b *testing.B) {
	pkt := readHex(b, "rfc9001-a2-client-initial.hex")
	var p Parser
	var h tlshello.ClientHello
	c := NewConn(0)
	b.ReportAllocs()
	for b.Loop() {
		for i := range p.keys {
			p.keys[i].valid = false
		}
		if !initialPath(&p, c, &h, pkt) {
			b.Fatal("hello not read")
		}
	}
}
