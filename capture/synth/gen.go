package synth

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Packet is one generated Ethernet frame.
type Packet struct {
	// Timestamp is the frame's time in Unix nanoseconds.
	Timestamp int64
	// Data is the captured frame. It is owned by the Generator and valid
	// only until the next call to [Generator.Next].
	Data []byte
	// Length is the frame's length on the wire; it is larger than
	// len(Data) when [Config.Snaplen] truncated the frame.
	Length int
}

type server struct {
	v4, v6    [16]byte
	mac       [6]byte
	vid       uint16
	names     []string
	cert      []byte
	tls12     bool // no TLS 1.3
	pq        bool // accepts X25519MLKEM768
	v6capable bool
	tagged    bool // behind an 802.1Q tag (Config.VLANServers)
	law       sizeLaw
}

type client struct {
	v4, v6 [16]byte
	useV6  bool
	stack  Stack
	os     osKind
	hops   uint8
	port   uint16
}

type source struct {
	kind     EventKind // 0 for benign arrivals
	truth    int
	start    int64
	end      int64
	rate     float64 // per second
	lamMax   float64 // per nanosecond, for thinning
	target   int
	pool     int // first client index of the event's hosts
	poolN    int
	flows    int
	spawned  int
	complete float64
	answer   float64
	ramp     int64
	ev       *Event // the configured event, nil for background sources
	cl       int    // background: the client index
	sessEnd  int64  // crawlers: the end of the current session
}

type hent struct {
	t  int64
	id int32 // conn index, or -(source index)-1
}

// Generator produces synthetic TCP/443 traffic one frame at a time, in
// timestamp order. It is not safe for concurrent use.
type Generator struct {
	cfg   Config
	r     rng
	start int64
	end   int64
	tzOff int64 // seconds east of UTC at Start

	servers   []server
	serverCDF []float64
	clients   []client
	nBenign   int
	stackCDF  [numStacks]float64
	pool      []byte

	conns   []conn
	free    []int32
	active  int
	heap    []hent
	spawned []hent
	srcs    []source
	floodEP endpoint

	buf      []byte
	qbuf     []byte // a QUIC ClientHello being built
	msg      []byte
	msgKey   [3]uint32
	msgValid bool

	pkt   Packet
	truth Truth

	truncate bool    // the next segment out writes is cut at Config.Snaplen
	burstMin int64   // the minute burstF belongs to
	burstF   float64 // the per-minute burstiness factor
	burstCap float64 // the factor's cap, 1 without burstiness
	nat      []client
	scanners []client
	pollSrv  []int // API-role servers pollers connect to
	share    []float64
}

// NewGenerator validates cfg and returns a Generator for it. Setup draws
// the servers (with their certificates), clients and event schedule.
func NewGenerator(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("synth config: %w", err)
	}
	cfg = cfg.withDefaults()
	g := &Generator{
		cfg:   cfg,
		r:     newRNG(cfg.Seed),
		start: cfg.Start.UnixNano(),
		buf:   make([]byte, 1<<16+512), // a TSO super-segment fits
		msg:   make([]byte, 0, 16384),
		pool:  randPool,
	}
	g.end = g.start + int64(cfg.Duration)
	_, off := cfg.Start.Zone()
	g.tzOff = int64(off)
	g.truth = Truth{Seed: cfg.Seed, Start: cfg.Start, End: cfg.Start.Add(cfg.Duration), Events: []TruthEvent{}}

	total := 0.0
	for s := range numStacks {
		total += cfg.StackMix[s]
		g.stackCDF[s] = total
	}
	for s := range numStacks {
		g.stackCDF[s] /= total
	}
	if err := g.makeServers(); err != nil {
		return nil, err
	}
	for range cfg.Clients {
		g.clients = append(g.clients, g.newClient(g.pickStack()))
	}
	g.nBenign = len(g.clients)
	g.burstCap, g.burstMin = 1, math.MinInt64
	if cfg.Burstiness > 0 {
		g.burstCap = burstCap
	}
	if cfg.ConnRate > 0 {
		lam := cfg.ConnRate * g.burstCap
		if cfg.Diurnal {
			lam *= 1 + cfg.DiurnalAmplitude
		}
		g.addSource(source{kind: 0, start: g.start, end: g.end, rate: cfg.ConnRate, lamMax: lam / 1e9})
	}
	g.makeEvents()
	g.makeBackground()
	return g, nil
}

