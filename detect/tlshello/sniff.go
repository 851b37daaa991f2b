package tlshello

// Kind is what the first bytes of a client-to-server TCP stream look like.
type Kind uint8

// Stream kinds returned by [Sniff].
const (
	// KindUnknown matches no known protocol.
	KindUnknown Kind = iota
	// KindNeedMore means the prefix is too short to decide.
	KindNeedMore
	// KindTLS is a TLS record (normally a handshake record with a ClientHello).
	KindTLS
	// KindSSLv2 is an SSLv2 CLIENT-HELLO, including the SSLv2-compatible hello.
	KindSSLv2
	// KindHTTP is a cleartext HTTP/1.x request other than CONNECT.
	KindHTTP
	// KindHTTPConnect is an HTTP CONNECT request (a proxy tunnel).
	KindHTTPConnect
	// KindHTTP2 is the cleartext HTTP/2 connection preface.
	KindHTTP2
	// KindSSH is an SSH identification string.
	KindSSH
	// KindOpenVPN is an OpenVPN-over-TCP hard reset from the client.
	KindOpenVPN
	// KindSOCKS is a SOCKS4 or SOCKS5 client greeting.
	KindSOCKS
	numKinds
)

// AllKinds lists every Kind, for creating metric label values up front.
var AllKinds = []Kind{
	KindUnknown, KindNeedMore, KindTLS, KindSSLv2, KindHTTP, KindHTTPConnect,
	KindHTTP2, KindSSH, KindOpenVPN, KindSOCKS,
}

var kindNames = [numKinds]string{
	KindUnknown:     "unknown",
	KindNeedMore:    "need_more",
	KindTLS:         "tls",
	KindSSLv2:       "sslv2",
	KindHTTP:        "http",
	KindHTTPConnect: "http_connect",
	KindHTTP2:       "http2",
	KindSSH:         "ssh",
	KindOpenVPN:     "openvpn",
	KindSOCKS:       "socks",
}

// String returns the snake_case label value of k.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// SniffLen is the longest prefix [Sniff] ever needs; with this many bytes it
// never returns KindNeedMore.
const SniffLen = 16

var httpMethods = [...]string{
	"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "TRACE ",
}

// Sniff classifies the first bytes of a client-to-server TCP stream. prefix
// is read, not retained. It returns [KindNeedMore] while prefix is too short
// to decide (at most [SniffLen] bytes are ever needed) and never allocates.
func Sniff(prefix []byte) Kind {
	if len(prefix) == 0 {
		return KindNeedMore
	}
	short := false // some rule needs more bytes
	switch k, need := sniffTLS(prefix); {
	case k != KindUnknown:
		return k
	case need:
		short = true
	}
	switch k, need := sniffSSLv2(prefix); {
	case k != KindUnknown:
		return k
	case need:
		short = true
	}
	for _, m := range httpMethods {
		switch matchPrefix(prefix, m) {
		case 1:
			return KindHTTP
		case 0:
			short = true
		}
	}
	switch matchPrefix(prefix, "CONNECT ") {
	case 1:
		return KindHTTPConnect
	case 0:
		short = true
	}
	switch matchPrefix(prefix, "PRI * HTTP/2.0\r\n") {
	case 1:
		return KindHTTP2
	case 0:
		short = true
	}
	switch matchPrefix(prefix, "SSH-") {
	case 1:
		return KindSSH
	case 0:
		short = true
	}
	switch k, need := sniffOpenVPN(prefix); {
	case k != KindUnknown:
		return k
	case need:
		short = true
	}
	switch k, need := sniffSOCKS(prefix); {
	case k != KindUnknown:
		return k
	case need:
		short = true
	}
	if short {
		return KindNeedMore
	}
	return KindUnknown
}

// matchPrefix returns 1 when p starts with s, 0 when p is a proper prefix of
// s, and -1 otherwise.
func matchPrefix(p []byte, s string) int {
	n := min(len(p), len(s))
	if string(p[:n]) != s[:n] {
		return -1
	}
	if n == len(s) {
		return 1
	}
	return 0
}

// sniffTLS matches a TLS record header with a plausible length.
func sniffTLS(p []byte) (Kind, bool) {
	if !plausibleRecordPrefix(p[:min(len(p), 3)]) {
		return KindUnknown, false
	}
	if len(p) < RecordHeaderLen {
		return KindUnknown, true
	}
	if _, n, err := recordHeader(p); err != nil || n == 0 {
		return KindUnknown, false
	}
	return KindTLS, false
}

// sniffSSLv2 matches an SSLv2 CLIENT-HELLO with a 2-byte record header and a
// known version.
func sniffSSLv2(p []byte) (Kind, bool) {
	if p[0]&0x80 == 0 {
		return KindUnknown, false
	}
	if len(p) < 5 {
		if len(p) >= 3 && p[2] != sslv2ClientHello {
			return KindUnknown, false
		}
		return KindUnknown, true
	}
	n := int(p[0]&0x7f)<<8 | int(p[1])
	v := uint16(p[3])<<8 | uint16(p[4])
	if p[2] != sslv2ClientHello || n < 9 || (v != 0x0002 && (v < 0x0300 || v > 0x0303)) {
		return KindUnknown, false
	}
	return KindSSLv2, false
}

// sniffOpenVPN matches OpenVPN over TCP: a 2-byte packet length followed by
// a P_CONTROL_HARD_RESET_CLIENT_V1/V2/V3 opcode with key id 0 and an 8-byte
// session id.
func sniffOpenVPN(p []byte) (Kind, bool) {
	if len(p) < 3 {
		return KindUnknown, len(p) < 2 || int(p[0])<<8|int(p[1]) >= 14
	}
	n := int(p[0])<<8 | int(p[1])
	op := p[2] >> 3
	if n < 14 || n > 1600 || p[2]&7 != 0 || (op != 1 && op != 7 && op != 10) {
		return KindUnknown, false
	}
	return KindOpenVPN, false
}

// sniffSOCKS matches a SOCKS5 method-selection greeting (version 5, 1-9
// methods, each a known method number) or a SOCKS4/4a CONNECT or BIND
// request whose user id ends within the first SniffLen bytes.
func sniffSOCKS(p []byte) (Kind, bool) {
	switch p[0] {
	case 5:
		if len(p) < 2 {
			return KindUnknown, true
		}
		n := int(p[1])
		if n == 0 || n > 9 {
			return KindUnknown, false
		}
		if len(p) < 2+n {
			return KindUnknown, true
		}
		for _, m := range p[2 : 2+n] {
			if m > 9 && m != 0x80 && m != 0xfe && m != 0xff {
				return KindUnknown, false
			}
		}
		return KindSOCKS, false
	case 4:
		if len(p) < 2 {
			return KindUnknown, true
		}
		if p[1] != 1 && p[1] != 2 {
			return KindUnknown, false
		}
		for i := 8; i < len(p); i++ {
			if p[i] == 0 {
				return KindSOCKS, false
			}
		}
		return KindUnknown, len(p) < SniffLen
	}
	return KindUnknown, false
}
