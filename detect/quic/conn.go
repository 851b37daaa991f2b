package quic

// DefaultMaxCrypto is the default cap, in bytes, on the Initial CRYPTO
// stream a [Conn] buffers: the ClientHello must end within it.
const DefaultMaxCrypto = 16 << 10

// maxRanges is how many disjoint pieces of CRYPTO data a Conn tracks.
const maxRanges = 32

// Frame types that may appear in an Initial packet (RFC 9000 §12.4).
const (
	FramePadding         = 0x00
	FramePing            = 0x01
	FrameACK             = 0x02
	FrameACKECN          = 0x03
	FrameCrypto          = 0x06
	FrameConnectionClose = 0x1c
)

// Frame is one frame read by [NextFrame]. Data aliases the payload given
// to NextFrame.
type Frame struct {
	// Type is the frame type.
	Type uint64
	// Offset is the CRYPTO frame's stream offset.
	Offset uint64
	// Data is the CRYPTO frame's data.
	Data []byte
}

// NextFrame reads the frame at the start of payload, the decrypted payload
// of an Initial packet, and returns it with its encoded length. A run of
// PADDING bytes is returned as one frame. It understands the frame types
// allowed in Initial packets (PADDING, PING, ACK, CRYPTO and
// CONNECTION_CLOSE) and returns [ErrFrame] for any other, whose length it
// cannot know. It does not allocate.
func NextFrame(payload []byte) (Frame, int, error) {
	var f Frame
	typ, n := ReadVarint(payload)
	if n == 0 {
		return f, 0, ErrTruncated
	}
	f.Type = typ
	off := n
	// next reads one varint at off.
	next := func() (uint64, bool) {
		v, m := ReadVarint(payload[off:])
		off += m
		return v, m > 0
	}
	switch typ {
	case FramePadding:
		for off < len(payload) && payload[off] == 0 {
			off++
		}
		return f, off, nil
	case FramePing:
		return f, off, nil
	case FrameACK, FrameACKECN:
		// Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range.
		var count uint64
		for i := range 4 {
			v, ok := next()
			if !ok {
				return f, 0, ErrTruncated
			}
			if i == 2 {
				count = v
			}
		}
		// Each further range is a Gap and an ACK Range Length, at least
		// two bytes, so a count larger than the rest is malformed.
		if count > uint64(len(payload)-off)/2 {
			return f, 0, ErrMalformed
		}
		extra := 2 * count
		if typ == FrameACKECN {
			extra += 3 // ECT0, ECT1 and ECN-CE counts
		}
		for range extra {
			if _, ok := next(); !ok {
				return f, 0, ErrTruncated
			}
		}
		return f, off, nil
	case FrameCrypto:
		o, ok1 := next()
		l, ok2 := next()
		if !ok1 || !ok2 {
			return f, 0, ErrTruncated
		}
		if l > uint64(len(payload)-off) {
			return f, 0, ErrTruncated
		}
		f.Offset = o
		f.Data = payload[off : off+int(l)]
		return f, off + int(l), nil
	case FrameConnectionClose:
		// Error Code, Frame Type, Reason Phrase Length, Reason Phrase.
		var l uint64
		for range 3 {
			v, ok := next()
			if !ok {
				return f, 0, ErrTruncated
			}
			l = v
		}
		if l > uint64(len(payload)-off) {
			return f, 0, ErrTruncated
		}
		return f, off + int(l), nil
	}
	return f, 0, ErrFrame
}

// span is a received byte range [start, end) of the CRYPTO stream.
type span struct{ start, end int }

// Conn reassembles the Initial CRYPTO stream of one QUIC connection from
// the decrypted payloads of the client's Initial packets, in any order and
// with overlaps, up to a fixed byte cap, and yields the ClientHello once it
// is whole.
//
// The caller keeps Conns in a bounded table keyed by client address, port
// and original DCID, frees one when its hello is complete or it times out,
// and reuses it with [Conn.Reset]: the buffer is allocated once by
// [NewConn]. A Conn is not safe for concurrent use.
type Conn struct {
	buf     []byte // len is the cap on the CRYPTO stream
	ranges  [maxRanges]span
	nranges int
	dcid    [MaxConnIDLen]byte
	dcidLen int
	packets int
}

