package tlshello

import (
	"bytes"
	"errors"
	"net/netip"
)

// ErrRefused means a proxy answered a tunnel request with a refusal (an
// HTTP status other than 2xx, a SOCKS failure code, no acceptable
// authentication method).
var ErrRefused = errors.New("tlshello: proxy refused the tunnel")

// maxTunnelHeader bounds an HTTP CONNECT request or reply header.
const maxTunnelHeader = 8 << 10

// Tunnel is the proxy handshake at the start of a TCP connection to a
// forward proxy (HTTP CONNECT, SOCKS4/4a or SOCKS5): where the tunnelled
// bytes start in the client stream, and the target the client asked for.
// It is a plain value: the host is given as offsets into the client
// stream, so parsing allocates nothing.
type Tunnel struct {
	// Kind is KindHTTPConnect or KindSOCKS.
	Kind Kind
	// Version is the SOCKS version, 4 or 5, or 0 for HTTP CONNECT.
	Version uint8
	// Start is the offset of the first tunnelled byte in the client
	// stream, after the whole request (and SOCKS5 authentication).
	Start int
	// HostOff and HostLen locate the target host, as the client wrote
	// it, in the client stream: a name, or for HTTP CONNECT an address
	// literal too. HostLen is 0 when a SOCKS client gave an address.
	HostOff, HostLen int
	// Addr is the target address when a SOCKS client gave one.
	Addr netip.Addr
	// Port is the target port.
	Port uint16
}

// Proto names the tunnel for records: "http_connect", "socks4" or
// "socks5".
func (t *Tunnel) Proto() string {
	switch {
	case t.Kind == KindHTTPConnect:
		return "http_connect"
	case t.Version == 4:
		return "socks4"
	}
	return "socks5"
}

// ParseTunnelRequest reads the proxy request at the start of a client
// stream that [Sniff] classified as k (KindHTTPConnect or KindSOCKS). stream
// is read, not retained. It returns [ErrNeedMore] while the request is
// incomplete, and [ErrMalformed] for a stream that is not such a request
// (or an HTTP header longer than 8 KiB). It never allocates.
func ParseTunnelRequest(k Kind, stream []byte) (Tunnel, error) {
	switch k {
	case KindHTTPConnect:
		return parseConnect(stream)
	case KindSOCKS:
		if len(stream) > 0 && stream[0] == 4 {
			return parseSOCKS4(stream)
		}
		return parseSOCKS5(stream)
	}
	return Tunnel{}, ErrMalformed
}

// headerEnd returns the offset after the blank line ending an HTTP header
// in b, ErrNeedMore, or ErrMalformed past maxTunnelHeader.
func headerEnd(b []byte) (int, error) {
	if i := bytes.Index(b[:min(len(b), maxTunnelHeader)], []byte("\r\n\r\n")); i >= 0 {
		return i + 4, nil
	}
	if len(b) >= maxTunnelHeader {
		return 0, ErrMalformed
	}
	return 0, ErrNeedMore
}

// parseConnect reads "CONNECT host:port HTTP/1.x" and its header.
func parseConnect(b []byte) (Tunnel, error) {
	end, err := headerEnd(b)
	if err != nil {
		return Tunnel{}, err
	}
	line := b[:bytes.Index(b, []byte("\r\n"))]
	rest, ok := bytes.CutPrefix(line, []byte("CONNECT "))
	if !ok {
		return Tunnel{}, ErrMalformed
	}
	target, proto, ok := bytes.Cut(rest, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return Tunnel{}, ErrMalformed
	}
	i := bytes.LastIndexByte(target, ':')
	if i <= 0 {
		return Tunnel{}, ErrMalformed
	}
	port, ok := parsePort(target[i+1:])
	if !ok {
		return Tunnel{}, ErrMalformed
	}
	// The host stays text, as the client wrote it (an address literal
	// too, IPv6 in brackets).
	return Tunnel{Kind: KindHTTPConnect, Start: end, Port: port, HostOff: len("CONNECT "), HostLen: i}, nil
}

func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return uint16(n), n > 0 && n < 1<<16
}

// parseSOCKS4 reads a SOCKS4 or SOCKS4a request: version, command, port,
// address, a NUL-terminated user id, and for 4a (address 0.0.0.x) a
// NUL-terminated host name.
func parseSOCKS4(b []byte) (Tunnel, error) {
	if len(b) < 9 {
		return Tunnel{}, ErrNeedMore
	}
	if b[1] != 1 && b[1] != 2 {
		return Tunnel{}, ErrMalformed
	}
	t := Tunnel{Kind: KindSOCKS, Version: 4, Port: uint16(b[2])<<8 | uint16(b[3])}
	user := bytes.IndexByte(b[8:min(len(b), 8+256)], 0)
	if user < 0 {
		if len(b) >= 8+256 {
			return Tunnel{}, ErrMalformed
		}
		return Tunnel{}, ErrNeedMore
	}
	i := 8 + user + 1
	if b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0 { // SOCKS4a
		n := bytes.IndexByte(b[i:min(len(b), i+256)], 0)
		if n < 0 {
			if len(b) >= i+256 {
				return Tunnel{}, ErrMalformed
			}
			return Tunnel{}, ErrNeedMore
		}
		t.HostOff, t.HostLen = i, n
		i += n + 1
	} else {
		t.Addr = netip.AddrFrom4([4]byte(b[4:8]))
	}
	t.Start = i
	return t, nil
}

