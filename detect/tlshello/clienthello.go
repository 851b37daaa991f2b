package tlshello

import "golang.org/x/crypto/cryptobyte"

// Extension types that the parsers decode (IANA "TLS ExtensionType Values").
const (
	ExtServerName          uint16 = 0
	ExtSupportedGroups     uint16 = 10
	ExtECPointFormats      uint16 = 11
	ExtSignatureAlgorithms uint16 = 13
	ExtALPN                uint16 = 16
	ExtPadding             uint16 = 21
	ExtPreSharedKey        uint16 = 41
	ExtEarlyData           uint16 = 42
	ExtSupportedVersions   uint16 = 43
	ExtKeyShare            uint16 = 51
	ExtQUICTransportParams uint16 = 57
	ExtECH                 uint16 = 0xfe0d
	ExtRenegotiationInfo   uint16 = 0xff01
)

// Capacities of the backing arrays inside [ClientHello]. Longer lists are
// still parsed in full, but then the slice spills to the heap for that one
// call, so steady-state parsing of ordinary hellos never allocates.
const (
	helloCiphers    = 256
	helloExtensions = 64
	helloGroups     = 32
	helloSigAlgs    = 48
	helloVersions   = 16
	helloKeyShares  = 8
	helloSmall      = 16 // point formats, compression methods
	helloALPN       = 16
)

// ClientHello is a parsed TLS ClientHello or SSLv2 CLIENT-HELLO.
//
// Parse fills it in place and reuses its slices, whose backing arrays live
// inside the struct: do not copy a ClientHello after parsing (the copy's
// slices would still point into the original), and keep one per worker.
// Lists are in wire order with GREASE values kept; the fingerprint functions
// remove GREASE where their specifications say so.
//
// SNI and the ALPN entries alias the msg passed to Parse and are valid only
// while those bytes are unchanged; copy them to keep them.
//
// A ClientHello is not safe for concurrent use.
type ClientHello struct {
	// SSLv2 is true when the hello used the SSLv2 CLIENT-HELLO format.
	SSLv2 bool
	// LegacyVersion is the legacy_version field (client_version before TLS
	// 1.3). For an SSLv2 hello it is the version in the SSLv2 message: 0x0002
	// for SSL 2.0, or the TLS version an SSLv2-compatible hello offers.
	LegacyVersion uint16
	// SessionIDLen is the length of the legacy_session_id.
	SessionIDLen int
	// CipherSuites lists the offered cipher suites. For an SSLv2 hello it
	// holds the 3-byte cipher kinds whose first byte is zero, as their
	// 16-bit TLS code; SSLv2-only kinds are counted in SSLv2OnlyCiphers.
	CipherSuites []uint16
	// SSLv2OnlyCiphers counts SSLv2 cipher kinds with no TLS equivalent.
	SSLv2OnlyCiphers int
	// CompressionMethods lists the offered compression methods.
	CompressionMethods []uint8
	// Extensions lists every extension type in wire order, GREASE included.
	Extensions []uint16
	// SNI is the first host_name in the server_name extension, or nil. With
	// Encrypted Client Hello this is the outer (public) name. It aliases msg.
	SNI []byte
	// ALPN lists the application_layer_protocol_negotiation names; each
	// aliases msg.
	ALPN [][]byte
	// SupportedVersions lists the supported_versions extension values.
	SupportedVersions []uint16
	// SupportedGroups lists the supported_groups (elliptic_curves) values.
	SupportedGroups []uint16
	// SignatureAlgorithms lists the signature_algorithms values.
	SignatureAlgorithms []uint16
	// KeyShareGroups lists the named group of each key_share entry.
	KeyShareGroups []uint16
	// PointFormats lists the ec_point_formats values.
	PointFormats []uint8
	// ECH is true when the encrypted_client_hello extension (0xfe0d) is
	// present, whether a real ECH or a GREASE ECH.
	ECH bool
	// ECHInner is true when the ECH extension says this is the inner hello
	// (type 1); passive observers normally see only outer hellos.
	ECHInner bool
	// GREASE is true when any list holds an RFC 8701 GREASE value.
	GREASE bool
	// BadExtensions counts extensions whose body did not parse. Their type
	// is still listed in Extensions; the matching field stays empty.
	BadExtensions int

	ciphers    [helloCiphers]uint16
	exts       [helloExtensions]uint16
	groups     [helloGroups]uint16
	sigalgs    [helloSigAlgs]uint16
	versions   [helloVersions]uint16
	keyShares  [helloKeyShares]uint16
	pointFmts  [helloSmall]uint8
	compMeths  [helloSmall]uint8
	alpnNames  [helloALPN][]byte
	seenFields uint16 // bit set of decoded extensions, to keep the first of duplicates
}

