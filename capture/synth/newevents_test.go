package synth

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// between reports whether p falls in [start+from, start+to).
func between(p *wpkt, start time.Time, from, to time.Duration) bool {
	return p.t >= start.Add(from).UnixNano() && p.t < start.Add(to).UnixNano()
}

// TestSYNFloodOptions checks a spoofed SYN flood sized by Factor, with a
// fixed TTL, no TCP options, SYN-ACK retransmissions after 1 s and 3 s,
// and a few spoofed owners answering the SYN-ACK with a RST.
func TestSYNFloodOptions(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration = 20, 90*time.Second
	ev := Event{Kind: SYNFlood, Start: 30 * time.Second, Duration: 30 * time.Second, Factor: 10, Target: 0,
		FixedTTL: 57, NoOptions: true, AnswerFraction: 0.5, RSTFraction: 0.1, SYNACKRetries: 2, Label: "x",
		TargetLatency: 5 * time.Second}
	cfg.Events = []Event{ev}
	normal := cfg.Expected(cfg.Start.Add(ev.Start), 0).SYN
	target := serverAddr(0)
	var before, during, opts int
	ttls := map[uint8]int{}
	synAcks := map[netip.AddrPort][]int64{}
	rsts := 0
	tr := each(t, cfg, func(p *wpkt) {
		start := defaultStart
		if p.fromClient && p.dst.Addr() == target && p.flags == tcpSYN {
			switch {
			case between(p, start, 0, 30*time.Second):
				before++
			case between(p, start, 30*time.Second, 60*time.Second):
				during++
				if p.tcpOptLen == 0 { // the flood's: benign SYNs always carry options
					ttls[p.ttl]++
				} else {
					opts++
				}
			}
		}
		if !p.fromClient && p.src.Addr() == target && p.flags == tcpSYN|tcpACK && between(p, start, 30*time.Second, 90*time.Second) {
			synAcks[p.dst] = append(synAcks[p.dst], p.t)
		}
		if p.fromClient && p.flags == tcpRST && between(p, start, 30*time.Second, 65*time.Second) {
			rsts++
		}
	})
	te := tr.Events[0]
	if math.Abs(te.Rate/((ev.Factor-1)*normal)-1) > 1e-9 || te.Factor != 10 || te.Label != "x" ||
		te.TargetLatency != "5s" || te.Class != "attack" || !te.Detectors.Has("syn_flood") || te.Server != 0 {
		t.Errorf("truth %+v, want rate %.1f = 9 × %.2f", te, (ev.Factor-1)*normal, normal)
	}
	// The flood's SYNs plus the normal ones: about Factor × normal.
	ratio := float64(during) / float64(before)
	t.Logf("SYN to the target: %d before, %d during (×%.1f); %d without options (%d with TTL 57), %d with options",
		before, during, ratio, during-opts, ttls[57], opts)
	if math.Abs(ratio/ev.Factor-1) > 0.2 {
		t.Errorf("the flood multiplies SYNs to the target by %.1f, want %.0f ± 20%%", ratio, ev.Factor)
	}
	flood := during - opts
	if len(ttls) != 1 || math.Abs(float64(flood)/float64(during-before)-1) > 0.1 {
		t.Errorf("flood SYNs without options: %d with TTLs %v, want ~%d all with TTL 57", flood, ttls, during-before)
	}
	// Answered flood SYNs get SYN-ACKs at 0, 1 and 3 s, unless reset.
	three, one := 0, 0
	for _, ts := range synAcks {
		switch len(ts) {
		case 3:
			if d1, d2 := time.Duration(ts[1]-ts[0]), time.Duration(ts[2]-ts[0]); d1 != time.Second || d2 != 3*time.Second {
				t.Fatalf("SYN-ACK retransmissions after %v and %v, want 1s and 3s", d1, d2)
			}
			three++
		case 1:
			one++
		}
	}
	t.Logf("%d SYN-ACKs retransmitted twice, %d answered once; %d RSTs", three, one, rsts)
	if three < flood/2*7/10 || rsts < flood/2/20 || rsts > flood/2/5 {
		t.Errorf("%d retransmitted SYN-ACKs and %d RSTs for ~%d answered flood SYNs, want most and ~10%%", three, rsts, flood/2)
	}
}

