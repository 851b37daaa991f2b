package quic

// Conformance against the shared reference captures: every QUIC ClientHello
// that tshark, the FoxIO Rust ja4 tool, Zeek, Suricata or Arkime report must
// come out of Parser + Conn with the same SNI, JA3 string and JA4, and every
// hello we find must be one they report. Disagreements are listed in
// knownDisagreements with their reason; an unlisted one, or a listed one
// that no longer happens, fails the test.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"go.yaml.in/yaml/v3"

	"github.com/monitor443/monitor443/detect/tlshello"
)

// sharedTestdata is the reference collection, relative to this package.
const sharedTestdata = "../../../shared/testdata"

// quicCaptures are the captures whose tshark file lists QUIC ClientHellos.
var quicCaptures = []string{
	"ja4/pcap/chrome-cloudflare-quic-with-secrets.pcapng",
	"ja4/pcap/quic-tls-handshake.pcapng",
	"ja4/pcap/quic-with-several-tls-frames.pcapng",
	"ja4/pcap/ssh2.pcapng",
	"ja4/pcap/tls-handshake.pcapng",
	"ja4/pcap/tls-sni.pcapng",
	"ja4/pcap/tls3.pcapng",
	"public/arkime/arkime_synthetic.pcap",
	"public/arkime/quicietfooo.pcap",
	"public/suricata-verify/ja4-quic/input.pcap",
	"public/suricata-verify/ja4-tls-quic/input.pcap",
	"public/zeek/Traces/quic/chromium-115.0.5790.110-api-cirrus-com.pcap",
	"public/zeek/Traces/quic/quic-multiple-initial-fragmented-crypto.pcap",
	"public/zeek/Traces/quic/quicv2-http3-443.pcap",
}

// knownDisagreements maps "source capture where field" to the reason we
// differ from that reference. docs/quic.md repeats this table.
var knownDisagreements = map[string]string{
	"arkime arkime_synthetic.pcap 10.9.4.1:52001 hello": "Google QUIC Q043 (pre-IETF, cleartext crypto handshake) is not parsed; " +
		"ParseHeader reports ErrVersion. tshark 4.0 does not list it as a ClientHello either.",
	"arkime arkime_synthetic.pcap all hellos": "the Q043 session above",
}

func requireShared(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(sharedTestdata); err != nil {
		t.Skipf("shared reference captures not found at %s (they live next to the repository): %v", sharedTestdata, err)
	}
}

// tuple is the client-to-server direction of a UDP flow.
type tuple struct {
	src, dst     string
	sport, dport uint16
}

func (k tuple) String() string { return fmt.Sprintf("%s:%d->%s:%d", k.src, k.sport, k.dst, k.dport) }

// hello is one ClientHello found in a capture.
type hello struct {
	frame int
	key   tuple
	sni   string
	alpn  string
	ja3   string
	ja4   string
}

// udpDatagram is one UDP payload with its frame number.
type udpDatagram struct {
	frame   int
	key     tuple
	payload []byte
}

// readUDP returns every UDP payload of a capture, in order.
func readUDP(t testing.TB, rel string) []udpDatagram {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedTestdata, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		t.Fatal(err)
	}
	var next func() ([]byte, layers.LinkType, error)
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		next = func() ([]byte, layers.LinkType, error) {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				return nil, 0, err
			}
			iface, err := r.Interface(ci.InterfaceIndex)
			return data, iface.LinkType, err
		}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		next = func() ([]byte, layers.LinkType, error) {
			data, _, err := r.ReadPacketData()
			return data, r.LinkType(), err
		}
	}
	var out []udpDatagram
	for frame := 1; ; frame++ {
		data, lt, err := next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", rel, frame, err)
		}
		pkt := gopacket.NewPacket(data, lt, gopacket.Default)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || pkt.NetworkLayer() == nil {
			continue
		}
		src, dst := pkt.NetworkLayer().NetworkFlow().Endpoints()
		out = append(out, udpDatagram{frame, tuple{src.String(), dst.String(), uint16(udp.SrcPort), uint16(udp.DstPort)}, udp.Payload})
	}
}

