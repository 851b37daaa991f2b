package sketch

import (
	"encoding/binary"
	"net/netip"
)

// Fixed seeds, so hashes are the same on every run and every machine. They are
// arbitrary odd constants (the first digits of the fractional parts of π and e).
const (
	seed0 = 0x243f6a8885a308d3
	seed1 = 0xb7e151628aed2a6b
)

// fmix64 is the 64-bit finalizer of MurmurHash3: a bijection on uint64 whose
// every input bit affects every output bit with probability close to 1/2.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// HashUint64 returns a well-mixed 64-bit hash of x. It is a bijection, so
// distinct inputs never collide.
func HashUint64(x uint64) uint64 {
	return fmix64(x ^ seed0)
}

// Hash16 returns a 64-bit hash of a 16-byte value such as the result of
// [netip.Addr.As16]. It reads the value as two little-endian words x and y and
// returns fmix64(fmix64(x ⊕ seed0) ⊕ y ⊕ seed1); for a fixed y it is a
// bijection in x, and the other way round.
func Hash16(b [16]byte) uint64 {
	x := binary.LittleEndian.Uint64(b[:8])
	y := binary.LittleEndian.Uint64(b[8:])
	return fmix64(fmix64(x^seed0) ^ y ^ seed1)
}

// HashAddr returns the 64-bit hash of an IP address, [Hash16] of a.As16().
// An IPv4 address and its IPv4-mapped IPv6 form hash alike, and the zone is
// ignored. The invalid zero Addr hashes like the IPv6 unspecified address.
func HashAddr(a netip.Addr) uint64 {
	return Hash16(a.As16())
}

// HashBytes returns a 64-bit hash of b: FNV-1a over the bytes followed by
// fmix64. The caller keeps ownership of b; HashBytes does not retain it.
func HashBytes(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325) ^ seed1
	for _, c := range b {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return fmix64(h ^ uint64(len(b)))
}

// HashString returns the same hash as [HashBytes] of []byte(s), without
// converting.
func HashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325) ^ seed1
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return fmix64(h ^ uint64(len(s)))
}
