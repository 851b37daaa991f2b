package detect

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/monitor443/monitor443/detect/sketch"
)

// Flow.User bits used by the keyed features (tls.go uses bits 0-36): bit
// 37 says the flow was counted as a transfer toward its client, bit 39 that
// the server was looked up, bits 40-63 hold its slot + 1.
const (
	userTransfer  uint64 = 1 << 37
	userSrvLooked uint64 = 1 << 39
	userSrvShift         = 40
)

// Sketch shapes. Workers' sketches of one shape merge exactly.
const (
	hllPrecision       = 12 // 4 KiB, 1.6 % error: unique sources
	serverHLLPrecision = 9  // 512 B, 4.6 % error: unique SYN sources per server
	// helloHLLPrecision sizes the count of clients that sent ClientHellos
	// over TCP, which request_burst compares with their hellos (burst.go,
	// intensity): 16 KiB, 0.8 % error, and linear counting (far better)
	// below about 40,000 clients a window.
	helloHLLPrecision = 14
	helloCMWidth      = 1024
	helloCMDepth      = 4
)

// minRankedPayload is the smallest segment payload counted in the
// per-client byte ranking.
const minRankedPayload = 512

// pairOver is how many counters the (client, server) byte summary holds
// for each pair it reports (DetectionConfig.TopClients pairs an interval).
// bandwidth_spike judges each server against its own record, so a client
// matters by the share of its own server's egress it carries, not by its
// share of the network's: on a busy network the few hosts pulling from a
// small server are far below the heaviest pairs of the big servers, and a
// summary ranked network-wide drops them from most intervals (their
// persistence then looks like pauses). So the summary counts more pairs
// than it reports, and reports the TopClients pairs that carried the
// largest guaranteed share of their server's egress. Space-Saving keeps
// every pair that carried more than 1/(pairOver·TopClients) of a worker's
// egress in the interval (1/2048 by default); the reported pairs, and so
// the bandwidth windows' memory, stay at TopClients an interval. Eight
// counters a reported pair cost about 0.9 MiB a worker by default (two
// summaries, of bytes and of transfers, of 2,048 counters at about 220
// bytes each, measured) and three more levels of the summary's heap per
// large segment.
const pairOver = 8

// sniKey is an SNI held inline so offering it allocates nothing; longer
// names are truncated.
type sniKey struct {
	n uint8
	b [63]byte
}

func makeSNIKey(s []byte) sniKey {
	var k sniKey
	k.n = uint8(copy(k.b[:], s))
	return k
}

func (k sniKey) String() string { return string(k.b[:k.n]) }

// serverCounts are one tracked server's counters for the open interval.
type serverCounts struct {
	f      Features
	ttl    *ttlHist // client SYNs by TTL
	synSrc *sketch.HyperLogLog
}

// ttlHist counts SYNs by their TTL (1 KiB per tracked server and worker,
// bounded by MaxServers): syn_flood's spoofing evidence (ttlEvidence).
type ttlHist [256]uint32

// prefixCounts are a watched prefix's counters for the open interval.
type prefixCounts struct {
	syn uint64
}

// keyed holds one worker's keyed features: exact per-server and
// per-watched-prefix counters and the sketches for clients, SNIs and
// source prefixes. Owned by the worker; not safe for concurrent use.
type keyed struct {
	maxServers int
	srvIdx     map[netip.AddrPort]int32
	srvAddr    []netip.AddrPort
	srv        []serverCounts

	watch []netip.Prefix
	pfx   []prefixCounts

	clientHello *sketch.SpaceSaving[netip.Addr]
	helloCM     *sketch.CountMin
	clientBytes *sketch.SpaceSaving[netip.Addr]
	clientSYN   *sketch.SpaceSaving[netip.Addr]
	sni         *sketch.SpaceSaving[sniKey]
	pfxSYN      *sketch.SpaceSaving[netip.Prefix]
	fp          *sketch.SpaceSaving[uint64] // ClientHellos by JA4 hash
	pairBytes   *sketch.SpaceSaving[pair]   // bytes toward each client from each server
	pairConns   *sketch.SpaceSaving[pair]   // connections that carried them (transfers)
	topPairs    int                         // pairs reported an interval (see pairOver)
	sources     *sketch.HyperLogLog
	synSources  *sketch.HyperLogLog
	quicSources *sketch.HyperLogLog // sources of decrypted client Initials
	helloSrc    *sketch.HyperLogLog // clients that sent a ClientHello over TCP
}

