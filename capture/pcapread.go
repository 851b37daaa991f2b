package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// pcapReader reads the records of a classic pcap file straight out of the
// source's read buffer: a record's bytes are a slice of the buffer, valid
// until the next call, with no copy and no per-record allocation. (pcapgo's
// reader copies every record through a second, 4 KiB buffer into its own,
// which cost about a third of the file reader's time.)
//
// A record is taken as it is when its capture length is at most the snap
// length and the original length, its timestamp fraction is in range, and
// its time is within an hour of the last good record's. Anything else
// sends the reader to resync, off the fast path, which finds the next
// plausible record and either keeps the bytes before it as one repaired
// record or skips them, counting both in damage.
type pcapReader struct {
	br      *bufio.Reader
	order   binary.ByteOrder
	nanos   int64  // nanoseconds per timestamp fraction unit: 1000 or 1
	fracMax uint32 // timestamp fractions are below this: 1e6 or 1e9
	snaplen uint32
	link    LinkType
	pending int // bytes of the last record, discarded at the next call

	seen    bool  // a record was read; lastSec and lastNS hold its time
	lastSec int64 // seconds field of the last good record
	lastNS  int64 // its time in Unix nanoseconds
	damage  *Damage
}

// newPCAPReader reads the 24-byte file header from br. Repairs and skipped
// bytes are added to damage.
func newPCAPReader(br *bufio.Reader, damage *Damage) (*pcapReader, error) {
	h, err := br.Peek(24)
	if len(h) < 24 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("file header: %w", err)
	}
	r := &pcapReader{br: br, order: binary.LittleEndian, nanos: 1000, fracMax: 1e6, damage: damage}
	switch binary.LittleEndian.Uint32(h) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		r.nanos, r.fracMax = 1, 1e9
	case 0xd4c3b2a1:
		r.order = binary.BigEndian
	case 0x4d3cb2a1:
		r.order, r.nanos, r.fracMax = binary.BigEndian, 1, 1e9
	default:
		return nil, fmt.Errorf("unknown magic %x", binary.LittleEndian.Uint32(h))
	}
	if v := r.order.Uint16(h[4:6]); v != 2 {
		return nil, fmt.Errorf("unknown major version %d", v)
	}
	r.snaplen = r.order.Uint32(h[16:20])
	r.link = LinkType(r.order.Uint32(h[20:24]) & 0x0fffffff) // the top bits carry FCS flags
	_, _ = br.Discard(24)
	return r, nil
}

// near reports whether two record times (seconds) are within
// maxJumpSeconds of each other.
func near(a, b int64) bool { return uint64(a-b+maxJumpSeconds) <= 2*maxJumpSeconds }

// next returns the next record's bytes, timestamp (Unix ns) and original
// length. The bytes are a slice of the read buffer, valid until the next
// call. It returns io.EOF at the end of the file and io.ErrUnexpectedEOF
// for a record cut short there.
func (r *pcapReader) next() (data []byte, ts int64, length int, err error) {
	if r.pending > 0 {
		_, _ = r.br.Discard(r.pending)
		r.pending = 0
	}
	h, err := r.br.Peek(16)
	if len(h) < 16 {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, 0, err
	}
	caplen, orig := r.order.Uint32(h[8:12]), r.order.Uint32(h[12:16])
	sec, frac := int64(r.order.Uint32(h[0:4])), r.order.Uint32(h[4:8])
	if caplen > r.snaplen || caplen > orig || (caplen < orig && caplen != r.snaplen) || frac >= r.fracMax ||
		int(caplen) > r.br.Size()-16 || !r.seen || !near(sec, r.lastSec) {
		// Also checked against the record after it: the first record,
		// before its time anchors the others, and a record cut short but
		// not at the snap length (a damaged length field, most likely).
		return r.resync()
	}
	n := 16 + int(caplen)
	rec, err := r.br.Peek(n)
	if len(rec) < n {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, 0, err
	}
	r.pending = n
	ts = sec*1e9 + int64(frac)*r.nanos
	r.seen, r.lastSec, r.lastNS = true, sec, ts
	return rec[16:n:n], ts, int(orig), nil
}

