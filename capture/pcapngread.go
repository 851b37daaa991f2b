package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// pcapng block types.
const (
	ngSHB       = 0x0a0d0d0a // section header
	ngIDB       = 1          // interface description
	ngOPB       = 2          // packet (obsolete)
	ngSPB       = 3          // simple packet
	ngNRB       = 4          // name resolution
	ngISB       = 5          // interface statistics
	ngEPB       = 6          // enhanced packet
	ngIRIG      = 7          // IRIG timestamp
	ngARINC     = 8          // ARINC 429
	ngJournal   = 9          // systemd journal export
	ngDSB       = 0x0a       // decryption secrets
	ngCustom    = 0xbad      // custom, may be copied
	ngCustomNoC = 0x40000bad // custom, must not be copied

	// maxBlock bounds a block's total length: a packet of maxRecord bytes
	// with room for its options. Longer blocks are taken for damage.
	maxBlock = 2 * maxRecord
)

// knownBlock reports whether t is a block type of the pcapng
// specification.
func knownBlock(t uint32) bool {
	switch t {
	case ngSHB, ngIDB, ngOPB, ngSPB, ngNRB, ngISB, ngEPB, ngIRIG, ngARINC, ngJournal, ngDSB, ngCustom, ngCustomNoC:
		return true
	}
	return false
}

// ngIface is what an interface description block says about the packets
// of its interface.
type ngIface struct {
	link    LinkType
	snaplen uint32
	// A timestamp counts units of 1/mask seconds; the fraction is scaled
	// to nanoseconds by up/down, as pcapgo does.
	mask, up, down uint64
	offset         int64 // seconds added to every timestamp (if_tsoffset)
}

// ngReader reads the packets of a pcapng file straight out of the
// source's read buffer, as pcapReader does for classic pcap: a packet's
// bytes are a slice of the buffer, valid until the next call.
//
// A block is taken as it is when its type is known, its total length is a
// multiple of 4 within maxBlock and equal to the copy at its end, and, for
// a packet, its interface is known, its captured length fits the block,
// the interface's snap length and the original length, and its time is
// within an hour of the last good packet's. Anything else sends the reader
// to resync, which finds the next plausible block and either keeps the
// bytes before it as one repaired packet or skips them, counting both in
// damage as pcapReader does.
type ngReader struct {
	br      *bufio.Reader
	big     bool // the section is big-endian
	ifaces  []ngIface
	pending int // bytes of the last block, discarded at the next call

	seen      bool  // a packet was read; lastNS holds its time
	lastNS    int64 // time of the last good packet, Unix ns
	lastIface int   // interface of the last good packet
	damage    *Damage
}

// u32, u16 and u64 read the section's byte order.
func (r *ngReader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *ngReader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *ngReader) u64(b []byte) uint64 {
	if r.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// ngPacket is a packet block's content.
type ngPacket struct {
	data   []byte
	ts     int64
	length int
	link   LinkType
	iface  int
}

// newNgReader checks the section header at the start of br (block type,
// byte-order magic, major version 1) and takes the byte order from it.
// The header itself is read as a block by next.
func newNgReader(br *bufio.Reader, damage *Damage) (*ngReader, error) {
	h, err := br.Peek(16)
	if len(h) < 16 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("section header: %w", err)
	}
	r := &ngReader{br: br, damage: damage}
	switch {
	case binary.LittleEndian.Uint32(h) != ngSHB:
		return nil, fmt.Errorf("not a section header: %x", h[:4])
	case binary.LittleEndian.Uint32(h[8:12]) == 0x1a2b3c4d:
	case binary.BigEndian.Uint32(h[8:12]) == 0x1a2b3c4d:
		r.big = true
	default:
		return nil, fmt.Errorf("unknown byte-order magic %x", h[8:12])
	}
	if v := r.u16(h[12:14]); v != 1 {
		return nil, fmt.Errorf("unknown major version %d", v)
	}
	return r, nil
}

