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

// replay runs the generator's traffic through an engine with the given
// configuration over workers workers (capture.Shard splits the flows), and
// returns every anomaly in emission order with the ground truth.
func replay(t testing.TB, gcfg synth.Config, ecfg Config, workers int) ([]Anomaly, synth.Truth, *Engine) {
	t.Helper()
	g, err := synth.NewGenerator(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		out []Anomaly
	)
	ecfg.Decoder = capture.DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}}
	ecfg.Lossless = true
	prev := ecfg.OnAnomaly
	ecfg.OnAnomaly = func(a Anomaly) {
		mu.Lock()
		out = append(out, a)
		mu.Unlock()
		if prev != nil {
			prev(a)
		}
	}
	e := NewEngine(ecfg, slog.New(slog.DiscardHandler))
	var srcs []capture.Source
	if workers <= 1 {
		srcs = []capture.Source{g}
	} else {
		iv := ecfg.Interval
		if iv == 0 {
			iv = time.Second
		}
		srcs = capture.Shard(g, capture.ShardConfig{Workers: workers, TickNanos: int64(iv)})
	}
	if err := e.Run(context.Background(), srcs); err != nil {
		t.Fatal(err)
	}
	return out, g.Truth(), e
}
