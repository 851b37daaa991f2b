package synth

import (
	"fmt"
	"math"
)

// Role is what a server serves; it sets the server's response-size law.
type Role uint8

// Server roles. The laws follow published web measurements; docs/synth.md
// gives the sources.
const (
	// RoleWeb serves web pages and their API calls: log-normal responses,
	// median 15 KB, σ 1.2.
	RoleWeb Role = iota + 1
	// RoleAPI serves JSON APIs: log-normal responses, median 1 KB, σ 1.
	RoleAPI
	// RoleStatic is a CDN-style static server: Pareto responses with
	// α = 1.3 and median 20 KB, up to 8 MB.
	RoleStatic
	// RoleDownload serves software and media downloads: Pareto responses
	// with α = 1.2 and median 100 KB, up to 50 MB.
	RoleDownload

	numRoles
)

var roleNames = [numRoles]string{"", "web", "api", "static", "download"}

// ServerRoles returns every Role in declaration order.
func ServerRoles() []Role { return []Role{RoleWeb, RoleAPI, RoleStatic, RoleDownload} }

// String returns the role's lowercase name, e.g. "web".
func (r Role) String() string {
	if r > 0 && r < numRoles {
		return roleNames[r]
	}
	return fmt.Sprintf("role_%d", uint8(r))
}

// ParseRole returns the Role named name.
func ParseRole(name string) (Role, error) {
	for i := RoleWeb; i < numRoles; i++ {
		if roleNames[i] == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown server role %q", name)
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// sizeLaw is a response-size distribution: log-normal (median, sigma)
// clamped to [lo, hi], or Pareto (scale xm, shape alpha) capped at hi.
type sizeLaw struct {
	pareto      bool
	median, sig float64 // log-normal
	xm, alpha   float64 // Pareto
	lo, hi      float64
}

// The response laws of the roles (index: Role). Static and download
// scales are chosen for a median of 20 KB and 100 KB: xm·2^(1/α).
var roleLaws = [numRoles]sizeLaw{
	RoleWeb:      {median: 15_000, sig: 1.2, lo: 200, hi: 20 << 20},
	RoleAPI:      {median: 1000, sig: 1.0, lo: 60, hi: 1 << 20},
	RoleStatic:   {pareto: true, xm: 20_000 / 1.7046, alpha: 1.3, hi: 8 << 20},
	RoleDownload: {pareto: true, xm: 100_000 / 1.7818, alpha: 1.2, hi: 50 << 20},
}

// legacyLaw is the response law without roles.
func legacyLaw(maxBytes int64) sizeLaw {
	return sizeLaw{pareto: true, xm: 700, alpha: 1.15, hi: float64(maxBytes)}
}

func (l sizeLaw) capped(maxBytes int64) sizeLaw {
	l.hi = math.Min(l.hi, float64(maxBytes))
	return l
}

func (l *sizeLaw) draw(r *rng) float64 {
	if l.pareto {
		return r.pareto(l.xm, l.alpha, l.hi)
	}
	return r.lognormal(l.median, l.sig, l.lo, l.hi)
}

// mean returns the law's mean in closed form: for a Pareto capped at H,
// E[min(X, H)] = xm + xm/(α−1)·(1 − (xm/H)^(α−1)); for a clamped
// log-normal, the clamped tails plus the partial expectation
// e^(μ+σ²/2)·[Φ((ln hi − μ − σ²)/σ) − Φ((ln lo − μ − σ²)/σ)].
func (l sizeLaw) mean() float64 {
	if l.pareto {
		if l.hi <= l.xm {
			return l.hi
		}
		return l.xm + l.xm/(l.alpha-1)*(1-math.Pow(l.xm/l.hi, l.alpha-1))
	}
	mu, s := math.Log(l.median), l.sig
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	a, b := (math.Log(l.lo)-mu)/s, (math.Log(l.hi)-mu)/s
	return l.lo*phi(a) + l.hi*(1-phi(b)) + math.Exp(mu+s*s/2)*(phi(b-s)-phi(a-s))
}
