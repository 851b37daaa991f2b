package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var reportScreenshots = flag.String("report.screenshots", "", "save the browser tests' screenshots of the report and the live page in `DIR` (default: monitor443-report-screenshots in the temporary folder)")

// writeDemoReport writes the demo capture's report and returns its path.
func writeDemoReport(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "demo report.html")
	code, stdout, stderr := runCLI(t, "report", "-r", demoCapture, "-config.file", "../../testdata/demo.yml", "-o", out, "-log.level", "error")
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	if want := "report: " + out + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	return out
}

func TestReportSubcommand(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(writeDemoReport(t))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`<h3>syn_flood <span class="sev">critical</span> at global`,
		`<h3>bandwidth_spike <span class="sev">critical</span> at global`, `id="tls"`, `id="health"`, "www.shop-0.example"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Self-contained: nothing is loaded from elsewhere.
	if m := regexp.MustCompile(`(?i)<(script|link|img|iframe)[^>]+(src|href)=`).FindString(page); m != "" {
		t.Errorf("report loads a resource: %s", m)
	}
	if len(b) > 1<<20 {
		t.Errorf("demo report is %d bytes", len(b))
	}
}

func TestReportUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
	}{
		{name: "no output", args: []string{"report", "-r", demoCapture}, code: 2},
		{name: "no input", args: []string{"report", "-o", "x.html"}, code: 2},
		{name: "missing folder", args: []string{"-r", demoCapture, "-output.report", "no/such/dir/r.html"}, code: 2},
		{name: "help", args: []string{"report", "-help"}, code: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if code, _, stderr := runCLI(t, tt.args...); code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, stderr)
			}
		})
	}
}

// chromium returns the headless browser, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (Debian package chromium; make deps installs it): browser test skipped")
	return ""
}

// browse loads url in headless Chromium, saves a screenshot and returns
// the DOM after the page's scripts ran. It fails on any console message:
// the page logs nothing when all is well.
func browse(t *testing.T, bin, url, shot string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	common := []string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
		"--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--window-size=1280,2400"}
	dir := t.TempDir()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(common, "--user-data-dir="+filepath.Join(dir, "dump"), "--dump-dom", url)...)
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			t.Errorf("console message: %s", l)
		}
	}
	if shot != "" {
		cmd := exec.CommandContext(ctx, bin, append(common, "--user-data-dir="+filepath.Join(dir, "shot"), "--screenshot="+shot, "--hide-scrollbars", url)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			if *reportScreenshots != "" {
				t.Errorf("chromium --screenshot: %v\n%s", err, out)
			} else {
				t.Logf("no screenshot: chromium --screenshot: %v", err)
			}
		} else {
			t.Logf("screenshot: %s", shot)
		}
	}
	return string(dom)
}

