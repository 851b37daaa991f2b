package synth

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Config describes the traffic to generate. The zero value of every field
// but Duration and ConnRate has a usable default, listed on the field.
// The same Config always yields byte-identical output.
type Config struct {
	// Seed selects the pseudo-random stream; every random choice derives
	// from it.
	Seed uint64
	// Start is the timestamp of the first packet slot. Zero means
	// 2026-01-05T00:00:00Z (a Monday, midnight UTC).
	Start time.Time
	// Duration is how much traffic time to generate; it must be > 0.
	Duration time.Duration
	// ConnRate is the mean number of new benign connections per second; it
	// must be >= 0. With Diurnal it is the mean over a whole day.
	ConnRate float64
	// Diurnal makes the benign connection rate follow the time of day:
	// ConnRate × (1 + DiurnalAmplitude × cos(2π (hour − PeakHour) / 24)),
	// quiet at night and busiest in the afternoon. Hours are read in
	// Start's time zone.
	Diurnal bool
	// DiurnalAmplitude is the relative swing of the diurnal curve, in
	// [0, 1). Zero means 0.8 when Diurnal is set.
	DiurnalAmplitude float64
	// PeakHour is the busiest hour of the day, in [0, 24). Zero means 15.
	PeakHour float64
	// IPv6Fraction is the fraction of clients that connect over IPv6.
	IPv6Fraction float64
	// QUICFraction is the fraction of benign connections made over QUIC
	// (HTTP/3 on UDP/443) instead of TCP: a client Initial carrying the
	// ClientHello, the server's Initial and Handshake flight, then 1-RTT
	// packets carrying the response. Zero (the default) makes none.
	QUICFraction float64
	// VLANFraction is the fraction of connections whose frames carry an
	// 802.1Q tag.
	VLANFraction float64
	// QinQFraction is the fraction of the tagged connections that carry
	// two tags (802.1ad outer, 802.1Q inner).
	QinQFraction float64
	// Servers is the number of server addresses on port 443. Zero means 8.
	// Popularity follows Zipf's law: server 0 is the busiest.
	Servers int
	// SNIs is the number of server names, shared out over the servers.
	// Zero means 3 × Servers; it is raised to Servers if smaller.
	SNIs int
	// Clients is the number of benign client hosts. Zero means 1000.
	Clients int
	// StackMix weights the client TLS stacks; nil means [DefaultStackMix].
	StackMix map[Stack]float64
	// Events are the anomalies to inject.
	Events []Event
	// MaxResponseBytes caps the heavy-tailed (Pareto) response sizes of
	// benign connections. Zero means 200 MB.
	MaxResponseBytes int64
	// MaxConns bounds the number of connections in flight; arrivals beyond
	// it are dropped (and counted in [Truth.DroppedConns]). Zero means
	// 1,000,000.
	MaxConns int

	// The fields below switch on the realistic model (docs/synth.md). Each
	// is off when zero, and a Config that sets none of them generates the
	// same bytes as before they existed.

	// Roles gives server i the role Roles[i % len(Roles)], which sets its
	// response-size law (see [Role]). Nil keeps the single legacy law (a
	// Pareto with α = 1.15 capped at MaxResponseBytes) for every server.
	Roles []Role
	// IPv6Servers, when not nil, lists the only servers reachable over
	// IPv6; IPv6 clients reach the others over IPv4. Nil keeps the legacy
	// rule (four servers in five).
	IPv6Servers []int
	// VLANServers lists servers behind an 802.1Q tag: every frame to or
	// from them carries their VLAN ID, whatever VLANFraction says.
	VLANServers []int
	// Burstiness is σ of a per-minute multiplicative factor on the benign
	// arrival rate: log-normal with mean 1, capped at 3. Zero means none.
	Burstiness float64
	// TSO makes data segments look as a capture on a host with
	// segmentation offload sees them: the server's segments are TSO
	// super-segments of several MSS up to 64 KB, and client uploads appear
	// GRO-coalesced the same way. Handshake segments stay MSS-sized.
	TSO bool
	// Snaplen, when > 0, truncates every frame but the handshake (SYN,
	// SYN-ACK, ACK, ClientHello, server and client flights, QUIC Initials)
	// to Snaplen captured bytes; IP and TCP length fields keep the wire
	// length. It must be 0 or at least 128.
	Snaplen int
	// ScanRate is the total rate, per second, of internet scanner probes
	// on port 443, spread over every server: SYN-only probes (SYN, SYN-ACK,
	// RST) and, one in four, a TLS probe (handshake and an odd ClientHello,
	// then close).
	ScanRate float64
	// ScanSources is the size of the scanners' address pool. Zero means 300.
	ScanSources int
	// Pollers is the number of API pollers: clients that each connect to
	// an API-role server (or server 0 without one) every PollInterval
	// ± 10% for one small request.
	Pollers int
	// PollInterval is the pollers' period. Zero means one minute.
	PollInterval time.Duration
	// NATGateways is the number of NAT gateway addresses. Each carries a
	// share of the benign arrivals, every connection with its own browser
	// stack from StackMix.
	NATGateways int
	// NATShare is the fraction of benign arrivals that come from a NAT
	// gateway (when NATGateways > 0). Zero means 0.2.
	NATShare float64
	// Crawlers is the number of crawler clients (Go and Python). Each
	// rests for an exponential time (mean CrawlEvery), then crawls for a
	// log-normal session (median 20 minutes) at 0.5 to 2 conn/s.
	Crawlers int
	// CrawlEvery is the mean rest between a crawler's sessions. Zero means
	// six hours.
	CrawlEvery time.Duration
	// DownloadsPerHour is the rate of big (10 to 30 MB) downloads from each
	// download-role server, a Poisson process day and night.
	DownloadsPerHour float64
}

