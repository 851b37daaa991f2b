package main

import (
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/monitor443/monitor443/alerting"
	"github.com/monitor443/monitor443/detect"
	"go.yaml.in/yaml/v3"
)

// rawConfig is the YAML file as written. Pointer fields mean "unset"; Parse
// fills defaults in one place.
type rawConfig struct {
	Capture *struct {
		TCPPorts  []int   `yaml:"tcp_ports"`
		UDPPorts  []int   `yaml:"udp_ports"`
		Workers   *int    `yaml:"workers"`
		Method    *string `yaml:"method"`
		RingMiB   *int    `yaml:"ring_mib"`
		SnapLen   *int    `yaml:"snaplen"`
		Promisc   *bool   `yaml:"promiscuous"`
		Interface *string `yaml:"interface"`
	} `yaml:"capture"`
	Flows *struct {
		MaxFlows        *int    `yaml:"max_flows"`
		MaxHalfOpen     *int    `yaml:"max_half_open"`
		IdleTimeout     *string `yaml:"idle_timeout"`
		HalfOpenTimeout *string `yaml:"half_open_timeout"`
		ClosedTimeout   *string `yaml:"closed_timeout"`
		MaxReassembly   *int    `yaml:"max_reassembly"`
	} `yaml:"flows"`
	TLS *struct {
		MaxHelloBytes  *int    `yaml:"max_hello_bytes"`
		MaxServerBytes *int    `yaml:"max_server_bytes"`
		Hygiene        *bool   `yaml:"hygiene"`
		BlocklistFile  *string `yaml:"blocklist_file"`
		TopSNI         *int    `yaml:"top_sni"`
	} `yaml:"tls"`
	Detection *struct {
		Interval        *string `yaml:"interval"`
		ResolveAfter    *string `yaml:"resolve_after"`
		Enabled         *bool   `yaml:"enabled"`
		Learning        *string `yaml:"learning"`
		Seasonal        *bool   `yaml:"seasonal"`
		SlowWindow      *string `yaml:"slow_window"`
		StateDir        *string `yaml:"state_dir"`
		CheckpointEvery *string `yaml:"checkpoint_every"`
		Watch           *struct {
			Servers  []string `yaml:"servers"`
			Prefixes []string `yaml:"prefixes"`
		} `yaml:"watch"`
		MaxServers         *int                    `yaml:"max_servers"`
		MaxTargets         *int                    `yaml:"max_targets"`
		TopClients         *int                    `yaml:"top_clients"`
		TopSNIs            *int                    `yaml:"top_snis"`
		TopPrefixes        *int                    `yaml:"top_prefixes"`
		TopContributors    *int                    `yaml:"top_contributors"`
		FlashCrowdShare    *float64                `yaml:"flash_crowd_share"`
		SpoofedSourceRatio *float64                `yaml:"spoofed_source_ratio"`
		Detectors          map[string]*rawDetector `yaml:"detectors"`
	} `yaml:"detection"`
	Alerting *alerting.RawConfig `yaml:"alerting"`
}

// rawDetector tunes one statistical detector.
type rawDetector struct {
	Enabled   *bool              `yaml:"enabled"`
	K         *int               `yaml:"k"`
	N         *int               `yaml:"n"`
	Quiet     *string            `yaml:"quiet"`
	MinVolume *float64           `yaml:"min_volume"`
	Static    map[string]float64 `yaml:"static"`
}