// reset empties h, pointing every slice at its backing array.
func (h *ClientHello) reset() {
	h.SSLv2 = false
	h.LegacyVersion = 0
	h.SessionIDLen = 0
	h.CipherSuites = h.ciphers[:0]
	h.SSLv2OnlyCiphers = 0
	h.CompressionMethods = h.compMeths[:0]
	h.Extensions = h.exts[:0]
	h.SNI = nil
	clear(h.alpnNames[:])
	h.ALPN = h.alpnNames[:0]
	h.SupportedVersions = h.versions[:0]
	h.SupportedGroups = h.groups[:0]
	h.SignatureAlgorithms = h.sigalgs[:0]
	h.KeyShareGroups = h.keyShares[:0]
	h.PointFormats = h.pointFmts[:0]
	h.ECH = false
	h.ECHInner = false
	h.GREASE = false
	h.BadExtensions = 0
	h.seenFields = 0
}

// HasExtension reports whether extension type t was offered.
func (h *ClientHello) HasExtension(t uint16) bool {
	for _, e := range h.Extensions {
		if e == t {
			return true
		}
	}
	return false
}

// MaxVersion returns the highest version the client offers: the highest
// non-GREASE supported_versions value when that extension is present,
// otherwise LegacyVersion.
func (h *ClientHello) MaxVersion() uint16 {
	if h.HasExtension(ExtSupportedVersions) {
		var v uint16
		for _, s := range h.SupportedVersions {
			if !IsGREASE(s) && s > v {
				v = s
			}
		}
		return v
	}
	return h.LegacyVersion
}

// Parse decodes a TLS ClientHello handshake message, msg, which includes the
// 4-byte handshake header (as returned by [Reader.Next] and
// [NextHandshake]). It works for hellos from TCP and from QUIC CRYPTO frames.
// msg stays owned by the caller, but h.SNI and h.ALPN alias it afterwards.
//
// Parse returns [ErrUnexpected] when msg is another handshake type and
// [ErrMalformed] when the fixed part or the extension framing is broken; a
// broken extension body only increments h.BadExtensions. h's contents are
// unspecified after an error. Parse does not allocate for hellos within the
// capacities of the backing arrays.
func (h *ClientHello) Parse(msg []byte) error {
	h.reset()
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !s.ReadUint8(&typ) {
		return ErrMalformed
	}
	if typ != TypeClientHello {
		return ErrUnexpected
	}
	if !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return ErrMalformed
	}
	var sid, ciphers, comp cryptobyte.String
	if !body.ReadUint16(&h.LegacyVersion) || !body.Skip(32) ||
		!body.ReadUint8LengthPrefixed(&sid) || len(sid) > 32 ||
		!body.ReadUint16LengthPrefixed(&ciphers) || len(ciphers)%2 != 0 ||
		!body.ReadUint8LengthPrefixed(&comp) {
		return ErrMalformed
	}
	h.SessionIDLen = len(sid)
	for !ciphers.Empty() {
		var c uint16
		ciphers.ReadUint16(&c)
		h.GREASE = h.GREASE || IsGREASE(c)
		h.CipherSuites = append(h.CipherSuites, c)
	}
	h.CompressionMethods = append(h.CompressionMethods, comp...)
	if body.Empty() {
		return nil // SSL 3.0 style hello without extensions
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return ErrMalformed
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return ErrMalformed
		}
		h.GREASE = h.GREASE || IsGREASE(typ)
		h.Extensions = append(h.Extensions, typ)
		if !h.parseExtension(typ, data) {
			h.BadExtensions++
		}
	}
	return nil
}

// Bits of ClientHello.seenFields.
const (
	seenSNI uint16 = 1 << iota
	seenALPN
	seenGroups
	seenPointFormats
	seenSigAlgs
	seenVersions
	seenKeyShare
	seenECH
)

