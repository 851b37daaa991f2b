package flow

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/monitor443/monitor443/capture"
)

// FuzzObserve decodes the input as a packet sequence over a few endpoints
// (so flows collide, close, reopen and get evicted) and checks the table's
// invariants after every packet. Payload byte i of a segment is
// byte(seq+i), so every reassembled stream must count up by one.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 0, 0x12, 1, 0, 0, 0, 0x10, 0, 1, 5, 0, 0x18, 0, 1, 5, 5})
	f.Add(bytes.Repeat([]byte{0x02, 0x33, 0x10, 0x00, 0x00}, 40))
	f.Add([]byte{0x18, 0, 10, 20, 7, 0x18, 0, 0, 20, 7, 0x11, 0x80, 0, 0, 0, 0x04, 0x81, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := TableConfig{MaxFlows: 3, MaxHalfOpen: 2, MaxReassembly: 3, ClientStreamCap: 40, ServerStreamCap: 24,
			MaxOutOfOrderSegments: 2, MaxOutOfOrderBytes: 16, IdleTimeout: 50, HalfOpenTimeout: 20, ClosedTimeout: 5}
		var ended uint64
		cfg.OnEnd = func(f *Flow, r EndReason) {
			ended++
			if r >= numEndReasons {
				t.Errorf("bad reason %d", r)
			}
		}
		tab := NewTable(cfg)
		addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("2001:db8::1")}
		ports := []uint16{443, 50000, 80, 443}
		var buf [64]byte
		ts := int64(0)
		for len(in) >= 5 {
			b := in[:5]
			in = in[5:]
			seq := uint32(b[2]) | uint32(b[1]&0x0f)<<8
			if b[1]&0x10 != 0 {
				seq -= 1 << 11 // exercise wrap-around
			}
			n := int(b[3] % 48)
			dataSeq := seq
			if capture.TCPFlags(b[0]).Has(capture.FlagSYN) {
				dataSeq++ // SYN takes one sequence number before the data
			}
			for i := range n {
				buf[i] = byte(dataSeq + uint32(i))
			}
			p := &capture.Packet{
				Timestamp: ts, Proto: capture.ProtoTCP, Flags: capture.TCPFlags(b[0]),
				Src: addrs[b[4]&1], Dst: addrs[1+(b[4]>>1)&1],
				SrcPort: ports[(b[4]>>2)&3], DstPort: ports[(b[4]>>4)&3],
				Seq: seq, Ack: seq ^ uint32(b[3]), PayloadLen: uint32(n), Payload: buf[:n], IPLen: 40 + uint32(n),
			}
			if b[4]&0x40 != 0 {
				p.Proto = capture.ProtoUDP
			}
			if b[4]&0x80 != 0 {
				p.Payload = p.Payload[:n/2] // truncated capture
			}
			ts += int64(b[1] >> 5)
			fl, ev := tab.Observe(p)
			if fl == nil {
				t.Fatal("Observe returned nil for TCP/UDP")
			}
			if ev.Has(EventClientDataReady) && len(fl.ClientStream()) == 0 ||
				ev.Has(EventServerDataReady) && len(fl.ServerStream()) == 0 {
				t.Errorf("data ready with an empty stream: %v", ev)
			}
			for d, s := range [][]byte{fl.ClientStream(), fl.ServerStream()} {
				if len(s) > [2]int{cfg.ClientStreamCap, cfg.ServerStreamCap}[d] {
					t.Fatalf("stream %d holds %d bytes, over its cap", d, len(s))
				}
				for i := 1; i < len(s); i++ {
					if s[i] != s[0]+byte(i) {
						t.Fatalf("stream %d byte %d = %d, want %d: %v", d, i, s[i], s[0]+byte(i), s)
					}
				}
			}
			checkInvariants(t, tab, cfg, ended)
			if b[1]>>5 == 7 {
				tab.Expire(ts)
				checkInvariants(t, tab, cfg, ended)
			}
		}
		tab.Flush()
		checkInvariants(t, tab, cfg, ended)
		st := tab.Stats()
		if st.Flows != 0 || st.ReassemblyBuffers != 0 || ended != st.Created {
			t.Errorf("after Flush: %d flows, %d buffers, %d ended of %d created", st.Flows, st.ReassemblyBuffers, ended, st.Created)
		}
	})
}

func checkInvariants(t *testing.T, tab *Table, cfg TableConfig, ended uint64) {
	t.Helper()
	st := tab.Stats()
	if st.HalfOpen > uint64(cfg.MaxHalfOpen) || st.Flows-st.HalfOpen > uint64(cfg.MaxFlows) {
		t.Fatalf("budgets exceeded: %d half-open, %d flows", st.HalfOpen, st.Flows)
	}
	var sum uint64
	for _, n := range st.Ended {
		sum += n
	}
	if st.Created-sum != st.Flows || sum != ended {
		t.Fatalf("created %d - ended %d != flows %d (OnEnd saw %d)", st.Created, sum, st.Flows, ended)
	}
	if st.ReassemblyBuffers > uint64(cfg.MaxReassembly) || st.ReassemblyBuffersAllocated > uint64(cfg.MaxReassembly) {
		t.Fatalf("reassembly buffers %d in use, %d allocated, max %d", st.ReassemblyBuffers, st.ReassemblyBuffersAllocated, cfg.MaxReassembly)
	}
	// Every list is consistent with its count and the index.
	seen := 0
	for l := range numLists {
		n := 0
		prev := int32(-1)
		for i := tab.lists[l].head; i >= 0; i = tab.flows[i].next {
			f := &tab.flows[i]
			if f.prev != prev || int(f.list) != l {
				t.Fatalf("list %d broken at %d", l, i)
			}
			if g := tab.Lookup(f.key); g != f {
				t.Fatalf("flow %d not found by its key", i)
			}
			if (l >= listMain) != f.state.Has(StateConfirmed) || (l%2 == 1) != f.state.Has(StateClosed) {
				t.Fatalf("flow %d on list %d has state %#x", i, l, f.state)
			}
			prev = i
			n++
		}
		if n != tab.lcount[l] || prev != tab.lists[l].tail {
			t.Fatalf("list %d: walked %d, count %d", l, n, tab.lcount[l])
		}
		seen += n
	}
	used := 0
	for _, e := range tab.idx.e {
		if e != 0 {
			used++
		}
	}
	if used != seen {
		t.Fatalf("index holds %d entries, lists %d", used, seen)
	}
}
