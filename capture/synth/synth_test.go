package synth

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// pkt is a decoded summary of one generated frame, made by gopacket.
type pkt struct {
	ts       time.Time
	src, dst netip.AddrPort
	flags    uint8
	seq, ack uint32
	payload  []byte
	tags     int
	v6       bool
	wireLen  int
}

func (p *pkt) fromClient() bool { return p.dst.Port() == 443 }

func (p *pkt) has(f uint8) bool { return p.flags&f == f }

// flowKey names a connection by (client, server).
type flowKey struct{ cli, srv netip.AddrPort }

func (k flowKey) String() string { return k.cli.String() + "->" + k.srv.String() }

func (p *pkt) key() flowKey {
	if p.fromClient() {
		return flowKey{p.src, p.dst}
	}
	return flowKey{p.dst, p.src}
}

// generate runs cfg into a pcap in memory and returns the file and truth.
func generate(t testing.TB, cfg Config) ([]byte, Truth) {
	t.Helper()
	var buf bytes.Buffer
	tr, err := Generate(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), tr
}

// decodeAll reads a pcap with pcapgo and decodes every frame with
// gopacket's full decoder, failing on any frame that is not
// Ethernet/[802.1Q...]/IP/TCP or has a bad IPv4 or TCP checksum.
func decodeAll(t testing.TB, file []byte) []pkt {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v, want Ethernet", r.LinkType())
	}
	var out []pkt
	var last time.Time
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("packet %d at %v is before the previous one at %v", i, ci.Timestamp, last)
		}
		last = ci.Timestamp
		gp := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if el := gp.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: decode error: %v", i, el.Error())
		}
		p := pkt{ts: ci.Timestamp, wireLen: ci.Length}
		var srcIP, dstIP netip.Addr
		var pseudo []byte
		for _, l := range gp.Layers() {
			switch l := l.(type) {
			case *layers.Dot1Q:
				p.tags++
			case *layers.IPv4:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP.To4())
				dstIP, _ = netip.AddrFromSlice(l.DstIP.To4())
				if c := checksum(l.Contents); c != 0 {
					t.Fatalf("packet %d: IPv4 header checksum does not verify", i)
				}
				if int(l.Length) != len(l.Contents)+len(l.Payload) {
					t.Fatalf("packet %d: IPv4 total length %d, have %d bytes", i, l.Length, len(l.Contents)+len(l.Payload))
				}
				pseudo = append(append(append([]byte{}, l.SrcIP.To4()...), l.DstIP.To4()...), 0, 6, 0, 0)
				binary.BigEndian.PutUint16(pseudo[10:], uint16(len(l.Payload)))
			case *layers.IPv6:
				p.v6 = true
				srcIP, _ = netip.AddrFromSlice(l.SrcIP)
				dstIP, _ = netip.AddrFromSlice(l.DstIP)
				if int(l.Length) != len(l.Payload) {
					t.Fatalf("packet %d: IPv6 payload length %d, have %d bytes", i, l.Length, len(l.Payload))
				}
				pseudo = append(append(append([]byte{}, l.SrcIP...), l.DstIP...), 0, 0, 0, 0, 0, 0, 0, 6)
				binary.BigEndian.PutUint32(pseudo[32:], uint32(len(l.Payload)))
			case *layers.TCP:
				if c := checksum(append(pseudo, append(l.Contents, l.Payload...)...)); c != 0 {
					t.Fatalf("packet %d: TCP checksum does not verify", i)
				}
				p.src = netip.AddrPortFrom(srcIP, uint16(l.SrcPort))
				p.dst = netip.AddrPortFrom(dstIP, uint16(l.DstPort))
				p.seq, p.ack = l.Seq, l.Ack
				p.payload = l.Payload
				p.flags = l.Contents[13]
			}
		}
		if !p.src.IsValid() {
			t.Fatalf("packet %d: no IP/TCP layers: %v", i, gp)
		}
		if p.src.Port() != 443 && p.dst.Port() != 443 {
			t.Fatalf("packet %d: neither port is 443: %v -> %v", i, p.src, p.dst)
		}
		out = append(out, p)
	}
	return out
}

