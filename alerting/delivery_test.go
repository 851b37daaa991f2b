package alerting

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sleepRecorder replaces Deps.Sleep: it records delays and returns almost at
// once, so backoff is checked without waiting.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
	hook   func(n int) // called with the number of sleeps so far
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	n := len(s.delays)
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return sleepCtx(ctx, time.Millisecond)
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delays)
}

func webhookConfig(t *testing.T, rawURL string, timeout time.Duration) Config {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Spool:           SpoolConfig{Dir: t.TempDir(), MaxEntries: 100, MaxBytes: 1 << 20},
		RepeatInterval:  time.Hour,
		ResolveAfter:    time.Hour,
		MaxActiveAlerts: 100,
		Retry:           RetryConfig{InitialBackoff: time.Second, MaxBackoff: 4 * time.Second},
		Sinks: []SinkConfig{{
			Name: "hook", Type: SinkWebhook, RepeatInterval: time.Hour,
			Webhook: &WebhookConfig{URL: u, Timeout: timeout, SigningSecret: "s3cret"},
		}},
	}
}

func TestDeliveryWithFaults(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	httpDate := clock.Now().Add(30 * time.Second).Format(http.TimeFormat)
	rcv := newReceiver(t,
		status(http.StatusInternalServerError),
		tooMany("7"),
		tooMany(httpDate),
		slow(400*time.Millisecond), // longer than the client timeout
		status(http.StatusServiceUnavailable),
	)
	cfg := webhookConfig(t, rcv.srv.URL+"/hook", 100*time.Millisecond)
	sleeps := &sleepRecorder{}
	reg := prometheus.NewPedanticRegistry()
	m, err := NewManager(cfg, Deps{Now: clock.Now, Sleep: sleeps.Sleep, Jitter: func() float64 { return 0 }}, discard, reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Alert{
		testAlert("syn_flood", "203.0.113.10:443", SeverityCritical, StateFiring),
		testAlert("bandwidth_spike", "203.0.113.11:443", SeverityWarning, StateFiring),
		testAlert("syn_flood", "203.0.113.10:443", SeverityCritical, StateResolved),
		testAlert("bandwidth_spike", "203.0.113.11:443", SeverityWarning, StateResolved),
	} {
		if err := m.Observe(a); err != nil {
			t.Fatal(err)
		}
	}
	runManager(t, m)
	waitFor(t, "4 deliveries", func() bool { return len(rcv.delivered()) >= 4 })

	assertDelivery(t, rcv.requests(), 4)
	// Each delivered request is signed and verifies.
	for _, q := range rcv.delivered() {
		if err := Verify([]byte("s3cret"), q.Body, q.Header.Get(HeaderSignature), clock.Now(), time.Minute); err != nil {
			t.Errorf("Verify() = %v", err)
		}
	}
	// Order of first deliveries is the order of Observe calls.
	var order []string
	seen := map[string]bool{}
	for _, q := range rcv.delivered() {
		if !seen[q.Payload.ID] {
			seen[q.Payload.ID] = true
			order = append(order, q.Payload.Alert.Kind+"/"+string(q.Payload.Trigger))
		}
	}
	wantOrder := []string{"syn_flood/firing", "bandwidth_spike/firing", "syn_flood/resolved", "bandwidth_spike/resolved"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("delivery order = %v, want %v", order, wantOrder)
	}

	// Backoff with zero jitter is half the exponential step (1s, 2s, 4s,
	// 4s capped ...), raised to Retry-After when the receiver asks.
	want := []time.Duration{500 * time.Millisecond, 7 * time.Second, 30 * time.Second, 4 * time.Second / 2, 4 * time.Second / 2}
	if got := sleeps.got(); !slices.Equal(got, want) {
		t.Errorf("retry delays = %v, want %v", got, want)
	}
	// The worker counts a delivery after the receiver answered, so wait
	// for the count before reading the rest.
	waitFor(t, "four deliveries counted", func() bool {
		return metricValue(t, reg, MetricNotificationsSent, map[string]string{"sink": "hook"}) == 4
	})
	waitFor(t, "empty queue", func() bool { return metricValue(t, reg, MetricQueueLength, map[string]string{"sink": "hook"}) == 0 })
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{MetricNotificationsSent, map[string]string{"sink": "hook"}, 4},
		{MetricNotificationRetries, map[string]string{"sink": "hook", "reason": ReasonStatus5xx}, 2},
		{MetricNotificationRetries, map[string]string{"sink": "hook", "reason": ReasonStatus429}, 2},
		{MetricNotificationRetries, map[string]string{"sink": "hook", "reason": ReasonTimeout}, 1},
		{MetricNotificationsFailed, map[string]string{"sink": "hook", "reason": ReasonStatus4xx}, 0},
	} {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	waitFor(t, "empty queue", func() bool { return metricValue(t, reg, MetricQueueLength, map[string]string{"sink": "hook"}) == 0 })
}

func TestDeliveryConnectionRefusedThenUp(t *testing.T) {
	t.Parallel()
	// Reserve a loopback port and close it, so the sink first meets a
	// closed port; the receiver comes up on that port during the retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	rcv := &receiver{}
	srv := httptest.NewUnstartedServer(rcv)
	t.Cleanup(srv.Close)
	var once sync.Once
	sleeps := &sleepRecorder{hook: func(n int) {
		if n == 3 {
			once.Do(func() {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("re-listen on %s: %v", addr, err)
					return
				}
				srv.Listener = l
				srv.Start()
			})
		}
	}}
	cfg := webhookConfig(t, "http://"+addr+"/hook", time.Second)
	reg := prometheus.NewRegistry()
	m, err := NewManager(cfg, Deps{Sleep: sleeps.Sleep}, discard, reg)
	if err != nil {
		t.Fatal(err)
	}
	runManager(t, m)
	for _, st := range []State{StateFiring, StateResolved} {
		if err := m.Observe(testAlert("request_burst", "sni:api.example.com", SeverityWarning, st)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "2 deliveries", func() bool { return len(rcv.delivered()) >= 2 })
	assertDelivery(t, rcv.requests(), 2)
	if got := metricValue(t, reg, MetricNotificationRetries, map[string]string{"sink": "hook", "reason": ReasonNetwork}); got < 3 {
		t.Errorf("network retries = %v, want >= 3", got)
	}
}

func TestDeliveryPermanentFailureNotRetried(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, status(http.StatusBadRequest))
	cfg := webhookConfig(t, rcv.srv.URL, time.Second)
	reg := prometheus.NewRegistry()
	sleeps := &sleepRecorder{}
	m, err := NewManager(cfg, Deps{Sleep: sleeps.Sleep}, discard, reg)
	if err != nil {
		t.Fatal(err)
	}
	runManager(t, m)
	if err := m.Observe(testAlert("syn_flood", "a", SeverityCritical, StateFiring)); err != nil {
		t.Fatal(err)
	}
	if err := m.Observe(testAlert("syn_flood", "b", SeverityCritical, StateFiring)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second notification", func() bool { return len(rcv.delivered()) == 1 })
	reqs := rcv.requests()
	if len(reqs) != 2 || reqs[0].Status != http.StatusBadRequest || reqs[1].Payload.Alert.Target != "b" {
		t.Errorf("requests = %d (first status %d), want a 400 for a then one delivery for b", len(reqs), reqs[0].Status)
	}
	if len(sleeps.got()) != 0 {
		t.Errorf("a 400 was retried: sleeps %v", sleeps.got())
	}
	if got := metricValue(t, reg, MetricNotificationsFailed, map[string]string{"sink": "hook", "reason": ReasonStatus4xx}); got != 1 {
		t.Errorf("failed{status_4xx} = %v, want 1", got)
	}
}

func TestCheckResponseRetryCodes(t *testing.T) {
	t.Parallel()
	for code := 100; code < 600; code++ {
		resp := &http.Response{StatusCode: code, Body: http.NoBody, Header: http.Header{}}
		retry, err := checkResponse(resp, time.Now())
		wantRetry := code == 429 || code/100 == 5
		wantErr := code/100 != 2
		if retry != wantRetry || (err != nil) != wantErr {
			t.Errorf("status %d: retry=%v err=%v, want retry=%v err=%v", code, retry, err, wantRetry, wantErr)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{name: "seconds", in: "120", want: 2 * time.Minute},
		{name: "http date", in: "Sat, 01 Mar 2025 12:00:45 GMT", want: 45 * time.Second},
		{name: "past date", in: "Sat, 01 Mar 2025 11:00:00 GMT", want: 0},
		{name: "negative", in: "-3", want: 0},
		{name: "garbage", in: "soon", want: 0},
		{name: "capped", in: "86400", want: time.Hour},
		{name: "empty", in: "", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Jitter: func() float64 { return 0.5 }}
	// Step d = min(10s, 1s*2^n); delay = d/2 + d/2*0.5 = 0.75*d.
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 7500 * time.Millisecond, 7500 * time.Millisecond}
	for i, w := range want {
		if got := b.Delay(i, 0); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i, got, w)
		}
	}
	if got := b.Delay(0, 20*time.Second); got != 20*time.Second {
		t.Errorf("Delay with Retry-After 20s = %v, want 20s", got)
	}
	if got := b.Delay(100, 0); got != 7500*time.Millisecond {
		t.Errorf("Delay(100) = %v, want capped 7.5s", got)
	}
}

