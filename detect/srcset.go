package detect

// srcSet remembers, for the open interval, which sources made an attempt at
// a server and which completed a handshake (over TCP, or over QUIC by
// returning), so that the global syn_flood and quic_flood counts can count
// each source's attempts of one interval once.
//
// Principle: the count test assumes independent events. One source's
// attempts within a second are one actor's decision, not independent
// events: a scanner that sweeps a network's servers (one SYN to each, each
// answered by a RST) or a browser that opens six parallel connections over
// a path that loses the answers. Counted one by one, such a clump is a
// rise to a near-zero series (eight failed attempts at once add
// 8·ln 20 − 19·0.07 ≈ 22.6 nats to the ρ = 20 test against a rate of
// 0.07/s, more than the threshold of 20). Spoofed
// floods (each SYN a new source) and botnets (each bot a source) keep their
// full count. The dedup is applied at the global scope only, where one
// source reaches many servers; a server's own count keeps every attempt, so
// that one host flooding one server is still counted SYN by SYN there.
//
// The set is bounded: srcSetSize slots, open addressing with a short probe.
// When it is three quarters full or a probe runs out, a source is counted as
// new, which is what the count did before the set existed: it only loses
// the dedup in an interval with hundreds of attempting sources, where a
// clump of a few is small against the crowd. Slots carry the interval's
// generation, so starting an interval costs nothing.
type srcSet struct {
	gen   uint32
	used  int
	slots [srcSetSize]srcSlot
}

type srcSlot struct {
	h     uint64
	gen   uint32
	flags uint8
}

// The marks a source can carry in one interval.
const (
	srcAttempt     uint8 = 1 << iota // made a new attempt at a server
	srcHandshake                     // completed a handshake begun in the interval
	srcHandshakeL                    // completed one begun before (late)
	srcQUIC                          // began a QUIC connection
	srcQUICReturn                    // returned a QUIC connection begun in the interval
	srcQUICReturnL                   // returned one begun before (late)
)

const (
	// srcSetSize is the number of sources remembered per interval and
	// worker (16 KiB): more than a small or medium site's attempting
	// sources in a second.
	srcSetSize = 1024
	// srcSetProbe bounds a lookup's probe sequence.
	srcSetProbe = 8
)

// next starts a new interval.
func (s *srcSet) next() {
	s.gen++
	s.used = 0
	if s.gen == 0 { // wrapped: old generations could match again
		clear(s.slots[:])
		s.gen = 1
	}
}

// mark sets mark m on the source with hash h and reports whether the
// source already carried it in this interval.
func (s *srcSet) mark(h uint64, m uint8) bool {
	if s.gen == 0 {
		s.gen = 1
	}
	i := h & (srcSetSize - 1)
	for range srcSetProbe {
		sl := &s.slots[i]
		if sl.gen != s.gen {
			if s.used >= srcSetSize*3/4 {
				return false
			}
			*sl = srcSlot{h: h, gen: s.gen, flags: m}
			s.used++
			return false
		}
		if sl.h == h {
			seen := sl.flags&m != 0
			sl.flags |= m
			return seen
		}
		i = (i + 1) & (srcSetSize - 1)
	}
	return false
}