// checkCharts checks that the page drew every global chart with data, the
// SYN flood and bandwidth spike spans on their charts, and no error. With
// servers, it checks the busiest servers' charts too: the demo's flood and
// spike both hit 198.18.0.1:443, so their server-scope spans belong on its
// charts and on no other server's.
func checkCharts(t *testing.T, dom string, servers bool) {
	t.Helper()
	body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
	if !strings.Contains(body, `data-ready="1"`) {
		t.Fatalf("page did not draw its charts: %s", body)
	}
	if !strings.Contains(body, `data-requests="0"`) {
		t.Errorf("page made requests: %s", body)
	}
	if m := regexp.MustCompile(`<ul id="errors"[^>]*>(.*?)</ul>`).FindStringSubmatch(dom); m == nil || m[1] != "" {
		t.Errorf("page reported errors: %v", m)
	}
	charts := regexp.MustCompile(`<section class="chart" id="chart-([\w-]+)" data-points="(\d+)" data-spans="([\w,]*)">`).FindAllStringSubmatch(dom, -1)
	spans, points := map[string]string{}, map[string]int{}
	for _, c := range charts {
		points[c[1]], _ = strconv.Atoi(c[2])
		spans[c[1]] = c[3]
		if !regexp.MustCompile(`id="chart-` + c[1] + `".*?<canvas`).MatchString(dom) {
			t.Errorf("chart %s has no canvas", c[1])
		}
	}
	if n := regexp.MustCompile(`data-charts="(\d+)"`).FindStringSubmatch(body); n == nil || n[1] != strconv.Itoa(len(charts)) {
		t.Errorf("body says %v charts, found %d", n, len(charts))
	}
	for _, id := range []string{"bytes", "conns", "syn", "hellos", "quic"} {
		if _, ok := points[id]; !ok {
			t.Errorf("global chart %s missing", id)
		} else if points[id] == 0 {
			t.Errorf("chart %s drew no data", id)
		}
	}
	if !strings.Contains(spans["syn"], "syn_flood") {
		t.Errorf("SYN chart spans %q, want syn_flood", spans["syn"])
	}
	if !strings.Contains(spans["bytes"], "bandwidth_spike") {
		t.Errorf("bytes chart spans %q, want bandwidth_spike", spans["bytes"])
	}
	servs := regexp.MustCompile(`<div class="server" id="server-(\d+)" data-server="([^"]+)">`).FindAllStringSubmatch(dom, -1)
	if !servers {
		if len(charts) != 5 || len(servs) != 0 {
			t.Errorf("found %d charts and %d servers, want 5 and none", len(charts), len(servs))
		}
		return
	}
	if len(servs) == 0 || len(servs) > 10 {
		t.Fatalf("found %d servers, want 1 to 10", len(servs))
	}
	if len(charts) != 5*(1+len(servs)) {
		t.Errorf("found %d charts, want 5 for each of %d servers and the global ones", len(charts), len(servs))
	}
	if servs[0][2] != "198.18.0.1:443" {
		t.Errorf("busiest server %s, want 198.18.0.1:443 (the flood's and the spike's target)", servs[0][2])
	}
	for _, sv := range servs {
		p := "s" + sv[1] + "-"
		for _, id := range []string{"bytes", "conns", "syn", "hellos", "quic"} {
			if _, ok := points[p+id]; !ok {
				t.Errorf("server %s: chart %s missing", sv[2], id)
			}
		}
		if points[p+"bytes"] == 0 {
			t.Errorf("server %s: bytes chart drew no data", sv[2])
		}
		hit := sv[2] == "198.18.0.1:443"
		if got := strings.Contains(spans[p+"syn"], "syn_flood"); got != hit {
			t.Errorf("server %s: SYN chart spans %q (want syn_flood: %v)", sv[2], spans[p+"syn"], hit)
		}
		if got := strings.Contains(spans[p+"bytes"], "bandwidth_spike"); got != hit {
			t.Errorf("server %s: bytes chart spans %q (want bandwidth_spike: %v)", sv[2], spans[p+"bytes"], hit)
		}
		for _, id := range []string{"conns", "hellos", "quic"} {
			if spans[p+id] != "" {
				t.Errorf("server %s: chart %s has spans %q", sv[2], id, spans[p+id])
			}
		}
	}
}

// screenshot returns where to save a screenshot: -report.screenshots, or
// a fixed folder under the system's temporary folder that outlives the
// test, so a CI run keeps its screenshots.
func screenshot(t *testing.T, name string) string {
	dir := *reportScreenshots
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "monitor443-report-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if *reportScreenshots != "" {
			t.Fatal(err)
		}
		t.Logf("no screenshot: %v", err)
		return ""
	}
	return filepath.Join(dir, name)
}

// TestReportBrowser opens the demo capture's report in headless Chromium.
func TestReportBrowser(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	path := writeDemoReport(t)
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	dom := browse(t, bin, "file://"+filepath.ToSlash(abs), screenshot(t, "report.png"))
	checkCharts(t, dom, true)
	if !strings.Contains(dom, `href="#incident-`) {
		t.Error("timeline does not link to the incidents")
	}
}

// TestLivePageBrowser opens the live page of a replay that is still
// running (it lingers) in headless Chromium.
func TestLivePageBrowser(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-r", demoCapture, "-config.file", "../../testdata/demo.yml", "-web.listen-address", addr,
			"-web.linger", "2m", "-log.level", "error"}, nil, io.Discard, &stderr)
	}()
	// Wait until the replay has raised both events.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d struct {
			Spans []struct{ Kind string } `json:"spans"`
		}
		if resp, err := http.Get("http://" + addr + "/api/v1/report"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&d)
			resp.Body.Close()
		}
		if len(d.Spans) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live data never had the two events: %+v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	dom := browse(t, bin, "http://"+addr+"/", screenshot(t, "live.png"))
	checkCharts(t, dom, false)
	for _, want := range []string{`href="metrics"`, `href="api/v1/alerts"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("live page lacks %s", want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr.String())
	}
}
