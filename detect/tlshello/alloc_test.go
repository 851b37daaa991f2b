package tlshello

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// fingerprintAll runs the per-hello hot path: reassemble, parse, fingerprint.
func fingerprintAll(b testing.TB, stream, buf, dst []byte, h *ClientHello) []byte {
	msg, _, err := NextHandshake(stream, buf)
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Parse(msg); err != nil {
		b.Fatal(err)
	}
	dst = AppendJA3Hash(dst[:0], h)
	dst = AppendJA4(dst, h, TransportTCP)
	return AppendJA4R(dst, h, TransportTCP)
}

func TestZeroAllocs(t *testing.T) {
	for _, name := range []string{"chrome-tls-handshake.hex", "chrome125-kyber.hex"} {
		stream := reframe(helloMsg(t, name), 700) // force reassembly over records
		buf := make([]byte, DefaultMaxMessage)
		dst := make([]byte, 0, 4096)
		var h ClientHello
		allocs := testing.AllocsPerRun(100, func() {
			dst = fingerprintAll(t, stream, buf, dst, &h)
			_ = Sniff(stream)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per hello, want 0", name, allocs)
		}
	}
}

func BenchmarkChromeHello(b *testing.B) {
	stream := readHex(b, "chrome-tls-handshake.hex")
	buf := make([]byte, DefaultMaxMessage)
	dst := make([]byte, 0, 4096)
	var h ClientHello
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		dst = fingerprintAll(b, stream, buf, dst, &h)
	}
}

func BenchmarkParseOnly(b *testing.B) {
	msg := helloMsg(b, "chrome125-kyber.hex")
	var h ClientHello
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := h.Parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMalformed measures the cost of rejecting garbage, which must not
// allocate either.
func BenchmarkMalformed(b *testing.B) {
	msg := helloMsg(b, "chrome-tls-handshake.hex")
	msg = msg[:len(msg)/2]
	msg[1], msg[2], msg[3] = 0, byte(len(msg)-4>>8), byte(len(msg)-4)
	var h ClientHello
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Parse(msg); !errors.Is(err, ErrMalformed) {
			b.Fatal(err)
		}
	}
}

func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"chrome-tls-handshake.hex", "chrome125-kyber.hex"} {
		seeds = append(seeds, readHex(f, name))
	}
	return seeds
}

// within reports whether sub is a subslice of p.
func within(sub, p []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(p); i++ {
		if &p[i] == &sub[0] {
			return true
		}
	}
	return false
}

func FuzzClientHello(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		msg, _, err := NextHandshake(s, make([]byte, DefaultMaxMessage))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(msg))
	}
	f.Add([]byte{1, 0, 0, 0})
	var h ClientHello
	f.Fuzz(func(t *testing.T, msg []byte) {
		if err := h.Parse(msg); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnexpected) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if 2*len(h.CipherSuites) > len(msg) || 4*len(h.Extensions) > len(msg) || h.SessionIDLen > 32 {
			t.Fatalf("lists longer than the input: %d ciphers, %d extensions", len(h.CipherSuites), len(h.Extensions))
		}
		if !within(h.SNI, msg) {
			t.Fatal("SNI does not alias the input")
		}
		for _, a := range h.ALPN {
			if !within(a, msg) {
				t.Fatal("ALPN does not alias the input")
			}
		}
		if h.SNI != nil && !h.HasExtension(ExtServerName) || len(h.ALPN) > 0 && !h.HasExtension(ExtALPN) {
			t.Fatal("field set without its extension")
		}
		for _, tr := range []byte{TransportTCP, TransportQUIC, TransportDTLS} {
			if ja4 := AppendJA4(nil, &h, tr); !ja4Shape.Match(ja4) {
				t.Fatalf("JA4 %q has the wrong shape", ja4)
			}
		}
		if n := len(AppendJA3Hash(nil, &h)); n != JA3HashLen {
			t.Fatalf("JA3 hash has %d characters", n)
		}
		if ja3 := AppendJA3(nil, &h); !utf8.Valid(ja3) || bytes.Count(ja3, []byte(",")) != 4 {
			t.Fatalf("JA3 %q is not five fields", ja3)
		}
	})
}

func FuzzSSLv2Hello(f *testing.F) {
	rec := []byte{0x80, 0x1f, 1, 3, 1, 0, 6, 0, 0, 0, 16, 1, 0, 0x80, 0, 0, 0x2f}
	f.Add(append(rec, bytes.Repeat([]byte{7}, 16)...))
	var h ClientHello
	f.Fuzz(func(t *testing.T, stream []byte) {
		body, n, err := NextSSLv2Hello(stream)
		if err != nil {
			return
		}
		if n > len(stream) || len(body) >= n {
			t.Fatalf("n=%d body=%d stream=%d", n, len(body), len(stream))
		}
		if err := h.ParseSSLv2(body); err != nil {
			return
		}
		if 3*(len(h.CipherSuites)+h.SSLv2OnlyCiphers) > len(body) {
			t.Fatal("more ciphers than bytes")
		}
		if ja4 := AppendJA4(nil, &h, TransportTCP); !ja4Shape.Match(ja4) {
			t.Fatalf("JA4 %q has the wrong shape", ja4)
		}
	})
}

func FuzzNextHandshake(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint16(0))
		msg, _, _ := NextHandshake(s, make([]byte, DefaultMaxMessage))
		f.Add(reframe(msg, 300), uint16(600))
	}
	f.Add([]byte{22, 3, 3, 0, 8, 2, 0, 0, 0, 14, 0, 0, 0, 20, 3, 3, 0, 1, 1}, uint16(0))
	buf := make([]byte, DefaultMaxMessage)
	f.Fuzz(func(t *testing.T, stream []byte, maxMsg uint16) {
		msg, n, err := NextHandshake(stream, buf)
		switch {
		case err == nil:
			if len(msg) < HandshakeHeaderLen || n <= 0 || n > len(stream) {
				t.Fatalf("msg %d bytes, n=%d, stream %d", len(msg), n, len(stream))
			}
			if l := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]); l+HandshakeHeaderLen != len(msg) {
				t.Fatalf("header length %d, message %d", l, len(msg))
			}
		case errors.Is(err, ErrNeedMore):
			if n <= 0 {
				t.Fatalf("ErrNeedMore with need %d", n)
			}
		case errors.Is(err, ErrNotTLS), errors.Is(err, ErrTooLarge), errors.Is(err, ErrMalformed), errors.Is(err, ErrUnexpected):
		default:
			t.Fatalf("unexpected error %v", err)
		}
		// A Reader over the whole stream makes progress on every success and
		// stops at the end.
		r := Reader{MaxMessage: int(maxMsg)}
		prev, prevFrag := -1, -1
		for range len(stream) + 1 {
			m, _, err := r.Next(stream, buf)
			if err != nil {
				return
			}
			if m.Content == ContentHandshake && !m.Encrypted && len(m.Data) > r.MaxMessage && r.MaxMessage > 0 {
				t.Fatalf("message of %d bytes over the cap %d", len(m.Data), r.MaxMessage)
			}
			if r.off < prev || r.off == prev && r.fragOff <= prevFrag || r.off > len(stream) {
				t.Fatalf("no progress: off %d frag %d after %d %d", r.off, r.fragOff, prev, prevFrag)
			}
			prev, prevFrag = r.off, r.fragOff
		}
		t.Fatal("Reader did not stop")
	})
}