// DefaultStackMix returns the client stack weights used when
// [Config.StackMix] is nil: mostly browsers, some tools and a few legacy
// TLS 1.0/1.2 clients.
func DefaultStackMix() map[Stack]float64 {
	return map[Stack]float64{
		StackChrome: 0.50, StackFirefox: 0.10, StackSafari: 0.18, StackCurl: 0.05,
		StackGo: 0.07, StackPython: 0.06, StackLegacy12: 0.03, StackLegacy10: 0.01,
	}
}

// EventKind is the kind of an injected anomaly.
type EventKind uint8

// Event kinds. The names match the monitor443 detector IDs where one exists.
const (
	// SYNFlood sends SYNs from spoofed random sources to one server.
	// Rate is SYNs per second. AnswerFraction of them get a SYN-ACK.
	SYNFlood EventKind = iota + 1
	// BotnetFlood opens connections from a moderate set of real sources
	// (Sources, default 300) to one server. Rate is connections per second;
	// CompleteFraction of them complete the handshake and send a
	// ClientHello, the rest stop after the SYN-ACK.
	BotnetFlood
	// BandwidthSpike has one client download from one server over Sources
	// flows (default 1). Rate is the total bytes per second.
	BandwidthSpike
	// RequestBurst has one client open full TLS connections. Rate is
	// ClientHellos per second; Target -1 spreads them over all servers.
	RequestBurst
	// FlashCrowd brings Sources (default 2000) new legitimate clients to
	// one server. Rate is the peak connections per second, reached after
	// Ramp and left over the last Ramp of the event.
	FlashCrowd
	// NightlyBackup uploads from one backup host to one server every day
	// at the same time of day, first at Start. Rate is bytes per second.
	NightlyBackup
	// QUICFlood sends QUIC version 1 client Initials, each a valid
	// 1200-byte packet with a ClientHello for a new connection, from
	// spoofed random sources to one server's UDP port 443, or, when
	// Sources is set, from that many real hosts (fixed addresses, TTLs of
	// a real path), which never return either. Rate is Initials per
	// second; nothing answers.
	QUICFlood
	// DistributedBurst sends short TLS requests (one exchange, a small
	// response) from Sources clients (default 600): 80% of them existing
	// benign clients, the rest new bot-like stacks (Go, Python, headless
	// Chrome). Rate is ClientHellos per second, constant from start to
	// end; Target -1 spreads them over all servers.
	DistributedBurst
	// EgressSpike has Sources new clients (default 3) each run a chain of
	// downloads of ObjectBytes from the target, the next connection as soon
	// as the previous object is complete, so that the target's egress rises
	// by Rate bytes per second in total.
	EgressSpike
	// BackupPull has one host download from the target at Rate bytes per
	// second over Sources flows, every day at the same time of day, first
	// at Start: a benign nightly pull, server egress.
	BackupPull
	// OrganicRamp multiplies the target's benign arrival rate by a factor
	// that rises linearly from 1 to Rate over Ramp and then stays until the
	// capture ends (Duration bounds the ramp's truth entry only).
	OrganicRamp
	// ReleaseWave has Sources clients (default 3000, mostly new) each
	// download one large object (ObjectBytes, or 20 to 100 MB) from the
	// target; arrivals ramp up over Ramp to Rate per second and down over
	// the last Ramp.
	ReleaseWave
	// BigDownload has one new client download one object of Rate × Duration
	// bytes at Rate bytes per second.
	BigDownload

	numEventKinds
)