// Config is the validated configuration.
type Config struct {
	Capture struct {
		TCPPorts, UDPPorts []uint16
		Workers            int // 0 = one per CPU, at most 2 for files
		Method             string
		RingMiB            int
		SnapLen            int
		Promiscuous        bool
		Interface          string
	}
	Flows struct {
		MaxFlows, MaxHalfOpen                       int
		IdleTimeout, HalfOpenTimeout, ClosedTimeout time.Duration
		MaxReassembly                               int
	}
	TLS struct {
		MaxHelloBytes, MaxServerBytes int
		Hygiene                       bool
		BlocklistFile                 string
		TopSNI                        int
	}
	Detection struct {
		Interval     time.Duration
		ResolveAfter time.Duration
		// Stat configures the statistical detectors (zero fields take the
		// engine's defaults).
		Stat     detect.DetectionConfig
		StateDir string
	}
	// Alerting is nil when no sink is configured.
	Alerting *alerting.Config
}

// defaultConfig is what an empty file means.
func defaultConfig() Config {
	var c Config
	c.Capture.TCPPorts = []uint16{443}
	c.Capture.UDPPorts = []uint16{443}
	c.Capture.Method = "afpacket"
	c.Capture.RingMiB = 64
	c.Capture.SnapLen = 262144
	c.Capture.Promiscuous = true
	c.Flows.MaxFlows = 262144
	c.Flows.MaxHalfOpen = 65536
	c.Flows.IdleTimeout = 5 * time.Minute
	c.Flows.HalfOpenTimeout = 30 * time.Second
	c.Flows.ClosedTimeout = 10 * time.Second
	c.Flows.MaxReassembly = 2048
	c.TLS.MaxHelloBytes = 16 << 10
	c.TLS.MaxServerBytes = 16 << 10
	c.TLS.Hygiene = true
	c.Detection.Interval = time.Second
	c.Detection.ResolveAfter = 5 * time.Minute
	return c
}

