// Package report builds monitor443's incident report: one self-contained
// HTML file with timelines, the incidents, the TLS posture and the
// capture's health, readable offline.
//
// A [Recorder] receives what the detect engine hands out (closed
// intervals, global and per server, TLS records and anomalies) and
// [Recorder.Write] renders it.
// The charts are drawn by uPlot, vendored under assets/ (see its README)
// and inlined into the page with the data as JSON. [Live] keeps the last
// hour for the live page that the web server serves at /.
//
// It imports detect (and its sketch package) and nothing else of
// monitor443.
//
// # Concurrency
//
// A Recorder and a Live are safe for concurrent use: the engine calls
// Interval, ServerInterval and Anomaly from its aggregation goroutine and
// TLS from its record goroutine, never from a packet worker.
//
// # Capacity
//
// Memory is bounded whatever the capture's length. The timeline keeps at
// most [Config.MaxPoints] points: when it is full, neighbouring points are
// merged and the point width doubles, so a day of one-second intervals
// becomes about 1,350 points of 64 seconds. The busiest servers' timelines
// are series of the same kind, kept for at most 4·[Config.TopServers]
// candidates plus the targets of server alerts (at most TopServers), with
// the servers' byte totals in a Space-Saving summary of
// [Config.MaxServerTotals] entries. Each TLS table keeps at most
// [Config.MaxKeys] distinct values and counts the rest as "(other)"; at
// most [Config.MaxIncidents] incidents are kept, and the rest counted.
package report
