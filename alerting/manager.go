package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/monitor443/monitor443/alerting/spool"
)

// Deps are the Manager's replaceable dependencies. The zero value uses the
// wall clock, real sleeps, random jitter and the sinks built from the config.
type Deps struct {
	// Now is the clock for grouping, repeats, resolve_after, rate limits
	// and sink timestamps.
	Now func() time.Time
	// Sleep waits between delivery retries; it returns early with ctx's
	// error when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) for retry backoff.
	Jitter func() float64
	// Sinks replaces the sink built for a configured sink name.
	Sinks map[string]Sink
	// TickInterval is how often Run checks repeats, resolve_after and
	// rate-limit summaries; 0 means one second.
	TickInterval time.Duration
}

// maxSuppressedGroups bounds the per-sink list of suppressed incidents kept
// for the rate-limit summary; further ones are only counted.
const maxSuppressedGroups = 50

// logEveryAttempts limits retry logging during an outage: attempt 1 and then
// every logEveryAttempts-th attempt are logged.
const logEveryAttempts = 10

// SuppressedKind is the alert kind of a rate-limit summary notification.
const SuppressedKind = "notifications_suppressed"

// route is one sink with its queue, limit and suppression record.
type route struct {
	cfg             SinkConfig
	sink            Sink
	spool           *spool.Spool
	bucket          *tokenBucket
	suppressed      []SuppressedGroup
	suppressedIdx   map[Fingerprint]int
	suppressedTotal int
	suppressedSince time.Time
	logger          *slog.Logger
}

// sinkState is what one sink has been told about one incident.
type sinkState struct {
	notified bool      // a firing notification was queued
	last     time.Time // last firing/repeat attempt, including suppressed ones
	severity Severity  // severity last notified
}

// group is one open incident.
type group struct {
	alert    Alert
	lastSeen time.Time
	sinks    []sinkState // indexed like Manager.routes
}

// Manager turns alerts from the detection side into notifications: it groups
// them into incidents, holds back repeats until repeat_interval, resolves
// incidents whose producer went quiet, rate-limits each sink, and delivers
// through a durable per-sink queue with retries.
type Manager struct {
	cfg    Config
	deps   Deps
	logger *slog.Logger
	routes []*route
	m      *metrics

	mu      sync.Mutex
	groups  map[Fingerprint]*group
	closed  bool
	dropLog bool // a max_active_alerts drop has been logged since the last accepted alert
}

// NewManager builds the sinks described by cfg (or takes them from
// deps.Sinks), opens their spools, and re-queues notifications a previous
// process left there. Call [Manager.Run] to deliver them. It adds
// component=alerting to logger itself; callers pass their logger as is.
func NewManager(cfg Config, deps Deps, logger *slog.Logger, reg prometheus.Registerer) (*Manager, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Sleep == nil {
		deps.Sleep = sleepCtx
	}
	if deps.TickInterval <= 0 {
		deps.TickInterval = time.Second
	}
	logger = logger.With("component", "alerting")
	m := &Manager{cfg: cfg, deps: deps, logger: logger, groups: make(map[Fingerprint]*group)}
	now := deps.Now()
	for _, sc := range cfg.Sinks {
		sink := deps.Sinks[sc.Name]
		if sink == nil {
			var err error
			if sink, err = buildSink(sc, deps.Now); err != nil {
				return nil, err
			}
		}
		dir := ""
		if cfg.Spool.Dir != "" {
			dir = filepath.Join(cfg.Spool.Dir, sc.Name)
		}
		sp, err := spool.Open(spool.Config{Dir: dir, MaxEntries: cfg.Spool.MaxEntries, MaxBytes: cfg.Spool.MaxBytes, Policy: cfg.Spool.Policy})
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
		}
		rt := &route{cfg: sc, sink: sink, spool: sp, suppressedIdx: map[Fingerprint]int{}, logger: logger.With("sink", sc.Name)}
		if sc.RateLimit != nil {
			rt.bucket = newTokenBucket(*sc.RateLimit, now)
		}
		if n := sp.Len(); n > 0 {
			rt.logger.Info("re-queued spooled notifications", "count", n, "bytes", sp.Bytes())
		}
		m.routes = append(m.routes, rt)
	}
	if cfg.Spool.Dir == "" && len(cfg.Sinks) > 0 {
		logger.Warn("spool dir not set, queued notifications are lost on restart")
	}
	m.m = newMetrics(reg, m)
	return m, nil
}

