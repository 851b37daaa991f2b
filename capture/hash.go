package capture

import "encoding/binary"

// FlowHash returns a symmetric hash of a frame's IP addresses, transport
// ports and protocol: both directions of a flow hash to the same value, so
// a sharded replay sends them to the same worker. It reads the headers in
// place, allocates nothing, and returns 0 for frames without an IP header
// (they all go to one worker).
func FlowHash(lt LinkType, data []byte) uint64 {
	var (
		etype uint16
		off   int
	)
	switch lt {
	case LinkEthernet:
		off = 14
		if len(data) < off {
			return 0
		}
		etype = binary.BigEndian.Uint16(data[12:14])
		for (etype == 0x8100 || etype == 0x88a8 || etype == 0x9100) && len(data) >= off+4 {
			etype = binary.BigEndian.Uint16(data[off+2 : off+4])
			off += 4
		}
	case LinkLinuxSLL:
		if len(data) < 16 {
			return 0
		}
		etype, off = binary.BigEndian.Uint16(data[14:16]), 16
	case LinkLinuxSLL2:
		if len(data) < 20 {
			return 0
		}
		etype, off = binary.BigEndian.Uint16(data[0:2]), 20
	case LinkNull, LinkLoop:
		off = 4
		etype = 0x0800
		if len(data) > off && data[off]>>4 == 6 {
			etype = 0x86dd
		}
	default:
		if len(data) == 0 {
			return 0
		}
		etype = 0x0800
		if data[0]>>4 == 6 {
			etype = 0x86dd
		}
	}
	if off > len(data) {
		return 0
	}
	ip := data[off:]
	var (
		a, b   uint64
		proto  byte
		tr     []byte
		hasTrp bool
	)
	switch etype {
	case 0x0800:
		if len(ip) < 20 {
			return 0
		}
		a = uint64(binary.BigEndian.Uint32(ip[12:16]))
		b = uint64(binary.BigEndian.Uint32(ip[16:20]))
		proto = ip[9]
		ihl := int(ip[0]&0x0f) * 4
		frag := binary.BigEndian.Uint16(ip[6:8]) & 0x3fff
		if frag == 0 && len(ip) >= ihl+4 {
			tr, hasTrp = ip[ihl:], true
		}
	case 0x86dd:
		if len(ip) < 40 {
			return 0
		}
		a = binary.BigEndian.Uint64(ip[8:16]) ^ binary.BigEndian.Uint64(ip[16:24])
		b = binary.BigEndian.Uint64(ip[24:32]) ^ binary.BigEndian.Uint64(ip[32:40])
		proto = ip[6]
		rest := ip[40:]
		for i := 0; i < 8; i++ {
			if proto != 0 && proto != 43 && proto != 60 {
				break
			}
			if len(rest) < 8 {
				break
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n {
				break
			}
			proto, rest = rest[0], rest[n:]
		}
		if proto != 44 && len(rest) >= 4 {
			tr, hasTrp = rest, true
		}
	default:
		return 0
	}
	if hasTrp && (proto == 6 || proto == 17) {
		a = a<<16 ^ a>>48 ^ uint64(binary.BigEndian.Uint16(tr[0:2]))
		b = b<<16 ^ b>>48 ^ uint64(binary.BigEndian.Uint16(tr[2:4]))
	}
	return mix64(mix64(a) + mix64(b) + uint64(proto))
}

// mix64 is the SplitMix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
