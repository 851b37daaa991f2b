package sketch

import (
	"errors"
	"math"
	"net/netip"
	"testing"
)

func mustHLL(t testing.TB, p int) *HyperLogLog {
	t.Helper()
	h, err := NewHyperLogLog(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewHyperLogLogRejectsPrecision(t *testing.T) {
	t.Parallel()
	for _, p := range []int{-1, 0, 3, 19, 64} {
		if _, err := NewHyperLogLog(p); err == nil {
			t.Errorf("NewHyperLogLog(%d): want error", p)
		}
	}
}

// TestHyperLogLogHandComputed checks register update and the linear counting
// branch against values worked out by hand.
func TestHyperLogLogHandComputed(t *testing.T) {
	t.Parallel()
	h := mustHLL(t, 4) // m = 16
	if got := h.Estimate(); got != 0 {
		t.Fatalf("empty estimate = %v, want 0", got)
	}
	// Hash 0: register 0 (top 4 bits), remaining bits all zero; the sentinel
	// 1<<3 makes the rank 60 zeros + 1 = 61.
	h.Add(0)
	// Hash 0xF4...: register 15, remaining bits 0100... so the rank is 2.
	h.Add(0xF400000000000000)
	// Hash 0x1800...: register 1, remaining bits 1000... so the rank is 1.
	h.Add(0x1800000000000000)
	want := map[int]uint8{0: 61, 15: 2, 1: 1}
	for i, r := range h.reg {
		if r != want[i] {
			t.Errorf("register %d = %d, want %d", i, r, want[i])
		}
	}
	// 3 of 16 registers set: linear counting gives 16·ln(16/13) = 3.3222...
	if got, want := h.Estimate(), 16*math.Log(16.0/13.0); math.Abs(got-want) > 1e-12 {
		t.Errorf("estimate = %v, want %v", got, want)
	}
	// A smaller rank never lowers a register.
	h.Add(0x0800000000000000) // register 0, rank 1
	if h.reg[0] != 61 {
		t.Errorf("register 0 = %d after smaller rank, want 61", h.reg[0])
	}
}

// TestHyperLogLogErrorBound checks the estimate against the documented
// relative standard error 1.04/√m, allowing 4 standard errors.
func TestHyperLogLogErrorBound(t *testing.T) {
	t.Parallel()
	for _, p := range []int{10, 12, 14} {
		h := mustHLL(t, p)
		bound := 4 * 1.04 / math.Sqrt(float64(int(1)<<p))
		n := 0
		for _, target := range []int{100, 1000, 5000, 20000, 100000, 300000} {
			for ; n < target; n++ {
				// Sequential IPv6 sources in one /64, as a flood from a
				// prefix would look.
				var b [16]byte
				b[0], b[1] = 0x20, 0x01
				b[8], b[9], b[10] = byte(n>>16), byte(n>>8), byte(n)
				h.Add(Hash16(b))
			}
			got := h.Estimate()
			if rel := math.Abs(got-float64(n)) / float64(n); rel > bound {
				t.Errorf("p=%d n=%d: estimate %.0f, relative error %.4f > %.4f", p, n, got, rel, bound)
			}
		}
	}
}

func TestHyperLogLogDuplicatesDoNotCount(t *testing.T) {
	t.Parallel()
	h := mustHLL(t, 12)
	for range 50 {
		for i := range 1000 {
			h.Add(HashUint64(uint64(i)))
		}
	}
	if got := h.Estimate(); math.Abs(got-1000) > 1000*4*1.04/64 {
		t.Errorf("estimate = %.0f after 50 passes over 1000 keys", got)
	}
}

func TestHyperLogLogMerge(t *testing.T) {
	t.Parallel()
	a, b, all := mustHLL(t, 12), mustHLL(t, 12), mustHLL(t, 12)
	for i := range 30000 {
		x := HashAddr(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		if i%3 == 0 {
			a.Add(x)
		} else {
			b.Add(x)
		}
		if i%5 == 0 { // overlap: some keys seen by both workers
			a.Add(x)
			b.Add(x)
		}
		all.Add(x)
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	// Registers are maxima, so the merge equals adding everything to one.
	for i := range a.reg {
		if a.reg[i] != all.reg[i] {
			t.Fatalf("register %d: merged %d, single %d", i, a.reg[i], all.reg[i])
		}
	}
	// Every pair of register values, in every byte position of a word.
	x, y := mustHLL(t, 7), mustHLL(t, 7)
	for u := range uint8(62) {
		for v := range uint8(62) {
			for i := range x.reg {
				x.reg[i], y.reg[i] = u+uint8(i%2), v+uint8(i%3)
			}
			if err := x.Merge(y); err != nil {
				t.Fatal(err)
			}
			for i, r := range x.reg {
				if want := max(u+uint8(i%2), v+uint8(i%3)); r != want {
					t.Fatalf("max(%d, %d) at register %d = %d, want %d", u+uint8(i%2), v+uint8(i%3), i, r, want)
				}
			}
		}
	}
	if err := a.Merge(mustHLL(t, 10)); !errors.Is(err, ErrShape) {
		t.Errorf("merge of different precision: err = %v, want ErrShape", err)
	}
	a.Reset()
	if a.Estimate() != 0 {
		t.Errorf("estimate after Reset = %v", a.Estimate())
	}
}

func TestHyperLogLogAddAllocs(t *testing.T) {
	h := mustHLL(t, 14)
	var i uint64
	if n := testing.AllocsPerRun(1000, func() { h.Add(HashUint64(i)); i++ }); n != 0 {
		t.Errorf("Add allocates %v times", n)
	}
	if n := testing.AllocsPerRun(10, func() { _ = h.Estimate() }); n != 0 {
		t.Errorf("Estimate allocates %v times", n)
	}
}

func BenchmarkHyperLogLogAdd(b *testing.B) {
	h := mustHLL(b, 14)
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		h.Add(HashUint64(i))
		i++
	}
}

func BenchmarkHyperLogLogAddAddr(b *testing.B) {
	h := mustHLL(b, 14)
	a := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		h.Add(HashAddr(a))
		a = a.Next()
	}
}

func BenchmarkHyperLogLogEstimate(b *testing.B) {
	h := mustHLL(b, 14)
	for i := range 100000 {
		h.Add(HashUint64(uint64(i)))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Estimate()
	}
}