// nameWords gives the synthetic server names some variety.
var nameWords = []string{"shop", "news", "mail", "cloud", "video", "maps", "pay", "auth", "cdn", "api", "docs",
	"chat", "games", "photos", "music", "travel", "bank", "health", "jobs", "learn"}

var namePrefixes = []string{"www", "api", "static", "login", "img", "m", "app", "edge"}

func (g *Generator) makeServers() error {
	cfg := g.cfg
	g.servers = make([]server, cfg.Servers)
	names := make([][]string, cfg.Servers)
	for i := range cfg.SNIs {
		s := i % cfg.Servers
		dom := nameWords[s%len(nameWords)] + "-" + strconv.Itoa(s) + ".example"
		k := len(names[s])
		if k == 0 {
			names[s] = append(names[s], "www."+dom)
		} else {
			names[s] = append(names[s], namePrefixes[k%len(namePrefixes)]+strconv.Itoa(k/len(namePrefixes))+"."+dom)
		}
	}
	w := 0.0
	g.serverCDF = make([]float64, cfg.Servers)
	for i := range g.servers {
		s := &g.servers[i]
		// Servers live in 198.18.0.0/15 (RFC 2544 benchmarking) and
		// 2001:db8:443::/48 (RFC 3849 documentation).
		// Host numbers skip .0 and .255 in every /24.
		n := (i/254)<<8 | (i%254 + 1)
		s.v4[0], s.v4[1], s.v4[2], s.v4[3] = 198, 18+byte(n>>16), byte(n>>8), byte(n)
		s.v6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x04, 0x43, 0, 0, 0, 0, 0, 0, 0, 0, byte(n >> 8), byte(n)}
		s.mac = [6]byte{0x02, 0x42, 0xc6, 0x12, byte(i >> 8), byte(i)}
		s.vid = uint16(100 + i%400)
		s.names = names[i]
		s.tls12 = g.r.chance(0.15)
		s.pq = g.r.chance(0.7)
		s.v6capable = i%5 != 4 || cfg.IPv6Fraction == 1
		if cfg.IPv6Servers != nil {
			s.v6capable = slices.Contains(cfg.IPv6Servers, i)
		}
		s.tagged = slices.Contains(cfg.VLANServers, i)
		s.law = legacyLaw(cfg.MaxResponseBytes)
		if len(cfg.Roles) > 0 {
			s.law = roleLaws[cfg.Roles[i%len(cfg.Roles)]].capped(cfg.MaxResponseBytes)
		}
		cert, err := makeCert(int64(1000+i), s.names, g.cfg.Start.Add(-30*24*time.Hour))
		if err != nil {
			return err
		}
		s.cert = cert
		w += 1 / math.Pow(float64(i+1), 0.9)
		g.serverCDF[i] = w
	}
	g.share = make([]float64, len(g.serverCDF))
	prev := 0.0
	for i := range g.serverCDF {
		g.serverCDF[i] /= w
		g.share[i] = g.serverCDF[i] - prev
		prev = g.serverCDF[i]
	}
	return nil
}

func (g *Generator) pickStack() Stack {
	u := g.r.float()
	for s := range numStacks {
		if u < g.stackCDF[s] {
			return s
		}
	}
	return StackChrome
}

func (g *Generator) pickServer() int {
	u := g.r.float()
	return min(sort.SearchFloat64s(g.serverCDF, u), len(g.serverCDF)-1)
}

// randPublicV4 draws a unicast IPv4 address outside private, loopback,
// multicast, documentation and benchmarking ranges.
func (g *Generator) randPublicV4() [16]byte {
	for {
		v := g.r.u32()
		a, b := byte(v>>24), byte(v>>16)
		switch {
		case a == 0 || a == 10 || a == 127 || a >= 224 || a == 100 && b >= 64 && b < 128,
			a == 169 && b == 254, a == 172 && b >= 16 && b < 32, a == 192 && b == 168,
			a == 198 && (b == 18 || b == 19), a == 192 && b == 0, byte(v) == 0 || byte(v) == 255:
			continue
		}
		return [16]byte{a, b, byte(v >> 8), byte(v)}
	}
}