// TestBotnetMixed checks a botnet over IPv6 with mixed outcomes: some
// complete and send a ClientHello, some complete and go silent, some reset
// the SYN-ACK, some leave it half-open.
func TestBotnetMixed(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.IPv6Servers = 2, 40*time.Second, []int{1}
	cfg.Events = []Event{{Kind: BotnetFlood, Start: 5 * time.Second, Duration: 20 * time.Second, Rate: 100, Target: 1,
		Sources: 250, IPv6: true, Mixed: true, SYNACKRetries: 2}}
	type fl struct{ syn, synAck, ack, hello, rst int }
	flows := map[[2]netip.AddrPort]*fl{}
	srcs := map[netip.Addr]bool{}
	each(t, cfg, func(p *wpkt) {
		if !p.src.Addr().Is6() && !p.dst.Addr().Is6() || p.udp {
			return
		}
		k := [2]netip.AddrPort{p.src, p.dst}
		if !p.fromClient {
			k = [2]netip.AddrPort{p.dst, p.src}
		}
		if !between(p, defaultStart, 5*time.Second, 25*time.Second) && flows[k] == nil {
			return
		}
		f := flows[k]
		if f == nil {
			f = &fl{}
			flows[k] = f
		}
		switch {
		case p.fromClient && p.flags == tcpSYN:
			f.syn++
			srcs[k[0].Addr()] = true
		case !p.fromClient && p.flags == tcpSYN|tcpACK:
			f.synAck++
		case p.fromClient && p.flags&tcpRST != 0:
			f.rst++
		case p.fromClient && p.first == recHandshake && p.hsType == 1:
			f.hello++
		case p.fromClient && p.flags == tcpACK && p.plen == 0:
			f.ack++
		}
	})
	var hello, silent, reset, half, n int
	for _, f := range flows {
		if f.syn == 0 {
			continue
		}
		n++
		switch {
		case f.hello > 0 && f.rst > 0:
			hello++
		case f.ack > 0 && f.hello == 0 && f.rst == 0:
			silent++
		case f.ack == 0 && f.rst > 0:
			reset++
		case f.ack == 0 && f.rst == 0 && f.synAck == 3:
			half++
		}
	}
	t.Logf("%d connections from %d IPv6 sources: %d hello+RST, %d silent, %d RST, %d half-open", n, len(srcs), hello,
		silent, reset, half)
	frac := func(k int) float64 { return float64(k) / float64(n) }
	if n < 1700 || len(srcs) > 250 || len(srcs) < 200 || math.Abs(frac(hello)-0.35) > 0.05 ||
		math.Abs(frac(silent)-0.25) > 0.05 || math.Abs(frac(reset)-0.2) > 0.05 || math.Abs(frac(half)-0.2) > 0.05 {
		t.Errorf("want ~2000 connections from <= 250 sources, outcomes 35/25/20/20%%")
	}
}

// TestDistributedBurst checks hellos per second, the number of sources
// and the share of them that are existing benign clients.
func TestDistributedBurst(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.Clients = 1, 60*time.Second, 5000
	cfg.Events = []Event{{Kind: DistributedBurst, Start: 10 * time.Second, Duration: 30 * time.Second, Rate: 60,
		Target: -1, Sources: 600}}
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	benign := map[netip.Addr]bool{}
	for _, c := range g.clients[:g.nBenign] {
		benign[netip.AddrFrom4([4]byte(c.v4[:4]))], benign[netip.AddrFrom16(c.v6)] = true, true
	}
	hellos := 0
	srcs := map[netip.Addr]bool{}
	servers := map[netip.Addr]bool{}
	each(t, cfg, func(p *wpkt) {
		if p.fromClient && p.first == recHandshake && p.hsType == 1 && between(p, defaultStart, 10*time.Second, 40*time.Second) {
			hellos++
			srcs[p.src.Addr()] = true
			servers[p.dst.Addr()] = true
		}
	})
	known := 0
	for a := range srcs {
		if benign[a] {
			known++
		}
	}
	t.Logf("%d hellos in 30 s from %d sources (%d benign clients) to %d servers", hellos, len(srcs), known, len(servers))
	// 60/s for 30 s plus ~1/s benign; 1800 draws from 600 sources leave
	// about 5% unused.
	if math.Abs(float64(hellos)/1830-1) > 0.1 || len(srcs) < 500 || len(srcs) > 640 ||
		math.Abs(float64(known)/float64(len(srcs))-0.8) > 0.07 || len(servers) != cfg.Servers {
		t.Errorf("want ~1830 hellos from ~570 sources, 80%% of them benign clients, to every server")
	}
}

