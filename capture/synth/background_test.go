package synth

import (
	"math"
	"net/netip"
	"sort"
	"testing"
	"time"
)

// TestBackground measures each kind of background traffic: scanners
// (SYN-only probes ended by the scanner's RST, and TLS probes, from a pool
// of addresses sweeping every server), pollers (one connection every
// PollInterval ± 10%), NAT gateways (a few addresses with a large share of
// arrivals and many operating systems behind each) and crawlers (sessions
// at 0.5 to 2 conn/s).
func TestBackground(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.Clients, cfg.Roles = 2, 30*time.Minute, 3000, []Role{RoleWeb, RoleAPI}
	cfg.ScanRate, cfg.ScanSources = 2, 200
	cfg.Pollers, cfg.PollInterval = 5, 30*time.Second
	cfg.NATGateways, cfg.NATShare = 3, 0.3
	cfg.Crawlers, cfg.CrawlEvery = 2, time.Minute
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scanners := map[netip.Addr]bool{}
	for _, c := range g.scanners {
		scanners[netip.AddrFrom4([4]byte(c.v4[:4]))] = true
	}
	nat := map[netip.Addr]bool{}
	for _, c := range g.nat {
		nat[netip.AddrFrom4([4]byte(c.v4[:4]))] = true
	}
	pollers := map[netip.Addr]bool{}
	for _, c := range g.clients[g.nBenign : g.nBenign+cfg.Pollers] {
		pollers[netip.AddrFrom4([4]byte(c.v4[:4]))] = true
		pollers[netip.AddrFrom16(c.v6)] = true
	}
	crawlers := map[netip.Addr]int{}
	for i, c := range g.clients[g.nBenign+cfg.Pollers:] {
		crawlers[netip.AddrFrom4([4]byte(c.v4[:4]))] = i
	}

	var scanSYN, scanRST, scanHello, synTotal int
	scanSrv := map[netip.Addr]bool{}
	scanSrc := map[netip.Addr]bool{}
	pollSYN := map[netip.Addr][]int64{}
	natSYN, natTTL := 0, map[uint8]bool{}
	crawlPerMin := map[[2]int]int{}
	each(t, cfg, func(p *wpkt) {
		if p.udp || !p.fromClient {
			return
		}
		a := p.src.Addr()
		syn := p.flags&(tcpSYN|tcpACK) == tcpSYN
		if syn {
			synTotal++
		}
		switch {
		case scanners[a]:
			scanSrc[a] = true
			if syn {
				scanSYN++
				scanSrv[p.dst.Addr()] = true
			}
			if p.flags&tcpRST != 0 {
				scanRST++
			}
			if p.first == recHandshake && p.hsType == 1 {
				scanHello++
			}
		case pollers[a] && syn:
			pollSYN[a] = append(pollSYN[a], p.t)
		case nat[a] && syn:
			natSYN++
			natTTL[p.ttl] = true
		case syn:
			if i, ok := crawlers[a]; ok {
				crawlPerMin[[2]int{i, int((p.t - defaultStart.UnixNano()) / int64(time.Minute))}]++
			}
		}
	})
	sec := cfg.Duration.Seconds()
	t.Logf("scanners: %d SYN (%.2f/s), %d RST, %d hellos, %d sources, %d servers", scanSYN, float64(scanSYN)/sec,
		scanRST, scanHello, len(scanSrc), len(scanSrv))
	if r := float64(scanSYN) / sec; math.Abs(r/cfg.ScanRate-1) > 0.1 || len(scanSrv) != cfg.Servers ||
		len(scanSrc) < 150 || len(scanSrc) > cfg.ScanSources {
		t.Errorf("scanners: %.2f probes/s over %d servers from %d sources, want %.1f/s, all servers, ~%d sources",
			r, len(scanSrv), len(scanSrc), cfg.ScanRate, cfg.ScanSources)
	}
	if f := float64(scanHello) / float64(scanSYN); math.Abs(f-scanTLSFraction) > 0.05 || scanRST < scanSYN*6/10 {
		t.Errorf("scanners: %.2f of probes send a ClientHello (want %.2f), %d RSTs for %d probes", f, scanTLSFraction,
			scanRST, scanSYN)
	}

	for a, ts := range pollSYN {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		for i := 1; i < len(ts); i++ {
			gap := time.Duration(ts[i] - ts[i-1])
			if gap < 27*time.Second || gap > 33*time.Second {
				t.Errorf("poller %v: %v between connections, want 30s ± 10%%", a, gap)
				break
			}
		}
	}
	if len(pollSYN) != cfg.Pollers {
		t.Errorf("%d pollers connected, want %d", len(pollSYN), cfg.Pollers)
	}

	// NAT: 30% of the benign arrivals (about 2/s) from three addresses,
	// with the TTLs of several operating systems behind them.
	benign := cfg.ConnRate * sec
	t.Logf("NAT: %d SYNs (%.2f of benign arrivals), %d distinct TTLs", natSYN, float64(natSYN)/benign, len(natTTL))
	if f := float64(natSYN) / benign; math.Abs(f-cfg.NATShare) > 0.05 || len(natTTL) < 2 {
		t.Errorf("NAT gateways carry %.2f of benign arrivals (want %.2f), %d TTLs", f, cfg.NATShare, len(natTTL))
	}

	// Crawlers: minutes with crawl traffic see 0.5-2 conn/s (30-120 per
	// full minute, Poisson noise aside).
	busy := 0
	for _, n := range crawlPerMin {
		if n > 150 {
			t.Errorf("a crawler made %d connections in a minute, want at most ~120", n)
		}
		if n >= 20 {
			busy++
		}
	}
	t.Logf("crawlers: %d busy crawler-minutes", busy)
	if busy < 10 {
		t.Errorf("crawlers: %d busy minutes, want sessions of tens of minutes", busy)
	}
}

// TestBigDownloads checks the download servers' 10-30 MB downloads, day
// and night: a Poisson process of DownloadsPerHour per download server.
func TestBigDownloads(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.Diurnal, cfg.DiurnalAmplitude = 0.01, 6*time.Hour, true, 0.6
	cfg.Servers, cfg.Roles, cfg.DownloadsPerHour = 1, []Role{RoleDownload}, 6
	pkts, _ := run(t, cfg)
	var big []float64
	for _, n := range responses(pkts)[serverAddr(0)] {
		if n >= 10e6 {
			big = append(big, n)
		}
	}
	// 36 expected in 6 hours at night (00:00-06:00); the few ordinary
	// connections add less than one.
	t.Logf("%d downloads of 10 MB or more at night", len(big))
	if len(big) < 20 || len(big) > 55 {
		t.Errorf("%d big downloads in 6 hours, want ~36", len(big))
	}
}
