package detect

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/monitor443/monitor443/capture"
)

// Public captures from other projects (the shared test data, read in
// place): traffic this repository's generator did not make.
const sharedTestdata = "../../shared/testdata"

// openShared opens one capture of the shared test data (file relative to
// it), or skips the test when the shared data is not there.
func openShared(t testing.TB, file string) *capture.FileSource {
	t.Helper()
	path := filepath.Join(sharedTestdata, file)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared test data not found at %s", sharedTestdata)
	}
	src, err := capture.OpenFiles([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// replayPublic replays one shared capture with the default detection on
// the given monitored ports and returns the firing alerts.
func replayPublic(t *testing.T, file string, dec capture.DecoderConfig) []Anomaly {
	t.Helper()
	src := openShared(t, file)
	var (
		mu  sync.Mutex
		out []Anomaly
	)
	cfg := Config{Decoder: dec, Lossless: true, OnAnomaly: func(a Anomaly) {
		if a.State == StateFiring {
			mu.Lock()
			out = append(out, a)
			mu.Unlock()
		}
	}}
	e := NewEngine(cfg, slog.New(slog.DiscardHandler))
	if err := e.Run(context.Background(), []capture.Source{src}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPublicSpoofedFloods replays two captures of real spoofed SYN floods
// (StopDDoS packet-captures, on the ports they attacked) with the default
// detection: each raises syn_flood at once, judged against the prior, and
// every syn_flood alert that describes its SYNs says the sources look
// spoofed. Their TTLs are two values over thousands of sources, which a
// rule asking for a wide TTL spread (the generator's spoofed floods draw
// TTLs at random) called real hosts.
func TestPublicSpoofedFloods(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file   string
		port   uint16
		server bool // the victim answers some SYNs, so it is a tracked server
	}{
		{"public/stopddos/pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng", 30120, true},
		{"public/stopddos/pkt.TCP.synflood.spoofed.frames22323-37841.pcap", 25565, false},
	} {
		var global, server, spoofed int
		for _, a := range replayPublic(t, c.file, capture.DecoderConfig{TCPPorts: []uint16{c.port}}) {
			if a.Kind != KindSYNFlood {
				continue
			}
			switch a.Scope {
			case ScopeGlobal:
				global++
			case ScopeServer:
				server++
			}
			if !strings.Contains(a.Detail, "prior") {
				t.Errorf("%s: %s not judged against the prior: %s", c.file, a.Scope, a.Detail)
			}
			if strings.Contains(a.Detail, "unique sources") {
				if !a.Spoofed || !strings.Contains(a.Detail, "one sender's path") {
					t.Errorf("%s: %s alert does not say spoofed from one path: %s", c.file, a.Scope, a.Detail)
				}
				spoofed++
			}
		}
		if global == 0 || (c.server && (server == 0 || spoofed == 0)) {
			t.Errorf("%s: %d global and %d server syn_flood alerts (%d explained as spoofed), want both scopes and an explanation", c.file, global, server, spoofed)
		}
	}
}

// TestPublicQUICBrowsing replays two public captures of one browser's QUIC
// connections to Google's and Meta's servers, cut to their client Initials
// (JA4 reference captures: nothing returns), with the default detection
// from a cold start. Neither is a flood: one client opens three to five
// connections within a second to as many addresses, which quic_flood now
// counts as one event (analyzer.quicSources); counted one by one they drew
// a quic_flood alert against the prior on both.
func TestPublicQUICBrowsing(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"public/suricata-verify/ja4-quic/input.pcap", "ja4/pcap/tls-sni.pcapng"} {
		for _, a := range replayPublic(t, file, capture.DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}}) {
			if a.Kind == KindQUICFlood {
				t.Errorf("%s: %s", file, a.Summary)
			}
		}
	}
}

// TestPublicCapturesRaiseNoFlood replays every other public capture of the
// shared test data (TLS and QUIC sessions from FoxIO, Arkime, Zeek,
// Suricata and Salesforce's JA3 traces: real clients and servers, from a
// cold start) on port 443 with the default detection: none is a flood, a
// burst or a bandwidth spike, so no statistical detector may alert. (The
// TLS posture kinds may: some of these captures are SSLv3 or carry bad
// certificates on purpose.)
func TestPublicCapturesRaiseNoFlood(t *testing.T) {
	t.Parallel()
	var files []string
	err := filepath.WalkDir(sharedTestdata, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "stopddos" {
			return filepath.SkipDir // attacks, TestPublicSpoofedFloods
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".pcap" || ext == ".pcapng") {
			rel, _ := filepath.Rel(sharedTestdata, path)
			files = append(files, rel)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared test data not found at %s", sharedTestdata)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("only %d public captures found", len(files))
	}
	statistical := []string{KindSYNFlood, KindQUICFlood, KindRequestBurst, KindBandwidthSpike}
	for _, file := range files {
		for _, a := range replayPublic(t, file, capture.DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}}) {
			if slices.Contains(statistical, a.Kind) {
				t.Errorf("%s: %s", file, a.Summary)
			}
		}
	}
}
