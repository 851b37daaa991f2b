package dashboards

import (
	"github.com/grafana-tools/sdk"
)

// Board names; a board's UID and file name are "monitor443-" + name.
const (
	NameOverview     = "overview"
	NameTLS          = "tls"
	NameDetection    = "detection"
	NameSensorHealth = "sensor-health"
)

// Detector IDs shown on the Detection board (the detector label values of the
// monitor443_detect_* gauges).
var detectors = []struct {
	id, title, unit string
}{
	{"bandwidth_spike", "Bandwidth spike", "Bps"},
	{"request_burst", "Request burst", "reqps"},
	{"syn_flood", "SYN flood", "pps"},
}

// Label value sets used in selectors; they come from the metric contract.
const (
	deprecatedVersions = `version=~"tls1.1|tls1.0|ssl3|ssl2"`
	weakCipherClasses  = `cipher_class=~"rc4|3des|des|null|export|anon"`
)

// All returns the four monitor443 boards in a fixed order: Overview, TLS,
// Detection and Sensor health. Each call builds new values.
func All() []*sdk.Board {
	return []*sdk.Board{Overview(), TLS(), Detection(), SensorHealth()}
}

// Overview returns the board with traffic, packets, connections,
// handshakes, SYN against SYN-ACK, watched servers and active alerts.
func Overview() *sdk.Board {
	bd := newBuilder(NameOverview, "monitor443 / Overview")
	bd.annotate("Alerts",
		"sum by (kind, severity) (changes("+sel("monitor443_detect_alerts_total")+"[$__interval])) > 0",
		"{{kind}}", "monitor443 alert {{kind}} ({{severity}}) fired", "red")

	bd.stat("Sensors capturing", "Sensors whose capture is running, out of the selected ones.", "none", 4,
		target{expr: "sum(" + sel("monitor443_capture_running") + ")"},
		threshold{color: "red"}, threshold{color: "green", from: 1})
	bd.stat("Traffic in", "IP bytes per second from clients to servers on monitored ports.", "Bps", 4,
		target{expr: "sum(" + rate("monitor443_capture_bytes_total", `direction="in"`) + ")"})
	bd.stat("Traffic out", "IP bytes per second from servers to clients on monitored ports.", "Bps", 4,
		target{expr: "sum(" + rate("monitor443_capture_bytes_total", `direction="out"`) + ")"})
	bd.stat("New connections", "New TCP flows per second.", "cps", 4,
		target{expr: "sum(" + rate("monitor443_tcp_connections_total") + ")"})
	bd.stat("Alerts firing", "Alerts currently firing on the selected sensors.", "none", 4,
		target{expr: "sum(" + sel("monitor443_detect_alerts_active") + ")"},
		threshold{color: "green"}, threshold{color: "red", from: 1})
	bd.stat("Kernel drops", "Frames the kernel dropped before monitor443 read them, per second.", "pps", 4,
		target{expr: "sum(" + rate("monitor443_capture_kernel_drops_total") + ")"},
		threshold{color: "green"}, threshold{color: "orange", from: 0.001})

	bd.row("Traffic")
	bd.timeseries("Traffic by direction", "IP bytes per second on monitored ports; in is client to server.", "Bps", 12,
		target{expr: "sum by (direction) (" + rate("monitor443_capture_bytes_total") + ")", legend: "{{direction}}"})
	bd.timeseries("Packets by protocol", "Packets per second on monitored ports. NIC offloads (GRO/LRO) merge packets; see docs/deployment.md.", "pps", 12,
		target{expr: "sum by (proto) (" + rate("monitor443_capture_packets_total") + ")", legend: "{{proto}}"})
	bd.timeseries("Traffic by sensor", "IP bytes per second per sensor and direction.", "Bps", 24,
		target{expr: "sum by (instance, direction) (" + rate("monitor443_capture_bytes_total") + ")", legend: "{{instance}} {{direction}}"})

	bd.row("Connections")
	bd.timeseries("Connections and handshakes", "New TCP flows, completed TCP handshakes, TLS ClientHellos and negotiated TLS handshakes per second.", "cps", 12,
		target{expr: "sum(" + rate("monitor443_tcp_connections_total") + ")", legend: "TCP connections"},
		target{expr: "sum(" + rate("monitor443_tcp_handshakes_completed_total") + ")", legend: "TCP handshakes completed"},
		target{expr: "sum(" + rate("monitor443_tls_client_hellos_total") + ")", legend: "TLS ClientHellos"},
		target{expr: "sum(" + rate("monitor443_tls_handshakes_total") + ")", legend: "TLS handshakes"})
	bd.timeseries("SYN vs SYN-ACK", "SYN and SYN-ACK segments per second. A SYN rate far above the SYN-ACK rate means unanswered connection attempts (flood or scan).", "pps", 12,
		target{expr: "sum(" + rate("monitor443_tcp_syn_total") + ")", legend: "SYN"},
		target{expr: "sum(" + rate("monitor443_tcp_synack_total") + ")", legend: "SYN-ACK"})
	bd.timeseries("SYN to SYN-ACK ratio", "SYNs per SYN-ACK, per sensor; about 1 on a healthy link, higher with retransmitted or unanswered SYNs.", "none", 8,
		target{expr: "sum by (instance) (" + rate("monitor443_tcp_syn_total") + ") / sum by (instance) (" + rate("monitor443_tcp_synack_total") + ")", legend: "{{instance}}"})
	bd.timeseries("RST, FIN and retransmissions", "TCP resets, FINs and retransmitted segments per second.", "pps", 8,
		target{expr: "sum(" + rate("monitor443_tcp_rst_total") + ")", legend: "RST"},
		target{expr: "sum(" + rate("monitor443_tcp_fin_total") + ")", legend: "FIN"},
		target{expr: "sum(" + rate("monitor443_tcp_retransmissions_total") + ")", legend: "retransmissions"})
	bd.timeseries("Handshake RTT", "SYN to SYN-ACK time seen at the sensor.", "s", 8,
		target{expr: "histogram_quantile(0.5, sum by (le) (" + rate("monitor443_tcp_handshake_rtt_seconds_bucket") + "))", legend: "p50"},
		target{expr: "histogram_quantile(0.99, sum by (le) (" + rate("monitor443_tcp_handshake_rtt_seconds_bucket") + "))", legend: "p99"})

	bd.row("Watched servers")
	bd.timeseries("Server traffic", "IP bytes per second per watched server (configured name) and direction.", "Bps", 8,
		target{expr: "sum by (server, direction) (" + rate("monitor443_server_bytes_total", `server=~"$server"`) + ")", legend: "{{server}} {{direction}}"})
	bd.timeseries("Server connections", "New TCP connections per second per watched server.", "cps", 8,
		target{expr: "sum by (server) (" + rate("monitor443_server_connections_total", `server=~"$server"`) + ")", legend: "{{server}}"})
	bd.timeseries("Server SYNs", "SYN segments per second per watched server.", "pps", 8,
		target{expr: "sum by (server) (" + rate("monitor443_server_syn_total", `server=~"$server"`) + ")", legend: "{{server}}"})

	bd.row("Alerts")
	bd.timeseries("Active alerts", "Alerts firing, by kind and severity.", "none", 12,
		target{expr: "sum by (kind, severity) (" + sel("monitor443_detect_alerts_active") + ") > 0", legend: "{{kind}} {{severity}}"})
	bd.table("Active alerts now", "Alerts firing now, per sensor.", 12, []string{"__name__", "job"},
		target{expr: sel("monitor443_detect_alerts_active") + " > 0"})
	return bd.board
}

