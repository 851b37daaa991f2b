package main

import (
	"os"
	"testing"
)

// FuzzParseConfig feeds arbitrary YAML to the config loader. It must never
// panic; an accepted config must satisfy the documented bounds.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("../../deploy/monitor443.example.yml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("capture:\n  tcp_ports: [443, 8443]\ndetection:\n  interval: 2s\n"))
	f.Add([]byte("detection:\n  detectors:\n    syn_flood: {k: 3, n: 2, static: {global: 5}}\n"))
	f.Add([]byte("alerting:\n  sinks:\n    - {name: a, type: webhook, url: 'http://x/'}\n"))
	f.Add([]byte("flows: {max_flows: 1}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig(b)
		if err != nil {
			return
		}
		if len(c.Capture.TCPPorts)+len(c.Capture.UDPPorts) == 0 {
			t.Fatal("accepted a config that monitors no port")
		}
		if c.Detection.Interval < 100e6 || c.Flows.MaxFlows < 1024 || c.Flows.MaxHalfOpen < 256 {
			t.Fatalf("accepted out-of-range values: %+v", c)
		}
		if c.Alerting != nil && len(c.Alerting.Sinks) == 0 {
			t.Fatal("alerting config without sinks")
		}
	})
}
