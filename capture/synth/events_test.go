package synth

import (
	"encoding/binary"
	"math"
	"net/netip"
	"testing"
	"time"
)

// synPerSecond counts client SYNs (without ACK) to dst, per second since
// start; an invalid dst counts every SYN.
func synPerSecond(pkts []pkt, start time.Time, dst netip.Addr) map[int]int {
	m := map[int]int{}
	for _, p := range pkts {
		if p.has(tcpSYN) && !p.has(tcpACK) && (!dst.IsValid() || p.dst.Addr() == dst) {
			m[int(p.ts.Sub(start)/time.Second)]++
		}
	}
	return m
}

func TestSYNFloodVisible(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Seed: 3, Duration: time.Minute, ConnRate: 2, Servers: 4, MaxResponseBytes: 16 << 10,
		Events: []Event{{Kind: SYNFlood, Start: 20 * time.Second, Duration: 10 * time.Second, Rate: 500,
			AnswerFraction: 0.3}},
	}
	file, tr := generate(t, cfg)
	pkts := decodeAll(t, file)
	if len(tr.Events) != 1 {
		t.Fatalf("truth has %d events, want 1", len(tr.Events))
	}
	ev := tr.Events[0]
	if !ev.Start.Equal(defaultStart.Add(20*time.Second)) || !ev.End.Equal(defaultStart.Add(30*time.Second)) ||
		ev.Kind != SYNFlood || !ev.Spoofed || ev.Rate != 500 || ev.RateUnit != "syn/s" {
		t.Errorf("truth event = %+v", ev)
	}
	perSec := synPerSecond(pkts, tr.Start, netip.Addr{})
	for s := range 60 {
		n := perSec[s]
		in := s >= 20 && s < 30
		// Poisson(500) stays within ±100 and Poisson(2) under 20 with
		// overwhelming probability.
		if in && (n < 400 || n > 600) || !in && n > 20 {
			t.Errorf("second %d: %d SYNs (flood %v)", s, n, in)
		}
	}
	// The flood's sources are spoofed: nearly all distinct, all aimed at
	// the target's port 443.
	srcs := map[netip.Addr]bool{}
	n, all := 0, 0
	for _, p := range pkts {
		if p.has(tcpSYN) && !p.has(tcpACK) && p.ts.Sub(tr.Start) >= 20*time.Second && p.ts.Sub(tr.Start) < 30*time.Second {
			all++
			if p.dst == ev.Target {
				n++
				srcs[p.src.Addr()] = true
			}
		}
	}
	if n < all*95/100 || len(srcs) < n*95/100 {
		t.Errorf("%d of %d SYNs in the flood went to the target, from %d sources", n, all, len(srcs))
	}
}

func TestEventsInjected(t *testing.T) {
	t.Parallel()
	s := time.Second
	cfg := Config{
		Seed: 5, Duration: 150 * s, ConnRate: 1, Servers: 8, MaxResponseBytes: 4 << 10,
		Events: []Event{
			{Kind: BotnetFlood, Start: 10 * s, Duration: 20 * s, Rate: 40, Target: 1, Sources: 50, CompleteFraction: 0.5},
			{Kind: BandwidthSpike, Start: 40 * s, Duration: 10 * s, Rate: 500_000, Target: 2, Sources: 2},
			{Kind: RequestBurst, Start: 60 * s, Duration: 10 * s, Rate: 30, Target: 3},
			{Kind: FlashCrowd, Start: 80 * s, Duration: 40 * s, Rate: 40, Target: 4, Ramp: 10 * s},
			{Kind: NightlyBackup, Start: 125 * s, Duration: 10 * s, Rate: 200_000, Target: 5},
		},
	}
	file, tr := generate(t, cfg)
	pkts := decodeAll(t, file)
	if len(tr.Events) != len(cfg.Events) {
		t.Fatalf("truth has %d events, want %d", len(tr.Events), len(cfg.Events))
	}
	for i, e := range cfg.Events {
		te := tr.Events[i]
		if te.Kind != e.Kind || !te.Start.Equal(defaultStart.Add(e.Start)) ||
			!te.End.Equal(defaultStart.Add(e.Start+e.Duration)) || te.Rate != e.Rate || te.Spoofed {
			t.Errorf("truth[%d] = %+v, want the configured %+v", i, te, e)
		}
		if te.Packets == 0 {
			t.Errorf("truth[%d] (%v) counts no packets", i, te.Kind)
		}
	}
	in := func(p *pkt, i int) bool {
		return !p.ts.Before(tr.Events[i].Start) && p.ts.Before(tr.Events[i].End)
	}
	target := func(i int) netip.Addr { return tr.Events[i].Target.Addr() }

	// Botnet: ~40 SYN/s from at most 50 sources, about half complete.
	syns, hellos := 0, 0
	bots := map[netip.Addr]bool{}
	for i := range pkts {
		p := &pkts[i]
		if !in(p, 0) || p.dst.Addr() != target(0) {
			continue
		}
		if p.has(tcpSYN) && !p.has(tcpACK) {
			syns++
			bots[p.src.Addr()] = true
		}
		if len(p.payload) > 5 && p.payload[0] == 0x16 && p.payload[5] == 1 {
			hellos++
		}
	}
	if syns < 640 || syns > 980 || len(bots) > 50+10 || hellos < syns*3/10 || hellos > syns*7/10 {
		t.Errorf("botnet: %d SYNs from %d sources, %d hellos; want ~800 SYNs, <= ~50 sources, ~half hellos",
			syns, len(bots), hellos)
	}

	// Bandwidth spike: the target sends ~500 kB/s for 10 s.
	var down float64
	for i := range pkts {
		if p := &pkts[i]; in(p, 1) && p.src.Addr() == target(1) {
			down += float64(len(p.payload))
		}
	}
	if want := 500_000.0 * 10; down < 0.85*want || down > 1.1*want {
		t.Errorf("bandwidth spike: %.0f bytes from the target, want ~%.0f", down, want)
	}

	// Request burst: one client sends ~30 hellos/s to the target.
	perClient := map[netip.Addr]int{}
	for i := range pkts {
		p := &pkts[i]
		if in(p, 2) && p.dst.Addr() == target(2) && len(p.payload) > 5 && p.payload[0] == 0x16 && p.payload[5] == 1 {
			perClient[p.src.Addr()]++
		}
	}
	top := 0
	for _, n := range perClient {
		top = max(top, n)
	}
	if top < 240 || top > 360 {
		t.Errorf("request burst: busiest client sent %d hellos in 10 s, want ~300", top)
	}

	// Flash crowd: ramps up over 10 s to ~40 conn/s.
	ramp, peak := 0, 0
	for s, n := range synPerSecond(pkts, tr.Events[3].Start, target(3)) {
		switch {
		case s >= 0 && s < 5:
			ramp += n
		case s >= 10 && s < 30:
			peak += n
		}
	}
	if peak < 640 || peak > 960 || ramp > 100 {
		t.Errorf("flash crowd: %d SYNs in the 20 s plateau (want ~800), %d in the first 5 s (want ~50)", peak, ramp)
	}

	// Nightly backup: ~200 kB/s uploaded to the target.
	var up float64
	for i := range pkts {
		if p := &pkts[i]; in(p, 4) && p.dst.Addr() == target(4) {
			up += float64(len(p.payload))
		}
	}
	if want := 200_000.0 * 10; up < 0.85*want || up > 1.1*want {
		t.Errorf("nightly backup: %.0f bytes to the target, want ~%.0f", up, want)
	}
}

