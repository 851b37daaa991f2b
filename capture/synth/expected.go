package synth

import (
	"math"
	"time"
)

// Rates are expected rates per second of what the detectors count: TCP
// SYNs (connection attempts), TLS ClientHellos over TCP, IP bytes from the
// server (egress) and to it (ingress), and QUIC client Initials (one per
// QUIC connection).
type Rates struct {
	SYN          float64 `json:"syn"`
	Hellos       float64 `json:"hellos"`
	EgressBytes  float64 `json:"egress_bytes"`
	IngressBytes float64 `json:"ingress_bytes"`
	QUICInitials float64 `json:"quic_initials"`
}

func (r *Rates) add(o Rates, k float64) {
	r.SYN += k * o.SYN
	r.Hellos += k * o.Hellos
	r.EgressBytes += k * o.EgressBytes
	r.IngressBytes += k * o.IngressBytes
	r.QUICInitials += k * o.QUICInitials
}

// Expected returns the benign rates the model expects at time t for target
// (a server index, or -1 for every server): benign arrivals (ConnRate × the
// diurnal factor, without the random burstiness, × the server's
// popularity share × any OrganicRamp factor), crawlers, pollers, scanners
// and big downloads, each times the closed-form mean of what one of its
// connections carries (response and request size laws, the mean number of
// exchanges, handshake and header bytes). Events other than OrganicRamp
// are not included. Generated traffic matches it within the noise of the
// heavy tails; docs/synth.md gives the measured agreement.
func (c Config) Expected(t time.Time, target int) Rates {
	c = c.withDefaults()
	srv := make([]server, c.Servers)
	r := newRNG(c.Seed) // the draws makeServers makes, in its order
	for i := range srv {
		srv[i].tls12 = r.chance(0.15)
		srv[i].pq = r.chance(0.7)
		srv[i].law = legacyLaw(c.MaxResponseBytes)
		if len(c.Roles) > 0 {
			srv[i].law = roleLaws[c.Roles[i%len(c.Roles)]].capped(c.MaxResponseBytes)
		}
	}
	share := make([]float64, c.Servers)
	w := 0.0
	for i := range share {
		share[i] = 1 / math.Pow(float64(i+1), 0.9)
		w += share[i]
	}
	for i := range share {
		share[i] /= w
	}
	return c.expectation(share, srv).at(t, target)
}

// expectation holds what Expected needs about the servers.
type expectation struct {
	cfg   Config
	share []float64
	srv   []server
	polls []float64 // pollers per server
	hello float64   // mean ClientHello bytes over the stack mix
	tls13 float64   // share of the stack mix that offers TLS 1.3
	mlkem float64   // share that sends an ML-KEM key share
}

// Means of the per-exchange laws shared by every role.
const (
	exchP   = 0.72 // a connection runs one more exchange with this chance, up to 60
	hdrLen  = 52   // IPv4, TCP and the timestamp option
	segLen  = 1448 // a full segment's payload with timestamps
	tls12Fl = 1000 // TLS 1.2 server flight and finish, bytes
)

func (c Config) expectation(share []float64, srv []server) *expectation {
	e := &expectation{cfg: c, share: share, srv: srv, polls: make([]float64, len(srv))}
	if c.Pollers > 0 {
		t := c.pollTargets()
		for i := range c.Pollers {
			e.polls[t[i%len(t)]]++
		}
	}
	total := 0.0
	for s := range numStacks {
		w := c.StackMix[s]
		total += w
		e.hello += w * float64(len(AppendClientHello(nil, s, "www.shop-0.example", 1)))
		if s.offersTLS13() {
			e.tls13 += w
		}
		if s.offersMLKEM() {
			e.mlkem += w
		}
	}
	e.hello /= total
	e.tls13 /= total
	e.mlkem /= total
	return e
}

// geomMean is the mean of min(N, n) for the geometric exchange count N.
func geomMean(n int) float64 { return (1 - math.Pow(exchP, float64(n))) / (1 - exchP) }

// requestMean is the mean request: log-normal (median 350) or, 3% of the
// time, a Pareto upload.
func requestMean() float64 {
	return 0.97*sizeLaw{median: 350, sig: 0.8, lo: 60, hi: 30_000}.mean() +
		0.03*sizeLaw{pareto: true, xm: 20_000, alpha: 1.3, hi: 50e6}.mean()
}

// tcpConn returns the egress and ingress IP bytes of one TCP connection to
// server s with exch exchanges of mean response resp.
func (e *expectation) tcpConn(s int, exch, resp float64) (egress, ingress float64) {
	k := 1.0 // full segments per data packet
	if e.cfg.TSO {
		k = 3
	}
	flight := float64(tls12Fl)
	cflight := 130.0
	if !e.srv[s].tls12 {
		p13 := e.tls13
		encLen := sizeLaw{median: 3500, sig: 0.3, lo: 1500, hi: 9000}.mean()
		mlkem := 0.0
		if e.srv[s].pq {
			mlkem = e.mlkem
		}
		flight = p13*(127+6+5+encLen+mlkem*1088) + (1-p13)*tls12Fl
		cflight = p13*64 + (1-p13)*130
	}
	req := requestMean()
	pkts := func(n, per float64) float64 { return n/per + 0.5 }
	egress = 60 + flight + hdrLen*pkts(flight, segLen) + // SYN-ACK and flight
		exch*(resp+hdrLen*pkts(resp, k*segLen)+hdrLen*pkts(req, 2*k*segLen)) + // responses, ACKs of requests
		2*hdrLen // FIN or its ACK
	ingress = 64 + hdrLen + e.hello + hdrLen*pkts(e.hello, segLen) + cflight + hdrLen +
		exch*(req+hdrLen*pkts(req, k*segLen)+hdrLen*pkts(resp, 2*k*segLen)) + 2*hdrLen
	return egress, ingress
}

