package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConfigProblemsInOnePass: unknown keys, values of the wrong kind and
// invalid values are reported together, each with its YAML path and line,
// in the file's order, in the configuration's words (no Go type names), with
// the closest valid key for a misspelt one; -config.check prints the same.
func TestConfigProblemsInOnePass(t *testing.T) {
	t.Parallel()
	const file = `capture:
  tcp_ports: [70000]
  bogus: 1
flows:
  idle_timeout: soon
  max_flow: 5000
  max_half_open: lots
tls: [1, 2]
detection:
  detectors:
    syn_flod: {k: 2}
    request_burst:
      kk: 3
alerting:
  sinks:
    - name: hook
      type: webhook
      url: http://example.invalid/hook
      timeout: [1s]
      retires: 3
`
	want := []string{
		`capture.tcp_ports[0] (line 2): must be a port from 1 to 65535, got 70000`,
		`capture.bogus (line 3): unknown key`,
		`flows.idle_timeout (line 5): not a duration (like 30s or 5m): "soon"`,
		`flows.max_flow (line 6): unknown key (did you mean max_flows?)`,
		`flows.max_half_open (line 7): want a whole number, got "lots"`,
		`tls (line 8): want keys and values, got a list`,
		`detection.detectors.syn_flod (line 11): unknown detector (did you mean syn_flood?)`,
		`detection.detectors.request_burst.kk (line 13): unknown key (did you mean k?)`,
		`alerting.sinks[0].timeout (line 19): want a single value, got a list`,
		`alerting.sinks[0].retires (line 20): unknown key`,
	}
	_, err := parseConfig([]byte(file))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	got := strings.Split(err.Error(), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	for _, l := range got {
		for _, goName := range []string{"main.", "rawConfig", "Raw", "struct", "unmarshal", "*"} {
			if strings.Contains(l, goName) {
				t.Errorf("problem speaks Go (%q): %s", goName, l)
			}
		}
	}
	p := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(p, []byte(file), 0o644)
	code, _, stderr := runCLI(t, "-config.file", p, "-config.check")
	if code != 2 {
		t.Errorf("-config.check exit %d, want 2", code)
	}
	for _, w := range want {
		if !strings.Contains(stderr, "  "+w+"\n") {
			t.Errorf("-config.check output lacks %q:\n%s", w, stderr)
		}
	}
}

func TestClosestKey(t *testing.T) {
	t.Parallel()
	keys := []string{"tcp_ports", "udp_ports", "workers", "method", "interface"}
	for _, tt := range []struct{ in, want string }{
		{"tcp_portz", "tcp_ports"},
		{"worker", "workers"},
		{"methdo", "method"},
		{"interfaces", "interface"},
		{"bogus", ""},
		{"x", ""},
	} {
		if got := closest(tt.in, keys); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
