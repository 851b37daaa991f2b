package detect

import (
	"slices"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

// TestQUICFloodFromRealHosts checks the price of counting a client's QUIC
// attempts within an interval once (analyzer.quicSources): a flood of 200
// Initials a second from one or three real hosts, which never return, is
// still found. request_burst names each host at client scope within 5 s
// (their ClientHellos), and quic_flood fires within 10 s at the global
// scope, on the hosts' persistence: each is one event an interval per
// worker that sees its flows.
func TestQUICFloodFromRealHosts(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		gc := synth.Config{Seed: 5, Duration: 12 * time.Minute, ConnRate: 3, QUICFraction: 0.3, Servers: 4, Clients: 2000,
			MaxResponseBytes: 256 << 10,
			Events: []synth.Event{{Kind: synth.QUICFlood, Start: 8 * time.Minute, Duration: 30 * time.Second, Rate: 200,
				Target: 2, Sources: n}}}
		cfg := Config{Detection: DetectionConfig{NoSeasonal: true, Learning: 5 * time.Minute}}
		as, truth, _ := replay(t, gc, cfg, 2)
		ev := truth.Events[0]
		if ev.Spoofed {
			t.Fatalf("%d hosts: the truth says spoofed", n)
		}
		var hosts []string
		flood := time.Duration(-1)
		for _, a := range as {
			if a.State != StateFiring || a.Start.Before(ev.Start) || a.Detected == nil {
				continue
			}
			late := a.Detected.Sub(ev.Start)
			switch {
			case a.Kind == KindRequestBurst && a.Scope == ScopeClient && late <= 5*time.Second:
				hosts = append(hosts, a.Target)
			case a.Kind == KindQUICFlood && flood < 0:
				flood = late
			}
		}
		slices.Sort(hosts)
		if len(slices.Compact(hosts)) != n {
			t.Errorf("%d hosts: request_burst named %v at client scope within 5 s", n, hosts)
		}
		if flood < 0 || flood > 10*time.Second {
			t.Errorf("%d hosts: quic_flood after %v, want within 10 s", n, flood)
		}
	}
}
