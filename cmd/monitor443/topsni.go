package main

import (
	"sync"

	"github.com/monitor443/monitor443/detect/sketch"
	"github.com/prometheus/client_golang/prometheus"
)

// topSNI counts TLS connections per SNI with a Space-Saving sketch and
// exports the top N as labelled series, with everything else under
// sni="other". The sketch tracks 4N names, so memory and the number of
// series are bounded by configuration, never by traffic. SNIs that drop out
// of the top N stop being exported (their counts move to "other").
type topSNI struct {
	mu    sync.Mutex
	n     int
	ss    *sketch.SpaceSaving[string]
	total uint64
	buf   []sketch.Entry[string]
	desc  *prometheus.Desc
}

func newTopSNI(n int) *topSNI {
	ss, err := sketch.NewSpaceSaving[string](4 * n)
	if err != nil {
		panic(err) // n is validated by the config parser
	}
	return &topSNI{n: n, ss: ss, desc: desc("monitor443_tls_top_sni_connections_total",
		"TLS connections per SNI for the top tls.top_sni names (Space-Saving estimate, an upper bound); the rest count as sni=\"other\".", "sni")}
}

func (t *topSNI) observe(sni string) {
	if sni == "" {
		sni = "(none)"
	}
	t.mu.Lock()
	t.ss.Offer(sni, 1)
	t.total++
	t.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (t *topSNI) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }

// Collect implements prometheus.Collector.
func (t *topSNI) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	t.buf = t.ss.Top(t.buf[:0])
	total := t.total
	var shown uint64
	for i, e := range t.buf {
		if i >= t.n {
			break
		}
		if e.Key == "other" {
			continue
		}
		shown += e.Count
		ch <- prometheus.MustNewConstMetric(t.desc, prometheus.CounterValue, float64(e.Count), e.Key)
	}
	t.mu.Unlock()
	other := 0.0
	if total > shown {
		other = float64(total - shown)
	}
	ch <- prometheus.MustNewConstMetric(t.desc, prometheus.CounterValue, other, "other")
}
