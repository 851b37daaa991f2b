package sketch

import (
	"cmp"
	"fmt"
	"slices"
)

// Entry is one monitored key of a [SpaceSaving] summary.
type Entry[K comparable] struct {
	// Key is the monitored key.
	Key K
	// Count is an upper bound of the key's weight since the last Reset.
	Count uint64
	// Err bounds the overestimate: Count-Err ≤ true weight ≤ Count.
	Err uint64
}

// Guaranteed returns Count-Err, a lower bound of the key's true weight.
func (e Entry[K]) Guaranteed() uint64 { return e.Count - e.Err }

// SpaceSaving finds the heaviest keys of a weighted stream in fixed memory,
// after Metwally, Agrawal and El Abbadi (2005), "Efficient computation of
// frequent and top-k elements in data streams". It monitors at most capacity
// keys; when a new key arrives and the summary is full, the key with the
// smallest count is replaced and the newcomer inherits that count as its
// error. Every key whose true weight exceeds N/capacity is monitored, and each
// monitored count overestimates by at most min, the smallest count, which is
// at most N/capacity.
//
// The monitored keys sit in a binary min-heap ordered by count, so Offer costs
// O(log capacity). The zero value is not usable; call [NewSpaceSaving].
type SpaceSaving[K comparable] struct {
	cap   int
	total uint64
	// Entries live in stable slots; the heap orders slot numbers, so
	// sifting moves small integers and never touches the key index.
	slots []Entry[K]
	heap  []int32     // slot numbers, a min-heap by count
	hpos  []int32     // slot → position in heap
	idx   map[K]int32 // key → slot
}

// NewSpaceSaving returns an empty summary that monitors up to capacity keys.
// It returns an error unless 1 ≤ capacity ≤ 1<<24.
func NewSpaceSaving[K comparable](capacity int) (*SpaceSaving[K], error) {
	if capacity < 1 || capacity > 1<<24 {
		return nil, fmt.Errorf("space-saving capacity: must be in [1, %d], got %d", 1<<24, capacity)
	}
	return &SpaceSaving[K]{
		cap:   capacity,
		slots: make([]Entry[K], 0, capacity),
		heap:  make([]int32, 0, capacity),
		hpos:  make([]int32, 0, capacity),
		idx:   make(map[K]int32, capacity),
	}, nil
}

// Capacity returns the maximum number of monitored keys.
func (s *SpaceSaving[K]) Capacity() int { return s.cap }

// Len returns the number of monitored keys.
func (s *SpaceSaving[K]) Len() int { return len(s.slots) }

// Total returns N, the sum of all weights offered since the last Reset.
func (s *SpaceSaving[K]) Total() uint64 { return s.total }

// Offer adds weight w to key. It does not allocate once the summary has been
// full once (or after Reset, which keeps the storage).
func (s *SpaceSaving[K]) Offer(key K, w uint64) {
	s.total += w
	if sl, ok := s.idx[key]; ok {
		s.slots[sl].Count += w
		s.down(int(s.hpos[sl]))
		return
	}
	if len(s.slots) < s.cap {
		sl := int32(len(s.slots))
		s.slots = append(s.slots, Entry[K]{Key: key, Count: w})
		s.heap = append(s.heap, sl)
		s.hpos = append(s.hpos, int32(len(s.heap)-1))
		s.idx[key] = sl
		s.up(len(s.heap) - 1)
		return
	}
	sl := s.heap[0]
	e := &s.slots[sl]
	delete(s.idx, e.Key)
	e.Key = key
	e.Err = e.Count
	e.Count += w
	s.idx[key] = sl
	s.down(0)
}

// Min returns the smallest monitored count, or 0 while the summary is not
// full. A key that is not monitored has true weight at most Min.
func (s *SpaceSaving[K]) Min() uint64 {
	if len(s.slots) < s.cap {
		return 0
	}
	return s.slots[s.heap[0]].Count
}

// Lookup returns the entry of key and true when key is monitored.
func (s *SpaceSaving[K]) Lookup(key K) (Entry[K], bool) {
	sl, ok := s.idx[key]
	if !ok {
		return Entry[K]{}, false
	}
	return s.slots[sl], true
}

// Top appends the monitored entries to dst[:0], heaviest first (ties broken
// by the larger guaranteed count), and returns the result. It does not
// allocate when dst has capacity for [SpaceSaving.Len] entries. The caller
// owns the returned slice.
func (s *SpaceSaving[K]) Top(dst []Entry[K]) []Entry[K] {
	dst = append(dst[:0], s.slots...)
	slices.SortFunc(dst, compareEntries[K])
	return dst
}

func compareEntries[K comparable](a, b Entry[K]) int {
	if c := cmp.Compare(b.Count, a.Count); c != 0 {
		return c
	}
	return cmp.Compare(b.Count-b.Err, a.Count-a.Err)
}

// Reset forgets all keys and the total, keeping the storage, so the summary
// can be reused for the next interval without allocating.
func (s *SpaceSaving[K]) Reset() {
	s.slots, s.heap, s.hpos = s.slots[:0], s.heap[:0], s.hpos[:0]
	clear(s.idx)
	s.total = 0
}

func (s *SpaceSaving[K]) count(i int) uint64 { return s.slots[s.heap[i]].Count }

func (s *SpaceSaving[K]) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.hpos[s.heap[i]] = int32(i)
	s.hpos[s.heap[j]] = int32(j)
}

func (s *SpaceSaving[K]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.count(p) <= s.count(i) {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *SpaceSaving[K]) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && s.count(r) < s.count(l) {
			c = r
		}
		if s.count(i) <= s.count(c) {
			return
		}
		s.swap(i, c)
		i = c
	}
}