// TestEgressEvents checks that an egress spike adds Rate bytes per second
// to the target's egress through chains of downloads from Sources new
// clients, that a big download carries Rate × Duration bytes, that a
// backup pull recurs daily, and that an organic ramp multiplies the
// target's arrivals by its factor.
func TestEgressEvents(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration, cfg.Roles = 4, 5*time.Minute, []Role{RoleWeb, RoleAPI}
	s := time.Second
	cfg.Events = []Event{
		{Kind: EgressSpike, Start: 30 * s, Duration: 60 * s, Rate: 20e6, Target: 1, Sources: 3, ObjectBytes: 40e6},
		{Kind: BigDownload, Start: 100 * s, Duration: 20 * s, Rate: 10e6, Target: 2},
		{Kind: OrganicRamp, Start: 150 * s, Duration: 60 * s, Factor: 3, Target: 0},
	}
	var spike, base float64
	chainSYN := map[netip.Addr]int{}
	var syn0 [2]int
	tr := each(t, cfg, func(p *wpkt) {
		if !p.fromClient && p.src.Addr() == serverAddr(1) {
			switch {
			case between(p, defaultStart, 30*s, 90*s):
				spike += float64(p.ipLen)
			case between(p, defaultStart, 0, 30*s), between(p, defaultStart, 90*s, 300*s):
				base += float64(p.ipLen)
			}
		}
		if p.fromClient && p.flags == tcpSYN && p.dst.Addr() == serverAddr(1) && between(p, defaultStart, 30*s, 90*s) {
			chainSYN[p.src.Addr()]++
		}
		if p.fromClient && p.flags == tcpSYN && p.dst.Addr() == serverAddr(0) {
			switch {
			case between(p, defaultStart, 60*s, 150*s):
				syn0[0]++
			case between(p, defaultStart, 210*s, 300*s):
				syn0[1]++
			}
		}
	})
	added := spike/60 - base/240
	chains := 0
	for _, n := range chainSYN {
		if n >= 5 {
			chains++
		}
	}
	t.Logf("egress spike: +%.3g B/s (want 2e7); %d clients with >= 5 connections; truth %d bytes", added, chains,
		tr.Events[0].Bytes)
	if math.Abs(added/20e6-1) > 0.1 || chains != 3 {
		t.Errorf("egress spike adds %.3g B/s over %d chains, want 2e7 over 3", added, chains)
	}
	if b := float64(tr.Events[1].Bytes); math.Abs(b/200e6-1) > 0.05 {
		t.Errorf("big download moved %.3g bytes, want 2e8", b)
	}
	if r := float64(syn0[1]) / float64(syn0[0]); math.Abs(r/3-1) > 0.2 {
		t.Errorf("organic ramp: SYNs to the target ×%.2f after the ramp, want ×3", r)
	}
	if tr.Events[2].Class != "benign" || len(tr.Events[2].Detectors.List()) != 0 {
		t.Errorf("organic ramp truth %+v", tr.Events[2])
	}
}

// TestBackupPullRecurs checks the daily pull: once per day, server egress.
func TestBackupPullRecurs(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 9, Duration: 50 * time.Hour, Servers: 2, TSO: true, Snaplen: 128,
		Events: []Event{{Kind: BackupPull, Start: time.Hour, Duration: time.Minute, Rate: 1e6, Target: 1}}}
	var down float64
	tr := each(t, cfg, func(p *wpkt) {
		if !p.fromClient {
			down += float64(p.plen)
		}
	})
	if len(tr.Events) != 3 {
		t.Fatalf("truth has %d events, want 3", len(tr.Events))
	}
	if math.Abs(down/(3*60e6)-1) > 0.05 {
		t.Errorf("%.3g bytes from the server, want 1.8e8", down)
	}
}

// TestReleaseWave checks that each client of a release wave downloads the
// object once.
func TestReleaseWave(t *testing.T) {
	t.Parallel()
	cfg := realisticBase()
	cfg.ConnRate, cfg.Duration = 0.5, 3*time.Minute
	cfg.Events = []Event{{Kind: ReleaseWave, Start: 10 * time.Second, Duration: 2 * time.Minute, Rate: 2, Target: 2,
		Sources: 400, ObjectBytes: 5e6}}
	pkts, tr := run(t, cfg)
	big := 0
	for _, n := range responses(pkts)[serverAddr(2)] {
		if n == 5e6 {
			big++
		}
	}
	// Peak 2/s, ramps of 30 s: 2 × (120 − 30) = 180 arrivals; some are
	// still downloading at the end.
	t.Logf("%d complete 5 MB downloads; the truth counts %d packets", big, tr.Events[0].Packets)
	if big < 100 || big > 200 {
		t.Errorf("%d complete downloads, want ~150", big)
	}
}

// TestTruthJSONFields checks the truth file's fields for a hand-written
// reader.
func TestTruthJSONFields(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 1, Duration: time.Minute, ConnRate: 1, Servers: 2, Events: []Event{
		{Kind: SYNFlood, Start: time.Second, Duration: time.Second, Factor: 20, Label: "spoofed flood", TargetLatency: 5 * time.Second},
		{Kind: FlashCrowd, Start: time.Second, Duration: 4 * time.Second, Rate: 5, Target: 1},
		{Kind: RequestBurst, Start: time.Second, Duration: time.Second, Rate: 5, Target: -1},
	}}
	_, tr := generate(t, cfg)
	var buf bytes.Buffer
	if err := tr.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{`"label": "spoofed flood"`, `"class": "attack"`, `"class": "benign"`,
		`"detectors": [
        "syn_flood"
      ]`, `"detectors": []`, `"factor": 20`, `"target_latency": "5s"`, `"server": 1`, `"server": -1`} {
		if !strings.Contains(s, want) {
			t.Errorf("truth JSON lacks %s:\n%s", want, s)
		}
	}
	back, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Events {
		if back.Events[i] != tr.Events[i] {
			t.Errorf("event %d: read back %+v, wrote %+v", i, back.Events[i], tr.Events[i])
		}
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatal(err)
	}
}
