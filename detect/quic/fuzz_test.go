package quic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func addPacketSeeds(f *testing.F) {
	for _, file := range []string{"rfc9001-a2-client-initial.hex", "rfc9369-a2-client-initial.hex"} {
		pkt := readHex(f, file)
		f.Add(pkt)
		f.Add(pkt[:60])
		f.Add(append(bytes.Clone(pkt), 0x40, 1, 2))
	}
	f.Add(unhex("80000000000102010300000001"))
	f.Add(unhex("f0000000010000aa11111111111111111111111111111111"))
	f.Add([]byte{0x41})
}

// FuzzParseHeader checks that ParseHeader never panics, that every slice
// it returns lies inside its input, and that lengths are consistent.
func FuzzParseHeader(f *testing.F) {
	addPacketSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if h.Len < 0 || h.Len > len(b) {
			t.Fatalf("Len %d outside input of %d", h.Len, len(b))
		}
		if h.Type.String() == "" {
			t.Fatal("empty type name")
		}
		for _, s := range [][]byte{h.DCID, h.SCID, h.Token} {
			if len(s) > 0 && !inside(s, b) {
				t.Fatal("field does not alias the input")
			}
		}
		if err != nil {
			return
		}
		if h.Len == 0 {
			t.Fatal("no error but zero length")
		}
		switch h.Type {
		case PacketInitial, Packet0RTT, PacketHandshake:
			if h.PNOffset < 7 || h.PNOffset+20 > h.Len {
				t.Fatalf("pn offset %d, len %d", h.PNOffset, h.Len)
			}
			if len(h.DCID) > MaxConnIDLen || len(h.SCID) > MaxConnIDLen {
				t.Fatal("connection ID over 20 bytes in a known version")
			}
		case PacketRetry, PacketVersionNegotiation:
			if h.Len != len(b) {
				t.Fatal("retry or version negotiation does not fill the datagram")
			}
		default:
			t.Fatalf("no error for type %v", h.Type)
		}
	})
}

// inside reports whether s is a subslice of b.
func inside(s, b []byte) bool {
	for i := range b {
		if &b[i] == &s[0] {
			return i+len(s) <= len(b)
		}
	}
	return false
}

// FuzzPacket checks Parser.Packet: it never modifies its input, Rest is the
// tail after Len, and a decrypted payload fits in the packet minus its
// header and tag.
func FuzzPacket(f *testing.F) {
	addPacketSeeds(f)
	var p Parser
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		info, err := p.Packet(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("input modified")
		}
		if len(info.Rest) > 0 && len(info.Rest) != len(b)-info.Len {
			t.Fatalf("rest %d, len %d of %d", len(info.Rest), info.Len, len(b))
		}
		if info.ClientInitial != (err == nil && info.Type == PacketInitial) {
			t.Fatalf("ClientInitial %v with err %v type %v", info.ClientInitial, err, info.Type)
		}
		if info.ClientInitial && len(info.Payload) > info.Len-info.PNOffset-1-16 {
			t.Fatalf("payload %d too long for packet %d", len(info.Payload), info.Len)
		}
	})
}

// FuzzConn feeds the frames in data, split into packets at 0xff 0xfe
// markers, to a small Conn and compares it with a byte-by-byte model.
func FuzzConn(f *testing.F) {
	frame := readHex(f, "rfc9001-a2-crypto-frame.hex")
	f.Add(frame)
	f.Add(append(append(crypto(100, "tail"), 0xff, 0xfe), frame...))
	f.Add(append(append(crypto(4, "\x00\x01"), 0xff, 0xfe), crypto(0, "\x01\x00\x00\x02")...))
	f.Add(unhex("0203000000000001020306000141"))
	const limit = 512
	c := NewConn(limit)
	f.Fuzz(func(t *testing.T, data []byte) {
		c.Reset(nil)
		var model [limit]byte
		var have [limit]bool
		modelDone := func() (int, bool) {
			if !have[0] || !have[1] || !have[2] || !have[3] {
				return 0, false
			}
			n := 4 + (int(model[1])<<16 | int(model[2])<<8 | int(model[3]))
			if n > limit {
				return n, false
			}
			for i := range n {
				if !have[i] {
					return n, false
				}
			}
			return n, true
		}
		for _, payload := range bytes.Split(data, []byte{0xff, 0xfe}) {
			err := c.Add(payload)
			// Replay the same payload on the model.
			for rest := payload; len(rest) > 0; {
				fr, n, ferr := NextFrame(rest)
				if ferr != nil {
					if !errors.Is(err, ferr) {
						t.Fatalf("Add err %v, NextFrame err %v", err, ferr)
					}
					break
				}
				if n <= 0 || n > len(rest) {
					t.Fatalf("NextFrame consumed %d of %d", n, len(rest))
				}
				rest = rest[n:]
				if fr.Type != FrameCrypto || len(fr.Data) == 0 {
					continue
				}
				if _, done := modelDone(); done {
					continue
				}
				if fr.Offset+uint64(len(fr.Data)) > limit {
					break // Add returned ErrTooLarge
				}
				for i, v := range fr.Data {
					model[int(fr.Offset)+i] = v
					have[int(fr.Offset)+i] = true
				}
				if n, _ := modelDone(); n > limit {
					break
				}
			}
			if errors.Is(err, ErrFragmented) {
				return // the model has no range limit
			}
			if err != nil {
				break
			}
		}
		// Invariants of the range list.
		prev := -1
		for _, r := range c.ranges[:c.nranges] {
			if r.start <= prev || r.end <= r.start || r.end > limit {
				t.Fatalf("bad ranges %v", c.ranges[:c.nranges])
			}
			prev = r.end
		}
		covered := 0
		for _, h := range have {
			if h {
				covered++
			}
		}
		if c.Buffered() != covered {
			t.Fatalf("Buffered %d, model %d", c.Buffered(), covered)
		}
		msg, ok := c.Hello()
		n, want := modelDone()
		if ok != want {
			t.Fatalf("complete %v, model %v", ok, want)
		}
		if ok {
			if len(msg) != n || 4+int(binary.BigEndian.Uint32(msg)&0xffffff) != len(msg) || !bytes.Equal(msg, model[:n]) {
				t.Fatalf("hello %x, model %x", msg, model[:n])
			}
		}
	})
}
