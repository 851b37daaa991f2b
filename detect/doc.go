// Package detect is monitor443's detection engine: it turns decoded packets
// into flows, TLS records and per-interval features, and runs the
// statistical detectors (bandwidth_spike, request_burst, syn_flood) and the
// TLS hygiene checks over them, emitting one [Anomaly] when an incident
// fires and one when it resolves.
//
// # Pipeline
//
// [Engine.Run] starts one worker goroutine per capture source. A worker
// reads a frame, decodes it, passes it to its own flow.Table, analyses TLS
// handshakes (tls.go) and updates the interval's features: global
// [Features], exact counters per server (admitted when the server first
// answers, at most [DetectionConfig.MaxServers], plus the watch list) and
// per watched client prefix, Space-Saving summaries of the heaviest clients
// (by ClientHellos, bytes and SYNs), SNIs and /24 or /64 source prefixes, a
// Count-Min sketch of ClientHellos per client, and HyperLogLogs of unique
// connecting sources and SYN sources (globally and per server). The SNI is
// taken from the ClientHello the TLS analyzer has just parsed.
//
// When packet time passes an interval's end, the worker sends a snapshot of
// values (copies, sharing nothing) to the aggregation goroutine, which
// merges the workers' intervals (Features add, sketches of one shape merge
// exactly), fills silent intervals with zeros, and runs the detectors in
// time order. The detectors' math, parameters and evaluation are in
// docs/detection.md.
//
// # Imports
//
// detect may import capture and its own subpackages (flow, tlshello,
// baseline, sketch); never alerting or cmd.
//
// # Concurrency
//
// An Engine is configured once and Run from one goroutine. Workers own
// their analyzers; the aggregation goroutine owns the detectors and calls
// Config.OnInterval and Config.OnAnomaly. [Engine.DetectorStates],
// [Engine.ActiveAlerts], [Engine.Counters], [Engine.FlowStats] and
// [Engine.LastInterval] are safe for concurrent use. The per-packet path
// allocates nothing in steady state (TestObserveAllocs, BenchmarkObserve);
// per-interval work allocates (BenchmarkInterval).
//
// # Capacity
//
// Per worker: the flow table (see detect/flow), the TLS pool
// (Config.MaxTLSConns), MaxServers+len(WatchServers) server slots (about
// 700 bytes each with their HyperLogLog), Space-Saving summaries of
// TopClients (three), TopSNIs and TopPrefixes keys, a 1024×4 Count-Min
// (32 KiB) and two HyperLogLogs of 4 KiB. In the aggregator: three tracks
// per server (a seasonal baseline is about 5 KiB per series; a count test's
// guard about 1 KiB for a flood, 160 bytes for a burst), and at most
// MaxTargets incident trackers per sketched scope; when full, new targets
// are not tracked. Hygiene incidents are bounded by Config.MaxIncidents.
//
// # Persistence
//
// With Config.StateDir set, every baseline is checkpointed to
// [CheckpointFile] every DetectionConfig.CheckpointEvery of packet time (by
// a writer goroutine, never a worker) and when Run returns, through a
// temporary file, fsync and rename. NewEngine restores it, so a restart
// does not relearn; a missing file starts learning, and a corrupt one logs
// a warning and relearns.
//
// # Metrics
//
// The package registers no metrics itself: cmd's collector reads the
// per-worker [Counters], [Engine.FlowStats], [Engine.DetectorStates] (one
// verdict per detector and scope: value, expected, band, score) and
// [Engine.ActiveAlerts] at scrape time.
package detect
