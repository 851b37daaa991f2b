package detect

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
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

// TestSpoofedVerdictAtEveryScope: on a site of eight servers, a spoofed
// flood against one server (random TTLs, then one fixed TTL) is called
// spoofed by its server alert and by the global alert of the same group,
// though the site's other servers keep completing their handshakes; a
// botnet of real hosts, each one SYN now and then from its own path, is
// called spoofed by neither.
func TestSpoofedVerdictAtEveryScope(t *testing.T) {
	t.Parallel()
	gc := synth.Config{Seed: 3, Duration: 13 * time.Minute, ConnRate: 100, Servers: 8, Clients: 20000, MaxResponseBytes: 16 << 10,
		Events: []synth.Event{
			{Kind: synth.SYNFlood, Start: 6 * time.Minute, Duration: 30 * time.Second, Rate: 60, Target: 2},
			{Kind: synth.SYNFlood, Start: 8*time.Minute + 30*time.Second, Duration: 30 * time.Second, Rate: 60, Target: 3, FixedTTL: 54},
			{Kind: synth.BotnetFlood, Start: 11 * time.Minute, Duration: 30 * time.Second, Rate: 60, Target: 4, Sources: 400},
		}}
	cfg := Config{Detection: DetectionConfig{NoSeasonal: true, Learning: 5 * time.Minute}}
	as, truth, _ := replay(t, gc, cfg, 2)
	for _, ev := range truth.Events {
		seen := map[string]bool{}
		for _, a := range as {
			if a.Kind != KindSYNFlood || a.State != StateFiring || a.Start.Before(ev.Start) || a.Start.After(ev.End) {
				continue
			}
			if !strings.Contains(a.Detail, "unique sources") {
				continue // an interval without SYNs to describe
			}
			seen[a.Scope] = true
			if a.Spoofed != ev.Spoofed {
				t.Errorf("%s at %v, %s scope: spoofed %v, want %v: %s", ev.Kind, ev.Start.Format("15:04"), a.Scope, a.Spoofed, ev.Spoofed, a.Detail)
			}
		}
		t.Logf("%s at %v: explained alerts at %v", ev.Kind, ev.Start.Format("15:04"), seen)
		if len(seen) == 0 || ev.Spoofed && (!seen[ScopeGlobal] || !seen[ScopeServer]) {
			t.Errorf("%s at %v: explained alerts at %v, want the global and the server scope", ev.Kind, ev.Start.Format("15:04"), seen)
		}
	}
}