var eventNames = [numEventKinds]string{"", "syn_flood", "botnet_flood", "bandwidth_spike", "request_burst",
	"flash_crowd", "nightly_backup", "quic_flood", "distributed_burst", "egress_spike", "backup_pull",
	"organic_ramp", "release_wave", "big_download"}

var eventUnits = [numEventKinds]string{"", "syn/s", "conn/s", "bytes/s", "hello/s", "conn/s", "bytes/s", "initials/s",
	"hello/s", "bytes/s", "bytes/s", "x", "conn/s", "bytes/s"}

// Class returns "attack" or "benign": whether a detector should alert.
func (k EventKind) Class() string {
	switch k {
	case SYNFlood, BotnetFlood, BandwidthSpike, RequestBurst, DistributedBurst, EgressSpike, QUICFlood:
		return "attack"
	}
	return "benign"
}

// Detectors returns the IDs of the monitor443 detectors whose alert counts
// as detecting an event of kind k; benign kinds have none.
func (k EventKind) Detectors() []string {
	switch k {
	case SYNFlood:
		return []string{"syn_flood"}
	case BotnetFlood:
		return []string{"syn_flood", "request_burst"}
	case RequestBurst, DistributedBurst:
		return []string{"request_burst"}
	case BandwidthSpike, EgressSpike:
		return []string{"bandwidth_spike"}
	case QUICFlood:
		return []string{"quic_flood"}
	}
	return []string{}
}

// EventKinds returns every EventKind in declaration order.
func EventKinds() []EventKind {
	k := make([]EventKind, 0, numEventKinds-1)
	for i := SYNFlood; i < numEventKinds; i++ {
		k = append(k, i)
	}
	return k
}

// String returns the snake_case name, e.g. "syn_flood".
func (k EventKind) String() string {
	if k > 0 && k < numEventKinds {
		return eventNames[k]
	}
	return fmt.Sprintf("event_%d", uint8(k))
}

// RateUnit returns the unit of [Event.Rate] for k, e.g. "syn/s".
func (k EventKind) RateUnit() string {
	if k > 0 && k < numEventKinds {
		return eventUnits[k]
	}
	return ""
}