// loadConfig reads and validates path; an empty path gives the defaults.
func loadConfig(path string) (Config, error) {
	if path == "" {
		return defaultConfig(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(b)
}

// parseConfig decodes b strictly and reports every problem at once, each
// with its YAML path and line: unknown keys (with the closest valid key),
// values of the wrong kind and invalid values together, sorted by line.
func parseConfig(b []byte) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	chk := &configChecker{lines: map[string]int{}}
	var raw rawConfig
	if chk.check(&doc, reflect.TypeFor[rawConfig](), "") && len(doc.Content) > 0 {
		// What is left after the check decodes; an error here is a bug in
		// the check, reported rather than hidden.
		if err := doc.Decode(&raw); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
	}
	c := defaultConfig()
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
	}
	ports := func(path string, in []int) []uint16 {
		out := make([]uint16, 0, len(in))
		for i, p := range in {
			if p < 1 || p > 65535 {
				bad(fmt.Sprintf("%s[%d]", path, i), "must be a port from 1 to 65535, got %d", p)
				continue
			}
			out = append(out, uint16(p))
		}
		return out
	}
	if rc := raw.Capture; rc != nil {
		if rc.TCPPorts != nil {
			c.Capture.TCPPorts = ports("capture.tcp_ports", rc.TCPPorts)
		}
		if rc.UDPPorts != nil {
			c.Capture.UDPPorts = ports("capture.udp_ports", rc.UDPPorts)
		}
		if rc.TCPPorts != nil && rc.UDPPorts != nil && len(rc.TCPPorts)+len(rc.UDPPorts) == 0 {
			bad("capture", "tcp_ports and udp_ports are both empty: nothing to monitor")
		}
		if len(c.Capture.TCPPorts)+len(c.Capture.UDPPorts) > 64 {
			bad("capture", "at most 64 monitored ports, got %d", len(c.Capture.TCPPorts)+len(c.Capture.UDPPorts))
		}
		if rc.Workers != nil {
			if *rc.Workers < 0 || *rc.Workers > 256 {
				bad("capture.workers", "must be 0 (one per CPU) to 256, got %d", *rc.Workers)
			}
			c.Capture.Workers = *rc.Workers
		}
		if rc.Method != nil {
			switch *rc.Method {
			case "afpacket", "libpcap":
				c.Capture.Method = *rc.Method
			default:
				bad("capture.method", "must be afpacket or libpcap, got %q", *rc.Method)
			}
		}
		if rc.RingMiB != nil {
			if *rc.RingMiB < 1 || *rc.RingMiB > 4096 {
				bad("capture.ring_mib", "must be 1 to 4096, got %d", *rc.RingMiB)
			}
			c.Capture.RingMiB = *rc.RingMiB
		}
		if rc.SnapLen != nil {
			if *rc.SnapLen < 128 || *rc.SnapLen > 262144 {
				bad("capture.snaplen", "must be 128 to 262144, got %d", *rc.SnapLen)
			}
			c.Capture.SnapLen = *rc.SnapLen
		}
		if rc.Promisc != nil {
			c.Capture.Promiscuous = *rc.Promisc
		}
		if rc.Interface != nil {
			c.Capture.Interface = *rc.Interface
		}
	}
	intRange := func(path string, v *int, lo, hi int, dst *int) {
		if v == nil {
			return
		}
		if *v < lo || *v > hi {
			bad(path, "must be %d to %d, got %d", lo, hi, *v)
			return
		}
		*dst = *v
	}
	dur := func(path string, v *string, lo, hi time.Duration, dst *time.Duration) {
		if v == nil {
			return
		}
		d, err := time.ParseDuration(*v)
		switch {
		case err != nil:
			bad(path, "not a duration (like 30s or 5m): %q", *v)
		case d < lo || d > hi:
			bad(path, "must be %s to %s, got %s", lo, hi, d)
		default:
			*dst = d
		}
	}
	if rf := raw.Flows; rf != nil {
		intRange("flows.max_flows", rf.MaxFlows, 1024, 1<<26, &c.Flows.MaxFlows)
		intRange("flows.max_half_open", rf.MaxHalfOpen, 256, 1<<24, &c.Flows.MaxHalfOpen)
		dur("flows.idle_timeout", rf.IdleTimeout, time.Second, 24*time.Hour, &c.Flows.IdleTimeout)
		dur("flows.half_open_timeout", rf.HalfOpenTimeout, time.Second, time.Hour, &c.Flows.HalfOpenTimeout)
		dur("flows.closed_timeout", rf.ClosedTimeout, time.Second, time.Hour, &c.Flows.ClosedTimeout)
		intRange("flows.max_reassembly", rf.MaxReassembly, 16, 1<<20, &c.Flows.MaxReassembly)
	}
	if rt := raw.TLS; rt != nil {
		intRange("tls.max_hello_bytes", rt.MaxHelloBytes, 1024, 1<<20, &c.TLS.MaxHelloBytes)
		intRange("tls.max_server_bytes", rt.MaxServerBytes, 1024, 1<<20, &c.TLS.MaxServerBytes)
		intRange("tls.top_sni", rt.TopSNI, 0, 100, &c.TLS.TopSNI)
		if rt.Hygiene != nil {
			c.TLS.Hygiene = *rt.Hygiene
		}
		if rt.BlocklistFile != nil && *rt.BlocklistFile != "" {
			c.TLS.BlocklistFile = *rt.BlocklistFile
			if _, err := os.Stat(*rt.BlocklistFile); err != nil {
				bad("tls.blocklist_file", "%v", err)
			}
		}
	}
	if rd := raw.Detection; rd != nil {
		dur("detection.resolve_after", rd.ResolveAfter, time.Second, 24*time.Hour, &c.Detection.ResolveAfter)
		st := &c.Detection.Stat
		if rd.Enabled != nil {
			st.Disabled = !*rd.Enabled
		}
		dur("detection.learning", rd.Learning, 0, 7*24*time.Hour, &st.Learning)
		if rd.Seasonal != nil {
			st.NoSeasonal = !*rd.Seasonal
		}
		dur("detection.slow_window", rd.SlowWindow, 10*time.Second, time.Hour, &st.Slow)
		dur("detection.checkpoint_every", rd.CheckpointEvery, 10*time.Second, 24*time.Hour, &st.CheckpointEvery)
		if rd.StateDir != nil {
			c.Detection.StateDir = *rd.StateDir
		}
		if w := rd.Watch; w != nil {
			for i, s := range w.Servers {
				ap, err := netip.ParseAddrPort(s)
				if err != nil {
					bad(fmt.Sprintf("detection.watch.servers[%d]", i), "want ADDRESS:PORT (IPv6 in brackets), got %q", s)
					continue
				}
				st.WatchServers = append(st.WatchServers, ap)
			}
			for i, s := range w.Prefixes {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					bad(fmt.Sprintf("detection.watch.prefixes[%d]", i), "want a CIDR prefix, got %q", s)
					continue
				}
				st.WatchPrefixes = append(st.WatchPrefixes, p.Masked())
			}
		}
		intRange("detection.max_servers", rd.MaxServers, 1, 1<<20, &st.MaxServers)
		intRange("detection.max_targets", rd.MaxTargets, 1, 1<<20, &st.MaxTargets)
		intRange("detection.top_clients", rd.TopClients, 1, 1<<16, &st.TopClients)
		intRange("detection.top_snis", rd.TopSNIs, 1, 1<<16, &st.TopSNIs)
		intRange("detection.top_prefixes", rd.TopPrefixes, 1, 1<<16, &st.TopPrefixes)
		intRange("detection.top_contributors", rd.TopContributors, 1, 100, &st.TopContributors)
		if v := rd.FlashCrowdShare; v != nil {
			if *v > 1 {
				bad("detection.flash_crowd_share", "must be <= 1 (negative disables), got %v", *v)
			}
			st.FlashCrowdShare = *v
		}
		if v := rd.SpoofedSourceRatio; v != nil {
			if *v <= 0 || *v > 1 {
				bad("detection.spoofed_source_ratio", "must be in (0, 1], got %v", *v)
			}
			st.SpoofedSourceRatio = *v
		}
		for name, d := range rd.Detectors {
			path := "detection.detectors." + name
			dc := st.Detector(name)
			if dc == nil {
				if s := closest(name, detect.Detectors); s != "" {
					bad(path, "unknown detector (did you mean %s?)", s)
				} else {
					bad(path, "unknown detector (want %s)", strings.Join(detect.Detectors, ", "))
				}
				continue
			}
			if d == nil {
				continue
			}
			if d.Enabled != nil {
				dc.Disabled = !*d.Enabled
			}
			intRange(path+".k", d.K, 1, 64, &dc.K)
			intRange(path+".n", d.N, 1, 64, &dc.N)
			dur(path+".quiet", d.Quiet, time.Second, 24*time.Hour, &dc.Quiet)
			if d.MinVolume != nil {
				if *d.MinVolume < 0 {
					bad(path+".min_volume", "must be >= 0, got %v", *d.MinVolume)
				}
				dc.MinVolume = *d.MinVolume
			}
			for scope, v := range d.Static {
				if v < 0 {
					bad(path+".static."+scope, "must be >= 0, got %v", v)
				}
			}
			dc.Static = d.Static
		}
		if err := st.Validate(); err != nil {
			errs = append(errs, err)
		}
		if rd.Interval != nil {
			d, err := time.ParseDuration(*rd.Interval)
			switch {
			case err != nil:
				bad("detection.interval", "not a duration: %q", *rd.Interval)
			case d < 100*time.Millisecond || d > time.Minute:
				bad("detection.interval", "must be 100ms to 1m, got %s", d)
			default:
				c.Detection.Interval = d
			}
		}
	}
	if raw.Alerting != nil {
		ac, err := alerting.ParseConfig(*raw.Alerting)
		if err != nil {
			errs = append(errs, err)
		} else if len(ac.Sinks) > 0 {
			c.Alerting = &ac
		}
	}
	return c, chk.located(errs)
}
