package synth

// phase is where a connection is in its life.
type phase uint8

const (
	phSYN phase = iota
	phSYNACK
	phACK
	phHello
	phServerFlight
	phClientFlight
	phServerFinish
	phRequest
	phResponse
	phClose1
	phClose2
	phClose3
	phHalfOpen // after the SYN-ACK of a connection that never completes
	phSynAckRetx
	phDone
)

// mode is what a connection does after its handshake.
type mode uint8

const (
	modeNormal   mode = iota // request/response exchanges
	modeBulkDown             // one long download at a fixed rate
	modeBulkUp               // one long upload at a fixed rate
	modeHalfOpen             // SYN, SYN-ACK, then RST or silence
	modeSynAck               // a victim's SYN-ACK to a spoofed SYN
	modeQUIC                 // an HTTP/3 connection on UDP (see stepQUIC)
)

// closeKind is how a connection ends.
type closeKind uint8

const (
	closeClientFIN closeKind = iota
	closeServerFIN
	closeRST
)

// abortKind is how a connection that does not run to its end stops.
type abortKind uint8

const (
	abortNone   abortKind = iota
	abortFlight           // RST from the client after the server's flight
	abortSilent           // the client goes silent after the handshake's ACK
	abortRST              // the client answers the SYN-ACK with a RST
	abortHang             // nothing answers the SYN-ACK
)

// ackEnt is a pure ACK waiting to be emitted.
type ackEnt struct {
	t          int64
	ack        uint32
	fromClient bool
}

const ringSize = 16

// conn is one TCP connection's state. Conns live in Generator.conns and are
// recycled through a free list.
type conn struct {
	ep     endpoint
	gen    uint32 // bumped on reuse, keys the message cache
	ev     int32  // truth event index, or -1 for benign traffic
	phase  phase
	mode   mode
	close  closeKind
	os     osKind
	stack  Stack
	ts     bool
	tls13  bool
	mlkem  bool
	h2     bool
	ems    bool
	cipher uint16
	ver    uint16
	sni    string
	server int32

	helloSeed  uint64
	flightSeed uint64
	encLen     int

	t0       int64 // SYN time
	next     int64 // time of the next main-phase packet
	rtt      int64
	srvDelay int64
	bw       float64 // bytes per nanosecond, both directions
	bulkEnd  int64

	cISN, sISN uint32
	cNxt, sNxt uint32
	tsBase     [2]uint32 // [0] server, [1] client
	lastTS     [2]uint32
	cWin, sWin uint16
	mss        uint16
	segMax     int // payload bytes per full segment

	exchanges int
	msgOff    int
	left      int64 // stream bytes still to send, record headers included
	recHdr    int   // record header bytes still to send
	recBody   int   // record body bytes still to send
	recLen    int   // body length of the current record
	unacked   int   // full segments since the receiver last ACKed

	qst uint8 // QUIC connections: the next packet to send (quic.go)

	abort    abortKind
	retx     uint8 // SYN-ACK retransmissions to send when unanswered
	retxDone uint8
	objBytes int64 // when > 0, the size of every response
	chain    int32 // EgressSpike: source index + 1 of the chain, or 0
	chainCl  int32 // EgressSpike: the chain's client index
	firstSeg bool  // the next data segment starts a burst (TSO sizing)

	ring  [ringSize]ackEnt
	rHead uint8
	rLen  uint8
}

// nextTime returns when the conn's next packet is due.
func (c *conn) nextTime() int64 {
	if c.rLen > 0 && (c.phase == phDone || c.ring[c.rHead].t <= c.next) {
		return c.ring[c.rHead].t
	}
	return c.next
}

// queueAck schedules a pure ACK. Times are kept non-decreasing; when the
// ring is full the newest entry is moved later and made cumulative, as a
// stretch ACK.
func (c *conn) queueAck(t int64, fromClient bool, ack uint32) {
	if c.rLen > 0 {
		last := &c.ring[(int(c.rHead)+int(c.rLen)-1)%ringSize]
		t = max(t, last.t)
		if int(c.rLen) == ringSize || (last.fromClient == fromClient && last.t == t) {
			last.t, last.ack, last.fromClient = t, ack, fromClient
			return
		}
	}
	c.ring[(int(c.rHead)+int(c.rLen))%ringSize] = ackEnt{t: t, ack: ack, fromClient: fromClient}
	c.rLen++
}

func (c *conn) params() flightParams {
	return flightParams{tls13: c.tls13, version: c.ver, mlkem: c.mlkem, h2: c.h2, ems: c.ems,
		cipher: c.cipher, helloSeed: c.helloSeed, encLen: c.encLen}
}

// side index for tsBase/lastTS.
func side(fromClient bool) int {
	if fromClient {
		return 1
	}
	return 0
}
