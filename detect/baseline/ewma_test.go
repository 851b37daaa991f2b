package baseline

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var approx = cmpopts.EquateApprox(0, 1e-9)

func mustEWMA(t testing.TB, cfg EWMAConfig) *EWMA {
	t.Helper()
	e, err := NewEWMA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// handEWMA is the configuration of the hand-computed series below.
var handEWMA = EWMAConfig{Alpha: 0.5, Gamma: 0.5, K: 2, Warmup: 3, Guard: Guard{Floor: 1e-9}}

// feedHand teaches the series 10, 12, 8, 11. By hand:
//
//	10: first point: level 10, dev 0
//	12: e = 2:  dev = .5·2 + .5·0 = 1;   level = 10 + .5·2 = 11
//	 8: e = -3: dev = .5·3 + .5·1 = 2;   level = 11 - 1.5 = 9.5   (ready)
//	11: scored against 9.5 ± 2·2 → score 1.5/4 = 0.375;
//	    e = 1.5: dev = .5·1.5 + .5·2 = 1.75; level = 9.5 + .75 = 10.25
func feedHand(t *testing.T, e *EWMA) {
	t.Helper()
	for i, v := range []float64{10, 12, 8} {
		if vd := e.Observe(int64(i), v); vd.Ready {
			t.Fatalf("point %d ready during warmup", i)
		}
	}
	want := Verdict{Value: 11, Expected: 9.5, Lower: 5.5, Upper: 13.5, Score: 0.375, Ready: true}
	if d := cmp.Diff(want, e.Observe(3, 11), approx); d != "" {
		t.Fatalf("verdict for 11 (-want +got):\n%s", d)
	}
	if e.Level() != 10.25 || e.Deviation() != 1.75 {
		t.Fatalf("level %v dev %v, want 10.25 1.75", e.Level(), e.Deviation())
	}
}

func TestEWMAHandComputed(t *testing.T) {
	t.Parallel()
	// A spike of 20 against 10.25 ± 2·1.75 = [6.75, 13.75]: score 9.75/3.5.
	spike := Verdict{Value: 20, Expected: 10.25, Lower: 6.75, Upper: 13.75, Score: 9.75 / 3.5, Ready: true}
	tests := []struct {
		name             string
		learn            Learn
		wantLvl, wantDev float64
	}{
		// Clamped: learn 13.75, deviation unchanged: level 10.25 + .5·3.5 = 12.
		{name: "clamped", learn: LearnClamped, wantLvl: 12, wantDev: 1.75},
		// Normal: the spike is not learned at all.
		{name: "normal", learn: LearnNormal, wantLvl: 10.25, wantDev: 1.75},
		// All: e = 9.75: dev = .5·9.75 + .5·1.75 = 5.75; level = 10.25 + 4.875.
		{name: "all", learn: LearnAll, wantLvl: 15.125, wantDev: 5.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := handEWMA
			cfg.Learn = tt.learn
			e := mustEWMA(t, cfg)
			feedHand(t, e)
			got := e.Observe(4, 20)
			if d := cmp.Diff(spike, got, approx); d != "" {
				t.Errorf("spike verdict (-want +got):\n%s", d)
			}
			if !got.High() || got.Low() || !got.Anomalous() {
				t.Errorf("High/Low/Anomalous = %v/%v/%v, want true/false/true", got.High(), got.Low(), got.Anomalous())
			}
			if math.Abs(e.Level()-tt.wantLvl) > 1e-12 || math.Abs(e.Deviation()-tt.wantDev) > 1e-12 {
				t.Errorf("level %v dev %v, want %v %v", e.Level(), e.Deviation(), tt.wantLvl, tt.wantDev)
			}
		})
	}
}

func TestEWMAGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		guard Guard
		want  Verdict
	}{
		{
			name:  "min volume hides small values",
			guard: Guard{Floor: 1e-9, MinVolume: 100},
			want:  Verdict{Value: 20, Expected: 10.25, Lower: 6.75, Upper: 13.75, Score: 9.75 / 3.5, Ready: true, Guarded: true},
		},
		{
			// Floor 0.5·10.25 = 5.125 beats the band 3.5.
			name:  "relative floor widens the band",
			guard: Guard{Floor: 1e-9, FloorFraction: 0.5},
			want:  Verdict{Value: 20, Expected: 10.25, Lower: 5.125, Upper: 15.375, Score: 9.75 / 5.125, Ready: true},
		},
		{
			name:  "absolute floor widens the band",
			guard: Guard{Floor: 10},
			want:  Verdict{Value: 20, Expected: 10.25, Lower: 0.25, Upper: 20.25, Score: 0.975, Ready: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := handEWMA
			cfg.Guard = tt.guard
			e := mustEWMA(t, cfg)
			for i, v := range []float64{10, 12, 8, 11} {
				e.Observe(int64(i), v)
			}
			got := e.Check(4, 20)
			if d := cmp.Diff(tt.want, got, approx); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if tt.guard.MinVolume > 0 && got.Anomalous() {
				t.Error("guarded verdict is anomalous")
			}
		})
	}
}

func TestEWMACheckAndNonFiniteDoNotLearn(t *testing.T) {
	t.Parallel()
	e := mustEWMA(t, handEWMA)
	feedHand(t, e)
	before, _ := e.MarshalBinary()
	e.Check(5, 1e9)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if vd := e.Observe(6, v); vd.Score != 0 || vd.Anomalous() {
			t.Errorf("Observe(%v) = %+v, want score 0", v, vd)
		}
	}
	after, _ := e.MarshalBinary()
	if string(before) != string(after) {
		t.Error("Check or a non-finite Observe changed the state")
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name string
		err  error
	}{
		{"ewma alpha", EWMAConfig{Alpha: 1.5}.Validate()},
		{"ewma gamma", EWMAConfig{Gamma: -1}.Validate()},
		{"ewma nan k", EWMAConfig{K: math.NaN()}.Validate()},
		{"ewma warmup", EWMAConfig{Warmup: -1}.Validate()},
		{"ewma learn", EWMAConfig{Learn: 9}.Validate()},
		{"ewma floor", EWMAConfig{Guard: Guard{Floor: -1}}.Validate()},
		{"seasonal bins", SeasonalConfig{Bins: 7}.Validate()}, // 86400 s is not 7 whole-ns bins
		{"seasonal season", SeasonalConfig{Season: -1}.Validate()},
		{"seasonal beta", SeasonalConfig{Beta: 2}.Validate()},
		{"seasonal spread", SeasonalConfig{Bins: 4, Season: 4, Spread: 3}.Validate()},
		{"cusum cap", CUSUMConfig{Cap: 0.5}.Validate()},
		{"cusum h", CUSUMConfig{H: -1}.Validate()},
		{"median window", MedianConfig{Window: 2}.Validate()},
		{"median warmup", MedianConfig{Window: 10, Warmup: 11}.Validate()},
	}
	for _, tt := range bad {
		if tt.err == nil {
			t.Errorf("%s: want error", tt.name)
		}
	}
	for _, err := range []error{EWMAConfig{}.Validate(), SeasonalConfig{}.Validate(), CUSUMConfig{}.Validate(), MedianConfig{}.Validate()} {
		if err != nil {
			t.Errorf("default config invalid: %v", err)
		}
	}
	// Every problem is reported at once.
	err := EWMAConfig{Alpha: 2, Gamma: 2}.Validate()
	if err == nil || !strings.Contains(err.Error(), "alpha") || !strings.Contains(err.Error(), "gamma") {
		t.Errorf("joined error = %v", err)
	}
}

func TestLearnString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, l := range AllLearn {
		s := l.String()
		if s == "unknown" || seen[s] {
			t.Errorf("Learn(%d).String() = %q", l, s)
		}
		seen[s] = true
	}
}
