package report

import (
	"math"

	"github.com/monitor443/monitor443/detect"
)

// The timeline's columns, in the order of [Timeline.Columns].
const (
	colBytesIn = iota
	colBytesOut
	colNewConns
	colSYN
	colHandshakes
	colHellos
	colQUIC
	numCols
)

// columnNames are the JSON names of the columns.
var columnNames = [numCols]string{"bytes_in", "bytes_out", "new_conns", "syn", "handshakes", "client_hellos", "quic_initials"}

func columnsOf(f *detect.Features) [numCols]uint64 {
	return [numCols]uint64{f.BytesIn, f.BytesOut, f.NewConns, f.SYN, f.Handshakes, f.ClientHellos, f.QUICInitials}
}

// bucket sums the intervals of one point of the timeline.
type bucket struct {
	idx  int64 // (start - t0) / width
	last int64 // start of the newest interval added
	sum  [numCols]uint64
}

// series is a downsampling timeline of interval sums: at most max
// points; when full, neighbours merge and the width doubles. Not safe for
// concurrent use.
type series struct {
	interval int64 // ns
	width    int64 // ns per point
	t0       int64
	max      int
	b        []bucket
}

func newSeries(interval int64, maxPoints int) *series {
	return &series{interval: interval, width: interval, max: maxPoints}
}

// add adds one closed interval (start in Unix ns).
func (s *series) add(start int64, v [numCols]uint64) {
	if len(s.b) == 0 {
		s.t0 = start
	}
	if start < s.t0 {
		start = s.t0 // intervals arrive in order; clamp anything earlier
	}
	idx := (start - s.t0) / s.width
	if n := len(s.b); n > 0 && s.b[n-1].idx >= idx {
		last := &s.b[n-1]
		for i := range v {
			last.sum[i] += v[i]
		}
		last.last = max(last.last, start)
		return
	}
	s.b = append(s.b, bucket{idx: idx, last: start, sum: v})
	if len(s.b) > s.max {
		s.compact()
	}
}

// compact halves the number of points.
func (s *series) compact() {
	s.width *= 2
	out := s.b[:0]
	for _, b := range s.b {
		b.idx /= 2
		if n := len(out); n > 0 && out[n-1].idx == b.idx {
			for i := range b.sum {
				out[n-1].sum[i] += b.sum[i]
			}
			out[n-1].last = max(out[n-1].last, b.last)
			continue
		}
		out = append(out, b)
	}
	s.b = out
}

// Timeline is the chart data: per-second rates at each point's start.
type Timeline struct {
	// Step is the seconds one point covers.
	Step float64 `json:"step"`
	// Interval is the engine's interval in seconds.
	Interval float64 `json:"interval"`
	// T holds the points' start times (Unix seconds).
	T []float64 `json:"t"`
	// Columns holds one rate per point for each column name.
	Columns map[string][]float64 `json:"columns"`
}

// timeline returns the rates. A point's rate is its sum over the seconds
// it covers (the last point covers up to its newest interval's end). The
// engine closes no interval without packets, so a gap between points is
// silence: it is drawn as zero, with one zero point at each of its ends.
func (s *series) timeline() Timeline {
	tl := Timeline{Step: float64(s.width) / 1e9, Interval: float64(s.interval) / 1e9, T: []float64{}, Columns: map[string][]float64{}}
	cols := make([][]float64, numCols)
	for c := range cols {
		cols[c] = []float64{}
	}
	zero := func(idx int64) {
		tl.T = append(tl.T, float64(s.t0+idx*s.width)/1e9)
		for c := range cols {
			cols[c] = append(cols[c], 0)
		}
	}
	for i, b := range s.b {
		if i > 0 {
			if prev := s.b[i-1].idx; b.idx > prev+1 {
				zero(prev + 1)
				if b.idx > prev+2 {
					zero(b.idx - 1)
				}
			}
		}
		start := s.t0 + b.idx*s.width
		secs := float64(s.width) / 1e9
		if i == len(s.b)-1 {
			secs = float64(b.last+s.interval-start) / 1e9
		}
		tl.T = append(tl.T, float64(start)/1e9)
		for c := range cols {
			cols[c] = append(cols[c], round(float64(b.sum[c])/secs))
		}
	}
	for c, name := range columnNames {
		tl.Columns[name] = cols[c]
	}
	return tl
}

// round keeps three significant decimals below 100 and none above, which
// is what a chart shows and keeps the page small.
func round(v float64) float64 {
	if v >= 100 {
		return math.Round(v)
	}
	return math.Round(v*1000) / 1000
}
