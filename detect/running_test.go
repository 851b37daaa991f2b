package detect

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
)

// runningSource is a capture that records whether the engine said it was
// running each time a worker read from it, and ends after reads frames.
type runningSource struct {
	e     *Engine
	reads int
	seen  []bool
}

func (s *runningSource) Read(f *capture.Frame) error {
	s.seen = append(s.seen, s.e.Running())
	if len(s.seen) > s.reads {
		return io.EOF
	}
	// Not a valid frame: it is counted as malformed, which is all the
	// engine needs to count a frame read.
	f.Data, f.Length, f.Timestamp, f.LinkType = []byte{0}, 1, int64(len(s.seen))*int64(time.Millisecond), capture.LinkEthernet
	return nil
}

func (s *runningSource) Close() error { return nil }

// TestEngineRunningWhileReading: the engine says it is running whenever a
// worker reads a frame, from the first read on, and not once Run has
// returned. "Not running, frames read" is how a caller (the metrics, the
// status API, the tests that scrape them) knows a replay has ended; a flag
// set only after the workers started let a replay that had barely begun
// pass for one that had ended.
func TestEngineRunningWhileReading(t *testing.T) {
	t.Parallel()
	e := NewEngine(Config{Interval: time.Second}, slog.New(slog.DiscardHandler))
	srcs := []capture.Source{&runningSource{e: e, reads: 3}, &runningSource{e: e, reads: 3}}
	if err := e.Run(context.Background(), srcs); err != nil {
		t.Fatal(err)
	}
	for i, s := range srcs {
		for j, r := range s.(*runningSource).seen {
			if !r {
				t.Errorf("worker %d, read %d: the engine said it was not running", i, j)
			}
		}
	}
	if e.Running() {
		t.Error("still running after Run returned")
	}
}
