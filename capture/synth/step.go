package synth

import (
	"math"
	"time"
)

const never = math.MaxInt64

// step emits the next packet of connection ci, due at t. It returns the
// connection's next due time, or -1 when it is finished and released.
func (g *Generator) step(ci int32, t int64) (int64, bool) {
	c := &g.conns[ci]
	if c.mode == modeQUIC {
		next := g.stepQUIC(c, t)
		if next < 0 {
			g.release(ci)
		}
		return next, true
	}
	if c.rLen > 0 && (c.phase == phDone || c.ring[c.rHead].t <= c.next) {
		a := c.ring[c.rHead]
		c.rHead = (c.rHead + 1) % ringSize
		c.rLen--
		g.out(c, t, a.fromClient, tcpACK, c.dataOpt(), 0, a.ack)
	} else {
		g.advance(ci, c, t)
		c = &g.conns[ci] // advance may have spawned a connection and moved g.conns
	}
	if c.ev >= 0 {
		te := &g.truth.Events[c.ev]
		te.Packets++
		te.Bytes += uint64(g.pkt.Length)
	}
	if c.phase == phDone && c.rLen == 0 {
		g.release(ci)
		return -1, true
	}
	return c.nextTime(), true
}

func (c *conn) dataOpt() optKind {
	if c.ts {
		return optTS
	}
	return optNone
}

// peerNxt is the ACK number a packet from the given side carries.
func (c *conn) peerNxt(fromClient bool) uint32 {
	if fromClient {
		return c.sNxt
	}
	return c.cNxt
}

// out writes one segment of c into g.pkt; the payload (plen bytes) must
// already be at c.ep.payloadOff(opt) in g.buf. The sender's next sequence
// number advances by plen.
//
// A segment whose frame is longer than Config.Snaplen is cut at sendStream's
// request (g.truncate): its TCP checksum is left zero, since the payload
// past the snap length is never written.
func (g *Generator) out(c *conn, t int64, fromClient bool, flags uint8, opt optKind, plen int, ack uint32) {
	s := segment{fromClient: fromClient, flags: flags, opt: opt, mss: c.mss, payload: plen, ack: ack}
	if g.truncate {
		s.noSum = c.ep.payloadOff(opt)+plen > g.cfg.Snaplen
		g.truncate = false
	}
	if fromClient {
		s.seq, s.win = c.cNxt, c.cWin
		c.cNxt += uint32(plen)
	} else {
		s.seq, s.win = c.sNxt, c.sWin
		c.sNxt += uint32(plen)
	}
	if flags&tcpACK == 0 {
		s.ack = 0
	}
	if c.ts {
		i := side(fromClient)
		s.tsVal = c.tsBase[i] + uint32((t-c.t0)/1e6)
		s.tsEcr = c.lastTS[1-i]
		c.lastTS[i] = s.tsVal
	}
	data := writeFrame(g.buf, &c.ep, &s)
	g.pkt = Packet{Timestamp: t, Data: data, Length: len(data)}
	if s.noSum {
		g.pkt.Data = data[:g.cfg.Snaplen]
	}
}

// ctl writes a segment without payload.
func (g *Generator) ctl(c *conn, t int64, fromClient bool, flags uint8) {
	g.out(c, t, fromClient, flags, c.dataOpt(), 0, c.peerNxt(fromClient))
}

// gap is the time to send n bytes at the connection's rate.
func (c *conn) gap(n int) int64 { return int64(float64(n)/c.bw) + 1 }

// ackDelay is when, after a packet from the other side passes the capture
// point, the receiver's ACK passes it: the capture point sits next to the
// servers.
func (g *Generator) ackDelay(c *conn, receiverIsClient bool) int64 {
	if receiverIsClient {
		return c.rtt + int64(g.r.intn(100_000))
	}
	return c.srvDelay
}

