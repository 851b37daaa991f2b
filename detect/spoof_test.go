package detect

import (
	"math/rand/v2"
	"strings"
	"testing"
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
