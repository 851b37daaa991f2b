package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monitor443/monitor443/capture"
)

// Config configures an Engine.
type Config struct {
	// Decoder selects the monitored ports.
	Decoder capture.DecoderConfig
	// Interval is the feature interval (default 1 s).
	Interval time.Duration
	// OnInterval, when set, receives every closed interval's global
	// features in time order, from the engine's aggregation goroutine.
	OnInterval func(Features)
}

// Engine runs the per-packet workers and merges their intervals.
type Engine struct {
	cfg      Config
	logger   *slog.Logger
	counters []*Counters
	mu       sync.Mutex
	stats    []capture.StatsSource
	last     Features
}

// NewEngine returns an engine for cfg.
func NewEngine(cfg Config, logger *slog.Logger) *Engine {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	return &Engine{cfg: cfg, logger: logger}
}

// Counters returns the per-worker counters of the current run. Safe for
// concurrent use; the values are atomics.
func (e *Engine) Counters() []*Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counters
}

// SourceStats sums the kernel statistics of the live sources, if any.
func (e *Engine) SourceStats() capture.Stats {
	e.mu.Lock()
	srcs := e.stats
	e.mu.Unlock()
	var t capture.Stats
	for _, s := range srcs {
		st, err := s.Stats()
		if err != nil {
			continue
		}
		t.Received += st.Received
		t.KernelDrops += st.KernelDrops
		t.InterfaceDrops += st.InterfaceDrops
	}
	return t
}

// Totals sums every worker's counters.
func (e *Engine) Totals() Totals {
	var t Totals
	for _, c := range e.Counters() {
		t.Frames += c.Frames.Load()
		t.Packets += c.Packets.Load()
		t.Bytes += c.Bytes.Load()
		for i := range c.Decode {
			t.Decode[i] += c.Decode[i].Load()
		}
	}
	return t
}

// Totals are the summed counters of all workers.
type Totals struct {
	Frames, Packets, Bytes uint64
	Decode                 [capture.NumResults]uint64
}

// DecodeFailures sums the decode results that are failures.
func (t *Totals) DecodeFailures() uint64 {
	var n uint64
	for _, r := range capture.AllResults {
		if r.Failure() {
			n += t.Decode[r]
		}
	}
	return n
}

// Run processes every source, one worker goroutine each, until all of them
// end or ctx is cancelled, then flushes the last intervals. Each source must
// carry whole flows (kernel fanout or capture.Shard).
func (e *Engine) Run(ctx context.Context, srcs []capture.Source) error {
	if len(srcs) == 0 {
		return errors.New("no capture source")
	}
	counters := make([]*Counters, len(srcs))
	var stats []capture.StatsSource
	for i, s := range srcs {
		counters[i] = new(Counters)
		if ss, ok := s.(capture.StatsSource); ok {
			stats = append(stats, ss)
		}
	}
	e.mu.Lock()
	e.counters, e.stats = counters, stats
	e.mu.Unlock()

	snaps := make(chan snapshot, 64*len(srcs))
	var stop atomic.Bool
	ports := capture.NewPorts(append(append([]uint16(nil), e.cfg.Decoder.TCPPorts...), e.cfg.Decoder.UDPPorts...)...)
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, src := range srcs {
		w := &worker{
			id: i, src: src, c: counters[i], stop: &stop,
			dec: capture.NewDecoder(e.cfg.Decoder),
			an:  &analyzer{worker: i, interval: int64(e.cfg.Interval), ports: ports, out: snaps},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run()
			w.an.finish()
			if err := src.Close(); err != nil && errs[i] == nil {
				errs[i] = fmt.Errorf("close source: %w", err)
			}
		}()
	}
	aggDone := make(chan struct{})
	go func() {
		defer close(aggDone)
		e.aggregate(snaps, len(srcs))
	}()
	go func() {
		select {
		case <-ctx.Done():
			stop.Store(true)
		case <-aggDone:
		}
	}()
	wg.Wait()
	close(snaps)
	<-aggDone
	return errors.Join(errs...)
}

// aggregate merges worker snapshots into global intervals and releases an
// interval once every worker's watermark has passed its end.
func (e *Engine) aggregate(in <-chan snapshot, workers int) {
	interval := int64(e.cfg.Interval)
	marks := make([]int64, workers)
	pending := map[int64]*Features{}
	release := func(upTo int64) {
		var starts []int64
		for s := range pending {
			if s+interval <= upTo {
				starts = append(starts, s)
			}
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		for _, s := range starts {
			f := pending[s]
			delete(pending, s)
			e.mu.Lock()
			e.last = *f
			e.mu.Unlock()
			if e.cfg.OnInterval != nil {
				e.cfg.OnInterval(*f)
			}
		}
	}
	for s := range in {
		if s.f.Start != 0 {
			f := pending[s.f.Start]
			if f == nil {
				f = &Features{Start: s.f.Start}
				pending[s.f.Start] = f
			}
			f.Add(&s.f)
		}
		marks[s.worker] = s.watermark
		low := marks[0]
		for _, m := range marks[1:] {
			low = min(low, m)
		}
		release(low)
	}
	release(maxTime)
}

// LastInterval returns the most recent closed global interval.
func (e *Engine) LastInterval() Features {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}
