package detect

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/monitor443/monitor443/capture"
)

// Counters are one worker's running totals. Each field is written by the
// owning worker only and read by scrapes and summaries.
type Counters struct {
	Frames  atomic.Uint64 // frames read from the source
	Packets atomic.Uint64 // TCP/UDP packets on monitored ports
	Bytes   atomic.Uint64 // IP bytes of those packets
	Decode  [capture.NumResults]atomic.Uint64
	// EventsDropped counts TLS records and hygiene findings dropped
	// because the queue to the engine was full.
	EventsDropped atomic.Uint64
	// TLS holds the TLS handshake counters.
	TLS TLSCounters
	// QUIC holds the QUIC Initial counters.
	QUIC QUICCounters
	// RTT is the histogram of TCP handshake round trips (SYN to SYN-ACK,
	// as seen at the tap) of completed handshakes.
	RTT RTTHistogram
	// LastPacket is the packet time (Unix ns) of the newest frame seen.
	LastPacket atomic.Int64
}

// worker runs read → decode → analysis for one source. It is owned by one
// goroutine.
type worker struct {
	id   int
	src  capture.Source
	dec  *capture.Decoder
	c    *Counters
	pkt  capture.Packet
	fr   capture.Frame
	stop *atomic.Bool
	an   *analyzer
}

// run reads until the source ends, fails, or stop is set.
func (w *worker) run() error {
	for !w.stop.Load() {
		err := w.src.Read(&w.fr)
		if err != nil {
			if errors.Is(err, capture.ErrTimeout) {
				w.an.tick(w.fr.Timestamp)
				continue
			}
			if errors.Is(err, io.EOF) || errors.Is(err, capture.ErrClosed) {
				return nil
			}
			return err
		}
		w.handle()
	}
	return nil
}

// handle processes the frame in w.fr. It allocates nothing.
func (w *worker) handle() {
	c := w.c
	c.Frames.Add(1)
	c.LastPacket.Store(w.fr.Timestamp)
	r := w.dec.Decode(&w.fr, &w.pkt)
	c.Decode[r].Add(1)
	if r != capture.ResultOK {
		w.an.tick(w.fr.Timestamp)
		return
	}
	c.Packets.Add(1)
	c.Bytes.Add(uint64(w.pkt.IPLen))
	w.an.observe(&w.pkt)
}
