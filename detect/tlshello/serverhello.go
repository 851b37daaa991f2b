package tlshello

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// helloRetryRandom is the ServerHello.random value that marks a
// HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 section 4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

const serverExtensions = 32

// ServerHello is a parsed TLS ServerHello or HelloRetryRequest. Like
// [ClientHello] it keeps its extension list in a backing array inside the
// struct, so do not copy it after parsing. ALPN aliases the msg passed to
// Parse. A ServerHello is not safe for concurrent use.
type ServerHello struct {
	// LegacyVersion is the legacy_version field (server_version before TLS
	// 1.3).
	LegacyVersion uint16
	// SupportedVersion is the supported_versions extension value, or 0 when
	// the extension is absent.
	SupportedVersion uint16
	// CipherSuite is the selected cipher suite.
	CipherSuite uint16
	// CompressionMethod is the selected compression method.
	CompressionMethod uint8
	// SessionIDLen is the length of the legacy_session_id_echo.
	SessionIDLen int
	// Extensions lists the extension types in wire order.
	Extensions []uint16
	// ALPN is the selected application protocol, or nil. It aliases msg.
	ALPN []byte
	// KeyShareGroup is the group of the key_share extension (the requested
	// group in a HelloRetryRequest), or 0.
	KeyShareGroup uint16
	// HelloRetryRequest is true when the random is the special
	// HelloRetryRequest value.
	HelloRetryRequest bool
	// BadExtensions counts extensions whose body did not parse.
	BadExtensions int

	exts [serverExtensions]uint16
}

// Version returns the negotiated version: SupportedVersion when present,
// otherwise LegacyVersion.
func (s *ServerHello) Version() uint16 {
	if s.SupportedVersion != 0 {
		return s.SupportedVersion
	}
	return s.LegacyVersion
}

// Parse decodes a ServerHello handshake message including its 4-byte
// header, in the TLS 1.0-1.3 format or the format of TLS 1.3 drafts before
// draft 22. msg stays owned by the caller; s.ALPN aliases it. It returns
// [ErrUnexpected] for another message type and [ErrMalformed] when the fixed
// part is broken. A broken extension block is tolerated, as Arkime does: the
// extensions read so far are kept and BadExtensions is incremented, so the
// negotiated version and cipher are still reported. It does not allocate.
func (s *ServerHello) Parse(msg []byte) error {
	*s = ServerHello{}
	s.Extensions = s.exts[:0]
	in := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	if !in.ReadUint8(&typ) {
		return ErrMalformed
	}
	if typ != TypeServerHello {
		return ErrUnexpected
	}
	var random []byte
	if !in.ReadUint24LengthPrefixed(&body) || !in.Empty() ||
		!body.ReadUint16(&s.LegacyVersion) || !body.ReadBytes(&random, 32) {
		return ErrMalformed
	}
	if s.LegacyVersion>>8 == 0x7f && s.LegacyVersion < 0x7f16 {
		// TLS 1.3 drafts before 22 had no session id or compression.
		if !body.ReadUint16(&s.CipherSuite) {
			return ErrMalformed
		}
	} else {
		var sid cryptobyte.String
		if !body.ReadUint8LengthPrefixed(&sid) || len(sid) > 32 ||
			!body.ReadUint16(&s.CipherSuite) || !body.ReadUint8(&s.CompressionMethod) {
			return ErrMalformed
		}
		s.SessionIDLen = len(sid)
	}
	s.HelloRetryRequest = [32]byte(random) == helloRetryRandom
	if body.Empty() {
		return nil
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		s.BadExtensions++
		return nil
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			s.BadExtensions++
			return nil
		}
		s.Extensions = append(s.Extensions, typ)
		ok := true
		switch typ {
		case ExtSupportedVersions:
			ok = data.ReadUint16(&s.SupportedVersion) && data.Empty()
		case ExtALPN:
			var list, proto cryptobyte.String
			ok = data.ReadUint16LengthPrefixed(&list) && data.Empty() &&
				list.ReadUint8LengthPrefixed(&proto) && list.Empty()
			if ok {
				s.ALPN = proto
			}
		case ExtKeyShare:
			ok = data.ReadUint16(&s.KeyShareGroup)
		}
		if !ok {
			s.BadExtensions++
		}
	}
	return nil
}