// ParseEventKind returns the EventKind named name.
func ParseEventKind(name string) (EventKind, error) {
	for i := SYNFlood; i < numEventKinds; i++ {
		if eventNames[i] == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown event kind %q", name)
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EventKind) UnmarshalText(b []byte) error {
	v, err := ParseEventKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Event is one injected anomaly.
type Event struct {
	// Kind says what to inject.
	Kind EventKind
	// Start is the event's start as an offset from Config.Start.
	Start time.Duration
	// Duration is how long the event lasts; it must be > 0.
	Duration time.Duration
	// Rate is the event's intensity, in the unit of [EventKind.RateUnit].
	Rate float64
	// Target is the index of the target server (0 is the busiest). -1 means
	// every server, for RequestBurst only.
	Target int
	// Sources is the number of source hosts (BotnetFlood, FlashCrowd, and
	// QUICFlood, which spoofs without it) or flows (BandwidthSpike,
	// NightlyBackup); zero means the kind's default.
	Sources int
	// CompleteFraction is, for BotnetFlood, the fraction of connections
	// that complete the handshake.
	CompleteFraction float64
	// AnswerFraction is, for SYNFlood, the fraction of spoofed SYNs the
	// target answers with a SYN-ACK.
	AnswerFraction float64
	// Ramp is, for FlashCrowd and ReleaseWave, the time to reach the peak
	// rate (zero means a quarter of Duration) and, for OrganicRamp, the
	// time to reach the full factor (zero means Duration).
	Ramp time.Duration

	// Factor, when > 0 and Rate is 0, sets Rate = (Factor − 1) × the
	// target's expected benign rate of what Rate counts (see
	// [Config.Expected]) at the event's start, so that the total during the
	// event is about Factor times normal. For OrganicRamp, Factor is the
	// final multiplier.
	Factor float64
	// Label is free text copied into the truth.
	Label string
	// TargetLatency is the detection latency the scenario asks for; it is
	// copied into the truth.
	TargetLatency time.Duration
	// FixedTTL, when > 0, gives every spoofed SYN of a SYNFlood this TTL.
	FixedTTL uint8
	// NoOptions sends a SYNFlood's SYNs without TCP options.
	NoOptions bool
	// RSTFraction is, for SYNFlood, the fraction of answered spoofed
	// sources whose owner answers the SYN-ACK with a RST.
	RSTFraction float64
	// SYNACKRetries is how often the target retransmits an unanswered
	// SYN-ACK (SYNFlood, BotnetFlood), after 1 s, 3 s, 7 s... as Linux does.
	// Zero keeps the legacy single retransmission after 1 s.
	SYNACKRetries int
	// IPv6 makes a BotnetFlood's sources IPv6 hosts.
	IPv6 bool
	// Mixed gives a BotnetFlood mixed outcomes: about a third complete,
	// send a ClientHello and reset, a quarter complete and go silent, a
	// fifth reset the SYN-ACK, the rest leave it half-open.
	// CompleteFraction is then ignored.
	Mixed bool
	// QUIC makes a RequestBurst's or DistributedBurst's connections HTTP/3
	// over QUIC (real clients that complete their handshakes) instead of
	// TLS over TCP.
	QUIC bool
	// ObjectBytes is the object size of EgressSpike and ReleaseWave
	// downloads. Zero means 50 MB for EgressSpike and 20 to 100 MB for
	// ReleaseWave.
	ObjectBytes int64
}

var defaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func (e Event) sources() int {
	if e.Sources > 0 {
		return e.Sources
	}
	switch e.Kind {
	case BotnetFlood:
		return 300
	case FlashCrowd:
		return 2000
	case DistributedBurst:
		return 600
	case EgressSpike:
		return 3
	case ReleaseWave:
		return 3000
	}
	return 1
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Start.IsZero() {
		c.Start = defaultStart
	}
	if c.Diurnal && c.DiurnalAmplitude == 0 {
		c.DiurnalAmplitude = 0.8
	}
	if c.PeakHour == 0 {
		c.PeakHour = 15
	}
	if c.Servers == 0 {
		c.Servers = 8
	}
	if c.SNIs == 0 {
		c.SNIs = 3 * c.Servers
	}
	c.SNIs = max(c.SNIs, c.Servers)
	if c.Clients == 0 {
		c.Clients = 1000
	}
	if c.StackMix == nil {
		c.StackMix = DefaultStackMix()
	}
	if c.MaxConns == 0 {
		c.MaxConns = 1_000_000
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 200 << 20
	}
	if c.ScanSources == 0 {
		c.ScanSources = 300
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Minute
	}
	if c.NATShare == 0 {
		c.NATShare = 0.2
	}
	if c.CrawlEvery == 0 {
		c.CrawlEvery = 6 * time.Hour
	}
	return c
}

// Validate reports every problem with c, each prefixed by its field path.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, msg string, v any) { errs = append(errs, fmt.Errorf("%s: %s, got %v", path, msg, v)) }
	frac := func(path string, v float64) {
		if !(v >= 0 && v <= 1) {
			bad(path, "must be in [0, 1]", v)
		}
	}
	intIn := func(path string, v, hi int) {
		if v < 0 || v > hi {
			bad(path, fmt.Sprintf("must be in [0, %d]", hi), v)
		}
	}
	if c.Duration <= 0 {
		bad("duration", "must be > 0", c.Duration)
	}
	if !(c.ConnRate >= 0) || math.IsInf(c.ConnRate, 0) {
		bad("conn_rate", "must be a finite number >= 0", c.ConnRate)
	}
	if !(c.DiurnalAmplitude >= 0 && c.DiurnalAmplitude < 1) {
		bad("diurnal_amplitude", "must be in [0, 1)", c.DiurnalAmplitude)
	}
	if !(c.PeakHour >= 0 && c.PeakHour < 24) {
		bad("peak_hour", "must be in [0, 24)", c.PeakHour)
	}
	frac("ipv6_fraction", c.IPv6Fraction)
	frac("quic_fraction", c.QUICFraction)
	frac("vlan_fraction", c.VLANFraction)
	frac("qinq_fraction", c.QinQFraction)
	intIn("servers", c.Servers, 65536)
	intIn("snis", c.SNIs, 1<<20)
	intIn("clients", c.Clients, 1<<24)
	if c.MaxResponseBytes < 0 {
		bad("max_response_bytes", "must be >= 0", c.MaxResponseBytes)
	}
	if c.MaxConns < 0 {
		bad("max_conns", "must be >= 0", c.MaxConns)
	}
	nonneg := func(path string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			bad(path, "must be a finite number >= 0", v)
		}
	}
	for i, r := range c.Roles {
		if r == 0 || r >= numRoles {
			bad(fmt.Sprintf("roles[%d]", i), "unknown role", r)
		}
	}
	if !(c.Burstiness >= 0 && c.Burstiness <= 2) {
		bad("burstiness", "must be in [0, 2]", c.Burstiness)
	}
	if c.Snaplen != 0 && (c.Snaplen < 128 || c.Snaplen > 65535) {
		bad("snaplen", "must be 0 or in [128, 65535]", c.Snaplen)
	}
	nonneg("scan_rate", c.ScanRate)
	nonneg("downloads_per_hour", c.DownloadsPerHour)
	frac("nat_share", c.NATShare)
	intIn("scan_sources", c.ScanSources, 1<<20)
	intIn("pollers", c.Pollers, 1<<20)
	intIn("nat_gateways", c.NATGateways, 1<<16)
	intIn("crawlers", c.Crawlers, 1<<16)
	if c.PollInterval < 0 {
		bad("poll_interval", "must be >= 0", c.PollInterval)
	}
	if c.CrawlEvery < 0 {
		bad("crawl_every", "must be >= 0", c.CrawlEvery)
	}
	total := 0.0
	for _, s := range slices.Sorted(maps.Keys(c.StackMix)) {
		w := c.StackMix[s]
		if s >= numStacks {
			bad(fmt.Sprintf("stack_mix.%s", s), "unknown stack", w)
		} else if !(w >= 0) || math.IsInf(w, 0) {
			bad(fmt.Sprintf("stack_mix.%s", s), "must be a finite number >= 0", w)
		} else {
			total += w
		}
	}
	if c.StackMix != nil && total <= 0 {
		bad("stack_mix", "must have a positive weight", total)
	}
	servers := c.Servers
	if servers == 0 {
		servers = 8
	}
	for i, s := range c.IPv6Servers {
		if s < 0 || s >= servers {
			bad(fmt.Sprintf("ipv6_servers[%d]", i), fmt.Sprintf("must be a server index in [0, %d)", servers), s)
		}
	}
	for i, s := range c.VLANServers {
		if s < 0 || s >= servers {
			bad(fmt.Sprintf("vlan_servers[%d]", i), fmt.Sprintf("must be a server index in [0, %d)", servers), s)
		}
	}
	for i, e := range c.Events {
		p := fmt.Sprintf("events[%d]", i)
		if e.Kind == 0 || e.Kind >= numEventKinds {
			bad(p+".kind", "unknown event kind", e.Kind)
		}
		if e.Start < 0 {
			bad(p+".start", "must be >= 0", e.Start)
		}
		if e.Duration <= 0 {
			bad(p+".duration", "must be > 0", e.Duration)
		}
		if e.Factor == 0 && (!(e.Rate > 0) || math.IsInf(e.Rate, 0)) {
			bad(p+".rate", "must be a finite number > 0 (or set factor)", e.Rate)
		}
		if e.Factor != 0 && (e.Rate != 0 || !(e.Factor > 1) || math.IsInf(e.Factor, 0)) {
			bad(p+".factor", "must be a finite number > 1, with rate 0", e.Factor)
		}
		if e.Kind == OrganicRamp && e.Rate != 0 && !(e.Rate > 1) {
			bad(p+".rate", "must be > 1 for organic_ramp", e.Rate)
		}
		global := e.Kind == RequestBurst || e.Kind == DistributedBurst
		if e.Target < -1 || e.Target >= servers || (e.Target == -1 && !global) {
			bad(p+".target", fmt.Sprintf("must be a server index in [0, %d) (or -1 for request_burst and distributed_burst)", servers), e.Target)
		}
		if e.IPv6 && c.IPv6Servers != nil && !slices.Contains(c.IPv6Servers, e.Target) {
			bad(p+".ipv6", "needs a target listed in ipv6_servers", e.Target)
		}
		if e.QUIC && !global {
			bad(p+".quic", "only request_burst and distributed_burst run over QUIC", e.QUIC)
		}
		frac(p+".rst_fraction", e.RSTFraction)
		if e.SYNACKRetries < 0 || e.SYNACKRetries > 6 {
			bad(p+".synack_retries", "must be in [0, 6]", e.SYNACKRetries)
		}
		if e.ObjectBytes < 0 {
			bad(p+".object_bytes", "must be >= 0", e.ObjectBytes)
		}
		if e.TargetLatency < 0 {
			bad(p+".target_latency", "must be >= 0", e.TargetLatency)
		}
		if e.Sources < 0 || e.Sources > 1<<20 {
			bad(p+".sources", "must be in [0, 1048576]", e.Sources)
		}
		frac(p+".complete_fraction", e.CompleteFraction)
		frac(p+".answer_fraction", e.AnswerFraction)
		if e.Kind == OrganicRamp {
			if e.Ramp < 0 || e.Ramp > e.Duration {
				bad(p+".ramp", "must be in [0, duration]", e.Ramp)
			}
		} else if e.Ramp < 0 || 2*e.Ramp > e.Duration {
			bad(p+".ramp", "must be in [0, duration/2]", e.Ramp)
		}
		if (e.Kind == NightlyBackup || e.Kind == BackupPull) && e.Duration >= 24*time.Hour {
			bad(p+".duration", "must be < 24h for "+e.Kind.String(), e.Duration)
		}
	}
	return errors.Join(errs...)
}

