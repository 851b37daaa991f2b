package synth

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"
)

// wpkt is one generated frame as the tests below read it, with a parser of
// their own that needs only the headers (frames may be cut by Snaplen).
type wpkt struct {
	t          int64
	src, dst   netip.AddrPort
	udp        bool
	flags      uint8
	ipLen      int // IP total length (IPv4) or header + payload length (IPv6)
	plen       int // transport payload bytes on the wire
	first      byte
	hsType     byte // the sixth payload byte: a handshake type after a record header
	captured   int
	wire       int
	ttl        uint8
	tcpOptLen  int
	vlan       uint16
	fromClient bool
}

// parseFrame decodes the headers of a generated frame.
func parseFrame(tb testing.TB, data []byte, wire int, ts int64) wpkt {
	tb.Helper()
	p := wpkt{t: ts, captured: len(data), wire: wire}
	o := 12
	for {
		et := binary.BigEndian.Uint16(data[o:])
		if et != 0x8100 && et != 0x88a8 {
			break
		}
		p.vlan = binary.BigEndian.Uint16(data[o+2:]) & 0xfff
		o += 4
	}
	et := binary.BigEndian.Uint16(data[o:])
	ip := data[o+2:]
	var l4 []byte
	var proto byte
	switch et {
	case 0x0800:
		hl := int(ip[0]&15) * 4
		p.ipLen = int(binary.BigEndian.Uint16(ip[2:]))
		proto, p.ttl = ip[9], ip[8]
		src, _ := netip.AddrFromSlice(ip[12:16])
		dst, _ := netip.AddrFromSlice(ip[16:20])
		p.src, p.dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		l4 = ip[hl:]
		p.plen = p.ipLen - hl
	case 0x86dd:
		p.ipLen = 40 + int(binary.BigEndian.Uint16(ip[4:]))
		proto, p.ttl = ip[6], ip[7]
		src, _ := netip.AddrFromSlice(ip[8:24])
		dst, _ := netip.AddrFromSlice(ip[24:40])
		p.src, p.dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		l4 = ip[40:]
		p.plen = p.ipLen - 40
	default:
		tb.Fatalf("ethertype %#x", et)
	}
	if o+2+p.ipLen != wire {
		tb.Fatalf("IP length %d does not fit the wire length %d", p.ipLen, wire)
	}
	sp, dp := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	p.src = netip.AddrPortFrom(p.src.Addr(), sp)
	p.dst = netip.AddrPortFrom(p.dst.Addr(), dp)
	p.fromClient = dp == 443
	switch proto {
	case 6:
		hl := int(l4[12]>>4) * 4
		p.flags = l4[13]
		p.tcpOptLen = hl - 20
		p.plen -= hl
		if p.plen > 0 && len(l4) > hl {
			p.first = l4[hl]
		}
		if p.plen > 5 && len(l4) > hl+5 {
			p.hsType = l4[hl+5]
		}
	case 17:
		p.udp = true
		p.plen -= 8
		if p.plen > 0 {
			p.first = l4[8]
		}
	}
	return p
}

// run generates cfg and returns every frame, parsed.
func run(tb testing.TB, cfg Config) ([]wpkt, Truth) {
	tb.Helper()
	var out []wpkt
	tr := each(tb, cfg, func(p *wpkt) { out = append(out, *p) })
	return out, tr
}

// each generates cfg and calls f with every frame, parsed.
func each(tb testing.TB, cfg Config, f func(p *wpkt)) Truth {
	tb.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p, ok := g.Next()
		if !ok {
			break
		}
		w := parseFrame(tb, p.Data, p.Length, p.Timestamp)
		f(&w)
	}
	return g.Truth()
}