// NewConn returns a Conn whose CRYPTO stream may hold up to maxCrypto
// bytes, or [DefaultMaxCrypto] when maxCrypto <= 0. It allocates the buffer
// once.
func NewConn(maxCrypto int) *Conn {
	if maxCrypto <= 0 {
		maxCrypto = DefaultMaxCrypto
	}
	return &Conn{buf: make([]byte, maxCrypto)}
}

// Reset empties c for a new connection whose first client Initial had
// Destination Connection ID odcid (copied, at most [MaxConnIDLen] bytes).
func (c *Conn) Reset(odcid []byte) {
	c.nranges = 0
	c.packets = 0
	c.dcidLen = copy(c.dcid[:], odcid)
}

// ODCID returns the original Destination Connection ID given to
// [Conn.Reset], the one to pass to [Parser.PacketWithDCID]. It aliases c
// and is valid until the next Reset.
func (c *Conn) ODCID() []byte { return c.dcid[:c.dcidLen] }

// Packets returns how many payloads [Conn.Add] accepted since the last
// Reset.
func (c *Conn) Packets() int { return c.packets }

// Buffered returns how many distinct CRYPTO stream bytes c holds.
func (c *Conn) Buffered() int {
	n := 0
	for _, r := range c.ranges[:c.nranges] {
		n += r.end - r.start
	}
	return n
}

// Add reads the frames of one decrypted client Initial payload (as in
// [PacketInfo.Payload]) and stores the CRYPTO data. It copies what it
// keeps, so payload stays owned by the caller. PADDING, PING, ACK and
// CONNECTION_CLOSE frames are skipped.
//
// Add stops at the first frame it cannot read and returns the error
// ([ErrFrame], [ErrTruncated], [ErrMalformed]); data from earlier frames is
// kept. It returns [ErrTooLarge] when CRYPTO data or the announced hello
// length passes the cap, and [ErrFragmented] when the stream has more holes
// than c tracks. CRYPTO data after a complete hello is ignored. Add does not
// allocate.
func (c *Conn) Add(payload []byte) error {
	c.packets++
	for len(payload) > 0 {
		f, n, err := NextFrame(payload)
		if err != nil {
			return err
		}
		payload = payload[n:]
		if f.Type != FrameCrypto || len(f.Data) == 0 {
			continue
		}
		if _, done := c.Hello(); done {
			continue
		}
		limit := uint64(len(c.buf))
		if f.Offset > limit || uint64(len(f.Data)) > limit-f.Offset {
			return ErrTooLarge
		}
		start := int(f.Offset)
		end := start + copy(c.buf[start:], f.Data)
		if err := c.insert(start, end); err != nil {
			return err
		}
		if c.nranges > 0 && c.ranges[0].start == 0 && c.ranges[0].end >= 4 && c.helloLen() > len(c.buf) {
			return ErrTooLarge
		}
	}
	return nil
}

// insert records [s, e) as received, merging touching ranges.
func (c *Conn) insert(s, e int) error {
	i := 0
	for i < c.nranges && c.ranges[i].end < s {
		i++
	}
	j := i
	for j < c.nranges && c.ranges[j].start <= e {
		s = min(s, c.ranges[j].start)
		e = max(e, c.ranges[j].end)
		j++
	}
	if j == i {
		if c.nranges == len(c.ranges) {
			return ErrFragmented
		}
		copy(c.ranges[i+1:c.nranges+1], c.ranges[i:c.nranges])
		c.nranges++
	} else {
		copy(c.ranges[i+1:], c.ranges[j:c.nranges])
		c.nranges -= j - i - 1
	}
	c.ranges[i] = span{s, e}
	return nil
}

// helloLen is the length of the first handshake message, header included;
// the first four stream bytes must be present.
func (c *Conn) helloLen() int {
	return 4 + (int(c.buf[1])<<16 | int(c.buf[2])<<8 | int(c.buf[3]))
}

// Hello returns the first handshake message of the CRYPTO stream,
// including its 4-byte header, ready for tlshello's ClientHello.Parse, and
// whether it is complete. Until it is, msg is nil. msg aliases c's buffer
// and is valid until the next [Conn.Reset].
func (c *Conn) Hello() (msg []byte, complete bool) {
	if c.nranges == 0 || c.ranges[0].start != 0 || c.ranges[0].end < 4 {
		return nil, false
	}
	n := c.helloLen()
	if n > len(c.buf) || c.ranges[0].end < n {
		return nil, false
	}
	return c.buf[:n], true
}
