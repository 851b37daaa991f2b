package quic

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/hkdf"

	"github.com/monitor443/monitor443/detect/tlshello"
)

// readHex reads a whitespace-separated hex file from testdata.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var rfcDCID = unhex("8394c8f03e515708")

// TestClientInitialSecrets checks key derivation against RFC 9001 A.1 and
// RFC 9369 A.1.
func TestClientInitialSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		version             uint32
		secret, key, iv, hp string
	}{
		{
			name:    "v1 RFC 9001 A.1",
			version: Version1,
			secret:  "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
			key:     "1f369613dd76d5467730efcbe3b1a22d",
			iv:      "fa044b2f42a3fd3b46fb255c",
			hp:      "9f50449e04a0e810283a1e9933adedd2",
		},
		{
			name:    "v2 RFC 9369 A.1",
			version: Version2,
			secret:  "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
			key:     "8b1a0bc121284290a29e0971b5cd045d",
			iv:      "91f73e2351d8fa91660e909f",
			hp:      "45b95e15235d6f45a6b19cbcb0294ba9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ok := ClientInitialSecrets(tt.version, rfcDCID)
			if !ok {
				t.Fatal("version not known")
			}
			for _, c := range []struct{ what, want, got string }{
				{"client_initial_secret", tt.secret, hex.EncodeToString(s.Secret[:])},
				{"key", tt.key, hex.EncodeToString(s.Key[:])},
				{"iv", tt.iv, hex.EncodeToString(s.IV[:])},
				{"hp", tt.hp, hex.EncodeToString(s.HP[:])},
			} {
				if c.got != c.want {
					t.Errorf("%s = %s, want %s", c.what, c.got, c.want)
				}
			}
		})
	}
	if _, ok := ClientInitialSecrets(0x51303433, rfcDCID); ok {
		t.Error("gQUIC Q043 reported as known")
	}
}

// hkdfExpandLabel is HKDF-Expand-Label written with x/crypto/hkdf, as an
// independent check of the allocation-free version.
func hkdfExpandLabel(secret []byte, label string, length int) []byte {
	full := "tls13 " + label
	info := []byte{byte(length >> 8), byte(length), byte(len(full))}
	info = append(info, full...)
	info = append(info, 0)
	out := make([]byte, length)
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, secret, info), out); err != nil {
		panic(err)
	}
	return out
}