func must[T any](v T, err error) T {
	if err != nil {
		panic("detect: " + err.Error()) // sizes are validated constants
	}
	return v
}

func newKeyed(c DetectionConfig) *keyed {
	k := &keyed{
		maxServers:  c.MaxServers + len(c.WatchServers),
		srvIdx:      map[netip.AddrPort]int32{},
		watch:       c.WatchPrefixes,
		pfx:         make([]prefixCounts, len(c.WatchPrefixes)),
		clientHello: must(sketch.NewSpaceSaving[netip.Addr](c.TopClients)),
		helloCM:     must(sketch.NewCountMin(helloCMWidth, helloCMDepth)),
		clientBytes: must(sketch.NewSpaceSaving[netip.Addr](c.TopClients)),
		clientSYN:   must(sketch.NewSpaceSaving[netip.Addr](c.TopClients)),
		sni:         must(sketch.NewSpaceSaving[sniKey](c.TopSNIs)),
		pfxSYN:      must(sketch.NewSpaceSaving[netip.Prefix](c.TopPrefixes)),
		fp:          must(sketch.NewSpaceSaving[uint64](topFingerprints)),
		pairBytes:   must(sketch.NewSpaceSaving[pair](pairOver * c.TopClients)),
		pairConns:   must(sketch.NewSpaceSaving[pair](pairOver * c.TopClients)),
		topPairs:    c.TopClients,
		sources:     must(sketch.NewHyperLogLog(hllPrecision)),
		synSources:  must(sketch.NewHyperLogLog(hllPrecision)),
		quicSources: must(sketch.NewHyperLogLog(hllPrecision)),
		helloSrc:    must(sketch.NewHyperLogLog(helloHLLPrecision)),
	}
	for _, s := range c.WatchServers {
		k.admit(s)
	}
	return k
}

// admit gives server a slot, or returns -1 when the table is full.
func (k *keyed) admit(s netip.AddrPort) int32 {
	if i, ok := k.srvIdx[s]; ok {
		return i
	}
	if len(k.srv) >= k.maxServers {
		return -1
	}
	i := int32(len(k.srv))
	k.srvIdx[s] = i
	k.srvAddr = append(k.srvAddr, s)
	k.srv = append(k.srv, serverCounts{ttl: new(ttlHist), synSrc: must(sketch.NewHyperLogLog(serverHLLPrecision))})
	return i
}

// server returns the counters of the packet's server, or nil when it is not
// tracked. The slot is cached in the flow's User word; a server is admitted
// the first time it answers.
func (k *keyed) server(fl *flow.Flow, p *capture.Packet, toServer bool) *serverCounts {
	if fl == nil {
		s := netip.AddrPortFrom(p.Dst, p.DstPort)
		if !toServer {
			s = netip.AddrPortFrom(p.Src, p.SrcPort)
		}
		if i, ok := k.srvIdx[s]; ok {
			return &k.srv[i]
		}
		return nil
	}
	// A server answered when it sent a packet, or when its client
	// acknowledged an answer the capture did not see (flow.StateAnswerUnseen:
	// a tap of one direction).
	answered := !toServer || fl.State().Has(flow.StateEstablished)
	if fl.User&userSrvLooked != 0 {
		if i := fl.User >> userSrvShift; i != 0 {
			return &k.srv[i-1]
		}
		if !answered || len(k.srv) >= k.maxServers {
			return nil
		}
	}
	s := fl.Server()
	i, ok := k.srvIdx[s]
	if !ok && answered {
		i = k.admit(s)
		ok = i >= 0
	}
	fl.User |= userSrvLooked
	if !ok {
		return nil
	}
	fl.User = fl.User&(1<<userSrvShift-1) | uint64(i+1)<<userSrvShift
	return &k.srv[i]
}

// clientPrefix returns the /24 (IPv4) or /64 (IPv6) holding a.
func clientPrefix(a netip.Addr) netip.Prefix {
	bitsN := 64
	if a.Is4() || a.Is4In6() {
		a = a.Unmap()
		bitsN = 24
	}
	p, _ := a.Prefix(bitsN)
	return p
}

