package flow

// maxHeldSegments is the hard upper bound on out-of-order ranges a stream
// can hold; TableConfig.MaxOutOfOrderSegments may lower it.
const maxHeldSegments = 16

// span is a half-open range [lo, hi) of offsets from a stream's base.
type span struct{ lo, hi uint32 }

// stream assembles the first bytes of one direction of a TCP connection.
// Its buffer is a fixed window starting at sequence number base: segments
// are copied straight to their offset, the first copy of a byte wins, and
// held lists the filled ranges beyond the contiguous prefix buf[:n].
type stream struct {
	pool   *pool
	buf    []byte // len is the window size for the stream's direction
	base   uint32
	n      uint32
	held   [maxHeldSegments]span
	nheld  int
	capHit bool
}

func (s *stream) bytes() []byte {
	if s == nil {
		return nil
	}
	return s.buf[:s.n:s.n]
}

func (s *stream) heldBytes() uint32 {
	var b uint32
	for i := range s.nheld {
		b += s.held[i].hi - s.held[i].lo
	}
	return b
}

// addResult says what add did with a segment.
type addResult uint8

const (
	addDup       addResult = iota // nothing new
	addGrew                       // the contiguous prefix grew
	addHeld                       // stored out of order
	addDropped                    // out-of-order limits hit; not stored
	addOutWindow                  // entirely before base or beyond the window
)

// add stores data, which starts at sequence number seq. It copies only
// bytes that are not yet present (first copy wins), so bytes already
// returned by bytes() never change.
func (s *stream) add(seq uint32, data []byte, maxSeg int, maxHeld uint32) addResult {
	off := int64(int32(seq - s.base))
	if off < 0 {
		if -off >= int64(len(data)) {
			return addOutWindow
		}
		data = data[-off:]
		off = 0
	}
	w := int64(len(s.buf))
	if off >= w {
		s.capHit = true
		return addOutWindow
	}
	end := off + int64(len(data))
	if end > w {
		s.capHit = true
		end = w
		data = data[:end-off]
	}
	lo, hi := uint32(off), uint32(end)
	if hi <= s.n {
		return addDup
	}
	if lo < s.n {
		data = data[s.n-lo:]
		lo = s.n
	}
	// Find the held ranges that overlap or touch [lo, hi), and the new
	// bytes the segment brings.
	first, last := -1, -1
	newBytes := hi - lo
	for i := range s.nheld {
		r := s.held[i]
		if r.hi < lo || r.lo > hi {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
		ol, oh := max(r.lo, lo), min(r.hi, hi)
		if oh > ol {
			newBytes -= oh - ol
		}
	}
	if newBytes == 0 {
		return addDup
	}
	if lo > s.n {
		if first < 0 && s.nheld >= maxSeg {
			return addDropped
		}
		if s.heldBytes()+newBytes > maxHeld {
			return addDropped
		}
	}
	// Copy the gaps between held ranges.
	pos := lo
	for i := range s.nheld {
		r := s.held[i]
		if r.hi <= pos {
			continue
		}
		if r.lo >= hi {
			break
		}
		if r.lo > pos {
			copy(s.buf[pos:r.lo], data[pos-lo:r.lo-lo])
		}
		pos = r.hi
	}
	if pos < hi {
		copy(s.buf[pos:hi], data[pos-lo:])
	}
	// Merge [lo, hi) with the ranges first..last.
	m := span{lo, hi}
	if first >= 0 {
		m.lo = min(m.lo, s.held[first].lo)
		m.hi = max(m.hi, s.held[last].hi)
		copy(s.held[first+1:], s.held[last+1:s.nheld])
		s.nheld -= last - first
		s.held[first] = m
	} else {
		i := 0
		for i < s.nheld && s.held[i].lo < lo {
			i++
		}
		copy(s.held[i+1:s.nheld+1], s.held[i:s.nheld])
		s.held[i] = m
		s.nheld++
	}
	if s.held[0].lo <= s.n {
		s.n = s.held[0].hi
		copy(s.held[:], s.held[1:s.nheld])
		s.nheld--
		return addGrew
	}
	return addHeld
}

// pool hands out stream buffers, allocated lazily up to max and recycled.
type pool struct {
	free    []*stream
	max     int
	alloc   int
	inUse   int
	bufSize int
}

func newPool(maxBufs, bufSize int) *pool {
	return &pool{free: make([]*stream, 0, maxBufs), max: maxBufs, bufSize: bufSize}
}

// get returns a reset stream with a window of size bytes, or nil when the
// pool is exhausted.
func (p *pool) get(size int, base uint32) *stream {
	var s *stream
	if n := len(p.free); n > 0 {
		s = p.free[n-1]
		p.free = p.free[:n-1]
	} else if p.alloc < p.max {
		s = &stream{pool: p, buf: make([]byte, p.bufSize)}
		p.alloc++
	} else {
		return nil
	}
	p.inUse++
	s.buf = s.buf[:size]
	s.base = base
	s.n = 0
	s.nheld = 0
	s.capHit = false
	return s
}

func (p *pool) put(s *stream) {
	p.inUse--
	p.free = append(p.free, s)
}
