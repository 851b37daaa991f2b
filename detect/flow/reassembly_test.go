package flow

import (
	"strings"
	"testing"
)

type seg struct {
	off  uint32 // offset from ISN+1
	data string
}

func TestReassembly(t *testing.T) {
	t.Parallel()
	const isn = 0x7fff_fff0 // crosses the signed boundary
	tests := []struct {
		name      string
		cfg       TableConfig
		noSYN     bool // start without a handshake
		segs      []seg
		wantGrew  []bool // per segment: EventClientDataReady
		want      string
		wantStats Stats // only the reassembly counters are compared
	}{
		{
			name:     "in order",
			segs:     []seg{{0, "abc"}, {3, "def"}, {6, "g"}},
			wantGrew: []bool{true, true, true},
			want:     "abcdefg",
		},
		{
			name:      "out of order",
			segs:      []seg{{6, "g"}, {3, "def"}, {0, "abc"}},
			wantGrew:  []bool{false, false, true},
			want:      "abcdefg",
			wantStats: Stats{OutOfOrderHeld: 2},
		},
		{
			name:     "retransmission changes nothing",
			segs:     []seg{{0, "abc"}, {0, "XYZ"}, {3, "def"}},
			wantGrew: []bool{true, false, true},
			want:     "abcdef",
		},
		{
			name:      "overlaps keep the first copy",
			segs:      []seg{{2, "cd"}, {6, "gh"}, {1, "BCDEFGHI"}, {0, "Azzzzzzzzz"}},
			wantGrew:  []bool{false, false, false, true},
			want:      "ABcdEFghIz",
			wantStats: Stats{OutOfOrderHeld: 3},
		},
		{
			name:     "before the start is trimmed",
			cfg:      TableConfig{},
			segs:     []seg{{0, "ab"}, {0xffff_fffe, "xxabcd"}},
			wantGrew: []bool{true, true},
			want:     "abcd",
		},
		{
			name:      "entirely before the start",
			segs:      []seg{{0xffff_fff0, "old"}},
			wantGrew:  []bool{false},
			want:      "",
			wantStats: Stats{OutOfWindow: 1},
		},
		{
			name:      "cap exceeded",
			cfg:       TableConfig{ClientStreamCap: 8},
			segs:      []seg{{0, "0123456"}, {7, "789"}, {10, "more"}, {20, "far"}},
			wantGrew:  []bool{true, true, false, false},
			want:      "01234567",
			wantStats: Stats{ReassemblyCapExceeded: 1, OutOfWindow: 2},
		},
		{
			name:      "out-of-order segment limit",
			cfg:       TableConfig{MaxOutOfOrderSegments: 2},
			segs:      []seg{{2, "c"}, {4, "e"}, {6, "g"}, {5, "f"}, {0, "ab"}, {3, "d"}},
			wantGrew:  []bool{false, false, false, false, true, true},
			want:      "abcdef", // "g" was dropped
			wantStats: Stats{OutOfOrderHeld: 3, OutOfOrderDropped: 1},
		},
		{
			name:      "out-of-order byte limit",
			cfg:       TableConfig{MaxOutOfOrderBytes: 4},
			segs:      []seg{{2, "cde"}, {6, "gh"}, {5, "f"}, {0, "ab"}, {6, "gh"}},
			wantGrew:  []bool{false, false, false, true, true},
			want:      "abcdefgh",
			wantStats: Stats{OutOfOrderHeld: 2, OutOfOrderDropped: 1},
		},
		{
			name:      "missing SYN starts at the first data segment",
			noSYN:     true,
			segs:      []seg{{100, "mid"}, {103, "dle"}, {90, "early"}},
			wantGrew:  []bool{true, true, false},
			want:      "middle",
			wantStats: Stats{OutOfWindow: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.MaxFlows, cfg.MaxHalfOpen, cfg.MaxReassembly = 4, 4, 2
			tab := NewTable(cfg)
			c := newConn("10.0.0.1", "10.0.0.2", 40000, 443)
			ts := int64(0)
			if !tt.noSYN {
				tab.Observe(c.pkt(ts, ClientToServer, fSYN, isn, 0, nil))
				tab.Observe(c.pkt(ts, ServerToClient, fSYN|fACK, 1, isn+1, nil))
				tab.Observe(c.pkt(ts, ClientToServer, fACK, isn+1, 2, nil))
			}
			var f *Flow
			for i, s := range tt.segs {
				ts += ms
				var ev Events
				f, ev = tab.Observe(c.pkt(ts, ClientToServer, fACK|fPSH, isn+1+s.off, 2, []byte(s.data)))
				if got := ev.Has(EventClientDataReady); got != tt.wantGrew[i] {
					t.Errorf("segment %d (%+v): events = %v, want data ready %v", i, s, ev, tt.wantGrew[i])
				}
				if ev.Has(EventServerDataReady) {
					t.Errorf("segment %d: server data ready on a client segment", i)
				}
			}
			if got := string(f.ClientStream()); got != tt.want {
				t.Errorf("ClientStream = %q, want %q", got, tt.want)
			}
			if f.ServerStream() != nil {
				t.Errorf("ServerStream = %q, want nil", f.ServerStream())
			}
			st := tab.Stats()
			got := Stats{OutOfOrderHeld: st.OutOfOrderHeld, OutOfOrderDropped: st.OutOfOrderDropped,
				OutOfWindow: st.OutOfWindow, ReassemblyCapExceeded: st.ReassemblyCapExceeded}
			if got != tt.wantStats {
				t.Errorf("stats = %+v, want %+v", got, tt.wantStats)
			}
		})
	}
}