// mustPeek16 returns the 16 bytes next already checked to be buffered.
func (r *pcapReader) mustPeek16() []byte {
	h, _ := r.br.Peek(16)
	return h
}

// verdict is what resync makes of a candidate record start.
type verdict uint8

const (
	implausible verdict = iota
	plausible
	needMore // the check needs bytes beyond the buffer
)

// scanPlausible looks for the first offset q ≥ 1 in buf at which a record
// of header length hdr starts plausibly (candidate). It returns that
// offset, or -1, and stop: the first offset not looked at (where a check
// needed bytes beyond buf), from which the scan resumes once buf has been
// advanced.
func scanPlausible(buf []byte, hdr int, atEOF bool, candidate func([]byte, int, bool) verdict) (found, stop int) {
	stop = max(len(buf)-hdr+1, 0)
	for q := 1; q+hdr <= len(buf); q++ {
		switch candidate(buf, q, atEOF) {
		case needMore:
			return -1, q
		case plausible:
			return q, stop
		}
	}
	return -1, stop
}

// header reads a record header's fields.
func (r *pcapReader) header(h []byte) (sec int64, frac, caplen, orig uint32) {
	return int64(r.order.Uint32(h[0:4])), r.order.Uint32(h[4:8]), r.order.Uint32(h[8:12]), r.order.Uint32(h[12:16])
}

// candidate judges whether a record starts at buf[q]: lengths within the
// snap length (and maxRecord), a timestamp fraction in range, and, away
// from where a record was expected (q > 0), a decodable link header. Such a
// record at a time near the last good record's (or when there was none) is
// plausible; the record where one was expected (q == 0, which failed
// next's checks), or one at a time far off, needs the record after it to
// vouch: plausible too, at a time near this one's, unless this one ends the
// file exactly. A wrong time anchor therefore cannot make the rest of a
// file unreadable. atEOF says buf holds the rest of the file.
func (r *pcapReader) candidate(buf []byte, q int, atEOF bool) verdict {
	limit := min(r.snaplen, maxRecord)
	sec, frac, caplen, orig := r.header(buf[q : q+16])
	if caplen > limit || caplen > orig || frac >= r.fracMax {
		return implausible
	}
	end := q + 16 + int(caplen)
	switch {
	case end > len(buf) && atEOF:
		return implausible
	case end > len(buf):
		return needMore
	case q > 0 && r.seen && near(sec, r.lastSec) && (caplen == orig || caplen == r.snaplen):
		// With a time within the hour, right lengths are all but certain
		// proof (about one chance in 10^10 for random bytes), even when
		// damage elsewhere in the record spoilt its link header.
		return plausible
	case q > 0 && !plausibleLink(r.link, buf[q+16:end]):
		return implausible
	case q > 0 && (!r.seen || near(sec, r.lastSec)):
		// Without a time to go by, a link header too (runs of zero bytes
		// look like a header of empty records); a wrong anchor is got over
		// below.
		return plausible
	case end == len(buf) && atEOF:
		// The last record of the file: nothing follows to vouch for it.
		if r.seen && !near(sec, r.lastSec) {
			return implausible
		}
		return plausible
	case end+16 > len(buf) && atEOF:
		return implausible
	case end+16 > len(buf):
		return needMore
	}
	fsec, ffrac, fcap, forig := r.header(buf[end : end+16])
	if fcap > limit || fcap > forig || ffrac >= r.fracMax || !near(fsec, sec) {
		return implausible
	}
	if fend := end + 16 + int(fcap); fend <= len(buf) && !plausibleLink(r.link, buf[end+16:fend]) {
		return implausible
	}
	return plausible
}

