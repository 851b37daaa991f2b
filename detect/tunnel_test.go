package detect

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/flow"
)

// tunnelPackets decodes a shared reference capture of TLS through a proxy
// tunnel, or skips the test when the shared test data is absent.
func tunnelPackets(t testing.TB, name string, ports ...uint16) []capture.Packet {
	t.Helper()
	src := openShared(t, filepath.Join("ja4", "pcap", name))
	defer src.Close()
	dec := capture.NewDecoder(capture.DecoderConfig{TCPPorts: ports})
	var out []capture.Packet
	for {
		var fr capture.Frame
		if err := src.Read(&fr); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		var p capture.Packet
		if dec.Decode(&fr, &p) == capture.ResultOK {
			p.Payload = append([]byte(nil), p.Payload...)
			out = append(out, p)
		}
	}
}

func newTunnelAnalyzer(ports []uint16, emit func(*TLSRecord)) *analyzer {
	c := new(Counters)
	a := &analyzer{interval: int64(time.Hour), out: make(chan snapshot, 16), c: c}
	a.tls = newTLSAnalyzer(4096, &c.TLS, emit, nil, Blocklist{})
	a.table = flow.NewTable(flow.TableConfig{ServerPorts: ports, OnEnd: a.tls.flowEnded})
	return a
}

// TestTLSInTunnels: ClientHellos inside HTTP CONNECT, SOCKS4, SOCKS4a and
// SOCKS5 tunnels are analysed like direct ones, the record names the
// tunnel and the target the client asked the proxy for, and the
// connections are not counted as non-TLS.
func TestTLSInTunnels(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		capture string
		port    uint16
		want    []string // tunnel, target, SNI, server version
	}{
		{"https-connect.pcap", 8080, []string{"http_connect ts01-b.cloudsink.net:443  tls1.2"}},
		{"socks-https-example.pcap", 1080, []string{
			"socks4 93.184.216.119:443 www.example.com tls1.0",
			"socks4 www.example.com:443 www.example.com tls1.0",
			"socks5 93.184.216.119:443 www.example.com tls1.0",
		}},
	} {
		var got []string
		a := newTunnelAnalyzer([]uint16{tt.port}, func(r *TLSRecord) {
			got = append(got, r.Tunnel+" "+r.TunnelTarget+" "+r.SNI+" "+r.ServerVersion)
		})
		for _, p := range tunnelPackets(t, tt.capture, tt.port) {
			a.observe(&p)
		}
		a.table.Flush()
		if len(got) != len(tt.want) {
			t.Fatalf("%s: records %q, want %q", tt.capture, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: record %d: %q, want %q", tt.capture, i, got[i], tt.want[i])
			}
		}
		for k := range a.c.TLS.NonTLS {
			if n := a.c.TLS.NonTLS[k].Load(); n != 0 {
				t.Errorf("%s: %d connections counted as non-TLS %s", tt.capture, n, KindLabels[k])
			}
		}
	}
}

// TestTunnelAllocs: following a tunnel and parsing the hello inside it
// allocates nothing per packet when no records are built.
func TestTunnelAllocs(t *testing.T) {
	ps := tunnelPackets(t, "socks-https-example.pcap", 1080)
	a := newTunnelAnalyzer([]uint16{1080}, nil)
	round := 0
	replay := func() { // each round as new connections, from other client ports
		round++
		for i := range ps {
			p := ps[i]
			if p.DstPort == 1080 {
				p.SrcPort += uint16(round * 8)
			} else {
				p.DstPort += uint16(round * 8)
			}
			p.Timestamp += int64(round) * int64(time.Minute)
			a.observe(&p)
		}
	}
	for range 20 {
		replay()
	}
	if a.c.TLS.ClientHellos[versionLabel(0x0301)].Load() == 0 {
		t.Fatal("no ClientHello parsed")
	}
	if allocs := testing.AllocsPerRun(20, replay) / float64(len(ps)); allocs != 0 {
		t.Errorf("%.3f allocations per packet, want 0", allocs)
	}
}
