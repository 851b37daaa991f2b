package detect

import (
	"encoding"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/monitor443/monitor443/detect/baseline"
)

// bandwidth_spike judges the bytes a scope sends toward its clients
// (egress) with three principles:
//
//   - Bytes are heavy-tailed. Response sizes follow a Pareto-like law, so one
//     ordinary download moves more bytes in a few seconds than a quiet site
//     sends in minutes. Per-second values are therefore never scored: the
//     detector sums egress over windows where one download is not an event
//     (bwShortWindow, and DetectionConfig.Slow for moderate but long rises).
//   - A mean and a deviation say little about how large a heavy-tailed
//     series normally gets, its extremes do. Each window's value is judged
//     against the largest value of that window at the same time of day (±1
//     hour) on the last seven days (baseline.Record): an incident is a level
//     that no normal hour reached, by a margin of 2. Large transfers that are
//     normal for that server and hour (a nightly backup pull, the downloads
//     of a mirror server) set the record and stop alerting from the next day.
//   - A heavy-tailed sum is decided by its largest term (the "single big
//     jump" of subexponential laws: the sum exceeds a high level mostly
//     when one term does). So a window's value leaves out the client that
//     received the most in it: it is what the window's other visitors
//     pulled. One visitor's session, however large (a disk image, a backup,
//     a crawler's pass over a site), then sets neither a value nor the
//     record, and a value above the record needs several heavy sessions at
//     once, which is rarer by a power: if one session passes a level with
//     probability p, the second largest of n passes it with about
//     (n·p)²/2. Without the trim, the record of a small server is set by
//     its largest single download and hides everything below it; with it,
//     several hosts pulling at once keep all but one puller's bytes. The
//     price: one host pulling alone (a scraper, one exfiltrating host) is
//     one session, and bandwidth_spike does not judge it.
//
// A level above the record is an incident only when new clients that pull
// without pause carry it. Bulk egress (a mirroring or exfiltration job, a few
// hosts pulling large objects one after another) keeps its clients
// receiving in nearly every second of the window, and they start with it;
// a crowd of visitors, or a release that many download at once, raises
// egress through many clients that each receive for seconds. New clients
// (that began receiving within the last two window lengths) that received
// in at least bwPersist of the window's intervals (of the long window's
// since they began, once that is bwPresence of it) must carry at least half
// of the window's bytes above the record (the heaviest client, which the
// value left out, is not counted either). (Counting the heaviest few
// clients instead does not work: with heavy-tailed response sizes the few
// largest responses of a crowd carry most of its bytes too; and counting old
// clients would count a NAT gateway that carries many users all day.)
// Nor may one connection carry most of those bytes (bwOneTransfer): one
// object, however large, is one draw of the heavy-tailed size law.
//
// On the first day, before any previous day exists, the reference is the
// largest window value of the day so far, once the Learning period has been
// learned: for bytes there is no prior that holds on every network. Uploads
// are not scored.

// bwShortWindow is the short window: a minute holds several seconds of even
// a large single download at a typical per-flow rate, so one object alone
// rarely sets a window apart, while an attack that lasts minutes fills it.
const bwShortWindow = time.Minute

// clientWindows sums the bytes each client received from each server, and
// counts the intervals in which it received any, over the bandwidth
// windows, for the persistence check. Shared by every bandwidth track: the
// global one looks at every pair, a server's at its own clients. Owned by
// the aggregation goroutine; bounded by the per-interval summaries of
// (client, server) pairs times the long window.
type clientWindows struct {
	ring [][]pairIv
	n    int
	wins [2]int
	// bridge is the longest run of intervals without bytes, between two
	// with bytes, that still counts as receiving (see bwStall).
	bridge int
	// sums[i] holds window i's sums by server, then by client.
	sums [2]map[netip.AddrPort]map[netip.Addr]clientSum
	// big[i] is the client that received the most from each server over
	// window i (see largest). It is kept as bytes arrive and rescanned for
	// a server only when its heaviest client's oldest bytes leave the window
	// and it falls below the bound on the others (dirty), so an interval
	// costs its own pairs, not the window's.
	big   [2]map[netip.AddrPort]heaviest
	dirty map[netip.AddrPort]struct{}
}

// heaviest is the pair that received the most bytes from a server over a
// window, and a bound on what any other client of that server received.
// Of pairs with equal bytes the least (by server, then client address) is
// the heaviest, so that a replay names the same client every time.
type heaviest struct {
	p     pair
	bytes float64
	bound float64
}

