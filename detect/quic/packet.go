package quic

import (
	"encoding/binary"
	"errors"
)

// Errors returned by the parsers. They are package-level values, so
// returning one does not allocate; callers count them by reason.
var (
	// ErrTruncated means the input ended inside a header or frame.
	ErrTruncated = errors.New("quic: truncated")
	// ErrMalformed means a header or frame field is out of range.
	ErrMalformed = errors.New("quic: malformed")
	// ErrShortHeader means the packet has a short (1-RTT) header, whose
	// connection ID length is known only to the endpoints.
	ErrShortHeader = errors.New("quic: short header packet")
	// ErrVersion means the version is not one whose Initial keys this
	// package knows; the version-independent fields are still filled in.
	ErrVersion = errors.New("quic: unsupported version")
	// ErrDecrypt means the Initial packet did not authenticate with the
	// client Initial keys: a server Initial, a corrupted packet, or keys
	// derived from the wrong connection ID.
	ErrDecrypt = errors.New("quic: initial decryption failed")
	// ErrFrame means an Initial packet carried a frame type that is not
	// allowed at the Initial encryption level.
	ErrFrame = errors.New("quic: unexpected frame type")
	// ErrTooLarge means the CRYPTO stream would exceed the per-connection
	// cap.
	ErrTooLarge = errors.New("quic: crypto data exceeds limit")
	// ErrFragmented means the CRYPTO stream arrived in more disjoint
	// pieces than a [Conn] tracks.
	ErrFragmented = errors.New("quic: crypto data too fragmented")
)

// Versions whose Initial packets this package can decrypt.
const (
	// Version1 is QUIC version 1 (RFC 9000).
	Version1 uint32 = 0x00000001
	// Version2 is QUIC version 2 (RFC 9369).
	Version2 uint32 = 0x6b3343cf
	// VersionDraft29 is IETF draft-29; drafts 30 to 32 share its salt.
	VersionDraft29 uint32 = 0xff00001d
	// VersionDraft32 is the last IETF draft with the draft-29 salt.
	VersionDraft32 uint32 = 0xff000020
)

// MaxConnIDLen is the longest connection ID in QUIC versions 1 and 2.
const MaxConnIDLen = 20

// PacketType is the kind of a QUIC packet, independent of the version's
// wire encoding of the long-header type bits.
type PacketType uint8

// Packet types. PacketUnknown is used for long headers of versions this
// package does not know, whose type bits mean nothing to it.
const (
	PacketUnknown PacketType = iota
	PacketInitial
	Packet0RTT
	PacketHandshake
	PacketRetry
	PacketVersionNegotiation
	PacketShort
)

// PacketTypes lists every [PacketType], for creating metric label values up
// front.
var PacketTypes = []PacketType{
	PacketUnknown, PacketInitial, Packet0RTT, PacketHandshake,
	PacketRetry, PacketVersionNegotiation, PacketShort,
}

// String returns the snake_case name of t.
func (t PacketType) String() string {
	switch t {
	case PacketInitial:
		return "initial"
	case Packet0RTT:
		return "0rtt"
	case PacketHandshake:
		return "handshake"
	case PacketRetry:
		return "retry"
	case PacketVersionNegotiation:
		return "version_negotiation"
	case PacketShort:
		return "short"
	default:
		return "unknown"
	}
}

// Header is the cleartext part of one QUIC packet, as [ParseHeader] reads
// it before header protection is removed.
//
// DCID, SCID and Token alias the bytes given to [ParseHeader] and are valid
// only while those bytes are.
type Header struct {
	// Type is the packet type; PacketShort for a short header.
	Type PacketType
	// Version is the long-header version field, 0 for version negotiation
	// and for short headers.
	Version uint32
	// DCID and SCID are the connection IDs. A short header has neither.
	DCID, SCID []byte
	// Token is the Initial packet's token (empty for most first Initials).
	Token []byte
	// PNOffset is the offset of the (protected) packet number from the
	// start of the packet. It is 0 when the type has no packet number.
	PNOffset int
	// Len is the length of this packet within the datagram. Bytes after it
	// belong to the next coalesced packet. For a short header, a Retry and
	// a version negotiation packet it is the rest of the datagram.
	Len int
}

