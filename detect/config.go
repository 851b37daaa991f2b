package detect

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// DetectionConfig configures the statistical detectors. The zero value
// selects every default; NewEngine fills them in (see withDefaults).
type DetectionConfig struct {
	// Disabled turns the statistical detectors off; hygiene anomalies and
	// intervals still flow.
	Disabled bool
	// WatchServers are servers (address and port) always tracked exactly,
	// whatever MaxServers says.
	WatchServers []netip.AddrPort
	// WatchPrefixes are client prefixes whose SYN/s are tracked exactly,
	// with their own baselines (request_burst at prefix scope). A sketched
	// /24 or /64 equal to a watched prefix is left to the watched track.
	WatchPrefixes []netip.Prefix
	// MaxServers bounds the servers tracked per worker and in the
	// aggregator (default 256). A server is admitted when it first answers
	// (sends a packet to a client, or a client acknowledges an answer the
	// capture did not see), so spoofed floods cannot fill the table.
	MaxServers int
	// MaxTargets bounds the per-key incident trackers per scope for the
	// sketched scopes (client, sni, prefix); default 1024.
	MaxTargets int
	// TopClients, TopSNIs and TopPrefixes size the per-worker Space-Saving
	// summaries (defaults 256, 128 and 256). The (client, server) byte
	// summary counts pairOver times TopClients pairs and reports TopClients
	// of them an interval.
	TopClients, TopSNIs, TopPrefixes int
	// TopContributors is how many contributors an alert lists per kind of
	// key (default 5).
	TopContributors int

	// Learning is the learning period of the EWMA baselines in packet time
	// (default 10m): no baseline alert before it has passed. Static
	// thresholds apply from the first interval.
	Learning time.Duration
	// Seasonal adds a daily Holt-Winters profile (288 five-minute bins) to
	// the rate baselines; it takes over from the EWMA band once a full day
	// has been learned. Default true; set NoSeasonal to disable.
	NoSeasonal bool
	// Slow is the long window of bandwidth_spike, which catches moderate
	// but long rises (default 5m; negative leaves only the one-minute
	// window).
	Slow time.Duration

	// BandwidthSpike, RequestBurst, SYNFlood and QUICFlood tune each
	// detector. quic_flood watches the rate of client Initial packets on
	// monitored UDP ports (global scope) with the same CUSUM as syn_flood.
	BandwidthSpike, RequestBurst, SYNFlood, QUICFlood DetectorConfig

	// FlashCrowdShare: an SNI-scope request burst alerts only when the
	// heaviest client of the interval accounts for at least this share of
	// the excess over the baseline; an excess spread over many light clients
	// is a flash crowd (default 0.8). A negative value disables that check
	// and bandwidth_spike's check that new clients pulling without pause
	// carry the excess.
	FlashCrowdShare float64
	// SpoofedSourceRatio: a SYN flood whose unique SYN sources are at least
	// this fraction of its SYNs is reported as spoofed (default 0.8).
	SpoofedSourceRatio float64

	// CheckpointEvery is how often, in packet time, baselines are written to
	// Config.StateDir (default 5m).
	CheckpointEvery time.Duration
}

// DetectorConfig tunes one detector.
type DetectorConfig struct {
	// Disabled turns the detector off.
	Disabled bool
	// K and N: the condition must hold in K of the last N intervals before
	// an incident fires. Defaults: 3 of 5 for bandwidth_spike and
	// request_burst, 1 of 1 for syn_flood and quic_flood (whose CUSUM
	// already accumulates evidence over intervals).
	K, N int
	// Quiet is how long, in packet time, the condition must stay off before
	// an incident resolves (default 2m).
	Quiet time.Duration
	// MinVolume (per second, in the detector's unit) keeps small values of
	// request_burst's client, SNI and prefix scopes quiet: below it on both
	// the value and the expectation nothing alerts (default 5 hellos/s).
	// The count tests (syn_flood, quic_flood, request_burst at global and
	// server scope) and bandwidth_spike's records have no volume guard and
	// ignore it; the other detectors keep their old defaults (131072
	// bytes/s, 8 SYN/s, 10 Initials/s) only so that configurations that
	// set them stay valid.
	MinVolume float64
	// Static are optional absolute thresholds per scope (per second, in
	// the detector's unit; syn_flood's and quic_flood's judge all SYNs and
	// all client Initials, answered or not), a second line that works
	// without a baseline and during learning. A zero or missing entry
	// means none.
	Static map[string]float64
}

