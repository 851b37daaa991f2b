package capture

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket/layers"
)

var update = flag.Bool("update", false, "rewrite testdata captures and their tshark expectations (needs tshark)")

const sharedTestdata = "../../shared/testdata"

// encaps are the link encapsulations the decoder must handle. Each test
// capture holds the same IP packets wrapped in one of them.
var encaps = []struct {
	name    string
	link    LinkType
	snaplen int
	wrap    func(ip []byte) []byte
}{
	{"ethernet", LinkEthernet, 0, func(ip []byte) []byte { return ether(ip, nil) }},
	{"vlan", LinkEthernet, 0, func(ip []byte) []byte { return ether(ip, []uint16{0x8100, 100}) }},
	{"qinq", LinkEthernet, 0, func(ip []byte) []byte { return ether(ip, []uint16{0x88a8, 200, 0x8100, 300}) }},
	{"sll", LinkLinuxSLL, 0, sll},
	{"sll2", LinkLinuxSLL2, 0, sll2},
	{"raw", LinkRaw, 0, func(ip []byte) []byte { return ip }},
	{"null", LinkNull, 0, null},
	{"truncated", LinkEthernet, 64, func(ip []byte) []byte { return ether(ip, []uint16{0x8100, 7}) }},
}

func ethType(ip []byte) uint16 {
	if ip[0]>>4 == 6 {
		return 0x86dd
	}
	return 0x0800
}

func ether(ip []byte, tags []uint16) []byte {
	b := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}
	for i := 0; i < len(tags); i += 2 {
		b = binary.BigEndian.AppendUint16(b, tags[i])
		b = binary.BigEndian.AppendUint16(b, tags[i+1])
	}
	b = binary.BigEndian.AppendUint16(b, ethType(ip))
	return append(b, ip...)
}

func sll(ip []byte) []byte {
	b := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}
	b = binary.BigEndian.AppendUint16(b, ethType(ip))
	return append(b, ip...)
}

func sll2(ip []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, ethType(ip))
	b = append(b, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0)
	return append(b, ip...)
}

func null(ip []byte) []byte {
	fam := uint32(2)
	if ip[0]>>4 == 6 {
		fam = 30
	}
	return append(binary.LittleEndian.AppendUint32(nil, fam), ip...)
}

// sourcePackets returns IP packets (IPv4 and IPv6, TCP and UDP on 443 and
// elsewhere) from two public captures, plus hand-made ICMP, ARP-like and
// fragmented packets.
func sourcePackets(t *testing.T) [][]byte {
	var out [][]byte
	read := func(path string, strip int, limit int) {
		src, err := OpenFiles([]string{filepath.Join(sharedTestdata, path)}, nil)
		if err != nil {
			t.Skipf("shared testdata not available: %v", err)
		}
		defer src.Close()
		for n := 0; n < limit; n++ {
			var f Frame
			err := src.Read(&f)
			data := append([]byte(nil), f.Data...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data[strip:])
		}
	}
	read("ja4/pcap/tls-handshake.pcapng", 14, 40) // Ethernet: IPv4 TCP/UDP 443
	read("ja4/pcap/ipv6.pcapng", 4, 9)            // BSD loopback: IPv6 TCP 443
	read("public/arkime/arkime_synthetic.pcap", 14, 30)
	// An IPv4 fragment pair of a UDP/443 datagram and an ICMP echo.
	frag1 := ipv4(17, 0x2000, append(udpHdr(50000, 443, 24), make([]byte, 16)...))
	frag2 := ipv4(17, 3, make([]byte, 8))
	icmp := ipv4(1, 0, []byte{8, 0, 0, 0, 0, 1, 0, 1})
	out = append(out, frag1, frag2, icmp)
	return out
}

func udpHdr(sp, dp, length uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, sp)
	b = binary.BigEndian.AppendUint16(b, dp)
	b = binary.BigEndian.AppendUint16(b, length)
	return append(b, 0, 0)
}

func ipv4(proto byte, flagsFrag uint16, payload []byte) []byte {
	b := []byte{0x45, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(20+len(payload)))
	b = append(b, 0, 1)
	b = binary.BigEndian.AppendUint16(b, flagsFrag)
	b = append(b, 64, proto, 0, 0, 198, 51, 100, 1, 203, 0, 113, 1)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	return append(b, payload...)
}

func writeCapture(t *testing.T, path string, link LinkType, snaplen int, frames [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sl := uint32(262144)
	if snaplen > 0 {
		sl = uint32(snaplen)
	}
	// pcapgo narrows the link type to a byte; write the header by hand.
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b23c4d)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], sl)
	binary.LittleEndian.PutUint32(hdr[20:], uint32(link))
	if _, err := f.Write(hdr); err != nil {
		t.Fatal(err)
	}
	ts := int64(1700000000_000000000)
	for i, fr := range frames {
		cl := len(fr)
		if snaplen > 0 && cl > snaplen {
			cl = snaplen
		}
		rec := make([]byte, 16)
		t0 := ts + int64(i)*1_000_000
		binary.LittleEndian.PutUint32(rec[0:], uint32(t0/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(t0%1e9))
		binary.LittleEndian.PutUint32(rec[8:], uint32(cl))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(fr)))
		if _, err := f.Write(append(rec, fr[:cl]...)); err != nil {
			t.Fatal(err)
		}
	}
}

