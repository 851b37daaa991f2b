package synth

import (
	"time"
)

// Background source kinds: traffic every internet-facing server sees,
// outside Config.Events. They share source.kind with the EventKinds.
const (
	kindScan  EventKind = 100 + iota // scanner probes over every server
	kindPoll                         // one API poller
	kindCrawl                        // one crawler
	kindBigDL                        // big downloads from one download server
)

// scanTLSFraction is the share of scanner probes that complete the
// handshake and send a ClientHello; the rest are SYN-only.
const scanTLSFraction = 0.25

// crawlSession is the median crawl session; sessions are log-normal with
// σ crawlSigma, clamped to [10 min, 60 min]; crawl rates are uniform in
// [crawlRateLo, crawlRateHi] conn/s.
const (
	crawlSession = 20 * time.Minute
	crawlSigma   = 0.4
	crawlRateLo  = 0.5
	crawlRateHi  = 2.0
)

// Big downloads are uniform in [bigDLLo, bigDLHi] bytes.
const (
	bigDLLo = 10e6
	bigDLHi = 30e6
)

// pollTargets returns the servers pollers connect to: the API-role
// servers, or server 0 when there is none.
func (c Config) pollTargets() []int {
	var t []int
	for i := range c.Servers {
		if len(c.Roles) > 0 && c.Roles[i%len(c.Roles)] == RoleAPI {
			t = append(t, i)
		}
	}
	if len(t) == 0 {
		t = []int{0}
	}
	return t
}

// makeBackground sets up scanners, pollers, NAT gateways, crawlers and the
// download servers' big downloads. It draws nothing when all are off.
func (g *Generator) makeBackground() {
	cfg := g.cfg
	for range cfg.NATGateways {
		c := g.newClient(StackChrome)
		c.useV6 = false
		g.nat = append(g.nat, c)
	}
	if cfg.ScanRate > 0 {
		odd := [...]Stack{StackLegacy10, StackLegacy12, StackCurl, StackPython, StackGo}
		for range cfg.ScanSources {
			c := g.newClient(odd[g.r.intn(len(odd))])
			c.useV6 = false
			c.hops = uint8(8 + g.r.intn(16))
			g.scanners = append(g.scanners, c)
		}
		g.addSource(source{kind: kindScan, start: g.start, end: g.end, lamMax: cfg.ScanRate / 1e9})
	}
	if cfg.Pollers > 0 {
		g.pollSrv = cfg.pollTargets()
		p := int64(cfg.PollInterval)
		for i := range cfg.Pollers {
			c := g.newClient([...]Stack{StackGo, StackPython, StackCurl}[g.r.intn(3)])
			g.clients = append(g.clients, c)
			g.addSource(source{kind: kindPoll, start: g.start + int64(g.r.float()*float64(p)), end: g.end,
				target: g.pollSrv[i%len(g.pollSrv)], cl: len(g.clients) - 1})
		}
	}
	for range cfg.Crawlers {
		c := g.newClient([...]Stack{StackGo, StackPython}[g.r.intn(2)])
		c.useV6 = false
		g.clients = append(g.clients, c)
		s := source{kind: kindCrawl, end: g.end, cl: len(g.clients) - 1}
		s.start = g.start + int64(g.r.exp()*float64(cfg.CrawlEvery))
		s.sessEnd = -1
		g.addSource(s)
	}
	if cfg.DownloadsPerHour > 0 && len(cfg.Roles) > 0 {
		for i := range g.servers {
			if cfg.Roles[i%len(cfg.Roles)] == RoleDownload {
				lam := cfg.DownloadsPerHour / 3600 / 1e9
				g.addSource(source{kind: kindBigDL, start: g.start + g.expGap(lam), end: g.end, target: i, lamMax: lam})
			}
		}
	}
}

// fireBackground runs one step of a background source.
func (g *Generator) fireBackground(s *source, t int64) (next int64, emitted bool) {
	switch s.kind {
	case kindScan:
		cl := &g.scanners[g.r.intn(len(g.scanners))]
		srv := g.r.intn(len(g.servers))
		if g.r.chance(scanTLSFraction) {
			if ci := g.spawn(t, cl, srv, modeNormal, -1); ci >= 0 {
				g.conns[ci].abort = abortFlight
			}
		} else if ci := g.spawn(t, cl, srv, modeHalfOpen, -1); ci >= 0 {
			g.conns[ci].abort = abortRST
		}
		next = t + g.expGap(s.lamMax)
	case kindPoll:
		if ci := g.spawn(t, &g.clients[s.cl], s.target, modeNormal, -1); ci >= 0 {
			g.conns[ci].exchanges = 1
		}
		p := float64(g.cfg.PollInterval)
		next = t + int64(p*(0.9+0.2*g.r.float()))
	case kindCrawl:
		if t >= s.sessEnd { // a new session starts
			d := g.r.lognormal(float64(crawlSession), crawlSigma, float64(10*time.Minute), float64(time.Hour))
			s.sessEnd = t + int64(d)
			s.rate = crawlRateLo + (crawlRateHi-crawlRateLo)*g.r.float()
		}
		g.spawn(t, &g.clients[s.cl], g.pickServer(), modeNormal, -1)
		next = t + g.expGap(s.rate/1e9)
		if next >= s.sessEnd {
			next = s.sessEnd + int64(g.r.exp()*float64(g.cfg.CrawlEvery))
		}
	case kindBigDL:
		c := &g.clients[g.r.intn(g.nBenign)]
		if ci := g.spawn(t, c, s.target, modeNormal, -1); ci >= 0 {
			cc := &g.conns[ci]
			cc.exchanges = 1
			cc.objBytes = int64(bigDLLo + (bigDLHi-bigDLLo)*g.r.float())
		}
		next = t + g.expGap(s.lamMax)
	default:
		return -1, false
	}
	if next >= s.end {
		return -1, emitted
	}
	return next, emitted
}