// checksum is a plain RFC 1071 Internet checksum, written independently of
// the generator's.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func smallConfig() Config {
	mix := map[Stack]float64{}
	for _, s := range Stacks() {
		mix[s] = 1
	}
	return Config{
		Seed: 7, Duration: 40 * time.Second, ConnRate: 15, Servers: 6, Clients: 200,
		IPv6Fraction: 0.3, VLANFraction: 0.3, QinQFraction: 0.5, StackMix: mix, MaxResponseBytes: 256 << 10,
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Presets()["demo"]
	a, ta := generate(t, cfg)
	b, tb := generate(t, cfg)
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Fatal("two runs of the same Config differ")
	}
	if ta.Packets != tb.Packets || ta.Bytes != tb.Bytes {
		t.Fatalf("truth differs: %+v vs %+v", ta, tb)
	}
	cfg.Seed++
	c, _ := generate(t, cfg)
	if sha256.Sum256(a) == sha256.Sum256(c) {
		t.Fatal("a different seed gave the same output")
	}
	if len(a) > 1<<20 {
		t.Errorf("demo pcap is %d bytes, want < 1 MiB so it can be committed", len(a))
	}
}

func TestFramesDecode(t *testing.T) {
	t.Parallel()
	file, tr := generate(t, smallConfig())
	pkts := decodeAll(t, file)
	if uint64(len(pkts)) != tr.Packets {
		t.Errorf("decoded %d packets, truth says %d", len(pkts), tr.Packets)
	}
	var v6, dot1q, qinq int
	for _, p := range pkts {
		if p.v6 {
			v6++
		}
		switch p.tags {
		case 1:
			dot1q++
		case 2:
			qinq++
		}
	}
	n := len(pkts)
	t.Logf("%d packets: %d IPv6, %d 802.1Q, %d QinQ", n, v6, dot1q, qinq)
	if v6 == 0 || dot1q == 0 || qinq == 0 {
		t.Errorf("want some IPv6 (%d), 802.1Q (%d) and QinQ (%d) frames", v6, dot1q, qinq)
	}
}

// conn3 collects one connection's handshake and byte streams.
type conn3 struct {
	syn, synAck, ack bool
	cISN, sISN       uint32
	synTime          time.Time
	cStream, sStream []byte
	helloSegs        int
}

func collect(pkts []pkt) map[flowKey]*conn3 {
	m := map[flowKey]*conn3{}
	for _, p := range pkts {
		k := p.key()
		c := m[k]
		if c == nil {
			c = &conn3{}
			m[k] = c
		}
		switch {
		case p.has(tcpSYN) && !p.has(tcpACK):
			c.syn, c.cISN, c.synTime = true, p.seq, p.ts
		case p.has(tcpSYN | tcpACK):
			c.synAck = c.synAck || (c.syn && p.ack == c.cISN+1)
			c.sISN = p.seq
		case p.fromClient() && p.has(tcpACK) && len(p.payload) == 0 && c.synAck && !c.ack:
			c.ack = p.seq == c.cISN+1 && p.ack == c.sISN+1
		}
		if len(p.payload) > 0 {
			if p.fromClient() {
				if len(c.cStream) < 1<<14 && p.seq == c.cISN+1+uint32(len(c.cStream)) {
					c.cStream = append(c.cStream, p.payload...)
					if n := helloLen(c.cStream); n == 0 || len(c.cStream)-len(p.payload) < n {
						c.helloSegs++
					}
				}
			} else if len(c.sStream) < 1<<15 && p.seq == c.sISN+1+uint32(len(c.sStream)) {
				c.sStream = append(c.sStream, p.payload...)
			}
		}
	}
	return m
}

// helloLen returns the length of the first TLS record in b, header
// included, or 0 if the header is incomplete.
func helloLen(b []byte) int {
	if len(b) < 5 {
		return 0
	}
	return 5 + int(binary.BigEndian.Uint16(b[3:]))
}

func TestHandshakesComplete(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	file, tr := generate(t, cfg)
	conns := collect(decodeAll(t, file))
	cut := tr.End.Add(-3 * time.Second) // later SYNs may be cut off by the end
	checked := 0
	for k, c := range conns {
		if !c.syn || c.synTime.After(cut) {
			continue
		}
		checked++
		if !c.synAck || !c.ack {
			t.Errorf("%v: SYN %v, SYN-ACK %v, ACK %v: handshake incomplete", k, c.syn, c.synAck, c.ack)
		}
	}
	if checked < int(tr.Connections)*8/10 {
		t.Errorf("checked %d handshakes of %d connections", checked, tr.Connections)
	}
}