// quicHellos runs Parser and Conn over a capture the way a worker would:
// one Conn per client flow, created by its first client Initial.
func quicHellos(t testing.TB, rel string) []hello {
	t.Helper()
	var p Parser
	type state struct {
		conn *Conn
		done bool
	}
	flows := map[tuple]*state{}
	var out []hello
	for _, d := range readUDP(t, rel) {
		st := flows[d.key]
		for rest := d.payload; len(rest) > 0; {
			var info PacketInfo
			var err error
			if st != nil {
				info, err = p.PacketWithDCID(rest, st.conn.ODCID())
			} else {
				info, err = p.Packet(rest)
			}
			rest = info.Rest
			if err != nil || !info.ClientInitial {
				continue
			}
			if st == nil {
				st = &state{conn: NewConn(0)}
				st.conn.Reset(info.DCID)
				flows[d.key] = st
			}
			if st.done {
				continue
			}
			if err := st.conn.Add(info.Payload); err != nil {
				t.Logf("%s frame %d %v: Add: %v", rel, d.frame, d.key, err)
			}
			msg, ok := st.conn.Hello()
			if !ok {
				continue
			}
			st.done = true
			var h tlshello.ClientHello
			if err := h.Parse(msg); err != nil {
				t.Errorf("%s frame %d %v: ClientHello: %v", rel, d.frame, d.key, err)
				continue
			}
			alpn := make([]string, len(h.ALPN))
			for i, a := range h.ALPN {
				alpn[i] = string(a)
			}
			out = append(out, hello{
				frame: d.frame,
				key:   d.key,
				sni:   string(h.SNI),
				alpn:  strings.Join(alpn, ","),
				ja3:   string(tlshello.AppendJA3(nil, &h)),
				ja4:   string(tlshello.AppendJA4(nil, &h, tlshello.TransportQUIC)),
			})
		}
	}
	return out
}

// checker collects comparisons against knownDisagreements.
type checker struct {
	t    *testing.T
	seen map[string]bool
	n    int
}

func (c *checker) cmp(source, rel, where, field, want, got string) {
	c.t.Helper()
	c.n++
	id := strings.Join([]string{source, path.Base(rel), where, field}, " ")
	reason, listed := knownDisagreements[id]
	switch {
	case want == got && listed:
		c.t.Errorf("%s: listed as a disagreement (%s) but now agrees on %q", id, reason, got)
	case want != got && !listed:
		c.t.Errorf("%s: reference %q, ours %q", id, want, got)
	case want != got:
		c.seen[id] = true
	}
}

func TestConformance(t *testing.T) {
	requireShared(t)
	c := &checker{t: t, seen: map[string]bool{}}
	results := map[string][]hello{}
	for _, rel := range quicCaptures {
		results[rel] = quicHellos(t, rel)
		t.Logf("%s: %d hellos", rel, len(results[rel]))
		checkTshark(t, c, rel, results[rel])
		checkRust(t, c, rel, results[rel])
	}
	checkZeek(t, c, results)
	checkSuricata(t, c, results)
	checkArkime(t, c, results)
	for id := range knownDisagreements {
		if !c.seen[id] {
			t.Errorf("knownDisagreements entry %q was not exercised", id)
		}
	}
	total := 0
	for _, hs := range results {
		total += len(hs)
	}
	t.Logf("%d QUIC hellos in %d captures, %d comparisons", total, len(quicCaptures), c.n)
}

