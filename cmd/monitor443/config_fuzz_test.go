package main

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary YAML to the config loader. It must never
// panic; a rejected config's problems never name Go types; an accepted
// config must satisfy the documented bounds.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("../../deploy/monitor443.example.yml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("capture:\n  tcp_ports: [443, 8443]\ndetection:\n  interval: 2s\n"))
	f.Add([]byte("detection:\n  detectors:\n    syn_flood: {k: 3, n: 2, static: {global: 5}}\n"))
	f.Add([]byte("alerting:\n  sinks:\n    - {name: a, type: webhook, url: 'http://x/'}\n"))
	f.Add([]byte("flows: {max_flows: 1}\n"))
	f.Add([]byte("capture:\n  tcp_ports: [70000]\n  bogus: 1\nflows:\n  idle_timeout: soon\n  max_flows: many\ntls: [1]\n"))
	f.Add([]byte("a: &x {b: 1}\ncapture: *x\nflows: [*x]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig(b)
		if err != nil {
			// Every problem names its place, in the file's words.
			for _, l := range strings.Split(err.Error(), "\n") {
				if strings.Contains(l, "main.") || strings.Contains(l, "rawConfig") || strings.Contains(l, "alerting.Raw") ||
					strings.Contains(l, "cannot unmarshal") {
					t.Fatalf("problem speaks Go: %s", l)
				}
			}
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
