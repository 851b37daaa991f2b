package detect

import "github.com/monitor443/monitor443/capture"

// snapshot is one worker's closed interval. It holds values only, so it
// does not alias the worker's live state.
type snapshot struct {
	worker int
	f      Features
	// watermark is the worker's packet time after closing the interval:
	// it will send no data for intervals that end at or before it.
	watermark int64
}

// analyzer turns packets into per-interval features. One per worker.
type analyzer struct {
	worker   int
	interval int64
	ports    *capture.Ports
	out      chan<- snapshot
	drops    *Counters

	start int64 // current interval start; 0 before the first packet
	cur   Features
}

// observe accounts one decoded packet on a monitored port.
func (a *analyzer) observe(p *capture.Packet) {
	a.tick(p.Timestamp)
	f := &a.cur
	toServer := a.ports.Has(p.DstPort)
	if toServer {
		f.PacketsIn++
		f.BytesIn += uint64(p.IPLen)
	} else {
		f.PacketsOut++
		f.BytesOut += uint64(p.IPLen)
	}
	if p.Proto != capture.ProtoTCP {
		return
	}
	switch fl := p.Flags; {
	case fl&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN:
		f.SYN++
	case fl.Has(capture.FlagSYN | capture.FlagACK):
		f.SYNACK++
	}
	if p.Flags.Has(capture.FlagRST) {
		f.RST++
	}
	if p.Flags.Has(capture.FlagFIN) {
		f.FIN++
	}
}

// tick closes the current interval when ts has moved past it.
func (a *analyzer) tick(ts int64) {
	if a.start == 0 {
		if ts > 0 {
			a.start = ts - ts%a.interval
			a.cur.Start = a.start
		}
		return
	}
	if ts < a.start+a.interval {
		return
	}
	next := ts - ts%a.interval
	a.emit(next)
	a.start = next
	a.cur = Features{Start: next}
}

// emit sends the current interval with the given watermark.
func (a *analyzer) emit(watermark int64) {
	a.out <- snapshot{worker: a.worker, f: a.cur, watermark: watermark}
}

// finish sends the last, partial interval and says no more will come.
func (a *analyzer) finish() {
	if a.start != 0 {
		a.emit(maxTime)
		return
	}
	a.out <- snapshot{worker: a.worker, f: Features{}, watermark: maxTime}
}

const maxTime = int64(^uint64(0) >> 1)
