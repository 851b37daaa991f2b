package tlshello

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Reference values for testdata/chrome-tls-handshake.hex (frame 1 of FoxIO's
// tls-handshake.pcapng): tshark 4.0.17 (SNI, ALPN, versions, JA3) and the
// FoxIO Rust snapshot (JA4).
const (
	chromeSNI     = "clientservices.googleapis.com"
	chromeJA3     = "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,65281-51-45-5-17513-13-16-35-27-43-0-18-10-23-11-21,29-23-24,0"
	chromeJA3Hash = "1c258ebef8eee2dfa3df6d8d07285af9"
	chromeJA4     = "t13d1516h2_8daaf6152771_e5627efa2ab1"
)

// ja4Shape is the documented shape of a hashed JA4.
var ja4Shape = regexp.MustCompile(`^[tqd](1[0-3]|s[23]|d[1-3]|00)[di][0-9]{2}[0-9]{2}[\x21-\x7e]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// helloMsg returns the handshake message inside a single-record blob.
func helloMsg(t testing.TB, name string) []byte {
	t.Helper()
	msg, _, err := NextHandshake(readHex(t, name), make([]byte, DefaultMaxMessage))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return bytes.Clone(msg)
}

func TestIsGREASE(t *testing.T) {
	t.Parallel()
	n := 0
	for v := range 1 << 16 {
		if IsGREASE(uint16(v)) {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("IsGREASE(%#04x) = true", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want 16", n)
	}
}

func TestParseChrome(t *testing.T) {
	t.Parallel()
	var h ClientHello
	if err := h.Parse(helloMsg(t, "chrome-tls-handshake.hex")); err != nil {
		t.Fatal(err)
	}
	var alpn []string
	for _, a := range h.ALPN {
		alpn = append(alpn, string(a))
	}
	type summary struct {
		SNI               string
		ALPN              []string
		Legacy            uint16
		SupportedVersions []uint16
		GREASE, ECH       bool
		JA3, JA3Hash, JA4 string
	}
	got := summary{
		SNI: string(h.SNI), ALPN: alpn, Legacy: h.LegacyVersion,
		SupportedVersions: h.SupportedVersions, GREASE: h.GREASE, ECH: h.ECH,
		JA3: string(AppendJA3(nil, &h)), JA3Hash: string(AppendJA3Hash(nil, &h)),
		JA4: string(AppendJA4(nil, &h, TransportTCP)),
	}
	want := summary{
		SNI: chromeSNI, ALPN: []string{"h2", "http/1.1"}, Legacy: 0x0303,
		SupportedVersions: []uint16{0x0a0a, 0x0304, 0x0303}, GREASE: true,
		JA3: chromeJA3, JA3Hash: chromeJA3Hash, JA4: chromeJA4,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chrome hello (-want +got):\n%s", diff)
	}
}

// TestJA4Fields checks JA4 against the worked example in FoxIO's Rust unit
// test (tls.rs test_client_stats_into_out) and the JA4 spec README.
func TestJA4Fields(t *testing.T) {
	t.Parallel()
	h := &ClientHello{
		LegacyVersion: 0x0303,
		CipherSuites: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
			0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
			0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015},
		SignatureAlgorithms: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		SupportedVersions:   []uint16{0x0304, 0x0303},
		ALPN:                [][]byte{[]byte("h2")},
	}
	if got, want := string(AppendJA4(nil, h, TransportTCP)), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
	wantR := "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	if got := string(AppendJA4R(nil, h, TransportTCP)); got != wantR {
		t.Errorf("JA4_r = %s, want %s", got, wantR)
	}
	// GREASE anywhere, including signature algorithms, changes nothing.
	h.CipherSuites = append([]uint16{0x3a3a}, h.CipherSuites...)
	h.Extensions = append([]uint16{0xdada}, h.Extensions...)
	h.SignatureAlgorithms = append([]uint16{0x7a7a}, h.SignatureAlgorithms...)
	h.SupportedVersions = append([]uint16{0xfafa}, h.SupportedVersions...)
	if got, want := string(AppendJA4(nil, h, TransportQUIC)), "q13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4 with GREASE = %s, want %s", got, want)
	}
}

func TestJA4Prefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    ClientHello
		want string
	}{
		// Arkime openssl-ssl3.test: ts3i460000 with an empty JA4_c.
		{name: "ssl3 no extensions", h: ClientHello{LegacyVersion: 0x0300}, want: "ts3i000000"},
		{name: "sslv2", h: ClientHello{LegacyVersion: 0x0002, SSLv2: true}, want: "ts2i000000"},
		{name: "draft version", h: ClientHello{LegacyVersion: 0x0303, Extensions: []uint16{43}, SupportedVersions: []uint16{0x7f12}}, want: "t00i000100"},
		{name: "one-char alpn", h: ClientHello{LegacyVersion: 0x0303, Extensions: []uint16{16}, ALPN: [][]byte{[]byte("h")}}, want: "t12i0001h0"},
		{name: "non-ascii alpn", h: ClientHello{LegacyVersion: 0x0303, Extensions: []uint16{16}, ALPN: [][]byte{{0xba, 0xad}}}, want: "t12i000199"},
		{name: "empty alpn", h: ClientHello{LegacyVersion: 0x0303, Extensions: []uint16{16}, ALPN: [][]byte{{}}}, want: "t12i000100"},
		{name: "upper-case alpn kept", h: ClientHello{LegacyVersion: 0x0303, Extensions: []uint16{16}, ALPN: [][]byte{[]byte("H2")}}, want: "t12i0001H2"},
		{name: "dtls 1.2", h: ClientHello{LegacyVersion: 0xfefd}, want: "dd2i000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			transport := TransportTCP
			if tt.want[0] == 'd' {
				transport = TransportDTLS
			}
			got := string(AppendJA4(nil, &tt.h, transport))
			if !strings.HasPrefix(got, tt.want+"_") {
				t.Errorf("JA4 = %s, want prefix %s", got, tt.want)
			}
			if !ja4Shape.MatchString(got) {
				t.Errorf("JA4 %q does not have the documented shape", got)
			}
		})
	}
}

// reframe splits a handshake message over records of at most size bytes.
func reframe(msg []byte, size int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, 22, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

func TestReaderReassembly(t *testing.T) {
	t.Parallel()
	msg := helloMsg(t, "chrome-tls-handshake.hex")
	buf := make([]byte, DefaultMaxMessage)
	for _, size := range []int{1, 2, 3, 5, 100, 511, 1 << 14} {
		stream := reframe(msg, size)
		// Feed the stream one byte at a time, as TCP segments may arrive.
		for n := 0; n < len(stream); n++ {
			got, need, err := NextHandshake(stream[:n], buf)
			if !errors.Is(err, ErrNeedMore) || need <= 0 || n+need > len(stream) {
				t.Fatalf("size %d, prefix %d: got (%d bytes, need %d, %v), want ErrNeedMore with 0 < need <= %d",
					size, n, len(got), need, err, len(stream)-n)
			}
		}
		got, n, err := NextHandshake(stream, buf)
		if err != nil || n != len(stream) || !bytes.Equal(got, msg) {
			t.Fatalf("size %d: n=%d err=%v equal=%v", size, n, err, bytes.Equal(got, msg))
		}
	}
}

func TestReaderSeveralMessagesPerRecord(t *testing.T) {
	t.Parallel()
	sh := []byte{2, 0, 0, 38, 3, 3}
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0, 0xc0, 0x2f, 0)
	done := []byte{14, 0, 0, 0}
	payload := append(append([]byte{}, sh...), done...)
	stream := append([]byte{22, 3, 3, 0, byte(len(payload))}, payload...)
	stream = append(stream, 20, 3, 3, 0, 1, 1) // ChangeCipherSpec
	stream = append(stream, 22, 3, 3, 0, 40)   // encrypted Finished
	stream = append(stream, bytes.Repeat([]byte{0xab}, 40)...)
	stream = append(stream, 21, 3, 3, 0, 2, 2, 40) // plaintext alert

	var r Reader
	buf := make([]byte, 1024)
	var got []string
	for {
		m, _, err := r.Next(stream, buf)
		if errors.Is(err, ErrNeedMore) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		desc := []string{20: "ccs", 21: "alert", 22: "hs", 23: "data"}[m.Content]
		switch {
		case m.Encrypted:
			desc += ":encrypted"
		case m.Content == ContentHandshake:
			desc += ":" + string('0'+rune(m.HandshakeType()/10)) + string('0'+rune(m.HandshakeType()%10))
		case m.Content == ContentAlert:
			a, err := ParseAlert(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			desc += ":" + a.String()
		}
		got = append(got, desc)
	}
	want := []string{"hs:02", "hs:14", "ccs", "hs:encrypted", "alert:fatal:handshake_failure"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if r.Offset() != len(stream) {
		t.Errorf("Offset = %d, want %d", r.Offset(), len(stream))
	}
	var s ServerHello
	if err := s.Parse(sh); err != nil || s.CipherSuite != 0xc02f || s.Version() != 0x0303 || s.HelloRetryRequest {
		t.Errorf("ServerHello = %+v, %v", s, err)
	}
}

func TestReaderErrors(t *testing.T) {
	t.Parallel()
	big := []byte{22, 3, 1, 0x40, 0, 1, 0, 0x50, 0} // 20 KiB ClientHello
	tests := []struct {
		name   string
		stream []byte
		max    int
		want   error
	}{
		{name: "http", stream: []byte("GET / HTTP/1.1\r\n"), want: ErrNotTLS},
		{name: "one bad byte", stream: []byte{0x47}, want: ErrNotTLS},
		{name: "bad record version", stream: []byte{22, 4, 1, 0, 4}, want: ErrNotTLS},
		{name: "too large", stream: big, want: ErrTooLarge},
		{name: "too large for cap", stream: []byte{22, 3, 1, 0, 8, 1, 0, 0x10, 0}, max: 1024, want: ErrTooLarge},
		{name: "empty handshake record", stream: []byte{22, 3, 1, 0, 0}, want: ErrMalformed},
		{name: "oversized record", stream: []byte{22, 3, 1, 0x50, 0}, want: ErrMalformed},
		{name: "interleaved alert", stream: []byte{22, 3, 1, 0, 2, 1, 0, 21, 3, 1, 0, 2, 2, 40}, want: ErrMalformed},
		{name: "needs more", stream: []byte{22, 3, 1}, want: ErrNeedMore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reader{MaxMessage: tt.max}
			_, _, err := r.Next(tt.stream, make([]byte, DefaultMaxMessage))
			if !errors.Is(err, tt.want) {
				t.Errorf("Next = %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := NextHandshake([]byte{21, 3, 3, 0, 2, 2, 40}, make([]byte, 64)); !errors.Is(err, ErrUnexpected) {
		t.Errorf("NextHandshake(alert) = %v, want ErrUnexpected", err)
	}
}

// TestHelloRetryRequest builds a HelloRetryRequest by hand (RFC 8446 section
// 4.1.3 random, supported_versions 0x0304, key_share asking for x25519).
func TestHelloRetryRequest(t *testing.T) {
	t.Parallel()
	body := []byte{3, 3}
	body = append(body, helloRetryRandom[:]...)
	body = append(body, 0, 0x13, 0x01, 0)
	exts := []byte{0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 29}
	body = append(body, 0, byte(len(exts)))
	body = append(body, exts...)
	msg := append([]byte{2, 0, 0, byte(len(body))}, body...)
	var s ServerHello
	if err := s.Parse(msg); err != nil {
		t.Fatal(err)
	}
	if !s.HelloRetryRequest || s.Version() != 0x0304 || s.KeyShareGroup != 29 || s.CipherSuite != 0x1301 {
		t.Errorf("got %+v", s)
	}
	if got, want := string(AppendJA3S(nil, &s)), "771,4865,43-51"; got != want {
		t.Errorf("JA3S = %q, want %q", got, want)
	}
}

func TestParseAlert(t *testing.T) {
	t.Parallel()
	if a, err := ParseAlert([]byte{2, 70}); err != nil || a.String() != "fatal:protocol_version" {
		t.Errorf("ParseAlert = %v, %v", a, err)
	}
	if _, err := ParseAlert([]byte{2, 70, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("3-byte alert: %v, want ErrMalformed", err)
	}
	if got := AlertDescriptionName(255); got != "unknown" {
		t.Errorf("AlertDescriptionName(255) = %q", got)
	}
}

func TestParseSSLv2(t *testing.T) {
	t.Parallel()
	// An SSLv2-compatible hello offering TLS 1.0 with RC4-MD5 (0x010080, an
	// SSLv2-only kind) and TLS_RSA_WITH_AES_128_CBC_SHA (0x00002f).
	rec := []byte{0x80, 0x1f, 1, 3, 1, 0, 6, 0, 0, 0, 16, 1, 0, 0x80, 0, 0, 0x2f}
	rec = append(rec, bytes.Repeat([]byte{7}, 16)...)
	if Sniff(rec) != KindSSLv2 {
		t.Fatalf("Sniff = %v", Sniff(rec))
	}
	body, n, err := NextSSLv2Hello(rec)
	if err != nil || n != len(rec) {
		t.Fatalf("NextSSLv2Hello: n=%d err=%v", n, err)
	}
	var h ClientHello
	if err := h.ParseSSLv2(body); err != nil {
		t.Fatal(err)
	}
	if !h.SSLv2 || h.LegacyVersion != 0x0301 || h.SSLv2OnlyCiphers != 1 || !slicesEqual(h.CipherSuites, []uint16{0x2f}) {
		t.Errorf("got %+v", h)
	}
	if got := string(AppendJA3(nil, &h)); got != "769,47,,," {
		t.Errorf("JA3 = %q", got)
	}
	if got := string(AppendJA4(nil, &h, TransportTCP)); !strings.HasPrefix(got, "t10i010000_") {
		t.Errorf("JA4 = %q", got)
	}
}

func slicesEqual(a, b []uint16) bool { return cmp.Equal(a, b) }

func TestSniff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
		want   Kind
	}{
		{"empty", "", KindNeedMore},
		{"tls", "\x16\x03\x01\x02\x00\x01", KindTLS},
		{"tls short", "\x16\x03", KindNeedMore},
		{"sslv2", "\x80\x2e\x01\x00\x02\x00\x15", KindSSLv2},
		{"get", "GET / HTTP/1.1\r\n", KindHTTP},
		{"get short", "GE", KindNeedMore},
		{"post", "POST /x HTTP/1.1", KindHTTP},
		{"connect", "CONNECT example.com:443 HTTP/1.1\r\n", KindHTTPConnect},
		{"h2c", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", KindHTTP2},
		{"ssh", "SSH-2.0-OpenSSH_9.6\r\n", KindSSH},
		{"openvpn", "\x00\x2a\x38\x01\x02\x03\x04\x05\x06\x07\x08", KindOpenVPN},
		{"socks5", "\x05\x01\x00", KindSOCKS},
		{"socks4", "\x04\x01\x01\xbb\x0a\x00\x00\x01user\x00", KindSOCKS},
		{"unknown", "hello world, this is not a protocol", KindUnknown},
		{"binary", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff([]byte(tt.prefix)); got != tt.want {
				t.Errorf("Sniff(%q) = %v, want %v", tt.prefix, got, tt.want)
			}
		})
	}
	for _, k := range AllKinds {
		if k.String() == "unknown" && k != KindUnknown {
			t.Errorf("Kind %d has no name", k)
		}
	}
	if len(AllKinds) != int(numKinds) {
		t.Errorf("AllKinds has %d entries, want %d", len(AllKinds), numKinds)
	}
}

// TestClassOf checks suites against their IANA registry names.
func TestClassOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code uint16
		name string
		want CipherClass
	}{
		{0x0000, "TLS_NULL_WITH_NULL_NULL", ClassNull},
		{0x0002, "TLS_RSA_WITH_NULL_SHA", ClassNull},
		{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", ClassExport},
		{0x0004, "TLS_RSA_WITH_RC4_128_MD5", ClassRC4},
		{0x0009, "TLS_RSA_WITH_DES_CBC_SHA", ClassDES},
		{0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", Class3DES},
		{0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", ClassAnon},
		{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", ClassCBC},
		{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", ClassAnon},
		{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", ClassAEAD},
		{0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", ClassSignaling},
		{0x1301, "TLS_AES_128_GCM_SHA256", ClassAEAD},
		{0x1303, "TLS_CHACHA20_POLY1305_SHA256", ClassAEAD},
		{0x5600, "TLS_FALLBACK_SCSV", ClassSignaling},
		{0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", ClassRC4},
		{0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", Class3DES},
		{0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", ClassCBC},
		{0xc015, "TLS_ECDH_anon_WITH_NULL_SHA", ClassNull},
		{0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", ClassAnon},
		{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ClassAEAD},
		{0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", ClassAEAD},
		{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ClassAEAD},
		{0x0a0a, "GREASE", ClassSignaling},
		{0x1234, "unassigned", ClassUnknown},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.code); got != tt.want {
			t.Errorf("ClassOf(%#04x %s) = %v, want %v", tt.code, tt.name, got, tt.want)
		}
	}
	if !ClassRC4.Weak() || ClassCBC.Weak() || ClassAEAD.Weak() {
		t.Error("Weak() is wrong")
	}
	if len(AllCipherClasses) != int(numClasses) {
		t.Errorf("AllCipherClasses has %d entries", len(AllCipherClasses))
	}
}

func TestVersionOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wire       uint16
		want       string
		deprecated bool
	}{
		{0x0002, "ssl2", true}, {0x0300, "ssl3", true}, {0x0301, "tls1.0", true},
		{0x0302, "tls1.1", true}, {0x0303, "tls1.2", false}, {0x0304, "tls1.3", false},
		{0x7f17, "tls1.3", false}, {0xfefd, "unknown", false},
	}
	for _, tt := range tests {
		v := VersionOf(tt.wire)
		if v.String() != tt.want || v.Deprecated() != tt.deprecated {
			t.Errorf("VersionOf(%#04x) = %v deprecated=%v, want %s %v", tt.wire, v, v.Deprecated(), tt.want, tt.deprecated)
		}
	}
	if len(AllVersions) != int(numVersions) {
		t.Errorf("AllVersions has %d entries", len(AllVersions))
	}
}