// next returns the next packet's bytes, timestamp (Unix ns), original
// length and link type. The bytes are a slice of the read buffer, valid
// until the next call. It returns io.EOF at the end of the file and
// io.ErrUnexpectedEOF for a block cut short there.
func (r *ngReader) next() (data []byte, ts int64, length int, link LinkType, err error) {
	for {
		if r.pending > 0 {
			_, _ = r.br.Discard(r.pending)
			r.pending = 0
		}
		h, err := r.br.Peek(8)
		if len(h) < 8 {
			if len(h) > 0 && err == io.EOF {
				return r.resyncOrEOF()
			}
			return nil, 0, 0, 0, err
		}
		if binary.LittleEndian.Uint32(h) == ngSHB {
			// A new section may change the byte order.
			if m, _ := r.br.Peek(12); len(m) == 12 {
				switch {
				case binary.LittleEndian.Uint32(m[8:12]) == 0x1a2b3c4d:
					r.big = false
				case binary.BigEndian.Uint32(m[8:12]) == 0x1a2b3c4d:
					r.big = true
				}
			}
		}
		typ, n := r.u32(h), r.u32(h[4:8])
		var p ngPacket
		ok := false
		if n >= 12 && n%4 == 0 && n <= maxBlock {
			b, err := r.br.Peek(int(n))
			switch {
			case len(b) < int(n) && err != io.EOF:
				return nil, 0, 0, 0, err
			case len(b) == int(n) && r.u32(b[n-4:]) == n && typ == ngEPB:
				// The common case, without block's switch.
				if p, ok = r.packet(typ, b); ok && r.seen && !near(p.ts/1e9, r.lastNS/1e9) {
					ok = false
				}
				if ok {
					r.seen, r.lastNS, r.lastIface = true, p.ts, p.iface
				}
			case len(b) == int(n) && r.u32(b[n-4:]) == n:
				p, ok = r.block(typ, b, true)
			}
		}
		if !ok {
			got, err := r.resync()
			if err != nil {
				return nil, 0, 0, 0, err
			}
			if got == nil {
				continue
			}
			p = *got
		} else {
			r.pending = int(n)
			if p.data == nil {
				continue // not a packet
			}
		}
		return p.data, p.ts, p.length, p.link, nil
	}
}

// resyncOrEOF handles the last bytes of a file, too few for a block
// header.
func (r *ngReader) resyncOrEOF() ([]byte, int64, int, LinkType, error) {
	p, err := r.resync()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	if p == nil {
		return r.next()
	}
	return p.data, p.ts, p.length, p.link, nil
}

// block handles a whole block b of type typ whose lengths are right: a
// section header starts a new section, an interface description adds an
// interface, a packet is returned (data != nil), other known blocks are
// passed over. It reports false for a block that is implausible. Unless
// take is false, it updates the reader's state.
func (r *ngReader) block(typ uint32, b []byte, take bool) (ngPacket, bool) {
	switch typ {
	case ngEPB, ngOPB, ngSPB:
		p, ok := r.packet(typ, b)
		if !ok || (r.seen && !near(p.ts/1e9, r.lastNS/1e9)) {
			return p, false
		}
		if take {
			r.seen, r.lastNS, r.lastIface = true, p.ts, p.iface
		}
		return p, true
	case ngIDB:
		ifc, ok := r.idb(b)
		if ok && take {
			r.ifaces = append(r.ifaces, ifc)
		}
		return ngPacket{}, ok
	case ngSHB:
		if len(b) < 28 || r.u32(b[8:12]) != 0x1a2b3c4d || r.u16(b[12:14]) != 1 {
			return ngPacket{}, false
		}
		if take {
			r.ifaces = r.ifaces[:0]
		}
		return ngPacket{}, true
	case ngISB:
		return ngPacket{}, len(b) >= 24 && int(r.u32(b[8:12])) < len(r.ifaces)
	}
	return ngPacket{}, knownBlock(typ)
}

// packet reads a packet block b (enhanced, simple or obsolete) whose
// lengths are right. It reports false when the interface is unknown or
// the captured length does not fit.
func (r *ngReader) packet(typ uint32, b []byte) (ngPacket, bool) { return r.packetAs(typ, b, nil) }

