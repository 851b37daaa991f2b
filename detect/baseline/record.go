package baseline

import (
	"fmt"
	"math"
	"time"
)

// RecordConfig configures a [Record]. The zero value of each field selects
// its default.
type RecordConfig struct {
	// Season is the length of the daily cycle. Default 24h.
	Season time.Duration
	// Bins splits the season into time-of-day bins. Default 24 (hours).
	Bins int
	// Days is how many past seasons the record remembers. Default 7: a week
	// holds every day of the weekly rhythm, and a one-off event (a release,
	// a migration) stops shaping the reference a week later.
	Days int
	// Neighbours widens the reference to this many bins on each side.
	// Default 1, so a daily event that comes an hour early or late stays
	// inside the reference.
	Neighbours int
	// Margin sets how far above the record a value must be to alarm, in
	// units of the record's range (see [Record]). Default 2: the alarm
	// level is the record plus once more the range of the values it was
	// taken from (record minus their minimum). For a heavy-tailed series,
	// whose quiet windows are near zero, that is twice the record: "twice
	// the largest value this series reached at this time of day in a
	// week". Heavy-tailed series break their records by a little all the
	// time; doubling one is another matter (for a Pareto tail of index α,
	// a new record beats twice the old one with probability 2^−α of
	// beating it at all: a third to a half as often for α between 1 and
	// 1.6). For a smooth series, the aggregate of many flows, whose values
	// all stay within a band, a level held above its record by as much
	// again as the whole band is as far out in its own terms.
	Margin float64
	// MinMargin is the smallest ratio of the alarm level to the record.
	// Default 1.25: a level a quarter above the week's record at that hour
	// is within ordinary growth of traffic (a busier weekday, a release),
	// whatever the series' spread, and a record learned from a short
	// history (the first hour) says little about the spread.
	MinMargin float64
	// MinToday is how many learned values of the current season the
	// fallback reference needs before it applies (see [Record]). Default
	// 3600, an hour of one-second values.
	MinToday int
}

func (c RecordConfig) withDefaults() RecordConfig {
	if c.Season == 0 {
		c.Season = 24 * time.Hour
	}
	if c.Bins == 0 {
		c.Bins = 24
	}
	if c.Days == 0 {
		c.Days = 7
	}
	if c.Neighbours == 0 {
		c.Neighbours = 1
	}
	if c.Margin == 0 {
		c.Margin = 2
	}
	if c.MinMargin == 0 {
		c.MinMargin = 1.25
	}
	if c.MinToday == 0 {
		c.MinToday = 3600
	}
	return c
}

// Validate reports every invalid field, after defaults are applied.
func (c RecordConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Season < time.Minute {
		errs = append(errs, fmt.Errorf("season: must be at least 1m, got %v", c.Season))
	}
	errs = checkInt(errs, "bins", c.Bins, 1, 1440)
	errs = checkInt(errs, "days", c.Days, 1, 366)
	errs = checkInt(errs, "neighbours", c.Neighbours, 0, c.Bins/2)
	errs = checkRange(errs, "margin", c.Margin, 1.01, 1e6)
	errs = checkRange(errs, "min_margin", c.MinMargin, 1.01, 1e6)
	errs = checkInt(errs, "min_today", c.MinToday, 1, math.MaxInt32)
	return joined(errs)
}