// above reports whether b bytes of pair p make it heavier than h.
func (h heaviest) above(p pair, b float64) bool {
	if b != h.bytes {
		return b > h.bytes
	}
	if c := p.server.Compare(h.p.server); c != 0 {
		return c < 0
	}
	return p.client.Compare(h.p.client) < 0
}

// pairIv is one interval's bytes of a pair and the transfers (connections)
// that began carrying them in it. An entry without bytes is a bridged
// interval (bwStall): it counts as active and carries nothing.
type pairIv struct {
	k     pair
	bytes uint64
	conns uint64
}

type clientSum struct {
	bytes  uint64
	conns  uint64 // transfers that began in the window
	active int    // intervals with bytes, and bridged ones between them
	first  int    // interval index at which the pair entered the window
	last   int    // interval index of its latest bytes
}

// bwPersist is the share of a window's intervals in which a client must
// have received bytes to count as pulling without pause: four in five,
// which a chain of downloads meets and a single object of ordinary size
// at a typical per-flow rate does not.
const bwPersist = 0.8

// bwPresence is the share of a window a client must have been present in
// (since it first received in it) before its persistence is judged: it
// must then have received in bwPersist of the intervals since it began,
// not of the whole window. Half the window is where the window's value
// becomes the rise's more than the time before it, so a rise held for
// half the long window and carried without pause is judged then, not once
// four fifths of the window have passed; and a single object at an
// ordinary per-flow rate (seconds to tens of seconds) never lasts half of
// a window meant for rises held for minutes. The short window is whole
// either way: its pullers are judged over all of it, never over less
// than bwShortWindow.
const bwPresence = 0.5

// bwStall is the longest silence inside a transfer that is the path's or
// the capture's, not the client's: RFC 6298's minimum retransmission
// timeout. A transfer that loses the tail of its window is silent that
// long before it resumes, and a capture host that falls behind delivers a
// second's packets late, so a puller that never paused shows an interval
// without bytes followed by one with twice them. Intervals without bytes
// that fit in bwStall (one, at one-second intervals), between two with
// bytes, count as receiving. A pause between one person's requests (reading
// a page, seconds to minutes) is longer; a client that receives in every
// other interval for minutes is pulling, whatever it pulls.
const bwStall = time.Second

// bwOneTransfer is the share of the pullers' bytes above which one
// transfer (one connection) decides the window. Response sizes are
// heavy-tailed with no upper bound that holds on every network, so one
// object, however large (a disk image, a backup, a video), is one draw of
// that law and says nothing about the process that drew it; an incident is
// a process: several hosts pulling at once (a mirroring, scraping or
// exfiltration job). So no transfer may outweigh all the others together:
// a majority is the least share at which one element decides the whole,
// whatever the scale. A lone transfer is the whole, and a host that pulls
// over several connections is never one transfer. The share is taken of
// every puller's bytes, the heaviest client's too: the rule asks whether
// one object decides the rise, and the heaviest client is part of it (of
// three hosts pulling one object each, none is a majority; of a 20 MB/s
// download beside a 10 MB/s one, the first is, and the second, left once
// the first is left out of the value, is not an incident either; judged
// among the others alone, two equal pullers would pass or fail by a few
// bytes). The price: a single long
// connection that carries an exfiltration is seen as a large download, and
// so is one next to a smaller pull.
const bwOneTransfer = 0.5

// newClientWindows returns windows of short and long intervals that bridge
// runs of up to bridge intervals without bytes (less than short).
func newClientWindows(short, long, bridge int) *clientWindows {
	c := &clientWindows{ring: make([][]pairIv, long), wins: [2]int{short, long}, bridge: min(bridge, short-1), dirty: map[netip.AddrPort]struct{}{}}
	for i := range c.sums {
		c.sums[i] = map[netip.AddrPort]map[netip.Addr]clientSum{}
		c.big[i] = map[netip.AddrPort]heaviest{}
	}
	return c
}

