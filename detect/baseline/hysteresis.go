package baseline

import (
	"fmt"
	"time"
)

// KOfN fires when a condition held in at least k of the last n intervals, so
// one noisy interval neither raises an alert nor, while an incident lasts,
// interrupts it. n is at most 64. The zero value is not usable; call
// [NewKOfN].
type KOfN struct {
	k, n  int
	bits  uint64 // bit i: condition i intervals ago
	count int
}

// NewKOfN returns a KOfN with an empty history. It returns an error unless
// 1 ≤ k ≤ n ≤ 64.
func NewKOfN(k, n int) (*KOfN, error) {
	if n < 1 || n > 64 || k < 1 || k > n {
		return nil, fmt.Errorf("k of n: need 1 <= k <= n <= 64, got k=%d n=%d", k, n)
	}
	return &KOfN{k: k, n: n}, nil
}

// Step records whether the condition held in the interval that just closed
// and reports whether it held in at least k of the last n intervals.
func (f *KOfN) Step(cond bool) bool {
	if f.bits>>(f.n-1)&1 == 1 {
		f.count--
	}
	f.bits <<= 1
	if f.n < 64 {
		f.bits &= 1<<f.n - 1
	}
	if cond {
		f.bits |= 1
		f.count++
	}
	return f.count >= f.k
}

// Count returns in how many of the last n intervals the condition held.
func (f *KOfN) Count() int { return f.count }

// Reset clears the history.
func (f *KOfN) Reset() { f.bits, f.count = 0, 0 }

// Transition is what a [Resolver] step changed.
type Transition uint8

// Transitions.
const (
	// None: nothing changed; an open incident is still open, or none is.
	None Transition = iota
	// Started: a new incident opened at this step.
	Started
	// Resolved: the open incident has been quiet long enough and closed.
	Resolved
)

// AllTransitions lists every Transition.
var AllTransitions = []Transition{None, Started, Resolved}

// String returns the transition's snake_case name.
func (tr Transition) String() string {
	switch tr {
	case None:
		return "none"
	case Started:
		return "started"
	case Resolved:
		return "resolved"
	}
	return "unknown"
}

// Resolver turns a per-interval firing flag into incidents: one Started when
// firing begins, and one Resolved once no interval has fired for the quiet
// period. Firing again within the quiet period continues the same incident.
// Times are unix nanoseconds from the caller. The zero value is not usable;
// call [NewResolver].
type Resolver struct {
	quiet       int64
	active      bool
	start, last int64
}

// NewResolver returns an idle Resolver that resolves an incident after quiet
// has passed without firing. It returns an error unless quiet > 0.
func NewResolver(quiet time.Duration) (*Resolver, error) {
	if quiet <= 0 {
		return nil, fmt.Errorf("quiet period: must be > 0, got %v", quiet)
	}
	return &Resolver{quiet: int64(quiet)}, nil
}

// Step records whether the detector fired in the interval ending at t and
// returns the resulting transition.
func (r *Resolver) Step(t int64, firing bool) Transition {
	switch {
	case firing && !r.active:
		r.active, r.start, r.last = true, t, t
		return Started
	case firing:
		r.last = t
	case r.active && t-r.last >= r.quiet:
		r.active = false
		return Resolved
	}
	return None
}

// Active reports whether an incident is open.
func (r *Resolver) Active() bool { return r.active }

// Start returns when the open (or last) incident started.
func (r *Resolver) Start() int64 { return r.start }

// LastFiring returns the last time the open (or last) incident fired.
func (r *Resolver) LastFiring() int64 { return r.last }

// Reset closes any incident without a transition.
func (r *Resolver) Reset() { r.active, r.start, r.last = false, 0, 0 }