// checkTshark compares every QUIC ClientHello row of the tshark file, by
// frame number (where reassembly finished), both ways.
func checkTshark(t *testing.T, c *checker, rel string, ours []hello) {
	b, err := os.ReadFile(filepath.Join(sharedTestdata, rel+".tshark.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	byFrame := map[int]hello{}
	for _, h := range ours {
		byFrame[h.frame] = h
	}
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		col := strings.Split(line, "\t")
		if len(col) < 12 || col[1] != "udp" {
			continue
		}
		rows++
		frame, _ := strconv.Atoi(col[0])
		where := "frame " + col[0]
		h, ok := byFrame[frame]
		if !ok {
			c.cmp("tshark", rel, where, "hello", "present", "missing")
			continue
		}
		delete(byFrame, frame)
		c.cmp("tshark", rel, where, "tuple", fmt.Sprintf("%s:%s->%s:%s", col[2], col[4], col[3], col[5]), h.key.String())
		c.cmp("tshark", rel, where, "sni", col[6], h.sni)
		c.cmp("tshark", rel, where, "alpn", col[7], h.alpn)
		c.cmp("tshark", rel, where, "ja3_full", col[10], h.ja3)
	}
	for f := range byFrame {
		c.cmp("tshark", rel, "frame "+strconv.Itoa(f), "hello", "absent", "present")
	}
	if rows == 0 {
		t.Errorf("%s: no udp rows in the tshark file", rel)
	}
}

type rustRecord struct {
	Transport string `yaml:"transport"`
	Src       string `yaml:"src"`
	Dst       string `yaml:"dst"`
	SrcPort   uint16 `yaml:"src_port"`
	DstPort   uint16 `yaml:"dst_port"`
	SNI       string `yaml:"tls_server_name"`
	JA4       string `yaml:"ja4"`
}

// checkRust compares the udp records of the FoxIO Rust snapshot, by flow.
func checkRust(t *testing.T, c *checker, rel string, ours []hello) {
	if !strings.HasPrefix(rel, "ja4/") {
		return
	}
	b, err := os.ReadFile(filepath.Join(sharedTestdata, "ja4/expected/rust/ja4__insta@"+path.Base(rel)+".snap"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(b), "---\n", 3)
	var recs []rustRecord
	if err := yaml.Unmarshal([]byte(parts[2]), &recs); err != nil {
		t.Fatalf("rust snapshot for %s: %v", rel, err)
	}
	byKey := map[tuple]hello{}
	for _, h := range ours {
		if _, dup := byKey[h.key]; !dup {
			byKey[h.key] = h
		}
	}
	for _, r := range recs {
		if r.Transport != "udp" || r.JA4 == "" {
			continue
		}
		k := tuple{r.Src, r.Dst, r.SrcPort, r.DstPort}
		h, ok := byKey[k]
		if !ok {
			c.cmp("rust", rel, k.String(), "hello", "present", "missing")
			continue
		}
		delete(byKey, k)
		c.cmp("rust", rel, k.String(), "sni", r.SNI, h.sni)
		c.cmp("rust", rel, k.String(), "ja4", r.JA4, h.ja4)
	}
	for k := range byKey {
		c.cmp("rust", rel, k.String(), "hello", "absent", "present")
	}
}

// zeekLog reads the named column of every row of a Zeek log or .cut file.
func zeekLog(t *testing.T, file, column string) []string {
	b, err := os.ReadFile(filepath.Join(sharedTestdata, file))
	if err != nil {
		t.Fatal(err)
	}
	var fields, out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			fields = strings.Split(line, "\t")[1:]
		case strings.HasPrefix(line, "#"):
		case fields == nil: // .cut header line
			fields = strings.Split(line, "\t")
		default:
			i := slices.Index(fields, column)
			if i < 0 {
				t.Fatalf("%s: no column %s", file, column)
			}
			out = append(out, strings.Split(line, "\t")[i])
		}
	}
	return out
}

// checkZeek compares server_name in Zeek's quic.log baselines; "-" is
// Zeek's unset value (no SNI).
func checkZeek(t *testing.T, c *checker, results map[string][]hello) {
	base := "public/zeek/Baseline/scripts.base.protocols.quic."
	for _, z := range []struct{ log, capture string }{
		{"chromium/quic.log", "chromium-115.0.5790.110-api-cirrus-com.pcap"},
		{"multiple-initial-fragmented-crypto/quic.log.cut", "quic-multiple-initial-fragmented-crypto.pcap"},
		{"quicv2-http3-443/quic.log", "quicv2-http3-443.pcap"},
	} {
		rel := "public/zeek/Traces/quic/" + z.capture
		want := zeekLog(t, base+z.log, "server_name")
		ours := results[rel]
		c.cmp("zeek", rel, "all", "hellos", strconv.Itoa(len(want)), strconv.Itoa(len(ours)))
		for i := range min(len(want), len(ours)) {
			sni := ours[i].sni
			if sni == "" {
				sni = "-"
			}
			c.cmp("zeek", rel, ours[i].key.String(), "server_name", want[i], sni)
		}
	}
}

