package synth

import (
	"math"
	"math/bits"
)

// rng is xoshiro256** seeded through splitmix64. It is written out here,
// rather than taken from math/rand/v2, so that the byte stream for a seed
// can never change with the Go release.
type rng struct{ s0, s1, s2, s3 uint64 }

func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRNG(seed uint64) rng {
	var r rng
	r.seed(seed)
	return r
}

func (r *rng) seed(seed uint64) {
	x := seed
	r.s0, r.s1, r.s2, r.s3 = splitmix(&x), splitmix(&x), splitmix(&x), splitmix(&x)
}

func (r *rng) u64() uint64 {
	res := bits.RotateLeft64(r.s1*5, 7) * 9
	t := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= t
	r.s3 = bits.RotateLeft64(r.s3, 45)
	return res
}

func (r *rng) u32() uint32 { return uint32(r.u64() >> 32) }

// intn returns a uniform int in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) * (1.0 / (1 << 53)) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// exp returns an exponential variate with mean 1.
func (r *rng) exp() float64 { return -math.Log(1 - r.float()) }

// norm returns a standard normal variate (Box-Muller, one of the pair).
func (r *rng) norm() float64 {
	u := 1 - r.float()
	v := r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// lognormal returns a log-normal variate with the given median and sigma,
// clamped to [lo, hi].
func (r *rng) lognormal(median, sigma, lo, hi float64) float64 {
	return clamp(median*math.Exp(sigma*r.norm()), lo, hi)
}

// pareto returns a Pareto variate with scale xm and shape alpha, capped at hi.
func (r *rng) pareto(xm, alpha, hi float64) float64 {
	return math.Min(xm/math.Pow(1-r.float(), 1/alpha), hi)
}

// fill writes random bytes into b.
func (r *rng) fill(b []byte) {
	for len(b) >= 8 {
		v := r.u64()
		b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		b[4], b[5], b[6], b[7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
		b = b[8:]
	}
	if len(b) > 0 {
		v := r.u64()
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
	}
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
