package baseline

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustCUSUM(t testing.TB, cfg CUSUMConfig) *CUSUM {
	t.Helper()
	c, err := NewCUSUM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCUSUMHandComputed follows the series 10, 12, 8, 14, 9.5 with
// Alpha .5, K .5, H 2, Warmup 2. By hand:
//
//	10:  first point: μ 10, var 0
//	12:  diff 2, incr 1: μ 11, var .5·(0 + 2·1) = 1               (ready)
//	 8:  σ 1, z = -3: S = max(0, 0 - 3 - .5) = 0
//	     Lower = 11 + .5 = 11.5; Upper = 11 + (.5 + 2 - 0)·1 = 13.5
//	     learned: diff -3, incr -1.5: μ 9.5, var .5·(1 + 4.5) = 2.75
//	14:  σ = √2.75, z = 4.5/σ: S = z - .5 > 2: alarm, not learned
//	9.5: z = 0: S falls by K to below H, learned: μ 9.5, var .5·2.75
func TestCUSUMHandComputed(t *testing.T) {
	t.Parallel()
	c := mustCUSUM(t, CUSUMConfig{Alpha: 0.5, K: 0.5, H: 2, Warmup: 2, Guard: Guard{Floor: 1e-9}})
	c.Observe(0, 10)
	if vd := c.Observe(1, 12); vd.Ready {
		t.Fatal("ready during warmup")
	}
	if c.Mean() != 11 || c.StdDev() != 1 {
		t.Fatalf("μ %v σ %v, want 11 1", c.Mean(), c.StdDev())
	}
	want := Verdict{Value: 8, Expected: 11, Lower: 11.5, Upper: 13.5, Score: 0, Ready: true}
	if d := cmp.Diff(want, c.Observe(2, 8), approx); d != "" {
		t.Errorf("verdict for 8 (-want +got):\n%s", d)
	}
	if c.Mean() != 9.5 || c.StdDev() != math.Sqrt(2.75) {
		t.Fatalf("μ %v σ² %v, want 9.5 2.75", c.Mean(), c.StdDev()*c.StdDev())
	}
	sd := math.Sqrt(2.75)
	s := 4.5/sd - 0.5
	want = Verdict{Value: 14, Expected: 9.5, Lower: 9.5 + 0.5*sd, Upper: 9.5 + 2.5*sd, Score: s / 2, Ready: true}
	vd := c.Observe(3, 14)
	if d := cmp.Diff(want, vd, approx); d != "" || !vd.High() {
		t.Errorf("verdict for 14 (-want +got):\n%s high=%v", d, vd.High())
	}
	if c.Mean() != 9.5 {
		t.Errorf("alarm point was learned: μ %v", c.Mean())
	}
	vd = c.Observe(4, 9.5)
	if math.Abs(vd.Score-(s-0.5)/2) > 1e-12 || vd.High() {
		t.Errorf("score after quiet point = %v, want %v", vd.Score, (s-0.5)/2)
	}
	if math.Abs(c.StdDev()*c.StdDev()-1.375) > 1e-12 {
		t.Errorf("σ² = %v, want 1.375", c.StdDev()*c.StdDev())
	}
}

// TestCUSUMFloodAndRecovery uses the defaults on noisy SYN counts: a 3σ flood
// alarms within a few intervals, the capped sum falls back within
// (Cap-1)·H/K intervals after it, and the flood does not move the baseline.
func TestCUSUMFloodAndRecovery(t *testing.T) {
	t.Parallel()
	c := mustCUSUM(t, CUSUMConfig{})
	rng := rand.New(rand.NewPCG(7, 7))
	noise := func() float64 { return 200 + 10*rng.NormFloat64() }
	for i := range 600 {
		c.Observe(int64(i), noise())
	}
	mean, sd := c.Mean(), c.StdDev()
	if math.Abs(mean-200) > 5 || math.Abs(sd-10) > 4 {
		t.Fatalf("baseline μ %.1f σ %.1f, want about 200 and 10", mean, sd)
	}
	first := -1
	for i := range 300 {
		vd := c.Observe(int64(600+i), 200+30+10*rng.NormFloat64()) // +3σ
		if vd.High() && first < 0 {
			first = i
		}
	}
	if first < 0 || first > 6 {
		t.Errorf("3σ flood first alarmed after %d intervals, want within 6", first+1)
	}
	if math.Abs(c.Mean()-mean) > 3 {
		t.Errorf("flood moved μ from %.1f to %.1f", mean, c.Mean())
	}
	if c.Sum() > c.Config().Cap*c.Config().H {
		t.Errorf("sum %v above cap", c.Sum())
	}
	// Quiet again: S drops by about K per interval from Cap·H = 10 to H = 5.
	last := 0
	for i := range 60 {
		if c.Observe(int64(900+i), noise()).High() {
			last = i + 1
		}
	}
	if last > 20 {
		t.Errorf("still alarming %d intervals after the flood", last)
	}
}

// TestCUSUMFalseAlarmRate checks in-control behaviour against Siegmund's
// approximation of the average run length for K .5, H 5 (about 940): on a
// long stationary normal series alarms must be rare.
func TestCUSUMFalseAlarmRate(t *testing.T) {
	t.Parallel()
	c := mustCUSUM(t, CUSUMConfig{Alpha: 0.001, Warmup: 2000})
	rng := rand.New(rand.NewPCG(11, 13))
	alarms, starts := 0, 0
	prev := false
	const n = 200000
	for i := range n {
		h := c.Observe(int64(i), 1000+30*rng.NormFloat64()).High()
		if h {
			alarms++
		}
		if h && !prev {
			starts++
		}
		prev = h
	}
	t.Logf("%d alarm runs, %d alarm intervals", starts, alarms)
	// Siegmund: ARL ≈ (e^{2·.5·b} - 2·.5·b - 1)/(2·.25), b = 5 + 1.166.
	b := 5 + 1.166
	arl := (math.Exp(b) - b - 1) / 0.5
	want := float64(n) / arl
	if float64(starts) > 2*want || float64(starts) < want/4 {
		t.Errorf("%d alarm runs in %d in-control intervals, Siegmund expects about %.0f", starts, n, want)
	}
}