// TLS returns the board with TLS versions, cipher classes, ALPN, ECH,
// non-TLS traffic on the port and top SNIs.
func TLS() *sdk.Board {
	bd := newBuilder(NameTLS, "monitor443 / TLS")

	bd.stat("Deprecated negotiated", "Share of handshakes that negotiated TLS 1.1 or older.", "percentunit", 6,
		target{expr: "sum(" + rate("monitor443_tls_handshakes_total", deprecatedVersions) + ") / sum(" + rate("monitor443_tls_handshakes_total") + ")"},
		threshold{color: "green"}, threshold{color: "orange", from: 0.001}, threshold{color: "red", from: 0.01})
	bd.stat("Weak ciphers", "Share of handshakes that negotiated an RC4, 3DES, DES, NULL, export or anonymous cipher suite.", "percentunit", 6,
		target{expr: "sum(" + rate("monitor443_tls_handshakes_total", weakCipherClasses) + ") / sum(" + rate("monitor443_tls_handshakes_total") + ")"},
		threshold{color: "green"}, threshold{color: "red", from: 0.001})
	bd.stat("ECH share", "Share of ClientHellos carrying Encrypted Client Hello.", "percentunit", 6,
		target{expr: "sum(" + rate("monitor443_tls_ech_total") + ") / sum(" + rate("monitor443_tls_client_hellos_total") + ")"})
	bd.stat("Non-TLS connections", "Connections on monitored ports that did not start with TLS, per second.", "cps", 6,
		target{expr: "sum(" + rate("monitor443_tls_non_tls_connections_total") + ")"},
		threshold{color: "green"}, threshold{color: "orange", from: 0.01})

	bd.row("Versions")
	stacked(bd.timeseries("Versions offered", "ClientHellos per second by the highest version the client offered.", "reqps", 12,
		target{expr: "sum by (version) (" + rate("monitor443_tls_client_hellos_total") + ")", legend: "{{version}}"}))
	stacked(bd.timeseries("Versions negotiated", "Handshakes per second by the version the server chose (from the ServerHello).", "reqps", 12,
		target{expr: "sum by (version) (" + rate("monitor443_tls_handshakes_total") + ")", legend: "{{version}}"}))
	bd.timeseries("Deprecated protocols", "ClientHellos whose highest offered version, and handshakes whose negotiated version, is TLS 1.1 or older (RFC 8996).", "reqps", 24,
		target{expr: "sum by (version) (" + rate("monitor443_tls_client_hellos_total", deprecatedVersions) + ")", legend: "offered {{version}}"},
		target{expr: "sum by (version) (" + rate("monitor443_tls_handshakes_total", deprecatedVersions) + ")", legend: "negotiated {{version}}"})

	bd.row("Cipher suites and extensions")
	stacked(bd.timeseries("Cipher classes", "Negotiated handshakes per second by cipher class.", "reqps", 12,
		target{expr: "sum by (cipher_class) (" + rate("monitor443_tls_handshakes_total") + ")", legend: "{{cipher_class}}"}))
	stacked(bd.timeseries("ALPN offered", "ClientHellos per second by first offered ALPN protocol.", "reqps", 12,
		target{expr: "sum by (alpn) (" + rate("monitor443_tls_client_hello_alpn_total") + ")", legend: "{{alpn}}"}))
	bd.timeseries("ECH share by sensor", "Share of ClientHellos carrying Encrypted Client Hello, per sensor.", "percentunit", 12,
		target{expr: "sum by (instance) (" + rate("monitor443_tls_ech_total") + ") / sum by (instance) (" + rate("monitor443_tls_client_hellos_total") + ")", legend: "{{instance}}"})
	bd.timeseries("TLS alerts", "TLS alert records seen in cleartext, per second, by level.", "pps", 12,
		target{expr: "sum by (level) (" + rate("monitor443_tls_alerts_total") + ")", legend: "{{level}}"})

	bd.row("Other traffic")
	stacked(bd.timeseries("Non-TLS connections by kind", "Connections on monitored ports that carried something other than TLS, per second.", "cps", 12,
		target{expr: "sum by (kind) (" + rate("monitor443_tls_non_tls_connections_total") + ")", legend: "{{kind}}"}))
	bd.barGauge("Top SNIs", "Connections per SNI over the time range. Empty unless tls.top_sni is enabled; names beyond the configured cap count as \"other\".", "short", 12,
		target{expr: "topk(15, sum by (sni) (increase(" + sel("monitor443_tls_top_sni_connections_total") + "[$__range])))", legend: "{{sni}}"})

	bd.row("QUIC (UDP/443)")
	bd.timeseries("QUIC connections and Initials", "New QUIC connections and decrypted client Initial packets per second.", "pps", 12,
		target{expr: "sum(" + rate("monitor443_quic_connections_total") + ")", legend: "connections"},
		target{expr: "sum(" + rate("monitor443_quic_initials_total") + ")", legend: "initials"})
	bd.timeseries("QUIC without answer", "QUIC connections whose Initials got no server packet, and client long-header packets that did not decrypt, per second: a rise is an Initial flood or a blackholed server.", "pps", 12,
		target{expr: "sum(" + rate("monitor443_quic_unanswered_total") + ")", legend: "unanswered"},
		target{expr: "sum(" + rate("monitor443_quic_undecryptable_total") + ")", legend: "undecryptable"})
	return bd.board
}