func TestClientHellos(t *testing.T) {
	t.Parallel()
	cfg := smallConfig()
	file, _ := generate(t, cfg)
	conns := collect(decodeAll(t, file))
	var hellos, twoSeg, certs, tls13 int
	for k, c := range conns {
		if len(c.cStream) == 0 {
			continue
		}
		n := helloLen(c.cStream)
		if len(c.cStream) < n {
			continue // cut off by the end of the capture
		}
		hellos++
		rec := c.cStream[:n]
		sni, err := checkHelloRecord(rec)
		if err != "" {
			t.Fatalf("%v: %s: % x", k, err, rec[:min(len(rec), 64)])
		}
		if !strings.HasSuffix(sni, ".example") {
			t.Errorf("%v: SNI %q", k, sni)
		}
		if hellos <= 40 { // crypto/tls as a second, independent parser
			if chi := helloInfo(t, rec); chi.ServerName != sni {
				t.Errorf("%v: crypto/tls reads SNI %q, framing check %q", k, chi.ServerName, sni)
			}
		}
		if c.helloSegs >= 2 {
			twoSeg++
		}
		// Server flight: ServerHello, then either ChangeCipherSpec (TLS 1.3)
		// or a Certificate that is valid for the SNI (TLS 1.2 and older).
		s := c.sStream
		if len(s) < helloLen(s) || len(s) < 6 {
			continue
		}
		if s[0] != recHandshake || s[5] != 0x02 {
			t.Fatalf("%v: server flight starts % x, want a ServerHello record", k, s[:6])
		}
		s = s[helloLen(s):]
		if len(s) < 6 {
			continue
		}
		switch {
		case s[0] == recCCS:
			tls13++
		case s[0] == recHandshake && s[5] == 0x0b:
			if len(s) < helloLen(s) {
				continue
			}
			der := s[15:helloLen(s)]
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("%v: certificate: %v", k, err)
			}
			if err := cert.VerifyHostname(sni); err != nil {
				t.Errorf("%v: %v", k, err)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("%v: self-signature: %v", k, err)
			}
			certs++
		default:
			t.Fatalf("%v: after the ServerHello: % x", k, s[:6])
		}
	}
	t.Logf("%d hellos, %d over two segments, %d TLS 1.3, %d certificates", hellos, twoSeg, tls13, certs)
	if hellos < 300 || twoSeg == 0 || tls13 == 0 || certs == 0 {
		t.Errorf("want many hellos (%d), some spanning two segments (%d), TLS 1.3 (%d) and certificates (%d)",
			hellos, twoSeg, tls13, certs)
	}
}

// checkHelloRecord checks the record and handshake framing of a
// ClientHello and returns its SNI, or a description of the problem.
func checkHelloRecord(b []byte) (sni string, problem string) {
	if b[0] != 0x16 || b[1] != 3 {
		return "", "not a TLS handshake record"
	}
	if b[5] != 0x01 {
		return "", "not a ClientHello"
	}
	hl := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
	if hl != len(b)-9 {
		return "", "handshake length disagrees with record length"
	}
	p := b[9+2+32:]
	p = p[1+int(p[0]):]                              // session ID
	p = p[2+int(binary.BigEndian.Uint16(p)):]        // cipher suites
	p = p[1+int(p[0]):]                              // compression
	if int(binary.BigEndian.Uint16(p)) != len(p)-2 { // extensions
		return "", "extensions length disagrees with handshake length"
	}
	p = p[2:]
	for len(p) >= 4 {
		typ, n := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		if 4+n > len(p) {
			return "", "extension overruns the hello"
		}
		if typ == 0 {
			body := p[4 : 4+n]
			if int(binary.BigEndian.Uint16(body)) != n-2 || body[2] != 0 {
				return "", "bad server_name list"
			}
			sni = string(body[5 : 5+int(binary.BigEndian.Uint16(body[3:]))])
		}
		p = p[4+n:]
	}
	if len(p) != 0 {
		return "", "trailing bytes after extensions"
	}
	if sni == "" {
		return "", "no SNI"
	}
	return sni, ""
}