// parseExtension decodes the body of one extension into h. It reports false
// when the body is malformed. Only the first occurrence of a duplicated
// extension is decoded.
func (h *ClientHello) parseExtension(typ uint16, data cryptobyte.String) bool {
	var bit uint16
	switch typ {
	case ExtServerName:
		bit = seenSNI
	case ExtALPN:
		bit = seenALPN
	case ExtSupportedGroups:
		bit = seenGroups
	case ExtECPointFormats:
		bit = seenPointFormats
	case ExtSignatureAlgorithms:
		bit = seenSigAlgs
	case ExtSupportedVersions:
		bit = seenVersions
	case ExtKeyShare:
		bit = seenKeyShare
	case ExtECH:
		bit = seenECH
	default:
		return true
	}
	if h.seenFields&bit != 0 {
		return true
	}
	h.seenFields |= bit
	switch typ {
	case ExtServerName:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		for !list.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
				return false
			}
			if nameType == 0 && h.SNI == nil {
				h.SNI = name
			}
		}
	case ExtALPN:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		for !list.Empty() {
			var proto cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&proto) {
				h.ALPN = h.ALPN[:0]
				return false
			}
			h.GREASE = h.GREASE || isGREASEALPN(proto)
			h.ALPN = append(h.ALPN, proto)
		}
	case ExtSupportedGroups:
		return h.readUint16List(&h.SupportedGroups, data)
	case ExtSignatureAlgorithms:
		return h.readUint16List(&h.SignatureAlgorithms, data)
	case ExtECPointFormats:
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		h.PointFormats = append(h.PointFormats, list...)
	case ExtSupportedVersions:
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || len(list)%2 != 0 {
			return false
		}
		h.appendUint16s(&h.SupportedVersions, list)
	case ExtKeyShare:
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		for !list.Empty() {
			var group uint16
			var key cryptobyte.String
			if !list.ReadUint16(&group) || !list.ReadUint16LengthPrefixed(&key) {
				return false
			}
			h.GREASE = h.GREASE || IsGREASE(group)
			h.KeyShareGroups = append(h.KeyShareGroups, group)
		}
	case ExtECH:
		h.ECH = true
		var echType uint8
		if !data.ReadUint8(&echType) {
			return false
		}
		h.ECHInner = echType == 1
	}
	return true
}

// readUint16List reads a list with a 2-byte length prefix that must fill
// data exactly.
func (h *ClientHello) readUint16List(dst *[]uint16, data cryptobyte.String) bool {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || len(list)%2 != 0 {
		return false
	}
	h.appendUint16s(dst, list)
	return true
}

// appendUint16s appends the big-endian values of list, which has even length.
func (h *ClientHello) appendUint16s(dst *[]uint16, list cryptobyte.String) {
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		h.GREASE = h.GREASE || IsGREASE(v)
		*dst = append(*dst, v)
	}
}

// ParseSSLv2 decodes an SSLv2 CLIENT-HELLO record body (as returned by
// [NextSSLv2Hello]: the bytes after the 2- or 3-byte record header, starting
// with the message type). body stays owned by the caller; nothing in h
// aliases it. An SSLv2 hello has no extensions, SNI or ALPN.
func (h *ClientHello) ParseSSLv2(body []byte) error {
	h.reset()
	h.SSLv2 = true
	s := cryptobyte.String(body)
	var typ uint8
	var specLen, sidLen, challengeLen uint16
	if !s.ReadUint8(&typ) {
		return ErrMalformed
	}
	if typ != sslv2ClientHello {
		return ErrUnexpected
	}
	if !s.ReadUint16(&h.LegacyVersion) || !s.ReadUint16(&specLen) ||
		!s.ReadUint16(&sidLen) || !s.ReadUint16(&challengeLen) {
		return ErrMalformed
	}
	var specs cryptobyte.String
	if specLen%3 != 0 || !s.ReadBytes((*[]byte)(&specs), int(specLen)) ||
		!s.Skip(int(sidLen)) || !s.Skip(int(challengeLen)) || !s.Empty() {
		return ErrMalformed
	}
	if sidLen != 0 && sidLen != 16 || challengeLen < 16 || challengeLen > 32 {
		return ErrMalformed
	}
	h.SessionIDLen = int(sidLen)
	for !specs.Empty() {
		var kind uint8
		var code uint16
		specs.ReadUint8(&kind)
		specs.ReadUint16(&code)
		if kind != 0 {
			h.SSLv2OnlyCiphers++
			continue
		}
		h.GREASE = h.GREASE || IsGREASE(code)
		h.CipherSuites = append(h.CipherSuites, code)
	}
	return nil
}
