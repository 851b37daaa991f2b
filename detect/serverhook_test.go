package detect

import (
	"net/netip"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

// TestOnServerInterval checks that the per-server hook sees every interval
// the global hook sees, and that its servers' counts add up to the global
// ones: every byte a server sends is counted at its server, while SYNs
// count there only once the server has answered anything (a server is
// admitted by its own first packet, so spoofed SYNs to unused addresses
// grow no state).
func TestOnServerInterval(t *testing.T) {
	t.Parallel()
	var glob []Features
	per := map[int64]map[netip.AddrPort]Features{}
	cfg := Config{
		OnInterval: func(f Features) { glob = append(glob, f) },
		OnServerInterval: func(start int64, m map[netip.AddrPort]Features) {
			if _, dup := per[start]; dup {
				t.Errorf("interval %d seen twice", start)
			}
			per[start] = m
		},
	}
	gc := synth.Config{Seed: 3, Duration: 20 * time.Second, ConnRate: 20, Servers: 4, Clients: 200}
	replay(t, gc, cfg, 2)
	if len(glob) == 0 {
		t.Fatal("no intervals")
	}
	servers := map[netip.AddrPort]bool{}
	for _, g := range glob {
		m, ok := per[g.Start]
		if !ok {
			t.Fatalf("interval %d: no per-server call", g.Start)
		}
		var syn, out uint64
		for ap, f := range m {
			servers[ap] = true
			syn += f.SYN
			out += f.BytesOut
		}
		if syn > g.SYN || out != g.BytesOut {
			t.Errorf("interval %d: servers sum to %d SYNs and %d bytes out, global %d and %d", g.Start, syn, out, g.SYN, g.BytesOut)
		}
	}
	if len(servers) != 4 {
		t.Errorf("%d servers seen, want 4", len(servers))
	}
}
