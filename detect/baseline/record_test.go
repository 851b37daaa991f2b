package baseline

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"testing/quick"
	"time"
)

const hour = int64(time.Hour)

func newRecord(t testing.TB, cfg RecordConfig) *Record {
	t.Helper()
	r, err := NewRecord(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pareto draws from a Pareto distribution with scale xm and index alpha.
func pareto(r *rand.Rand, xm, alpha float64) float64 {
	return xm / math.Pow(1-r.Float64(), 1/alpha)
}

// TestRecordReference: the reference is the largest value of the previous
// days' neighbouring bins, not today's, and not bins further away; the
// alarm level is the reference plus once more the range of the same values
// (reference minus their minimum), and never less than MinMargin times the
// reference.
func TestRecordReference(t *testing.T) {
	t.Parallel()
	r := newRecord(t, RecordConfig{})
	r.Step(3*hour, 100, true)  // day 0, 03:00
	r.Step(3*hour, 20, true)   // the smallest
	r.Step(10*hour, 900, true) // day 0, 10:00: far from 03:00
	day := 24 * hour
	vd := r.Step(day+4*hour, 170, false) // day 1, 04:00: bins 3..5
	if !vd.Ready || vd.Expected != 100 || vd.Upper != 180 || vd.High() {
		t.Errorf("day 1 04:00: %+v, want reference 100, upper 100+(100-20) = 180, not high", vd)
	}
	if vd := r.Step(day+4*hour, 190, false); !vd.High() {
		t.Errorf("190 over a record of 100 and an upper of 180 is not high: %+v", vd)
	}
	if vd := r.Step(day+7*hour, 50, false); vd.Ready {
		t.Errorf("day 1 07:00 has no previous value in bins 6..8, so no reference: %+v", vd)
	}
	if vd := r.Step(8*day+4*hour, 250, false); vd.Ready {
		t.Errorf("a week later day 0 is forgotten: %+v", vd)
	}
	r.Step(day+10*hour, 900, true) // day 1, 10:00: the same value again, no spread
	if vd := r.Step(2*day+10*hour, 0, false); vd.Upper != 1.25*900 {
		t.Errorf("a record without spread: upper %v, want MinMargin times it (%v)", vd.Upper, 1.25*900)
	}
}

// TestRecordFallback: on the first day the reference is today's maximum once
// MinToday values have been learned.
func TestRecordFallback(t *testing.T) {
	t.Parallel()
	r := newRecord(t, RecordConfig{MinToday: 10})
	for i := range 9 {
		if vd := r.Step(int64(i)*int64(time.Second), 10, true); vd.Ready {
			t.Fatalf("ready after %d values: %+v", i, vd)
		}
	}
	r.Step(9*int64(time.Second), 40, true)
	if vd := r.Step(10*int64(time.Second), 90, true); !vd.High() || vd.Expected != 40 {
		t.Errorf("90 over today's maximum 40: %+v", vd)
	}
}

// TestRecordHeavyTailQuiet: a week of Pareto (α = 1.5) values, one a
// minute, then a day scored: a record of the same hour doubled is rarely
// beaten (the principle behind Margin), while a tenfold level is.
func TestRecordHeavyTailQuiet(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	r := newRecord(t, RecordConfig{})
	minute := int64(time.Minute)
	for i := range int64(7 * 24 * 60) {
		r.Step(i*minute, pareto(rng, 1000, 1.5), true)
	}
	high := 0
	for i := range int64(24 * 60) {
		if r.Step((7*24*60+i)*minute, pareto(rng, 1000, 1.5), true).High() {
			high++
		}
	}
	if high > 3 {
		t.Errorf("%d of 1440 ordinary values beat twice the week's record", high)
	}
	if vd := r.Step(8*24*60*minute, 1e9, false); !vd.High() {
		t.Errorf("a value far above every record is not high: %+v", vd)
	}
}

// TestRecordSmoothSeries: a week of a smooth aggregate (normal, 5 %
// deviation, one value a minute) rarely alarms on an ordinary day, while a
// level held at 1.6 times the mean, far beyond anything it reached but
// below twice its record, does.
func TestRecordSmoothSeries(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(6, 6))
	r := newRecord(t, RecordConfig{})
	minute := int64(time.Minute)
	draw := func() float64 { return 1000 * (1 + 0.05*rng.NormFloat64()) }
	for i := range int64(7 * 24 * 60) {
		r.Step(i*minute, draw(), true)
	}
	high := 0
	for i := range int64(24 * 60) {
		if r.Step((7*24*60+i)*minute, draw(), true).High() {
			high++
		}
	}
	if high > 3 {
		t.Errorf("%d of 1440 ordinary values alarmed", high)
	}
	if vd := r.Step(8*24*60*minute+hour, 1600, false); !vd.High() || vd.Upper >= 2*vd.Expected {
		t.Errorf("1.6 times the mean of a smooth series: %+v, want high, with an upper below twice the record", vd)
	}
}

// TestPropertyRecordScaleInvariant: multiplying every value by c leaves
// every verdict's score unchanged.
func TestPropertyRecordScaleInvariant(t *testing.T) {
	t.Parallel()
	f := func(seed uint64, c8 uint8) bool {
		c := 0.5 + float64(c8)/10
		rng := rand.New(rand.NewPCG(seed, 3))
		a := newRecord(t, RecordConfig{Bins: 4, MinToday: 5})
		b := newRecord(t, RecordConfig{Bins: 4, MinToday: 5})
		for i := range int64(500) {
			v := pareto(rng, 10, 1.3)
			ts := i * 7 * int64(time.Minute)
			va, vb := a.Step(ts, v, true), b.Step(ts, c*v, true)
			if va.Ready != vb.Ready || math.Abs(va.Score-vb.Score) > 1e-9*max(1, math.Abs(va.Score)) {
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

// TestPropertyRecordMonotoneAndNoLearning: a larger value never scores
// lower, and scoring without learning changes nothing; an alarming value
// learned does not change today's verdicts (the reference holds only
// previous days) but is tomorrow's record.
func TestPropertyRecordMonotoneAndNoLearning(t *testing.T) {
	t.Parallel()
	f := func(seed uint64, x, y uint16) bool {
		rng := rand.New(rand.NewPCG(seed, 4))
		r := newRecord(t, RecordConfig{MinToday: 5})
		for i := range int64(200) {
			r.Step(i*int64(time.Minute), pareto(rng, 10, 1.3), true)
		}
		ts := 201 * int64(time.Minute)
		before, _ := r.MarshalBinary()
		lo, hi := float64(min(x, y)), float64(max(x, y))
		if r.Step(ts, lo, false).Score > r.Step(ts, hi, false).Score {
			return false
		}
		after, _ := r.MarshalBinary()
		if string(before) != string(after) {
			return false
		}
		v0 := r.Step(ts, 50, false)
		if big := r.Step(ts, 1e12, true); !big.High() {
			return false
		}
		if v1 := r.Step(ts, 50, false); v1 != v0 {
			return false
		}
		return r.Step(ts+24*hour, 1e12, false).Expected == 1e12
	}
	if err := quick.Check(f, quickCfg); err != nil {
		t.Error(err)
	}
}

func TestRecordStateRoundTrip(t *testing.T) {
	t.Parallel()
	r := newRecord(t, RecordConfig{MinToday: 3})
	for i := range int64(100) {
		r.Step(i*17*int64(time.Minute), float64(i%13), true)
	}
	b, _ := r.MarshalBinary()
	c := newRecord(t, RecordConfig{MinToday: 3})
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	ts := 101 * 17 * int64(time.Minute)
	if a, b := r.Step(ts, 5, false), c.Step(ts, 5, false); a != b {
		t.Errorf("restored verdict %+v, want %+v", b, a)
	}
	if err := newRecord(t, RecordConfig{Bins: 12}).UnmarshalBinary(b); !errors.Is(err, ErrMismatch) {
		t.Errorf("12-bin record from a 24-bin state: err = %v, want ErrMismatch", err)
	}
}

// FuzzRecordUnmarshal: arbitrary bytes never panic; accepted state
// re-encodes to the same bytes and gives finite verdicts.
func FuzzRecordUnmarshal(f *testing.F) {
	r := must(NewRecord(RecordConfig{}))
	for i := range int64(300) {
		r.Step(i*int64(time.Minute)*11, float64(i%17), true)
	}
	data, _ := r.MarshalBinary()
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 4 && len(data)%2 == 1 {
			data = reseal(data)
		}
		x := must(NewRecord(RecordConfig{}))
		if err := x.UnmarshalBinary(data); err != nil {
			return
		}
		again, _ := x.MarshalBinary()
		if string(again) != string(data) {
			t.Fatal("accepted state re-encodes differently")
		}
		for _, v := range []float64{0, 1, 1e9} {
			if vd := x.Step(5*hour, v, true); math.IsNaN(vd.Score) {
				t.Fatalf("NaN verdict %+v", vd)
			}
		}
	})
}

// TestRecordQuietWindowIsTheLow: a window of zero bytes is the bin's
// smallest value, not a missing one, so the range reaches down to it.
func TestRecordQuietWindowIsTheLow(t *testing.T) {
	t.Parallel()
	r := newRecord(t, RecordConfig{})
	r.Step(3*hour, 0, true) // a quiet window first
	r.Step(3*hour, 100, true)
	if vd := r.Step(24*hour+3*hour, 0, false); vd.Expected != 100 || vd.Upper != 200 {
		t.Errorf("record 100 over a low of 0: %+v, want upper 200", vd)
	}
}