// responses returns the sizes of the application-data responses in pkts:
// the server payload between two client data segments (or the end of the
// connection) whose first record is application data.
func responses(pkts []wpkt) map[netip.Addr][]float64 {
	type st struct {
		run int
		app bool
		srv netip.Addr
	}
	flows := map[[2]netip.AddrPort]*st{}
	out := map[netip.Addr][]float64{}
	flush := func(f *st) {
		if f.run > 0 && f.app {
			out[f.srv] = append(out[f.srv], float64(f.run))
		}
		f.run, f.app = 0, false
	}
	for _, p := range pkts {
		if p.udp {
			continue
		}
		k := [2]netip.AddrPort{p.src, p.dst}
		if !p.fromClient {
			k = [2]netip.AddrPort{p.dst, p.src}
		}
		f := flows[k]
		if f == nil {
			f = &st{srv: k[1].Addr()}
			flows[k] = f
		}
		switch {
		case p.flags&(tcpFIN|tcpRST) != 0:
			flush(f)
		case p.fromClient && p.plen > 0:
			flush(f)
		case !p.fromClient && p.plen > 0:
			if f.run == 0 {
				f.app = p.first == recAppData
			}
			f.run += p.plen
		}
	}
	return out
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	sort.Float64s(s)
	return s[len(s)/2]
}

// hill returns the Hill estimator of the tail index from the k largest
// values of x.
func hill(x []float64, k int) float64 {
	s := slices.Clone(x)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	sum := 0.0
	for i := range k {
		sum += math.Log(s[i] / s[k])
	}
	return float64(k) / sum
}

// serverAddr is server i's IPv4 address.
func serverAddr(i int) netip.Addr {
	n := (i/254)<<8 | (i%254 + 1)
	return netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
}

func realisticBase() Config {
	return Config{Seed: 21, Servers: 4, Clients: 2000, TSO: true, Snaplen: 256,
		Roles: []Role{RoleWeb, RoleAPI, RoleStatic, RoleDownload}}
}

// TestRoleResponseSizes measures the responses of each server role on the
// generated frames: the medians (HTTP Archive and API measurements, see
// docs/synth.md) and, for the Pareto roles, the tail index with a Hill
// estimator over the largest 5%.
func TestRoleResponseSizes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		role        Role
		median, tol float64
		alpha       float64 // 0: not Pareto
	}{
		{RoleWeb, 15_000, 0.15, 0},
		{RoleAPI, 1000, 0.15, 0},
		{RoleStatic, 20_000, 0.15, 1.3},
		{RoleDownload, 100_000, 0.2, 1.2},
	} {
		t.Run(tt.role.String(), func(t *testing.T) {
			t.Parallel()
			cfg := realisticBase()
			cfg.Servers, cfg.Roles, cfg.ConnRate, cfg.Duration = 1, []Role{tt.role}, 10, 150*time.Second
			pkts, _ := run(t, cfg)
			sizes := responses(pkts)[serverAddr(0)]
			if len(sizes) < 2500 {
				t.Fatalf("only %d responses", len(sizes))
			}
			m := median(sizes)
			t.Logf("%v: %d responses, median %.0f", tt.role, len(sizes), m)
			if math.Abs(m/tt.median-1) > tt.tol {
				t.Errorf("median response %.0f bytes, want %.0f ± %.0f%%", m, tt.median, 100*tt.tol)
			}
			if tt.alpha > 0 {
				// Standard error α/√k ≈ 0.07 for k ≈ 300; the cap (8 or
				// 50 MB) is far beyond the top 5% threshold.
				a := hill(sizes, len(sizes)/20)
				t.Logf("Hill tail index %.2f", a)
				if math.Abs(a-tt.alpha) > 0.25 {
					t.Errorf("Hill tail index %.2f, want %.2f ± 0.25", a, tt.alpha)
				}
			}
		})
	}
}

