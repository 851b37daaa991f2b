package detect

import (
	"net/netip"
	"sync"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/monitor443/monitor443/detect/sketch"
	"github.com/monitor443/monitor443/detect/tlshello"
)

// snapshot is one worker's closed interval. It holds values only, so it
// does not alias the worker's live state.
type snapshot struct {
	worker int
	f      Features
	// k holds the keyed features; nil when the detectors are off or for
	// the final empty snapshot.
	k *keyedSnap
	// watermark is the worker's packet time after closing the interval:
	// it will send no data for intervals that end at or before it.
	watermark int64
	// hyg, when set, makes this a hygiene finding instead of an interval.
	// Findings travel on the same channel as the worker's intervals, so
	// the engine sees them in the worker's order.
	hyg *hygieneEvent
}

// hygieneEvent is one hygiene finding sent from a worker to the engine.
type hygieneEvent struct {
	kind string
	hit  hygieneHit
}

// analyzer turns packets into flows, TLS records and per-interval
// features. One per worker; not safe for concurrent use.
type analyzer struct {
	// flushTLS hands the TLS records built so far to the engine (tlsBatch),
	// nil when no records are built.
	flushTLS func()
	worker   int
	interval int64
	out      chan<- snapshot
	lossless bool
	c        *Counters

	table *flow.Table
	tls   *tlsAnalyzer
	quic  *quicAnalyzer
	keys  *keyed // nil when the detectors are off
	fpBuf []byte // scratch for the JA4 of the hello just parsed
	srcs  srcSet // the interval's attempting and completing sources

	start int64 // current interval start; 0 before the first packet
	cur   Features

	statsMu sync.Mutex
	stats   flow.Stats // published copy of table.Stats, per interval
}

// observe accounts one decoded packet on a monitored port.
func (a *analyzer) observe(p *capture.Packet) {
	a.tick(p.Timestamp)
	f := &a.cur
	fl, ev := a.table.Observe(p)
	toServer := true
	client := p.Src
	if fl != nil {
		cl := fl.Client()
		client = cl.Addr()
		toServer = p.Src == client && p.SrcPort == cl.Port()
	}
	var sc *serverCounts
	syn := p.Proto == capture.ProtoTCP && p.Flags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN
	dark := false
	if a.keys != nil {
		sc = a.keys.server(fl, p, toServer)
		dark = syn && toServer && sc == nil && a.keys.knowsDark()
	}
	late := fl != nil && fl.First() < a.start
	count(f, p, ev, toServer, late)
	var h uint64 // the client's hash, for a client's SYN or a completed handshake
	if syn && toServer || ev.Has(flow.EventHandshakeComplete) {
		h = sketch.HashAddr(client)
	}
	a.sources(f, ev, h, syn && toServer, dark, late)
	if fl != nil && ev&flow.EventHandshakeComplete != 0 {
		if rtt, ok := fl.SynRTT(); ok {
			a.c.RTT.observe(rtt)
		}
	}
	if p.Proto != capture.ProtoTCP {
		dir := 1
		if toServer {
			dir = 0
		}
		f.UDPPackets[dir]++
		f.UDPBytes[dir] += uint64(p.IPLen)
	}
	if a.keys != nil {
		if sc != nil {
			count(&sc.f, p, ev, toServer, late)
		}
		a.keys.packet(p, fl, client, h, toServer, syn, dark, sc)
	}
	if p.Proto == capture.ProtoUDP {
		if fl != nil && a.quic != nil {
			before, inits, ret, conns, retLate := f.ClientHellos, f.QUICInitials, f.QUICReturned, f.QUICConns, f.QUICReturnedLate
			a.quic.observe(fl, p, f)
			a.quicSources(f, client, f.QUICConns != conns, f.QUICReturned != ret, f.QUICReturnedLate != retLate)
			if f.QUICInitials != inits && a.keys != nil {
				a.keys.quicInitial(client)
			}
			if f.QUICReturned != ret && sc != nil {
				// A server's own count, for request_burst at server scope.
				sc.f.QUICReturned++
			}
			if f.ClientHellos != before {
				f.QUICHellos++
				if a.keys != nil {
					// QUIC hellos join no stack mix; request_burst counts
					// the QUIC connections that return (above).
					a.keys.hello(client, a.tls.ch.SNI, 0)
					if sc != nil {
						sc.f.ClientHellos++
						sc.f.QUICHellos++
					}
				}
			}
		}
		return
	}
	if p.Proto != capture.ProtoTCP {
		return
	}
	if fl != nil && ev&(flow.EventClientDataReady|flow.EventServerDataReady) != 0 {
		before := f.ClientHellos
		a.tls.observe(fl, ev, p, f)
		if f.ClientHellos != before && a.keys != nil {
			// The hello just parsed is still in the analyzer's buffer.
			a.keys.hello(client, a.tls.ch.SNI, a.fingerprint('t'))
			if sc != nil {
				sc.f.ClientHellos++
			}
		}
	}
}

// fingerprint returns a hash of the JA4 fingerprint of the ClientHello just
// parsed (transport 't' or 'q'), for the mix of client stacks that
// request_burst compares with its learned one. It allocates nothing once
// the scratch buffer has grown.
func (a *analyzer) fingerprint(transport byte) uint64 {
	if t := a.tls; t.ja4Of == t.hellos && t.ja4 != "" && transport == 't' && t.ja4[0] == 't' {
		return sketch.HashString(t.ja4) // the record of this hello computed it
	}
	a.fpBuf = tlshello.AppendJA4(a.fpBuf[:0], &a.tls.ch, transport)
	return sketch.HashBytes(a.fpBuf)
}

