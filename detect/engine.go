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
	"github.com/monitor443/monitor443/detect/flow"
)

// Config configures an Engine.
type Config struct {
	// Decoder selects the monitored ports.
	Decoder capture.DecoderConfig
	// Interval is the feature interval (default 1 s).
	Interval time.Duration
	// Flow configures each worker's flow table (MaxFlows and MaxHalfOpen
	// are per worker). OnEnd is set by the engine.
	Flow flow.TableConfig
	// MaxTLSConns bounds the TLS handshakes analysed at once per worker
	// (default 4096).
	MaxTLSConns int
	// Blocklist holds fingerprints that raise a blocklisted_fingerprint
	// anomaly.
	Blocklist Blocklist
	// Hygiene enables the TLS hygiene anomalies (deprecated protocol, weak
	// cipher, bad certificate, non-TLS traffic, blocklisted fingerprint).
	Hygiene bool
	// ResolveAfter is how long, in packet time, a hygiene incident must
	// stay quiet before it resolves (default 5m).
	ResolveAfter time.Duration
	// MaxIncidents bounds the open hygiene incidents (default 10000).
	MaxIncidents int
	// Lossless makes workers wait for a full queue instead of dropping
	// records and findings: right for file replay, wrong for live capture.
	Lossless bool
	// OnTLS, when set, receives every TLS record on the engine's record
	// goroutine, never on a worker.
	OnTLS func(*TLSRecord)
	// OnInterval, when set, receives every closed interval's global
	// features in time order, from the engine's aggregation goroutine.
	OnInterval func(Features)
	// OnAnomaly, when set, receives hygiene anomalies (firing and
	// resolved) from the engine's aggregation goroutine.
	OnAnomaly func(Anomaly)
}

// Engine runs the per-packet workers and merges their intervals.
type Engine struct {
	cfg       Config
	logger    *slog.Logger
	counters  []*Counters
	analyzers []*analyzer
	mu        sync.Mutex
	stats     []capture.StatsSource
	last      Features
	total     Features // sum of all released intervals
	running   atomic.Bool
	incidents *incidents
}

// NewEngine returns an engine for cfg.
func NewEngine(cfg Config, logger *slog.Logger) *Engine {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.MaxTLSConns <= 0 {
		cfg.MaxTLSConns = 4096
	}
	if cfg.ResolveAfter <= 0 {
		cfg.ResolveAfter = 5 * time.Minute
	}
	if cfg.MaxIncidents <= 0 {
		cfg.MaxIncidents = 10000
	}
	if len(cfg.Flow.ServerPorts) == 0 {
		cfg.Flow.ServerPorts = append(append([]uint16(nil), cfg.Decoder.TCPPorts...), cfg.Decoder.UDPPorts...)
	}
	return &Engine{cfg: cfg, logger: logger, incidents: newIncidents(int64(cfg.ResolveAfter), cfg.MaxIncidents)}
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
	hyg := make(chan hygieneEvent, 1024)
	records := make(chan *TLSRecord, 4096)
	var stop atomic.Bool
	errs := make([]error, len(srcs))
	analyzers := make([]*analyzer, len(srcs))
	var wg sync.WaitGroup
	for i, src := range srcs {
		c := counters[i]
		an := &analyzer{worker: i, interval: int64(e.cfg.Interval), out: snaps, hyg: hyg, lossless: e.cfg.Lossless, c: c}
		var emit func(*TLSRecord)
		if e.cfg.OnTLS != nil {
			emit = func(r *TLSRecord) {
				if e.cfg.Lossless {
					records <- r
					return
				}
				select {
				case records <- r:
				default:
					c.EventsDropped.Add(1)
				}
			}
		}
		var hf func(string, hygieneHit)
		if e.cfg.Hygiene {
			hf = an.hygiene
		}
		an.tls = newTLSAnalyzer(e.cfg.MaxTLSConns, &c.TLS, emit, hf, e.cfg.Blocklist)
		fc := e.cfg.Flow
		fc.OnEnd = an.tls.flowEnded
		an.table = flow.NewTable(fc)
		analyzers[i] = an
		w := &worker{id: i, src: src, c: c, stop: &stop, dec: capture.NewDecoder(e.cfg.Decoder), an: an}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run()
			an.finish()
			if err := src.Close(); err != nil && errs[i] == nil {
				errs[i] = fmt.Errorf("close source: %w", err)
			}
		}()
	}
	e.mu.Lock()
	e.analyzers = analyzers
	e.mu.Unlock()
	e.running.Store(true)
	defer e.running.Store(false)
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		for r := range records {
			e.cfg.OnTLS(r)
		}
	}()
	aggDone := make(chan struct{})
	go func() {
		defer close(aggDone)
		e.aggregate(snaps, hyg, len(srcs))
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
	close(records)
	<-aggDone
	<-recDone
	return errors.Join(errs...)
}

