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
	// Margin is how far above the record a value must be to alarm. Default
	// 2: "twice the largest value this series reached at this time of day
	// in a week". Heavy-tailed series break their records by a little all
	// the time; doubling one is another matter (for a Pareto tail of index
	// α, a new record beats twice the old one with probability 2^−α of
	// beating it at all: a third to a half as often for α between 1 and
	// 1.6).
	Margin float64
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
	errs = checkInt(errs, "min_today", c.MinToday, 1, math.MaxInt32)
	return joined(errs)
}

// Record judges a heavy-tailed series (bytes per window) against the largest
// values it reached at the same time of day on previous days: an extreme
// value, not a mean and a deviation, because the mean and deviation of a
// heavy-tailed series say little about how large its normal values get. A
// value alarms when it is more than Margin times the reference:
//
//	reference = max over the last Days seasons (not today) of the bins b−n … b+n
//
// where b is the value's time-of-day bin. On the first season, before any
// previous one exists, the reference is the largest value learned so far
// today, once MinToday values have been learned. [Verdict.Expected] is the
// reference, [Verdict.Upper] Margin times it, and [Verdict.Score] is
// (v − reference) / ((Margin−1)·reference), above 1 exactly when v is above
// Upper. Every learned value enters the record of its day, alarming ones
// too: the reference holds only previous days, so an incident cannot hide
// itself, while a transfer that comes at the same hour every day (a nightly
// backup) alerts on its first day and is the record from then on. The
// first day's fallback learns only values that do not alarm. Not safe for
// concurrent use.
type Record struct {
	cfg      RecordConfig
	maxes    []float64 // Days × Bins: the largest value learned in each bin of each remembered season
	seasonOf []int64   // the season number each row holds, -1 when empty
	today    int64     // season of the newest learned value
	nToday   int
	todayMax float64
}

// NewRecord returns an empty Record, or the configuration's validation error.
func NewRecord(cfg RecordConfig) (*Record, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &Record{cfg: cfg, maxes: make([]float64, cfg.Days*cfg.Bins), seasonOf: make([]int64, cfg.Days), today: -1}
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

// reference returns the reference for a value at t, or 0 when there is none
// yet.
func (r *Record) reference(t int64) float64 {
	season, bin := r.position(t)
	ref := 0.0
	found := false
	for d, s := range r.seasonOf {
		if s < 0 || s >= season || s < season-int64(r.cfg.Days) {
			continue
		}
		found = true
		row := r.maxes[d*r.cfg.Bins : (d+1)*r.cfg.Bins]
		for k := -r.cfg.Neighbours; k <= r.cfg.Neighbours; k++ {
			ref = max(ref, row[((bin+k)%r.cfg.Bins+r.cfg.Bins)%r.cfg.Bins])
		}
	}
	if !found && season == r.today && r.nToday >= r.cfg.MinToday {
		return r.todayMax
	}
	return ref
}

// Step scores v at time t (unix ns) and, when learn is set and v is not above
// the alarm level, learns it. Negative and non-finite values are not
// learned and score 0.
func (r *Record) Step(t int64, v float64, learn bool) Verdict {
	if !finite(v) || v < 0 {
		return Verdict{Value: v}
	}
	ref := r.reference(t)
	vd := Verdict{Value: v, Expected: ref, Lower: 0, Upper: ref}
	if ref > 0 {
		vd.Ready = true
		vd.Upper = r.cfg.Margin * ref
		vd.Score = (v - ref) / ((r.cfg.Margin - 1) * ref)
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
		clear(r.maxes[d*r.cfg.Bins : (d+1)*r.cfg.Bins])
	}
	i := d*r.cfg.Bins + bin
	r.maxes[i] = max(r.maxes[i], v)
	if season != r.today {
		r.today, r.nToday, r.todayMax = season, 0, 0
	}
	if normal {
		r.nToday++
		r.todayMax = max(r.todayMax, v)
	}
}

// Reset forgets everything learned.
func (r *Record) Reset() {
	clear(r.maxes)
	for i := range r.seasonOf {
		r.seasonOf[i] = -1
	}
	r.today, r.nToday, r.todayMax = -1, 0, 0
}

// MarshalBinary encodes the learned state (not the configuration).
func (r *Record) MarshalBinary() ([]byte, error) {
	enc := newEncoder(kindRecord, 32+8*len(r.maxes)+8*len(r.seasonOf))
	enc.u64(uint64(r.cfg.Days))
	enc.u64(uint64(r.cfg.Bins))
	for _, s := range r.seasonOf {
		enc.i64(s)
	}
	for _, m := range r.maxes {
		enc.f64(m)
	}
	enc.i64(r.today)
	enc.u64(uint64(r.nToday))
	enc.f64(r.todayMax)
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
	for i := range maxes {
		maxes[i] = d.nonneg("max")
	}
	today := d.i64()
	nToday := d.count("values today", math.MaxInt32)
	todayMax := d.nonneg("today's max")
	if err := d.done(); err != nil {
		return err
	}
	if today < -1 {
		return fmt.Errorf("%w: today: negative", ErrCorrupt)
	}
	r.seasonOf, r.maxes, r.today, r.nToday, r.todayMax = seasons, maxes, today, int(nToday), todayMax
	return nil
}
