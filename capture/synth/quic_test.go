package synth

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/monitor443/monitor443/detect/quic"
	"github.com/monitor443/monitor443/detect/tlshello"
)

// TestClientInitialDecrypts seals a client Initial with this package's
// independent implementation of RFC 9001's Initial protection and reads it
// back with the monitor's QUIC parser: the packet authenticates, is padded
// to 1200 bytes, and its CRYPTO stream holds the ClientHello with the
// server name, TLS 1.3 only and ALPN h3.
func TestClientInitialDecrypts(t *testing.T) {
	t.Parallel()
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}
	scid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	hello := appendQUICHello(nil, "quic.example", 42)
	dg := appendClientInitial(nil, dcid, scid, 0, hello)
	if len(dg) < quicMinInitial {
		t.Errorf("datagram %d bytes, want at least %d", len(dg), quicMinInitial)
	}
	var p quic.Parser
	pi, err := p.Packet(dg)
	if err != nil || !pi.ClientInitial {
		t.Fatalf("Packet: %+v, %v", pi.Header, err)
	}
	if !bytes.Equal(pi.DCID, dcid) || !bytes.Equal(pi.SCID, scid) || len(pi.Rest) != 0 {
		t.Errorf("header %+v, rest %d bytes", pi.Header, len(pi.Rest))
	}
	c := quic.NewConn(4096)
	if err := c.Add(pi.Payload); err != nil {
		t.Fatal(err)
	}
	msg, complete := c.Hello()
	if !complete || !bytes.Equal(msg, hello) {
		t.Fatalf("hello complete %v, %d bytes, want the %d sent", complete, len(msg), len(hello))
	}
	var h tlshello.ClientHello
	if err := h.Parse(msg); err != nil {
		t.Fatal(err)
	}
	if string(h.SNI) != "quic.example" || len(h.ALPN) != 1 || string(h.ALPN[0]) != "h3" {
		t.Errorf("hello: SNI %q, ALPN %q", h.SNI, h.ALPN)
	}
	// A flipped ciphertext bit must not authenticate.
	dg[len(dg)-20] ^= 1
	if pi, err := p.Packet(dg); err == nil && pi.ClientInitial {
		t.Error("tampered Initial authenticated")
	}
}

// TestQUICAgainstTshark writes benign QUIC connections and a QUIC Initial
// flood, and has tshark (an independent QUIC implementation) read them:
// every client Initial decrypts to a ClientHello, there are as many as the
// flood sent plus one per benign QUIC connection, and no frame is
// malformed or has a bad IP or UDP checksum. Skips without tshark.
func TestQUICAgainstTshark(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	cfg := Config{Seed: 3, Duration: 40 * time.Second, ConnRate: 4, QUICFraction: 0.5, IPv6Fraction: 0.3,
		VLANFraction: 0.2, Servers: 4, Clients: 50, MaxResponseBytes: 64 << 10,
		Events: []Event{{Kind: QUICFlood, Start: 10 * time.Second, Duration: 5 * time.Second, Rate: 40, Target: 1}}}
	file, tr := generate(t, cfg)
	path := filepath.Join(t.TempDir(), "quic.pcap")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	count := func(filter string) int {
		t.Helper()
		// Spoofed random source ports hit other protocols' well-known
		// ports (ZEP, PacketCable); tell tshark that UDP/443 is QUIC.
		out, err := exec.Command("tshark", "-n", "-r", path, "-d", "udp.port==443,quic", "-o", "udp.check_checksum:TRUE",
			"-o", "ip.check_checksum:TRUE", "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatalf("tshark -Y %q: %v", filter, err)
		}
		return strings.Count(string(out), "\n")
	}
	initials := count("udp.dstport == 443 && quic.long.packet_type == 0")
	hellos := count("udp.dstport == 443 && tls.handshake.type == 1")
	flood := int(tr.Events[0].Packets)
	benign := 0
	for _, p := range decodeUDP(t, file) {
		if p.dstPort == 443 && p.first&0xf0 == 0xc0 { // long header, Initial (the low bits are protected)
			benign++
		}
	}
	benign -= flood
	if flood < 150 || benign < 20 {
		t.Fatalf("too little QUIC to test: %d flood Initials, %d benign connections", flood, benign)
	}
	if initials != flood+benign || hellos != initials {
		t.Errorf("tshark: %d client Initials, %d ClientHellos; want %d (%d flood + %d benign)", initials, hellos, flood+benign, flood, benign)
	}
	if bad := count("_ws.malformed || udp.checksum.status == 2 || ip.checksum.status == 2"); bad != 0 {
		t.Errorf("tshark: %d malformed frames or bad checksums", bad)
	}
}

type udpPkt struct {
	dstPort uint16
	first   byte
}

// decodeUDP returns the UDP datagrams of a pcap: destination port and the
// first payload byte.
func decodeUDP(t *testing.T, file []byte) []udpPkt {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var out []udpPkt
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && len(u.Payload) > 0 {
			out = append(out, udpPkt{dstPort: uint16(u.DstPort), first: u.Payload[0]})
		}
	}
	return out
}
