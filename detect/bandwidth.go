package detect

import (
	"fmt"
	"time"

	"github.com/monitor443/monitor443/detect/baseline"
)

// bandwidth_spike judges the bytes a scope sends toward its clients
// (egress) with two principles:
//
//   - Bytes are heavy-tailed. Response sizes follow a Pareto-like law, so one
//     ordinary download moves more bytes in a few seconds than a quiet site
//     sends in minutes. Per-second values are therefore never scored: the
//     detector sums egress over windows where one download is not an event
//     (bwShortWindow, and DetectionConfig.Slow for moderate but long rises).
//   - A mean and a deviation say little about how large a heavy-tailed
//     series normally gets, its extremes do. Each window's value is judged
//     against the largest value of that window at the same time of day (±1
//     hour) on the last seven days (baseline.Record): an incident is a level
//     that no normal hour reached, by a margin of 2. Large transfers that are
//     normal for that server and hour (a nightly backup pull, the downloads
//     of a mirror server) set the record and stop alerting from the next day.
//
// On the first day, before any previous day exists, the reference is the
// largest window value of the day so far, once an hour of it has been
// learned: a blind first hour, since for bytes there is no prior that holds
// on every network. Uploads are not scored.

// bwShortWindow is the short window: a minute holds several seconds of even
// a large single download at a typical per-flow rate, so one object alone
// rarely sets a window apart, while an attack that lasts minutes fills it.
const bwShortWindow = time.Minute

// bwState is a bandwidth_spike track's state: the per-interval egress of the
// longest window, running sums, and one record per window.
type bwState struct {
	ring []float64 // egress bytes per interval, the last len(ring)
	n    int       // values written
	wins [2]int    // window lengths in intervals: short, long
	sums [2]float64
	rec  [2]*baseline.Record
}

func newBWState(iv, long time.Duration) *bwState {
	short := max(1, int(bwShortWindow/iv))
	lng := max(short, int(long/iv))
	b := &bwState{ring: make([]float64, lng), wins: [2]int{short, lng}}
	for i := range b.rec {
		b.rec[i] = must(baseline.NewRecord(baseline.RecordConfig{MinToday: int(time.Hour / iv)}))
	}
	return b
}

// push adds one interval's egress and updates the window sums.
func (b *bwState) push(v float64) {
	for i, w := range b.wins {
		if b.n >= w {
			b.sums[i] -= b.ring[(b.n-w)%len(b.ring)]
		}
		b.sums[i] += v
	}
	b.ring[b.n%len(b.ring)] = v
	b.n++
}

// reset forgets the windows (not the records), after a gap in the capture.
func (b *bwState) reset() {
	clear(b.ring)
	b.n, b.sums = 0, [2]float64{}
}

// bandwidthScore scores one interval of a bandwidth_spike track: each full
// window's mean egress rate against its record, reporting the window whose
// score is higher.
func (s *stage) bandwidthScore(tr *track, start int64, f *Features, learn bool) verdict {
	b := tr.bw
	b.push(float64(f.BytesOut))
	var best baseline.Verdict
	bestWin := -1
	for i, w := range b.wins {
		if b.n < w {
			continue
		}
		rate := b.sums[i] / (float64(w) * s.ivSec)
		vd := b.rec[i].Step(start, rate, learn)
		if bestWin < 0 || vd.Score > best.Score {
			best, bestWin = vd, i
		}
	}
	if bestWin < 0 {
		return verdict{}
	}
	why := ""
	if best.High() {
		why = fmt.Sprintf("egress over the last %v: %s bytes/s, %.1f times the largest %v egress at this time of day in the last %d days (%s bytes/s)",
			time.Duration(b.wins[bestWin])*time.Duration(s.iv), fmtSmall(best.Value), best.Value/best.Expected,
			time.Duration(b.wins[bestWin])*time.Duration(s.iv), b.rec[bestWin].Config().Days, fmtSmall(best.Expected))
	}
	return verdict{vd: best, cond: best.High(), why: why}
}
