package report

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/monitor443/monitor443/detect"
	"github.com/monitor443/monitor443/detect/sketch"
)

// servers picks the busiest servers of a run and keeps their timelines, in
// memory bounded by configuration:
//
//   - totals, a Space-Saving summary of at most Config.MaxServerTotals
//     servers, counts each server's IP bytes (both directions) over the
//     whole run;
//   - candidates holds a downsampling series (as the global one) for at
//     most 4·TopServers servers: the heaviest by total as the run goes. A
//     server that overtakes the lightest candidate replaces it, and its
//     series starts then; the one replaced is forgotten;
//   - pinned servers, the targets of server-scope alerts drawn on the
//     charts (at most TopServers), keep their series whatever their bytes.
//
// At the end, the TopServers heaviest candidates are charted, and the pinned
// servers after them. Not safe for concurrent use.
type servers struct {
	top       int // servers charted by bytes
	maxCands  int
	interval  int64
	maxPoints int

	totals *sketch.SpaceSaving[netip.AddrPort]
	cands  map[netip.AddrPort]*candidate
	pinned int
	keys   []serverBytes // scratch
}

type serverBytes struct {
	ap     netip.AddrPort
	n      uint64
	before bool // may have had traffic before this interval
}

// candidate is a server whose timeline is kept.
type candidate struct {
	s      *series
	pinned bool
	// late is true when the server had traffic before its series
	// started, so the series lacks its beginning.
	late bool
}

func newServers(cfg Config) *servers {
	ss, err := sketch.NewSpaceSaving[netip.AddrPort](cfg.MaxServerTotals)
	if err != nil {
		panic(err) // unreachable: the capacity is positive
	}
	return &servers{top: cfg.TopServers, maxCands: 4 * cfg.TopServers, interval: int64(cfg.Interval), maxPoints: cfg.MaxPoints,
		totals: ss, cands: map[netip.AddrPort]*candidate{}}
}

// add records one closed interval's per-server features.
func (s *servers) add(start int64, m map[netip.AddrPort]detect.Features) {
	if s.top <= 0 {
		return
	}
	// A server had traffic before this interval when the totals know
	// it; when they have been full, one they do not know may have too.
	full := s.totals.Len() >= s.totals.Capacity()
	s.keys = s.keys[:0]
	for ap, f := range m {
		_, seen := s.totals.Lookup(ap)
		s.keys = append(s.keys, serverBytes{ap, f.BytesIn + f.BytesOut, seen || full})
	}
	// Heaviest of the interval first, so that the choice of candidates
	// does not depend on the map's order.
	slices.SortFunc(s.keys, func(a, b serverBytes) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return a.ap.Compare(b.ap)
	})
	// Counted in that order too, so that the totals do not depend on the
	// map's order once they are full.
	for _, k := range s.keys {
		if k.n > 0 {
			s.totals.Offer(k.ap, k.n)
		}
	}
	light, lightN, found := s.lightest()
	for _, k := range s.keys {
		ap := k.ap
		c := s.cands[ap]
		if c == nil {
			if len(s.cands) >= s.maxCands {
				// A server must outweigh the lightest candidate
				// to take its place.
				if !found || s.count(ap) <= lightN {
					continue
				}
				delete(s.cands, light)
			}
			c = &candidate{s: newSeries(s.interval, s.maxPoints), late: k.before}
			s.cands[ap] = c
			light, lightN, found = s.lightest()
		}
		f := m[ap]
		c.s.add(start, columnsOf(&f))
	}
}

// lightest returns the unpinned candidate of the smallest total when the
// candidates are full.
func (s *servers) lightest() (netip.AddrPort, uint64, bool) {
	var light netip.AddrPort
	var lightN uint64
	found := false
	if len(s.cands) < s.maxCands {
		return light, 0, false
	}
	for ap, c := range s.cands {
		if c.pinned {
			continue
		}
		n := s.count(ap)
		if !found || n < lightN || (n == lightN && ap.Compare(light) > 0) {
			light, lightN, found = ap, n, true
		}
	}
	return light, lightN, found
}

// count is a server's byte total (an upper bound), 0 when not monitored.
func (s *servers) count(ap netip.AddrPort) uint64 {
	e, _ := s.totals.Lookup(ap)
	return e.Count
}

// pin keeps the series of an alert's server. Its series starts now when
// it was not a candidate.
func (s *servers) pin(target string) {
	ap, err := netip.ParseAddrPort(target)
	if err != nil || s.top <= 0 {
		return
	}
	c := s.cands[ap]
	if c != nil && c.pinned {
		return
	}
	if s.pinned >= s.top {
		return
	}
	if c == nil {
		if len(s.cands) >= s.maxCands {
			if light, _, ok := s.lightest(); ok {
				delete(s.cands, light)
			}
		}
		_, seen := s.totals.Lookup(ap)
		c = &candidate{s: newSeries(s.interval, s.maxPoints), late: seen || s.totals.Len() >= s.totals.Capacity()}
		s.cands[ap] = c
	}
	c.pinned = true
	s.pinned++
}

// serverChart is one charted server in the page's data.
type serverChart struct {
	// Server is the address and port, as alert targets write it.
	Server string `json:"server"`
	// Bytes is the server's IP bytes in both directions over the run
	// (Space-Saving count: an upper bound, exact unless the summary
	// was ever full).
	Bytes uint64 `json:"bytes"`
	// Exact is false when Bytes may overestimate.
	Exact bool `json:"exact"`
	// From is when its series starts (Unix seconds) when the server had
	// traffic before: it became a candidate late. 0 when the series
	// holds all its traffic.
	From float64 `json:"from,omitempty"`
	// ByAlert is true for a server charted because an alert targeted it,
	// not among the busiest.
	ByAlert  bool     `json:"by_alert"`
	Timeline Timeline `json:"timeline"`
}

// charts returns the charted servers: the top by bytes, then the pinned
// ones not among them.
func (s *servers) charts() []serverChart {
	type row struct {
		ap netip.AddrPort
		e  sketch.Entry[netip.AddrPort]
		c  *candidate
	}
	rows := make([]row, 0, len(s.cands))
	for ap, c := range s.cands {
		if len(c.s.b) == 0 {
			continue
		}
		e, _ := s.totals.Lookup(ap)
		rows = append(rows, row{ap, e, c})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(b.e.Count, a.e.Count); c != 0 {
			return c
		}
		return a.ap.Compare(b.ap)
	})
	out := []serverChart{}
	var pinned []serverChart
	for i, r := range rows {
		if i >= s.top && !r.c.pinned {
			continue
		}
		sc := serverChart{Server: r.ap.String(), Bytes: r.e.Count, Exact: r.e.Err == 0, ByAlert: i >= s.top, Timeline: r.c.s.timeline()}
		if r.c.late {
			sc.From = float64(r.c.s.t0) / 1e9
		}
		if i < s.top {
			out = append(out, sc)
		} else {
			pinned = append(pinned, sc)
		}
	}
	return append(out, pinned...)
}
