package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/monitor443/monitor443/capture/synth"
	"github.com/monitor443/monitor443/dashboards"
	"github.com/monitor443/monitor443/detect"
	"golang.org/x/crypto/bcrypt"
)

var update = flag.Bool("update", false, "rewrite golden files")

// demoCapture is the bundled capture the README's demo replays.
const demoCapture = "../../testdata/demo.pcap"

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, nil, &o, &e)
	return code, o.String(), e.String()
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, "-help")
	if code != 0 {
		t.Errorf("-help exit %d, want 0", code)
	}
	for _, f := range []string{"-r FILE", "-i IFACE", "-replay.speed", "-config.file", "-config.check", "-web.listen-address",
		"-log.level", "-log.format", "-output.tls", "-output.alerts", "-version", "CAP_NET_RAW", "synth"} {
		if !strings.Contains(stderr, f) {
			t.Errorf("-help does not mention %q", f)
		}
	}
	code, stdout, _ := runCLI(t, "-version")
	if code != 0 || !strings.HasPrefix(stdout, "monitor443 ") {
		t.Errorf("-version: exit %d, %q", code, stdout)
	}
	if code, _, _ := runCLI(t, "-no-such-flag"); code != 2 {
		t.Errorf("unknown flag exit %d, want 2", code)
	}
	if code, _, stderr := runCLI(t, "-r", "/nonexistent/a.pcap", "-r", "/nonexistent/b.pcap"); code != 2 ||
		!strings.Contains(stderr, "a.pcap") || !strings.Contains(stderr, "b.pcap") {
		t.Errorf("missing files: exit %d, %q; want 2 naming both", code, stderr)
	}
}

func TestConfigEveryProblemListed(t *testing.T) {
	t.Parallel()
	bad := `
capture:
  tcp_ports: [443, 70000]
  workers: -1
  method: carrier-pigeon
flows:
  max_flows: 5
  idle_timeout: soon
detection:
  interval: 10ms
alerting:
  sinks:
    - name: x
      type: webhook
      url: ftp://example.invalid/hook
`
	_, err := parseConfig([]byte(bad))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"capture.tcp_ports[1]", "capture.workers", "capture.method", "flows.max_flows",
		"flows.idle_timeout", "detection.interval", "alerting.sinks[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if _, err := parseConfig([]byte("capture:\n  tcp_portz: [443]\n")); err == nil || !strings.Contains(err.Error(), "tcp_portz") {
		t.Errorf("unknown key: err = %v, want it named", err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.yml")
	os.WriteFile(f, []byte(bad), 0o644)
	code, _, stderr := runCLI(t, "-config.file", f, "-config.check")
	if code != 2 || strings.Count(stderr, "\n") < 7 {
		t.Errorf("-config.check on a bad file: exit %d, output:\n%s", code, stderr)
	}
}

// TestExampleConfig parses deploy/monitor443.example.yml, which documents
// every key, so the documentation cannot drift from the parser.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/monitor443.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []string{"webhook-url", "webhook-secret"} {
		os.WriteFile(filepath.Join(dir, n), []byte("https://hooks.example.invalid/x\n"), 0o600)
	}
	b = bytes.ReplaceAll(b, []byte("/etc/monitor443/"), []byte(dir+"/"))
	cfg, err := parseConfig(b)
	if err != nil {
		t.Fatalf("example config rejected: %v", err)
	}
	def := defaultConfig()
	if diff := cmp.Diff(def.Capture, cfg.Capture); diff != "" {
		t.Errorf("example capture section differs from the defaults (-default +example):\n%s", diff)
	}
	if diff := cmp.Diff(def.Flows, cfg.Flows); diff != "" {
		t.Errorf("example flows section differs from the defaults:\n%s", diff)
	}
	if diff := cmp.Diff(def.TLS, cfg.TLS); diff != "" {
		t.Errorf("example tls section differs from the defaults:\n%s", diff)
	}
	gotStat := cfg.Detection.Stat
	if gotStat.Learning != 10*time.Minute || gotStat.SYNFlood.K != 1 || gotStat.BandwidthSpike.MinVolume != 131072 || gotStat.Disabled || gotStat.NoSeasonal {
		t.Errorf("example detection section does not state the defaults: %+v", gotStat)
	}
	if cfg.Alerting == nil || len(cfg.Alerting.Sinks) != 2 {
		t.Errorf("example alerting sinks not parsed: %+v", cfg.Alerting)
	}
	// Every top-level key of the raw config appears in the example.
	for _, key := range []string{"capture:", "flows:", "tls:", "detection:", "alerting:"} {
		if !bytes.Contains(b, []byte("\n"+key)) {
			t.Errorf("example lacks section %s", key)
		}
	}
}

