package flow

import (
	"hash/maphash"
	"math/bits"
	"net/netip"

	"github.com/monitor443/monitor443/capture"
)

// Key identifies a flow by its two endpoints and transport protocol. Keys
// are canonical: endpoint A is the smaller of the two (address first, then
// port), so both directions of a conversation build the same Key. Key is
// comparable and may be used as a map key.
type Key struct {
	// A and B are the endpoint addresses, A the smaller one.
	A, B netip.Addr
	// APort and BPort are the ports of A and B.
	APort, BPort uint16
	// Proto is the transport protocol.
	Proto capture.Proto
}

// KeyOf returns the canonical Key of p and whether p's source is endpoint A.
func KeyOf(p *capture.Packet) (k Key, srcIsA bool) {
	c := p.Src.Compare(p.Dst)
	if c < 0 || (c == 0 && p.SrcPort <= p.DstPort) {
		return Key{A: p.Src, B: p.Dst, APort: p.SrcPort, BPort: p.DstPort, Proto: p.Proto}, true
	}
	return Key{A: p.Dst, B: p.Src, APort: p.DstPort, BPort: p.SrcPort, Proto: p.Proto}, false
}

// Dir is the direction of a packet within a flow.
type Dir uint8

// Directions, relative to the flow's client.
const (
	ClientToServer Dir = iota
	ServerToClient
)

// String returns "c2s" or "s2c".
func (d Dir) String() string {
	if d == ClientToServer {
		return "c2s"
	}
	return "s2c"
}

// hasher hashes keys with a per-table random seed, so that spoofed sources
// cannot aim at one probe chain without knowing the seed.
type hasher struct {
	s0, s1 uint64
}

func newHasher() hasher {
	seed := maphash.MakeSeed()
	return hasher{
		s0: maphash.Comparable(seed, uint64(0x9e3779b97f4a7c15)),
		s1: maphash.Comparable(seed, uint64(0xc2b2ae3d27d4eb4f)),
	}
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash returns a 64-bit hash of k. The zone of an IPv6 address is not
// hashed; keys that differ only by zone collide and are told apart by the
// full-key comparison.
func (h hasher) hash(k *Key) uint64 {
	a := k.A.As16()
	b := k.B.As16()
	a0 := leUint64(a[0:8])
	a1 := leUint64(a[8:16])
	b0 := leUint64(b[0:8])
	b1 := leUint64(b[8:16])
	pp := uint64(k.APort)<<32 | uint64(k.BPort)<<16 | uint64(k.Proto)
	x := mix(a0^h.s0, a1^0xa0761d6478bd642f)
	x = mix(x^b0, b1^h.s1)
	x = mix(x^pp, 0xe7037ed1a0b428db^h.s0)
	return x
}

func leUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
