package sketch

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustSS[K comparable](t testing.TB, capacity int) *SpaceSaving[K] {
	t.Helper()
	s, err := NewSpaceSaving[K](capacity)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSpaceSavingRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []int{0, -1, 1<<24 + 1} {
		if _, err := NewSpaceSaving[string](c); err == nil {
			t.Errorf("capacity %d: want error", c)
		}
	}
}

// TestSpaceSavingHandComputed follows the algorithm step by step.
func TestSpaceSavingHandComputed(t *testing.T) {
	t.Parallel()
	s := mustSS[string](t, 2)
	s.Offer("a", 1) // a:1
	s.Offer("a", 1) // a:2
	s.Offer("b", 1) // a:2 b:1
	s.Offer("c", 1) // full: c replaces the minimum b, inherits 1 as error → c:2 (err 1)
	got := s.Top(nil)
	want := []Entry[string]{{Key: "a", Count: 2}, {Key: "c", Count: 2, Err: 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Top (-want +got):\n%s", d)
	}
	// Weighted: d of weight 5 replaces the minimum (a or c, both 2) → d:7 err 2.
	s.Offer("d", 5)
	if e, ok := s.Lookup("d"); !ok || e.Count != 7 || e.Err != 2 || e.Guaranteed() != 5 {
		t.Errorf("Lookup(d) = %+v, %v; want count 7 err 2", e, ok)
	}
	if s.Min() != 2 || s.Total() != 9 || s.Len() != 2 {
		t.Errorf("Min %d Total %d Len %d, want 2 9 2", s.Min(), s.Total(), s.Len())
	}
	if _, ok := s.Lookup("b"); ok {
		t.Error("evicted key b still monitored")
	}
	s.Reset()
	if s.Len() != 0 || s.Total() != 0 || s.Min() != 0 {
		t.Error("Reset left state")
	}
}

// TestSpaceSavingGuarantees checks the error bounds of Metwally et al. on a
// skewed weighted stream: every key heavier than N/m is monitored, every
// monitored count brackets the true weight, errors are at most the minimum,
// and the counts sum to N.
func TestSpaceSavingGuarantees(t *testing.T) {
	t.Parallel()
	for _, capacity := range []int{1, 10, 100} {
		s := mustSS[netip.Addr](t, capacity)
		rng := rand.New(rand.NewPCG(3, uint64(capacity)))
		zipf := rand.NewZipf(rng, 1.3, 1, 5000)
		truth := map[netip.Addr]uint64{}
		for range 50000 {
			k := netip.AddrFrom4([4]byte{198, 51, byte(zipf.Uint64() >> 8), byte(zipf.Uint64())})
			w := 40 + rng.Uint64N(1460)
			truth[k] += w
			s.Offer(k, w)
		}
		var n uint64
		for _, w := range truth {
			n += w
		}
		if s.Total() != n {
			t.Fatalf("Total = %d, want %d", s.Total(), n)
		}
		top := s.Top(nil)
		var sum uint64
		mon := map[netip.Addr]bool{}
		for i, e := range top {
			sum += e.Count
			mon[e.Key] = true
			if tw := truth[e.Key]; e.Count-e.Err > tw || tw > e.Count {
				t.Errorf("m=%d %v: true %d outside [%d, %d]", capacity, e.Key, tw, e.Count-e.Err, e.Count)
			}
			if e.Err > s.Min() {
				t.Errorf("m=%d %v: err %d > min %d", capacity, e.Key, e.Err, s.Min())
			}
			if i > 0 && top[i-1].Count < e.Count {
				t.Errorf("m=%d: Top not sorted at %d", capacity, i)
			}
		}
		if sum != n {
			t.Errorf("m=%d: counts sum to %d, want N = %d", capacity, sum, n)
		}
		if s.Min() > n/uint64(capacity) {
			t.Errorf("m=%d: min %d > N/m %d", capacity, s.Min(), n/uint64(capacity))
		}
		for k, w := range truth {
			if w > n/uint64(capacity) && !mon[k] {
				t.Errorf("m=%d: heavy key %v (%d > N/m) not monitored", capacity, k, w)
			}
		}
	}
}

func TestSpaceSavingSteadyStateAllocs(t *testing.T) {
	s := mustSS[netip.Addr](t, 256)
	dst := make([]Entry[netip.Addr], 0, 256)
	a := netip.MustParseAddr("2001:db8::")
	for range 1000 { // fill once
		s.Offer(a, 1)
		a = a.Next()
	}
	i := 0
	n := testing.AllocsPerRun(2000, func() {
		s.Offer(a, 1500)
		a = a.Next()
		i++
		if i%500 == 0 {
			dst = s.Top(dst)
			s.Reset()
		}
	})
	if n != 0 {
		t.Errorf("Offer/Top/Reset allocate %v times per run", n)
	}
}

func BenchmarkSpaceSavingOffer(b *testing.B) {
	s := mustSS[netip.Addr](b, 1024)
	rng := rand.New(rand.NewPCG(5, 6))
	zipf := rand.NewZipf(rng, 1.2, 1, 1<<20)
	keys := make([]netip.Addr, 1<<16)
	for i := range keys {
		v := zipf.Uint64()
		keys[i] = netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Offer(keys[i&(len(keys)-1)], 1200)
		i++
	}
}

func BenchmarkSpaceSavingTop(b *testing.B) {
	s := mustSS[netip.Addr](b, 1024)
	a := netip.MustParseAddr("10.0.0.0")
	for i := range 5000 {
		s.Offer(a, uint64(i%37))
		a = a.Next()
	}
	dst := make([]Entry[netip.Addr], 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = s.Top(dst)
	}
}
