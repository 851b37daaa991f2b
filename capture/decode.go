package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Result says what Decode made of a frame.
type Result uint8

// Decode results. ResultOK and ResultOtherPort are not failures; the rest
// are the reasons a frame could not be summarised, used as the reason label
// of the decode-failure counter.
const (
	// ResultOK means p holds a TCP or UDP packet on a monitored port.
	ResultOK Result = iota
	// ResultOtherPort means a valid TCP or UDP packet on no monitored port.
	ResultOtherPort
	// ResultNotIP means the frame carries no IP packet (ARP, LLDP, ...).
	ResultNotIP
	// ResultNotTransport means an IP packet that is neither TCP nor UDP
	// (ICMP, GRE, ESP, ...).
	ResultNotTransport
	// ResultFragment means an IP fragment; fragments are counted, not
	// reassembled.
	ResultFragment
	// ResultTruncated means the capture cut a header short (snaplen).
	ResultTruncated
	// ResultMalformed means a header is invalid.
	ResultMalformed
	// ResultUnsupportedLink means a link type the decoder does not know.
	ResultUnsupportedLink
	numResults
)

// AllResults lists every Result, in order, for creating label values up
// front.
var AllResults = [...]Result{ResultOK, ResultOtherPort, ResultNotIP, ResultNotTransport,
	ResultFragment, ResultTruncated, ResultMalformed, ResultUnsupportedLink}

// NumResults is the number of distinct Result values.
const NumResults = int(numResults)

var resultNames = [...]string{"ok", "other_port", "not_ip", "not_tcp_udp", "fragment", "truncated", "malformed", "unsupported_link"}

// String returns the snake_case name used as a metric label value.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Failure reports whether r is a decode failure (rather than a packet that
// was decoded, or one that was decoded and filtered by port).
func (r Result) Failure() bool { return r > ResultOtherPort }

// Ports is a set of monitored ports, checked in constant time.
type Ports struct{ bits [1024]uint64 }

// NewPorts returns the set holding ports.
func NewPorts(ports ...uint16) *Ports {
	s := new(Ports)
	for _, p := range ports {
		s.bits[p>>6] |= 1 << (p & 63)
	}
	return s
}

// Has reports whether p is in the set.
func (s *Ports) Has(p uint16) bool { return s.bits[p>>6]&(1<<(p&63)) != 0 }

// DecoderConfig selects the monitored ports.
type DecoderConfig struct {
	// TCPPorts and UDPPorts are the monitored server ports. A packet is
	// kept when its source or destination port is in the set.
	TCPPorts, UDPPorts []uint16
}

// Decoder turns frames into Packet summaries with gopacket's
// DecodingLayerParser and preallocated layers. It allocates nothing per
// packet in steady state.
//
// A Decoder is not safe for concurrent use; each worker owns one.
type Decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  linuxSLL2
	loop  layers.Loopback
	raw   rawIP
	ip4   layers.IPv4
	ip6   layers.IPv6
	ext   layers.IPv6ExtensionSkipper
	tcp   layers.TCP
	udp   layers.UDP

	parsers [numLinks]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	tcpPorts, udpPorts *Ports
}

type linkIndex uint8

const (
	linkEthernet linkIndex = iota
	linkSLL
	linkSLL2
	linkLoopback
	linkRaw
	numLinks
)

// linkFor maps a pcap link type to the parser that decodes it.
func linkFor(lt LinkType) (linkIndex, bool) {
	switch lt {
	case LinkEthernet:
		return linkEthernet, true
	case LinkLinuxSLL:
		return linkSLL, true
	case LinkLinuxSLL2:
		return linkSLL2, true
	case LinkNull, LinkLoop:
		return linkLoopback, true
	case LinkRaw, LinkIPv4, LinkIPv6, 12, 14:
		// 12 and 14 are DLT_RAW on some BSDs.
		return linkRaw, true
	}
	return 0, false
}

// NewDecoder returns a Decoder for the configured ports.
func NewDecoder(cfg DecoderConfig) *Decoder {
	d := &Decoder{
		decoded:  make([]gopacket.LayerType, 0, 16),
		tcpPorts: NewPorts(cfg.TCPPorts...),
		udpPorts: NewPorts(cfg.UDPPorts...),
	}
	firsts := [numLinks]gopacket.LayerType{
		linkEthernet: layers.LayerTypeEthernet,
		linkSLL:      layers.LayerTypeLinuxSLL,
		linkSLL2:     layerTypeLinuxSLL2,
		linkLoopback: layers.LayerTypeLoopback,
		linkRaw:      layerTypeRawIP,
	}
	for i, first := range firsts {
		p := gopacket.NewDecodingLayerParser(first,
			&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.raw,
			&d.ip4, &d.ip6, &d.ext, &d.tcp, &d.udp)
		p.IgnoreUnsupported = true
		d.parsers[i] = p
	}
	return d
}

