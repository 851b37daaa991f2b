package tlshello

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hello is the start of a TLS record with a ClientHello, as it follows a
// proxy handshake.
var hello = []byte{0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c}

type tunnelCase struct {
	name    string
	request []byte
	reply   []byte
	want    Tunnel
	host    string // the host the offsets point at
	proto   string
	replyN  int
	refused bool
}

func tunnelCases() []tunnelCase {
	connect := []byte("CONNECT ts01-b.cloudsink.net:443 HTTP/1.1\r\nHost: ts01-b.cloudsink.net:443\r\nProxy-Connection: keep-alive\r\n\r\n")
	connect6 := []byte("CONNECT [2001:db8::1]:8443 HTTP/1.0\r\n\r\n")
	ok200 := []byte("HTTP/1.1 200 Connection established\r\n\r\n")
	socks4 := []byte{4, 1, 0x01, 0xbb, 93, 184, 216, 119, 'b', 'o', 'b', 0}
	socks4a := append([]byte{4, 1, 0x01, 0xbb, 0, 0, 0, 1, 0}, "www.example.com\x00"...)
	socks5 := []byte{5, 1, 0, 5, 1, 0, 3, 15}
	socks5 = append(append(socks5, "www.example.com"...), 0x01, 0xbb)
	socks5auth := []byte{5, 2, 0, 2, 1, 3, 'b', 'o', 'b', 2, 'p', 'w', 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 0xfb}
	socks5reply := []byte{5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38}
	return []tunnelCase{
		{name: "http connect", request: connect, reply: ok200, proto: "http_connect", host: "ts01-b.cloudsink.net",
			want: Tunnel{Kind: KindHTTPConnect, Start: len(connect), HostOff: 8, HostLen: 20, Port: 443}, replyN: len(ok200)},
		{name: "http connect ipv6", request: connect6, reply: []byte("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
			proto: "http_connect", host: "[2001:db8::1]", refused: true,
			want: Tunnel{Kind: KindHTTPConnect, Start: len(connect6), HostOff: 8, HostLen: 13, Port: 8443}},
		{name: "socks4", request: socks4, reply: []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}, proto: "socks4",
			want: Tunnel{Kind: KindSOCKS, Version: 4, Start: len(socks4), Addr: netip.MustParseAddr("93.184.216.119"), Port: 443}, replyN: 8},
		{name: "socks4a", request: socks4a, reply: []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}, proto: "socks4", host: "www.example.com", refused: true,
			want: Tunnel{Kind: KindSOCKS, Version: 4, Start: len(socks4a), HostOff: 9, HostLen: 15, Port: 443}},
		{name: "socks5 name", request: socks5, reply: socks5reply, proto: "socks5", host: "www.example.com",
			want: Tunnel{Kind: KindSOCKS, Version: 5, Start: len(socks5), HostOff: 8, HostLen: 15, Port: 443}, replyN: len(socks5reply)},
		{name: "socks5 password ipv6", request: socks5auth, reply: append([]byte{5, 2, 1, 0}, socks5reply[2:]...), proto: "socks5",
			want: Tunnel{Kind: KindSOCKS, Version: 5, Start: len(socks5auth), Addr: netip.MustParseAddr("2001:db8::1"), Port: 8443}, replyN: len(socks5reply) + 2},
		{name: "socks5 no method", request: socks5, reply: []byte{5, 0xff}, proto: "socks5", host: "www.example.com", refused: true,
			want: Tunnel{Kind: KindSOCKS, Version: 5, Start: len(socks5), HostOff: 8, HostLen: 15, Port: 443}},
	}
}

// TestTunnel: each proxy request is read up to its end, with the target
// host and port; every shorter prefix needs more; the proxy's answer ends
// where the tunnelled bytes start, or is a refusal.
func TestTunnel(t *testing.T) {
	t.Parallel()
	for _, tt := range tunnelCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream := append(append([]byte(nil), tt.request...), hello...)
			k := Sniff(stream)
			got, err := ParseTunnelRequest(k, stream)
			if err != nil {
				t.Fatalf("sniffed %s: %v", k, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("tunnel (-want +got):\n%s", diff)
			}
			if h := string(stream[got.HostOff : got.HostOff+got.HostLen]); h != tt.host {
				t.Errorf("host %q, want %q", h, tt.host)
			}
			if got.Proto() != tt.proto {
				t.Errorf("proto %s, want %s", got.Proto(), tt.proto)
			}
			if Sniff(stream[got.Start:]) != KindTLS {
				t.Errorf("no TLS at the tunnel's start")
			}
			for i := range len(tt.request) {
				if _, err := ParseTunnelRequest(k, tt.request[:i]); !errors.Is(err, ErrNeedMore) {
					t.Errorf("request cut at %d: %v, want ErrNeedMore", i, err)
				}
			}
			server := append(append([]byte(nil), tt.reply...), 0x16, 3, 3)
			n, err := TunnelReplyEnd(&got, server)
			switch {
			case tt.refused && !errors.Is(err, ErrRefused):
				t.Errorf("refusal read as %d, %v", n, err)
			case !tt.refused && (err != nil || n != tt.replyN):
				t.Errorf("reply ends at %d (%v), want %d", n, err, tt.replyN)
			}
			if !tt.refused {
				for i := range tt.replyN {
					if _, err := TunnelReplyEnd(&got, tt.reply[:i]); !errors.Is(err, ErrNeedMore) {
						t.Errorf("reply cut at %d: %v, want ErrNeedMore", i, err)
					}
				}
			}
		})
	}
	for _, bad := range []string{"CONNECT host HTTP/1.1\r\n\r\n", "CONNECT host:99999 HTTP/1.1\r\n\r\n", "CONNECT host:443 SPDY\r\n\r\n"} {
		if _, err := ParseTunnelRequest(KindHTTPConnect, []byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

func TestTunnelAllocs(t *testing.T) {
	cases := tunnelCases()
	allocs := testing.AllocsPerRun(100, func() {
		for i := range cases {
			tun, _ := ParseTunnelRequest(Sniff(cases[i].request), cases[i].request)
			TunnelReplyEnd(&tun, cases[i].reply)
		}
	})
	if allocs != 0 {
		t.Errorf("tunnel parsing allocates %.1f times, want 0", allocs)
	}
}

// FuzzTunnel reads arbitrary client and server streams as proxy
// handshakes: no panic; a request's end, host and the reply's end lie
// within the bytes read; and a request is read the same from any longer
// stream (more bytes never change where the tunnel starts).
func FuzzTunnel(f *testing.F) {
	for _, tt := range tunnelCases() {
		f.Add(tt.request, tt.reply)
	}
	f.Fuzz(func(t *testing.T, client, server []byte) {
		for _, k := range []Kind{KindHTTPConnect, KindSOCKS} {
			tun, err := ParseTunnelRequest(k, client)
			if err != nil {
				continue
			}
			if tun.Start > len(client) || tun.HostOff+tun.HostLen > tun.Start || tun.HostOff < 0 || tun.HostLen < 0 {
				t.Fatalf("tunnel %+v outside %d bytes", tun, len(client))
			}
			more, err := ParseTunnelRequest(k, append(client[:len(client):len(client)], 0x16, 3, 1))
			if err != nil || more != tun {
				t.Fatalf("longer stream reads %+v, %v; was %+v", more, err, tun)
			}
			if n, err := TunnelReplyEnd(&tun, server); err == nil && (n > len(server) || n <= 0) {
				t.Fatalf("reply ends at %d of %d bytes", n, len(server))
			}
		}
	})
}
