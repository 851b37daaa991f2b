package detect

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/monitor443/monitor443/capture"
)

// TestTTLEvidence checks the TTL evidence of forged sources on the shapes
// it is meant to tell apart: one sender's path and random values say
// forged, a crowd of real hosts (initial TTL less a hop count) does not,
// whatever its size.
func TestTTLEvidence(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	// real returns n SYNs from real hosts: Linux or Windows stacks over
	// paths of 6 to 30 hops.
	real := func(h *ttlHist, n int) {
		for range n {
			init := 64
			if rng.IntN(3) == 0 {
				init = 128
			}
			h[init-6-rng.IntN(25)]++
		}
	}
	cases := []struct {
		name   string
		fill   func(h *ttlHist)
		uniq   float64
		forged bool
		says   string
	}{
		{"one TTL", func(h *ttlHist) { h[54] = 5000 }, 5000, true, "one sender's path"},
		// The two public captures of spoofed floods: 242 and 244 alternate.
		{"two TTLs", func(h *ttlHist) { h[242], h[244] = 4870, 4769 }, 9600, true, "one sender's path"},
		{"one TTL over the server's own clients", func(h *ttlHist) { h[54] = 700; real(h, 300) }, 950, true, "one sender's path"},
		{"random TTLs", func(h *ttlHist) {
			for range 3000 {
				h[1+rng.IntN(255)]++
			}
		}, 3000, true, "drawn at random"},
		{"random TTLs over the server's own clients", func(h *ttlHist) {
			for range 600 {
				h[32+rng.IntN(200)]++
			}
			real(h, 300)
		}, 880, true, "drawn at random"},
		{"a crowd of real hosts", func(h *ttlHist) { real(h, 3000) }, 3000, false, ""},
		{"a small crowd of real hosts", func(h *ttlHist) { real(h, 40) }, 40, false, ""},
		{"a few hosts on one path", func(h *ttlHist) { h[57] = 12 }, 12, false, ""},
	}
	for _, c := range cases {
		var h ttlHist
		c.fill(&h)
		forged, why, ok := ttlEvidence(&h, c.uniq)
		if !ok || forged != c.forged || !strings.Contains(why, c.says) {
			t.Errorf("%s: forged %v (%q), want %v saying %q", c.name, forged, why, c.forged, c.says)
		}
	}
	if _, _, ok := ttlEvidence(&ttlHist{}, 0); ok {
		t.Error("no SYNs: evidence reported")
	}
}

// TestPublicSpoofedFloods replays two captures of real spoofed SYN floods
// (StopDDoS packet-captures, in the shared test data, on the ports they
// attacked) with the default detection: each raises syn_flood at once,
// judged against the prior, and every syn_flood alert that names its
// SYNs says the sources look spoofed. Their TTLs are two values over
// thousands of sources, which a rule asking for a wide TTL spread (the
// generator's spoofed floods draw TTLs at random) called real hosts.
func TestPublicSpoofedFloods(t *testing.T) {
	t.Parallel()
	dir := "../../shared/testdata/public/stopddos"
	for _, c := range []struct {
		file   string
		port   uint16
		server bool // the victim answers some SYNs, so it is a tracked server
	}{
		{"pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng", 30120, true},
		{"pkt.TCP.synflood.spoofed.frames22323-37841.pcap", 25565, false},
	} {
		path := filepath.Join(dir, c.file)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("shared test data not found at %s", dir)
		}
		src, err := capture.OpenFiles([]string{path}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu  sync.Mutex
			out []Anomaly
		)
		cfg := Config{
			Decoder:  capture.DecoderConfig{TCPPorts: []uint16{c.port}},
			Lossless: true,
			OnAnomaly: func(a Anomaly) {
				mu.Lock()
				out = append(out, a)
				mu.Unlock()
			},
		}
		e := NewEngine(cfg, slog.New(slog.DiscardHandler))
		if err := e.Run(context.Background(), []capture.Source{src}); err != nil {
			t.Fatal(err)
		}
		var global, server, spoofed int
		for _, a := range out {
			if a.Kind != KindSYNFlood || a.State != StateFiring {
				continue
			}
			switch a.Scope {
			case ScopeGlobal:
				global++
			case ScopeServer:
				server++
			}
			if !strings.Contains(a.Detail, "prior") {
				t.Errorf("%s: %s not judged against the prior: %s", c.file, a.Scope, a.Detail)
			}
			if strings.Contains(a.Detail, "unique sources") {
				if !a.Spoofed || !strings.Contains(a.Detail, "one sender's path") {
					t.Errorf("%s: %s alert does not say spoofed from one path: %s", c.file, a.Scope, a.Detail)
				}
				spoofed++
			}
		}
		if global == 0 || (c.server && (server == 0 || spoofed == 0)) {
			t.Errorf("%s: %d global and %d server syn_flood alerts (%d explained as spoofed), want both scopes and an explanation", c.file, global, server, spoofed)
		}
	}
}
