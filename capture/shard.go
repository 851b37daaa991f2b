package capture

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ShardConfig tunes Shard.
type ShardConfig struct {
	// Workers is the number of sources to split into (at least 1).
	Workers int
	// TickNanos, when positive, makes every shard return ErrTimeout with
	// the boundary time each time packet time crosses a multiple of it,
	// so that workers whose share of traffic is idle still close their
	// intervals. Use the detection interval.
	TickNanos int64
	// BatchFrames and BatchBytes bound one hand-off batch (defaults 512
	// frames and 512 KiB).
	BatchFrames, BatchBytes int
	// Batches is the number of batches in flight per worker (default 4).
	// A full pipeline blocks the reader; a file replay never drops.
	Batches int
}

// Shard splits src into cfg.Workers sources by FlowHash, so both
// directions of a flow reach the same worker. One goroutine reads src,
// copies each frame into a per-worker batch and hands over full batches, so
// there is one channel operation per batch, not per packet.
//
// Each returned Source is owned by one worker. Closing one drops that
// worker's share from then on; when all are closed the reader stops and
// closes src (it also closes src when src ends).
func Shard(src Source, cfg ShardConfig) []Source {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.BatchFrames <= 0 {
		cfg.BatchFrames = 512
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 512 << 10
	}
	if cfg.Batches <= 0 {
		cfg.Batches = 4
	}
	s := &sharder{src: src, cfg: cfg, stop: make(chan struct{})}
	out := make([]Source, cfg.Workers)
	s.shards = make([]*shard, cfg.Workers)
	for i := range out {
		sh := &shard{
			parent: s,
			full:   make(chan *batch, cfg.Batches),
			free:   make(chan *batch, cfg.Batches),
			done:   make(chan struct{}),
		}
		for range cfg.Batches {
			sh.free <- &batch{frames: make([]Frame, 0, cfg.BatchFrames), buf: make([]byte, 0, cfg.BatchBytes)}
		}
		s.shards[i] = sh
		out[i] = sh
	}
	go s.run()
	return out
}

type batch struct {
	frames []Frame
	buf    []byte
	tick   int64 // when > 0 and frames is empty: a time tick
	err    error // terminal error after the frames
}

type sharder struct {
	src    Source
	cfg    ShardConfig
	shards []*shard
	cur    []*batch

	stop     chan struct{} // closed when every shard is closed
	stopOnce sync.Once
	closed   atomic.Int32
}

func (s *sharder) run() {
	// The reader owns src: it alone reads and closes it, so a worker that
	// stops early never closes the source under a running Read.
	defer s.src.Close()
	s.cur = make([]*batch, len(s.shards))
	var (
		f        Frame
		nextTick int64
	)
	n := uint64(len(s.shards))
	for {
		err := s.src.Read(&f)
		if errors.Is(err, ErrTimeout) {
			s.tick(f.Timestamp)
			continue
		}
		if err != nil {
			s.finish(err)
			return
		}
		if s.cfg.TickNanos > 0 {
			if nextTick == 0 {
				nextTick = (f.Timestamp/s.cfg.TickNanos + 1) * s.cfg.TickNanos
			} else if f.Timestamp >= nextTick {
				s.tick(f.Timestamp / s.cfg.TickNanos * s.cfg.TickNanos)
				nextTick = (f.Timestamp/s.cfg.TickNanos + 1) * s.cfg.TickNanos
			}
		}
		w := 0
		if n > 1 {
			w = int(FlowHash(f.LinkType, f.Data) % n)
		}
		b := s.cur[w]
		if b != nil && (len(b.frames) == cap(b.frames) || len(b.buf)+len(f.Data) > cap(b.buf)) {
			if !s.send(w) {
				return
			}
			b = nil
		}
		if b == nil {
			var ok bool
			if b, ok = s.get(w); !ok {
				return
			}
			if b == nil {
				continue // that worker stopped: its share is dropped
			}
		}
		start := len(b.buf)
		if len(f.Data) > cap(b.buf) {
			// A frame larger than a batch: give it its own buffer.
			b.frames = append(b.frames, Frame{Data: append([]byte(nil), f.Data...), Timestamp: f.Timestamp, Length: f.Length, LinkType: f.LinkType})
			continue
		}
		b.buf = append(b.buf, f.Data...)
		b.frames = append(b.frames, Frame{Data: b.buf[start:len(b.buf):len(b.buf)], Timestamp: f.Timestamp, Length: f.Length, LinkType: f.LinkType})
	}
}

// get takes a free batch for worker w. It returns a nil batch when that
// worker's shard is closed, and false when every shard is closed.
func (s *sharder) get(w int) (*batch, bool) {
	sh := s.shards[w]
	select {
	case b := <-sh.free:
		b.frames, b.buf, b.tick, b.err = b.frames[:0], b.buf[:0], 0, nil
		s.cur[w] = b
		return b, true
	case <-sh.done:
		return nil, true
	case <-s.stop:
		return nil, false
	}
}

// send hands worker w its current batch (dropping it when that shard is
// closed); false when every shard is closed.
func (s *sharder) send(w int) bool {
	b := s.cur[w]
	s.cur[w] = nil
	sh := s.shards[w]
	select {
	case sh.full <- b:
		return true
	case <-sh.done:
		return true
	case <-s.stop:
		return false
	}
}

// tick flushes every worker's batch and then tells each the time.
func (s *sharder) tick(ts int64) {
	for w := range s.shards {
		if s.cur[w] != nil && !s.send(w) {
			return
		}
		b, ok := s.get(w)
		if !ok {
			return
		}
		if b == nil {
			continue
		}
		b.tick = ts
		if !s.send(w) {
			return
		}
	}
}

func (s *sharder) finish(err error) {
	for w := range s.shards {
		b := s.cur[w]
		if b == nil {
			var ok bool
			if b, ok = s.get(w); !ok {
				return
			}
			if b == nil {
				continue
			}
		}
		b.err = err
		if !s.send(w) {
			return
		}
	}
}

// shardClosed notes one closed shard; when all are closed the reader
// stops, and it closes the source when it notices.
func (s *sharder) shardClosed() {
	if int(s.closed.Add(1)) == len(s.shards) {
		s.stopOnce.Do(func() { close(s.stop) })
	}
}

type shard struct {
	parent *sharder
	full   chan *batch
	free   chan *batch
	cur    *batch
	i      int
	err    error
	done   chan struct{} // closed by Close
	once   sync.Once
}

// Read implements Source.
func (sh *shard) Read(f *Frame) error {
	for {
		if sh.err != nil {
			return sh.err
		}
		if b := sh.cur; b != nil {
			if sh.i < len(b.frames) {
				*f = b.frames[sh.i]
				sh.i++
				return nil
			}
			sh.cur = nil
			if b.err != nil {
				sh.err = b.err
			}
			tick, empty := b.tick, len(b.frames) == 0
			sh.free <- b
			if tick > 0 && empty {
				f.Data, f.Timestamp, f.Length = nil, tick, 0
				return ErrTimeout
			}
			continue
		}
		select {
		case b := <-sh.full:
			sh.cur, sh.i = b, 0
		case <-sh.done:
			sh.err = ErrClosed
		}
	}
}

// Close implements Source.
// Close stops this shard: the reader drops its share of the frames from
// now on. The reader stops, and closes the source, once every shard is
// closed or the source ends.
func (sh *shard) Close() error {
	sh.once.Do(func() {
		close(sh.done)
		sh.parent.shardClosed()
	})
	return nil
}
