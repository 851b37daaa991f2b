package sketch

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func mustCM(t testing.TB, w, d int) *CountMin {
	t.Helper()
	c, err := NewCountMin(w, d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCountMinRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ w, d int }{{0, 1}, {1, 0}, {1, 33}, {-5, 4}} {
		if _, err := NewCountMin(tt.w, tt.d); err == nil {
			t.Errorf("NewCountMin(%d, %d): want error", tt.w, tt.d)
		}
	}
	for _, tt := range []struct{ eps, delta float64 }{{0, 0.1}, {1, 0.1}, {0.01, 0}, {0.01, 1}, {math.NaN(), 0.1}} {
		if _, err := NewCountMinWithError(tt.eps, tt.delta); err == nil {
			t.Errorf("NewCountMinWithError(%v, %v): want error", tt.eps, tt.delta)
		}
	}
	c, err := NewCountMinWithError(0.001, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	// ⌈e/0.001⌉ = ⌈2718.28⌉ = 2719; ⌈ln 100⌉ = ⌈4.605⌉ = 5.
	if c.Width() != 2719 || c.Depth() != 5 {
		t.Errorf("shape = %dx%d, want 5x2719", c.Depth(), c.Width())
	}
}

// TestCountMinHandComputed uses a single counter, where every key shares it,
// so the estimates follow by hand.
func TestCountMinHandComputed(t *testing.T) {
	t.Parallel()
	c := mustCM(t, 1, 1)
	c.Add(HashUint64(1), 3)
	if got := c.Add(HashUint64(2), 2); got != 5 {
		t.Errorf("Add returned %d, want 3+2 = 5", got)
	}
	if c.Estimate(HashUint64(1)) != 5 || c.Estimate(HashUint64(99)) != 5 || c.Total() != 5 {
		t.Errorf("estimates %d %d total %d, want 5 5 5", c.Estimate(HashUint64(1)), c.Estimate(HashUint64(99)), c.Total())
	}
	// Conservative update with two rows: key a sits in row cells where the
	// minimum is raised only as far as needed.
	c = mustCM(t, 2, 2)
	a, b := HashUint64(10), HashUint64(11)
	c.Add(a, 4)
	c.Add(b, 1)
	// Whatever cells a and b share, a's estimate is at least 4 and b's at
	// least 1, and neither exceeds the total of 5.
	if ea, eb := c.Estimate(a), c.Estimate(b); ea < 4 || eb < 1 || ea > 5 || eb > 5 {
		t.Errorf("estimates a=%d b=%d out of [true, N]", ea, eb)
	}
	c.Reset()
	if c.Estimate(a) != 0 || c.Total() != 0 {
		t.Error("Reset left counts")
	}
}

// TestCountMinBounds streams Zipf-distributed keys and checks the guarantees:
// no underestimate, conservative update no worse than the plain update, and
// the fraction of keys overestimated by more than ε·N at most δ.
func TestCountMinBounds(t *testing.T) {
	t.Parallel()
	const eps, delta = 0.002, 0.01
	c, err := NewCountMinWithError(eps, delta)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]uint64, c.Width()*c.Depth()) // standard (non-conservative) Count-Min
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 100000)
	truth := map[uint64]uint64{}
	for range 200000 {
		k := zipf.Uint64()
		w := 1 + rng.Uint64N(1500)
		truth[k] += w
		x := HashUint64(k)
		c.Add(x, w)
		h1, h2 := split(x)
		for i := range c.Depth() {
			plain[c.index(h1, h2, i)] += w
		}
	}
	n := float64(c.Total())
	bad := 0
	for k, tw := range truth {
		x := HashUint64(k)
		est := c.Estimate(x)
		if est < tw {
			t.Fatalf("key %d: estimate %d < true %d", k, est, tw)
		}
		h1, h2 := split(x)
		pe := uint64(math.MaxUint64)
		for i := range c.Depth() {
			pe = min(pe, plain[c.index(h1, h2, i)])
		}
		if est > pe {
			t.Fatalf("key %d: conservative %d > plain %d", k, est, pe)
		}
		if float64(est-tw) > eps*n {
			bad++
		}
	}
	if frac := float64(bad) / float64(len(truth)); frac > delta {
		t.Errorf("%.4f of keys overestimated by more than eps·N, want <= %v", frac, delta)
	}
}

func TestCountMinMerge(t *testing.T) {
	t.Parallel()
	a, b := mustCM(t, 64, 4), mustCM(t, 64, 4)
	truth := map[uint64]uint64{}
	for i := range 1000 {
		k := uint64(i % 97)
		truth[k] += uint64(i)
		if i%2 == 0 {
			a.Add(HashUint64(k), uint64(i))
		} else {
			b.Add(HashUint64(k), uint64(i))
		}
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for k, tw := range truth {
		sum += tw
		if e := a.Estimate(HashUint64(k)); e < tw {
			t.Errorf("merged estimate %d < true %d", e, tw)
		}
	}
	if a.Total() != sum {
		t.Errorf("total = %d, want %d", a.Total(), sum)
	}
	if err := a.Merge(mustCM(t, 64, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("shape mismatch: err = %v", err)
	}
}

func TestCountMinSaturates(t *testing.T) {
	t.Parallel()
	c := mustCM(t, 8, 2)
	c.Add(7, math.MaxUint64-1)
	if got := c.Add(7, 10); got != math.MaxUint64 {
		t.Errorf("Add past the top = %d, want saturation", got)
	}
}

func TestCountMinAddAllocs(t *testing.T) {
	c := mustCM(t, 2048, 4)
	var i uint64
	if n := testing.AllocsPerRun(1000, func() { c.Add(HashUint64(i), 100); _ = c.Estimate(i); i++ }); n != 0 {
		t.Errorf("Add allocates %v times", n)
	}
}

func BenchmarkCountMinAdd(b *testing.B) {
	c := mustCM(b, 2719, 5)
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		c.Add(HashUint64(i&0xffff), 1200)
		i++
	}
}
