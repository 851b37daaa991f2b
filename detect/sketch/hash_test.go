package sketch

import (
	"math"
	"net/netip"
	"testing"
)

func TestHashAddrIPv4Mapped(t *testing.T) {
	t.Parallel()
	v4 := netip.MustParseAddr("192.0.2.7")
	mapped := netip.MustParseAddr("::ffff:192.0.2.7")
	if HashAddr(v4) != HashAddr(mapped) {
		t.Error("IPv4 and IPv4-mapped IPv6 hash differently")
	}
	zoned := netip.MustParseAddr("fe80::1%eth0")
	if HashAddr(zoned) != HashAddr(zoned.WithZone("")) {
		t.Error("zone changes the hash")
	}
	if HashAddr(v4) == HashAddr(v4.Next()) {
		t.Error("neighbouring addresses collide")
	}
}

func TestHashStringMatchesBytes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "example.com", "www.example.org", "\x00\x00"} {
		if HashString(s) != HashBytes([]byte(s)) {
			t.Errorf("HashString(%q) != HashBytes", s)
		}
	}
	if HashString("") == HashString("\x00") {
		t.Error("length is not mixed in")
	}
}

// TestHashAvalanche flips each input bit of many inputs and checks that every
// output bit flips with probability close to 1/2.
func TestHashAvalanche(t *testing.T) {
	t.Parallel()
	const trials = 2000
	check := func(name string, inBits int, h func(i, bit int) (uint64, uint64)) {
		var flips [64]int
		for i := range trials {
			for bit := range inBits {
				a, b := h(i, bit)
				d := a ^ b
				for o := range 64 {
					flips[o] += int(d >> o & 1)
				}
			}
		}
		n := float64(trials * inBits)
		for o, f := range flips {
			// 6 standard deviations of a binomial(n, 1/2).
			if math.Abs(float64(f)-n/2) > 6*math.Sqrt(n/4) {
				t.Errorf("%s: output bit %d flipped %d of %.0f times", name, o, f, n)
			}
		}
	}
	check("Hash16", 128, func(i, bit int) (uint64, uint64) {
		var b [16]byte
		b[0], b[15] = 0x20, byte(i)
		b[12], b[13], b[14] = byte(i>>24), byte(i>>16), byte(i>>8)
		x := Hash16(b)
		b[bit/8] ^= 1 << (bit % 8)
		return x, Hash16(b)
	})
	check("HashUint64", 64, func(i, bit int) (uint64, uint64) {
		x := uint64(i) * 0x9e3779b97f4a7c15
		return HashUint64(x), HashUint64(x ^ 1<<bit)
	})
}

func TestHash16NoCollisionsOnSequentialAddresses(t *testing.T) {
	t.Parallel()
	seen := make(map[uint64]struct{}, 1<<17)
	a := netip.MustParseAddr("10.0.0.0")
	for range 1 << 17 {
		x := HashAddr(a)
		if _, dup := seen[x]; dup {
			t.Fatalf("collision at %v", a)
		}
		seen[x] = struct{}{}
		a = a.Next()
	}
	// Top bits (the HyperLogLog register index) must be spread evenly too.
	var buckets [16]int
	for x := range seen {
		buckets[x>>60]++
	}
	for i, c := range buckets {
		if d := math.Abs(float64(c) - float64(len(seen))/16); d > 6*math.Sqrt(float64(len(seen))/16) {
			t.Errorf("top-bit bucket %d holds %d", i, c)
		}
	}
}

func BenchmarkHashAddr(b *testing.B) {
	a := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	var s uint64
	for b.Loop() {
		s += HashAddr(a)
	}
	_ = s
}

func BenchmarkHashString(b *testing.B) {
	b.ReportAllocs()
	var s uint64
	for b.Loop() {
		s += HashString("api.example.com")
	}
	_ = s
}
