package synth

import "encoding/binary"

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// optKind selects the TCP options a segment carries.
type optKind uint8

const (
	optNone       optKind = iota
	optSynLinux           // MSS, SACK_PERM, TS, NOP, WS 7 (20 bytes)
	optSynWindows         // MSS, NOP, WS 8, NOP, NOP, SACK_PERM (12 bytes)
	optSynMac             // MSS, NOP, WS 6, NOP, NOP, TS, SACK_PERM, EOL, EOL (24 bytes)
	optSynAckTS           // MSS, SACK_PERM, TS, NOP, WS 7 (20 bytes)
	optSynAckNoTS         // MSS, NOP, NOP, SACK_PERM, NOP, WS 7 (12 bytes)
	optTS                 // NOP, NOP, TS (12 bytes)
	optMSS                // MSS (4 bytes)
)

var optLens = [...]int{optNone: 0, optSynLinux: 20, optSynWindows: 12, optSynMac: 24, optSynAckTS: 20,
	optSynAckNoTS: 12, optTS: 12, optMSS: 4}

// vlanMode is how a connection's frames are tagged.
type vlanMode uint8

const (
	vlanNone vlanMode = iota
	vlanDot1Q
	vlanQinQ
)

// endpoint is the addressing of one connection: everything the frame writer
// needs besides sequence numbers and payload.
type endpoint struct {
	v6        bool
	vlan      vlanMode
	vidOuter  uint16
	vidInner  uint16
	cAddr     [16]byte // IPv4 in the first 4 bytes
	sAddr     [16]byte
	cPort     uint16
	sPort     uint16
	cTTL      uint8
	sTTL      uint8
	cIPID     uint16
	sIPID     uint16
	flowLabel uint32
	sMAC      [6]byte
}

// routerMAC is the client side's next hop as seen at the server's edge.
var routerMAC = [6]byte{0x00, 0x1b, 0x21, 0x3a, 0x44, 0x01}

// l2Len returns the Ethernet header length including VLAN tags.
func (ep *endpoint) l2Len() int { return 14 + 4*int(ep.vlan) }

// payloadOff returns where the TCP payload starts in a frame.
func (ep *endpoint) payloadOff(o optKind) int {
	n := ep.l2Len() + 20 + 20 + optLens[o]
	if ep.v6 {
		n += 20
	}
	return n
}

// segment describes one TCP segment to write.
type segment struct {
	fromClient bool
	flags      uint8
	seq, ack   uint32
	win        uint16
	opt        optKind
	mss        uint16
	tsVal      uint32
	tsEcr      uint32
	payload    int  // bytes on the wire after the options, written at ep.payloadOff(opt)
	noSum      bool // the frame is truncated: leave the TCP checksum zero
}

// writeFrame fills in the Ethernet, VLAN, IP and TCP headers in buf in front
// of the payload the caller already placed at ep.payloadOff(s.opt), and
// returns the frame. IPv4 header and TCP checksums are computed.
func writeFrame(buf []byte, ep *endpoint, s *segment) []byte {
	tcpLen := 20 + optLens[s.opt] + s.payload
	tcp, sum := writeL3(buf, ep, s.fromClient, 6, tcpLen)
	if s.fromClient {
		binary.BigEndian.PutUint16(tcp[0:], ep.cPort)
		binary.BigEndian.PutUint16(tcp[2:], ep.sPort)
	} else {
		binary.BigEndian.PutUint16(tcp[0:], ep.sPort)
		binary.BigEndian.PutUint16(tcp[2:], ep.cPort)
	}
	binary.BigEndian.PutUint32(tcp[4:], s.seq)
	binary.BigEndian.PutUint32(tcp[8:], s.ack)
	hl := 20 + optLens[s.opt]
	tcp[12] = byte(hl/4) << 4
	tcp[13] = s.flags
	binary.BigEndian.PutUint16(tcp[14:], s.win)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
	writeOpts(tcp[20:hl], s)
	tcp = tcp[:tcpLen]
	if !s.noSum {
		binary.BigEndian.PutUint16(tcp[16:], fold(sum+sum32(tcp)))
	}
	return buf[:frameEnd(buf, tcp)]
}

// udpPayloadOff returns where a UDP payload starts in a frame.
func (ep *endpoint) udpPayloadOff() int {
	n := ep.l2Len() + 20 + 8
	if ep.v6 {
		n += 20
	}
	return n
}

// writeUDP fills in the Ethernet, VLAN, IP and UDP headers in buf in front
// of the plen payload bytes the caller already placed at
// ep.udpPayloadOff(), and returns the frame. Checksums are computed.
func writeUDP(buf []byte, ep *endpoint, fromClient bool, plen int) []byte {
	udpLen := 8 + plen
	udp, sum := writeL3(buf, ep, fromClient, 17, udpLen)
	if fromClient {
		binary.BigEndian.PutUint16(udp[0:], ep.cPort)
		binary.BigEndian.PutUint16(udp[2:], ep.sPort)
	} else {
		binary.BigEndian.PutUint16(udp[0:], ep.sPort)
		binary.BigEndian.PutUint16(udp[2:], ep.cPort)
	}
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	udp[6], udp[7] = 0, 0
	udp = udp[:udpLen]
	c := fold(sum + sum32(udp))
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(udp[6:], c)
	return buf[:frameEnd(buf, udp)]
}