// TestHKDFMatchesXCrypto cross-checks the stack HMAC/HKDF against
// crypto/hmac and x/crypto/hkdf for every connection ID length.
func TestHKDFMatchesXCrypto(t *testing.T) {
	t.Parallel()
	for n := 0; n <= 255; n += 7 {
		dcid := bytes.Repeat([]byte{byte(n), 0xa5}, n)[:n]
		for _, v := range []uint32{Version1, Version2, VersionDraft29} {
			s, _ := ClientInitialSecrets(v, dcid)
			salt := saltV1[:]
			prefix := "quic "
			switch v {
			case Version2:
				salt, prefix = saltV2[:], "quicv2 "
			case VersionDraft29:
				salt = saltDraft29[:]
			}
			prk := hkdf.Extract(sha256.New, dcid, salt)
			mac := hmac.New(sha256.New, salt)
			mac.Write(dcid)
			if !bytes.Equal(prk, mac.Sum(nil)) {
				t.Fatal("x/crypto hkdf.Extract disagrees with crypto/hmac")
			}
			secret := hkdfExpandLabel(prk, "client in", 32)
			want := [][]byte{secret, hkdfExpandLabel(secret, prefix+"key", 16), hkdfExpandLabel(secret, prefix+"iv", 12), hkdfExpandLabel(secret, prefix+"hp", 16)}
			got := [][]byte{s.Secret[:], s.Key[:], s.IV[:], s.HP[:]}
			for i := range want {
				if !bytes.Equal(want[i], got[i]) {
					t.Fatalf("version %#x dcid len %d: field %d = %x, want %x", v, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestParserRFCVectors decrypts the sample client Initials of RFC 9001 A.2
// and RFC 9369 A.2 and reads the ClientHello inside.
func TestParserRFCVectors(t *testing.T) {
	t.Parallel()
	frame := readHex(t, "rfc9001-a2-crypto-frame.hex")
	tests := []struct {
		name    string
		file    string
		version uint32
	}{
		{"v1", "rfc9001-a2-client-initial.hex", Version1},
		{"v2", "rfc9369-a2-client-initial.hex", Version2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pkt := readHex(t, tt.file)
			orig := bytes.Clone(pkt)
			var p Parser
			info, err := p.Packet(pkt)
			if err != nil {
				t.Fatalf("Packet: %v", err)
			}
			if !bytes.Equal(pkt, orig) {
				t.Error("Packet modified its input")
			}
			if info.Version != tt.version || info.Type != PacketInitial || !info.ClientInitial {
				t.Errorf("version %#x type %v client %v", info.Version, info.Type, info.ClientInitial)
			}
			if !bytes.Equal(info.DCID, rfcDCID) || len(info.SCID) != 0 || len(info.Token) != 0 {
				t.Errorf("dcid %x scid %x token %x", info.DCID, info.SCID, info.Token)
			}
			// The unprotected header is c3...00000002: a 4-byte packet number 2.
			if info.PacketNumber != 2 || info.PNOffset != 18 || info.Len != 1200 || len(info.Rest) != 0 {
				t.Errorf("pn %d pnoffset %d len %d rest %d", info.PacketNumber, info.PNOffset, info.Len, len(info.Rest))
			}
			if len(info.Payload) != 1162 || !bytes.Equal(info.Payload[:len(frame)], frame) ||
				len(bytes.Trim(info.Payload[len(frame):], "\x00")) != 0 {
				t.Fatalf("payload (%d bytes) is not the RFC CRYPTO frame plus PADDING", len(info.Payload))
			}
			c := NewConn(0)
			c.Reset(info.DCID)
			if err := c.Add(info.Payload); err != nil {
				t.Fatalf("Add: %v", err)
			}
			msg, ok := c.Hello()
			if !ok || !bytes.Equal(msg, frame[4:]) {
				t.Fatalf("Hello = %x, %v", msg, ok)
			}
			var h tlshello.ClientHello
			if err := h.Parse(msg); err != nil {
				t.Fatalf("tlshello Parse: %v", err)
			}
			if string(h.SNI) != "example.com" || len(h.ALPN) != 1 || string(h.ALPN[0]) != "alpn" {
				t.Errorf("sni %q alpn %q", h.SNI, h.ALPN)
			}
			// A second call hits the key cache and gives the same result.
			info2, err := p.Packet(pkt)
			if err != nil || !bytes.Equal(info2.Payload, info.Payload) {
				t.Errorf("second Packet: %v", err)
			}
			// A corrupted tag fails authentication.
			bad := bytes.Clone(pkt)
			bad[len(bad)-1] ^= 1
			if info, err := p.Packet(bad); !errors.Is(err, ErrDecrypt) || info.ClientInitial {
				t.Errorf("corrupted packet: %v", err)
			}
			// Keys from another DCID fail too.
			if _, err := p.PacketWithDCID(pkt, []byte{1, 2, 3, 4}); !errors.Is(err, ErrDecrypt) {
				t.Errorf("wrong key DCID: %v", err)
			}
			if _, err := p.PacketWithDCID(pkt, rfcDCID); err != nil {
				t.Errorf("PacketWithDCID: %v", err)
			}
		})
	}
}

// TestCoalesced walks a datagram of three coalesced packets.
func TestCoalesced(t *testing.T) {
	t.Parallel()
	initial := readHex(t, "rfc9001-a2-client-initial.hex")
	// A Handshake packet (type bits 10) with 2-byte Length 0x4014 = 20.
	hs := append(unhex("e000000001"+"04aabbccdd"+"0211ee"+"4014"), make([]byte, 20)...)
	var d []byte
	d = append(d, initial...)
	d = append(d, hs...)
	d = append(d, 0x40, 1, 2, 3) // a short-header packet
	var p Parser
	info, err := p.Packet(d)
	if err != nil || !info.ClientInitial || len(info.Rest) != len(hs)+4 {
		t.Fatalf("first: %v client %v rest %d", err, info.ClientInitial, len(info.Rest))
	}
	info, err = p.Packet(info.Rest)
	if err != nil || info.Type != PacketHandshake || info.ClientInitial || len(info.Rest) != 4 ||
		!bytes.Equal(info.DCID, unhex("aabbccdd")) || !bytes.Equal(info.SCID, unhex("11ee")) {
		t.Fatalf("second: %v %+v", err, info.Header)
	}
	info, err = p.Packet(info.Rest)
	if !errors.Is(err, ErrShortHeader) || info.Type != PacketShort || len(info.Rest) != 0 {
		t.Fatalf("third: %v %v", err, info.Type)
	}
}

func TestParseHeader(t *testing.T) {
	t.Parallel()
	long := func(first byte, version string, rest string) []byte {
		return unhex(hex.EncodeToString([]byte{first}) + version + rest)
	}
	body20 := strings.Repeat("00", 20)
	tests := []struct {
		name    string
		in      []byte
		want    PacketType
		err     error
		version uint32
		length  int
	}{
		{"empty", nil, PacketUnknown, ErrTruncated, 0, 0},
		{"short header", []byte{0x41, 1, 2}, PacketShort, ErrShortHeader, 0, 3},
		{"version negotiation", long(0x80, "00000000", "0102"+"0103"+"00000001"+"6b3343cf"), PacketVersionNegotiation, nil, 0, 17},
		{"version negotiation odd list", long(0x80, "00000000", "0000"+"000001"), PacketVersionNegotiation, ErrMalformed, 0, 10},
		{"unknown version", long(0xc0, "51303433", "0000"+"ffff"), PacketUnknown, ErrVersion, 0x51303433, 9},
		{"v1 initial", long(0xc0, "00000001", "0000"+"00"+"14"+body20), PacketInitial, nil, 1, 29},
		{"v1 0-RTT", long(0xd0, "00000001", "0000"+"14"+body20), Packet0RTT, nil, 1, 28},
		{"v1 handshake", long(0xe0, "00000001", "0000"+"14"+body20), PacketHandshake, nil, 1, 28},
		{"v1 retry", long(0xf0, "00000001", "0000"+"aa"+strings.Repeat("11", 16)), PacketRetry, nil, 1, 24},
		{"v2 initial", long(0xd0, "6b3343cf", "0000"+"00"+"14"+body20), PacketInitial, nil, Version2, 29},
		{"v2 0-RTT", long(0xe0, "6b3343cf", "0000"+"14"+body20), Packet0RTT, nil, Version2, 28},
		{"v2 handshake", long(0xf0, "6b3343cf", "0000"+"14"+body20), PacketHandshake, nil, Version2, 28},
		{"v2 retry", long(0xc0, "6b3343cf", "0000"+strings.Repeat("11", 16)), PacketRetry, nil, Version2, 23},
		{"draft-29 initial", long(0xc0, "ff00001d", "0000"+"00"+"14"+body20), PacketInitial, nil, VersionDraft29, 29},
		{"length past end", long(0xc0, "00000001", "0000"+"00"+"15"+body20), PacketInitial, ErrTruncated, 1, 0},
		{"payload too short for sample", long(0xc0, "00000001", "0000"+"00"+"13"+body20), PacketInitial, ErrMalformed, 1, 0},
		{"token past end", long(0xc0, "00000001", "0000"+"05"+"0102"), PacketInitial, ErrTruncated, 1, 0},
		{"dcid past end", long(0xc0, "00000001", "09aabb"), PacketUnknown, ErrTruncated, 1, 0},
		{"dcid over 20 bytes in v1", long(0xc0, "00000001", "15"+strings.Repeat("aa", 21)+"00"+"00"+"14"+body20), PacketUnknown, ErrMalformed, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := ParseHeader(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if h.Type != tt.want || h.Version != tt.version {
				t.Errorf("type %v version %#x, want %v %#x", h.Type, h.Version, tt.want, tt.version)
			}
			if tt.length != 0 && h.Len != tt.length {
				t.Errorf("len %d, want %d", h.Len, tt.length)
			}
		})
	}
}

func TestReadVarint(t *testing.T) {
	t.Parallel()
	// RFC 9000 §A.1 examples.
	tests := []struct {
		in   string
		want uint64
		n    int
	}{
		{"c2197c5eff14e88c", 151288809941952652, 8},
		{"9d7f3e7d", 494878333, 4},
		{"7bbd", 15293, 2},
		{"25", 37, 1},
		{"4025", 37, 2},
		{"7b", 0, 0},
		{"", 0, 0},
	}
	for _, tt := range tests {
		v, n := ReadVarint(unhex(tt.in))
		if v != tt.want || n != tt.n {
			t.Errorf("ReadVarint(%s) = %d, %d; want %d, %d", tt.in, v, n, tt.want, tt.n)
		}
	}
}

// crypto builds a CRYPTO frame.
func crypto(off int, data string) []byte {
	f := []byte{FrameCrypto, 0x80 | byte(off>>24), byte(off >> 16), byte(off >> 8), byte(off), 0x40 | byte(len(data)>>8), byte(len(data))}
	return append(f, data...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestConn(t *testing.T) {
	t.Parallel()
	// A fake handshake message of 4+8 bytes.
	msg := "\x01\x00\x00\x08ABCDEFGH"
	ack := unhex("02" + "05" + "00" + "01" + "00" + "01" + "02") // largest 5, 1 extra range
	ackECN := unhex("03" + "05" + "00" + "00" + "00" + "01" + "02" + "03")
	closeFrame := unhex("1c" + "0a" + "00" + "03" + "616263")
	tests := []struct {
		name     string
		payloads [][]byte
		max      int
		err      error
		complete bool
	}{
		{"in order one frame", [][]byte{crypto(0, msg)}, 0, nil, true},
		{"reverse across packets", [][]byte{crypto(6, msg[6:]), crypto(3, msg[3:6]), crypto(0, msg[:3])}, 0, nil, true},
		{"overlaps and duplicates", [][]byte{cat(crypto(2, msg[2:9]), crypto(0, msg[:5])), crypto(0, msg[:5]), crypto(8, msg[8:])}, 0, nil, true},
		{"with padding ping ack close", [][]byte{cat([]byte{1, 0, 0}, ack, crypto(5, msg[5:]), ackECN, closeFrame, crypto(0, msg[:5]), []byte{0, 0, 0})}, 0, nil, true},
		{"gap", [][]byte{crypto(0, msg[:5]), crypto(6, msg[6:])}, 0, nil, false},
		{"header only", [][]byte{crypto(0, msg[:4])}, 0, nil, false},
		{"stream frame stops", [][]byte{cat(crypto(0, msg[:5]), []byte{0x08, 0, 0}, crypto(5, msg[5:]))}, 0, ErrFrame, false},
		{"data beyond cap", [][]byte{crypto(60, "x")}, 32, ErrTooLarge, false},
		{"hello longer than cap", [][]byte{crypto(0, "\x01\x00\x01\x00")}, 32, ErrTooLarge, false},
		{"truncated crypto", [][]byte{crypto(0, msg)[:8]}, 0, ErrTruncated, false},
		{"ack range count too large", [][]byte{unhex("02000040ff00")}, 0, ErrMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewConn(tt.max)
			c.Reset([]byte{9, 9})
			var err error
			for _, p := range tt.payloads {
				if err = c.Add(p); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			got, ok := c.Hello()
			if ok != tt.complete {
				t.Fatalf("complete = %v, want %v", ok, tt.complete)
			}
			if ok && string(got) != msg {
				t.Errorf("Hello = %q, want %q", got, msg)
			}
			if !ok && got != nil {
				t.Error("incomplete Hello returned bytes")
			}
			if !bytes.Equal(c.ODCID(), []byte{9, 9}) {
				t.Errorf("ODCID = %x", c.ODCID())
			}
		})
	}
}

func TestConnFragmented(t *testing.T) {
	t.Parallel()
	c := NewConn(0)
	c.Reset(nil)
	var err error
	for i := range maxRanges + 1 {
		if err = c.Add(crypto(10+2*i, "x")); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFragmented) {
		t.Fatalf("err = %v, want ErrFragmented", err)
	}
	// Filling the holes merges everything into one range.
	c.Reset(nil)
	for i := range maxRanges {
		_ = c.Add(crypto(2*i+1, "\x00"))
	}
	// Bytes 1..3 become 00 01 00: a 256-byte message, not yet complete.
	for i := range maxRanges {
		if err := c.Add(crypto(2*i, "\x01")); err != nil {
			t.Fatal(err)
		}
	}
	if c.nranges != 1 || c.Buffered() != 2*maxRanges {
		t.Errorf("ranges %d buffered %d", c.nranges, c.Buffered())
	}
	c.Reset(nil)
	if _, ok := c.Hello(); ok || c.Buffered() != 0 || c.Packets() != 0 {
		t.Error("Reset did not empty the Conn")
	}
}

func TestIsServerPacket(t *testing.T) {
	t.Parallel()
	initial := readHex(t, "rfc9001-a2-client-initial.hex")
	hs := append(unhex("e000000001"+"04aabbccdd"+"0211ee"+"14"), make([]byte, 20)...)
	tests := []struct {
		name  string
		in    []byte
		sport uint16
		want  bool
	}{
		{"initial from server port", initial, 443, true},
		{"initial from client port", initial, 50000, false},
		{"handshake from server port", hs, 443, true},
		{"short header", []byte{0x40, 1, 2, 3}, 443, false},
		{"garbage", []byte{0xc0, 1}, 443, false},
	}
	for _, tt := range tests {
		if got := IsServerPacket(tt.in, tt.sport, 443); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPacketTypeString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, pt := range PacketTypes {
		s := pt.String()
		if seen[s] || s == "" {
			t.Errorf("duplicate or empty name %q", s)
		}
		seen[s] = true
	}
}