// resync is called with a record header at the start of the buffer that
// failed next's checks. When that record is plausible after all (its time
// jumped, and the record after it confirms the jump), it is returned as
// is. Otherwise resync looks for the next plausible record start: when the
// bytes before it fit in one record, they are returned as a repaired record
// (pcapfix's repair); when not, they are skipped. Skipped bytes and
// repaired records are counted in r.damage. It reads byte by byte through
// the buffer, discarding what it has passed, so it always ends.
func (r *pcapReader) resync() (data []byte, ts int64, length int, err error) {
	size := r.br.Size()
	if _, _, caplen, _ := r.header(r.mustPeek16()); caplen <= maxRecord {
		// Is it a record after all? Peek no more than that takes.
		want := min(size, 32+int(caplen))
		buf, err := r.br.Peek(want)
		if len(buf) < want && err != io.EOF {
			return nil, 0, 0, err
		}
		if r.candidate(buf, 0, len(buf) < want) == plausible {
			sec, frac, caplen, orig := r.header(buf)
			n := 16 + int(caplen)
			r.pending = n
			ts = sec*1e9 + int64(frac)*r.nanos
			r.seen, r.lastSec, r.lastNS = true, sec, ts
			return buf[16:n:n], ts, int(orig), nil
		}
	}
	skipped := 0 // bytes discarded so far
	for {
		buf, err := r.br.Peek(size)
		if len(buf) < size && err != io.EOF {
			return nil, 0, 0, err
		}
		atEOF := len(buf) < size
		found, stop := scanPlausible(buf, 16, atEOF, r.candidate)
		switch {
		case found > 0 && skipped == 0 && found >= 16 && found-16 <= maxRecord:
			sec, frac, _, _ := r.header(buf[found:])
			return r.repaired(buf, found, sec*1e9+int64(frac)*r.nanos)
		case found > 0:
			_, _ = r.br.Discard(found)
			r.skip(skipped + found)
			return r.next()
		case atEOF:
			if skipped == 0 && len(buf) >= 16 {
				_, frac, caplen, orig := r.header(buf)
				if caplen <= r.snaplen && caplen <= orig && frac < r.fracMax && 16+int(caplen) > len(buf) {
					return nil, 0, 0, io.ErrUnexpectedEOF // the last record, cut short
				}
				if caplen <= orig && 16+int(caplen) == len(buf) {
					return r.repaired(buf, len(buf), r.lastNS) // the last record, damaged
				}
			}
			_, _ = r.br.Discard(len(buf))
			if skipped+len(buf) > 0 {
				r.skip(skipped + len(buf))
			}
			return nil, 0, 0, io.EOF
		}
		if stop == 0 {
			stop = 1 // make progress
		}
		_, _ = r.br.Discard(stop)
		skipped += stop
	}
}

// repaired returns buf[16:end] as one record whose header was damaged:
// its own time when plausible, else the last good record's, or when there
// was none, nextNS, the time of the record after it.
func (r *pcapReader) repaired(buf []byte, end int, nextNS int64) ([]byte, int64, int, error) {
	sec, frac, _, orig := r.header(buf)
	n := end - 16
	ts := r.lastNS
	switch {
	case frac < r.fracMax && (!r.seen || near(sec, r.lastSec)):
		ts = sec*1e9 + int64(frac)*r.nanos
		r.seen, r.lastSec, r.lastNS = true, sec, ts
	case !r.seen:
		ts = nextNS
	}
	if int(orig) < n || orig > maxRecord {
		orig = uint32(n)
	}
	r.pending = end
	r.damage.Repaired.Add(1)
	return buf[16:end:end], ts, int(orig), nil
}

// skip counts n skipped bytes as one skipped stretch.
func (r *pcapReader) skip(n int) {
	r.damage.SkippedRecords.Add(1)
	r.damage.SkippedBytes.Add(uint64(n))
}