// frameEnd returns the length of the frame in buf that ends with l4.
func frameEnd(buf, l4 []byte) int { return len(buf[:cap(buf)]) - cap(l4) + len(l4) }

// writeL3 writes the Ethernet, VLAN and IP headers of a packet of protocol
// proto whose transport segment is l4Len bytes, and returns the transport
// segment's buffer (from its first byte to the end of buf) and the partial
// checksum of the pseudo-header.
func writeL3(buf []byte, ep *endpoint, fromClient bool, proto uint8, l4Len int) ([]byte, uint64) {
	var src, dst *[16]byte
	if fromClient {
		src, dst = &ep.cAddr, &ep.sAddr
		copy(buf[0:6], ep.sMAC[:])
		copy(buf[6:12], routerMAC[:])
	} else {
		src, dst = &ep.sAddr, &ep.cAddr
		copy(buf[0:6], routerMAC[:])
		copy(buf[6:12], ep.sMAC[:])
	}
	o := 12
	switch ep.vlan {
	case vlanDot1Q:
		binary.BigEndian.PutUint16(buf[o:], 0x8100)
		binary.BigEndian.PutUint16(buf[o+2:], ep.vidInner)
		o += 4
	case vlanQinQ:
		binary.BigEndian.PutUint16(buf[o:], 0x88a8)
		binary.BigEndian.PutUint16(buf[o+2:], ep.vidOuter)
		binary.BigEndian.PutUint16(buf[o+4:], 0x8100)
		binary.BigEndian.PutUint16(buf[o+6:], ep.vidInner)
		o += 8
	}
	if ep.v6 {
		binary.BigEndian.PutUint16(buf[o:], 0x86dd)
		ip := buf[o+2 : o+42]
		binary.BigEndian.PutUint32(ip[0:], 6<<28|ep.flowLabel&0xfffff)
		binary.BigEndian.PutUint16(ip[4:], uint16(l4Len))
		ip[6] = proto
		if fromClient {
			ip[7] = ep.cTTL
		} else {
			ip[7] = ep.sTTL
		}
		copy(ip[8:24], src[:])
		copy(ip[24:40], dst[:])
		return buf[o+42:], sum32(ip[8:40]) + uint64(proto) + uint64(l4Len)
	}
	binary.BigEndian.PutUint16(buf[o:], 0x0800)
	ip := buf[o+2 : o+22]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+l4Len))
	var id uint16
	if fromClient {
		ep.cIPID++
		id, ip[8] = ep.cIPID, ep.cTTL
	} else {
		ep.sIPID++
		id, ip[8] = ep.sIPID, ep.sTTL
	}
	binary.BigEndian.PutUint16(ip[4:], id)
	ip[6], ip[7] = 0x40, 0 // DF
	ip[9] = proto
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], src[:4])
	copy(ip[16:20], dst[:4])
	binary.BigEndian.PutUint16(ip[10:], fold(sum32(ip)))
	return buf[o+22:], sum32(ip[12:20]) + uint64(proto) + uint64(l4Len)
}

func writeOpts(b []byte, s *segment) {
	mss := func(b []byte) { b[0], b[1], b[2], b[3] = 2, 4, byte(s.mss>>8), byte(s.mss) }
	ts := func(b []byte) {
		b[0], b[1] = 8, 10
		binary.BigEndian.PutUint32(b[2:], s.tsVal)
		binary.BigEndian.PutUint32(b[6:], s.tsEcr)
	}
	switch s.opt {
	case optSynLinux, optSynAckTS:
		mss(b)
		b[4], b[5] = 4, 2
		ts(b[6:])
		b[16], b[17], b[18], b[19] = 1, 3, 3, 7
	case optSynWindows:
		mss(b)
		b[4], b[5], b[6], b[7] = 1, 3, 3, 8
		b[8], b[9], b[10], b[11] = 1, 1, 4, 2
	case optSynMac:
		mss(b)
		b[4], b[5], b[6], b[7] = 1, 3, 3, 6
		b[8], b[9] = 1, 1
		ts(b[10:])
		b[20], b[21], b[22], b[23] = 4, 2, 0, 0
	case optSynAckNoTS:
		mss(b)
		b[4], b[5], b[6], b[7] = 1, 1, 4, 2
		b[8], b[9], b[10], b[11] = 1, 3, 3, 7
	case optTS:
		b[0], b[1] = 1, 1
		ts(b[2:])
	case optMSS:
		mss(b)
	}
}

// sum32 returns the ones'-complement partial sum of b, not yet folded.
func sum32(b []byte) uint64 {
	var s uint64
	for len(b) >= 32 {
		s += uint64(binary.BigEndian.Uint32(b[0:])) + uint64(binary.BigEndian.Uint32(b[4:])) +
			uint64(binary.BigEndian.Uint32(b[8:])) + uint64(binary.BigEndian.Uint32(b[12:])) +
			uint64(binary.BigEndian.Uint32(b[16:])) + uint64(binary.BigEndian.Uint32(b[20:])) +
			uint64(binary.BigEndian.Uint32(b[24:])) + uint64(binary.BigEndian.Uint32(b[28:]))
		b = b[32:]
	}
	for len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold folds a partial sum into the 16-bit Internet checksum.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
