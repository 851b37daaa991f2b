package detect

import "sync/atomic"

// RTTBuckets are the upper bounds, in seconds, of the handshake RTT
// histogram buckets.
var RTTBuckets = [...]float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2}

var rttBoundsNS = func() (b [len(RTTBuckets)]int64) {
	for i, s := range RTTBuckets {
		b[i] = int64(s * 1e9)
	}
	return b
}()

// RTTHistogram is a lock-free histogram of round trips, written by one
// worker and read at scrape time. Counts are per bucket, not cumulative.
type RTTHistogram struct {
	Buckets [len(RTTBuckets) + 1]atomic.Uint64 // the last is +Inf
	SumNS   atomic.Int64
	Count   atomic.Uint64
}

func (h *RTTHistogram) observe(ns int64) {
	i := 0
	for i < len(rttBoundsNS) && ns > rttBoundsNS[i] {
		i++
	}
	h.Buckets[i].Add(1)
	h.SumNS.Add(ns)
	h.Count.Add(1)
}