// scrape replays the demo capture with the web server on and returns the
// monitor443_ lines of /metrics taken after the replay ended.
func scrape(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(demoCapture); err != nil {
		t.Fatalf("demo capture: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"-r", demoCapture, "-web.listen-address", addr, "-web.linger", "1m", "-log.level", "warn"}, args...), nil, io.Discard, &stderr)
	}()
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, "monitor443_capture_running 0") && strings.Contains(body, "monitor443_capture_frames_total") &&
				!strings.Contains(body, "monitor443_capture_frames_total 0\n") {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr.String())
	}
	var keep []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "monitor443_") || strings.HasPrefix(l, "# HELP monitor443_") || strings.HasPrefix(l, "# TYPE monitor443_") {
			if strings.HasPrefix(l, "monitor443_build_info") || strings.HasPrefix(l, "monitor443_capture_lag_seconds ") {
				continue // differ between builds and runs
			}
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n") + "\n"
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestMetricsGolden replays the demo capture in-process through run() and
// compares /metrics with testdata/metrics.golden (-update rewrites it).
// promtool lints the exposition when it is installed.
func TestMetricsGolden(t *testing.T) {
	got := scrape(t)
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("/metrics differs from %s (-want +got):\n%s", golden, diff)
	}
	// The counters agree with the capture's truth: every frame is a
	// monitored TCP packet.
	if !regexp.MustCompile(`monitor443_capture_frames_total [1-9]`).MatchString(got) {
		t.Error("no frames counted")
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(got)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed; lint skipped")
	}
}

// TestWebConfigEnforced serves over TLS with basic auth from an
// exporter-toolkit web config and checks a wrong password gets 401.
func TestWebConfigEnforced(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	webCfg := filepath.Join(dir, "web.yml")
	os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+
		"\nbasic_auth_users:\n  prom: "+string(hash)+"\n"), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-r", demoCapture, "-web.listen-address", addr, "-web.config.file", webCfg, "-web.linger", "1m", "-log.level", "error"}, nil, io.Discard, io.Discard)
	}()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var code int
	for i := 0; i < 100; i++ {
		if code = get("prom", "s3cret"); code == 200 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("right password: status %d, want 200", code)
	}
	if c := get("prom", "wrong"); c != 401 {
		t.Errorf("wrong password: status %d, want 401", c)
	}
	if c := get("", ""); c != 401 {
		t.Errorf("no credentials: status %d, want 401", c)
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served metrics although TLS is configured")
		}
	}
	cancel()
	<-done
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// TestEndpoints checks /healthz, /readyz, /api/v1/status and
// /api/v1/alerts while a paced replay runs and after it ended.
func TestEndpoints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-r", demoCapture, "-replay.speed", "60", "-web.listen-address", addr, "-web.linger", "1m", "-log.level", "error"}, nil, io.Discard, io.Discard)
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return -1, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var code int
	for i := 0; i < 100; i++ {
		if code, _ = get("/readyz"); code == 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("/readyz while replaying: %d, want 200", code)
	}
	if c, _ := get("/healthz"); c != 200 {
		t.Errorf("/healthz: %d", c)
	}
	c, body := get("/api/v1/status")
	var st status
	if err := json.Unmarshal([]byte(body), &st); c != 200 || err != nil || !st.Running || st.Source != "files" {
		t.Errorf("/api/v1/status while running: %d %v %+v", c, err, st)
	}
	// Wait for the end of the replay.
	for i := 0; i < 300; i++ {
		if _, body = get("/api/v1/status"); json.Unmarshal([]byte(body), &st) == nil && !st.Running && st.Frames > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Running || st.FileRead != st.FileTotal || st.Frames == 0 {
		t.Errorf("status after the replay: %+v", st)
	}
	if c, _ := get("/readyz"); c != 503 {
		t.Errorf("/readyz after the replay: %d, want 503", c)
	}
	c, body = get("/api/v1/alerts")
	var al struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(body), &al); c != 200 || err != nil || al.Alerts == nil {
		t.Errorf("/api/v1/alerts: %d %v %q", c, err, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after SIGINT-equivalent cancel, want 0", code)
	}
}

// TestInterruptFlushesOutputs cancels a paced replay half-way (as SIGINT
// does) and checks the run exits 0 with its outputs flushed and complete
// JSON lines.
func TestInterruptFlushesOutputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tls.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, []string{"-r", demoCapture, "-replay.speed", "60", "-output.tls", out, "-log.level", "error"}, nil, io.Discard, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("summary does not say the run was interrupted:\n%s", stderr.String())
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(b) == 0 || len(lines) == 0 {
		t.Fatal("no TLS records flushed")
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("partial line in output: %q", l)
		}
	}
}