// parseSOCKS5 reads a SOCKS5 greeting, a username/password
// authentication (RFC 1929) when the client offered it and sent one, and
// the request: version 5, command, reserved, address type, address, port.
func parseSOCKS5(b []byte) (Tunnel, error) {
	if len(b) < 2 {
		return Tunnel{}, ErrNeedMore
	}
	if b[0] != 5 || b[1] == 0 {
		return Tunnel{}, ErrMalformed
	}
	i := 2 + int(b[1])
	if len(b) < i+1 {
		return Tunnel{}, ErrNeedMore
	}
	if b[i] == 1 && bytes.IndexByte(b[2:2+int(b[1])], 2) >= 0 { // username/password
		if len(b) < i+2 {
			return Tunnel{}, ErrNeedMore
		}
		p := i + 2 + int(b[i+1])
		if len(b) < p+1 {
			return Tunnel{}, ErrNeedMore
		}
		i = p + 1 + int(b[p])
	}
	if len(b) < i+5 {
		return Tunnel{}, ErrNeedMore
	}
	if b[i] != 5 || b[i+1] < 1 || b[i+1] > 3 || b[i+2] != 0 {
		return Tunnel{}, ErrMalformed
	}
	t := Tunnel{Kind: KindSOCKS, Version: 5}
	a := i + 4 // the address
	var end int
	switch b[i+3] {
	case 1:
		end = a + 4
	case 3:
		t.HostOff, t.HostLen = a+1, int(b[a])
		end = a + 1 + int(b[a])
	case 4:
		end = a + 16
	default:
		return Tunnel{}, ErrMalformed
	}
	if len(b) < end+2 {
		return Tunnel{}, ErrNeedMore
	}
	switch b[i+3] {
	case 1:
		t.Addr = netip.AddrFrom4([4]byte(b[a:end]))
	case 4:
		t.Addr = netip.AddrFrom16([16]byte(b[a:end]))
	}
	t.Port = uint16(b[end])<<8 | uint16(b[end+1])
	t.Start = end + 2
	return t, nil
}

// TunnelReplyEnd reads the proxy's answer at the start of the server
// stream of a tunnel t and returns the offset of the first tunnelled byte
// in it. stream is read, not retained. It returns [ErrNeedMore] while the
// answer is incomplete, [ErrRefused] when the proxy refused, and
// [ErrMalformed] for anything else. It never allocates.
func TunnelReplyEnd(t *Tunnel, stream []byte) (int, error) {
	b := stream
	switch {
	case t.Kind == KindHTTPConnect:
		end, err := headerEnd(b)
		if err != nil {
			return 0, err
		}
		// "HTTP/1.x SSS reason"
		if len(b) < 12 || !bytes.HasPrefix(b, []byte("HTTP/1.")) || b[8] != ' ' {
			return 0, ErrMalformed
		}
		if b[9] != '2' {
			return 0, ErrRefused
		}
		return end, nil
	case t.Version == 4:
		if len(b) < 8 {
			return 0, ErrNeedMore
		}
		if b[0] != 0 && b[0] != 4 {
			return 0, ErrMalformed
		}
		if b[1] != 0x5a {
			return 0, ErrRefused
		}
		return 8, nil
	}
	if len(b) < 2 {
		return 0, ErrNeedMore
	}
	if b[0] != 5 {
		return 0, ErrMalformed
	}
	i := 2
	switch b[1] {
	case 0:
	case 2: // username/password: version 1, status
		if len(b) < 4 {
			return 0, ErrNeedMore
		}
		if b[3] != 0 {
			return 0, ErrRefused
		}
		i = 4
	case 0xff:
		return 0, ErrRefused
	default:
		return 0, ErrMalformed // GSSAPI and private methods wrap the rest
	}
	if len(b) < i+5 {
		return 0, ErrNeedMore
	}
	if b[i] != 5 {
		return 0, ErrMalformed
	}
	if b[i+1] != 0 {
		return 0, ErrRefused
	}
	var end int
	switch b[i+3] {
	case 1:
		end = i + 4 + 4
	case 3:
		end = i + 4 + 1 + int(b[i+4])
	case 4:
		end = i + 4 + 16
	default:
		return 0, ErrMalformed
	}
	if len(b) < end+2 {
		return 0, ErrNeedMore
	}
	return end + 2, nil
}
