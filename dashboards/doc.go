// Package dashboards defines monitor443's Grafana dashboards as Go values
// (github.com/grafana-tools/sdk) and exports them as JSON or pushes them to a
// Grafana server.
//
// Four boards are built by [All]: Overview (traffic, packets, connections,
// handshakes, SYN against SYN-ACK, active alerts), TLS (versions offered and
// negotiated, deprecated protocols, cipher classes, ALPN, ECH share, non-TLS
// kinds, top SNIs), Detection (each detector's value against its expected
// value and band, and its score) and Sensor health (decode failures, drops,
// capture lag, flow table, reassembly, alert queue and spool, sink
// deliveries). Every board has the template variables datasource
// (Prometheus), instance (multi-value, with All) and server, and every panel
// query selects instance=~"$instance", so one set of boards serves many
// sensors.
//
// The metric names the boards use are those of docs/metrics-contract.md; the
// tests check that each name a query uses is in that file. [Queries] lists
// every PromQL expression of a board so other tests can evaluate them against
// a real Prometheus.
//
// The boards are deterministic: panel IDs, grid positions and UIDs are fixed,
// and [Marshal] writes indented JSON with sorted keys. `go generate` runs
// ./gen, which calls [WriteJSON] on deploy/grafana; a test fails when the
// committed files differ from what [WriteJSON] produces. [Push] uploads boards
// through Grafana's HTTP API.
//
// # Imports
//
// Package dashboards imports nothing from monitor443.
//
// # Concurrency
//
// Every function builds fresh values and keeps no package state, so all of
// them are safe for concurrent use. A returned [sdk.Board] belongs to the
// caller.
package dashboards