// Presets returns named, ready-to-use configurations:
//
//   - "demo": three minutes of light traffic with a SYN flood at 1m30s and
//     a bandwidth spike at 2m20s; the pcap is well under 1 MB.
//   - "day": a benign 24-hour day at a low, diurnal rate.
//   - "week": seven diurnal days with a nightly backup at 02:00.
//   - "eval": two busy hours with one event of every kind, for detector
//     evaluation.
//   - "bench": one minute at a high connection rate, for throughput tests.
//   - "eval-small": 72 hours of the realistic model of a small network
//     (0.5 conn/s): a benign day, a day of attacks of every class at
//     several magnitudes and times of day, a benign day with events that
//     must not alert.
//   - "eval-short": six hours of eval-small with two attacks and one benign
//     event, for CI.
//   - "eval-large": 2 h 45 min of a large network (about 500 conn/s at
//     the 15:00 peak) with a compressed attack day.
//   - "eval-cold", "eval-cold-large": three minutes with a SYN flood 10 s
//     in, small and large network.
func Presets() map[string]Config {
	return map[string]Config{
		"demo": {
			Seed: 2, Duration: 3 * time.Minute, ConnRate: 0.12, Servers: 4, Clients: 40, MaxResponseBytes: 16 << 10,
			IPv6Fraction: 0.2, VLANFraction: 0.1, QinQFraction: 0.3,
			Events: []Event{
				{Kind: SYNFlood, Start: 90 * time.Second, Duration: 10 * time.Second, Rate: 150, AnswerFraction: 0.2},
				{Kind: BandwidthSpike, Start: 140 * time.Second, Duration: 4 * time.Second, Rate: 40_000},
			},
		},
		"day": {
			Seed: 1, Duration: 24 * time.Hour, ConnRate: 0.1, Diurnal: true, MaxResponseBytes: 1 << 20,
			IPv6Fraction: 0.25, VLANFraction: 0.1, QinQFraction: 0.2,
		},
		"week": {
			Seed: 1, Duration: 7 * 24 * time.Hour, ConnRate: 0.05, Diurnal: true, MaxResponseBytes: 1 << 20,
			IPv6Fraction: 0.25, VLANFraction: 0.1, QinQFraction: 0.2,
			Events: []Event{
				{Kind: NightlyBackup, Start: 2 * time.Hour, Duration: 15 * time.Minute, Rate: 100_000, Target: 1},
			},
		},
		"eval": {
			Seed: 1, Start: defaultStart.Add(9 * time.Hour), Duration: 2 * time.Hour, ConnRate: 2, Diurnal: true,
			Servers: 16, Clients: 5000, MaxResponseBytes: 256 << 10, IPv6Fraction: 0.25, VLANFraction: 0.1, QinQFraction: 0.2,
			Events: []Event{
				{Kind: SYNFlood, Start: 10 * time.Minute, Duration: 2 * time.Minute, Rate: 2000, AnswerFraction: 0.1},
				{Kind: BotnetFlood, Start: 25 * time.Minute, Duration: 3 * time.Minute, Rate: 200, Target: 2,
					Sources: 300, CompleteFraction: 0.4},
				{Kind: BandwidthSpike, Start: 40 * time.Minute, Duration: time.Minute, Rate: 4 << 20, Sources: 3},
				{Kind: RequestBurst, Start: 55 * time.Minute, Duration: time.Minute, Rate: 100, Target: 1},
				{Kind: FlashCrowd, Start: 70 * time.Minute, Duration: 10 * time.Minute, Rate: 20, Target: 3,
					Ramp: 3 * time.Minute},
				{Kind: NightlyBackup, Start: 100 * time.Minute, Duration: 3 * time.Minute, Rate: 1 << 20, Target: 4},
			},
		},
		"bench": {
			Seed: 1, Duration: time.Minute, ConnRate: 5000, Servers: 64, Clients: 100_000,
			IPv6Fraction: 0.25, VLANFraction: 0.1, QinQFraction: 0.2,
		},
		"eval-small":      evalSmall(),
		"eval-short":      evalShort(),
		"eval-large":      evalLarge(),
		"eval-cold":       evalCold(evalSmallBase()),
		"eval-cold-large": evalCold(evalLargeBase()),
	}
}
