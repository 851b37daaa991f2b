//go:build !race

// The test below simulates a day and a half of one-second intervals of one
// goroutine's code: the race detector adds nothing to it but a minute of
// time, so it runs in make test's pass without -race.

package detect

import (
	"math/rand/v2"
	"testing"
)

// TestStackMixHourOfDay: the mix follows the time of day. A site whose
// nights are crawlers' (two stacks) and whose days are browsers' (eight
// stacks) sees its first half-minute of browsers in the morning as a
// shift on the first day, when no earlier morning is known, and as the
// usual mix for the hour from the second day on; a bot tool's stack that
// no hour has seen is a shift either way.
func TestStackMixHourOfDay(t *testing.T) {
	t.Parallel()
	const day, morning = 86400, 7 * 3600
	t0 := int64(1_699_920_000) // a UTC midnight
	run := func(days int, bots bool) float64 {
		r := rand.New(rand.NewPCG(7, 11))
		x := newStackMix()
		test := days*day + morning
		for s := range test + mixWindow {
			fp := map[uint64]uint64{}
			switch tod := s % day; {
			case s >= test && bots:
				fp[999] = 1
			case tod < morning:
				if s%10 == 0 {
					fp[uint64(100+s/10%2)] = 1
				}
			default:
				fp[uint64(1+r.IntN(8))] = 1
			}
			var n uint64
			for _, c := range fp {
				n += c
			}
			x.push((t0+int64(s))*sec, fp, nil, float64(n), nil)
			if s < test {
				x.learn()
			}
		}
		n, beyond, ok := x.shifted()
		if !ok || n != mixWindow {
			t.Fatalf("days %d bots %v: %v hellos in the window, ok %v", days, bots, n, ok)
		}
		return beyond
	}
	if b := run(0, false); b == 0 {
		t.Error("first morning: the browsers' return is no shift against a night of crawlers; the test no longer shows what the hours add")
	}
	if b := run(1, false); b != 0 {
		t.Errorf("second morning: %.1f of the browsers' hellos beyond their share at this hour", b)
	}
	if b := run(1, true); b < 25 {
		t.Errorf("second morning, a bot tool's unseen stack: %.1f of 30 hellos beyond their share", b)
	}
}
