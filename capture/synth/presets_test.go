package synth

import (
	"math"
	"testing"
	"time"
)

// TestEvalPresets checks the evaluation presets: they validate, use the
// realistic model, label every event and give every attack a latency
// target, cover every attack class (with night-time cases in eval-small),
// and eval-cold's 10x flood is measured at about 10x the normal SYN rate.
func TestEvalPresets(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"eval-small", "eval-short", "eval-large", "eval-cold", "eval-cold-large"} {
		cfg := Presets()[name]
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !cfg.TSO || cfg.Snaplen != 256 || len(cfg.Roles) == 0 || cfg.Burstiness == 0 || cfg.ScanRate == 0 ||
			cfg.Pollers == 0 || cfg.NATGateways == 0 || cfg.Crawlers == 0 || len(cfg.IPv6Servers) != 1 ||
			len(cfg.VLANServers) != 1 || cfg.QUICFraction != 0.1 || cfg.DiurnalAmplitude != 0.6 {
			t.Errorf("%s: realistic model not fully on: %+v", name, cfg)
		}
		kinds := map[EventKind]bool{}
		night := map[EventKind]bool{}
		for i, e := range cfg.Events {
			if e.Label == "" || e.Kind.Class() == "attack" && e.TargetLatency == 0 {
				t.Errorf("%s: events[%d] (%v) lacks a label or latency target", name, i, e.Kind)
			}
			kinds[e.Kind] = true
			if h := cfg.Start.Add(e.Start).Hour(); h < 7 || h >= 22 {
				night[e.Kind] = true
			}
		}
		if name != "eval-small" && name != "eval-large" {
			continue
		}
		for _, k := range []EventKind{SYNFlood, BotnetFlood, RequestBurst, DistributedBurst, EgressSpike, QUICFlood,
			FlashCrowd, ReleaseWave, BigDownload} {
			if !kinds[k] {
				t.Errorf("%s: no %v event", name, k)
			}
		}
		if name == "eval-small" {
			for _, k := range []EventKind{SYNFlood, BotnetFlood, EgressSpike, RequestBurst, QUICFlood, BackupPull, BigDownload} {
				if !night[k] {
					t.Errorf("eval-small: no %v at night", k)
				}
			}
		}
	}

	cfg := Presets()["eval-cold"]
	target := serverAddr(0)
	var before, during int
	tr := each(t, cfg, func(p *wpkt) {
		if p.fromClient && p.flags == tcpSYN && p.dst.Addr() == target {
			switch {
			case between(p, cfg.Start, 10*time.Second, 70*time.Second):
				during++
			case between(p, cfg.Start, 70*time.Second, 3*time.Minute):
				before++
			}
		}
	})
	normal := cfg.Expected(cfg.Start.Add(10*time.Second), 0).SYN * 60
	t.Logf("eval-cold: %d SYNs to the target in the flood minute, %.1f expected normally (×%.1f); truth rate %.2f",
		during, normal, float64(during)/normal, tr.Events[0].Rate)
	if r := float64(during) / normal; math.Abs(r/10-1) > 0.25 {
		t.Errorf("eval-cold: the flood minute has %.1f× the expected SYNs, want 10× ± 25%%", r)
	}
}