// message returns the handshake bytes of c's current phase, building them
// (deterministically, from the connection's seeds) unless cached.
func (g *Generator) message(ci int32, c *conn) []byte {
	key := [3]uint32{uint32(ci), c.gen, uint32(c.phase)}
	if g.msgValid && key == g.msgKey {
		return g.msg
	}
	b := g.msg[:0]
	p := c.params()
	switch c.phase {
	case phHello:
		b = AppendClientHello(b, c.stack, c.sni, c.helloSeed)
	case phServerFlight:
		p.cert = g.servers[c.server].cert
		r := newRNG(c.flightSeed)
		b = appendServerFlight(b, &p, &r)
	case phClientFlight:
		r := newRNG(c.flightSeed + 1)
		b = appendClientFlight(b, &p, &r)
	case phServerFinish:
		r := newRNG(c.flightSeed + 2)
		b = appendServerFinish(b, &p, &r)
	}
	g.msg, g.msgKey, g.msgValid = b, key, true
	return b
}

// sendMessage emits the next segment of the current handshake message and
// reports whether the message is complete.
func (g *Generator) sendMessage(ci int32, c *conn, t int64, fromClient bool) (n int, done bool) {
	msg := g.message(ci, c)
	n = min(len(msg)-c.msgOff, c.segMax)
	off := c.ep.payloadOff(c.dataOpt())
	copy(g.buf[off:off+n], msg[c.msgOff:])
	c.msgOff += n
	done = c.msgOff == len(msg)
	flags := uint8(tcpACK)
	if done {
		flags |= tcpPSH
		c.msgOff = 0
	}
	g.out(c, t, fromClient, flags, c.dataOpt(), n, c.peerNxt(fromClient))
	return n, done
}

// startStream begins an application-data stream of size bytes (record
// headers included).
func (c *conn) startStream(size int64) {
	c.left = max(size, 64)
	c.recHdr, c.recBody, c.unacked = 0, 0, 0
	c.firstSeg = true
}

// nextRecord starts the next application-data record of the stream when
// the current one is complete.
func (c *conn) nextRecord() {
	if c.recHdr != 0 || c.recBody != 0 {
		return
	}
	maxBody := 16384 + 24
	if c.tls13 {
		maxBody = 16384 + 17
	}
	body := int(min(int64(maxBody), c.left-5))
	if rem := c.left - 5 - int64(body); rem > 0 && rem < 32 {
		body -= 32
	}
	c.recLen, c.recHdr, c.recBody = body, 5, body
}

// skipRecords advances the stream by n bytes without writing them: the
// part of a segment past the snap length.
func (c *conn) skipRecords(n int) {
	for n > 0 {
		c.nextRecord()
		k := min(c.recHdr, n)
		if k == 0 {
			k = min(c.recBody, n)
			c.recBody -= k
		} else {
			c.recHdr -= k
		}
		c.left -= int64(k)
		n -= k
	}
}

// tsoSegments is the largest TSO super-segment in full segments: 44 × 1460
// bytes of payload keep an IP packet under 65535 bytes.
const tsoSegments = 44

// tsoSize returns the payload of c's next super-segment: as Linux's TSO
// autosizing does, about one millisecond of the flow's rate, at least two
// segments and at most tsoSegments; the first of a burst may take a whole
// initial window (ten segments).
func (c *conn) tsoSize() int {
	k := int(c.bw * 1e6 / float64(c.segMax))
	if c.firstSeg {
		k = max(k, 10)
	}
	return clampInt(k, 2, tsoSegments) * c.segMax
}

func clampInt(x, lo, hi int) int { return min(max(x, lo), hi) }

// fillRecords writes the next len(b) bytes of the stream: TLS
// application-data records with random bodies, headers split across
// segments where they fall.
func (g *Generator) fillRecords(c *conn, b []byte) {
	ver := c.ver
	if c.tls13 {
		ver = 0x0303
	}
	for len(b) > 0 {
		c.nextRecord()
		if c.recHdr > 0 {
			hdr := [5]byte{recAppData, byte(ver >> 8), byte(ver), byte(c.recLen >> 8), byte(c.recLen)}
			k := copy(b, hdr[5-c.recHdr:])
			b = b[k:]
			c.recHdr -= k
			c.left -= int64(k)
			continue
		}
		k := min(c.recBody, len(b))
		off := g.r.intn(poolSize)
		copy(b[:k], g.pool[off:off+k])
		b = b[k:]
		c.recBody -= k
		c.left -= int64(k)
	}
}