func TestNightlyBackupRecurs(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Seed: 9, Duration: 50 * time.Hour, Servers: 2,
		Events: []Event{{Kind: NightlyBackup, Start: time.Hour, Duration: time.Minute, Rate: 5000, Target: 1}},
	}
	file, tr := generate(t, cfg)
	if len(tr.Events) != 3 {
		t.Fatalf("truth has %d events, want 3 (hours 1, 25, 49)", len(tr.Events))
	}
	for i, te := range tr.Events {
		want := defaultStart.Add(time.Hour + time.Duration(i)*24*time.Hour)
		if !te.Start.Equal(want) || !te.End.Equal(want.Add(time.Minute)) || te.Packets == 0 {
			t.Errorf("truth[%d] = %v..%v (%d packets), want %v..+1m", i, te.Start, te.End, te.Packets, want)
		}
	}
	for _, p := range decodeAll(t, file) {
		ok := false
		for _, te := range tr.Events {
			ok = ok || !p.ts.Before(te.Start) && p.ts.Before(te.End.Add(5*time.Second))
		}
		if !ok {
			t.Fatalf("packet at %v outside every backup window", p.ts)
		}
	}
}

// tcpFlags finds the TCP flags of a generated frame with a minimal parser
// of its own (Ethernet, any number of VLAN tags, IPv4 or IPv6).
func tcpFlags(b []byte) uint8 {
	o := 12
	for binary.BigEndian.Uint16(b[o:]) == 0x8100 || binary.BigEndian.Uint16(b[o:]) == 0x88a8 {
		o += 4
	}
	if binary.BigEndian.Uint16(b[o:]) == 0x86dd {
		return b[o+2+40+13]
	}
	return b[o+2+int(b[o+2]&15)*4+13]
}

func TestDiurnalCurve(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 11, Duration: 24 * time.Hour, ConnRate: 0.05, Diurnal: true, Servers: 2, Clients: 50,
		MaxResponseBytes: 2048}
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var perHour [24]int
	total := 0
	for {
		p, ok := g.Next()
		if !ok {
			break
		}
		if tcpFlags(p.Data)&(tcpSYN|tcpACK) == tcpSYN {
			perHour[time.Unix(0, p.Timestamp).UTC().Hour()]++
			total++
		}
	}
	// Expected: 0.05/s × 86400 s = 4320; hour 15 at 1.8× and hour 3 at
	// 0.2× the mean (amplitude 0.8) = 324 and 36.
	if math.Abs(float64(total)-4320) > 300 {
		t.Errorf("%d SYNs in the day, want ~4320", total)
	}
	if perHour[15] < 250 || perHour[15] > 400 || perHour[3] > 70 {
		t.Errorf("SYNs per hour %v: want ~324 at 15:00 and ~36 at 03:00", perHour)
	}
}

func TestBenignRate(t *testing.T) {
	t.Parallel()
	g, err := NewGenerator(Config{Duration: time.Hour, ConnRate: 10, Diurnal: true, DiurnalAmplitude: 0.5, PeakHour: 14})
	if err != nil {
		t.Fatal(err)
	}
	at := func(h float64) float64 { return g.benignRate(g.start+int64(h*float64(time.Hour))) * 1e9 }
	for _, tt := range []struct{ hour, want float64 }{{14, 15}, {2, 5}, {8, 10}, {20, 10}} {
		if got := at(tt.hour); math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("rate at %v:00 = %v, want %v", tt.hour, got, tt.want)
		}
	}
}