// quicConn returns the egress and ingress IP bytes of one QUIC connection.
func (e *expectation) quicConn(s int) (egress, ingress float64) {
	const ov = 20 + 8 + 9 // IPv4, UDP, short header
	resp := geomMean(8) * e.srv[s].law.mean()
	pk := math.Ceil(resp/1200) + 0.5
	egress = quicMinInitial + 28 + resp + pk*ov
	ingress = quicMinInitial + 28 + (60 + 28 + 20) + (60 + 100 + ov) + pk/2*(24+ov) + 30 + ov
	return egress, ingress
}

// rampFactor is the product of the OrganicRamp factors on server s at t.
func (e *expectation) rampFactor(t time.Time, s int) float64 {
	f := 1.0
	for _, ev := range e.cfg.Events {
		st := e.cfg.Start.Add(ev.Start)
		if ev.Kind != OrganicRamp || ev.Target != s || t.Before(st) {
			continue
		}
		full := ev.Factor
		if full == 0 {
			full = ev.Rate
		}
		ramp := ev.Ramp
		if ramp == 0 {
			ramp = ev.Duration
		}
		f *= 1 + (full-1)*math.Min(1, float64(t.Sub(st))/float64(ramp))
	}
	return f
}

// at returns the expected rates at t for server s, or the sum over every
// server for s = -1.
func (e *expectation) at(t time.Time, s int) Rates {
	if s < 0 {
		var r Rates
		for i := range e.srv {
			r.add(e.at(t, i), 1)
		}
		return r
	}
	c := e.cfg
	lam := c.ConnRate * e.share[s] * e.rampFactor(t, s)
	if c.Diurnal {
		_, off := t.Zone()
		lam *= diurnal(t.UnixNano()+int64(off)*1e9, c.DiurnalAmplitude, c.PeakHour)
	}
	// Crawlers: the mean rate times the share of time spent crawling.
	sess := sizeLaw{median: float64(crawlSession), sig: crawlSigma, lo: float64(10 * time.Minute), hi: float64(time.Hour)}.mean()
	crawl := float64(c.Crawlers) * (crawlRateLo + crawlRateHi) / 2 * sess / (sess + float64(c.CrawlEvery)) * e.share[s]
	tcp := lam*(1-c.QUICFraction) + crawl
	poll := e.polls[s] / c.PollInterval.Seconds()
	scan := c.ScanRate / float64(len(e.srv))
	big := 0.0
	if len(c.Roles) > 0 && c.Roles[s%len(c.Roles)] == RoleDownload {
		big = c.DownloadsPerHour / 3600
	}
	var r Rates
	mean := e.srv[s].law.mean()
	eg, in := e.tcpConn(s, geomMean(60), mean)
	r.add(Rates{SYN: 1, Hellos: 1, EgressBytes: eg, IngressBytes: in}, tcp)
	eg, in = e.tcpConn(s, 1, mean)
	r.add(Rates{SYN: 1, Hellos: 1, EgressBytes: eg, IngressBytes: in}, poll)
	eg, in = e.tcpConn(s, 1, (bigDLLo+bigDLHi)/2)
	r.add(Rates{SYN: 1, Hellos: 1, EgressBytes: eg, IngressBytes: in}, big)
	eg, in = e.tcpConn(s, 0, 0)
	r.add(Rates{SYN: 1, Hellos: scanTLSFraction, EgressBytes: 60 + scanTLSFraction*(eg-60),
		IngressBytes: 64 + hdrLen + scanTLSFraction*(in-64-hdrLen)}, scan)
	eg, in = e.quicConn(s)
	r.add(Rates{QUICInitials: 1, EgressBytes: eg, IngressBytes: in}, lam*c.QUICFraction)
	return r
}

// eventRate returns the Rate an event with a Factor gets: (Factor − 1) ×
// the expected rate of what its Rate counts, at t.
func (e *expectation) eventRate(ev *Event, t time.Time) float64 {
	r := e.at(t, ev.Target)
	var base float64
	switch ev.Kind {
	case SYNFlood, BotnetFlood:
		base = r.SYN
	case RequestBurst, DistributedBurst:
		base = r.Hellos
	case QUICFlood:
		base = r.QUICInitials
	case FlashCrowd, ReleaseWave:
		base = r.SYN + r.QUICInitials
	case NightlyBackup:
		base = r.IngressBytes
	case OrganicRamp:
		return ev.Factor
	default: // bandwidth_spike, egress_spike, backup_pull, big_download
		base = r.EgressBytes
	}
	return (ev.Factor - 1) * base
}