// sendStream emits the next segment of the current stream and reports
// whether the stream is complete. Every second segment, and the last, is
// ACKed by the receiver after the appropriate delay.
//
// With Config.TSO the segment is a super-segment (see tsoSize) and the
// receiver ACKs each one; with Config.Snaplen only the bytes within the
// snap length are written.
func (g *Generator) sendStream(c *conn, t int64, fromClient bool) (n int, done bool) {
	seg := c.segMax
	if g.cfg.TSO {
		seg = c.tsoSize()
		c.firstSeg = false
	}
	n = int(min(c.left, int64(seg)))
	off := c.ep.payloadOff(c.dataOpt())
	if sl := g.cfg.Snaplen; sl > 0 && off+n > sl {
		k := max(sl-off, 0)
		g.fillRecords(c, g.buf[off:off+k])
		c.skipRecords(n - k)
		g.truncate = true
	} else {
		g.fillRecords(c, g.buf[off:off+n])
	}
	done = c.left == 0
	flags := uint8(tcpACK)
	if done {
		flags |= tcpPSH
	}
	g.out(c, t, fromClient, flags, c.dataOpt(), n, c.peerNxt(fromClient))
	if g.cfg.TSO {
		c.unacked++
	}
	g.ackEvery2(c, t, fromClient, done)
	return n, done
}

func (g *Generator) ackEvery2(c *conn, t int64, fromClient, last bool) {
	c.unacked++
	if c.unacked >= 2 || last {
		c.unacked = 0
		senderNxt := c.sNxt
		if fromClient {
			senderNxt = c.cNxt
		}
		c.queueAck(t+g.ackDelay(c, !fromClient), !fromClient, senderNxt)
	}
}

func (g *Generator) requestSize(c *conn, t int64) int64 {
	switch c.mode {
	case modeBulkUp:
		return int64(c.bw * float64(max(c.bulkEnd-t, int64(time.Millisecond))))
	case modeBulkDown:
		return 400
	}
	if g.r.chance(0.03) {
		return int64(g.r.pareto(20_000, 1.3, 50e6))
	}
	return int64(g.r.lognormal(350, 0.8, 60, 30_000))
}

func (g *Generator) responseSize(c *conn, t int64) int64 {
	if c.objBytes > 0 {
		return c.objBytes
	}
	switch c.mode {
	case modeBulkDown:
		return int64(c.bw * float64(max(c.bulkEnd-t, int64(time.Millisecond))))
	case modeBulkUp:
		return 200
	}
	return int64(g.servers[c.server].law.draw(&g.r))
}

