package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/monitor443/monitor443/cmd/monitor443/internal/report"
	"github.com/monitor443/monitor443/detect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// alertBook keeps the firing anomalies for /api/v1/alerts and the
// active-alert gauge. Safe for concurrent use.
type alertBook struct {
	mu     sync.Mutex
	active map[string]detect.Anomaly
	fired  map[[2]string]uint64 // kind, severity -> firing transitions
	ended  []detect.Anomaly     // resolved incidents, for the run summary (bounded)
	endedN int
}

// maxEnded bounds the resolved incidents kept for the summary.
const maxEnded = 1000

func newAlertBook() *alertBook {
	return &alertBook{active: map[string]detect.Anomaly{}, fired: map[[2]string]uint64{}}
}

func (b *alertBook) observe(a detect.Anomaly) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := a.Kind + "\x00" + a.Scope + "\x00" + a.Target
	if a.State == detect.StateFiring {
		if _, ok := b.active[key]; !ok {
			b.fired[[2]string{a.Kind, a.Severity}]++
		}
		b.active[key] = a
		return
	}
	delete(b.active, key)
	b.endedN++
	if len(b.ended) < maxEnded {
		b.ended = append(b.ended, a)
	}
}

// incidents returns the resolved incidents (up to maxEnded), then the
// ones still firing, and how many resolved ones were not kept.
func (b *alertBook) incidents() ([]detect.Anomaly, int) {
	b.mu.Lock()
	out := append([]detect.Anomaly(nil), b.ended...)
	more := b.endedN - len(b.ended)
	b.mu.Unlock()
	return append(out, b.list()...), more
}

func (b *alertBook) list() []detect.Anomaly {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]detect.Anomaly, 0, len(b.active))
	for _, a := range b.active {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

var (
	alertsActiveDesc = desc("monitor443_detect_alerts_active", "Anomalies firing now, by kind and severity.", "kind", "severity")
	alertsTotalDesc  = desc("monitor443_detect_alerts_total", "Anomalies that started firing, by kind and severity.", "kind", "severity")
)

// Describe implements prometheus.Collector.
func (b *alertBook) Describe(ch chan<- *prometheus.Desc) {
	ch <- alertsActiveDesc
	ch <- alertsTotalDesc
}

// Collect implements prometheus.Collector. Every kind and severity is
// exported, so a dashboard sees zeros rather than gaps.
func (b *alertBook) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	active := map[[2]string]float64{}
	for _, a := range b.active {
		active[[2]string{a.Kind, a.Severity}]++
	}
	for _, k := range detect.AllKinds {
		for _, s := range detect.AllSeverities {
			key := [2]string{k, s.String()}
			ch <- prometheus.MustNewConstMetric(alertsActiveDesc, prometheus.GaugeValue, active[key], k, s.String())
			ch <- prometheus.MustNewConstMetric(alertsTotalDesc, prometheus.CounterValue, float64(b.fired[key]), k, s.String())
		}
	}
}

// status is /api/v1/status.
type status struct {
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Source    string    `json:"source"`
	Workers   int       `json:"workers"`
	Running   bool      `json:"running"`
	Frames    uint64    `json:"frames"`
	Packets   uint64    `json:"packets"`
	Bytes     uint64    `json:"bytes"`
	Flows     uint64    `json:"flows"`
	HalfOpen  uint64    `json:"half_open"`
	Drops     uint64    `json:"kernel_drops"`
	LastPkt   time.Time `json:"last_packet,omitzero"`
	Alerts    int       `json:"active_alerts"`
	FileRead  int64     `json:"file_bytes_read,omitempty"`
	FileTotal int64     `json:"file_bytes_total,omitempty"`
	// FileDamage is set when a replayed file had damaged records.
	FileDamage *fileDamage `json:"file_damage,omitempty"`
}

// fileDamage says what the file reader did about damaged records.
type fileDamage struct {
	Repaired       uint64 `json:"records_repaired"`
	SkippedRecords uint64 `json:"records_skipped"`
	SkippedBytes   uint64 `json:"bytes_skipped"`
}

// webServer serves /metrics and the JSON API.
type webServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

func newMux(reg *prometheus.Registry, eng *detect.Engine, book *alertBook, st func() status, live *report.Live) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !eng.Running() {
			http.Error(w, "capture not running", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	}
	mux.HandleFunc("/api/v1/alerts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"alerts": book.list()})
	})
	mux.HandleFunc("/api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, st())
	})
	if live != nil {
		mux.HandleFunc("/api/v1/report", live.ServeData)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if live != nil {
			live.ServePage(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>monitor443</title></head><body><h1>monitor443</h1><ul>
<li><a href="/metrics">/metrics</a></li><li><a href="/api/v1/alerts">/api/v1/alerts</a></li>
<li><a href="/api/v1/status">/api/v1/status</a></li><li><a href="/healthz">/healthz</a></li><li><a href="/readyz">/readyz</a></li></ul></body></html>`)
	})
	return mux
}

// startWeb listens on addr and serves h, with TLS and basic auth from the
// exporter-toolkit web configuration file when one is given.
func startWeb(addr, webConfig string, h http.Handler, logger *slog.Logger) (*webServer, error) {
	if webConfig != "" {
		if err := web.Validate(webConfig); err != nil {
			return nil, usageError{fmt.Errorf("-web.config.file %s: %w", webConfig, err)}
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("-web.listen-address: %w", err)}
	}
	s := &webServer{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.With("component", "web").Handler(), slog.LevelDebug)},
		ln:   ln,
		done: make(chan error, 1),
	}
	flags := &web.FlagConfig{WebListenAddresses: &[]string{addr}, WebConfigFile: &webConfig}
	go func() {
		err := web.Serve(ln, s.srv, flags, logger.With("component", "web"))
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	logger.Info("serving metrics", "address", ln.Addr().String())
	return s, nil
}

// Addr returns the address the server listens on.
func (s *webServer) Addr() string { return s.ln.Addr().String() }

func (s *webServer) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if werr := <-s.done; err == nil {
		err = werr
	}
	return err
}
