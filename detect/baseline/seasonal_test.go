package baseline

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustSeasonal(t testing.TB, cfg SeasonalConfig) *Seasonal {
	t.Helper()
	s, err := NewSeasonal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSeasonalHandComputed uses a 4 ns season of two 2 ns bins with
// Alpha = Gamma = .5, K = 1. By hand:
//
//	learning season: bin 0 gets 10, 12 (mean 11, σ 1); bin 1 gets 20, 24
//	(mean 22, σ 2). Closing bin 1 ends the season: level (11+22)/2 = 16.5,
//	season = [-5.5, 5.5], dev = [1·√(2/π), 2·√(2/π)].
//	t=4, 13: prediction 16.5-5.5 = 11, band 11 ± .79788 → score 2/.79788
//	t=5, 11: learned as well; bin 0 mean 12, mean |error| (2+0)/2 = 1
//	t=6 closes bin 0: level = .5·(12+5.5) + .5·16.5 = 17
//	                  season[0] = .5·(12-17) + .5·(-5.5) = -5.25
//	                  dev[0] = .5·1 + .5·.79788
//	t=6, 23: prediction 17+5.5 = 22.5, band ± 2·√(2/π) → score .5/1.59577
func TestSeasonalHandComputed(t *testing.T) {
	t.Parallel()
	s := mustSeasonal(t, SeasonalConfig{Season: 4, Bins: 2, Alpha: 0.5, Gamma: 0.5, K: 1, Learn: LearnAll, Guard: Guard{Floor: 1e-9}})
	for i, v := range []float64{10, 12, 20, 24} {
		if vd := s.Observe(int64(i), v); vd.Ready {
			t.Fatalf("ready during the learning season at t=%d", i)
		}
	}
	r := math.Sqrt(2 / math.Pi)
	want := Verdict{Value: 13, Expected: 11, Lower: 11 - r, Upper: 11 + r, Score: 2 / r, Ready: true}
	if d := cmp.Diff(want, s.Observe(4, 13), approx); d != "" {
		t.Fatalf("t=4 (-want +got):\n%s", d)
	}
	s.Observe(5, 11)
	want = Verdict{Value: 23, Expected: 22.5, Lower: 22.5 - 2*r, Upper: 22.5 + 2*r, Score: 0.5 / (2 * r), Ready: true}
	if d := cmp.Diff(want, s.Observe(6, 23), approx); d != "" {
		t.Errorf("t=6 (-want +got):\n%s", d)
	}
	season, dev := make([]float64, 2), make([]float64, 2)
	s.Profile(season, dev)
	if s.Level() != 17 || season[0] != -5.25 || math.Abs(dev[0]-(0.5+0.5*r)) > 1e-12 {
		t.Errorf("level %v season %v dev %v", s.Level(), season, dev)
	}
	if s.Bin(7) != 1 || s.Bin(8) != 0 || s.Bin(-1) != 1 {
		t.Errorf("Bin(7, 8, -1) = %d %d %d, want 1 0 1", s.Bin(7), s.Bin(8), s.Bin(-1))
	}
}

// TestSeasonalTrend: with Beta the trend follows a linear ramp.
// Season of one bin, Alpha = Beta = 1, and a floor so wide that innovations
// are never clamped: level = ȳ, trend = last difference.
func TestSeasonalTrend(t *testing.T) {
	t.Parallel()
	s := mustSeasonal(t, SeasonalConfig{Season: 1, Bins: 1, Alpha: 1, Beta: 1, Gamma: 0.5, Learn: LearnAll, Guard: Guard{Floor: 1e6}})
	for i := range 10 {
		s.Observe(int64(i), float64(10*i))
	}
	// After bins 0..8 closed: level 80 (season stays 0 since ȳ - level = 0),
	// trend 10, so bin 9 is predicted at 90.
	if vd := s.Check(9, 90); vd.Expected != 90 || s.Trend() != 10 {
		t.Errorf("expected %v trend %v, want 90 10", vd.Expected, s.Trend())
	}
}

// day simulates one second of a diurnal HTTPS load: a sine between 200 and
// 1800 per second with Poisson-like noise, and a nightly backup adding about
// 5000 per second from 02:00 (shifted by jitter seconds) for 30 minutes.
func daySecond(rng *rand.Rand, sec int64, jitter int64) float64 {
	day := float64(24 * 3600)
	lambda := 1000 + 800*math.Sin(2*math.Pi*(float64(sec%86400)-6*3600)/day)
	v := lambda + math.Sqrt(lambda)*rng.NormFloat64()
	if b := sec%86400 - (2*3600 + jitter); b >= 0 && b < 1800 {
		v += 5000 + 200*rng.NormFloat64()
	}
	return max(0, v)
}

// TestSeasonalDiurnalScenario runs three simulated days at one observation
// per second. The first day is learning; over the next two days, with their
// nightly backup starting up to three minutes off, a 3-of-5 filter must raise
// no incident, and a one-minute spike of about +12σ on the third afternoon
// must be caught within five seconds.
func TestSeasonalDiurnalScenario(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("three simulated days")
	}
	for _, seed := range []uint64{2024, 7} {
		runDiurnal(t, seed)
	}
}

func runDiurnal(t *testing.T, seed uint64) {
	s := mustSeasonal(t, SeasonalConfig{Spread: 1, Guard: Guard{Floor: 10, MinVolume: 50}})
	k, _ := NewKOfN(3, 5)
	res, _ := NewResolver(time.Minute)
	rng := rand.New(rand.NewPCG(seed, 1))
	jitter := []int64{120, -170, 175}
	const spikeAt = 2*86400 + 14*3600
	incidents, caught := 0, int64(-1)
	for sec := int64(0); sec < 3*86400; sec++ {
		v := daySecond(rng, sec, jitter[sec/86400])
		spike := sec >= spikeAt && sec < spikeAt+60
		if spike {
			v += 500
		}
		vd := s.Observe(sec*int64(time.Second), v)
		if sec < 86400 {
			if vd.Ready {
				t.Fatalf("ready at second %d of the learning day", sec)
			}
			continue
		}
		if !vd.Ready {
			t.Fatalf("not ready at second %d", sec)
		}
		if res.Step(sec*int64(time.Second), k.Step(vd.High())) == Started {
			if spike && caught < 0 {
				caught = sec - spikeAt
				continue
			}
			incidents++
			t.Logf("false incident at day %d %s: %+v", sec/86400, time.Duration(sec%86400)*time.Second, vd)
		}
	}
	if incidents != 0 {
		t.Errorf("seed %d: %d false incidents in two days", seed, incidents)
	}
	if caught < 0 || caught > 5 {
		t.Errorf("seed %d: spike caught after %d s, want within 5", seed, caught)
	}
}