func (g *Generator) newClient(st Stack) client {
	c := client{stack: st, v4: g.randPublicV4()}
	c.useV6 = g.r.chance(g.cfg.IPv6Fraction)
	c.v6 = [16]byte{0x20, 0x01, 0x0d, 0xb8}
	g.r.fill(c.v6[4:])
	c.v6[4], c.v6[5] = 0xc1, byte(c.v6[5]&0x0f) // 2001:db8:c1xx::/40
	oses := specs[st].os
	c.os = oses[g.r.intn(len(oses))]
	c.hops = uint8(4 + g.r.intn(20))
	if c.os == osWindows {
		c.port = uint16(49152 + g.r.intn(16384))
	} else {
		c.port = uint16(32768 + g.r.intn(28232))
	}
	return c
}

func (g *Generator) addSource(s source) {
	if s.start >= g.end {
		return
	}
	g.srcs = append(g.srcs, s)
	g.push(hent{t: s.start, id: int32(-len(g.srcs))})
}

func (g *Generator) makeEvents() {
	exp := g.cfg.expectation(g.share, g.servers)
	for i := range g.cfg.Events {
		e := &g.cfg.Events[i]
		start := g.start + int64(e.Start)
		dur := int64(e.Duration)
		rate := e.Rate
		if e.Factor > 0 && rate == 0 {
			rate = exp.eventRate(e, time.Unix(0, start).In(g.cfg.Start.Location()))
		}
		s := source{kind: e.Kind, start: start, end: start + dur, rate: rate, target: e.Target,
			complete: e.CompleteFraction, answer: e.AnswerFraction, flows: e.sources(), ramp: int64(e.Ramp), ev: e}
		if (e.Kind == FlashCrowd || e.Kind == ReleaseWave) && s.ramp == 0 {
			s.ramp = dur / 4
		}
		s.lamMax = rate / 1e9
		switch e.Kind {
		case BotnetFlood:
			s.pool, s.poolN = len(g.clients), e.sources()
			for range s.poolN {
				st := [...]Stack{StackCurl, StackGo, StackPython, StackLegacy12}[g.r.intn(4)]
				c := g.newClient(st)
				if e.IPv6 {
					c.useV6 = true
				} else if e.Mixed {
					c.useV6 = false
				}
				g.clients = append(g.clients, c)
			}
		case QUICFlood:
			if e.Sources > 0 {
				s.pool, s.poolN = len(g.clients), e.Sources
				for range s.poolN {
					c := g.newClient(StackGo)
					c.useV6 = false
					g.clients = append(g.clients, c)
				}
			}
		case FlashCrowd:
			s.pool, s.poolN = len(g.clients), e.sources()
			for range s.poolN {
				g.clients = append(g.clients, g.newClient(g.pickStack()))
			}
		case RequestBurst:
			s.pool, s.poolN = len(g.clients), 1
			g.clients = append(g.clients, g.newClient(StackGo))
		case BandwidthSpike, NightlyBackup, BackupPull:
			s.pool, s.poolN = len(g.clients), 1
			c := g.newClient(StackCurl)
			c.useV6 = false
			g.clients = append(g.clients, c)
		case BigDownload:
			s.pool, s.poolN = len(g.clients), 1
			c := g.newClient(StackChrome)
			c.useV6 = false
			g.clients = append(g.clients, c)
		case EgressSpike:
			s.pool, s.poolN = len(g.clients), e.sources()
			for range s.poolN {
				c := g.newClient([...]Stack{StackCurl, StackGo, StackPython}[g.r.intn(3)])
				c.useV6 = false
				g.clients = append(g.clients, c)
			}
		case DistributedBurst, ReleaseWave:
			// Existing benign clients are copied (same address and stack)
			// so that their ports advance independently.
			s.pool, s.poolN = len(g.clients), e.sources()
			known := 0.8
			if e.Kind == ReleaseWave {
				known = 0.1
			}
			for range s.poolN {
				switch {
				case g.nBenign > 0 && g.r.chance(known):
					g.clients = append(g.clients, g.clients[g.r.intn(g.nBenign)])
				case e.Kind == DistributedBurst:
					g.clients = append(g.clients, g.newClient([...]Stack{StackGo, StackPython, StackChrome}[g.r.intn(3)]))
				default:
					g.clients = append(g.clients, g.newClient(g.pickStack()))
				}
			}
		case OrganicRamp:
			f := rate
			if e.Factor > 0 {
				f = e.Factor
			}
			s.rate, s.end = f, g.end
			if s.ramp == 0 {
				s.ramp = dur
			}
			s.lamMax = (f - 1) * g.cfg.ConnRate * g.burstCap * g.share[e.Target] / 1e9
			if g.cfg.Diurnal {
				s.lamMax *= 1 + g.cfg.DiurnalAmplitude
			}
			rate = f
		}
		s.truth = len(g.truth.Events)
		for k := 0; ; k++ {
			t0 := start + int64(k)*int64(24*time.Hour)
			if t0 >= g.end {
				break
			}
			te := TruthEvent{Kind: e.Kind, Start: time.Unix(0, t0).In(g.cfg.Start.Location()),
				End: time.Unix(0, min(t0+dur, g.end)).In(g.cfg.Start.Location()), Rate: rate,
				RateUnit: e.Kind.RateUnit(), Spoofed: e.Kind == SYNFlood || e.Kind == QUICFlood && e.Sources == 0, Sources: e.sources(),
				Label: e.Label, Class: e.Kind.Class(), Detectors: DetectorIDs(strings.Join(e.Kind.Detectors(), ",")), Factor: e.Factor,
				Server: e.Target}
			if e.TargetLatency > 0 {
				te.TargetLatency = e.TargetLatency.String()
			}
			if e.Target >= 0 {
				srv := &g.servers[e.Target]
				te.Target = netip.AddrPortFrom(netip.AddrFrom4([4]byte(srv.v4[:4])), 443)
				if e.IPv6 {
					te.Target = netip.AddrPortFrom(netip.AddrFrom16(srv.v6), 443)
				}
				te.TargetName = srv.names[0]
			}
			if te.Spoofed {
				te.Sources = 0
			}
			g.truth.Events = append(g.truth.Events, te)
			if e.Kind != NightlyBackup && e.Kind != BackupPull {
				break
			}
		}
		if s.truth < len(g.truth.Events) && s.lamMax > 0 {
			g.addSource(s)
		}
	}
}

