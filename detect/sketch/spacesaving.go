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
	heap  []Entry[K]
	pos   map[K]int32 // key → index in heap
}

// NewSpaceSaving returns an empty summary that monitors up to capacity keys.
// It returns an error unless 1 ≤ capacity ≤ 1<<24.
func NewSpaceSaving[K comparable](capacity int) (*SpaceSaving[K], error) {
	if capacity < 1 || capacity > 1<<24 {
		return nil, fmt.Errorf("space-saving capacity: must be in [1, %d], got %d", 1<<24, capacity)
	}
	return &SpaceSaving[K]{
		cap:  capacity,
		heap: make([]Entry[K], 0, capacity),
		pos:  make(map[K]int32, capacity),
	}, nil
}

// Capacity returns the maximum number of monitored keys.
func (s *SpaceSaving[K]) Capacity() int { return s.cap }

// Len returns the number of monitored keys.
func (s *SpaceSaving[K]) Len() int { return len(s.heap) }

// Total returns N, the sum of all weights offered since the last Reset.
func (s *SpaceSaving[K]) Total() uint64 { return s.total }

// Offer adds weight w to key. It does not allocate once the summary has been
// full once (or after Reset, which keeps the storage).
func (s *SpaceSaving[K]) Offer(key K, w uint64) {
	s.total += w
	if i, ok := s.pos[key]; ok {
		s.heap[i].Count += w
		s.down(int(i))
		return
	}
	if len(s.heap) < s.cap {
		s.heap = append(s.heap, Entry[K]{Key: key, Count: w})
		i := len(s.heap) - 1
		s.pos[key] = int32(i)
		s.up(i)
		return
	}
	root := &s.heap[0]
	delete(s.pos, root.Key)
	root.Key = key
	root.Err = root.Count
	root.Count += w
	s.pos[key] = 0
	s.down(0)
}

// Min returns the smallest monitored count, or 0 while the summary is not
// full. A key that is not monitored has true weight at most Min.
func (s *SpaceSaving[K]) Min() uint64 {
	if len(s.heap) < s.cap {
		return 0
	}
	return s.heap[0].Count
}

// Lookup returns the entry of key and true when key is monitored.
func (s *SpaceSaving[K]) Lookup(key K) (Entry[K], bool) {
	i, ok := s.pos[key]
	if !ok {
		return Entry[K]{}, false
	}
	return s.heap[i], true
}

// Top appends the monitored entries to dst[:0], heaviest first (ties broken
// by the larger guaranteed count), and returns the result. It does not
// allocate when dst has capacity for [SpaceSaving.Len] entries. The caller
// owns the returned slice.
func (s *SpaceSaving[K]) Top(dst []Entry[K]) []Entry[K] {
	dst = append(dst[:0], s.heap...)
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
	s.heap = s.heap[:0]
	clear(s.pos)
	s.total = 0
}

func (s *SpaceSaving[K]) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.pos[s.heap[i].Key] = int32(i)
	s.pos[s.heap[j].Key] = int32(j)
}

func (s *SpaceSaving[K]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.heap[p].Count <= s.heap[i].Count {
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
		if r := l + 1; r < n && s.heap[r].Count < s.heap[l].Count {
			c = r
		}
		if s.heap[i].Count <= s.heap[c].Count {
			return
		}
		s.swap(i, c)
		i = c
	}
}
