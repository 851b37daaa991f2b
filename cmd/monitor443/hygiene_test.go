package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monitor443/monitor443/detect"
)

// TestHygieneAlerts replays public captures that contain deprecated
// protocols, weak ciphers, bad certificates, non-TLS traffic and a
// blocklisted client, and checks each raises its alert, firing then
// resolved.
func TestHygieneAlerts(t *testing.T) {
	if _, err := os.Stat(sharedTestdata); err != nil {
		t.Skipf("shared testdata not found: %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yml")
	block := filepath.Join(dir, "sslbl.csv")
	// abuse.ch SSLBL format; the JA3 is curl 7.54's from the Salesforce
	// reference ssl.log.
	os.WriteFile(block, []byte("# ja3_md5,Firstseen,Lastseen,Listingreason\n2a26b1a62e40d25d4de3babc9d532f30,2017-07-14 18:08:17,2019-07-27 20:42:54,Test malware C&C\n"), 0o644)
	os.WriteFile(cfg, []byte("capture:\n  tcp_ports: [443, 1080, 8080, 4433]\ntls:\n  blocklist_file: "+block+"\n"), 0o644)
	tests := []struct {
		capture, kind, contains string
	}{
		{"public/arkime/openssl-tls1.pcap", detect.KindDeprecatedTLS, "tls1.0"},
		{"public/arkime/openssl-ssl3.pcap", detect.KindDeprecatedTLS, "ssl3"},
		{"public/zeek/Traces/tls/tls1_1.pcap", detect.KindDeprecatedTLS, "tls1.1"},
		{"public/arkime/openssl-tls1.pcap", detect.KindWeakCipher, "rc4"},
		{"public/suricata-verify/ja4-tls/input.pcap", detect.KindBadCertificate, "self-signed CN=SELKS"},
		{"public/arkime/arkime_synthetic.pcap", detect.KindBadCertificate, "not valid before 2024"},
		{"public/arkime/arkime_synthetic.pcap", detect.KindNonTLS, "socks"}, // SOCKS that carries no TLS; TLS in tunnels is analysed
		{"public/salesforce-ja3/Traces/ssl-curl.pcap", detect.KindBlocklisted, "Test malware C&C"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+filepath.Base(tt.capture), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "alerts.jsonl")
			code, _, stderr := runCLI(t, "-r", filepath.Join(sharedTestdata, tt.capture), "-config.file", cfg, "-output.alerts", out, "-log.level", "error")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			b, _ := os.ReadFile(out)
			var firing, resolved bool
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var a detect.Anomaly
				if json.Unmarshal([]byte(line), &a) != nil || a.Kind != tt.kind || !strings.Contains(a.Summary, tt.contains) {
					continue
				}
				switch a.State {
				case detect.StateFiring:
					firing = true
				case detect.StateResolved:
					if !firing {
						t.Error("resolved before firing")
					}
					resolved = true
				}
			}
			if !firing || !resolved {
				t.Errorf("%s containing %q: firing %v, resolved %v; alerts:\n%s", tt.kind, tt.contains, firing, resolved, b)
			}
		})
	}
	// A clean modern capture raises no hygiene alert.
	out := filepath.Join(dir, "clean.jsonl")
	if code, _, _ := runCLI(t, "-r", filepath.Join(sharedTestdata, "ja4/pcap/tls-handshake.pcapng"), "-output.alerts", out); code != 0 {
		t.Fatal("replay failed")
	}
	if b, _ := os.ReadFile(out); len(b) != 0 {
		t.Errorf("alerts on a clean TLS 1.3 capture:\n%s", b)
	}
}
