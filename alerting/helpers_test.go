package alerting

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var discard = slog.New(slog.DiscardHandler)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// request is one request seen by a receiver.
type request struct {
	Header  http.Header
	Body    []byte
	Payload Payload
	Status  int
}

// receiver is an httptest webhook receiver with scripted faults: the i-th
// request runs faults[i] if present, else answers 200.
type receiver struct {
	mu     sync.Mutex
	reqs   []request
	faults []func(w http.ResponseWriter) int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, faults ...func(w http.ResponseWriter) int) *receiver {
	t.Helper()
	r := &receiver{faults: faults}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p Payload
	_ = json.Unmarshal(body, &p)
	r.mu.Lock()
	i := len(r.reqs)
	r.reqs = append(r.reqs, request{Header: req.Header.Clone(), Body: body, Payload: p})
	var fault func(w http.ResponseWriter) int
	if i < len(r.faults) {
		fault = r.faults[i]
	}
	r.mu.Unlock()
	status := http.StatusOK
	if fault != nil {
		status = fault(w)
	} else {
		w.WriteHeader(status)
	}
	r.mu.Lock()
	r.reqs[i].Status = status
	r.mu.Unlock()
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// delivered returns the requests answered 2xx.
func (r *receiver) delivered() []request {
	var out []request
	for _, q := range r.requests() {
		if q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

func status(code int) func(w http.ResponseWriter) int {
	return func(w http.ResponseWriter) int {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "fault injected")
		return code
	}
}

func tooMany(retryAfter string) func(w http.ResponseWriter) int {
	return func(w http.ResponseWriter) int {
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
		return http.StatusTooManyRequests
	}
}

func slow(d time.Duration) func(w http.ResponseWriter) int {
	return func(w http.ResponseWriter) int {
		time.Sleep(d)
		w.WriteHeader(http.StatusOK)
		return -1 // the client gave up; not a delivery
	}
}

// metricValue returns the value of the counter or gauge name with the given
// labels, or -1 if absent.
func metricValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runManager runs m until the test ends.
func runManager(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = m.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func testAlert(kind, target string, sev Severity, state State) Alert {
	return Alert{
		Kind: kind, Scope: "server", Target: target, Severity: sev, State: state,
		Value: 1200, Expected: 300, Lower: 100, Upper: 500, Score: 7.5, Unit: "packets_per_second",
		Contributors: []Contributor{{Key: "198.51.100.7", Value: 900, Share: 0.75}},
		StartsAt:     time.Date(2025, 3, 1, 11, 59, 0, 0, time.UTC),
	}
}

// assertOrder checks that every alert fingerprint's resolved notice comes
// after a firing notice, that every notification ID was delivered, and that
// requests sharing an ID carry the same payload.
func assertDelivery(t *testing.T, reqs []request, wantIDs int) {
	t.Helper()
	byID := map[string]request{}
	firing := map[Fingerprint]bool{}
	for _, q := range reqs {
		p := q.Payload
		if h := q.Header.Get(HeaderIdempotencyKey); h != p.ID {
			t.Errorf("header %s = %q, payload id = %q", HeaderIdempotencyKey, h, p.ID)
		}
		if prev, ok := byID[p.ID]; ok {
			if string(prev.Body) != string(q.Body) {
				t.Errorf("two deliveries with id %s differ:\n%s\n%s", p.ID, prev.Body, q.Body)
			}
			continue
		}
		byID[p.ID] = q
		switch p.Trigger {
		case TriggerFiring:
			firing[p.GroupKey] = true
		case TriggerResolved:
			if !firing[p.GroupKey] {
				t.Errorf("resolved %s (%s) delivered before its firing notice", p.Alert.Kind, p.Alert.Target)
			}
		}
	}
	if len(byID) != wantIDs {
		t.Errorf("distinct notifications delivered = %d, want %d", len(byID), wantIDs)
	}
}