// Detection returns the board with each detector's value against its
// expected value and band, and the detectors' scores and alerts.
func Detection() *sdk.Board {
	bd := newBuilder(NameDetection, "monitor443 / Detection")
	bd.annotate("Alerts",
		"sum by (kind, severity) (changes("+sel("monitor443_detect_alerts_total")+"[$__interval])) > 0",
		"{{kind}}", "monitor443 alert {{kind}} ({{severity}}) fired", "red")

	for _, d := range detectors {
		bd.row(d.title)
		det := `detector="` + d.id + `"`
		// A band's lower edge and a score may go below zero.
		unclamped(bd.timeseries(d.title+": value and band", "The current interval's value (rate per second) against the learned baseline and its band; the detector fires when the value leaves the band.", d.unit, 16,
			target{expr: sel("monitor443_detect_value", det), legend: "{{instance}} {{scope}} value"},
			target{expr: sel("monitor443_detect_expected", det), legend: "{{instance}} {{scope}} expected"},
			target{expr: sel("monitor443_detect_band_lower", det), legend: "{{instance}} {{scope}} lower"},
			target{expr: sel("monitor443_detect_band_upper", det), legend: "{{instance}} {{scope}} upper"}))
		unclamped(bd.timeseries(d.title+": score", "How far the value is outside its band, as the detector scores it.", "none", 8,
			target{expr: sel("monitor443_detect_score", det), legend: "{{instance}} {{scope}}"}))
	}

	bd.row("Alerts")
	bd.timeseries("Active alerts", "Alerts firing, by kind and severity.", "none", 8,
		target{expr: "sum by (kind, severity) (" + sel("monitor443_detect_alerts_active") + ")", legend: "{{kind}} {{severity}}"})
	bd.timeseries("Alerts fired", "Firing transitions per interval, by kind and severity.", "none", 8,
		target{expr: "sum by (kind, severity) (increase(" + sel("monitor443_detect_alerts_total") + "[$__interval]))", legend: "{{kind}} {{severity}}"})
	bd.timeseries("Anomalies dropped", "Anomalies dropped because the queue to alerting was full, per second.", "ops", 8,
		target{expr: "sum by (instance) (" + rate("monitor443_detect_anomalies_dropped_total") + ")", legend: "{{instance}}"})
	bd.stat("Detection interval", "Configured detection interval.", "s", 8,
		target{expr: "max(" + sel("monitor443_detect_interval_seconds") + ")"})
	return bd.board
}