func buildSink(sc SinkConfig, now func() time.Time) (Sink, error) {
	switch {
	case sc.Webhook != nil:
		return NewWebhook(*sc.Webhook, now), nil
	case sc.Slack != nil:
		return NewSlack(*sc.Slack, now), nil
	case sc.Alertmanager != nil:
		return NewAlertmanager(*sc.Alertmanager, now), nil
	case sc.Script != nil:
		return NewScript(*sc.Script), nil
	}
	return nil, fmt.Errorf("sink %s: no settings for type %q", sc.Name, sc.Type)
}

// Observe records a report from the detection side: a firing alert opens or
// refreshes its incident, a resolved alert closes it. Notifications it
// causes are written to the sinks' spools before Observe returns, so Observe
// does disk I/O and must not run on a capture worker. It returns an error
// for an invalid alert and [ErrClosed] after Run has returned.
func (m *Manager) Observe(a Alert) error {
	if err := a.validate(); err != nil {
		m.m.alertsDropped.WithLabelValues(DropInvalid).Inc()
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	now := m.deps.Now()
	m.m.alertsReceived.WithLabelValues(a.State.String()).Inc()
	key := a.GroupKey()
	g := m.groups[key]

	if a.State == StateResolved {
		if g != nil {
			end := a.EndsAt
			if end.IsZero() {
				end = now
			}
			m.resolve(key, g, end, now)
		}
		return nil
	}

	if g == nil {
		if len(m.groups) >= m.cfg.MaxActiveAlerts {
			m.m.alertsDropped.WithLabelValues(DropMaxActive).Inc()
			if !m.dropLog {
				m.logger.Warn("too many open incidents, dropping new alerts", "max_active_alerts", m.cfg.MaxActiveAlerts)
				m.dropLog = true
			}
			return nil
		}
		m.dropLog = false
		g = &group{sinks: make([]sinkState, len(m.routes))}
		m.groups[key] = g
		m.m.alertsActive.Set(float64(len(m.groups)))
	} else if !g.alert.StartsAt.IsZero() && (a.StartsAt.IsZero() || g.alert.StartsAt.Before(a.StartsAt)) {
		a.StartsAt = g.alert.StartsAt // the incident began with its first report
	}
	a.EndsAt = time.Time{}
	g.alert = a
	g.lastSeen = now
	for i, rt := range m.routes {
		if !rt.cfg.Filter.Match(&g.alert) {
			continue
		}
		st := &g.sinks[i]
		switch {
		case !st.notified && st.last.IsZero():
			m.fire(i, g, TriggerFiring, now)
		case st.notified && a.Severity > st.severity:
			m.fire(i, g, TriggerEscalated, now)
		}
	}
	return nil
}

// fire queues a firing-type notification for route i unless its rate limit
// holds it back. m.mu must be held.
func (m *Manager) fire(i int, g *group, trigger Trigger, now time.Time) {
	rt := m.routes[i]
	st := &g.sinks[i]
	st.last = now
	if rt.bucket != nil && !rt.bucket.allow(now) {
		m.m.limited.WithLabelValues(rt.cfg.Name).Inc()
		rt.suppress(&g.alert, now)
		return
	}
	n := &Notification{ID: newID(), Sink: rt.cfg.Name, Trigger: trigger, CreatedAt: now, Alert: g.alert}
	if !st.notified {
		n.Trigger = TriggerFiring
	}
	if m.enqueue(rt, n) {
		st.notified = true
		st.severity = g.alert.Severity
	}
}

func (rt *route) suppress(a *Alert, now time.Time) {
	if rt.suppressedTotal == 0 {
		rt.suppressedSince = now
		rt.logger.Warn("rate limit reached, suppressing notifications")
	}
	rt.suppressedTotal++
	key := a.GroupKey()
	if i, ok := rt.suppressedIdx[key]; ok {
		rt.suppressed[i].Count++
		rt.suppressed[i].Severity = max(rt.suppressed[i].Severity, a.Severity)
		return
	}
	if len(rt.suppressed) < maxSuppressedGroups {
		rt.suppressedIdx[key] = len(rt.suppressed)
		rt.suppressed = append(rt.suppressed, SuppressedGroup{Kind: a.Kind, Scope: a.Scope, Target: a.Target, Severity: a.Severity, Count: 1})
	}
}

// resolve closes incident g, telling every sink that was told it fired.
// m.mu must be held.
func (m *Manager) resolve(key Fingerprint, g *group, endsAt, now time.Time) {
	a := g.alert
	a.State = StateResolved
	a.EndsAt = endsAt
	for i, rt := range m.routes {
		if !g.sinks[i].notified {
			continue
		}
		m.enqueue(rt, &Notification{ID: newID(), Sink: rt.cfg.Name, Trigger: TriggerResolved, CreatedAt: now, Alert: a})
	}
	delete(m.groups, key)
	m.m.alertsActive.Set(float64(len(m.groups)))
}

// enqueue writes n to rt's spool and reports whether it was stored.
func (m *Manager) enqueue(rt *route, n *Notification) bool {
	data, err := json.Marshal(n)
	if err != nil {
		m.m.dropped.WithLabelValues(rt.cfg.Name, DropEncodeError).Inc()
		rt.logger.Error("encode notification", "err", err)
		return false
	}
	_, evicted, err := rt.spool.Put(n.priority(), data)
	if len(evicted) > 0 {
		m.m.dropped.WithLabelValues(rt.cfg.Name, DropSpoolEvict).Add(float64(len(evicted)))
		rt.logger.Warn("spool full, dropped oldest notifications", "dropped", len(evicted), "policy", m.cfg.Spool.Policy.String())
	}
	switch {
	case errors.Is(err, spool.ErrFull):
		m.m.dropped.WithLabelValues(rt.cfg.Name, DropSpoolFull).Inc()
		rt.logger.Warn("spool full, rejected new notification", "policy", m.cfg.Spool.Policy.String(), "trigger", string(n.Trigger), "kind", n.Alert.Kind)
		return false
	case errors.Is(err, spool.ErrTooLarge):
		m.m.dropped.WithLabelValues(rt.cfg.Name, DropTooLarge).Inc()
		rt.logger.Warn("notification larger than spool, dropped", "bytes", len(data))
		return false
	case err != nil:
		m.m.dropped.WithLabelValues(rt.cfg.Name, DropSpoolError).Inc()
		rt.logger.Error("write spool", "err", err)
		return false
	}
	m.m.enqueued.WithLabelValues(rt.cfg.Name, string(n.Trigger)).Inc()
	return true
}

// tick resolves quiet incidents, sends repeats and flushes rate-limit
// summaries.
func (m *Manager) tick(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, g := range m.groups {
		if now.Sub(g.lastSeen) >= m.cfg.ResolveAfter {
			m.resolve(key, g, g.lastSeen, now)
			continue
		}
		for i, rt := range m.routes {
			st := &g.sinks[i]
			if st.last.IsZero() || now.Sub(st.last) < rt.cfg.RepeatInterval || !rt.cfg.Filter.Match(&g.alert) {
				continue
			}
			m.fire(i, g, TriggerRepeat, now)
		}
	}
	for _, rt := range m.routes {
		if rt.suppressedTotal == 0 || !rt.bucket.allow(now) {
			continue
		}
		n := &Notification{
			ID: newID(), Sink: rt.cfg.Name, Trigger: TriggerSuppressed, CreatedAt: now,
			Alert: Alert{
				Kind: SuppressedKind, Scope: "sink", Target: rt.cfg.Name, Severity: SeverityWarning,
				State: StateFiring, StartsAt: rt.suppressedSince, Value: float64(rt.suppressedTotal),
			},
			Suppressed:      rt.suppressed,
			SuppressedTotal: rt.suppressedTotal,
		}
		rt.logger.Warn("rate limit lifted", "suppressed", rt.suppressedTotal)
		m.enqueue(rt, n)
		rt.suppressed, rt.suppressedTotal = nil, 0
		clear(rt.suppressedIdx)
	}
}

// Run delivers queued notifications and runs the periodic checks until ctx
// is done. Undelivered notifications stay in the spool for the next process.
// Run returns after every delivery goroutine has stopped; Observe then
// returns [ErrClosed].
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, rt := range m.routes {
		wg.Go(func() { m.deliver(ctx, rt) })
	}
	t := time.NewTicker(m.deps.TickInterval)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
			m.tick(m.deps.Now())
		}
	}
	wg.Wait()
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