// AlertLevel is the level byte of a TLS alert.
type AlertLevel uint8

// Alert levels.
const (
	AlertWarning AlertLevel = 1
	AlertFatal   AlertLevel = 2
)

// Alert is a plaintext TLS alert (RFC 8446 section 6).
type Alert struct {
	Level       AlertLevel
	Description uint8
}

// ParseAlert decodes the payload of an alert record (a [Message] with
// Content [ContentAlert]). A payload that is not exactly two bytes is an
// encrypted alert and gives [ErrMalformed]. It does not retain p.
func ParseAlert(p []byte) (Alert, error) {
	if len(p) != 2 || (p[0] != byte(AlertWarning) && p[0] != byte(AlertFatal)) {
		return Alert{}, ErrMalformed
	}
	return Alert{Level: AlertLevel(p[0]), Description: p[1]}, nil
}

// alertNames maps alert descriptions to their RFC 8446 / RFC 5246 names.
var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
	21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
	40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
	43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
	46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error",
	60: "export_restriction", 70: "protocol_version", 71: "insufficient_security",
	80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
	100: "no_renegotiation", 109: "missing_extension", 110: "unsupported_extension",
	111: "certificate_unobtainable", 112: "unrecognized_name",
	113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
	115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
	121: "ech_required",
}

// AlertDescriptionName returns the registered name of an alert description,
// such as "handshake_failure", or "unknown". The set of names is closed, so
// it may be used as a metric label value.
func AlertDescriptionName(d uint8) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return "unknown"
}

// String returns "fatal:handshake_failure" style text.
func (a Alert) String() string {
	level := "warning"
	if a.Level == AlertFatal {
		level = "fatal"
	}
	return level + ":" + AlertDescriptionName(a.Description)
}

// LeafCertificate returns the DER bytes of the first (leaf) certificate in a
// TLS 1.2-or-earlier Certificate handshake message (msg includes the 4-byte
// header) and the number of certificates in the chain. leaf aliases msg. It
// does not allocate. TLS 1.3 sends its Certificate encrypted, so it never
// reaches this function.
func LeafCertificate(msg []byte) (leaf []byte, chainLen int, err error) {
	in := cryptobyte.String(msg)
	var typ uint8
	var body, list cryptobyte.String
	if !in.ReadUint8(&typ) {
		return nil, 0, ErrMalformed
	}
	if typ != TypeCertificate {
		return nil, 0, ErrUnexpected
	}
	if !in.ReadUint24LengthPrefixed(&body) || !in.Empty() ||
		!body.ReadUint24LengthPrefixed(&list) || !body.Empty() {
		return nil, 0, ErrMalformed
	}
	for !list.Empty() {
		var cert cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&cert) || len(cert) == 0 {
			return nil, 0, ErrMalformed
		}
		if leaf == nil {
			leaf = cert
		}
		chainLen++
	}
	return leaf, chainLen, nil
}

// CertInfo summarises a server's leaf certificate.
type CertInfo struct {
	Subject     string
	Issuer      string
	DNSNames    []string
	IPAddresses []netip.Addr
	NotBefore   time.Time
	NotAfter    time.Time
	// SelfSigned is true when the issuer equals the subject and the
	// certificate's signature verifies with its own public key.
	SelfSigned bool
	// ChainLen is the number of certificates the server sent.
	ChainLen int
}

// ParseCertificate decodes the leaf of a TLS 1.2-or-earlier Certificate
// handshake message with crypto/x509. It allocates and is meant for the rare
// path (once per new server), not per packet. The result does not alias msg.
func ParseCertificate(msg []byte) (CertInfo, error) {
	der, n, err := LeafCertificate(msg)
	if err != nil {
		return CertInfo{}, err
	}
	if n == 0 {
		return CertInfo{}, fmt.Errorf("certificate message: %w", ErrMalformed)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return CertInfo{}, fmt.Errorf("parse leaf certificate: %w", err)
	}
	info := CertInfo{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		DNSNames:  c.DNSNames,
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		ChainLen:  n,
	}
	for _, ip := range c.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			info.IPAddresses = append(info.IPAddresses, a.Unmap())
		}
	}
	info.SelfSigned = bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
	return info, nil
}
