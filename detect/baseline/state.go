package baseline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// State format, shared by every estimator:
//
//	magic "m443" | kind u8 | version u8 | body | crc32 (IEEE, little-endian) of all before it
//
// Numbers in the body are little-endian; floats are IEEE 754 bits.

// ErrCorrupt reports state bytes that cannot be decoded: truncated, with a bad
// checksum, or holding values no estimator could have produced.
var ErrCorrupt = errors.New("corrupt estimator state")

// ErrMismatch reports well-formed state that belongs to another kind of
// estimator, another format version, or a configuration of different shape
// (window length, season, bin count).
var ErrMismatch = errors.New("estimator state does not match")

const stateMagic = "m443"

// Kinds of state.
const (
	kindEWMA     = 1
	kindSeasonal = 2
	kindCUSUM    = 3
	kindMedian   = 4
	kindCount    = 5
	kindRecord   = 6
)

// stateVersion is the current version of every kind's body layout.
const stateVersion = 1

type encoder struct{ b []byte }

func newEncoder(kind byte, size int) *encoder {
	e := &encoder{b: make([]byte, 0, len(stateMagic)+2+size+4)}
	e.b = append(e.b, stateMagic...)
	e.b = append(e.b, kind, stateVersion)
	return e
}

func (e *encoder) u8(v uint8)    { e.b = append(e.b, v) }
func (e *encoder) u64(v uint64)  { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)   { e.u64(uint64(v)) }
func (e *encoder) f64(v float64) { e.u64(math.Float64bits(v)) }
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *encoder) finish() []byte {
	return binary.LittleEndian.AppendUint32(e.b, crc32.ChecksumIEEE(e.b))
}

// decoder reads a body; the first problem sticks in err and later reads
// return zeros.
type decoder struct {
	b   []byte
	err error
}

func newDecoder(data []byte, kind byte) (*decoder, error) {
	const head = len(stateMagic) + 2
	if len(data) < head+4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(data))
	}
	if string(data[:len(stateMagic)]) != stateMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum", ErrCorrupt)
	}
	if data[len(stateMagic)] != kind {
		return nil, fmt.Errorf("%w: kind %d, want %d", ErrMismatch, data[len(stateMagic)], kind)
	}
	if v := data[len(stateMagic)+1]; v != stateVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMismatch, v, stateVersion)
	}
	return &decoder{b: body[head:]}, nil
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) u8() uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) i64() int64 { return int64(d.u64()) }

func (d *decoder) bool(name string) bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("%s: not a boolean", name)
	return false
}

// maxStateMagnitude bounds every float in restored state. Real features are
// far smaller (even a sum of squares of 100 Gbit/s in bytes over a bin is
// about 1e25), and the bound keeps sums and products of restored values
// finite, so a crafted state cannot produce NaN verdicts.
const maxStateMagnitude = 1e100

// f64 reads a finite float of magnitude at most maxStateMagnitude.
func (d *decoder) f64(name string) float64 {
	v := math.Float64frombits(d.u64())
	if !finite(v) || math.Abs(v) > maxStateMagnitude {
		d.fail("%s: not finite or out of range", name)
		return 0
	}
	return v
}

// nonneg reads a finite float that must be >= 0.
func (d *decoder) nonneg(name string) float64 {
	v := d.f64(name)
	if v < 0 {
		d.fail("%s: negative", name)
		return 0
	}
	return v
}

// count reads a count that must be at most limit.
func (d *decoder) count(name string, limit uint64) uint64 {
	v := d.u64()
	if v > limit {
		d.fail("%s: %d exceeds %d", name, v, limit)
		return 0
	}
	return v
}

// done returns the sticky error, or an error if bytes are left over.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}