// tsharkFields are the columns the expectation files hold.
var tsharkFields = []string{"frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
	"udp.srcport", "udp.dstport", "ip.len", "ipv6.plen", "tcp.len", "udp.length", "tcp.flags", "vlan.id", "ip.flags.mf", "ip.frag_offset"}

func runTshark(t *testing.T, pcap, out string) {
	t.Helper()
	args := []string{"-n", "-r", pcap, "-T", "fields", "-E", "header=y", "-E", "separator=/t", "-E", "occurrence=f"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	b, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", pcap, err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// summary is the part of a Packet that the expectation files check.
type summary struct {
	Frame      int
	Result     string
	Src, Dst   string
	SP, DP     uint16
	IPLen      uint32
	PayloadLen uint32
	Flags      TCPFlags
	VLAN       uint16
}

// expected derives what Decode must return for each frame from tshark's
// view of the same capture.
func expected(t *testing.T, tsv string) []summary {
	f, err := os.Open(tsv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var out []summary
	atoi := func(s string) uint64 {
		if s == "" {
			return 0
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(s, "0x")], 64)
		if err != nil {
			t.Fatalf("%s: bad number %q", tsv, s)
		}
		return n
	}
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		col := func(name string) string {
			for i, n := range tsharkFields {
				if n == name {
					return c[i]
				}
			}
			panic(name)
		}
		s := summary{Frame: int(atoi(col("frame.number"))), VLAN: uint16(atoi(col("vlan.id")))}
		s.Src, s.Dst = col("ip.src")+col("ipv6.src"), col("ip.dst")+col("ipv6.dst")
		switch {
		case col("ip.flags.mf") == "1" || col("ip.frag_offset") != "" && col("ip.frag_offset") != "0":
			out = append(out, summary{Frame: s.Frame, Result: "fragment"})
			continue
		case col("tcp.srcport") != "" && col("tcp.flags") == "":
			// tshark shows ports from a TCP header cut before its flags;
			// the decoder needs the flags to account the packet.
			out = append(out, summary{Frame: s.Frame, Result: "truncated"})
			continue
		case col("tcp.srcport") != "":
			s.SP, s.DP = uint16(atoi(col("tcp.srcport"))), uint16(atoi(col("tcp.dstport")))
			s.PayloadLen = uint32(atoi(col("tcp.len")))
			s.Flags = TCPFlags(atoi(col("tcp.flags")))
		case col("udp.srcport") != "":
			s.SP, s.DP = uint16(atoi(col("udp.srcport"))), uint16(atoi(col("udp.dstport")))
			s.PayloadLen = uint32(atoi(col("udp.length"))) - 8
		case s.Src != "":
			out = append(out, summary{Frame: s.Frame, Result: "not_tcp_udp"})
			continue
		default:
			out = append(out, summary{Frame: s.Frame, Result: "not_ip"})
			continue
		}
		if col("ip.len") != "" {
			s.IPLen = uint32(atoi(col("ip.len")))
		} else {
			s.IPLen = uint32(atoi(col("ipv6.plen"))) + 40
		}
		s.Result = "other_port"
		if s.SP == 443 || s.DP == 443 {
			s.Result = "ok"
		}
		out = append(out, s)
	}
	return out
}

// TestDecodeLinkTypes decodes the same packets under every encapsulation and
// compares each field with what tshark reads from the same file.
func TestDecodeLinkTypes(t *testing.T) {
	if *update {
		ips := sourcePackets(t)
		for _, e := range encaps {
			frames := make([][]byte, len(ips))
			for i, ip := range ips {
				frames[i] = e.wrap(ip)
			}
			pcap := filepath.Join("testdata", "link-"+e.name+".pcap")
			writeCapture(t, pcap, e.link, e.snaplen, frames)
			runTshark(t, pcap, pcap+".tshark.tsv")
		}
	}
	for _, e := range encaps {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			pcap := filepath.Join("testdata", "link-"+e.name+".pcap")
			want := expected(t, pcap+".tshark.tsv")
			src, err := OpenFiles([]string{pcap}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			d := NewDecoder(DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}})
			var (
				got []summary
				f   Frame
				p   Packet
			)
			for n := 1; ; n++ {
				if err := src.Read(&f); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				r := d.Decode(&f, &p)
				s := summary{Frame: n, Result: r.String()}
				if r == ResultOK || r == ResultOtherPort {
					s.Src, s.Dst, s.SP, s.DP = p.Src.String(), p.Dst.String(), p.SrcPort, p.DstPort
					s.IPLen, s.PayloadLen, s.Flags, s.VLAN = p.IPLen, p.PayloadLen, p.Flags, p.VLAN
				}
				got = append(got, s)
			}
			if len(got) != len(want) {
				t.Fatalf("decoded %d frames, tshark %d", len(got), len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decode differs from tshark (-want +got):\n%s", diff)
			}
			if e.snaplen > 0 {
				var trunc int
				for _, s := range got {
					if s.Result == "ok" && s.PayloadLen > uint32(e.snaplen) {
						trunc++
					}
				}
				if trunc == 0 {
					t.Error("no packet was truncated by the snaplen; the test proves nothing")
				}
			}
		})
	}
}

var _ = fmt.Sprint
var _ = layers.LinkTypeEthernet