// deliver is the worker of one sink: it sends the oldest queued notification
// until it succeeds or fails permanently, then removes it from the spool.
func (m *Manager) deliver(ctx context.Context, rt *route) {
	name := rt.cfg.Name
	backoff := Backoff{Initial: m.cfg.Retry.InitialBackoff, Max: m.cfg.Retry.MaxBackoff, Jitter: m.deps.Jitter}
	for {
		e, err := rt.spool.Next(ctx)
		if err != nil {
			return
		}
		var n Notification
		if err := json.Unmarshal(e.Data, &n); err != nil {
			m.m.failed.WithLabelValues(name, ReasonCorruptFile).Inc()
			rt.logger.Error("drop unreadable spool entry", "seq", e.Seq, "err", err)
			m.remove(rt, e.Seq)
			continue
		}
		for attempt := 0; ; attempt++ {
			start := time.Now()
			retry, err := rt.sink.Send(ctx, &n)
			elapsed := time.Since(start).Seconds()
			if err == nil {
				m.m.duration.WithLabelValues(name, OutcomeSuccess).Observe(elapsed)
				m.m.sent.WithLabelValues(name).Inc()
				if attempt > 0 {
					rt.logger.Info("notification delivered after retries", "id", n.ID, "attempts", attempt+1)
				}
				m.remove(rt, e.Seq)
				break
			}
			if ctx.Err() != nil {
				rt.spool.Release(e.Seq) // shutting down: keep it for the next process
				return
			}
			reason := reasonOf(err)
			if !retry {
				m.m.duration.WithLabelValues(name, OutcomeFailure).Observe(elapsed)
				m.m.failed.WithLabelValues(name, reason).Inc()
				rt.logger.Warn("notification failed permanently", "id", n.ID, "trigger", string(n.Trigger), "reason", reason, "err", err)
				m.remove(rt, e.Seq)
				break
			}
			m.m.duration.WithLabelValues(name, OutcomeRetry).Observe(elapsed)
			m.m.retries.WithLabelValues(name, reason).Inc()
			var retryAfter time.Duration
			var de *DeliveryError
			if errors.As(err, &de) {
				retryAfter = de.RetryAfter
			}
			delay := backoff.Delay(attempt, retryAfter)
			if attempt%logEveryAttempts == 0 {
				rt.logger.Warn("notification delivery failed, retrying", "id", n.ID, "attempt", attempt+1, "reason", reason, "retry_in_seconds", delay.Seconds(), "err", err)
			}
			if m.deps.Sleep(ctx, delay) != nil {
				rt.spool.Release(e.Seq)
				return
			}
		}
	}
}

func (m *Manager) remove(rt *route, seq uint64) {
	if err := rt.spool.Remove(seq); err != nil && !errors.Is(err, spool.ErrNotFound) {
		rt.logger.Error("remove spool entry", "seq", seq, "err", err)
	}
}

// Pending returns the number of notifications waiting in the sinks' queues
// (delivered ones are removed). A caller that is about to exit can wait for
// it to reach zero, within a deadline.
func (m *Manager) Pending() int {
	n := 0
	for _, rt := range m.routes {
		n += rt.spool.Len()
	}
	return n
}