// TestExpectedMatchesOutput compares Config.Expected with rates measured
// on 30 minutes of generated traffic, per server. Counts (SYN, hellos,
// QUIC Initials) are Poisson with thousands of events: within 10%. Bytes
// are dominated by the response laws; the Pareto roles' sample means
// converge slowly (the download role's standard deviation per response is
// about five times its mean), so their egress gets 25%, the log-normal
// roles' 15%. Ingress is dominated by the 3% of requests that are Pareto
// (α = 1.3) uploads, whose sample mean falls short of the true mean in most
// runs: 25%.
func TestExpectedMatchesOutput(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.QUICFraction, cfg.IPv6Fraction = 8, 20*time.Minute, 0.1, 0.2
	cfg.ScanRate, cfg.Pollers, cfg.PollInterval, cfg.NATGateways = 1, 30, 20*time.Second, 3
	cfg.DownloadsPerHour = 20
	got := make([]Rates, cfg.Servers)
	byAddr := map[netip.Addr]int{}
	for s := range cfg.Servers {
		byAddr[serverAddr(s)] = s
		byAddr[netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x04, 0x43, 14: 0, 15: byte(s + 1)})] = s
	}
	tr := each(t, cfg, func(p *wpkt) {
		srv := p.dst.Addr()
		if !p.fromClient {
			srv = p.src.Addr()
		}
		got := &got[byAddr[srv]]
		switch {
		case !p.fromClient:
			got.EgressBytes += float64(p.ipLen)
		default:
			got.IngressBytes += float64(p.ipLen)
			if p.udp && p.first&0xf0 == 0xc0 {
				got.QUICInitials++
			}
			if !p.udp && p.flags&(tcpSYN|tcpACK) == tcpSYN {
				got.SYN++
			}
			if !p.udp && p.first == recHandshake && p.hsType == 1 {
				got.Hellos++ // the first segment of each ClientHello
			}
		}
	})
	sec := cfg.Duration.Seconds()
	for s := range cfg.Servers {
		want := cfg.Expected(tr.Start.Add(cfg.Duration/2), s)
		got := got[s]
		got.add(got, 1/sec-1)
		egTol := 0.15
		if cfg.Roles[s] == RoleStatic || cfg.Roles[s] == RoleDownload {
			egTol = 0.25
		}
		for _, c := range []struct {
			name      string
			got, want float64
			tol       float64
		}{
			{"syn/s", got.SYN, want.SYN, 0.1},
			{"hello/s", got.Hellos, want.Hellos, 0.1},
			{"quic/s", got.QUICInitials, want.QUICInitials, 0.15},
			{"egress B/s", got.EgressBytes, want.EgressBytes, egTol},
			{"ingress B/s", got.IngressBytes, want.IngressBytes, 0.25},
		} {
			t.Logf("server %d (%v) %s: measured %.4g, expected %.4g (%+.1f%%)", s, cfg.Roles[s], c.name, c.got, c.want,
				100*(c.got/c.want-1))
			if math.Abs(c.got/c.want-1) > c.tol {
				t.Errorf("server %d (%v) %s: measured %.4g, expected %.4g ± %.0f%%", s, cfg.Roles[s], c.name, c.got,
					c.want, 100*c.tol)
			}
		}
	}
}

// TestDiurnalTroughAndBurstiness measures a day of arrivals: the night
// trough is a quarter of the afternoon peak (amplitude 0.6, as the traffic
// reports in docs/synth.md show), and with Burstiness 0.3 the per-minute
// counts vary by about 30% (coefficient of variation), against about 7%
// (Poisson noise alone) without it.
func TestDiurnalTroughAndBurstiness(t *testing.T) {
	t.Parallel()
	for _, burst := range []float64{0, 0.3} {
		cfg := realisticBase()
		cfg.Servers, cfg.Roles = 1, []Role{RoleAPI}
		cfg.ConnRate, cfg.Duration, cfg.Diurnal, cfg.DiurnalAmplitude, cfg.Burstiness = 0.6, 24*time.Hour, true, 0.6, burst
		perMin := make([]float64, 24*60)
		each(t, cfg, func(p *wpkt) {
			if !p.udp && p.flags&(tcpSYN|tcpACK) == tcpSYN {
				perMin[(p.t-defaultStart.UnixNano())/int64(time.Minute)]++
			}
		})
		sum := func(h0, h1 int) float64 {
			s := 0.0
			for _, n := range perMin[h0*60 : h1*60] {
				s += n
			}
			return s
		}
		ratio := sum(2, 4) / sum(14, 16) // 03:00 ± 1 h against 15:00 ± 1 h
		// The cosine's two-hour means: (1 − 0.6·0.977)/(1 + 0.6·0.977).
		want := (1 - 0.6*0.9772) / (1 + 0.6*0.9772)
		t.Logf("burstiness %.1f: trough/peak %.3f (want %.3f)", burst, ratio, want)
		if math.Abs(ratio-want) > 0.05 {
			t.Errorf("burstiness %.1f: trough/peak %.3f, want %.3f ± 0.05", burst, ratio, want)
		}
		// The coefficient of variation of per-minute counts around the
		// diurnal curve, over the busy hours 12:00-18:00 (about 55/min).
		var dev []float64
		for m := 12 * 60; m < 18*60; m++ {
			h := float64(m)/60 + 1.0/120
			mean := cfg.ConnRate * 60 * (1 + 0.6*math.Cos(2*math.Pi*(h-15)/24))
			dev = append(dev, perMin[m]/mean-1)
		}
		v := 0.0
		for _, d := range dev {
			v += d * d
		}
		cv := math.Sqrt(v / float64(len(dev)))
		poisson := 1 / math.Sqrt(cfg.ConnRate*60*1.5)
		wantCV := math.Sqrt(poisson*poisson + (math.Exp(burst*burst) - 1))
		t.Logf("burstiness %.1f: per-minute CV %.3f (want %.3f)", burst, cv, wantCV)
		if math.Abs(cv-wantCV) > 0.3*wantCV {
			t.Errorf("burstiness %.1f: per-minute CV %.3f, want %.3f ± 30%%", burst, cv, wantCV)
		}
	}
}