// advance emits the next main-phase packet of c and moves it on.
func (g *Generator) advance(ci int32, c *conn, t int64) {
	r := &g.r
	switch c.phase {
	case phSYN:
		opt, win := optSynLinux, uint16(64240)
		switch c.os {
		case osWindows:
			opt = optSynWindows
		case osMac:
			opt, win = optSynMac, 65535
		}
		w := c.cWin
		c.cWin = win
		g.out(c, t, true, tcpSYN, opt, 0, 0)
		c.cWin = w
		c.cNxt++
		c.phase, c.next = phSYNACK, t+c.srvDelay
	case phSYNACK, phSynAckRetx:
		opt := optSynAckNoTS
		if c.ts {
			opt = optSynAckTS
		}
		if c.phase == phSynAckRetx {
			c.sNxt--
		}
		w := c.sWin
		c.sWin = 65160
		g.out(c, t, false, tcpSYN|tcpACK, opt, 0, c.cNxt)
		c.sWin = w
		c.sNxt++
		retx := c.phase == phSynAckRetx
		if retx {
			c.retxDone++
		}
		switch {
		case retx && c.retxDone >= c.retx:
			c.phase, c.next = phDone, never
		case retx: // Linux doubles the wait: 1 s, 2 s, 4 s...
			c.next = t + int64(time.Second)<<c.retxDone
		case (c.mode == modeSynAck || c.mode == modeHalfOpen) && c.abort == abortRST:
			c.phase, c.next = phHalfOpen, t+c.rtt
		case c.mode == modeSynAck || c.mode == modeHalfOpen && c.abort == abortHang:
			c.phase, c.next = phSynAckRetx, t+int64(time.Second)
		case c.mode == modeHalfOpen && r.chance(0.5):
			c.phase, c.next = phHalfOpen, t+c.rtt
		case c.mode == modeHalfOpen:
			c.phase, c.next = phSynAckRetx, t+int64(time.Second)
		default:
			c.phase, c.next = phACK, t+c.rtt
		}
	case phHalfOpen:
		g.out(c, t, true, tcpRST, c.dataOpt(), 0, 0)
		c.phase, c.next = phDone, never
	case phACK:
		g.ctl(c, t, true, tcpACK)
		if c.abort == abortSilent {
			c.phase, c.next = phDone, never
			return
		}
		c.phase, c.next = phHello, t+5_000+int64(r.intn(300_000))
	case phHello:
		n, done := g.sendMessage(ci, c, t, true)
		if done {
			c.phase, c.next = phServerFlight, t+int64(r.lognormal(1e6, 0.5, 2e5, 2e7))
		} else {
			c.next = t + c.gap(n)
		}
	case phServerFlight:
		n, done := g.sendMessage(ci, c, t, false)
		g.ackEvery2(c, t, false, done)
		switch {
		case done && c.abort == abortFlight:
			c.close, c.phase, c.next = closeRST, phClose1, t+c.rtt+int64(r.intn(500_000))
		case done:
			c.phase, c.next = phClientFlight, t+c.rtt+int64(r.intn(500_000))+100_000
		default:
			c.next = t + c.gap(n)
		}
	case phClientFlight:
		g.sendMessage(ci, c, t, true)
		if c.tls13 {
			c.phase, c.next = phRequest, t+10_000+int64(r.intn(100_000))
			c.startStream(g.requestSize(c, c.next))
		} else {
			c.phase, c.next = phServerFinish, t+c.srvDelay+int64(r.intn(300_000))
		}
	case phServerFinish:
		g.sendMessage(ci, c, t, false)
		c.phase, c.next = phRequest, t+c.rtt+int64(r.intn(100_000))
		c.startStream(g.requestSize(c, c.next))
	case phRequest:
		n, done := g.sendStream(c, t, true)
		if done {
			c.phase, c.next = phResponse, t+int64(r.lognormal(3e6, 0.8, 1e5, 5e8))
			c.startStream(g.responseSize(c, c.next))
		} else {
			c.next = t + c.gap(n)
		}
	case phResponse:
		n, done := g.sendStream(c, t, false)
		switch {
		case !done:
			c.next = t + c.gap(n)
		case c.exchanges > 1 && c.mode == modeNormal:
			c.exchanges--
			c.phase, c.next = phRequest, t+c.rtt+int64(r.lognormal(4e8, 1.3, 1e6, 1.2e11))
			c.startStream(g.requestSize(c, c.next))
		case c.chain > 0:
			// The next object of an egress chain starts at once; this
			// connection closes. c is not used after chainNext.
			c.phase, c.next = phClose1, t+c.rtt
			g.chainNext(int(c.chain-1), int(c.chainCl), t+c.rtt)
		default:
			c.phase, c.next = phClose1, t+c.rtt+int64(r.lognormal(2e8, 1.5, 1e6, 6e10))
		}
	case phClose1:
		switch c.close {
		case closeClientFIN:
			g.ctl(c, t, true, tcpFIN|tcpACK)
			c.cNxt++
			c.next = t + c.srvDelay
		case closeServerFIN:
			g.ctl(c, t, false, tcpFIN|tcpACK)
			c.sNxt++
			c.next = t + c.rtt
		case closeRST:
			g.ctl(c, t, true, tcpRST|tcpACK)
			c.phase, c.next = phDone, never
			return
		}
		c.phase = phClose2
	case phClose2:
		if c.close == closeClientFIN {
			g.ctl(c, t, false, tcpFIN|tcpACK)
			c.sNxt++
			c.next = t + c.rtt
		} else {
			g.ctl(c, t, true, tcpFIN|tcpACK)
			c.cNxt++
			c.next = t + c.srvDelay
		}
		c.phase = phClose3
	case phClose3:
		g.ctl(c, t, c.close == closeClientFIN, tcpACK)
		c.phase, c.next = phDone, never
	default:
		// phDone with an empty ring never reaches here.
		c.next = never
	}
}
