package detect

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/monitor443/monitor443/detect/sketch"
)

// merged is one interval's keyed features summed over every worker. Owned
// by the aggregation goroutine.
type merged struct {
	servers     map[netip.AddrPort]*serverSnap
	prefixes    []prefixCounts
	clientHello map[netip.Addr]uint64
	helloCM     *sketch.CountMin
	clientBytes map[netip.Addr]uint64
	clientSYN   map[netip.Addr]uint64
	sni         map[string]uint64
	pfxSYN      map[netip.Prefix]uint64
	fp          map[uint64]uint64 // ClientHellos by JA4 hash
	pairBytes   map[pair]uint64   // bytes toward each client from each server
	pairConns   map[pair]uint64   // connections that carried them
	sources     *sketch.HyperLogLog
	synSources  *sketch.HyperLogLog
	quicSources *sketch.HyperLogLog
	helloSrc    *sketch.HyperLogLog // clients of TCP ClientHellos, nil when none
}

func newMerged(watched int) *merged {
	return &merged{
		servers:     map[netip.AddrPort]*serverSnap{},
		prefixes:    make([]prefixCounts, watched),
		clientHello: map[netip.Addr]uint64{},
		clientBytes: map[netip.Addr]uint64{},
		clientSYN:   map[netip.Addr]uint64{},
		sni:         map[string]uint64{},
		pfxSYN:      map[netip.Prefix]uint64{},
		fp:          map[uint64]uint64{},
		pairBytes:   map[pair]uint64{},
		pairConns:   map[pair]uint64{},
	}
}

func addEntries[K comparable](m map[K]uint64, es []sketch.Entry[K]) {
	for _, e := range es {
		m[e.Key] += e.Count
	}
}

func mergeHLL(dst **sketch.HyperLogLog, src *sketch.HyperLogLog) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = cloneHLL(src)
		return
	}
	_ = (*dst).Merge(src) // same shape by construction
}

// add merges one worker's snapshot.
func (m *merged) add(k *keyedSnap) {
	if k == nil {
		return
	}
	for _, s := range k.servers {
		x := m.servers[s.addr]
		if x == nil {
			x = &serverSnap{addr: s.addr}
			m.servers[s.addr] = x
		}
		x.f.Add(&s.f)
		if s.ttl != nil {
			if x.ttl == nil {
				x.ttl = new(ttlHist)
			}
			x.ttl.add(s.ttl)
		}
		mergeHLL(&x.synSrc, s.synSrc)
	}
	for i := range min(len(m.prefixes), len(k.prefixes)) {
		m.prefixes[i].syn += k.prefixes[i].syn
	}
	addEntries(m.clientHello, k.clientHello)
	addEntries(m.clientBytes, k.clientBytes)
	addEntries(m.clientSYN, k.clientSYN)
	addEntries(m.sni, k.sni)
	addEntries(m.pfxSYN, k.pfxSYN)
	addEntries(m.fp, k.fp)
	addEntries(m.pairBytes, k.pairBytes)
	addEntries(m.pairConns, k.pairConns)
	if k.helloCM != nil {
		if m.helloCM == nil {
			m.helloCM = must(sketch.NewCountMin(helloCMWidth, helloCMDepth))
		}
		_ = m.helloCM.Merge(k.helloCM)
	}
	mergeHLL(&m.sources, k.sources)
	mergeHLL(&m.synSources, k.synSources)
	mergeHLL(&m.quicSources, k.quicSources)
	mergeHLL(&m.helloSrc, k.helloSrc)
}

// helloCount returns the client's ClientHellos in the interval. A
// client's flows spread over workers, and a worker's Space-Saving summary
// may have dropped it, so the summed summaries can undercount; the merged
// Count-Min estimate never does, and overcounts by at most e/width of the
// interval's hellos with probability 1-e^-depth.
func (m *merged) helloCount(a netip.Addr) uint64 {
	if m.helloCM == nil {
		return m.clientHello[a]
	}
	return m.helloCM.Estimate(sketch.HashAddr(a))
}

type kv[K any] struct {
	k K
	v uint64
}

// top returns the n heaviest entries of m, heaviest first, ties by key
// string for a stable order.
func top[K comparable](m map[K]uint64, n int, str func(K) string) []kv[K] {
	out := make([]kv[K], 0, len(m))
	for k, v := range m {
		out = append(out, kv[K]{k, v})
	}
	slices.SortFunc(out, func(a, b kv[K]) int {
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return cmp.Compare(str(a.k), str(b.k))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func estimate(h *sketch.HyperLogLog) float64 {
	if h == nil {
		return 0
	}
	return h.Estimate()
}