// push adds one interval's egress bytes by client and server, and the
// transfers that began carrying them (conns; pairs without bytes are
// ignored). A pair whose previous bytes came at most bridge intervals
// before the last one has the intervals between counted as active: an entry
// without bytes in each of their ring slots, so that the count falls
// again when they leave the window.
func (c *clientWindows) push(m, conns map[pair]uint64) {
	for i, w := range c.wins {
		clear(c.dirty)
		if c.n >= w {
			for _, e := range c.ring[(c.n-w)%len(c.ring)] {
				srv := c.sums[i][e.k.server]
				cs := srv[e.k.client]
				cs.bytes -= e.bytes
				cs.conns -= e.conns
				cs.active--
				if cs.active <= 0 {
					delete(srv, e.k.client)
					if len(srv) == 0 {
						delete(c.sums[i], e.k.server)
						delete(c.big[i], e.k.server)
						continue
					}
				} else {
					srv[e.k.client] = cs
				}
				if h := c.big[i][e.k.server]; h.p == e.k {
					h.bytes = float64(cs.bytes)
					c.big[i][e.k.server] = h
					c.dirty[e.k.server] = struct{}{}
				}
			}
		}
		for a, v := range m {
			if v == 0 {
				continue
			}
			srv := c.sums[i][a.server]
			if srv == nil {
				srv = map[netip.Addr]clientSum{}
				c.sums[i][a.server] = srv
			}
			cs, ok := srv[a.client]
			if !ok {
				cs.first = c.n
			} else if gap := c.n - 1 - cs.last; gap >= 1 && gap <= c.bridge {
				cs.active += gap
				if i == 0 {
					for k := cs.last + 1; k < c.n; k++ {
						r := k % len(c.ring)
						c.ring[r] = append(c.ring[r], pairIv{k: a})
					}
				}
			}
			cs.bytes += v
			cs.conns += conns[a]
			cs.active++
			cs.last = c.n
			srv[a.client] = cs
			h, b := c.big[i][a.server], float64(cs.bytes)
			switch {
			case h.p == a:
				h.bytes = b
			case h.above(a, b):
				h.bound = max(h.bound, h.bytes)
				h.p, h.bytes = a, b
			default:
				h.bound = max(h.bound, b)
			}
			c.big[i][a.server] = h
		}
		// A heaviest client whose oldest bytes left the window stays the
		// heaviest while it still holds more than the bound on the others;
		// otherwise the server's clients are scanned again.
		for server := range c.dirty {
			if h, ok := c.big[i][server]; !ok || h.bytes > h.bound {
				continue
			}
			var h heaviest
			for cl, cs := range c.sums[i][server] {
				p, b := pair{cl, server}, float64(cs.bytes)
				if h.bytes == 0 || h.above(p, b) {
					h.bound = h.bytes
					h.p, h.bytes = p, b
				} else {
					h.bound = max(h.bound, b)
				}
			}
			c.big[i][server] = h
		}
	}
	cur := c.ring[c.n%len(c.ring)][:0]
	for a, v := range m {
		if v != 0 {
			cur = append(cur, pairIv{a, v, conns[a]})
		}
	}
	c.ring[c.n%len(c.ring)] = cur
	c.n++
}

// largest returns the client (with its server) that received the most
// bytes from server (from any server when it is invalid) over window i.
func (c *clientWindows) largest(i int, server netip.AddrPort) heaviest {
	if server.IsValid() {
		return c.big[i][server]
	}
	var top heaviest
	for _, h := range c.big[i] {
		if top.bytes == 0 || top.above(h.p, h.bytes) {
			top = h
		}
	}
	return top
}

// reset forgets every window, after a gap in the capture.
func (c *clientWindows) reset() {
	for i := range c.ring {
		c.ring[i] = c.ring[i][:0]
	}
	c.n = 0
	for i := range c.sums {
		clear(c.sums[i])
		clear(c.big[i])
	}
}

// persistent returns the bytes that new clients, which began receiving
// from server (every server when it is invalid) within the last two
// lengths of window i and received in at least bwPersist of its intervals
// (of those since it began, once they are bwPresence of window i; never
// fewer than the short window's),
// received over it, and how many such clients there are, leaving out the
// window's heaviest client as the window's value does. A client's
// presence begins when it first receives after a whole long window without
// bytes, so a NAT gateway that carries users all day is never new, while the
// pullers of an attack stay new for two window lengths, long enough for
// the window to fill. transfers counts the connections that carried those
// bytes over the long window (at least one a client: a connection that
// began before the capture did is one too). all is the bytes of every such
// client, the heaviest included, and single the most bytes one of them
// received over window i through a single transfer (one connection over the
// long window).
func (c *clientWindows) persistent(i int, server netip.AddrPort) (bytes float64, clients, transfers int, all, single float64) {
	w := c.wins[i]
	floor := max(c.wins[0], int(math.Ceil(bwPresence*float64(w))))
	top := c.largest(i, server).p
	for srv, cls := range c.sums[i] {
		if server.IsValid() && srv != server {
			continue
		}
		for cl, cs := range cls {
			long := c.sums[1][srv][cl]
			span := min(w, max(floor, c.n-cs.first)) // intervals judged
			if long.first < c.n-2*w || float64(cs.active) < bwPersist*float64(span) {
				continue // an old client, or one that paused
			}
			all += float64(cs.bytes)
			if long.conns <= 1 {
				single = max(single, float64(cs.bytes))
			}
			if (pair{cl, srv}) != top {
				bytes += float64(cs.bytes)
				clients++
				transfers += max(1, int(long.conns))
			}
		}
	}
	return bytes, clients, transfers, all, single
}