// Record judges a heavy-tailed series (bytes per window) against the largest
// values it reached at the same time of day on previous days: an extreme
// value, not a mean and a deviation, because the mean and deviation of a
// heavy-tailed series say little about how large its normal values get. A
// value alarms when it is above the alarm level:
//
//	reference = max over the last Days seasons (not today) of the bins b−n … b+n
//	low       = min of the values learned in the same bins
//	upper     = max(reference + (Margin−1)·(reference − low), MinMargin·reference)
//
// where b is the value's time-of-day bin. The step above the record is
// measured in the series' own range at that hour: the gap between
// successive records of a series scales with the spread of its values (in
// extreme-value terms, the scale of the maximum's law), so a heavy-tailed
// series, whose quiet windows are near zero, must double its record, while
// a smooth aggregate alarms on a level held well beyond its whole band. On
// the first season, before any previous one exists, the reference and the
// low are those of the values learned so far today, once MinToday values
// have been learned. [Verdict.Expected] is the reference, [Verdict.Upper]
// the alarm level, and [Verdict.Score] is (v − reference) / (upper −
// reference), above 1 exactly when v is above Upper. Every learned value
// enters the record of its day, alarming ones too: the reference holds only
// previous days, so an incident cannot hide itself, while a transfer that
// comes at the same hour every day (a nightly backup) alerts on its first
// day and is the record from then on. The first day's fallback learns only
// values that do not alarm. Not safe for concurrent use.
type Record struct {
	cfg      RecordConfig
	maxes    []float64 // Days × Bins: the largest value learned in each bin of each remembered season
	mins     []float64 // Days × Bins: the smallest value learned in each bin, noMin when none
	seasonOf []int64   // the season number each row holds, -1 when empty
	today    int64     // season of the newest learned value
	nToday   int
	todayMax float64
	todayMin float64 // of the values counted in nToday
}

// NewRecord returns an empty Record, or the configuration's validation error.
func NewRecord(cfg RecordConfig) (*Record, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := cfg.Days * cfg.Bins
	r := &Record{cfg: cfg, maxes: make([]float64, n), mins: fill(make([]float64, n), noMin),
		seasonOf: make([]int64, cfg.Days), today: -1}
	for i := range r.seasonOf {
		r.seasonOf[i] = -1
	}
	return r, nil
}

// Config returns the configuration with defaults applied.
func (r *Record) Config() RecordConfig { return r.cfg }

func (r *Record) position(t int64) (season int64, bin int) {
	s := int64(r.cfg.Season)
	season = t / s
	if t < 0 && t%s != 0 {
		season--
	}
	off := t - season*s
	return season, int(off * int64(r.cfg.Bins) / s)
}

// reference returns the reference for a value at t and the smallest of the
// values it was taken from, or 0 when there is none yet.
func (r *Record) reference(t int64) (ref, low float64) {
	season, bin := r.position(t)
	found := false
	low = math.Inf(1)
	for d, s := range r.seasonOf {
		if s < 0 || s >= season || s < season-int64(r.cfg.Days) {
			continue
		}
		found = true
		for k := -r.cfg.Neighbours; k <= r.cfg.Neighbours; k++ {
			i := d*r.cfg.Bins + ((bin+k)%r.cfg.Bins+r.cfg.Bins)%r.cfg.Bins
			if r.mins[i] != noMin {
				ref = max(ref, r.maxes[i])
				low = min(low, r.mins[i])
			}
		}
	}
	if !found && season == r.today && r.nToday >= r.cfg.MinToday {
		return r.todayMax, r.todayMin
	}
	if math.IsInf(low, 1) {
		low = 0
	}
	return ref, low
}

// upper returns the alarm level for a reference and the smallest value it
// was taken with.
func (r *Record) upper(ref, low float64) float64 {
	return max(ref+(r.cfg.Margin-1)*(ref-min(low, ref)), r.cfg.MinMargin*ref)
}

// Step scores v at time t (unix ns) and, when learn is set and v is not above
// the alarm level, learns it. Negative and non-finite values are not
// learned and score 0.
func (r *Record) Step(t int64, v float64, learn bool) Verdict {
	if !finite(v) || v < 0 {
		return Verdict{Value: v}
	}
	ref, low := r.reference(t)
	vd := Verdict{Value: v, Expected: ref, Lower: 0, Upper: ref}
	if ref > 0 {
		vd.Ready = true
		vd.Upper = r.upper(ref, low)
		vd.Score = (v - ref) / (vd.Upper - ref)
	}
	if learn {
		r.learn(t, v, !(vd.Ready && vd.Score > 1))
	}
	return vd
}

// Learn learns v at t without scoring it, for callers that learn a value
// later than they score it (see [Record.Step]); normal says whether v was
// judged normal, which the first day's fallback requires. Negative and
// non-finite values are ignored.
func (r *Record) Learn(t int64, v float64, normal bool) {
	if finite(v) && v >= 0 {
		r.learn(t, v, normal)
	}
}