// KnownVersion reports whether v is a version whose Initial packets this
// package decrypts: 1, 2, or drafts 29 to 32.
func KnownVersion(v uint32) bool {
	return v == Version1 || v == Version2 || (v >= VersionDraft29 && v <= VersionDraft32)
}

// longType maps the two long-header type bits to a PacketType for version v
// (RFC 9000 §17.2; RFC 9369 §3.2 permutes them for version 2).
func longType(v uint32, bits byte) PacketType {
	if v == Version2 {
		return [4]PacketType{PacketRetry, PacketInitial, Packet0RTT, PacketHandshake}[bits]
	}
	return [4]PacketType{PacketInitial, Packet0RTT, PacketHandshake, PacketRetry}[bits]
}

// ParseHeader reads the header of the first QUIC packet in b, which is a
// UDP payload or the rest of one after a coalesced packet. It reads the
// version-independent fields (RFC 8999) of any long header, and the token,
// length and packet-number position of known versions. The returned slices
// alias b. ParseHeader does not allocate.
//
// For an unknown version it returns the Header with Type PacketUnknown, the
// connection IDs and Len covering the rest of b, together with [ErrVersion].
// For a short header it returns Type PacketShort and [ErrShortHeader].
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) == 0 {
		return h, ErrTruncated
	}
	if b[0]&0x80 == 0 {
		h.Type = PacketShort
		h.Len = len(b)
		return h, ErrShortHeader
	}
	if len(b) < 7 {
		return h, ErrTruncated
	}
	h.Version = binary.BigEndian.Uint32(b[1:5])
	n := int(b[5])
	off := 6
	if len(b) < off+n+1 {
		return h, ErrTruncated
	}
	h.DCID = b[off : off+n]
	off += n
	n = int(b[off])
	off++
	if len(b) < off+n {
		return h, ErrTruncated
	}
	h.SCID = b[off : off+n]
	off += n
	if h.Version == 0 {
		h.Type = PacketVersionNegotiation
		h.Len = len(b)
		if (len(b)-off)%4 != 0 {
			return h, ErrMalformed
		}
		return h, nil
	}
	if !KnownVersion(h.Version) {
		h.Type = PacketUnknown
		h.Len = len(b)
		return h, ErrVersion
	}
	if len(h.DCID) > MaxConnIDLen || len(h.SCID) > MaxConnIDLen {
		return h, ErrMalformed
	}
	h.Type = longType(h.Version, (b[0]>>4)&3)
	if h.Type == PacketRetry {
		h.Len = len(b)
		if len(b)-off < 16 { // integrity tag
			return h, ErrTruncated
		}
		return h, nil
	}
	if h.Type == PacketInitial {
		tl, m := ReadVarint(b[off:])
		if m == 0 {
			return h, ErrTruncated
		}
		off += m
		if uint64(len(b)-off) < tl {
			return h, ErrTruncated
		}
		h.Token = b[off : off+int(tl)]
		off += int(tl)
	}
	length, m := ReadVarint(b[off:])
	if m == 0 {
		return h, ErrTruncated
	}
	off += m
	if uint64(len(b)-off) < length {
		return h, ErrTruncated
	}
	// The payload must hold the longest packet number (4) and the 16-byte
	// header-protection sample that starts 4 bytes after it.
	if length < 20 {
		return h, ErrMalformed
	}
	h.PNOffset = off
	h.Len = off + int(length)
	return h, nil
}

// ReadVarint decodes a QUIC variable-length integer (RFC 9000 §16) from
// the start of b and returns it with its encoded length, or n == 0 when b is
// too short.
func ReadVarint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v = uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}

// IsServerPacket reports whether datagram looks like a QUIC server's answer
// during the handshake: it comes from serverPort and starts with a long
// header of a known version that is an Initial, Handshake or Retry packet,
// or is a version negotiation packet. A caller that has seen a client
// Initial to serverPort uses it to tell answered handshakes from
// unanswered ones. It reads only cleartext header fields and does not
// allocate.
func IsServerPacket(datagram []byte, srcPort, serverPort uint16) bool {
	if srcPort != serverPort {
		return false
	}
	h, err := ParseHeader(datagram)
	if err != nil {
		return false
	}
	switch h.Type {
	case PacketInitial, PacketHandshake, PacketRetry, PacketVersionNegotiation:
		return true
	}
	return false
}