// TestNoSecretLeaks checks that a URL with a token never appears in the
// error of a failed delivery.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	const token = "T000SECRETTOKEN"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, _ := url.Parse("http://user:pw" + token + "@" + addr + "/services/" + token + "?token=" + token)
	n := &Notification{ID: "x", Sink: "s", Trigger: TriggerFiring, Alert: testAlert("syn_flood", "t", SeverityWarning, StateFiring)}
	for _, s := range []Sink{
		NewWebhook(WebhookConfig{URL: u, Timeout: time.Second}, nil),
		NewSlack(SlackConfig{URL: u, Timeout: time.Second}, nil),
		NewAlertmanager(AlertmanagerConfig{URLs: []*url.URL{u}, Timeout: time.Second, ResendInterval: time.Minute}, nil),
	} {
		retry, err := s.Send(context.Background(), n)
		if err == nil || !retry {
			t.Fatalf("%T.Send to closed port = %v, %v; want retryable error", s, retry, err)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%T error leaks secret: %v", s, err)
		}
		if reasonOf(err) != ReasonNetwork {
			t.Errorf("%T reason = %s, want network", s, reasonOf(err))
		}
	}
	if got := RedactURL(u.String()); strings.Contains(got, token) || got != "http://"+addr+"/<redacted>" {
		t.Errorf("RedactURL = %q", got)
	}
}