// bwState is a bandwidth_spike track's state: the per-interval egress of the
// longest window, running sums, one record per window, and the window values
// waiting to be learned.
//
// A window value is learned one window length after it was scored: a
// sliding window fills gradually, so learning each value at once would let
// the first day's fallback climb with the first seconds of a rise and never
// see it; values followed by an alarm, or scored during an incident, enter
// only the day's record, which later days compare with.
type bwState struct {
	ring []float64 // egress bytes per interval, the last len(ring)
	n    int       // values written
	wins [2]int    // window lengths in intervals: short, long
	sums [2]float64
	rec  [2]*baseline.Record
	// pending[i] holds window i's scored values (time, rate) of the last
	// wins[i] intervals, oldest first at index n % wins[i].
	pending   [2][]bwPending
	lastAlarm int64          // start of the last interval a window alarmed in
	srv       netip.AddrPort // the server judged, invalid at the global scope
}

type bwPending struct {
	t    int64
	rate float64
	ok   bool
}

func newBWState(iv, long, learning time.Duration) *bwState {
	short := max(1, int(bwShortWindow/iv))
	lng := max(short, int(long/iv))
	b := &bwState{ring: make([]float64, lng), wins: [2]int{short, lng}, lastAlarm: -1}
	for i := range b.rec {
		b.pending[i] = make([]bwPending, b.wins[i])
		b.rec[i] = must(baseline.NewRecord(baseline.RecordConfig{MinToday: max(1, int(learning/iv))}))
	}
	return b
}

// push adds one interval's egress and updates the window sums.
func (b *bwState) push(v float64) {
	for i, w := range b.wins {
		if b.n >= w {
			b.sums[i] -= b.ring[(b.n-w)%len(b.ring)]
		}
		b.sums[i] += v
	}
	b.ring[b.n%len(b.ring)] = v
	b.n++
}

// reset forgets the windows and what waits to be learned (not the
// records), after a gap in the capture.
func (b *bwState) reset() {
	clear(b.ring)
	for i := range b.pending {
		clear(b.pending[i])
	}
	b.n, b.sums = 0, [2]float64{}
}

// server returns the server a track judges, invalid at the global scope.
func (b *bwState) server(tr *track) netip.AddrPort {
	if tr.scope == ScopeServer && !b.srv.IsValid() {
		b.srv, _ = netip.ParseAddrPort(tr.target)
	}
	return b.srv
}

// bandwidthSpike is bandwidth_spike, described above.
type bandwidthSpike struct{}

func (bandwidthSpike) kind() string                               { return KindBandwidthSpike }
func (bandwidthSpike) section(c *DetectionConfig) *DetectorConfig { return &c.BandwidthSpike }
func (bandwidthSpike) atServers() bool                            { return true }
func (bandwidthSpike) unit(string) string                         { return "bytes/s" }

// bwSeries names the checkpointed records, by window.
var bwSeries = [...]string{"record|short", "record|long"}

func (bandwidthSpike) newState(s *stage, restore func(string, encoding.BinaryUnmarshaler)) trackState {
	b := newBWState(time.Duration(s.iv), s.cfg.Slow, s.cfg.Learning)
	for i, name := range bwSeries {
		restore(name, b.rec[i])
	}
	return b
}

// contributors lists the clients that received the most from the track's
// target over the short window, at their mean rate over it: the window is
// what the alert judged, and a puller of an egress incident may receive
// nothing in the very interval that confirms it. Without window data (a
// static threshold on a capture without large segments) they are the
// interval's heaviest clients.
func (bandwidthSpike) contributors(s *stage, tr *track, m *merged) []Contributor {
	var srv netip.AddrPort
	if tr.scope == ScopeServer {
		srv, _ = netip.ParseAddrPort(tr.target)
	}
	byClient := map[netip.Addr]uint64{}
	for sv, cls := range s.cw.sums[0] {
		if srv.IsValid() && sv != srv {
			continue
		}
		for cl, cs := range cls {
			byClient[cl] += cs.bytes
		}
	}
	if len(byClient) == 0 {
		return s.byteContributors(m)
	}
	top := topContributors(s, ScopeClient, byClient, netip.Addr.String)
	for i := range top {
		top[i].Value /= float64(s.cw.wins[0])
	}
	return top
}