// packetAs is packet with standIn, when not nil, for an unknown
// interface.
func (r *ngReader) packetAs(typ uint32, b []byte, standIn *ngIface) (ngPacket, bool) {
	var p ngPacket
	var caplen, orig uint32
	var tsraw uint64
	hdr := 28
	switch typ {
	case ngSPB:
		if len(b) < 16 || len(r.ifaces) == 0 {
			return p, false
		}
		orig, hdr = r.u32(b[8:12]), 12
		caplen = min(orig, uint32(len(b)-16))
		if s := r.ifaces[0].snaplen; s != 0 {
			caplen = min(caplen, s)
		}
		p.ts = r.lastNS // a simple packet has no time of its own
	case ngEPB, ngOPB:
		if len(b) < 32 {
			return p, false
		}
		if typ == ngEPB {
			p.iface = int(r.u32(b[8:12]))
		} else {
			p.iface = int(r.u16(b[8:10]))
		}
		tsraw = uint64(r.u32(b[12:16]))<<32 | uint64(r.u32(b[16:20]))
		caplen, orig = r.u32(b[20:24]), r.u32(b[24:28])
		if (standIn == nil && (p.iface >= len(r.ifaces) || p.iface < 0)) || caplen > orig || !r.fitsLoosely(b, int(caplen)) {
			return p, false
		}
	default:
		return p, false
	}
	ifc := standIn
	if p.iface >= 0 && p.iface < len(r.ifaces) {
		ifc = &r.ifaces[p.iface]
	}
	if caplen > maxRecord || (ifc.snaplen != 0 && caplen > ifc.snaplen) {
		return p, false
	}
	if typ != ngSPB {
		p.ts = ifc.time(tsraw)
	}
	p.data = b[hdr : hdr+int(caplen) : hdr+int(caplen)]
	p.length, p.link = int(orig), ifc.link
	return p, true
}

// time converts a raw timestamp to Unix nanoseconds.
func (ifc *ngIface) time(ts uint64) int64 {
	if ifc.down == 1 && ifc.mask*ifc.up == 1e9 {
		return int64(ts*ifc.up) + ifc.offset*1e9 // the same, without dividing
	}
	return (int64(ts/ifc.mask)+ifc.offset)*1e9 + int64(ts%ifc.mask*ifc.up/ifc.down)
}

