package alerting

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, shared by code, tests and dashboards.
const (
	MetricAlertsReceived        = "monitor443_alerting_alerts_received_total"
	MetricAlertsActive          = "monitor443_alerting_alerts_active"
	MetricAlertsDropped         = "monitor443_alerting_alerts_dropped_total"
	MetricNotificationsSent     = "monitor443_alerting_notifications_sent_total"
	MetricNotificationsFailed   = "monitor443_alerting_notifications_failed_total"
	MetricNotificationRetries   = "monitor443_alerting_notification_retries_total"
	MetricNotificationsDropped  = "monitor443_alerting_notifications_dropped_total"
	MetricNotificationsLimited  = "monitor443_alerting_notifications_rate_limited_total"
	MetricQueueLength           = "monitor443_alerting_queue_length"
	MetricSpoolEntries          = "monitor443_alerting_spool_entries"
	MetricSpoolBytes            = "monitor443_alerting_spool_bytes"
	MetricDeliveryDuration      = "monitor443_alerting_delivery_duration_seconds"
	MetricNotificationsEnqueued = "monitor443_alerting_notifications_enqueued_total"
)

// Label values of "outcome" on the delivery histogram.
const (
	OutcomeSuccess = "success"
	OutcomeRetry   = "retry"
	OutcomeFailure = "failure"
)

// Reasons for dropped alerts and notifications.
const (
	DropMaxActive   = "max_active_alerts"
	DropInvalid     = "invalid"
	DropSpoolFull   = "spool_full"
	DropSpoolEvict  = "spool_evicted"
	DropTooLarge    = "too_large"
	DropSpoolError  = "spool_error"
	DropEncodeError = "encode"
)

type metrics struct {
	alertsReceived *prometheus.CounterVec // state
	alertsActive   prometheus.Gauge
	alertsDropped  *prometheus.CounterVec // reason
	enqueued       *prometheus.CounterVec // sink, trigger
	sent           *prometheus.CounterVec // sink
	failed         *prometheus.CounterVec // sink, reason
	retries        *prometheus.CounterVec // sink, reason
	dropped        *prometheus.CounterVec // sink, reason
	limited        *prometheus.CounterVec // sink
	duration       *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, m *Manager) *metrics {
	x := &metrics{
		alertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAlertsReceived, Help: "Alerts received from the detection side, by state."}, []string{"state"}),
		alertsActive:   prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricAlertsActive, Help: "Open incidents (firing alert groups)."}),
		alertsDropped:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAlertsDropped, Help: "Alerts dropped before notification, by reason."}, []string{"reason"}),
		enqueued:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotificationsEnqueued, Help: "Notifications written to a sink's queue, by trigger."}, []string{"sink", "trigger"}),
		sent:           prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotificationsSent, Help: "Notifications a sink accepted."}, []string{"sink"}),
		failed:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotificationsFailed, Help: "Notifications given up after a permanent failure, by reason."}, []string{"sink", "reason"}),
		retries:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotificationRetries, Help: "Delivery attempts that failed and will be retried, by reason."}, []string{"sink", "reason"}),
		dropped:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotificationsDropped, Help: "Notifications dropped before delivery (spool full, too large, spool errors), by reason."}, []string{"sink", "reason"}),
		limited:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricNotificationsLimited, Help: "Notifications held back by a sink's rate limit."}, []string{"sink"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricDeliveryDuration,
			Help:    "Duration of one delivery attempt, by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"sink", "outcome"}),
	}
	// Create every child up front so series exist from the start.
	for _, s := range States {
		x.alertsReceived.WithLabelValues(s.String())
	}
	for _, r := range []string{DropMaxActive, DropInvalid} {
		x.alertsDropped.WithLabelValues(r)
	}
	for _, rt := range m.routes {
		name := rt.cfg.Name
		x.sent.WithLabelValues(name)
		x.limited.WithLabelValues(name)
		for _, t := range Triggers {
			x.enqueued.WithLabelValues(name, string(t))
		}
		for _, r := range Reasons {
			x.failed.WithLabelValues(name, r)
			x.retries.WithLabelValues(name, r)
		}
		for _, r := range []string{DropSpoolFull, DropSpoolEvict, DropTooLarge, DropSpoolError, DropEncodeError} {
			x.dropped.WithLabelValues(name, r)
		}
		for _, o := range []string{OutcomeSuccess, OutcomeRetry, OutcomeFailure} {
			x.duration.WithLabelValues(name, o)
		}
	}
	if reg != nil {
		reg.MustRegister(x.alertsReceived, x.alertsActive, x.alertsDropped, x.enqueued, x.sent, x.failed,
			x.retries, x.dropped, x.limited, x.duration, &queueCollector{m: m})
	}
	return x
}

// queueCollector reports the spools' sizes at scrape time.
type queueCollector struct{ m *Manager }

var (
	descQueueLength  = prometheus.NewDesc(MetricQueueLength, "Notifications waiting for delivery, including the one in flight.", []string{"sink"}, nil)
	descSpoolEntries = prometheus.NewDesc(MetricSpoolEntries, "Notifications stored in the on-disk spool (0 when the spool is in memory).", []string{"sink"}, nil)
	descSpoolBytes   = prometheus.NewDesc(MetricSpoolBytes, "Bytes of notifications held in the spool.", []string{"sink"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueueLength
	ch <- descSpoolEntries
	ch <- descSpoolBytes
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, rt := range c.m.routes {
		n := float64(rt.spool.Len())
		ch <- prometheus.MustNewConstMetric(descQueueLength, prometheus.GaugeValue, n, rt.cfg.Name)
		onDisk := 0.0
		if rt.spool.Persistent() {
			onDisk = n
		}
		ch <- prometheus.MustNewConstMetric(descSpoolEntries, prometheus.GaugeValue, onDisk, rt.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descSpoolBytes, prometheus.GaugeValue, float64(rt.spool.Bytes()), rt.cfg.Name)
	}
}