// Truth returns the ground truth so far; after [Generator.Next] has
// returned false it is complete.
func (g *Generator) Truth() Truth {
	t := g.truth
	t.Events = append([]TruthEvent(nil), g.truth.Events...)
	return t
}

// Next returns the next frame in timestamp order, or false when the
// configured duration is over.
func (g *Generator) Next() (Packet, bool) {
	for len(g.heap) > 0 {
		e := g.heap[0]
		if e.t >= g.end {
			g.heap = g.heap[:0]
			break
		}
		var next int64
		var emitted bool
		if e.id < 0 {
			next, emitted = g.fire(int(-e.id-1), e.t)
		} else {
			next, emitted = g.step(e.id, e.t)
		}
		if next < 0 {
			g.popRoot()
		} else {
			g.heap[0].t = next
			g.down(0)
		}
		for _, h := range g.spawned {
			g.push(h)
		}
		g.spawned = g.spawned[:0]
		if emitted {
			n := uint64(g.pkt.Length)
			g.truth.Packets++
			g.truth.Bytes += n
			return g.pkt, true
		}
	}
	return Packet{}, false
}

// Heap of (time, id), smallest first; ties go to the smaller id so the
// order never depends on anything but the Config.

func (a hent) less(b hent) bool { return a.t < b.t || a.t == b.t && a.id < b.id }

func (g *Generator) push(h hent) {
	g.heap = append(g.heap, h)
	i := len(g.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !g.heap[i].less(g.heap[p]) {
			break
		}
		g.heap[i], g.heap[p] = g.heap[p], g.heap[i]
		i = p
	}
}

func (g *Generator) popRoot() {
	n := len(g.heap) - 1
	g.heap[0] = g.heap[n]
	g.heap = g.heap[:n]
	if n > 0 {
		g.down(0)
	}
}