func (r *Record) learn(t int64, v float64, normal bool) {
	season, bin := r.position(t)
	d := int(((season % int64(r.cfg.Days)) + int64(r.cfg.Days)) % int64(r.cfg.Days))
	if r.seasonOf[d] != season {
		r.seasonOf[d] = season
		row := d * r.cfg.Bins
		clear(r.maxes[row : row+r.cfg.Bins])
		fill(r.mins[row:row+r.cfg.Bins], noMin)
	}
	i := d*r.cfg.Bins + bin
	r.maxes[i] = max(r.maxes[i], v)
	r.mins[i] = min(r.mins[i], v)
	if season != r.today {
		r.today, r.nToday, r.todayMax, r.todayMin = season, 0, 0, 0
	}
	if normal {
		if r.nToday == 0 {
			r.todayMin = v
		}
		r.nToday++
		r.todayMax = max(r.todayMax, v)
		r.todayMin = min(r.todayMin, v)
	}
}

// noMin marks a bin that has learned no value (its min is then undefined;
// a real minimum of 0, a quiet window, must not read as "none").
const noMin = math.MaxFloat64

func fill(xs []float64, v float64) []float64 {
	for i := range xs {
		xs[i] = v
	}
	return xs
}

// Reset forgets everything learned.
func (r *Record) Reset() {
	clear(r.maxes)
	fill(r.mins, noMin)
	for i := range r.seasonOf {
		r.seasonOf[i] = -1
	}
	r.today, r.nToday, r.todayMax, r.todayMin = -1, 0, 0, 0
}

// MarshalBinary encodes the learned state (not the configuration).
func (r *Record) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindRecord, 40+16*len(r.maxes)+8*len(r.seasonOf))
	enc.u64(uint64(r.cfg.Days))
	enc.u64(uint64(r.cfg.Bins))
	for _, s := range r.seasonOf {
		enc.i64(s)
	}
	for i, m := range r.maxes {
		enc.f64(m)
		if r.mins[i] == noMin {
			enc.f64(-1) // none learned
		} else {
			enc.f64(r.mins[i])
		}
	}
	enc.i64(r.today)
	enc.u64(uint64(r.nToday))
	enc.f64(r.todayMax)
	enc.f64(r.todayMin)
	return enc.finish(), nil
}

// UnmarshalBinary restores state written by [Record.MarshalBinary] with the
// same Days and Bins. On error, wrapping [ErrCorrupt] or [ErrMismatch], r is
// unchanged.
func (r *Record) UnmarshalBinary(data []byte) error {
	d, err := newDecoder(data, kindRecord)
	if err != nil {
		return err
	}
	days, bins := d.u64(), d.u64()
	if d.err == nil && (days != uint64(r.cfg.Days) || bins != uint64(r.cfg.Bins)) {
		return fmt.Errorf("%w: %d days of %d bins, want %d of %d", ErrMismatch, days, bins, r.cfg.Days, r.cfg.Bins)
	}
	seasons := make([]int64, r.cfg.Days)
	for i := range seasons {
		seasons[i] = d.i64()
		if seasons[i] < -1 {
			d.fail("season: negative")
		}
	}
	maxes := make([]float64, len(r.maxes))
	mins := make([]float64, len(r.maxes))
	for i := range maxes {
		maxes[i] = d.nonneg("max")
		switch v := d.f64("min"); {
		case v == -1:
			mins[i] = noMin
		case v < 0:
			d.fail("min: negative")
		default:
			mins[i] = v
		}
	}
	today := d.i64()
	nToday := d.count("values today", math.MaxInt32)
	todayMax := d.nonneg("today's max")
	todayMin := d.nonneg("today's min")
	if err := d.done(); err != nil {
		return err
	}
	if today < -1 {
		return fmt.Errorf("%w: today: negative", ErrCorrupt)
	}
	r.seasonOf, r.maxes, r.mins = seasons, maxes, mins
	r.today, r.nToday, r.todayMax, r.todayMin = today, int(nToday), todayMax, todayMin
	return nil
}