// TestTSOAndSnaplen checks segmentation offload and the snap length on
// the frames: server data in super-segments longer than the MTU (up to
// 64 KB), client uploads coalesced the same way, handshake segments within
// the MSS and never cut, every other frame cut to Snaplen bytes with the
// IP length field (and the pcap record's original length) giving the wire
// length.
func TestTSOAndSnaplen(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.QUICFraction = 10, time.Minute, 0.2
	var bigDown, bigUp, maxIP, cut, hsCut, hsBig, quicCut int
	seen := map[[2]netip.AddrPort]bool{} // directions that have sent their first payload
	each(t, cfg, func(p *wpkt) {
		if p.ipLen > 1500 {
			if p.fromClient {
				bigUp++
			} else {
				bigDown++
			}
		}
		maxIP = max(maxIP, p.ipLen)
		// Handshake: SYNs, the first payload segment each way (ClientHello,
		// server flight) and QUIC long-header packets.
		k := [2]netip.AddrPort{p.src, p.dst}
		hs := p.flags&tcpSYN != 0 || p.udp && p.first&0x80 != 0 || !p.udp && p.plen > 0 && !seen[k]
		if !p.udp && p.plen > 0 {
			seen[k] = true
		}
		if p.captured < p.wire {
			cut++
			if p.captured != cfg.Snaplen {
				t.Fatalf("frame cut to %d bytes, want %d", p.captured, cfg.Snaplen)
			}
			if hs {
				hsCut++
			}
			if p.udp {
				quicCut++
			}
		}
		if hs && !p.udp && p.ipLen > 1500 {
			hsBig++
		}
	})
	t.Logf("IP packets > 1500: %d from servers, %d from clients; largest %d; %d frames cut (%d QUIC)", bigDown, bigUp,
		maxIP, cut, quicCut)
	if bigDown == 0 || bigUp == 0 || maxIP < 20_000 || maxIP > 65535 {
		t.Errorf("want super-segments both ways up to ~64 KB: %d down, %d up, largest %d", bigDown, bigUp, maxIP)
	}
	if hsCut != 0 || hsBig != 0 || cut == 0 || quicCut == 0 {
		t.Errorf("%d handshake frames cut, %d longer than the MTU; %d frames cut (%d QUIC)", hsCut, hsBig, cut, quicCut)
	}

	// The pcap file: incl_len is the captured length, orig_len the wire
	// length; Read reports the wire length too.
	cfg.Duration = 5 * time.Second
	file, _ := generate(t, cfg)
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var f captureFrame
	for off, n := 24, 0; off < len(file); n++ {
		incl := int(binary.LittleEndian.Uint32(file[off+8:]))
		orig := int(binary.LittleEndian.Uint32(file[off+12:]))
		if err := g.Read(&f.Frame); err != nil {
			t.Fatal(err)
		}
		if incl != len(f.Data) || orig != f.Length || incl > orig || incl < orig && incl != cfg.Snaplen {
			t.Fatalf("record %d: incl_len %d, orig_len %d; Read: %d bytes, length %d", n, incl, orig, len(f.Data), f.Length)
		}
		off += 16 + incl
	}
}
