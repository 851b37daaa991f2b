package flow

import (
	"net/netip"
	"testing"

	"github.com/monitor443/monitor443/capture"
)

// establishedTraffic returns a table holding nflows established flows and
// a packet sequence of data and ACKs across them, with a warm reassembly
// pool.
func establishedTraffic(nflows int) (*Table, []capture.Packet) {
	tab := NewTable(TableConfig{MaxFlows: 2 * nflows, MaxHalfOpen: 1024, MaxReassembly: 64})
	server := netip.MustParseAddr("2001:db8::443")
	payload := make([]byte, 1200)
	var pkts []capture.Packet
	for i := range nflows {
		c := conn{c: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), s: server, cp: uint16(20000 + i), sp: 443}
		tab.Observe(c.pkt(0, ClientToServer, fSYN, 100, 0, nil))
		tab.Observe(c.pkt(0, ServerToClient, fSYN|fACK, 500, 101, nil))
		tab.Observe(c.pkt(0, ClientToServer, fACK, 101, 501, nil))
		// Reassemble a little, then stop, as the TLS analyzer would.
		f, _ := tab.Observe(c.pkt(0, ClientToServer, fACK, 101, 501, payload[:300]))
		f.StopReassembly(ClientToServer)
		f.StopReassembly(ServerToClient)
		for j := range 8 {
			pkts = append(pkts, *c.pkt(0, ServerToClient, fACK, 501+uint32(j)*1200, 401, payload))
			pkts = append(pkts, *c.pkt(0, ClientToServer, fACK, 401, 501+uint32(j+1)*1200, nil))
		}
	}
	return tab, pkts
}

func TestObserveAllocs(t *testing.T) {
	tab, pkts := establishedTraffic(64)
	ts := int64(1)
	i := 0
	if a := testing.AllocsPerRun(10000, func() {
		p := &pkts[i%len(pkts)]
		ts++
		p.Timestamp = ts
		tab.Observe(p)
		i++
	}); a != 0 {
		t.Errorf("Observe on established traffic: %v allocs per packet, want 0", a)
	}

	// SYN flood with eviction, plus reassembly from a warm pool.
	p := capture.Packet{Dst: netip.MustParseAddr("198.51.100.1"), DstPort: 443, Proto: capture.ProtoTCP, Flags: fSYN}
	v := uint32(0)
	if a := testing.AllocsPerRun(10000, func() {
		v++
		p.Src = netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
		tab.Observe(&p)
	}); a != 0 {
		t.Errorf("Observe on a SYN flood: %v allocs per packet, want 0", a)
	}
	hello := make([]byte, 500)
	c := newConn("10.9.9.9", "198.51.100.1", 1, 443)
	var pk [3]capture.Packet
	if a := testing.AllocsPerRun(1000, func() {
		c.cp++
		pk[0] = *c.pkt(0, ClientToServer, fSYN, 7, 0, nil)
		pk[1] = *c.pkt(0, ClientToServer, fACK, 208, 1, hello[:200]) // held out of order
		pk[2] = *c.pkt(0, ClientToServer, fACK, 8, 1, hello[:200])
		var f *Flow
		for i := range pk {
			f, _ = tab.Observe(&pk[i])
		}
		if len(f.ClientStream()) != 400 {
			t.Fatalf("stream %d bytes, want 400", len(f.ClientStream()))
		}
		f.StopReassembly(ClientToServer)
	}); a != 0 {
		t.Errorf("Observe with reassembly: %v allocs per run, want 0", a)
	}
}

func BenchmarkObserveEstablished(b *testing.B) {
	tab, pkts := establishedTraffic(256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tab.Observe(&pkts[i])
		i++
		if i == len(pkts) {
			i = 0
		}
	}
}

func BenchmarkObserveSYNFlood(b *testing.B) {
	tab := NewTable(TableConfig{MaxFlows: 1 << 16, MaxHalfOpen: 1 << 16})
	p := capture.Packet{Dst: netip.MustParseAddr("198.51.100.1"), DstPort: 443, Proto: capture.ProtoTCP, Flags: fSYN, IPLen: 40}
	v := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		v++
		p.Timestamp = int64(v)
		p.Src = netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
		p.SrcPort = uint16(v)
		tab.Observe(&p)
	}
}

func BenchmarkObserveHandshakeReassembly(b *testing.B) {
	tab := NewTable(TableConfig{MaxFlows: 1 << 12, MaxHalfOpen: 1 << 12, MaxReassembly: 256})
	hello := make([]byte, 1800)
	server := netip.MustParseAddr("198.51.100.1")
	var pk [4]capture.Packet
	v := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		v++
		c := conn{c: netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)}), s: server, cp: uint16(v), sp: 443}
		pk[0] = *c.pkt(int64(v), ClientToServer, fSYN, 7, 0, nil)
		pk[1] = *c.pkt(int64(v), ServerToClient, fSYN|fACK, 9, 8, nil)
		pk[2] = *c.pkt(int64(v), ClientToServer, fACK, 8, 10, hello[:1400])
		pk[3] = *c.pkt(int64(v), ClientToServer, fACK, 1408, 10, hello[1400:])
		var f *Flow
		for i := range pk {
			f, _ = tab.Observe(&pk[i])
		}
		f.StopReassembly(ClientToServer)
	}
}