// sources accounts, at the global scope, the attempts at addresses that
// never answered (dark) and the attempts and handshakes of sources that
// already made one in the interval (see srcSet): h is the client's hash,
// syn says the packet is a client's SYN, dark that its destination never
// answered.
func (a *analyzer) sources(f *Features, ev flow.Events, h uint64, syn, dark, late bool) {
	if syn && !ev.Has(flow.EventSYNRepeat) {
		switch {
		case dark:
			f.DarkSYNs++
		case a.srcs.mark(h, srcAttempt):
			f.SYNSourceRepeats++
		}
	}
	if ev.Has(flow.EventHandshakeComplete) {
		a.completed(h, srcHandshake, srcHandshakeL, late, &f.HandshakeSourceRepeats, &f.HandshakeLateSourceRepeats)
	}
}

// completed marks a completion (a handshake, a returned QUIC connection) by
// source h, with mark m or, for a connection begun before the interval,
// lateM, and counts it in *repeats (and *lateRepeats) when the source
// already carried that mark.
func (a *analyzer) completed(h uint64, m, lateM uint8, late bool, repeats, lateRepeats *uint64) {
	if late {
		m = lateM
	}
	if a.srcs.mark(h, m) {
		*repeats++
		if late {
			*lateRepeats++
		}
	}
}

// quicSources accounts, at the global scope, the QUIC connections begun
// (began) and returned (returned, late when the connection began before
// the interval) by a client that already began or returned one in the
// interval: one actor's clump is one event for quic_flood, as for
// syn_flood (see srcSet). A browser that opens QUIC connections to several
// of a site's addresses at once, over a path that drops UDP, is one
// client's decision, not a crowd of failed attempts; each source of a
// spoofed flood is new and keeps its full count. The price: one host that
// floods with Initials from its real address is one event an interval,
// found by its persistence rather than its volume.
func (a *analyzer) quicSources(f *Features, client netip.Addr, began, returned, late bool) {
	if !began && !returned {
		return
	}
	h := sketch.HashAddr(client)
	if began && a.srcs.mark(h, srcQUIC) {
		f.QUICSourceRepeats++
	}
	if returned {
		a.completed(h, srcQUICReturn, srcQUICReturnL, late, &f.QUICReturnSourceRepeats, &f.QUICReturnLateSourceRepeats)
	}
}

// count adds one packet to the plain counters of f; late says that the
// packet's flow began before the current interval.
func count(f *Features, p *capture.Packet, ev flow.Events, toServer, late bool) {
	if toServer {
		f.PacketsIn++
		f.BytesIn += uint64(p.IPLen)
	} else {
		f.PacketsOut++
		f.BytesOut += uint64(p.IPLen)
	}
	if p.Proto != capture.ProtoTCP {
		return
	}
	switch fl := p.Flags; {
	case fl&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN:
		f.SYN++
		if ev.Has(flow.EventSYNRepeat) {
			f.SYNRepeats++
		}
	case fl.Has(capture.FlagSYN | capture.FlagACK):
		f.SYNACK++
	}
	if p.Flags.Has(capture.FlagRST) {
		f.RST++
	}
	if p.Flags.Has(capture.FlagFIN) {
		f.FIN++
	}
	if ev&flow.EventNewFlow != 0 && p.Flags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN {
		f.NewConns++
	}
	if ev.Has(flow.EventHandshakeComplete) {
		f.Handshakes++
		if late {
			f.HandshakesLate++
		}
	}
	if ev.Has(flow.EventRetransmit) {
		f.Retransmits++
	}
}

// tick closes the current interval when ts has moved past it.
func (a *analyzer) tick(ts int64) {
	if a.start == 0 {
		if ts > 0 {
			a.start = ts - ts%a.interval
			a.cur.Start = a.start
		}
		return
	}
	if ts < a.start+a.interval {
		return
	}
	next := ts - ts%a.interval
	a.table.Expire(next)
	a.emit(next)
	a.start = next
	a.cur = Features{Start: next}
	a.srcs.next()
}

// emit sends the current interval with the given watermark.
func (a *analyzer) emit(watermark int64) {
	if a.flushTLS != nil {
		a.flushTLS()
	}
	st := a.table.Stats()
	a.cur.HalfOpen = st.HalfOpen
	a.statsMu.Lock()
	a.stats = st
	a.statsMu.Unlock()
	var k *keyedSnap
	if a.keys != nil {
		k = a.keys.snapshot()
	}
	a.out <- snapshot{worker: a.worker, f: a.cur, k: k, watermark: watermark}
}

// hygiene forwards a finding to the engine without blocking capture:
// when the queue is full the finding is dropped and counted, except in
// lossless (replay) mode.
func (a *analyzer) hygiene(kind string, hit hygieneHit) {
	ev := snapshot{worker: a.worker, hyg: &hygieneEvent{kind: kind, hit: hit}}
	if a.lossless {
		a.out <- ev
		return
	}
	select {
	case a.out <- ev:
	default:
		a.c.EventsDropped.Add(1)
	}
}

// finish flushes the flow table (emitting the last TLS records), sends the
// last, partial interval and says no more will come.
func (a *analyzer) finish() {
	a.table.Flush()
	if a.start != 0 {
		a.emit(maxTime)
		return
	}
	a.out <- snapshot{worker: a.worker, f: Features{}, watermark: maxTime}
}

// flowStats returns the table statistics published at the last interval.
func (a *analyzer) flowStats() flow.Stats {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	return a.stats
}

const maxTime = int64(^uint64(0) >> 1)
