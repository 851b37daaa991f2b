package capture

import (
	"net/netip"
	"strconv"
)

// Proto is an IP transport protocol number.
type Proto uint8

// Transport protocols that the decoder summarises.
const (
	ProtoTCP Proto = 6
	ProtoUDP Proto = 17
)

// String returns "tcp", "udp" or the protocol number.
func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return "proto_" + strconv.Itoa(int(p))
}

// TCPFlags holds the eight TCP header flags in wire bit order.
type TCPFlags uint8

// TCP header flags.
const (
	FlagFIN TCPFlags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether every flag in m is set.
func (f TCPFlags) Has(m TCPFlags) bool { return f&m == m }

// Packet is the decoded summary of one TCP or UDP packet: everything the
// flow table and the detectors need, in a fixed-size value.
//
// Payload aliases the source's buffer: it is valid only until the next read
// from the same source. Copy what you keep.
type Packet struct {
	// Timestamp is the packet time in Unix nanoseconds.
	Timestamp int64
	// Src and Dst are the innermost IP addresses (IPv4 or IPv6).
	Src, Dst netip.Addr
	// SrcPort and DstPort are the transport ports.
	SrcPort, DstPort uint16
	// Proto is ProtoTCP or ProtoUDP.
	Proto Proto
	// Flags are the TCP flags (zero for UDP).
	Flags TCPFlags
	// TTL is the IPv4 TTL or IPv6 hop limit.
	TTL uint8
	// Seq and Ack are the TCP sequence and acknowledgement numbers.
	Seq, Ack uint32
	// Window is the TCP receive window field, unscaled.
	Window uint16
	// VLAN is the outermost 802.1Q/802.1ad VLAN ID, or 0.
	VLAN uint16
	// WireLen is the frame's original length on the wire, which may exceed
	// the captured length when the capture used a snaplen.
	WireLen uint32
	// IPLen is the IP packet length from the IP header (total length for
	// IPv4, payload length plus 40 for IPv6). Byte counters use it.
	IPLen uint32
	// PayloadLen is the transport payload length derived from the IP
	// header, which is independent of truncation.
	PayloadLen uint32
	// Payload is the captured transport payload; it is shorter than
	// PayloadLen when the capture was truncated. It aliases the source
	// buffer and is valid until the next read from the source.
	Payload []byte
}

// Truncated reports whether the capture holds less payload than the IP
// header announced.
func (p *Packet) Truncated() bool { return uint32(len(p.Payload)) < p.PayloadLen }