func (g *Generator) down(i int) {
	h := g.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// benignRate returns the benign arrival rate at t, per nanosecond.
func (g *Generator) benignRate(t int64) float64 {
	r := g.cfg.ConnRate
	if g.cfg.Diurnal {
		r *= diurnal(t+g.tzOff*1e9, g.cfg.DiurnalAmplitude, g.cfg.PeakHour)
	}
	if g.cfg.Burstiness > 0 {
		r *= g.burst(t)
	}
	return r / 1e9
}

// diurnal returns the time-of-day factor 1 + A·cos(2π(h − peak)/24) at
// local Unix nanoseconds t.
func diurnal(t int64, amp, peak float64) float64 {
	sec := (t / 1e9) % 86400
	if sec < 0 {
		sec += 86400
	}
	h := float64(sec)/3600 + float64(t%1e9)/3.6e12
	return 1 + amp*math.Cos(2*math.Pi*(h-peak)/24)
}

// burstCap caps the per-minute burstiness factor so that thinning against
// lamMax stays valid.
const burstCap = 3

// burst returns the burstiness factor of t's minute: log-normal with mean 1
// and σ = Config.Burstiness, capped at burstCap. It is a hash of the seed
// and the minute, so it costs no draw from the main stream.
func (g *Generator) burst(t int64) float64 {
	m := t / int64(time.Minute)
	if m != g.burstMin {
		x := g.cfg.Seed ^ uint64(m)*0x9e3779b97f4a7c15 ^ 0x6275727374
		r := newRNG(splitmix(&x))
		sig := g.cfg.Burstiness
		g.burstMin, g.burstF = m, math.Min(math.Exp(sig*r.norm()-sig*sig/2), burstCap)
	}
	return g.burstF
}

func (g *Generator) expGap(perNs float64) int64 { return int64(g.r.exp()/perNs) + 1 }

// spawnBenign starts one benign arrival at server si (-1: one picked by
// popularity, after the client): from a random benign client, or a NAT
// gateway, over TCP or QUIC.
func (g *Generator) spawnBenign(t int64, si int, ev int) int32 {
	c := &g.clients[g.r.intn(g.nBenign)]
	if len(g.nat) > 0 && g.r.chance(g.cfg.NATShare) {
		c = &g.nat[g.r.intn(len(g.nat))]
		c.stack = g.pickStack()
		c.os = specs[c.stack].os[g.r.intn(len(specs[c.stack].os))]
	}
	m := modeNormal
	if g.cfg.QUICFraction > 0 && g.r.chance(g.cfg.QUICFraction) {
		m = modeQUIC
	}
	if si < 0 {
		si = g.pickServer()
	}
	return g.spawn(t, c, si, m, ev)
}

// fire runs one step of an arrival source at time t.
func (g *Generator) fire(si int, t int64) (next int64, emitted bool) {
	s := &g.srcs[si]
	switch s.kind {
	case 0:
		if g.r.float()*s.lamMax < g.benignRate(t) {
			g.spawnBenign(t, -1, -1)
		}
		next = t + g.expGap(s.lamMax)
	case SYNFlood:
		g.floodSYN(s, t)
		emitted = true
		next = t + g.expGap(s.lamMax)
	case QUICFlood:
		g.floodQUIC(s, t)
		emitted = true
		next = t + g.expGap(s.lamMax)
	case BotnetFlood:
		c := &g.clients[s.pool+g.r.intn(s.poolN)]
		if s.ev.Mixed {
			g.botMixed(s, c, t)
			next = t + g.expGap(s.lamMax)
			break
		}
		m := modeHalfOpen
		if g.r.chance(s.complete) {
			m = modeNormal
		}
		if ci := g.spawn(t, c, s.target, m, s.truth); ci >= 0 {
			cc := &g.conns[ci]
			g.setRetries(cc, s)
			if m == modeNormal {
				cc.exchanges = 1
				if g.r.chance(0.5) {
					cc.close = closeRST
				}
			}
		}
		next = t + g.expGap(s.lamMax)
	case RequestBurst, DistributedBurst:
		srv := s.target
		if srv < 0 {
			srv = g.pickServer()
		}
		k := s.pool
		if s.poolN > 1 {
			k += g.r.intn(s.poolN)
		}
		m := modeNormal
		if s.ev.QUIC {
			m = modeQUIC
		}
		if ci := g.spawn(t, &g.clients[k], srv, m, s.truth); ci >= 0 {
			g.conns[ci].exchanges = 1
			if s.kind == DistributedBurst {
				law := roleLaws[RoleAPI]
				g.conns[ci].objBytes = int64(law.draw(&g.r))
			}
		}
		next = t + g.expGap(s.lamMax)
	case FlashCrowd, ReleaseWave:
		u := t - s.start
		lam := s.lamMax
		if u < s.ramp {
			lam *= float64(u) / float64(s.ramp)
		} else if d := s.end - t; d < s.ramp {
			lam *= float64(d) / float64(s.ramp)
		}
		if g.r.float()*s.lamMax < lam {
			ci := g.spawn(t, &g.clients[s.pool+g.r.intn(s.poolN)], s.target, modeNormal, s.truth)
			if ci >= 0 && s.kind == ReleaseWave {
				c := &g.conns[ci]
				c.exchanges = 1
				c.objBytes = s.ev.ObjectBytes
				if c.objBytes == 0 {
					c.objBytes = int64(20e6 + g.r.float()*80e6)
				}
			}
		}
		next = t + g.expGap(s.lamMax)
	case OrganicRamp:
		f := s.rate
		if u := t - s.start; u < s.ramp {
			f = 1 + (s.rate-1)*float64(u)/float64(s.ramp)
		}
		if g.r.float()*s.lamMax < (f-1)*g.benignRate(t)*g.share[s.target] {
			g.spawnBenign(t, s.target, s.truth)
		}
		next = t + g.expGap(s.lamMax)
	case EgressSpike:
		g.chainNext(si, s.pool+s.spawned, t)
		s.spawned++
		next = t + int64(time.Millisecond)
		if s.spawned == s.flows {
			return -1, false
		}
		return next, false
	case BandwidthSpike, NightlyBackup, BackupPull, BigDownload:
		m := modeBulkDown
		if s.kind == NightlyBackup {
			m = modeBulkUp
		}
		if ci := g.spawn(t, &g.clients[s.pool], s.target, m, s.truth); ci >= 0 {
			c := &g.conns[ci]
			c.bulkEnd = s.end
			c.bw = s.rate / float64(s.flows) / 1e9
			c.rtt = int64(2*time.Millisecond) + int64(g.r.intn(int(8*time.Millisecond)))
		}
		s.spawned++
		next = t + int64(time.Millisecond)
		if s.spawned == s.flows {
			if s.kind != NightlyBackup && s.kind != BackupPull {
				return -1, false
			}
			s.spawned = 0
			s.start += int64(24 * time.Hour)
			s.end += int64(24 * time.Hour)
			s.truth++
			next = s.start
			if next >= g.end || s.truth >= len(g.truth.Events) {
				return -1, false
			}
		}
		return next, false
	default:
		return g.fireBackground(s, t)
	}
	if next >= s.end {
		return -1, emitted
	}
	return next, emitted
}

// chainNext starts the next download of an EgressSpike chain: client cl
// fetches the event's object from the target at the chain's share of the
// event's rate.
func (g *Generator) chainNext(si, cl int, t int64) {
	s := &g.srcs[si]
	if t >= s.end {
		return
	}
	ci := g.spawn(t, &g.clients[cl], s.target, modeBulkDown, s.truth)
	if ci < 0 {
		return
	}
	c := &g.conns[ci]
	c.bw = s.rate / float64(s.flows) / 1e9
	c.rtt = int64(2*time.Millisecond) + int64(g.r.intn(int(8*time.Millisecond)))
	c.objBytes = s.ev.ObjectBytes
	if c.objBytes == 0 {
		c.objBytes = 50 << 20
	}
	// The chain stops with the event: the last object is cut to what the
	// flow's rate moves by the event's end, so the event's egress lasts
	// Duration, as its truth says, and not as long as a whole object takes.
	c.objBytes = min(c.objBytes, max(64<<10, int64(c.bw*float64(s.end-t))))
	c.chain, c.chainCl = int32(si+1), int32(cl)
}

// setRetries applies an event's SYNACKRetries to a connection.
func (g *Generator) setRetries(c *conn, s *source) {
	if s.ev != nil && s.ev.SYNACKRetries > 0 {
		c.retx = uint8(s.ev.SYNACKRetries)
	}
}

// botMixed starts one BotnetFlood connection with a mixed outcome.
func (g *Generator) botMixed(s *source, cl *client, t int64) {
	u := g.r.float()
	m, ab := modeNormal, abortFlight
	switch {
	case u < 0.35:
	case u < 0.6:
		ab = abortSilent
	case u < 0.8:
		m, ab = modeHalfOpen, abortRST
	default:
		m, ab = modeHalfOpen, abortHang
	}
	if ci := g.spawn(t, cl, s.target, m, s.truth); ci >= 0 {
		c := &g.conns[ci]
		c.abort = ab
		g.setRetries(c, s)
		if s.ev.IPv6 && !c.ep.v6 {
			srv := &g.servers[s.target]
			c.ep.v6, c.ep.cAddr, c.ep.sAddr = true, cl.v6, srv.v6
			c.ep.flowLabel = g.r.u32() & 0xfffff
			c.mss, c.segMax = 1440, 1440
			if c.ts {
				c.segMax -= 12
			}
		}
	}
}

// floodSYN writes one spoofed SYN toward the source's target and may
// spawn the victim's SYN-ACK.
func (g *Generator) floodSYN(s *source, t int64) {
	ep, v := g.spoofedEndpoint(s.target)
	ep.sTTL = 64
	seg := segment{fromClient: true, flags: tcpSYN, seq: uint32(v >> 32), win: uint16(512 + (v>>40)%65000)}
	if v&(1<<62) != 0 && !s.ev.NoOptions {
		seg.opt, seg.mss = optMSS, 1460
	}
	if s.ev.FixedTTL > 0 {
		ep.cTTL = s.ev.FixedTTL
	}
	g.pkt.Timestamp, g.pkt.Data = t, writeFrame(g.buf, ep, &seg)
	g.pkt.Length = len(g.pkt.Data)
	g.truth.Events[s.truth].Packets++
	g.truth.Events[s.truth].Bytes += uint64(len(g.pkt.Data))
	if g.r.chance(s.answer) && g.active < g.cfg.MaxConns {
		ci := g.alloc()
		c := &g.conns[ci]
		c.ep = *ep
		c.ep.sIPID = uint16(g.r.u32())
		c.ev = int32(s.truth)
		c.mode = modeSynAck
		c.phase = phSYNACK
		c.t0 = t
		c.cISN = seg.seq
		c.cNxt = seg.seq + 1
		c.sISN = g.r.u32()
		c.mss = 1460
		c.sWin = 65160
		c.retx = 1
		g.setRetries(c, s)
		if s.ev.RSTFraction > 0 && g.r.chance(s.ev.RSTFraction) {
			c.abort = abortRST
			c.rtt = int64(g.r.lognormal(40e6, 0.7, 2e6, 600e6))
		}
		c.next = t + 20_000 + int64(g.r.intn(200_000))
		g.spawned = append(g.spawned, hent{t: c.next, id: ci})
	}
}

// spoofedEndpoint sets up g.floodEP for one packet from a random spoofed
// IPv4 source (address, port, TTL and IP ID) to server target's port 443,
// and returns it with the random word it drew the fields from.
func (g *Generator) spoofedEndpoint(target int) (*endpoint, uint64) {
	srv := &g.servers[target]
	ep := &g.floodEP
	*ep = endpoint{cAddr: g.randPublicV4(), sAddr: srv.v4, sPort: 443, sMAC: srv.mac}
	v := g.r.u64()
	ep.cPort = uint16(1024 + v%64512)
	ep.cTTL = uint8(32 + (v>>16)%200)
	ep.cIPID = uint16(v >> 24)
	return ep, v
}

func (g *Generator) alloc() int32 {
	g.active++
	if n := len(g.free); n > 0 {
		ci := g.free[n-1]
		g.free = g.free[:n-1]
		gen := g.conns[ci].gen
		g.conns[ci] = conn{gen: gen + 1}
		return ci
	}
	g.conns = append(g.conns, conn{})
	return int32(len(g.conns) - 1)
}

func (g *Generator) release(ci int32) {
	g.active--
	g.conns[ci].sni = ""
	g.free = append(g.free, ci)
}

// spawn starts a connection from cl to server si at time t and returns its
// index, or -1 when MaxConns connections are in flight.
func (g *Generator) spawn(t int64, cl *client, si int, m mode, ev int) int32 {
	if g.active >= g.cfg.MaxConns {
		g.truth.DroppedConns++
		return -1
	}
	g.truth.Connections++
	ci := g.alloc()
	c := &g.conns[ci]
	srv := &g.servers[si]
	r := &g.r
	c.ev = int32(ev)
	c.retx = 1
	c.mode = m
	c.server = int32(si)
	c.stack, c.os = cl.stack, cl.os
	c.ts = cl.os != osWindows
	c.t0, c.next = t, t

	ep := &c.ep
	ep.v6 = cl.useV6 && srv.v6capable
	if ep.v6 {
		ep.cAddr, ep.sAddr = cl.v6, srv.v6
		ep.flowLabel = r.u32() & 0xfffff
		c.mss = 1440
	} else {
		ep.cAddr, ep.sAddr = cl.v4, srv.v4
		c.mss = 1460
	}
	c.segMax = int(c.mss)
	if c.ts {
		c.segMax -= 12
	}
	ep.sMAC = srv.mac
	if r.chance(g.cfg.VLANFraction) {
		ep.vlan, ep.vidInner = vlanDot1Q, srv.vid
		if r.chance(g.cfg.QinQFraction) {
			ep.vlan, ep.vidOuter = vlanQinQ, 2000+srv.vid%8
		}
	}
	if srv.tagged && ep.vlan == vlanNone {
		ep.vlan, ep.vidInner = vlanDot1Q, srv.vid
	}
	ep.cPort, ep.sPort = cl.port, 443
	if cl.port++; cl.port == 0 {
		cl.port = 49152
	}
	init := uint8(64)
	if cl.os == osWindows {
		init = 128
	}
	ep.cTTL, ep.sTTL = init-cl.hops, 64
	ep.cIPID, ep.sIPID = uint16(r.u32()), uint16(r.u32())

	c.cISN, c.sISN = r.u32(), r.u32()
	c.cNxt, c.sNxt = c.cISN, c.sISN
	c.tsBase = [2]uint32{r.u32(), r.u32()}
	switch cl.os {
	case osWindows:
		c.cWin = 1026
	case osMac:
		c.cWin = 2058
	default:
		c.cWin = 502 + uint16(r.intn(1500))
	}
	c.sWin = 501
	c.rtt = int64(r.lognormal(40e6, 0.7, 2e6, 600e6))
	c.srvDelay = 20_000 + int64(r.intn(200_000))
	c.bw = r.lognormal(3e6, 1.0, 1e5, 1.25e8) / 1e9
	c.exchanges = 1
	for c.exchanges < 60 && r.chance(0.72) {
		c.exchanges++
	}
	switch u := r.float(); {
	case u < 0.78:
		c.close = closeClientFIN
	case u < 0.92:
		c.close = closeServerFIN
	default:
		c.close = closeRST
	}

	names := srv.names
	c.sni = names[r.intn(len(names))]
	c.helloSeed, c.flightSeed = r.u64(), r.u64()
	c.tls13 = c.stack.offersTLS13() && !srv.tls12
	c.ver = 0x0303
	if c.stack == StackLegacy10 {
		c.ver = 0x0301
	}
	c.mlkem = c.tls13 && c.stack.offersMLKEM() && srv.pq
	c.h2 = c.stack.offersH2()
	c.ems = c.stack != StackLegacy10
	if c.tls13 {
		c.cipher = 0x1301
		if u := r.float(); u > 0.9 {
			c.cipher = 0x1303
		} else if u > 0.8 {
			c.cipher = 0x1302
		}
	} else if c.stack == StackLegacy10 {
		c.cipher = 0xc009
	} else {
		c.cipher = 0xc02b
	}
	c.encLen = int(r.lognormal(3500, 0.3, 1500, 9000))
	g.spawned = append(g.spawned, hent{t: t, id: ci})
	return ci
}