func (b *bwState) save(prefix string, out map[string][]byte) {
	for i, name := range bwSeries {
		if d, err := b.rec[i].MarshalBinary(); err == nil {
			out[prefix+"|"+name] = d
		}
	}
}

// score scores one interval of a bandwidth_spike track. The static rule
// judges this second's egress, so when it fires the alert reports that
// rate.
func (b *bwState) score(s *stage, tr *track, in *input) verdict {
	v := b.judge(s, tr, in)
	if egress := s.rate(in.f.BytesOut); v.aboveStatic(egress, in.static, "") {
		v.vd.Value = max(v.vd.Value, egress)
	}
	return v
}

// judge scores each full window's mean egress rate against its record,
// reporting the window whose score is higher.
func (b *bwState) judge(s *stage, tr *track, in *input) verdict {
	start, learn := in.start, in.learn
	b.push(float64(in.f.BytesOut))
	var vds [len(b.wins)]baseline.Verdict
	ready := false
	for i, w := range b.wins {
		slot := &b.pending[i][b.n%w]
		if slot.t != 0 {
			b.rec[i].Learn(slot.t, slot.rate, slot.ok && slot.t > b.lastAlarm)
		}
		*slot = bwPending{}
		if b.n < w {
			vds[i].Score = math.Inf(-1)
			continue
		}
		ready = true
		rate := max(0, b.sums[i]-s.cw.largest(i, b.server(tr)).bytes) / (float64(w) * s.ivSec)
		vds[i] = b.rec[i].Step(start, rate, false)
		*slot = bwPending{t: start, rate: rate, ok: learn}
		if vds[i].High() {
			b.lastAlarm = start
		}
	}
	if !ready {
		return verdict{}
	}
	// The incident is judged at the time scale where it stands out most:
	// the window with the higher score, whose pullers decide. (Judging
	// every window above its record on its own pullers would let the
	// one-minute window pass a release whose slow clients each pull one
	// large object for most of a minute, while over five minutes the same
	// rise is carried by many short downloads.)
	best := -1
	for i := range b.wins {
		if !math.IsInf(vds[i].Score, -1) && (best < 0 || vds[i].Score > vds[best].Score) {
			best = i
		}
	}
	return b.window(s, tr, best, vds[best])
}

// window explains window i's verdict vd and, when it is above its record,
// checks that new clients pulling without pause carry the excess.
func (b *bwState) window(s *stage, tr *track, i int, vd baseline.Verdict) verdict {
	if !vd.High() {
		return verdict{vd: vd}
	}
	win := time.Duration(b.wins[i]) * time.Duration(s.iv)
	why := fmt.Sprintf("egress over the last %v: %s bytes/s, %.1f times the largest %v egress at this time of day in the last %d days (%s bytes/s; alarm level %s)",
		win, fmtSmall(vd.Value), vd.Value/vd.Expected, win, b.rec[i].Config().Days, fmtSmall(vd.Expected), fmtSmall(vd.Upper))
	if h := s.cw.largest(i, b.server(tr)); h.bytes > 0 {
		why = joinDetail(why, fmt.Sprintf("both without the heaviest client, %v (%.0f bytes in the window): one session, however large, is one draw of a heavy-tailed law", h.p.client, h.bytes))
	}
	excess := (vd.Value - vd.Expected) * win.Seconds()
	pb, pc, pt, all, single := s.cw.persistent(i, b.server(tr))
	if s.cfg.FlashCrowdShare > 0 && pb < 0.5*excess {
		return verdict{vd: vd, why: joinDetail(why, fmt.Sprintf(
			"but not carried by new clients pulling without pause (they got %.0f of the %.0f bytes above the record): a crowd, ordinary downloads or known clients", pb, excess))}
	}
	if s.cfg.FlashCrowdShare > 0 && single > bwOneTransfer*all {
		return verdict{vd: vd, why: joinDetail(why, fmt.Sprintf(
			"but one connection carried %.0f of the %.0f bytes new clients pulled, more than all others together: one draw of a heavy-tailed size, such as a large download or a backup", single, all))}
	}
	return verdict{vd: vd, cond: true, why: joinDetail(why, fmt.Sprintf(
		"%d new clients pulling through the window over %d connections got %.0f of the %.0f bytes above the record", pc, pt, pb, excess))}
}