// Decode summarises f into p and says what it found. On ResultOK and
// ResultOtherPort, p is filled; p.Payload then aliases f.Data and shares
// its lifetime. On any other result p is left in an unspecified state.
func (d *Decoder) Decode(f *Frame, p *Packet) Result {
	li, ok := linkFor(f.LinkType)
	if !ok {
		return ResultUnsupportedLink
	}
	parser := d.parsers[li]
	data := f.Data
	err := parser.DecodeLayers(data, &d.decoded)

	var (
		ipOff, ipEnd int
		haveIP       bool
		fragment     bool
		vlanSet      bool
	)
	p.VLAN = 0
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeDot1Q:
			if !vlanSet {
				p.VLAN = d.dot1q.VLANIdentifier
				vlanSet = true
			}
		case layers.LayerTypeIPv4:
			haveIP = true
			ip := &d.ip4
			ipOff = offset(data, ip.Contents)
			ipEnd = ipOff + int(ip.Length)
			p.Src = netip.AddrFrom4([4]byte(ip.SrcIP))
			p.Dst = netip.AddrFrom4([4]byte(ip.DstIP))
			p.TTL = ip.TTL
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				fragment = true
			}
		case layers.LayerTypeIPv6:
			haveIP = true
			ip := &d.ip6
			ipOff = offset(data, ip.Contents)
			ipEnd = ipOff + 40 + int(ip.Length)
			p.Src = netip.AddrFrom16([16]byte(ip.SrcIP))
			p.Dst = netip.AddrFrom16([16]byte(ip.DstIP))
			p.TTL = ip.HopLimit
		case layers.LayerTypeIPv6Fragment:
			fragment = true
		}
	}
	if fragment {
		return ResultFragment
	}
	if err != nil {
		if parser.Truncated {
			if haveIP && len(d.decoded) > 0 {
				if r, ok := d.partialTransport(f, p, ipOff, ipEnd); ok {
					return r
				}
			}
			return ResultTruncated
		}
		return ResultMalformed
	}
	if !haveIP {
		return ResultNotIP
	}
	if len(d.decoded) == 0 {
		return ResultMalformed
	}
	var (
		contents, payload []byte
		ports             *Ports
	)
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeTCP:
		t := &d.tcp
		p.Proto = ProtoTCP
		p.SrcPort, p.DstPort = uint16(t.SrcPort), uint16(t.DstPort)
		p.Seq, p.Ack, p.Window = t.Seq, t.Ack, t.Window
		p.Flags = tcpFlags(t)
		contents, payload, ports = t.Contents, t.Payload, d.tcpPorts
	case layers.LayerTypeUDP:
		u := &d.udp
		p.Proto = ProtoUDP
		p.SrcPort, p.DstPort = uint16(u.SrcPort), uint16(u.DstPort)
		p.Seq, p.Ack, p.Window, p.Flags = 0, 0, 0, 0
		contents, payload, ports = u.Contents, u.Payload, d.udpPorts
	default:
		return ResultNotTransport
	}
	payOff := offset(data, contents) + len(contents)
	plen := ipEnd - payOff
	if plen < 0 {
		return ResultMalformed
	}
	if len(payload) > plen {
		payload = payload[:plen] // link-layer padding
	}
	p.Timestamp = f.Timestamp
	p.WireLen = uint32(f.Length)
	p.IPLen = uint32(ipEnd - ipOff)
	p.PayloadLen = uint32(plen)
	p.Payload = payload
	if !ports.Has(p.SrcPort) && !ports.Has(p.DstPort) {
		return ResultOtherPort
	}
	return ResultOK
}

// partialTransport salvages a packet whose transport header the snaplen
// cut short: the ports, flags and lengths usually survive, and the byte
// counts come from the IP header anyway.
func (d *Decoder) partialTransport(f *Frame, p *Packet, ipOff, ipEnd int) (Result, bool) {
	var (
		proto layers.IPProtocol
		tp    []byte
	)
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeIPv4:
		proto, tp = d.ip4.Protocol, d.ip4.Payload
	case layers.LayerTypeIPv6:
		proto, tp = d.ip6.NextHeader, d.ip6.Payload
	case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination:
		proto, tp = d.ext.NextHeader, d.ext.Payload
	default:
		return 0, false
	}
	off := offset(f.Data, tp)
	var ports *Ports
	switch {
	case proto == layers.IPProtocolTCP && len(tp) >= 14:
		p.Proto = ProtoTCP
		p.Seq = binary.BigEndian.Uint32(tp[4:8])
		p.Ack = binary.BigEndian.Uint32(tp[8:12])
		p.Flags = TCPFlags(tp[13])
		p.Window = 0
		if len(tp) >= 16 {
			p.Window = binary.BigEndian.Uint16(tp[14:16])
		}
		off += int(tp[12]>>4) * 4
		ports = d.tcpPorts
	case proto == layers.IPProtocolUDP && len(tp) >= 4:
		p.Proto = ProtoUDP
		p.Seq, p.Ack, p.Window, p.Flags = 0, 0, 0, 0
		off += 8
		ports = d.udpPorts
	default:
		return 0, false
	}
	if off > ipEnd {
		return ResultMalformed, true
	}
	p.SrcPort = binary.BigEndian.Uint16(tp[0:2])
	p.DstPort = binary.BigEndian.Uint16(tp[2:4])
	p.Timestamp = f.Timestamp
	p.WireLen = uint32(f.Length)
	p.IPLen = uint32(ipEnd - ipOff)
	p.PayloadLen = uint32(ipEnd - off)
	p.Payload = nil
	if !ports.Has(p.SrcPort) && !ports.Has(p.DstPort) {
		return ResultOtherPort, true
	}
	return ResultOK, true
}

// offset returns where sub starts inside data; sub must be a subslice of
// data (both share the backing array's end).
func offset(data, sub []byte) int { return cap(data) - cap(sub) }

func tcpFlags(t *layers.TCP) TCPFlags {
	var f TCPFlags
	if t.FIN {
		f |= FlagFIN
	}
	if t.SYN {
		f |= FlagSYN
	}
	if t.RST {
		f |= FlagRST
	}
	if t.PSH {
		f |= FlagPSH
	}
	if t.ACK {
		f |= FlagACK
	}
	if t.URG {
		f |= FlagURG
	}
	if t.ECE {
		f |= FlagECE
	}
	if t.CWR {
		f |= FlagCWR
	}
	return f
}
