package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
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
	// TLSSummary builds TLS records with the summary fields only: time,
	// endpoints, SNI, the versions, cipher and ALPN negotiated, JA4 (JA3
	// too when a blocklist needs it), ECH, tunnel, certificate and the
	// connection's outcome; not the ClientHello's lists, JA3, JA3S or
	// JA4_r. For consumers that need no more (the HTML report), it saves
	// most of the cost of building records.
	TLSSummary bool
	// TLSReuse promises that OnTLS keeps neither the record nor its
	// certificate after it returns (strings it keeps are safe), so the
	// engine reuses records instead of allocating one per connection.
	TLSReuse bool
	// OnInterval, when set, receives every closed interval's global
	// features in time order, from the engine's aggregation goroutine.
	OnInterval func(Features)
	// OnServerInterval, when set, receives every closed interval's
	// per-server features (the servers the workers' bounded server tables
	// kept, keyed by address and port), after OnInterval and on the same
	// goroutine. The map is the callee's to keep.
	OnServerInterval func(start int64, servers map[netip.AddrPort]Features)
	// OnAnomaly, when set, receives every anomaly (firing and resolved):
	// the statistical detectors' and the hygiene checks', from the
	// engine's aggregation goroutine.
	OnAnomaly func(Anomaly)
	// Detection configures the statistical detectors (bandwidth_spike,
	// request_burst, syn_flood); its zero value selects the defaults.
	Detection DetectionConfig
	// StateDir, when set, is where the detectors' baselines are
	// checkpointed (every Detection.CheckpointEvery of packet time and when
	// Run returns) and restored from at NewEngine, so a restart does not
	// relearn. "" disables persistence.
	StateDir string
}

