package flow

// index is an open-addressing hash index from Key to slab position. It uses
// linear probing and backward-shift deletion (no tombstones), and is sized
// once at construction to at least twice the slab, so it never grows and
// never allocates. Each entry packs the upper 32 bits of the key's hash
// with the slab position plus one; zero marks an empty entry. The full key
// lives in the slab and is compared on every hit.
type index struct {
	e    []uint64
	mask uint32
}

func newIndex(slots int) index {
	n := 16
	for n < 2*slots {
		n <<= 1
	}
	return index{e: make([]uint64, n), mask: uint32(n - 1)}
}

func (x *index) home(h32 uint32) uint32 { return h32 & x.mask }

// lookup returns the slab position of k, or -1.
func (x *index) lookup(h32 uint32, k *Key, flows []Flow) int32 {
	i := x.home(h32)
	for {
		e := x.e[i]
		if e == 0 {
			return -1
		}
		if uint32(e>>32) == h32 {
			pos := int32(uint32(e)) - 1
			if flows[pos].key == *k {
				return pos
			}
		}
		i = (i + 1) & x.mask
	}
}

// insert adds pos under h32; the key must not be present.
func (x *index) insert(h32 uint32, pos int32) {
	i := x.home(h32)
	for x.e[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.e[i] = uint64(h32)<<32 | uint64(uint32(pos+1))
}

// remove deletes the entry for pos, which must be present under h32.
func (x *index) remove(h32 uint32, pos int32) {
	want := uint64(h32)<<32 | uint64(uint32(pos+1))
	i := x.home(h32)
	for x.e[i] != want {
		i = (i + 1) & x.mask
	}
	// Backward-shift deletion: move later entries of the run into the hole
	// when their home bucket does not lie cyclically in (hole, j].
	for {
		x.e[i] = 0
		j := i
		for {
			j = (j + 1) & x.mask
			e := x.e[j]
			if e == 0 {
				return
			}
			h := x.home(uint32(e >> 32))
			// The entry at j may move to i if its home is not within (i, j].
			if (j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j)) {
				x.e[i] = e
				i = j
				break
			}
		}
	}
}