// SensorHealth returns the board about monitor443 itself: decode failures,
// drops, capture lag, flow table, reassembly, alert queues and deliveries.
func SensorHealth() *sdk.Board {
	bd := newBuilder(NameSensorHealth, "monitor443 / Sensor health")

	bd.table("Sensors", "Build and capture state of each selected sensor.", 12, []string{"__name__", "job", "Value"},
		target{expr: sel("monitor443_build_info")})
	bd.stat("Max capture lag", "Largest wall-clock time minus newest packet time over the selected sensors.", "s", 4,
		target{expr: "max(" + sel("monitor443_capture_lag_seconds") + ")"},
		threshold{color: "green"}, threshold{color: "orange", from: 5}, threshold{color: "red", from: 30})
	bd.stat("Drop ratio", "Kernel and internal drops as a share of frames the kernel received.", "percentunit", 4,
		target{expr: "(sum(" + rate("monitor443_capture_kernel_drops_total") + ") + sum(" + rate("monitor443_capture_internal_drops_total") + ")) / sum(" + rate("monitor443_capture_kernel_received_total") + ")"},
		threshold{color: "green"}, threshold{color: "orange", from: 0.0001}, threshold{color: "red", from: 0.01})
	bd.stat("Sensors not capturing", "Selected sensors whose capture is stopped.", "none", 4,
		target{expr: "count(" + sel("monitor443_capture_running") + " == 0) or vector(0)"},
		threshold{color: "green"}, threshold{color: "red", from: 1})

	bd.row("Capture")
	bd.timeseries("Frames read", "Frames read from the capture sources, and packets on other ports, per second.", "pps", 8,
		target{expr: "sum by (instance) (" + rate("monitor443_capture_frames_total") + ")", legend: "{{instance}} frames"},
		target{expr: "sum by (instance) (" + rate("monitor443_capture_other_port_packets_total") + ")", legend: "{{instance}} other ports"})
	bd.timeseries("Drops", "Frames dropped by the kernel (ring full) and inside monitor443, per second. Any drop means the sensor is undersized; see docs/deployment.md.", "pps", 8,
		target{expr: "sum by (instance) (" + rate("monitor443_capture_kernel_drops_total") + ")", legend: "{{instance}} kernel"},
		target{expr: "sum by (instance) (" + rate("monitor443_capture_internal_drops_total") + ")", legend: "{{instance}} internal"})
	bd.timeseries("Capture lag", "Wall-clock time minus the newest packet's timestamp (live capture only).", "s", 8,
		target{expr: "max by (instance) (" + sel("monitor443_capture_lag_seconds") + ")", legend: "{{instance}}"})
	stacked(bd.timeseries("Decode failures by reason", "Frames that could not be decoded, per second, by reason.", "pps", 12,
		target{expr: "sum by (reason) (" + rate("monitor443_capture_decode_failures_total") + ")", legend: "{{reason}}"}))
	bd.timeseries("Capture running", "1 while a sensor's capture runs.", "none", 12,
		target{expr: "max by (instance) (" + sel("monitor443_capture_running") + ")", legend: "{{instance}}"})

	bd.row("Flow table")
	bd.timeseries("Flow table size", "Tracked flows per sensor by budget (confirmed or half-open).", "short", 8,
		target{expr: "sum by (instance, budget) (" + sel("monitor443_flow_active") + ")", legend: "{{instance}} {{budget}}"})
	stacked(bd.timeseries("Flows ended by reason", "Flows leaving the table per second, by reason.", "ops", 8,
		target{expr: "sum by (reason) (" + rate("monitor443_flow_ended_total") + ")", legend: "{{reason}}"}))
	bd.timeseries("Evictions", "Flows evicted because the table was full, per second; non-zero means the table is too small for the traffic.", "ops", 8,
		target{expr: "sum by (instance, reason) (" + rate("monitor443_flow_ended_total", `reason=~"evict_.*"`) + ")", legend: "{{instance}} {{reason}}"})
	bd.timeseries("Reassembly buffers", "ClientHello reassembly buffers in use.", "short", 12,
		target{expr: "sum by (instance) (" + sel("monitor443_flow_reassembly_buffers") + ")", legend: "{{instance}}"})
	bd.timeseries("Reassembly exhausted", "ClientHellos not reassembled because the buffer budget was used up, per second.", "ops", 12,
		target{expr: "sum by (instance) (" + rate("monitor443_flow_reassembly_exhausted_total") + ")", legend: "{{instance}}"})

	bd.row("Alert delivery")
	bd.timeseries("Sink deliveries", "Notifications per second by sink: delivered, retried (network errors, 5xx, 429) and failed for good (other 4xx).", "ops", 12,
		target{expr: "sum by (sink) (" + rate("monitor443_alerting_notifications_sent_total") + ")", legend: "{{sink}} sent"},
		target{expr: "sum by (sink) (" + rate("monitor443_alerting_notification_retries_total") + ")", legend: "{{sink}} retried"},
		target{expr: "sum by (sink) (" + rate("monitor443_alerting_notifications_failed_total") + ")", legend: "{{sink}} failed"})
	bd.timeseries("Delivery duration p99", "99th percentile of one delivery attempt, by sink.", "s", 12,
		target{expr: "histogram_quantile(0.99, sum by (sink, le) (" + rate("monitor443_alerting_delivery_duration_seconds_bucket") + "))", legend: "{{sink}}"})
	bd.timeseries("Alert queue", "Notifications waiting for delivery, by sink.", "short", 8,
		target{expr: "sum by (instance, sink) (" + sel("monitor443_alerting_queue_length") + ")", legend: "{{instance}} {{sink}}"})
	bd.timeseries("Spool entries", "Notifications held in the on-disk spool.", "short", 8,
		target{expr: "sum by (instance) (" + sel("monitor443_alerting_spool_entries") + ")", legend: "{{instance}}"})
	bd.timeseries("Spool size", "Bytes held in the on-disk spool.", "bytes", 8,
		target{expr: "sum by (instance) (" + sel("monitor443_alerting_spool_bytes") + ")", legend: "{{instance}}"})
	return bd.board
}
