package detect

import (
	"errors"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/monitor443/monitor443/detect/quic"
	"github.com/monitor443/monitor443/detect/tlshello"
)

// QUICCounters are one worker's QUIC counters, read at scrape time.
type QUICCounters struct {
	// Initials counts client Initial packets that decrypted.
	Initials atomicU64
	// Connections counts new QUIC connections (first client Initial).
	Connections atomicU64
	// Unanswered counts connections whose client Initials got no server
	// packet before the flow ended.
	Unanswered atomicU64
	// Undecryptable counts long-header packets from clients that did not
	// decrypt as client Initials (unknown version, corrupt, or not an
	// Initial).
	Undecryptable atomicU64
	// PoolFull counts connections not analysed because every slot of the
	// handshake table was in use.
	PoolFull atomicU64
}

// quicConn is the analysis state of one QUIC handshake in progress.
type quicConn struct {
	conn     *quic.Conn
	hello    bool // the ClientHello was parsed
	answered bool // the server sent a long-header packet
	rec      *TLSRecord
	segments int
}

// quicAnalyzer decrypts client Initials of UDP flows on monitored ports and
// feeds their ClientHello to the TLS analyser. One per worker.
type quicAnalyzer struct {
	p    quic.Parser
	pool []quicConn
	free []uint32
	tls  *tlsAnalyzer
	c    *QUICCounters
}

func newQUICAnalyzer(maxConns int, tls *tlsAnalyzer, c *QUICCounters) *quicAnalyzer {
	a := &quicAnalyzer{pool: make([]quicConn, maxConns), free: make([]uint32, maxConns), tls: tls, c: c}
	for i := range a.free {
		a.free[i] = uint32(maxConns - 1 - i)
		a.pool[i].conn = quic.NewConn(0)
	}
	return a
}

// observe handles one UDP packet of f. It allocates nothing once a
// connection's keys are cached (the first Initial of a connection derives
// them, which costs three small allocations in the standard library).
func (a *quicAnalyzer) observe(f *flow.Flow, p *capture.Packet, feat *Features) {
	fromClient := p.Src == f.Client().Addr() && p.SrcPort == f.Client().Port()
	// A client that sends anything after the server's first datagram has
	// received it at its address: the connection attempt came from a real
	// address. A spoofed Initial's source never answers. So has a client
	// that sends a short-header (1-RTT) packet when the capture saw no
	// server datagram: its 1-RTT keys come from the server's flight, which
	// took a path the capture does not see (a tap of one direction).
	if fromClient && f.User&(userQUICConn|userQUICReturned) == userQUICConn &&
		(f.Packets(flow.ServerToClient) > 0 || len(p.Payload) > 0 && p.Payload[0]&0xc0 == 0x40) {
		f.User |= userQUICReturned
		feat.QUICReturned++
		if f.First() < feat.Start {
			feat.QUICReturnedLate++
		}
	}
	if len(p.Payload) == 0 || p.Payload[0]&0x80 == 0 { // short header: nothing in clear
		return
	}
	sv := f.Server()
	if !fromClient {
		if c := a.conn(f); c != nil && quic.IsServerPacket(p.Payload, p.SrcPort, sv.Port()) {
			c.answered = true
			if c.hello {
				a.finish(f, c, "handshake")
			}
		}
		return
	}
	if f.User&userTLSDone != 0 {
		return
	}
	c := a.conn(f)
	var (
		info quic.PacketInfo
		err  error
	)
	if c == nil {
		info, err = a.p.Packet(p.Payload)
	} else {
		info, err = a.p.PacketWithDCID(p.Payload, c.conn.ODCID())
	}
	if err != nil || !info.ClientInitial {
		if errors.Is(err, quic.ErrDecrypt) || errors.Is(err, quic.ErrVersion) {
			a.c.Undecryptable.Add(1)
		}
		return
	}
	a.c.Initials.Add(1)
	feat.QUICInitials++
	if c == nil {
		if len(a.free) == 0 {
			a.c.PoolFull.Add(1)
			f.User |= userTLSDone | userQUICConn
			feat.QUICConns++
			return
		}
		idx := a.free[len(a.free)-1]
		a.free = a.free[:len(a.free)-1]
		c = &a.pool[idx]
		c.hello, c.answered, c.rec, c.segments = false, false, nil, 0
		c.conn.Reset(info.DCID)
		f.User |= userSniffed | userQUICConn | uint64(idx+1)
		a.c.Connections.Add(1)
		feat.QUICConns++
	}
	if c.hello {
		return
	}
	c.segments++
	if c.conn.Add(info.Payload) != nil {
		a.tls.c.ParseErrors.Add(1)
		a.finish(f, c, "handshake")
		return
	}
	msg, complete := c.conn.Hello()
	if !complete {
		return
	}
	h := &a.tls.ch
	if err := h.Parse(msg); err != nil {
		a.tls.c.ParseErrors.Add(1)
		a.finish(f, c, "handshake")
		return
	}
	c.hello = true
	a.tls.countHello(h)
	feat.ClientHellos++
	if a.tls.emit != nil || a.tls.block.Len() > 0 {
		var tc tlsConn
		a.tls.buildRecord(f, &tc, p, h, tlshello.TransportQUIC)
		tc.rec.Transport = "quic"
		c.rec = tc.rec
	}
}

func (a *quicAnalyzer) conn(f *flow.Flow) *quicConn {
	i := f.User & userIdxMask
	if i == 0 || f.Proto() != capture.ProtoUDP {
		return nil
	}
	return &a.pool[i-1]
}

// finish emits the connection's record and frees its slot.
func (a *quicAnalyzer) finish(f *flow.Flow, c *quicConn, end string) {
	f.User |= userTLSDone
	if r := c.rec; r != nil && a.tls.emit != nil {
		r.HelloSegments = c.segments
		r.HelloCount = 1
		r.Established = c.answered
		r.End = end
		r.Bytes = [2]uint64{f.Bytes(flow.ClientToServer), f.Bytes(flow.ServerToClient)}
		r.Packets = [2]uint64{f.Packets(flow.ClientToServer), f.Packets(flow.ServerToClient)}
		a.tls.emit(r)
	}
	if !c.answered {
		a.c.Unanswered.Add(1)
	}
	idx := uint32(f.User&userIdxMask) - 1
	f.User &^= userIdxMask
	c.rec = nil
	a.free = append(a.free, idx)
}

// flowEnded is called from the table's OnEnd for UDP flows.
func (a *quicAnalyzer) flowEnded(f *flow.Flow, r flow.EndReason) {
	if c := a.conn(f); c != nil {
		a.finish(f, c, r.String())
	}
}
