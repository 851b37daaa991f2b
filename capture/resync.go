package capture

import (
	"encoding/binary"
	"sync/atomic"
)

// Damage counts what a file reader did to get past damaged records (a
// capture cut and spliced by a failing disk or transfer, bytes
// overwritten). The counters are safe for concurrent use: the reader adds,
// any goroutine may read.
type Damage struct {
	// Repaired counts damaged records that were kept: the record header was
	// implausible, but the next plausible record was close enough behind it
	// for the bytes between to be one record, so they were returned with the
	// length of that gap and, when the timestamp was implausible too, the
	// last good record's time (the repair pcapfix makes).
	Repaired atomic.Uint64
	// SkippedRecords counts stretches of bytes skipped to resynchronise:
	// each lost at least one record, perhaps more.
	SkippedRecords atomic.Uint64
	// SkippedBytes counts the bytes skipped in those stretches.
	SkippedBytes atomic.Uint64
}

// DamageCounts is a snapshot of [Damage].
type DamageCounts struct {
	Repaired, SkippedRecords, SkippedBytes uint64
}

// Load returns the current counts.
func (d *Damage) Load() DamageCounts {
	return DamageCounts{Repaired: d.Repaired.Load(), SkippedRecords: d.SkippedRecords.Load(), SkippedBytes: d.SkippedBytes.Load()}
}

// Any reports whether anything was repaired or skipped.
func (c DamageCounts) Any() bool { return c.Repaired+c.SkippedRecords+c.SkippedBytes > 0 }

func (c DamageCounts) sub(o DamageCounts) DamageCounts {
	return DamageCounts{c.Repaired - o.Repaired, c.SkippedRecords - o.SkippedRecords, c.SkippedBytes - o.SkippedBytes}
}

// Plausibility limits for resynchronising on damaged files.
const (
	// maxJumpSeconds is how far a record's time may be from the last good
	// record's before the reader wants the record after it to confirm the
	// jump (a capture paused for hours is real; a flipped bit in a
	// timestamp is not).
	maxJumpSeconds = 3600
	// maxRecord bounds a record found while resynchronising, and a gap
	// kept as one repaired record (tcpdump's largest snap length).
	maxRecord = 262144
)

// plausibleLink reports whether data starts with a link header of type lt
// that a decoder could read: a known EtherType (IPv4 and IPv6 with the
// right version nibble), a known address family, a raw IP version. Link
// types it does not know are plausible. It reads data in place.
func plausibleLink(lt LinkType, data []byte) bool {
	var etype uint16
	var off int
	switch lt {
	case LinkEthernet:
		if len(data) < 14 {
			return false
		}
		etype, off = binary.BigEndian.Uint16(data[12:14]), 14
		for i := 0; i < 2 && (etype == 0x8100 || etype == 0x88a8 || etype == 0x9100); i++ {
			if len(data) < off+4 {
				return false
			}
			etype = binary.BigEndian.Uint16(data[off+2 : off+4])
			off += 4
		}
		if etype <= 1500 { // 802.3 length, then LLC: STP (0x42) or SNAP (0xaa)
			return len(data) >= off+3 && data[off] == data[off+1] && (data[off] == 0x42 || data[off] == 0xaa)
		}
	case LinkLinuxSLL:
		if len(data) < 16 || binary.BigEndian.Uint16(data[0:2]) > 4 {
			return false
		}
		etype, off = binary.BigEndian.Uint16(data[14:16]), 16
	case LinkLinuxSLL2:
		if len(data) < 20 || data[10] > 4 {
			return false
		}
		etype, off = binary.BigEndian.Uint16(data[0:2]), 20
	case LinkNull, LinkLoop:
		if len(data) < 5 {
			return false
		}
		switch binary.LittleEndian.Uint32(data) {
		case 2, 24, 28, 30, 2 << 24, 24 << 24, 28 << 24, 30 << 24:
		default:
			return false
		}
		return data[4]>>4 == 4 || data[4]>>4 == 6
	case LinkRaw, LinkIPv4, LinkIPv6:
		return len(data) > 0 && (data[0]>>4 == 4 || data[0]>>4 == 6)
	default:
		return true
	}
	switch etype {
	case 0x0800:
		return len(data) > off && data[off]>>4 == 4 && data[off]&0x0f >= 5
	case 0x86dd:
		return len(data) > off && data[off]>>4 == 6
	case 0x0806, 0x88cc, 0x8035, 0x8847, 0x8848, 0x8863, 0x8864, 0x888e, 0x88e5, 0x88f7, 0x8809, 0x22f0:
		// ARP, LLDP, RARP, MPLS, PPPoE, EAPOL, MACsec, PTP, slow protocols, AVTP
		return true
	}
	return false
}