// knowsDark reports whether a destination that is not a tracked server
// never answered: some server is tracked (so answers are seen, or inferred
// from the clients' acknowledgements on a capture of one direction) and
// the table still has room (so an address that answered would have been
// admitted).
func (k *keyed) knowsDark() bool { return len(k.srv) > 0 && len(k.srv) < k.maxServers }

// packet accounts the keyed features of one packet of flow fl (nil when the
// flow table had no room) with client as its client. syn says the packet is
// a client's SYN (without ACK), and then h is the client's hash (computed
// once per packet by the analyzer); dark says that the SYN's destination
// never answered. A SYN to a dark address is a probe of
// unused address space, not an attempt at a server: it counts as a source
// and in no SYN figure (a scanner's sweep of a network is not a burst of
// requests from its prefix).
func (k *keyed) packet(p *capture.Packet, fl *flow.Flow, client netip.Addr, h uint64, toServer, syn, dark bool, sc *serverCounts) {
	// Clients are ranked by the bytes sent to them, the direction that
	// bandwidth_spike scores. Only large segments count: they carry nearly
	// all of a transfer's bytes, and skipping ACKs and small records halves
	// the per-packet cost.
	if !toServer && p.PayloadLen >= minRankedPayload {
		k.clientBytes.Offer(client, uint64(p.IPLen))
		pr := pair{client: client, server: netip.AddrPortFrom(p.Src, p.SrcPort)}
		k.pairBytes.Offer(pr, uint64(p.IPLen))
		// A connection's first large segment toward its client makes it
		// one transfer of that pair (bandwidth_spike tells one transfer
		// from several).
		if fl != nil && fl.User&userTransfer == 0 {
			fl.User |= userTransfer
			k.pairConns.Offer(pr, 1)
		}
	}
	if !toServer || !syn {
		return
	}
	k.sources.Add(h)
	if dark {
		return
	}
	k.synSources.Add(h)
	k.clientSYN.Offer(client, 1)
	k.pfxSYN.Offer(clientPrefix(client), 1)
	if sc != nil {
		sc.synSrc.Add(h)
		sc.ttl[p.TTL]++
	}
	for i, w := range k.watch {
		if w.Contains(client) {
			k.pfx[i].syn++
		}
	}
}

// pair is a client and the server it receives from.
type pair struct {
	client netip.Addr
	server netip.AddrPort
}

// topFingerprints sizes the per-worker summary of ClientHellos by JA4: a
// site's normal mix has a few dozen client stacks with a visible share.
const topFingerprints = 64

// hello accounts one parsed ClientHello with the hash fp of its JA4 over
// TCP (0 for a QUIC hello: QUIC hellos join neither the stack mix nor the
// count of clients that request_burst weighs TCP hellos against); sni
// aliases the analyzer's parsed hello and is only read here.
func (k *keyed) hello(client netip.Addr, sni []byte, fp uint64) {
	h := sketch.HashAddr(client)
	k.sources.Add(h)
	k.clientHello.Offer(client, 1)
	k.helloCM.Add(h, 1)
	if fp != 0 {
		k.fp.Offer(fp, 1)
		k.helloSrc.Add(h)
	}
	if len(sni) > 0 {
		k.sni.Offer(makeSNIKey(sni), 1)
	}
}

// quicInitial accounts one decrypted QUIC client Initial from client.
func (k *keyed) quicInitial(client netip.Addr) {
	k.quicSources.Add(sketch.HashAddr(client))
}

// keyedSnap is one worker's keyed features for one closed interval. It
// holds values only and shares nothing with the worker.
type keyedSnap struct {
	servers     []serverSnap
	prefixes    []prefixCounts // by index of DetectionConfig.WatchPrefixes
	clientHello []sketch.Entry[netip.Addr]
	helloCM     *sketch.CountMin
	clientBytes []sketch.Entry[netip.Addr]
	clientSYN   []sketch.Entry[netip.Addr]
	sni         []sketch.Entry[string]
	pfxSYN      []sketch.Entry[netip.Prefix]
	fp          []sketch.Entry[uint64]
	pairBytes   []sketch.Entry[pair]
	pairConns   []sketch.Entry[pair]
	sources     *sketch.HyperLogLog
	synSources  *sketch.HyperLogLog
	quicSources *sketch.HyperLogLog
	helloSrc    *sketch.HyperLogLog // nil when no TCP hello came
}

