package baseline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestKOfN(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ k, n int }{{0, 3}, {4, 3}, {1, 65}, {1, 0}} {
		if _, err := NewKOfN(tt.k, tt.n); err == nil {
			t.Errorf("NewKOfN(%d, %d): want error", tt.k, tt.n)
		}
	}
	f, err := NewKOfN(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	in := []bool{true, false, false, true, false, true, true, false, false, false}
	// Window of the last 3, count ≥ 2:
	// T→1, TF→1, TFF→1, FFT→1, FTF→1, TFT→2, FTT→2, TTF→2, TFF→1, FFF→0
	want := []bool{false, false, false, false, false, true, true, true, false, false}
	var got []bool
	for _, c := range in {
		got = append(got, f.Step(c))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// n = 64 uses every bit of the history.
	f, _ = NewKOfN(64, 64)
	for i := range 64 {
		if f.Step(true) != (i == 63) {
			t.Fatalf("64 of 64 at step %d", i)
		}
	}
	if f.Step(false) || f.Count() != 63 {
		t.Errorf("count after one false = %d, want 63", f.Count())
	}
	f.Reset()
	if f.Count() != 0 {
		t.Error("Reset kept history")
	}
}

func TestResolver(t *testing.T) {
	t.Parallel()
	if _, err := NewResolver(0); err == nil {
		t.Error("zero quiet period: want error")
	}
	r, _ := NewResolver(3 * time.Second)
	s := int64(time.Second)
	steps := []struct {
		sec    int64
		firing bool
		want   Transition
	}{
		{0, false, None},
		{1, true, Started},
		{2, true, None},
		{3, false, None},
		{4, false, None},
		{5, true, None}, // back within 3 s: same incident
		{6, false, None},
		{7, false, None},
		{8, false, Resolved}, // 3 s after the last firing at 5
		{9, false, None},
		{10, true, Started},
	}
	for _, st := range steps {
		if got := r.Step(st.sec*s, st.firing); got != st.want {
			t.Errorf("t=%ds firing=%v: %v, want %v", st.sec, st.firing, got, st.want)
		}
	}
	if !r.Active() || r.Start() != 10*s || r.LastFiring() != 10*s {
		t.Errorf("active %v start %d last %d", r.Active(), r.Start(), r.LastFiring())
	}
	seen := map[string]bool{}
	for _, tr := range AllTransitions {
		if seen[tr.String()] || tr.String() == "unknown" {
			t.Errorf("bad String for %d", tr)
		}
		seen[tr.String()] = true
	}
}
