package detect

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/capture/synth"
)

// oneWay passes on only the frames toward port 443: what a tap that sees
// one direction (the clients' packets) captures.
type oneWay struct {
	src capture.Source
	dec *capture.Decoder
	p   capture.Packet
}

func (o *oneWay) Read(f *capture.Frame) error {
	for {
		if err := o.src.Read(f); err != nil {
			return err
		}
		if r := o.dec.Decode(f, &o.p); r == capture.ResultOK && o.p.DstPort == 443 {
			return nil
		}
	}
}

func (o *oneWay) Close() error { return o.src.Close() }

// TestOneWayCapture replays twelve minutes of traffic, with a SYN flood and
// a QUIC Initial flood, as a tap that sees only the clients' packets would
// capture it. The handshakes complete from the clients' acknowledgements
// of answers the capture never saw, so nothing alerts before the floods
// (before, every attempt was unanswered and syn_flood fired at the start,
// judged against the prior, and stayed in alarm), and both floods are
// found within 2 s.
func TestOneWayCapture(t *testing.T) {
	t.Parallel()
	gc := synth.Config{Seed: 9, Duration: 12 * time.Minute, ConnRate: 3, QUICFraction: 0.3, Servers: 4, Clients: 2000,
		MaxResponseBytes: 256 << 10,
		Events: []synth.Event{
			{Kind: synth.SYNFlood, Start: 8 * time.Minute, Duration: 30 * time.Second, Rate: 100, Target: 1},
			{Kind: synth.QUICFlood, Start: 10 * time.Minute, Duration: 30 * time.Second, Rate: 100, Target: 2}}}
	g, err := synth.NewGenerator(gc)
	if err != nil {
		t.Fatal(err)
	}
	dc := capture.DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}}
	var (
		mu sync.Mutex
		as []Anomaly
	)
	cfg := Config{Decoder: dc, Lossless: true, Detection: DetectionConfig{NoSeasonal: true, Learning: 5 * time.Minute},
		OnAnomaly: func(a Anomaly) { mu.Lock(); as = append(as, a); mu.Unlock() }}
	e := NewEngine(cfg, slog.New(slog.DiscardHandler))
	if err := e.Run(context.Background(), []capture.Source{&oneWay{src: g, dec: capture.NewDecoder(dc)}}); err != nil {
		t.Fatal(err)
	}
	res, falses := score(as, g.Truth().Events, []string{"SYN flood", "QUIC flood"})
	for _, r := range res {
		if !r.detected || r.latency > 2*time.Second {
			t.Errorf("%s on a one-way capture: detected %v after %v, want within 2 s", r.label, r.detected, r.latency)
		}
	}
	for _, a := range falses {
		if a.Kind == KindSYNFlood || a.Kind == KindQUICFlood {
			t.Errorf("false alert on a one-way capture: %s", describe(a))
		}
	}
	if fs := e.FlowStats(); fs.UnseenAnswers == 0 {
		t.Error("no handshake counted as completed from an unseen answer")
	}
}
