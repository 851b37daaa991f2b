package capture

import "errors"

// Frame is one captured frame as a source returns it.
//
// Data aliases the source's buffer (a ring slot or a reader buffer) and is
// valid only until the next Read on the same source.
type Frame struct {
	// Data holds the captured bytes, starting at the link layer.
	Data []byte
	// Timestamp is the capture time in Unix nanoseconds.
	Timestamp int64
	// Length is the frame's original length on the wire.
	Length int
	// LinkType says how to decode Data.
	LinkType LinkType
}

// Source yields captured frames. A Source is owned by one goroutine; it is
// not safe for concurrent use.
type Source interface {
	// Read fills f with the next frame. f.Data is valid until the next
	// call to Read. Read returns io.EOF at the end of a finite capture,
	// ErrTimeout when a live source saw no packet within its poll interval
	// (f.Timestamp then holds the wall-clock time, so intervals can close on
	// an idle link), and ErrClosed after Close.
	Read(f *Frame) error
	// Close releases the source. It is safe to call more than once.
	Close() error
}

// StatsSource is implemented by sources that know how many packets the
// kernel received and dropped.
type StatsSource interface {
	Stats() (Stats, error)
}

// Stats are a source's own counters since it was opened.
type Stats struct {
	// Received counts frames the kernel handed to the capture socket.
	Received uint64
	// KernelDrops counts frames the kernel dropped because the capture
	// buffer was full.
	KernelDrops uint64
	// InterfaceDrops counts frames the interface or driver dropped, when
	// known (libpcap's ifdrop).
	InterfaceDrops uint64
}

// Errors returned by sources.
var (
	// ErrTimeout means a live source saw no packet within its poll
	// interval.
	ErrTimeout = errors.New("capture: read timeout")
	// ErrClosed means the source was closed.
	ErrClosed = errors.New("capture: source closed")
	// ErrPermission means the process lacks the privilege to open a live
	// capture (CAP_NET_RAW).
	ErrPermission = errors.New("capture: permission denied")
)

// LinkType is a pcap LINKTYPE_ value. gopacket's layers.LinkType is one
// byte wide and cannot hold values such as LINKTYPE_LINUX_SLL2 (276), so the
// capture package keeps its own.
type LinkType uint32

// Link types that the decoder understands.
const (
	LinkNull      LinkType = 0   // BSD loopback
	LinkEthernet  LinkType = 1   // Ethernet, with or without 802.1Q/802.1ad tags
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6
	LinkLoop      LinkType = 108 // OpenBSD loopback
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)