// Scopes.
const (
	ScopeGlobal = "global"
	ScopeServer = "server"
	ScopeClient = "client"
	ScopeSNI    = "sni"
	ScopePrefix = "prefix"
)

// AllScopes lists every scope, for label values.
var AllScopes = [...]string{ScopeGlobal, ScopeServer, ScopeClient, ScopeSNI, ScopePrefix}

// Detectors lists the statistical detector IDs, in registry order, for
// label values and configuration keys.
var Detectors = func() []string {
	out := make([]string, len(registry))
	for i, d := range registry {
		out[i] = d.kind()
	}
	return out
}()

// Detector returns the section of the detector with ID kind, nil if there
// is no such detector.
func (c *DetectionConfig) Detector(kind string) *DetectorConfig {
	for _, d := range registry {
		if d.kind() == kind {
			return d.section(c)
		}
	}
	return nil
}

func (d DetectorConfig) withDefaults(k, n int, minVol float64) DetectorConfig {
	if d.K == 0 {
		d.K = k
	}
	if d.N == 0 {
		d.N = max(n, d.K)
	}
	if d.Quiet <= 0 {
		d.Quiet = 2 * time.Minute
	}
	if d.MinVolume == 0 {
		d.MinVolume = minVol
	}
	return d
}

func (c DetectionConfig) withDefaults() DetectionConfig {
	if c.MaxServers <= 0 {
		c.MaxServers = 256
	}
	if c.MaxTargets <= 0 {
		c.MaxTargets = 1024
	}
	if c.TopClients <= 0 {
		c.TopClients = 256
	}
	if c.TopSNIs <= 0 {
		c.TopSNIs = 128
	}
	if c.TopPrefixes <= 0 {
		c.TopPrefixes = 256
	}
	if c.TopContributors <= 0 {
		c.TopContributors = 5
	}
	if c.Learning <= 0 {
		c.Learning = 10 * time.Minute
	}
	if c.Slow == 0 {
		c.Slow = 5 * time.Minute
	}
	c.BandwidthSpike = c.BandwidthSpike.withDefaults(3, 5, 128<<10)
	c.RequestBurst = c.RequestBurst.withDefaults(3, 5, 5)
	c.SYNFlood = c.SYNFlood.withDefaults(1, 1, 8)
	c.QUICFlood = c.QUICFlood.withDefaults(1, 1, 10)
	if c.FlashCrowdShare == 0 {
		c.FlashCrowdShare = 0.8
	}
	if c.SpoofedSourceRatio <= 0 {
		c.SpoofedSourceRatio = 0.8
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = 5 * time.Minute
	}
	return c
}

// Validate reports every invalid field, after defaults, each with its
// path under "detection".
func (c DetectionConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, name := range Detectors {
		d := struct {
			name string
			c    DetectorConfig
		}{name, *c.Detector(name)}
		if d.c.K < 1 || d.c.N > 64 || d.c.K > d.c.N {
			errs = append(errs, fmt.Errorf("detection.%s: need 1 <= k <= n <= 64, got k=%d n=%d", d.name, d.c.K, d.c.N))
		}
		if d.c.MinVolume < 0 {
			errs = append(errs, fmt.Errorf("detection.%s.min_volume: must be >= 0, got %v", d.name, d.c.MinVolume))
		}
		for s, v := range d.c.Static {
			if !validScope(s) {
				errs = append(errs, fmt.Errorf("detection.%s.static: unknown scope %q", d.name, s))
			}
			if v < 0 {
				errs = append(errs, fmt.Errorf("detection.%s.static.%s: must be >= 0, got %v", d.name, s, v))
			}
		}
	}
	if c.MaxServers > 1<<20 {
		errs = append(errs, fmt.Errorf("detection.max_servers: must be <= %d, got %d", 1<<20, c.MaxServers))
	}
	if c.FlashCrowdShare > 1 {
		errs = append(errs, fmt.Errorf("detection.flash_crowd_share: must be <= 1, got %v", c.FlashCrowdShare))
	}
	for i, p := range c.WatchPrefixes {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("detection.watch_prefixes[%d]: invalid prefix", i))
		}
	}
	return errors.Join(errs...)
}

func validScope(s string) bool {
	for _, x := range AllScopes {
		if x == s {
			return true
		}
	}
	return false
}