// idb reads an interface description block: its link type and snap
// length, and the timestamp resolution and offset from its options.
func (r *ngReader) idb(b []byte) (ngIface, bool) {
	if len(b) < 20 || r.u16(b[10:12]) != 0 {
		return ngIface{}, false
	}
	ifc := ngIface{link: LinkType(r.u16(b[8:10])), snaplen: r.u32(b[12:16])}
	res := uint8(6)
	opts := b[16 : len(b)-4]
	for len(opts) >= 4 {
		code, n := r.u16(opts[0:2]), int(r.u16(opts[2:4]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n >= 1: // if_tsresol
			res = v[0]
		case code == 14 && n >= 8: // if_tsoffset
			ifc.offset = int64(r.u64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	if res == 0 {
		res = 6
	}
	exp := res & 0x7f
	if res&0x80 != 0 {
		if exp > 63 {
			return ngIface{}, false
		}
		ifc.mask = 1 << exp
	} else {
		if exp > 19 {
			return ngIface{}, false
		}
		ifc.mask = 1
		for range exp {
			ifc.mask *= 10
		}
	}
	ifc.up, ifc.down = 1, 1
	if ifc.mask < 1e9 {
		ifc.up = 1e9 / ifc.mask
	} else {
		ifc.down = ifc.mask / 1e9
	}
	return ifc, true
}

// candidate judges whether a block starts at buf[q]: a known type, a total
// length that is a multiple of 4 within maxBlock and equal to its copy at
// the block's end, contents that agree (see block), and, away from where
// a block was expected (q > 0), a block after it that looks like one
// (known type, sane length, the copy at its end equal where buffered)
// unless this block ends the file. A packet at a time far from the last
// good packet's needs the block after it to be a packet at a time near its
// own. atEOF says buf holds the rest of the file.
func (r *ngReader) candidate(buf []byte, q int, atEOF bool) verdict {
	typ, n := r.u32(buf[q:]), r.u32(buf[q+4:])
	if !knownBlock(typ) || n < 12 || n%4 != 0 || n > maxBlock {
		return implausible
	}
	end := q + int(n)
	switch {
	case end > len(buf) && atEOF:
		return implausible
	case end > len(buf):
		return needMore
	case r.u32(buf[end-4:]) != n && q == 0:
		return implausible
	case r.u32(buf[end-4:]) != n:
		// A block whose copy of its length is damaged, found by the
		// whole block of a known type after it.
		if end+12 > len(buf) && !atEOF {
			return needMore
		}
		if r.blockStart(buf, end, atEOF, true) {
			return plausible
		}
		return implausible
	}
	if _, ok := r.block(typ, buf[q:end], false); !ok {
		// A packet at a time far off, or nothing.
		if p, ok := r.packet(typ, buf[q:end]); ok && typ != ngSPB && r.vouched(buf, end, p.ts) {
			return plausible
		}
		if _, ok := r.lostIface(buf, q, end, atEOF); ok {
			return plausible
		}
		return implausible
	}
	switch {
	case q == 0:
		return plausible
	case end == len(buf) && atEOF:
		return plausible
	case end+8 > len(buf) && atEOF:
		return implausible
	case end+8 > len(buf):
		return needMore
	}
	if end+12 > len(buf) && !atEOF {
		return needMore
	}
	if !r.blockStart(buf, end, atEOF, false) {
		return implausible
	}
	return plausible
}

// vouched reports whether the block at buf[end] is a whole packet block
// with a time of its own near ts (Unix ns).
func (r *ngReader) vouched(buf []byte, end int, ts int64) bool {
	if end+8 > len(buf) {
		return false
	}
	ft, fn := r.u32(buf[end:]), r.u32(buf[end+4:])
	fend := end + int(fn)
	if fn < 12 || fn%4 != 0 || fn > maxBlock || fend > len(buf) || r.u32(buf[fend-4:]) != fn {
		return false
	}
	p, ok := r.packet(ft, buf[end:fend])
	return ok && ft != ngSPB && near(p.ts/1e9, ts/1e9)
}

// maxIfaces bounds the interface id of a packet whose interface
// description was lost; a larger id is taken for a damaged one.
const maxIfaces = 64

// lostIface reports whether the packet block buf[q:end] is one whose
// interface description was lost to damage, or whose interface id was
// damaged: a whole enhanced packet block of an interface not described,
// followed by a
// block start (see blockStart), with a time near the last good
// packet's or, without one, between 1990 and 2100. It returns a stand-in
// description: the last interface's, or, when there is none, the link type
// whose header the packet's data starts with and the timestamp resolution
// (microseconds or nanoseconds) that puts its time in range.
func (r *ngReader) lostIface(buf []byte, q, end int, atEOF bool) (ngIface, bool) {
	b := buf[q:end]
	if r.u32(b) != ngEPB || len(b) < 32 {
		return ngIface{}, false
	}
	if id := r.u32(b[8:12]); id < uint32(len(r.ifaces)) || !r.blockStart(buf, end, atEOF, false) {
		return ngIface{}, false
	}
	for _, ifc := range r.standIns(b) {
		p, ok := r.packetAs(ngEPB, b, &ifc)
		if ok && (r.seen && near(p.ts/1e9, r.lastNS/1e9) || !r.seen && p.ts >= 631152000e9 && p.ts <= 4102444800e9) {
			return ifc, true
		}
	}
	return ngIface{}, false
}

// standIns returns the interface descriptions that may stand in for the
// lost one of packet block b: the last interface's, or, without one, the
// link type whose header b's data starts with, in microseconds and in
// nanoseconds.
func (r *ngReader) standIns(b []byte) []ngIface {
	if len(r.ifaces) > 0 {
		return []ngIface{r.ifaces[len(r.ifaces)-1]}
	}
	data := b[28:max(28, min(len(b)-4, 28+int(r.u32(b[20:24]))))]
	link := LinkEthernet
	for _, lt := range []LinkType{LinkEthernet, LinkRaw, LinkLinuxSLL, LinkLinuxSLL2, LinkNull} {
		if plausibleLink(lt, data) {
			link = lt
			break
		}
	}
	var out []ngIface
	for _, mask := range []uint64{1e6, 1e9} {
		out = append(out, ngIface{link: link, mask: mask, up: 1e9 / mask, down: 1})
	}
	return out
}

// resync is called with a block at the start of the buffer that failed
// next's checks. When that block is plausible after all (a packet whose
// time jumped, and the packet after it confirms the jump), it is taken as
// is. Otherwise resync looks for the next plausible block start: the bytes
// before it are returned as one repaired packet when they look like a
// damaged packet block (see repair), or skipped. It returns nil and no
// error when it took or skipped a block that is not a packet. Skipped
// bytes and repaired packets are counted in r.damage. It reads byte by
// byte through the buffer, discarding what it has passed, so it always
// ends.
func (r *ngReader) resync() (*ngPacket, error) {
	size := r.br.Size()
	buf, err := r.br.Peek(size)
	if len(buf) < size && err != io.EOF {
		return nil, err
	}
	if len(buf) >= 12 && r.candidate(buf, 0, len(buf) < size) == plausible {
		n := int(r.u32(buf[4:8]))
		typ := r.u32(buf)
		r.pending = n
		if typ == ngEPB || typ == ngOPB || typ == ngSPB {
			var p ngPacket
			if ifc, ok := r.lostIface(buf, 0, n, len(buf) < size); ok {
				p, _ = r.packetAs(typ, buf[:n], &ifc)
				switch id := int(r.u32(buf[8:12])); {
				case id < maxIfaces:
					for len(r.ifaces) <= id {
						r.ifaces = append(r.ifaces, ifc)
					}
				case len(r.ifaces) == 0:
					r.ifaces = append(r.ifaces, ifc)
					p.iface = 0
				default:
					p.iface = r.lastIface // a damaged interface id
				}
			} else {
				p, _ = r.packet(typ, buf[:n])
			}
			r.seen, r.lastNS, r.lastIface = true, p.ts, p.iface
			return &p, nil
		}
		r.block(typ, buf[:n], true)
		return nil, nil
	}
	if e := r.extent(buf, len(buf) < size); e > 0 {
		return r.repairOrSkip(buf[:e]), nil
	}
	skipped := 0 // bytes discarded so far
	for {
		if skipped > 0 {
			buf, err = r.br.Peek(size)
			if len(buf) < size && err != io.EOF {
				return nil, err
			}
		}
		atEOF := len(buf) < size
		found, stop := scanPlausible(buf, 12, atEOF, r.candidate)
		switch {
		case found > 0 && skipped == 0:
			return r.repairOrSkip(buf[:found]), nil
		case found > 0:
			_, _ = r.br.Discard(found)
			r.skip(skipped + found)
			return nil, nil
		case atEOF:
			if skipped == 0 && len(buf) >= 8 {
				typ, n := r.u32(buf), r.u32(buf[4:8])
				if knownBlock(typ) && n >= 12 && n%4 == 0 && n <= maxBlock && int(n) > len(buf) {
					return nil, io.ErrUnexpectedEOF // the last block, cut short
				}
				if p, ok := r.repair(buf); ok {
					r.pending = len(buf)
					r.damage.Repaired.Add(1)
					return p, nil
				}
			}
			_, _ = r.br.Discard(len(buf))
			if skipped+len(buf) > 0 {
				r.skip(skipped + len(buf))
			}
			return nil, io.EOF
		}
		if stop == 0 {
			stop = 1 // make progress
		}
		_, _ = r.br.Discard(stop)
		skipped += stop
	}
}

// extent returns the length of the damaged block at the start of buf when
// its end is certain enough, or 0. In order: its total length where the
// copy at its end agrees, or where it is that of a packet block of its
// captured or original length, or where the first whole block of a known
// type after it starts there (for a block of another known type, the
// first block start); the first offset q (a multiple of 4, as blocks are)
// with the length q just before it and a whole block of a known type at q
// (for a block of another known type, a block start), where the captured
// or original length fits q or no whole block starts before q; the length of a packet block of its
// captured or original length, without options or with the options found
// there, where a block may start (see weakStart). The lengths taken from
// damaged fields must not point past a whole block. atEOF says buf holds
// the rest of the file.
func (r *ngReader) extent(buf []byte, atEOF bool) int {
	if len(buf) < 32 {
		return 0
	}
	typ, n := r.u32(buf), int(r.u32(buf[4:8]))
	lens := []int{int(r.u32(buf[20:24])), int(r.u32(buf[24:28]))}
	other := typ != ngEPB && knownBlock(typ)
	if n >= 12 && n%4 == 0 && n <= maxBlock && n <= len(buf) {
		if int(r.u32(buf[n-4:])) == n || r.fits(buf[:n], lens[0]) || r.fits(buf[:n], lens[1]) {
			return n
		}
		if r.blockStart(buf, n, atEOF, !other) && r.noBlockBefore(buf, n, atEOF) {
			return n
		}
	}
	for q := 32; q <= min(len(buf), maxBlock); q += 4 {
		if int(r.u32(buf[q-4:])) == q && r.blockStart(buf, q, atEOF, !other) &&
			(!other && (r.fits(buf[:q], lens[0]) || r.fits(buf[:q], lens[1])) || r.noBlockBefore(buf, q, atEOF)) {
			return q
		}
	}
	for _, c := range lens {
		if c < 0 || c > maxRecord {
			continue
		}
		for _, e := range r.ends(buf, c) {
			if r.weakStart(buf, e, atEOF) && r.noBlockBefore(buf, e, atEOF) {
				return e
			}
		}
	}
	return 0
}

// ends returns where a packet block at the start of buf with caplen
// captured bytes ends: without options, and after the options found there
// (see fits) when they end within buf.
func (r *ngReader) ends(buf []byte, caplen int) []int {
	pos := 28 + (caplen+3)&^3
	out := []int{pos + 4}
	for pos+4 <= len(buf) && pos < 28+maxRecord+4096 {
		code, n := r.u16(buf[pos:pos+2]), int(r.u16(buf[pos+2:pos+4]))
		switch {
		case code == 0 && n == 0:
			return append(out, pos+8)
		case n == 0 || (code > 7 && code != 2988 && code != 2989 && code != 19372 && code != 19373):
			return out
		}
		pos += 4 + (n+3)&^3
	}
	return out
}

// noBlockBefore reports whether no whole block of a known type starts in
// buf[32:e] (a damaged length that points past one is wrong).
func (r *ngReader) noBlockBefore(buf []byte, e int, atEOF bool) bool {
	for q := 32; q < e; q += 4 {
		if r.blockStart(buf, q, atEOF, true) {
			return false
		}
	}
	return true
}

// weakStart reports whether a block may start at buf[e] after a damaged
// packet block at buf[0]: a block start (see blockStart), or a block with
// the same high 32 bits of time, or one whose own captured or original
// length ends it where a block starts.
func (r *ngReader) weakStart(buf []byte, e int, atEOF bool) bool {
	if r.blockStart(buf, e, atEOF, false) {
		return true
	}
	if e+32 > len(buf) {
		return false
	}
	if r.u32(buf[e+12:]) == r.u32(buf[12:]) {
		return true
	}
	for _, c := range []int{int(r.u32(buf[e+20:])), int(r.u32(buf[e+24:]))} {
		if c < 0 || c > maxRecord {
			continue
		}
		for _, e2 := range r.ends(buf[e:], c) {
			if r.blockStart(buf, e+e2, atEOF, false) {
				return true
			}
		}
	}
	return false
}

// blockStart reports whether a block starts at buf[q]: the end of the
// file, or a block with its total length equal to the copy at its end and
// a known type, or, unless strict, either of the two (a damaged block
// after the damaged one).
func (r *ngReader) blockStart(buf []byte, q int, atEOF, strict bool) bool {
	if q == len(buf) {
		return atEOF
	}
	if q+12 > len(buf) {
		return false
	}
	typ, n := r.u32(buf[q:]), int(r.u32(buf[q+4:]))
	lengths := n >= 12 && n%4 == 0 && n <= maxBlock && q+n <= len(buf) && int(r.u32(buf[q+n-4:])) == n
	if strict {
		return lengths && knownBlock(typ)
	}
	return lengths || knownBlock(typ)
}

// repairOrSkip keeps the damaged block at the start of the reader's
// buffer as one repaired packet (repair), or, when it holds none, discards
// it and counts it skipped.
func (r *ngReader) repairOrSkip(block []byte) *ngPacket {
	if p, ok := r.repair(block); ok {
		r.pending = len(block)
		r.damage.Repaired.Add(1)
		return p
	}
	_, _ = r.br.Discard(len(block))
	r.skip(len(block))
	return nil
}

// repair makes a packet of gap, the bytes before the next plausible block,
// when they look like one damaged enhanced packet block: of a packet's
// size, and with the enhanced packet type or at least one of the two
// length fields equal to the gap's length. The interface, captured and
// original length and time are the block's own where plausible, else the
// last good packet's interface, the rest of the gap, and the last good
// packet's time (the repair pcapfix makes). A damaged interface
// description is kept too (counted as repaired), so that the packets after
// it remain readable. It reports false for anything else.
func (r *ngReader) repair(gap []byte) (*ngPacket, bool) {
	g := len(gap)
	if g < 20 {
		return nil, false
	}
	typ, n, tail := r.u32(gap), r.u32(gap[4:8]), r.u32(gap[g-4:])
	if typ == ngIDB || len(r.ifaces) == 0 && !knownBlock(typ) {
		// A damaged interface description, or where one is wanted,
		// something that looks like one: kept, lest every packet of its
		// interface be lost.
		fixed := append([]byte(nil), gap...)
		fixed[10], fixed[11] = 0, 0 // the reserved field
		if ifc, ok := r.idb(fixed); ok && ifc.link < 512 {
			r.ifaces = append(r.ifaces, ifc)
			// Kept; but a long gap held more than that, and is skipped.
			return nil, g <= 4096
		}
		return nil, false
	}
	if g < 32 || g > maxRecord+32 || (typ != ngEPB && (knownBlock(typ) || (int(n) != g && int(tail) != g))) {
		return nil, false
	}
	if len(r.ifaces) == 0 {
		r.ifaces = append(r.ifaces, r.standIns(gap)[0]) // the interface description was lost
	}
	p := ngPacket{iface: int(r.u32(gap[8:12]))}
	if p.iface < 0 || p.iface >= len(r.ifaces) {
		p.iface = min(r.lastIface, len(r.ifaces)-1)
	}
	ifc := &r.ifaces[p.iface]
	caplen, orig := int(r.u32(gap[20:24])), int(r.u32(gap[24:28]))
	switch {
	case r.fitsLoosely(gap, caplen), caplen == orig && caplen >= 0 && caplen <= g-32:
		// Where the two lengths agree, damaged options are taken to
		// follow the data.
	case r.fitsLoosely(gap, orig):
		caplen = orig
	default:
		caplen = g - 32 // the rest of the gap
	}
	if orig < caplen || orig > maxRecord {
		orig = caplen
	}
	p.ts = ifc.time(uint64(r.u32(gap[12:16]))<<32 | uint64(r.u32(gap[16:20])))
	switch {
	case r.seen && near(p.ts/1e9, r.lastNS/1e9):
		r.lastNS = p.ts
	case r.seen:
		p.ts = r.lastNS
	}
	p.data, p.length, p.link = gap[28:28+caplen:28+caplen], orig, ifc.link
	return &p, true
}

// fits reports whether a packet block b of caplen captured bytes has
// room for exactly them and well-formed options, if any: options of the
// enhanced packet block's codes (or custom ones), not empty, ended by an
// end-of-options.
func (r *ngReader) fits(b []byte, caplen int) bool {
	end := 28 + (caplen+3)&^3
	if caplen < 0 || caplen > maxRecord || end > len(b)-4 {
		return false
	}
	opts := b[end : len(b)-4]
	for len(opts) >= 4 {
		code, n := r.u16(opts[0:2]), int(r.u16(opts[2:4]))
		switch {
		case code == 0:
			return n == 0 && len(opts) == 4
		case n == 0 || (code > 7 && code != 2988 && code != 2989 && code != 19372 && code != 19373):
			return false
		case 4+(n+3)&^3 > len(opts):
			return false
		}
		opts = opts[4+(n+3)&^3:]
	}
	return len(opts) == 0
}

// fitsLoosely is fits for a block that may have damaged options: no
// options, or a first option of a right code and length, and no more than
// 256 bytes of options.
func (r *ngReader) fitsLoosely(b []byte, caplen int) bool {
	end := 28 + (caplen+3)&^3
	if caplen < 0 || caplen > maxRecord || end > len(b)-4 {
		return false
	}
	if end == len(b)-4 {
		return true
	}
	if end+8 > len(b)-4 || len(b)-4-end > 256 {
		return false
	}
	n := int(r.u16(b[end+2 : end+4]))
	return end+4+(n+3)&^3 <= len(b)-4 && r.fits(b[:end+4+(n+3)&^3+4], caplen) // the first option, as if an end followed
}

func (r *ngReader) skip(n int) {
	r.damage.SkippedRecords.Add(1)
	r.damage.SkippedBytes.Add(uint64(n))
}
