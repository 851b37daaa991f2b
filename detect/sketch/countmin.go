package sketch

import (
	"fmt"
	"math"
	"math/bits"
)

// CountMin is a Count-Min sketch (Cormode and Muthukrishnan, 2005) with
// conservative update: an estimate never falls below the true weight of a key,
// and with width ⌈e/ε⌉ and depth ⌈ln(1/δ)⌉ it exceeds it by more than ε·N
// with probability at most δ, where N is [CountMin.Total]. Keys are given as
// 64-bit hashes; the depth row indexes are derived from that one hash by
// double hashing (Kirsch and Mitzenmacher, 2006). The zero value is not usable;
// call [NewCountMin] or [NewCountMinWithError].
type CountMin struct {
	width, depth int
	total        uint64
	cells        []uint64 // depth rows of width counters
}

// NewCountMin returns an empty sketch of depth rows of width counters. It
// returns an error unless width ≥ 1 and 1 ≤ depth ≤ 32.
func NewCountMin(width, depth int) (*CountMin, error) {
	if width < 1 {
		return nil, fmt.Errorf("count-min width: must be >= 1, got %d", width)
	}
	if depth < 1 || depth > 32 {
		return nil, fmt.Errorf("count-min depth: must be in [1, 32], got %d", depth)
	}
	return &CountMin{width: width, depth: depth, cells: make([]uint64, width*depth)}, nil
}

// NewCountMinWithError returns a sketch whose estimates exceed the true weight
// by more than eps·N with probability at most delta: width ⌈e/eps⌉ and depth
// ⌈ln(1/delta)⌉.
func NewCountMinWithError(eps, delta float64) (*CountMin, error) {
	if !(eps > 0 && eps < 1) {
		return nil, fmt.Errorf("count-min eps: must be in (0, 1), got %v", eps)
	}
	if !(delta > 0 && delta < 1) {
		return nil, fmt.Errorf("count-min delta: must be in (0, 1), got %v", delta)
	}
	return NewCountMin(int(math.Ceil(math.E/eps)), int(math.Ceil(math.Log(1/delta))))
}

// Width returns the number of counters per row.
func (c *CountMin) Width() int { return c.width }

// Depth returns the number of rows.
func (c *CountMin) Depth() int { return c.depth }

// Total returns N, the sum of all weights added since the last Reset.
func (c *CountMin) Total() uint64 { return c.total }

// index returns the column of hash x in row i: (h1 + i·h2) mod width, reduced
// with a 128-bit multiply instead of a division.
func (c *CountMin) index(h1, h2 uint64, i int) int {
	hi, _ := bits.Mul64(h1+uint64(i)*h2, uint64(c.width))
	return i*c.width + int(hi)
}

func split(x uint64) (h1, h2 uint64) {
	return x, fmix64(x^seed1) | 1
}

// Add adds weight w to the key whose hash is x and returns the key's new
// estimate. With conservative update only the counters holding the current
// minimum are raised, which keeps the estimate an upper bound while lowering
// the overestimate of other keys.
func (c *CountMin) Add(x, w uint64) uint64 {
	c.total += w
	h1, h2 := split(x)
	est := uint64(math.MaxUint64)
	for i := range c.depth {
		est = min(est, c.cells[c.index(h1, h2, i)])
	}
	target := est + w
	if target < est { // saturate instead of wrapping
		target = math.MaxUint64
	}
	for i := range c.depth {
		j := c.index(h1, h2, i)
		if c.cells[j] < target {
			c.cells[j] = target
		}
	}
	return target
}

// Estimate returns an upper bound of the weight added for the key whose hash
// is x since the last Reset.
func (c *CountMin) Estimate(x uint64) uint64 {
	h1, h2 := split(x)
	est := uint64(math.MaxUint64)
	for i := range c.depth {
		est = min(est, c.cells[c.index(h1, h2, i)])
	}
	return est
}

// Merge adds other's counters into c. The merged sketch still never
// underestimates. It returns [ErrShape] when the shapes differ.
func (c *CountMin) Merge(other *CountMin) error {
	if other.width != c.width || other.depth != c.depth {
		return fmt.Errorf("merge count-min %dx%d into %dx%d: %w", other.depth, other.width, c.depth, c.width, ErrShape)
	}
	for i, v := range other.cells {
		s := c.cells[i] + v
		if s < v {
			s = math.MaxUint64
		}
		c.cells[i] = s
	}
	c.total += other.total
	return nil
}

// Reset sets every counter and the total to zero.
func (c *CountMin) Reset() {
	clear(c.cells)
	c.total = 0
}
