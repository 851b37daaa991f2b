package main

import (
	"math"
	"runtime"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric names. docs/metrics.md lists each with its labels and worst-case
// series count; the end-to-end test checks that every name used by the
// dashboards and rules exists.
const (
	metricFrames          = "monitor443_capture_frames_total"
	metricPackets         = "monitor443_capture_packets_total"
	metricBytes           = "monitor443_capture_bytes_total"
	metricOtherPort       = "monitor443_capture_other_port_packets_total"
	metricDecodeFailures  = "monitor443_capture_decode_failures_total"
	metricKernelReceived  = "monitor443_capture_kernel_received_total"
	metricKernelDrops     = "monitor443_capture_kernel_drops_total"
	metricInternalDrops   = "monitor443_capture_internal_drops_total"
	metricLag             = "monitor443_capture_lag_seconds"
	metricRunning         = "monitor443_capture_running"
	metricFileDamaged     = "monitor443_capture_file_damaged_records_total"
	metricFileSkipped     = "monitor443_capture_file_skipped_bytes_total"
	metricFlowActive      = "monitor443_flow_active"
	metricFlowEnded       = "monitor443_flow_ended_total"
	metricReasmBuffers    = "monitor443_flow_reassembly_buffers"
	metricReasmExhausted  = "monitor443_flow_reassembly_exhausted_total"
	metricSYN             = "monitor443_tcp_syn_total"
	metricSYNACK          = "monitor443_tcp_synack_total"
	metricDarkSYN         = "monitor443_tcp_dark_syn_total"
	metricUnseenAnswers   = "monitor443_tcp_handshakes_unseen_answer_total"
	metricRST             = "monitor443_tcp_rst_total"
	metricFIN             = "monitor443_tcp_fin_total"
	metricConnections     = "monitor443_tcp_connections_total"
	metricHandshakes      = "monitor443_tcp_handshakes_completed_total"
	metricRetransmissions = "monitor443_tcp_retransmissions_total"
	metricClientHellos    = "monitor443_tls_client_hellos_total"
	metricTLSHandshakes   = "monitor443_tls_handshakes_total"
	metricALPN            = "monitor443_tls_client_hello_alpn_total"
	metricECH             = "monitor443_tls_ech_total"
	metricTLSAlerts       = "monitor443_tls_alerts_total"
	metricNonTLS          = "monitor443_tls_non_tls_connections_total"
	metricTLSParseErrors  = "monitor443_tls_parse_errors_total"
	metricBuildInfo       = "monitor443_build_info"
	metricQUICInitials    = "monitor443_quic_initials_total"
	metricQUICConns       = "monitor443_quic_connections_total"
	metricQUICUnanswered  = "monitor443_quic_unanswered_total"
	metricQUICUndecrypt   = "monitor443_quic_undecryptable_total"
)

// fileCollector exports what the capture file reader did to get past
// damaged records.
type fileCollector struct {
	file             *capture.FileSource
	damaged, skipped *prometheus.Desc
}

func newFileCollector(f *capture.FileSource) *fileCollector {
	return &fileCollector{file: f,
		damaged: desc(metricFileDamaged, "Damaged records in capture files: repaired (kept, with the length of the gap to the next good record) or skipped (a stretch of bytes too long for one record, which held at least one).", "outcome"),
		skipped: desc(metricFileSkipped, "Bytes of capture files skipped to resynchronise on the next good record.")}
}

func (c *fileCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.damaged; ch <- c.skipped }

func (c *fileCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.file.Damage()
	ch <- prometheus.MustNewConstMetric(c.damaged, prometheus.CounterValue, float64(d.Repaired), "repaired")
	ch <- prometheus.MustNewConstMetric(c.damaged, prometheus.CounterValue, float64(d.SkippedRecords), "skipped")
	ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.CounterValue, float64(d.SkippedBytes))
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// engineCollector reads the workers' atomic counters at scrape time, so the
// packet path never touches a labelled metric.
type engineCollector struct {
	eng *detect.Engine

	frames, packets, bytes, otherPort, decodeFailures    *prometheus.Desc
	kernelReceived, kernelDrops, internalDrops, lag, run *prometheus.Desc
	flowActive, flowEnded, reasmBuffers, reasmExhausted  *prometheus.Desc
	syn, synack, rst, fin, conns, handshakes, retrans    *prometheus.Desc
	hellos, tlsHandshakes, alpn, ech, tlsAlerts, nonTLS  *prometheus.Desc
	tlsParseErrors                                       *prometheus.Desc
	quicInitials, quicConns, quicUnanswered, quicUndecr  *prometheus.Desc
	detValue, detExpected, detLower, detUpper, detScore  *prometheus.Desc
	srvBytes, srvConns, srvSYN                           *prometheus.Desc
	darkSYN, unseenAnswers                               *prometheus.Desc
	rtt                                                  *prometheus.Desc
}

func newEngineCollector(eng *detect.Engine) *engineCollector {
	return &engineCollector{
		eng:            eng,
		frames:         desc(metricFrames, "Frames read from the capture sources."),
		packets:        desc(metricPackets, "TCP and UDP packets on monitored ports.", "proto"),
		bytes:          desc(metricBytes, "IP bytes of packets on monitored ports; in is client to server.", "proto", "direction"),
		otherPort:      desc(metricOtherPort, "TCP and UDP packets on ports that are not monitored."),
		decodeFailures: desc(metricDecodeFailures, "Frames that could not be decoded, by reason.", "reason"),
		kernelReceived: desc(metricKernelReceived, "Frames the kernel handed to the capture sockets (live capture)."),
		kernelDrops:    desc(metricKernelDrops, "Frames the kernel dropped because a capture ring was full (live capture)."),
		internalDrops:  desc(metricInternalDrops, "TLS records and findings dropped inside monitor443 because a queue was full."),
		lag:            desc(metricLag, "Wall-clock time minus the newest packet time; grows when capture falls behind or the link is idle."),
		run:            desc(metricRunning, "1 while the capture pipeline runs."),
		flowActive:     desc(metricFlowActive, "Flows in the flow tables, by budget.", "budget"),
		flowEnded:      desc(metricFlowEnded, "Flows that left the flow tables, by reason.", "reason"),
		reasmBuffers:   desc(metricReasmBuffers, "Handshake reassembly buffers in use."),
		reasmExhausted: desc(metricReasmExhausted, "Flow directions not reassembled because every reassembly buffer was in use."),
		syn:            desc(metricSYN, "TCP SYN packets (without ACK)."),
		synack:         desc(metricSYNACK, "TCP SYN-ACK packets."),
		unseenAnswers:  desc(metricUnseenAnswers, "TCP handshakes completed (also in monitor443_tcp_handshakes_completed_total) whose SYN-ACK the capture did not see: a steady share means the capture sees one direction of some traffic."),
		darkSYN:        desc(metricDarkSYN, "New TCP connection attempts at addresses that never answered on a monitored port (probes of unused address space); no detector counts them."),
		rst:            desc(metricRST, "TCP packets with RST."),
		fin:            desc(metricFIN, "TCP packets with FIN."),
		conns:          desc(metricConnections, "New TCP connections (flows that began with a SYN)."),
		handshakes:     desc(metricHandshakes, "Completed TCP three-way handshakes."),
		retrans:        desc(metricRetransmissions, "Retransmitted TCP segments."),
		hellos:         desc(metricClientHellos, "TLS ClientHellos, by highest version offered.", "version"),
		tlsHandshakes:  desc(metricTLSHandshakes, "TLS ServerHellos, by negotiated version and cipher class.", "version", "cipher_class"),
		alpn:           desc(metricALPN, "TLS ClientHellos by first ALPN protocol offered.", "alpn"),
		ech:            desc(metricECH, "TLS ClientHellos carrying Encrypted Client Hello (real or GREASE)."),
		tlsAlerts:      desc(metricTLSAlerts, "TLS alerts sent in clear by servers, by level.", "level"),
		nonTLS:         desc(metricNonTLS, "Connections on monitored TCP ports that are not TLS, by protocol.", "kind"),
		tlsParseErrors: desc(metricTLSParseErrors, "TLS handshakes that could not be parsed."),
		quicInitials:   desc(metricQUICInitials, "QUIC client Initial packets that decrypted, on monitored UDP ports."),
		quicConns:      desc(metricQUICConns, "New QUIC connections (first client Initial of a flow)."),
		quicUnanswered: desc(metricQUICUnanswered, "QUIC connections whose Initials got no server packet before the flow ended."),
		quicUndecr:     desc(metricQUICUndecrypt, "Long-header client packets on monitored UDP ports that did not decrypt as QUIC Initials."),
		detValue:       desc("monitor443_detect_value", "Latest interval's value per detector and scope, per second in the detector's unit; for scopes with many targets, the target with the highest score.", "detector", "scope"),
		detExpected:    desc("monitor443_detect_expected", "Baseline (expected value) behind monitor443_detect_value.", "detector", "scope"),
		detLower:       desc("monitor443_detect_band_lower", "Lower edge of the expected band.", "detector", "scope"),
		detUpper:       desc("monitor443_detect_band_upper", "Upper edge of the expected band; above it the interval counts as anomalous.", "detector", "scope"),
		rtt:            desc("monitor443_tcp_handshake_rtt_seconds", "TCP handshake round trip (SYN to SYN-ACK, seen at the tap) of completed handshakes."),
		srvBytes:       desc("monitor443_server_bytes_total", "IP bytes per watched server (detection.watch.servers) and direction; server=\"other\" sums every other server.", "server", "direction"),
		srvConns:       desc("monitor443_server_connections_total", "New TCP connections per watched server; server=\"other\" sums the rest.", "server"),
		srvSYN:         desc("monitor443_server_syn_total", "SYN packets per watched server; server=\"other\" sums the rest.", "server"),
		detScore:       desc("monitor443_detect_score", "Anomaly score: (value - expected) / band half-width.", "detector", "scope"),
	}
}

// Describe implements prometheus.Collector.
func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.frames, c.packets, c.bytes, c.otherPort, c.decodeFailures,
		c.kernelReceived, c.kernelDrops, c.internalDrops, c.lag, c.run, c.flowActive, c.flowEnded,
		c.reasmBuffers, c.reasmExhausted, c.syn, c.synack, c.darkSYN, c.unseenAnswers, c.rst, c.fin, c.conns, c.handshakes, c.retrans,
		c.hellos, c.tlsHandshakes, c.alpn, c.ech, c.tlsAlerts, c.nonTLS, c.tlsParseErrors,
		c.quicInitials, c.quicConns, c.quicUnanswered, c.quicUndecr,
		c.detValue, c.detExpected, c.detLower, c.detUpper, c.detScore, c.srvBytes, c.srvConns, c.srvSYN, c.rtt} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	t := c.eng.Totals()
	counter(c.frames, t.Frames)
	// Per-protocol split comes from the interval features' direction
	// counters, which the engine keeps per protocol.
	pt := c.eng.ProtoTotals()
	for _, p := range []capture.Proto{capture.ProtoTCP, capture.ProtoUDP} {
		x := pt[p]
		counter(c.packets, x.PacketsIn+x.PacketsOut, p.String())
		counter(c.bytes, x.BytesIn, p.String(), "in")
		counter(c.bytes, x.BytesOut, p.String(), "out")
	}
	counter(c.otherPort, t.Decode[capture.ResultOtherPort])
	for _, r := range capture.AllResults {
		if r.Failure() {
			counter(c.decodeFailures, t.Decode[r], r.String())
		}
	}
	ks := c.eng.SourceStats()
	counter(c.kernelReceived, ks.Received)
	counter(c.kernelDrops, ks.KernelDrops)
	var dropped uint64
	var newest int64
	var tls struct {
		hellos     [len(detect.VersionLabels)]uint64
		handshakes [len(detect.VersionLabels)][len(detect.ClassLabels)]uint64
		alpn       [len(detect.ALPNLabels)]uint64
		nonTLS     [len(detect.KindLabels)]uint64
		ech        uint64
		alerts     [2]uint64
		parseErr   uint64
	}
	for _, w := range c.eng.Counters() {
		dropped += w.EventsDropped.Load()
		newest = max(newest, w.LastPacket.Load())
		for i := range tls.hellos {
			tls.hellos[i] += w.TLS.ClientHellos[i].Load()
			for j := range tls.handshakes[i] {
				tls.handshakes[i][j] += w.TLS.Handshakes[i][j].Load()
			}
		}
		for i := range tls.alpn {
			tls.alpn[i] += w.TLS.ALPN[i].Load()
		}
		for i := range tls.nonTLS {
			tls.nonTLS[i] += w.TLS.NonTLS[i].Load()
		}
		tls.ech += w.TLS.ECH.Load()
		tls.alerts[0] += w.TLS.Alerts[0].Load()
		tls.alerts[1] += w.TLS.Alerts[1].Load()
		tls.parseErr += w.TLS.ParseErrors.Load()
	}
	counter(c.internalDrops, dropped)
	lag := 0.0
	if newest > 0 && c.eng.Running() {
		lag = max(0, time.Since(time.Unix(0, newest)).Seconds())
	}
	gauge(c.lag, lag)
	running := 0.0
	if c.eng.Running() {
		running = 1
	}
	gauge(c.run, running)

	fs := c.eng.FlowStats()
	gauge(c.flowActive, float64(fs.Flows-fs.HalfOpen), "confirmed")
	gauge(c.flowActive, float64(fs.HalfOpen), "half_open")
	for _, r := range flow.EndReasons {
		counter(c.flowEnded, fs.Ended[r], r.String())
	}
	gauge(c.reasmBuffers, float64(fs.ReassemblyBuffers))
	counter(c.reasmExhausted, fs.ReassemblyPoolExhausted)
	counter(c.unseenAnswers, fs.UnseenAnswers)

	tcp := pt[capture.ProtoTCP]
	counter(c.syn, tcp.SYN)
	counter(c.synack, tcp.SYNACK)
	counter(c.darkSYN, tcp.DarkSYNs)
	counter(c.rst, tcp.RST)
	counter(c.fin, tcp.FIN)
	counter(c.conns, tcp.NewConns)
	counter(c.handshakes, tcp.Handshakes)
	counter(c.retrans, tcp.Retransmits)

	for i, v := range detect.VersionLabels {
		counter(c.hellos, tls.hellos[i], v)
		for j, cl := range detect.ClassLabels {
			counter(c.tlsHandshakes, tls.handshakes[i][j], v, cl)
		}
	}
	for i, a := range detect.ALPNLabels {
		counter(c.alpn, tls.alpn[i], a)
	}
	counter(c.ech, tls.ech)
	counter(c.tlsAlerts, tls.alerts[0], "warning")
	counter(c.tlsAlerts, tls.alerts[1], "fatal")
	for i, k := range detect.KindLabels {
		counter(c.nonTLS, tls.nonTLS[i], k)
	}
	counter(c.tlsParseErrors, tls.parseErr)
	var qi, qc, qu, qd uint64
	for _, w := range c.eng.Counters() {
		qi += w.QUIC.Initials.Load()
		qc += w.QUIC.Connections.Load()
		qu += w.QUIC.Unanswered.Load()
		qd += w.QUIC.Undecryptable.Load()
	}
	counter(c.quicInitials, qi)
	counter(c.quicConns, qc)
	counter(c.quicUnanswered, qu)
	counter(c.quicUndecr, qd)
	var (
		rttCounts [len(detect.RTTBuckets) + 1]uint64
		rttSum    int64
		rttN      uint64
	)
	for _, w := range c.eng.Counters() {
		for i := range rttCounts {
			rttCounts[i] += w.RTT.Buckets[i].Load()
		}
		rttSum += w.RTT.SumNS.Load()
		rttN += w.RTT.Count.Load()
	}
	buckets := make(map[float64]uint64, len(detect.RTTBuckets))
	var cum uint64
	for i, ub := range detect.RTTBuckets {
		cum += rttCounts[i]
		buckets[ub] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.rtt, rttN, float64(rttSum)/1e9, buckets)
	if ws := c.eng.WatchedTotals(); len(ws) > 0 {
		all := c.eng.ProtoTotals()
		other := all[capture.ProtoTCP]
		udp := all[capture.ProtoUDP]
		other.BytesIn += udp.BytesIn
		other.BytesOut += udp.BytesOut
		for ap, f := range ws {
			name := ap.String()
			counter(c.srvBytes, f.BytesIn, name, "in")
			counter(c.srvBytes, f.BytesOut, name, "out")
			counter(c.srvConns, f.NewConns, name)
			counter(c.srvSYN, f.SYN, name)
			other.BytesIn -= min(other.BytesIn, f.BytesIn)
			other.BytesOut -= min(other.BytesOut, f.BytesOut)
			other.NewConns -= min(other.NewConns, f.NewConns)
			other.SYN -= min(other.SYN, f.SYN)
		}
		counter(c.srvBytes, other.BytesIn, "other", "in")
		counter(c.srvBytes, other.BytesOut, "other", "out")
		counter(c.srvConns, other.NewConns, "other")
		counter(c.srvSYN, other.SYN, "other")
	}
	for _, st := range c.eng.DetectorStates() {
		gauge(c.detValue, finite(st.Value), st.Detector, st.Scope)
		gauge(c.detExpected, finite(st.Expected), st.Detector, st.Scope)
		gauge(c.detLower, finite(st.Lower), st.Detector, st.Scope)
		gauge(c.detUpper, finite(st.Upper), st.Detector, st.Scope)
		gauge(c.detScore, finite(st.Score), st.Detector, st.Scope)
	}
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// newRegistry returns the registry /metrics serves, with build info and the
// Go and process collectors; the engine's collector is added once the
// engine exists.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricBuildInfo, Help: "Build information; always 1."}, []string{"version", "revision", "goversion"})
	bi.WithLabelValues(version, revision(), runtime.Version()).Set(1)
	reg.MustRegister(bi)
	return reg
}