// Engine runs the per-packet workers and merges their intervals.
type Engine struct {
	cfg       Config
	logger    *slog.Logger
	counters  []*Counters
	analyzers []*analyzer
	mu        sync.Mutex
	stats     []capture.StatsSource
	total     Features // sum of all released intervals
	watched   map[netip.AddrPort]*Features
	running   atomic.Bool
	incidents *incidents

	stage    *stage // nil when the detectors are off
	alertMu  sync.Mutex
	active   map[string]Anomaly // firing anomalies by ID
	detState []DetectorState
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.Detection = cfg.Detection.withDefaults()
	e := &Engine{cfg: cfg, logger: logger, incidents: newIncidents(int64(cfg.ResolveAfter), cfg.MaxIncidents),
		active: map[string]Anomaly{}}
	if !cfg.Detection.Disabled {
		e.stage = newStage(cfg.Detection, cfg.Interval, logger.With("component", "detect"), e.anomaly)
		if cfg.StateDir != "" {
			st, err := readCheckpoint(cfg.StateDir)
			switch {
			case errors.Is(err, ErrCheckpointVersion):
				logger.Warn("baseline checkpoint is from another format version, relearning", "err", err, "dir", cfg.StateDir)
			case err != nil:
				logger.Warn("baseline checkpoint not restored, relearning", "err", err, "dir", cfg.StateDir)
			case st != nil:
				e.stage.restore = st
				logger.Info("baselines restored", "baselines", len(st), "dir", cfg.StateDir)
			}
		}
	}
	return e
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
	records := make(chan []*TLSRecord, 64)
	var spent chan []*TLSRecord // batches OnTLS is done with (TLSReuse)
	if e.cfg.TLSReuse {
		spent = make(chan []*TLSRecord, 64)
	}
	var stop atomic.Bool
	errs := make([]error, len(srcs))
	analyzers := make([]*analyzer, len(srcs))
	// Running from before the first worker reads a frame until every event
	// has been delivered, so that "not running, frames read" means done.
	e.running.Store(true)
	defer e.running.Store(false)
	var wg sync.WaitGroup
	for i, src := range srcs {
		c := counters[i]
		an := &analyzer{worker: i, interval: int64(e.cfg.Interval), out: snaps, lossless: e.cfg.Lossless, c: c}
		if e.stage != nil {
			an.keys = newKeyed(e.cfg.Detection)
		}
		var emit func(*TLSRecord)
		var batch *tlsBatch
		if e.cfg.OnTLS != nil {
			batch = &tlsBatch{out: records, spent: spent, lossless: e.cfg.Lossless, dropped: &c.EventsDropped}
			emit, an.flushTLS = batch.add, batch.flush
		}
		var hf func(string, hygieneHit)
		if e.cfg.Hygiene {
			hf = an.hygiene
		}
		an.tls = newTLSAnalyzer(e.cfg.MaxTLSConns, &c.TLS, emit, hf, e.cfg.Blocklist)
		an.tls.summary = e.cfg.TLSSummary
		if spent != nil && batch != nil {
			an.tls.recycled = batch.recycled
		}
		fc := e.cfg.Flow
		an.quic = newQUICAnalyzer(e.cfg.MaxTLSConns, an.tls, &c.QUIC)
		fc.OnEnd = func(f *flow.Flow, r flow.EndReason) {
			if f.Proto() == capture.ProtoUDP {
				an.quic.flowEnded(f, r)
				return
			}
			an.tls.flowEnded(f, r)
		}
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
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		for b := range records {
			for _, r := range b {
				e.cfg.OnTLS(r)
			}
			if spent != nil {
				select {
				case spent <- b:
				default:
				}
			}
		}
	}()
	ckpt := make(chan []byte, 1)
	ckptDone := make(chan struct{})
	go func() {
		defer close(ckptDone)
		e.checkpointWriter(ckpt)
	}()
	aggDone := make(chan struct{})
	go func() {
		defer close(aggDone)
		e.aggregate(snaps, len(srcs), ckpt)
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
	close(ckpt)
	<-ckptDone
	if e.stage != nil && e.cfg.StateDir != "" {
		if err := writeFileAtomic(filepath.Join(e.cfg.StateDir, CheckpointFile), encodeCheckpoint(e.stage.marshal())); err != nil {
			e.logger.Warn("baseline checkpoint not written", "err", err)
		}
	}
	return errors.Join(errs...)
}

// pendingInterval is one interval being merged from the workers.
type pendingInterval struct {
	f Features
	m *merged
	// ks holds each worker's keyed snapshots; they are merged in worker
	// order when the interval is released, because sketch merges depend
	// on order and a replay must give the same result every run.
	ks [][]*keyedSnap
	// hits are the hygiene findings of the interval, applied in a sorted
	// order at release so that incident starts do not depend on which
	// worker reported first.
	hits []hygieneEvent
}

// aggregate merges worker snapshots into global intervals and releases an
// interval once every worker's watermark has passed its end.
func (e *Engine) aggregate(in <-chan snapshot, workers int, ckpt chan []byte) {
	interval := int64(e.cfg.Interval)
	marks := make([]int64, workers)
	var released int64 // end of the newest released interval
	pending := map[int64]*pendingInterval{}
	release := func(upTo int64) {
		var starts []int64
		for s := range pending {
			if s+interval <= upTo {
				starts = append(starts, s)
			}
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		for _, s := range starts {
			p := pending[s]
			delete(pending, s)
			released = max(released, s+interval)
			sort.Slice(p.hits, func(i, j int) bool { return hitLess(&p.hits[i], &p.hits[j]) })
			for _, h := range p.hits {
				e.incidents.hit(h, e.anomaly)
			}
			for _, ks := range p.ks {
				for _, k := range ks {
					p.m.add(k)
				}
			}
			f := &p.f
			e.mu.Lock()
			e.total.Add(f)
			if p.m != nil {
				for _, ap := range e.cfg.Detection.WatchServers {
					if x := p.m.servers[ap]; x != nil {
						if e.watched == nil {
							e.watched = map[netip.AddrPort]*Features{}
						}
						t := e.watched[ap]
						if t == nil {
							t = &Features{}
							e.watched[ap] = t
						}
						t.Add(&x.f)
					}
				}
			}
			e.mu.Unlock()
			if e.cfg.OnInterval != nil {
				e.cfg.OnInterval(*f)
			}
			if e.cfg.OnServerInterval != nil && p.m != nil {
				srv := make(map[netip.AddrPort]Features, len(p.m.servers))
				for ap, x := range p.m.servers {
					srv[ap] = x.f
				}
				e.cfg.OnServerInterval(s, srv)
			}
			if e.stage != nil {
				e.stage.interval(s, f, p.m)
				e.alertMu.Lock()
				e.detState = e.stage.states
				e.alertMu.Unlock()
				e.maybeCheckpoint(s+interval, ckpt)
			}
			e.incidents.resolve(s+interval, e.anomaly)
		}
	}
	get := func(start int64) *pendingInterval {
		p := pending[start]
		if p == nil {
			p = &pendingInterval{f: Features{Start: start}, m: newMerged(len(e.cfg.Detection.WatchPrefixes)), ks: make([][]*keyedSnap, workers)}
			pending[start] = p
		}
		return p
	}
	for s := range in {
		if h := s.hyg; h != nil {
			start := h.hit.ts - h.hit.ts%interval
			if start+interval <= released || h.hit.ts <= 0 {
				e.incidents.hit(*h, e.anomaly) // late: its interval is gone
			} else {
				get(start).hits = append(get(start).hits, *h)
			}
			continue
		}
		if s.f.Start != 0 {
			p := get(s.f.Start)
			p.f.Add(&s.f)
			if s.k != nil {
				p.ks[s.worker] = append(p.ks[s.worker], s.k)
			}
		}
		marks[s.worker] = s.watermark
		low := marks[0]
		for _, m := range marks[1:] {
			low = min(low, m)
		}
		release(low)
	}
	release(maxTime)
	if e.stage != nil {
		e.stage.resolveAll()
	}
	e.incidents.resolveAll(e.anomaly)
}

// maybeCheckpoint hands the baselines to the checkpoint writer every
// CheckpointEvery of packet time. The writer does the disk I/O; if it is
// still busy, the older pending checkpoint is replaced.
func (e *Engine) maybeCheckpoint(now int64, ckpt chan []byte) {
	if e.cfg.StateDir == "" {
		return
	}
	st := e.stage
	if st.lastCkpt == 0 {
		st.lastCkpt = now
		return
	}
	if now-st.lastCkpt < int64(e.cfg.Detection.CheckpointEvery) {
		return
	}
	st.lastCkpt = now
	b := encodeCheckpoint(st.marshal())
	for {
		select {
		case ckpt <- b:
			return
		default:
		}
		select {
		case <-ckpt:
		default:
		}
	}
}

// checkpointWriter writes checkpoints until ckpt is closed.
func (e *Engine) checkpointWriter(ckpt <-chan []byte) {
	for b := range ckpt {
		if err := writeFileAtomic(filepath.Join(e.cfg.StateDir, CheckpointFile), b); err != nil {
			e.logger.Warn("baseline checkpoint not written", "err", err)
		}
	}
}

// DetectorStates returns the latest verdict of every detector and scope
// (for scopes with many targets, the one with the highest score). Safe for
// concurrent use.
func (e *Engine) DetectorStates() []DetectorState {
	e.alertMu.Lock()
	defer e.alertMu.Unlock()
	return append([]DetectorState(nil), e.detState...)
}

// ActiveAlerts returns the anomalies currently firing, hygiene incidents
// included, ordered by start time and ID. Safe for concurrent use.
func (e *Engine) ActiveAlerts() []Anomaly {
	e.alertMu.Lock()
	out := make([]Anomaly, 0, len(e.active))
	for _, a := range e.active {
		out = append(out, a)
	}
	e.alertMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (e *Engine) anomaly(a Anomaly) {
	e.alertMu.Lock()
	if a.State == StateFiring {
		e.active[a.ID] = a
	} else {
		delete(e.active, a.ID)
	}
	e.alertMu.Unlock()
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
		t.UnseenAnswers += s.UnseenAnswers
		t.ReassemblyBuffers += s.ReassemblyBuffers
		t.ReassemblyBytes += s.ReassemblyBytes
		t.ReassemblyPoolExhausted += s.ReassemblyPoolExhausted
	}
	return t
}

// WatchedTotals returns running totals of the released intervals for each
// watched server (Config.Detection.WatchServers); servers without traffic
// yet have zero values.
func (e *Engine) WatchedTotals() map[netip.AddrPort]Features {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[netip.AddrPort]Features, len(e.cfg.Detection.WatchServers))
	for _, ap := range e.cfg.Detection.WatchServers {
		if t := e.watched[ap]; t != nil {
			out[ap] = *t
		} else {
			out[ap] = Features{}
		}
	}
	return out
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

// hitLess orders hygiene findings by packet time, then kind, target and
// detail.
func hitLess(a, b *hygieneEvent) bool {
	if a.hit.ts != b.hit.ts {
		return a.hit.ts < b.hit.ts
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	if a.hit.target != b.hit.target {
		return a.hit.target < b.hit.target
	}
	return a.hit.detail < b.hit.detail
}

// tlsBatchSize is how many TLS records a worker hands to the record
// goroutine at once: one channel send and one wake-up per batch rather than
// per record, which cost about as much as building the record.
const tlsBatchSize = 64

// tlsBatch collects one worker's TLS records for the record goroutine. It
// is flushed when full and whenever the worker closes an interval (at
// least once a second of packet time, or of idle time on a live source),
// and at the end.
type tlsBatch struct {
	recs     []*TLSRecord
	out      chan<- []*TLSRecord
	spent    <-chan []*TLSRecord // batches to reuse (TLSReuse), or nil
	reuse    []*TLSRecord        // records of a spent batch not reused yet
	lossless bool
	dropped  *atomicU64
}

// recycled returns a record of a spent batch, or nil when none is at hand.
func (b *tlsBatch) recycled() *TLSRecord {
	if len(b.reuse) == 0 {
		select {
		case s := <-b.spent:
			b.reuse = s
		default:
			return nil
		}
	}
	r := b.reuse[len(b.reuse)-1]
	b.reuse = b.reuse[:len(b.reuse)-1]
	return r
}

func (b *tlsBatch) add(r *TLSRecord) {
	if b.recs == nil {
		b.recs = make([]*TLSRecord, 0, tlsBatchSize)
	}
	b.recs = append(b.recs, r)
	if len(b.recs) == tlsBatchSize {
		b.flush()
	}
}

// flush hands the batch over; without Lossless, a full queue drops it and
// counts its records.
func (b *tlsBatch) flush() {
	if len(b.recs) == 0 {
		return
	}
	if b.lossless {
		b.out <- b.recs
	} else {
		select {
		case b.out <- b.recs:
		default:
			b.dropped.Add(uint64(len(b.recs)))
		}
	}
	b.recs = nil
}
