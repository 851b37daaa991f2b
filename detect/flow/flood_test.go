package flow

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/monitor443/monitor443/capture"
)

// heapAlloc returns the bytes of live heap objects after a full GC.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSYNFlood feeds spoofed SYNs from unique sources after some
// established flows: 10 million normally, 1 million with -race or -short.
func TestSYNFlood(t *testing.T) {
	n := 10_000_000
	if raceEnabled || testing.Short() {
		n = 1_000_000
	}
	const established = 1000
	cfg := TableConfig{MaxFlows: 2048, MaxHalfOpen: 4096}
	base := heapAlloc()
	tab := NewTable(cfg)
	ts := int64(1_700_000_000) * int64(time.Second)
	server := netip.MustParseAddr("198.51.100.1")
	keys := make([]Key, established)
	for i := range established {
		c := conn{c: netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 250)}), s: server, cp: uint16(10000 + i), sp: 443}
		tab.Observe(c.pkt(ts, ClientToServer, fSYN, 1, 0, nil))
		tab.Observe(c.pkt(ts, ServerToClient, fSYN|fACK, 1, 2, nil))
		f, ev := tab.Observe(c.pkt(ts, ClientToServer, fACK, 2, 2, nil))
		if !ev.Has(EventConfirmed) {
			t.Fatalf("flow %d not confirmed: %v", i, ev)
		}
		keys[i] = f.Key()
	}
	afterSetup := heapAlloc()

	p := &capture.Packet{Dst: server, DstPort: 443, Proto: capture.ProtoTCP, Flags: fSYN, TTL: 240, IPLen: 40}
	for i := range n {
		ts += int64(time.Microsecond)
		v := uint32(i)
		p.Timestamp = ts
		p.Src = netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
		p.SrcPort = uint16(1024 + v%60000)
		p.Seq = v * 2654435761
		_, ev := tab.Observe(p)
		if !ev.Has(EventNewHalfOpen) {
			t.Fatalf("SYN %d: events %v, want new_half_open", i, ev)
		}
		if h := tab.HalfOpen(); h > cfg.MaxHalfOpen {
			t.Fatalf("SYN %d: %d half-open flows, budget %d", i, h, cfg.MaxHalfOpen)
		}
		if i%1_000_000 == 0 {
			tab.Expire(ts)
		}
	}
	for i, k := range keys {
		if tab.Lookup(k) == nil {
			t.Fatalf("established flow %d was lost", i)
		}
	}
	st := tab.Stats()
	if st.HalfOpen != uint64(cfg.MaxHalfOpen) || st.Flows != uint64(established+cfg.MaxHalfOpen) {
		t.Errorf("half-open = %d, flows = %d; want %d, %d", st.HalfOpen, st.Flows, cfg.MaxHalfOpen, established+cfg.MaxHalfOpen)
	}
	if want := uint64(n - cfg.MaxHalfOpen); st.Ended[EndEvictHalfOpen] != want || st.Ended[EndEvictLRU] != 0 {
		t.Errorf("evictions: half-open %d (want %d), lru %d (want 0)", st.Ended[EndEvictHalfOpen], want, st.Ended[EndEvictLRU])
	}

	// Memory: the slab and the index are the whole per-flow cost, and the
	// flood must not add to what the table held after setup.
	slots := uint64(cfg.MaxFlows + cfg.MaxHalfOpen)
	flowSize := uint64(unsafe.Sizeof(Flow{}))
	indexSize := uint64(len(tab.idx.e)) * 8
	bound := slots*flowSize + indexSize + 1<<20 // plus 1 MiB for the test's own objects
	after := heapAlloc()
	runtime.KeepAlive(tab)
	t.Logf("%d SYNs; Flow is %d bytes, index %d bytes; heap grew %d bytes (bound %d), %d during the flood",
		n, flowSize, indexSize, after-base, bound, int64(after)-int64(afterSetup))
	if after > base && after-base > bound {
		t.Errorf("heap grew by %d bytes, bound %d", after-base, bound)
	}
	if after > afterSetup && after-afterSetup > 256<<10 {
		t.Errorf("heap grew by %d bytes during the flood", after-afterSetup)
	}
}

// TestFlowSize guards the per-flow memory documented in doc.go.
func TestFlowSize(t *testing.T) {
	if s := unsafe.Sizeof(Flow{}); s > 256 {
		t.Errorf("Flow is %d bytes; doc.go promises at most 256", s)
	}
}