// aggregate merges worker snapshots into global intervals and releases an
// interval once every worker's watermark has passed its end.
func (e *Engine) aggregate(in <-chan snapshot, hyg <-chan hygieneEvent, workers int) {
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
			e.total.Add(f)
			e.mu.Unlock()
			if e.cfg.OnInterval != nil {
				e.cfg.OnInterval(*f)
			}
			e.incidents.resolve(s+interval, e.anomaly)
		}
	}
	for {
		var (
			s  snapshot
			ok bool
		)
		select {
		case h := <-hyg:
			e.incidents.hit(h, e.anomaly)
			continue
		case s, ok = <-in:
		}
		if !ok {
			break
		}
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
	for {
		select {
		case h := <-hyg:
			e.incidents.hit(h, e.anomaly)
			continue
		default:
		}
		break
	}
	release(maxTime)
	e.incidents.resolveAll(e.anomaly)
}

func (e *Engine) anomaly(a Anomaly) {
	if e.cfg.OnAnomaly != nil {
		e.cfg.OnAnomaly(a)
	}
}

// Running reports whether Run is processing packets.
func (e *Engine) Running() bool { return e.running.Load() }

// FlowStats sums the flow-table statistics the workers published at their
// last interval.
func (e *Engine) FlowStats() flow.Stats {
	e.mu.Lock()
	ans := e.analyzers
	e.mu.Unlock()
	var t flow.Stats
	for _, a := range ans {
		s := a.flowStats()
		t.Flows += s.Flows
		t.HalfOpen += s.HalfOpen
		t.Closed += s.Closed
		t.Created += s.Created
		t.Confirmed += s.Confirmed
		for i := range s.Ended {
			t.Ended[i] += s.Ended[i]
		}
		t.Retransmits += s.Retransmits
		t.ReassemblyBuffers += s.ReassemblyBuffers
		t.ReassemblyBytes += s.ReassemblyBytes
		t.ReassemblyPoolExhausted += s.ReassemblyPoolExhausted
	}
	return t
}

// ProtoTotals returns running totals of the released intervals per
// transport protocol: TCP holds every TCP counter, UDP only packets and
// bytes. They trail live traffic by at most one interval.
func (e *Engine) ProtoTotals() map[capture.Proto]Features {
	e.mu.Lock()
	t := e.total
	e.mu.Unlock()
	udp := Features{PacketsIn: t.UDPPackets[0], PacketsOut: t.UDPPackets[1], BytesIn: t.UDPBytes[0], BytesOut: t.UDPBytes[1]}
	tcp := t
	tcp.PacketsIn -= udp.PacketsIn
	tcp.PacketsOut -= udp.PacketsOut
	tcp.BytesIn -= udp.BytesIn
	tcp.BytesOut -= udp.BytesOut
	tcp.UDPPackets, tcp.UDPBytes = [2]uint64{}, [2]uint64{}
	return map[capture.Proto]Features{capture.ProtoTCP: tcp, capture.ProtoUDP: udp}
}

// LastInterval returns the most recent closed global interval.
func (e *Engine) LastInterval() Features {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}
