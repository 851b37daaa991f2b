//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/monitor443/monitor443/dashboards"
)

// promServer is a real Prometheus started on loopback for a test.
type promServer struct {
	addr string
	cmd  *exec.Cmd
}

// startPrometheus runs the binary named by MONITOR443_PROMETHEUS, scraping
// target every second, with rule files if given. It skips the test when
// the variable is unset.
func startPrometheus(t *testing.T, target string, ruleFiles ...string) *promServer {
	t.Helper()
	bin := os.Getenv("MONITOR443_PROMETHEUS")
	if bin == "" {
		t.Skip("MONITOR443_PROMETHEUS not set (the Debian package prometheus provides /usr/bin/prometheus)")
	}
	dir := t.TempDir()
	var rules string
	if len(ruleFiles) > 0 {
		rules = "rule_files:\n"
		for _, r := range ruleFiles {
			abs, _ := filepath.Abs(r)
			rules += "  - " + abs + "\n"
		}
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
%sscrape_configs:
  - job_name: monitor443
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", b)
		}
	})
	p := &promServer{addr: addr, cmd: cmd}
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("prometheus did not become ready")
	return nil
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// queryRange runs a range query from start to now (1 s steps) and returns
// the number of series that have at least one point: what a Grafana panel
// over that time range would draw.
func (p *promServer) queryRange(t *testing.T, q string, start time.Time) (int, error) {
	v := url.Values{"query": {q}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(time.Now().Unix() + 1)}, "step": {"1"}}
	resp, err := http.Get("http://" + p.addr + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	n := 0
	for _, s := range r.Data.Result {
		if len(s.Values) > 0 {
			n++
		}
	}
	return n, nil
}

// query runs an instant query and returns its vector.
func (p *promServer) query(t *testing.T, q string) ([]promSample, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := promAPI(p.addr, "/api/v1/query", url.Values{"query": {q}}, &d); err != nil {
		return nil, err
	}
	var out []promSample
	if d.ResultType == "vector" {
		if err := json.Unmarshal(d.Result, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sampleValue(s promSample) float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

// replayForPrometheus runs monitor443 in-process on the demo capture at
// replay speed, serving /metrics until ctx ends. It returns the address and
// a function that waits for the replay to finish.
func replayForPrometheus(t *testing.T, ctx context.Context, addr, speed string, extra ...string) (string, func() int) {
	done := make(chan int, 1)
	go func() {
		args := append([]string{"-r", demoCapture, "-replay.speed", speed, "-web.listen-address", addr, "-web.linger", "10m", "-log.level", "warn"}, extra...)
		done <- run(ctx, args, nil, io.Discard, os.Stderr)
	}()
	return addr, func() int { return <-done }
}

// waitReplayDone polls /api/v1/status until the capture stopped.
func waitReplayDone(t *testing.T, addr string) {
	for i := 0; i < 600; i++ {
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err == nil {
			var st status
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if !st.Running && st.Frames > 0 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("replay did not finish")
}

// scrapeValue reads one series' value from monitor443's own /metrics.
func scrapeValue(t *testing.T, addr, series string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, series+" ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(l, series+" "), 64)
			return v
		}
	}
	t.Fatalf("series %s not in /metrics", series)
	return 0
}

// TestPrometheusIntegration lets a real Prometheus scrape monitor443 while
// it replays the demo capture, then checks that the values Prometheus
// stored equal what monitor443 counted.
func TestPrometheusIntegration(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	prom := startPrometheus(t, addr)
	_, wait := replayForPrometheus(t, ctx, addr, "30")
	waitReplayDone(t, addr)
	time.Sleep(2500 * time.Millisecond) // at least one scrape after the end
	for _, series := range []string{
		`monitor443_capture_frames_total`,
		`monitor443_capture_bytes_total{direction="in",proto="tcp"}`,
		`monitor443_capture_bytes_total{direction="out",proto="tcp"}`,
		`monitor443_tcp_syn_total`,
		`monitor443_tcp_handshakes_completed_total`,
		`monitor443_tls_client_hellos_total{version="tls1.3"}`,
	} {
		want := scrapeValue(t, addr, series)
		got, err := prom.query(t, series)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("%s: %d series in Prometheus, want 1", series, len(got))
			continue
		}
		if v := sampleValue(got[0]); v != want || want == 0 {
			t.Errorf("%s: Prometheus has %v, monitor443 counted %v", series, v, want)
		}
	}
	// Prometheus saw the values grow during the replay, not only at the end.
	res, err := prom.query(t, `count_over_time(monitor443_capture_frames_total[5m])`)
	if err != nil || len(res) != 1 || sampleValue(res[0]) < 3 {
		t.Errorf("frames counter scraped too few times: %v %v", res, err)
	}
	cancel()
	if code := wait(); code != 0 {
		t.Errorf("monitor443 exit %d", code)
	}
}

// TestDashboardPanelsHaveData replays the demo capture with every optional
// series on, lets a real Prometheus scrape it, and evaluates every panel
// query of every dashboard (template variables substituted) through the
// Prometheus API: each must parse and return data. Grafana itself cannot be
// installed here; this is how the dashboards are proven.
func TestDashboardPanelsHaveData(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`tls:
  top_sni: 10
detection:
  watch:
    servers: ["198.18.0.1:443"]
  detectors:
    syn_flood:
      static: {global: 50}
alerting:
  spool:
    dir: %s
  sinks:
    - name: hook
      type: webhook
      url: %s
`, filepath.Join(dir, "spool"), hook.URL)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := time.Now()
	addr := freeAddr(t)
	prom := startPrometheus(t, addr, "../../deploy/prometheus/rules/monitor443.rules.yml")
	// Slow enough that Prometheus scrapes before the SYN flood fires (120 s
	// into the capture: 12 s at this speed), so alert changes are visible.
	_, wait := replayForPrometheus(t, ctx, addr, "10", "-config.file", cfg)
	waitReplayDone(t, addr)
	time.Sleep(3 * time.Second)
	vars := map[string]string{"instance": ".*", "server": ".*", "__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
	var checked int
	for _, b := range dashboards.All() {
		for _, q := range dashboards.Queries(b) {
			expr := q.Expand(vars)
			n, err := prom.queryRange(t, expr, started)
			switch {
			case err != nil:
				t.Errorf("%s / %s: %v", b.Title, q.Panel, err)
			case n == 0:
				t.Errorf("%s / %s: no data over the replay for %s", b.Title, q.Panel, expr)
			}
			checked++
		}
	}
	t.Logf("%d panel queries returned data", checked)
	cancel()
	wait()
}
