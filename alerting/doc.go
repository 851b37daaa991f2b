// Package alerting turns anomalies into notifications: it groups alerts into
// incidents, holds back repeats, resolves incidents whose producer went quiet,
// rate-limits each sink, and delivers through a durable per-sink queue with
// retries to webhook, Slack, Alertmanager and script sinks.
//
// The detection side (via an adapter in cmd/monitor443) calls
// [Manager.Observe] with an [Alert] for each firing or resolved report.
// An alert's identity is [Alert.Fingerprint], a hash of its sorted labels;
// incidents are grouped by kind, scope and target ([Alert.GroupKey]), so one
// incident gives one notification per sink, then a repeat every
// repeat_interval while it keeps firing, an escalation if its severity rises,
// and one resolved notice, sent when the producer reports it resolved or has
// been quiet for resolve_after.
//
// Every notification gets an idempotency key ([Notification.ID]) and is
// written to the sink's spool (package [github.com/monitor443/monitor443/alerting/spool])
// before delivery; it leaves the spool after the sink accepted it or failed
// permanently. A receiver outage or a crash delays notifications but loses
// none; redeliveries carry the same key. The payload schema, signature
// verification and configuration are documented in docs/alerting.md.
//
// # Imports
//
// Package alerting imports only alerting/spool from monitor443; it never
// imports detect (cmd adapts detector anomalies into [Alert]).
//
// # Concurrency
//
// A [Manager] is safe for concurrent use. Observe and the periodic checks
// share one mutex and do the spool writes (disk I/O with fsync) inline, so
// call Observe from the alerting goroutine, never from a capture worker.
// [Manager.Run] starts one delivery goroutine per sink; each sends its
// sink's notifications one at a time, in order, so a sink sees an incident's
// firing notice before its resolved notice. Sinks are safe for concurrent use.
//
// # Capacity
//
//   - max_active_alerts bounds open incidents; further new incidents are
//     dropped and counted in monitor443_alerting_alerts_dropped_total{reason="max_active_alerts"}.
//   - Each sink's spool holds at most spool.max_entries notifications and
//     spool.max_bytes bytes. When full, spool.full_policy decides:
//     drop_oldest (default) evicts repeats and summaries first, then resolved,
//     then firing notices, oldest first; reject_new refuses the new one. Both
//     count in monitor443_alerting_notifications_dropped_total and log a warning.
//   - Each sink's rate limit is a token bucket (rate_limit.burst,
//     rate_limit.every). Held-back notifications count in
//     monitor443_alerting_notifications_rate_limited_total and are reported in
//     one suppressed_summary notification when the bucket refills.
//
// Watch monitor443_alerting_queue_length (a growing queue means a sink is
// down) and monitor443_alerting_notification_retries_total.
//
// # Metrics
//
// Names are constants in metrics.go; all carry the "sink" label where they
// concern one sink:
//
//   - monitor443_alerting_alerts_received_total{state}
//   - monitor443_alerting_alerts_active
//   - monitor443_alerting_alerts_dropped_total{reason}
//   - monitor443_alerting_notifications_enqueued_total{sink,trigger}
//   - monitor443_alerting_notifications_sent_total{sink}
//   - monitor443_alerting_notifications_failed_total{sink,reason}
//   - monitor443_alerting_notification_retries_total{sink,reason}
//   - monitor443_alerting_notifications_dropped_total{sink,reason}
//   - monitor443_alerting_notifications_rate_limited_total{sink}
//   - monitor443_alerting_queue_length{sink}
//   - monitor443_alerting_spool_entries{sink}
//   - monitor443_alerting_spool_bytes{sink}
//   - monitor443_alerting_delivery_duration_seconds{sink,outcome}
package alerting