// TestDashboardAndRuleMetricsExist checks that every monitor443 metric
// named by the dashboards and the Prometheus rules is exported, on a replay
// with every optional series turned on.
func TestDashboardAndRuleMetricsExist(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yml")
	os.WriteFile(cfg, []byte("tls:\n  top_sni: 5\ndetection:\n  watch:\n    servers: [\"198.18.0.1:443\"]\nalerting:\n  spool:\n    dir: "+
		filepath.Join(dir, "spool")+"\n  sinks:\n    - name: hook\n      type: webhook\n      url: "+hook.URL+"\n"), 0o644)
	body := scrape(t, "-config.file", cfg)
	have := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			f := strings.Fields(l)
			have[f[2]] = true
			if f[3] == "histogram" {
				have[f[2]+"_bucket"], have[f[2]+"_sum"], have[f[2]+"_count"] = true, true, true
			}
		}
	}
	name := regexp.MustCompile(`monitor443_[a-z0-9_]+`)
	used := map[string]string{}
	for _, b := range dashboards.All() {
		for _, q := range dashboards.Queries(b) {
			for _, n := range name.FindAllString(q.Expr, -1) {
				used[n] = "dashboard " + b.Title + " / " + q.Panel
			}
		}
	}
	rules, err := os.ReadFile("../../deploy/prometheus/rules/monitor443.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(rules), "\n") {
		if strings.Contains(l, "record:") { // recording rule names are not scraped metrics
			continue
		}
		for _, n := range name.FindAllString(l, -1) {
			if !strings.Contains(l, ":"+n) && !strings.Contains(l, n+":") {
				used[n] = "rules: " + strings.TrimSpace(l)
			}
		}
	}
	if len(used) < 30 {
		t.Fatalf("found only %d metric names in dashboards and rules", len(used))
	}
	for n, where := range used {
		if !have[n] {
			t.Errorf("%s (used by %s) is not exported", n, where)
		}
	}
}

// TestDemoDetectsAttacks replays the bundled demo capture as `make demo`
// does and checks that each attack listed in its truth file raises an
// alert at global scope within the latency targets, which later
// resolves.
func TestDemoDetectsAttacks(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	if code, _, stderr := runCLI(t, "-r", demoCapture, "-config.file", "../../testdata/demo.yml", "-output.alerts", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tf, err := os.Open("../../testdata/demo.truth.json")
	if err != nil {
		t.Fatal(err)
	}
	truth, err := synth.ReadTruth(tf)
	tf.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	var events []detect.Anomaly
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var a detect.Anomaly
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		events = append(events, a)
	}
	// bandwidth_spike judges egress over a minute and wants the clients
	// that carry it to have pulled through four fifths of it, so an egress spike
	// is confirmed after about fifty seconds.
	limits := map[string]time.Duration{detect.KindSYNFlood: 2 * time.Second, detect.KindBandwidthSpike: 60 * time.Second}
	for _, ev := range truth.Events {
		kind := ev.Detectors.List()[0] // the detector that should find it
		var fired, resolved bool
		for _, a := range events {
			if a.Kind != kind || a.Scope != detect.ScopeGlobal {
				continue
			}
			switch a.State {
			case detect.StateFiring:
				fired = true
				if a.Detected == nil {
					t.Errorf("%s: no detection time", kind)
					continue
				}
				if lat := a.Detected.Sub(ev.Start); lat < 0 || lat > limits[kind] {
					t.Errorf("%s detected %v after onset, want within %v", kind, lat, limits[kind])
				}
			case detect.StateResolved:
				resolved = true
			}
		}
		if !fired || !resolved {
			t.Errorf("%s at %s: fired %v, resolved %v", kind, ev.Start, fired, resolved)
		}
	}
	for _, a := range events {
		if a.Kind == detect.KindRequestBurst || a.Kind == detect.KindQUICFlood {
			t.Errorf("false alert on the demo: %s %s %s", a.Kind, a.Scope, a.Target)
		}
	}
}

// TestReplayDeterministic replays the demo capture twice with two workers
// and checks the alert events and TLS records are identical: time comes
// from packets and worker snapshots merge in a fixed order.
func TestReplayDeterministic(t *testing.T) {
	t.Parallel()
	var outs [2][2][]byte
	for i := range outs {
		dir := t.TempDir()
		a, r := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "t.jsonl")
		if code, _, stderr := runCLI(t, "-r", demoCapture, "-config.file", "../../testdata/demo.yml", "-workers", "2", "-output.alerts", a, "-output.tls", r); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outs[i][0], _ = os.ReadFile(a)
		outs[i][1], _ = os.ReadFile(r)
	}
	if len(outs[0][0]) == 0 || len(outs[0][1]) == 0 {
		t.Fatal("no output")
	}
	if !bytes.Equal(outs[0][0], outs[1][0]) {
		t.Errorf("alert events differ between runs:\n%s\n---\n%s", outs[0][0], outs[1][0])
	}
	// TLS records are written as connections end, which two workers may
	// interleave differently; compare them as sets.
	lines := func(b []byte) []string {
		l := strings.Split(strings.TrimSpace(string(b)), "\n")
		sort.Strings(l)
		return l
	}
	if diff := cmp.Diff(lines(outs[0][1]), lines(outs[1][1])); diff != "" {
		t.Errorf("TLS records differ between runs (-first +second):\n%s", diff)
	}
}