func TestReassemblyPool(t *testing.T) {
	t.Parallel()
	tab := NewTable(TableConfig{MaxFlows: 8, MaxHalfOpen: 8, MaxReassembly: 2, ClientStreamCap: 100, ServerStreamCap: 50})
	conns := []conn{
		newConn("10.0.0.1", "10.0.0.2", 1, 443),
		newConn("10.0.0.1", "10.0.0.2", 2, 443),
	}
	hello := strings.Repeat("h", 120)
	var f0 *Flow
	for i, c := range conns {
		tab.Observe(c.pkt(0, ClientToServer, fSYN, 10, 0, nil))
		tab.Observe(c.pkt(0, ServerToClient, fSYN|fACK, 20, 11, nil))
		f, ev := tab.Observe(c.pkt(0, ClientToServer, fACK, 11, 21, []byte(hello)))
		if i == 0 {
			if !ev.Has(EventClientDataReady) || len(f.ClientStream()) != 100 {
				t.Fatalf("flow 0: events %v, stream %d bytes; want 100 bytes", ev, len(f.ClientStream()))
			}
			f, ev = tab.Observe(c.pkt(0, ServerToClient, fACK, 21, 131, []byte(hello)))
			if !ev.Has(EventServerDataReady) || len(f.ServerStream()) != 50 {
				t.Fatalf("flow 0: events %v, server stream %d bytes; want 50", ev, len(f.ServerStream()))
			}
			f0 = f
		} else if ev.Has(EventClientDataReady) || f.ClientStream() != nil {
			t.Errorf("flow 1 got a buffer from an exhausted pool")
		}
	}
	st := tab.Stats()
	if st.ReassemblyPoolExhausted != 1 || st.ReassemblyBuffers != 2 || st.ReassemblyBuffersAllocated != 2 ||
		st.ReassemblyBytes != 200 || st.ReassemblyCapExceeded != 2 {
		t.Errorf("stats = %+v", st)
	}
	// An exhausted direction is not retried, even after buffers return.
	f0.StopReassembly(ClientToServer)
	if f0.ClientStream() != nil {
		t.Error("ClientStream after StopReassembly is not nil")
	}
	f, ev := tab.Observe(conns[1].pkt(0, ClientToServer, fACK, 131, 21, []byte("more")))
	if ev.Has(EventClientDataReady) || f.ClientStream() != nil {
		t.Error("exhausted direction got a buffer later")
	}
	// A stopped direction stays stopped.
	f, ev = tab.Observe(conns[0].pkt(0, ClientToServer, fACK, 131, 21, []byte("more")))
	if ev.Has(EventClientDataReady) || f.ClientStream() != nil {
		t.Error("stopped direction got a buffer again")
	}
	// The freed buffer serves a new flow; ending flow 0 frees the other.
	c3 := newConn("10.0.0.1", "10.0.0.2", 3, 443)
	tab.Observe(c3.pkt(0, ClientToServer, fSYN, 10, 0, nil))
	f, ev = tab.Observe(c3.pkt(0, ClientToServer, fACK, 11, 21, []byte("x")))
	if !ev.Has(EventClientDataReady) || string(f.ClientStream()) != "x" {
		t.Errorf("flow 3: events %v, stream %q", ev, f.ClientStream())
	}
	tab.Flush()
	if st := tab.Stats(); st.ReassemblyBuffers != 0 || st.ReassemblyBuffersAllocated != 2 {
		t.Errorf("after Flush: %d buffers in use, %d allocated; want 0, 2", st.ReassemblyBuffers, st.ReassemblyBuffersAllocated)
	}
}

func TestReassemblyDisabled(t *testing.T) {
	t.Parallel()
	for _, cfg := range []TableConfig{{MaxReassembly: -1}, {ClientStreamCap: -1, ServerStreamCap: -1}} {
		cfg.MaxFlows, cfg.MaxHalfOpen = 2, 2
		tab := NewTable(cfg)
		c := newConn("10.0.0.1", "10.0.0.2", 1, 443)
		tab.Observe(c.pkt(0, ClientToServer, fSYN, 10, 0, nil))
		f, ev := tab.Observe(c.pkt(0, ClientToServer, fACK, 11, 1, []byte("abc")))
		if ev.Has(EventClientDataReady) || f.ClientStream() != nil {
			t.Errorf("%+v: reassembled with reassembly disabled", cfg)
		}
	}
}
