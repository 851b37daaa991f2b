package baseline

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustMedian(t testing.TB, cfg MedianConfig) *Median {
	t.Helper()
	m, err := NewMedian(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMedianHandComputed: window 5 over 1, 2, 3, 4, 100.
// Sorted: 1 2 3 4 100, median 3; |x-3| = 2 1 0 1 97 → sorted 0 1 1 2 97, MAD 1.
// Band: 3 ± 2·1.4826·1. Then 5 evicts 1: 2 3 4 5 100, median 4, MAD 1.
func TestMedianHandComputed(t *testing.T) {
	t.Parallel()
	m := mustMedian(t, MedianConfig{Window: 5, K: 2, Guard: Guard{Floor: 1e-9}})
	for i, v := range []float64{1, 2, 3, 4, 100} {
		m.Observe(int64(i), v)
	}
	w := 2 * 1.482602218505602
	want := Verdict{Value: 10, Expected: 3, Lower: 3 - w, Upper: 3 + w, Score: 7 / w, Ready: true}
	if d := cmp.Diff(want, m.Check(5, 10), approx); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	m.Observe(6, 5)
	if m.Median() != 4 || m.MAD() != 1 || m.Len() != 5 {
		t.Errorf("median %v MAD %v len %d, want 4 1 5", m.Median(), m.MAD(), m.Len())
	}
	// Even count: 1 2 3 10 → median 2.5, deviations 1.5 .5 .5 7.5 → MAD 1.
	m2 := mustMedian(t, MedianConfig{Window: 4})
	for _, v := range []float64{10, 3, 1, 2} {
		m2.Observe(0, v)
	}
	if m2.Median() != 2.5 || m2.MAD() != 1 {
		t.Errorf("even: median %v MAD %v, want 2.5 1", m2.Median(), m2.MAD())
	}
}

// TestMedianMatchesNaive compares the rolling median and MAD with a naive
// sort-based computation on random data with many ties.
func TestMedianMatchesNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(21, 22))
	for _, window := range []int{3, 4, 7, 64} {
		m := mustMedian(t, MedianConfig{Window: window, Learn: LearnAll})
		var hist []float64
		for i := range 2000 {
			v := float64(rng.IntN(20))
			if rng.IntN(50) == 0 {
				v = 1e6
			}
			m.Observe(int64(i), v)
			hist = append(hist, v)
			win := slices.Clone(hist[max(0, len(hist)-window):])
			slices.Sort(win)
			med := naiveMedian(win)
			dev := make([]float64, len(win))
			for k, x := range win {
				dev[k] = math.Abs(x - med)
			}
			slices.Sort(dev)
			if m.Median() != med || m.MAD() != naiveMedian(dev) {
				t.Fatalf("window %d step %d: got median %v MAD %v, want %v %v", window, i, m.Median(), m.MAD(), med, naiveMedian(dev))
			}
		}
	}
}

func naiveMedian(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// TestMedianRobust: a burst shorter than half the window barely moves the
// baseline, even when learned as is.
func TestMedianRobust(t *testing.T) {
	t.Parallel()
	m := mustMedian(t, MedianConfig{Window: 61, Learn: LearnAll})
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 61 {
		m.Observe(int64(i), 100+rng.Float64())
	}
	for i := range 25 {
		if vd := m.Observe(int64(61+i), 1e5); !vd.High() {
			t.Fatalf("burst point %d not high: %+v", i, vd)
		}
	}
	if med := m.Median(); med < 100 || med > 101 {
		t.Errorf("median %v after a 25-point burst, want in [100, 101]", med)
	}
}