// checkSuricata compares the quic.ja4 checks of suricata-verify: exactly
// count hellos with that JA4.
func checkSuricata(t *testing.T, c *checker, results map[string][]hello) {
	for _, dir := range []string{"ja4-quic", "ja4-tls-quic"} {
		rel := "public/suricata-verify/" + dir + "/input.pcap"
		b, err := os.ReadFile(filepath.Join(sharedTestdata, "public/suricata-verify", dir, "test.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Checks []struct {
				Filter struct {
					Count int            `yaml:"count"`
					Match map[string]any `yaml:"match"`
				} `yaml:"filter"`
			} `yaml:"checks"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ch := range doc.Checks {
			ja4, ok := ch.Filter.Match["quic.ja4"].(string)
			if !ok {
				continue
			}
			found = true
			n := 0
			for _, h := range results[rel] {
				if h.ja4 == ja4 {
					n++
				}
			}
			c.cmp("suricata", rel, "all", "count "+ja4, strconv.Itoa(ch.Filter.Count), strconv.Itoa(n))
			c.cmp("suricata", rel, "all", "hellos", strconv.Itoa(ch.Filter.Count), strconv.Itoa(len(results[rel])))
		}
		if !found {
			t.Errorf("%s: no quic.ja4 check in test.yaml", dir)
		}
	}
}

// checkArkime compares the host, JA4 and JA3 string of Arkime's quic
// sessions that have any of them.
func checkArkime(t *testing.T, c *checker, results map[string][]hello) {
	for _, name := range []string{"quicietfooo", "arkime_synthetic"} {
		rel := "public/arkime/" + name + ".pcap"
		b, err := os.ReadFile(filepath.Join(sharedTestdata, "public/arkime", name+".test"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Sessions []struct {
				Body struct {
					Protocol []string `json:"protocol"`
					Source   struct {
						IP   string `json:"ip"`
						Port uint16 `json:"port"`
					} `json:"source"`
					TLS struct {
						JA4       []string `json:"ja4"`
						JA3String []string `json:"ja3string"`
					} `json:"tls"`
					QUIC struct {
						Host    []string `json:"host"`
						Version []string `json:"version"`
					} `json:"quic"`
				} `json:"body"`
			} `json:"sessions3"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range doc.Sessions {
			if !slices.Contains(s.Body.Protocol, "quic") || (len(s.Body.TLS.JA4) == 0 && len(s.Body.QUIC.Host) == 0) {
				continue
			}
			n++
			where := fmt.Sprintf("%s:%d", s.Body.Source.IP, s.Body.Source.Port)
			var ours *hello
			for i, h := range results[rel] {
				if h.key.src == s.Body.Source.IP && h.key.sport == s.Body.Source.Port {
					ours = &results[rel][i]
				}
			}
			if ours == nil {
				c.cmp("arkime", rel, where, "hello", "present", "missing")
				continue
			}
			if len(s.Body.QUIC.Host) > 0 {
				c.cmp("arkime", rel, where, "host", s.Body.QUIC.Host[0], ours.sni)
			}
			if len(s.Body.TLS.JA4) > 0 {
				c.cmp("arkime", rel, where, "ja4", s.Body.TLS.JA4[0], ours.ja4)
			}
			if len(s.Body.TLS.JA3String) > 0 {
				c.cmp("arkime", rel, where, "ja3string", s.Body.TLS.JA3String[0], ours.ja3)
			}
		}
		c.cmp("arkime", rel, "all", "hellos", strconv.Itoa(n), strconv.Itoa(len(results[rel])))
	}
}
