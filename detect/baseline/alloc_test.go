package baseline

import (
	"fmt"
	"testing"
	"time"
)

func TestObserveDoesNotAllocate(t *testing.T) {
	for name, est := range trained(t) {
		i := int64(1000)
		n := testing.AllocsPerRun(500, func() {
			est.Observe(i, float64(90+i%20))
			est.Check(i, float64(i%300))
			i++
		})
		if n != 0 {
			t.Errorf("%s: Observe+Check allocate %v times", name, n)
		}
	}
	k, _ := NewKOfN(3, 5)
	r, _ := NewResolver(time.Second)
	var i int64
	if n := testing.AllocsPerRun(100, func() { r.Step(i, k.Step(i%7 == 0)); i++ }); n != 0 {
		t.Errorf("KOfN/Resolver allocate %v times", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	for name, est := range trained(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := int64(1000)
			for b.Loop() {
				est.Observe(i, float64(90+i%20))
				i++
			}
		})
	}
}

func BenchmarkMedianObserveWindow300(b *testing.B) {
	m, _ := NewMedian(MedianConfig{})
	for i := range 300 {
		m.Observe(0, float64(i%50))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Observe(0, float64(i%53))
		i++
	}
}

func BenchmarkSeasonalObserveDaily(b *testing.B) {
	s, _ := NewSeasonal(SeasonalConfig{Spread: 1})
	sec := int64(time.Second)
	for i := range int64(86400 + 300) {
		s.Observe(i*sec, float64(1000+i%100))
	}
	b.ReportAllocs()
	i := int64(86400 + 300)
	for b.Loop() {
		s.Observe(i*sec, float64(1000+i%100))
		i++
	}
}

// ExampleEWMA learns a steady rate, then scores a burst.
func ExampleEWMA() {
	e, err := NewEWMA(EWMAConfig{Alpha: 0.5, Gamma: 0.5, K: 2, Warmup: 3})
	if err != nil {
		panic(err)
	}
	// Level and deviation after 10, 12, 8 are 9.5 and 2 (see the test).
	for i, v := range []float64{10, 12, 8} {
		e.Observe(int64(i), v)
	}
	vd := e.Observe(3, 30)
	fmt.Printf("expected %.1f, band [%.1f, %.1f], score %.3f, high %v\n", vd.Expected, vd.Lower, vd.Upper, vd.Score, vd.High())
	// Output: expected 9.5, band [5.5, 13.5], score 5.125, high true
}
