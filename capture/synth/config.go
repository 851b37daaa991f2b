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
	// spoofed random sources to one server's UDP port 443. Rate is
	// Initials per second; nothing answers.
	QUICFlood

	numEventKinds
)

var eventNames = [numEventKinds]string{"", "syn_flood", "botnet_flood", "bandwidth_spike", "request_burst",
	"flash_crowd", "nightly_backup", "quic_flood"}

var eventUnits = [numEventKinds]string{"", "syn/s", "conn/s", "bytes/s", "hello/s", "conn/s", "bytes/s", "initials/s"}

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
	// Sources is the number of source hosts (BotnetFlood, FlashCrowd) or
	// flows (BandwidthSpike, NightlyBackup); zero means the kind's default.
	Sources int
	// CompleteFraction is, for BotnetFlood, the fraction of connections
	// that complete the handshake.
	CompleteFraction float64
	// AnswerFraction is, for SYNFlood, the fraction of spoofed SYNs the
	// target answers with a SYN-ACK.
	AnswerFraction float64
	// Ramp is, for FlashCrowd, the time to reach the peak rate. Zero means
	// a quarter of Duration.
	Ramp time.Duration
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
	if c.Servers < 0 || c.Servers > 65536 {
		bad("servers", "must be in [0, 65536]", c.Servers)
	}
	if c.SNIs < 0 || c.SNIs > 1<<20 {
		bad("snis", "must be in [0, 1048576]", c.SNIs)
	}
	if c.Clients < 0 || c.Clients > 1<<24 {
		bad("clients", "must be in [0, 16777216]", c.Clients)
	}
	if c.MaxResponseBytes < 0 {
		bad("max_response_bytes", "must be >= 0", c.MaxResponseBytes)
	}
	if c.MaxConns < 0 {
		bad("max_conns", "must be >= 0", c.MaxConns)
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
		if !(e.Rate > 0) || math.IsInf(e.Rate, 0) {
			bad(p+".rate", "must be a finite number > 0", e.Rate)
		}
		if e.Target < -1 || e.Target >= servers || (e.Target == -1 && e.Kind != RequestBurst) {
			bad(p+".target", fmt.Sprintf("must be a server index in [0, %d) (or -1 for request_burst)", servers), e.Target)
		}
		if e.Sources < 0 || e.Sources > 1<<20 {
			bad(p+".sources", "must be in [0, 1048576]", e.Sources)
		}
		frac(p+".complete_fraction", e.CompleteFraction)
		frac(p+".answer_fraction", e.AnswerFraction)
		if e.Ramp < 0 || 2*e.Ramp > e.Duration {
			bad(p+".ramp", "must be in [0, duration/2]", e.Ramp)
		}
		if e.Kind == NightlyBackup && e.Duration >= 24*time.Hour {
			bad(p+".duration", "must be < 24h for nightly_backup", e.Duration)
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
	}
}