type serverSnap struct {
	addr   netip.AddrPort
	f      Features
	ttl    *ttlHist // nil without SYNs
	synSrc *sketch.HyperLogLog
}

func cloneHLL(h *sketch.HyperLogLog) *sketch.HyperLogLog {
	c := must(sketch.NewHyperLogLog(h.Precision()))
	_ = c.Merge(h) // same shape
	return c
}

// snapshot copies the interval's keyed features out and resets them. It
// allocates (once per interval).
func (k *keyed) snapshot() *keyedSnap {
	s := &keyedSnap{
		prefixes:    append([]prefixCounts(nil), k.pfx...),
		clientHello: k.clientHello.Top(nil),
		clientBytes: k.clientBytes.Top(nil),
		clientSYN:   k.clientSYN.Top(nil),
		pfxSYN:      k.pfxSYN.Top(nil),
		fp:          k.fp.Top(nil),
		sources:     cloneHLL(k.sources),
		synSources:  cloneHLL(k.synSources),
		quicSources: cloneHLL(k.quicSources),
	}
	s.pairBytes, s.pairConns = k.pairs()
	if k.fp.Total() > 0 {
		s.helloSrc = cloneHLL(k.helloSrc)
		k.helloSrc.Reset()
	}
	if k.helloCM.Total() > 0 {
		s.helloCM = must(sketch.NewCountMin(helloCMWidth, helloCMDepth))
		_ = s.helloCM.Merge(k.helloCM)
	}
	for _, e := range k.sni.Top(nil) {
		s.sni = append(s.sni, sketch.Entry[string]{Key: e.Key.String(), Count: e.Count, Err: e.Err})
	}
	for i := range k.srv {
		c := &k.srv[i]
		if c.f == (Features{}) {
			continue
		}
		ss := serverSnap{addr: k.srvAddr[i], f: c.f}
		if c.f.SYN > 0 {
			ss.synSrc = cloneHLL(c.synSrc)
			c.synSrc.Reset()
			h := *c.ttl
			ss.ttl = &h
			clear(c.ttl[:])
		}
		s.servers = append(s.servers, ss)
		c.f = Features{}
	}
	clear(k.pfx)
	k.clientHello.Reset()
	k.helloCM.Reset()
	k.clientBytes.Reset()
	k.clientSYN.Reset()
	k.sni.Reset()
	k.pfxSYN.Reset()
	k.fp.Reset()
	k.pairBytes.Reset()
	k.pairConns.Reset()
	k.sources.Reset()
	k.synSources.Reset()
	k.quicSources.Reset()
	return s
}

// pairs returns the interval's topPairs (client, server) pairs that
// carried the largest guaranteed share of their server's egress, and the
// transfers that carried them (see pairOver). A pair of a server beyond the
// table is ranked by its share of the worker's egress. Call before the
// server counters are reset.
func (k *keyed) pairs() (bytes, conns []sketch.Entry[pair]) {
	bytes = k.pairBytes.Top(nil)
	if len(bytes) > k.topPairs {
		type ranked struct {
			share float64
			e     sketch.Entry[pair]
		}
		rs := make([]ranked, len(bytes))
		total := k.pairBytes.Total()
		for i, e := range bytes {
			out := total
			if j, ok := k.srvIdx[e.Key.server]; ok && k.srv[j].f.BytesOut > 0 {
				out = k.srv[j].f.BytesOut
			}
			rs[i] = ranked{float64(e.Guaranteed()) / float64(max(1, out)), e}
		}
		// Stable on the summary's order (count, then guaranteed bytes), so
		// equal shares keep the heavier pair first.
		slices.SortStableFunc(rs, func(a, b ranked) int { return cmp.Compare(b.share, a.share) })
		bytes = bytes[:k.topPairs]
		for i := range bytes {
			bytes[i] = rs[i].e
		}
	}
	for _, e := range bytes {
		if c, ok := k.pairConns.Lookup(e.Key); ok {
			conns = append(conns, c)
		}
	}
	return bytes, conns
}

// add adds o's counts to h.
func (h *ttlHist) add(o *ttlHist) {
	for i, n := range o {
		h[i] += n
	}
}
