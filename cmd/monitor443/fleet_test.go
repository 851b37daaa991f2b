//go:build fleet

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/monitor443/monitor443/dashboards"
)

// The fleet test runs the set-up of docs/scaling.md on loopback with the
// real Debian binaries: two sensors replaying one capture at its real pace,
// a Prometheus per sensor ("site") with the shipped rules, a global
// Prometheus federating both with the configuration printed in the
// document, and a two-member Alertmanager cluster with the shipped route in
// front of one webhook receiver. Run it with make fleet.

const (
	fleetScalingDoc = "../../docs/scaling.md"
	fleetRulesFile  = "../../deploy/prometheus/rules/monitor443.rules.yml"
	fleetRoute      = "../../deploy/container/alertmanager/alertmanager.yml"
	// The capture: benign traffic with a spoofed SYN flood from 20 s to
	// 50 s, one minute long.
	fleetCaptureLen = time.Minute
	fleetFlood      = "syn_flood@20s+30s:300"
)

// fleetBins returns the Prometheus and Alertmanager binaries, or skips.
func fleetBins(t *testing.T) (prom, am string) {
	prom, am = os.Getenv("MONITOR443_PROMETHEUS"), os.Getenv("MONITOR443_ALERTMANAGER")
	if prom == "" || am == "" {
		t.Skip("MONITOR443_PROMETHEUS or MONITOR443_ALERTMANAGER not set: install the Debian packages prometheus and prometheus-alertmanager (make deps) and run make fleet")
	}
	return prom, am
}

// fleetDocYAML returns the first YAML block after the heading in docs/scaling.md,
// so the test runs what the document tells users to write.
func fleetDocYAML(t *testing.T, heading string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(fleetScalingDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s: no heading %q", fleetScalingDoc, heading)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(doc[i:])
	if m == nil {
		t.Fatalf("%s: no YAML block after %q", fleetScalingDoc, heading)
	}
	var out map[string]any
	if err := yaml.Unmarshal([]byte(m[1]), &out); err != nil {
		t.Fatalf("%s: YAML after %q: %v", fleetScalingDoc, heading, err)
	}
	return out
}

// fleetYAMLFile writes v as YAML into dir and returns the file's path.
func fleetYAMLFile(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fleetProc is a server process the test started; stop and kill end only
// it.
type fleetProc struct {
	name, addr string
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the process has exited
}

func (p *fleetProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// kill ends the process at once, as a crash would.
func (p *fleetProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// fleetStart runs bin with the arguments args gives for a free web
// address, logging to dir, and waits until /-/ready answers 200. A port
// taken between choosing and binding it makes the server exit; it is then
// started again on other ports.
func fleetStart(t *testing.T, name, dir, bin string, args func(web string) []string) *fleetProc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p := &fleetProc{name: name, addr: freeAddr(t), exited: make(chan struct{})}
		p.cmd = exec.Command(bin, args(p.addr)...)
		logName := filepath.Join(dir, fmt.Sprintf("%s.%d.log", name, attempt))
		logf, err := os.Create(logName)
		if err != nil {
			t.Fatal(err)
		}
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		go func() { _ = p.cmd.Wait(); logf.Close(); close(p.exited) }()
		t.Cleanup(func() {
			p.stop()
			if t.Failed() {
				b, _ := os.ReadFile(logName)
				t.Logf("%s log (last 3000 bytes):\n%s", name, fleetTail(b, 3000))
			}
		})
		if p.ready(60 * time.Second) {
			return p
		}
		select {
		case <-p.exited:
			b, _ := os.ReadFile(logName)
			if attempt < 3 && strings.Contains(string(b), "address already in use") {
				t.Logf("%s could not bind a port, trying other ports: %s", name, fleetTail(b, 500))
				continue
			}
		default:
		}
		t.Fatalf("%s did not become ready", name)
	}
}

// ready polls /-/ready until it answers 200, the process exits or d passes.
func (p *fleetProc) ready(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + p.addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-p.exited:
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

func fleetTail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// fleetProm runs a Prometheus with cfg (a parsed configuration).
func fleetProm(t *testing.T, bin, dir, name string, cfg map[string]any) *fleetProc {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	file := fleetYAMLFile(t, d, "prometheus.yml", cfg)
	return fleetStart(t, name, dir, bin, func(web string) []string {
		return []string{"--config.file=" + file, "--storage.tsdb.path=" + filepath.Join(d, "data"),
			"--web.listen-address=" + web, "--log.level=warn"}
	})
}

// fleetVector runs an instant query on a Prometheus.
func fleetVector(addr, q string) ([]fleetSample, error) {
	var d struct {
		Result []fleetSample `json:"result"`
	}
	err := promAPI(addr, "/api/v1/query", url.Values{"query": {q}}, &d)
	return d.Result, err
}

type fleetSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s fleetSample) float() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

// fleetRange runs a range query from start to now in 1 s steps and returns
// the label sets of the series that have a point: what a Grafana panel
// would draw.
func fleetRange(addr, q string, start time.Time) ([]map[string]string, error) {
	v := url.Values{"query": {q}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(time.Now().Unix() + 1)}, "step": {"1"}}
	var d struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := promAPI(addr, "/api/v1/query_range", v, &d); err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, s := range d.Result {
		if len(s.Values) > 0 {
			out = append(out, s.Metric)
		}
	}
	return out, nil
}

// fleetSum returns the sum of an instant vector's values and its length.
func fleetSum(t *testing.T, addr, q string) (float64, int) {
	t.Helper()
	res, err := fleetVector(addr, q)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, r := range res {
		s += r.float()
	}
	return s, len(res)
}

// fleetEventually polls cond every 500 ms until it returns "" or d passes, and
// returns the last complaint.
func fleetEventually(d time.Duration, cond func() string) string {
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" || time.Now().After(deadline) {
			return msg
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// fleetNotification is the part of Alertmanager's webhook payload the test
// reads.
type fleetNotification struct {
	Status      string            `json:"status"`
	GroupKey    string            `json:"groupKey"`
	GroupLabels map[string]string `json:"groupLabels"`
	ExternalURL string            `json:"externalURL"`
	Alerts      []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Fingerprint string            `json:"fingerprint"`
	} `json:"alerts"`
	at time.Time
}

// content identifies what a notification says, whichever member sent it.
func (n fleetNotification) content() string {
	var as []string
	for _, a := range n.Alerts {
		as = append(as, a.Fingerprint+"="+a.Status)
	}
	sort.Strings(as)
	return n.GroupKey + " " + n.Status + " " + strings.Join(as, ",")
}

// fleetReceiver records every notification Alertmanager posts.
type fleetReceiver struct {
	mu  sync.Mutex
	got []fleetNotification
}

func (r *fleetReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n fleetNotification
	if err := json.NewDecoder(req.Body).Decode(&n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.at = time.Now()
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
}

// synFlood returns the notifications of the SYN flood groups: the
// sensors' SynFlood and the sites' Monitor443SYNFlood.
func (r *fleetReceiver) synFlood() []fleetNotification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []fleetNotification
	for _, n := range r.got {
		if a := n.GroupLabels["alertname"]; a == "SynFlood" || a == "Monitor443SYNFlood" {
			out = append(out, n)
		}
	}
	return out
}

func fleetDescribe(ns []fleetNotification) string {
	var b strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&b, "\n  %s from %s: %s", n.at.Format("15:04:05.000"), n.ExternalURL, n.content())
	}
	return b.String()
}

// TestFleet runs docs/scaling.md's fleet: federation, global rules, the
// dashboards over all sensors, and an Alertmanager cluster that sends one
// notification per alert group even when one member dies mid-incident.
func TestFleet(t *testing.T) {
	promBin, amBin := fleetBins(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The Alertmanager cluster: the shipped configuration with test timings
	// and the webhook receiver.
	hook := &fleetReceiver{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	var amCfg map[string]any
	b, err := os.ReadFile(fleetRoute)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &amCfg); err != nil {
		t.Fatal(err)
	}
	route := amCfg["route"].(map[string]any)
	t.Logf("shipped route groups by %v", route["group_by"])
	// Shorter waits than the shipped ones, but group_wait still well above
	// the detection delay: Alertmanager flushes a new group at once when its
	// first alert started more than group_wait ago, before the other
	// scopes' alerts of the event arrive.
	route["group_wait"], route["group_interval"], route["repeat_interval"] = "10s", "3s", "1h"
	for _, r := range amCfg["receivers"].([]any) {
		r.(map[string]any)["webhook_configs"] = []any{map[string]any{"url": hookSrv.URL, "send_resolved": true}}
	}
	amFile := fleetYAMLFile(t, dir, "alertmanager.yml", amCfg)
	// Each member names the other as its peer. A member started again on
	// other ports still finds the cluster: it joins the first member's
	// current address, and memberlist tells the first about it.
	cluster := []string{freeAddr(t), freeAddr(t)}
	ams := make([]*fleetProc, 2)
	webAddrs := make([]string, 2)
	for i := range ams {
		name := fmt.Sprintf("alertmanager-%d", i)
		retried := false
		ams[i] = fleetStart(t, name, dir, amBin, func(web string) []string {
			if retried {
				cluster[i] = freeAddr(t)
			}
			retried = true
			return []string{"--config.file=" + amFile,
				"--storage.path=" + filepath.Join(dir, name), "--web.listen-address=" + web,
				"--web.external-url=http://" + web, "--cluster.listen-address=" + cluster[i],
				"--cluster.advertise-address=" + cluster[i], "--cluster.peer=" + cluster[1-i],
				"--cluster.peer-timeout=4s", "--log.level=warn"}
		})
		webAddrs[i] = ams[i].addr
	}
	if msg := fleetEventually(30*time.Second, func() string {
		for _, a := range webAddrs {
			resp, err := http.Get("http://" + a + "/api/v2/status")
			if err != nil {
				return err.Error()
			}
			var st struct {
				Cluster struct {
					Status string `json:"status"`
					Peers  []any  `json:"peers"`
				} `json:"cluster"`
			}
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.Cluster.Status != "ready" || len(st.Cluster.Peers) != 2 {
				return fmt.Sprintf("alertmanager %s: cluster %s with %d peers", a, st.Cluster.Status, len(st.Cluster.Peers))
			}
		}
		return ""
	}); msg != "" {
		t.Fatal(msg)
	}

	// The sensors: each sends its alerts to both members.
	sensors := []string{freeAddr(t), freeAddr(t)}
	sites := []string{"site-a", "site-b"}
	waits := make([]func() int, len(sensors))
	siteProms := make([]*fleetProc, len(sensors))
	for i, addr := range sensors {
		// Each sensor: the document's alertmanager sink listing both
		// members, plus what the test needs: SYN floods resolve 5 s after
		// they stop, firing alerts are re-posted every 5 s, and every
		// dashboard series exists.
		sensorCfg := fleetDocYAML(t, "## Alerts: one Alertmanager cluster")
		alerting := sensorCfg["alerting"].(map[string]any)
		sinks := alerting["sinks"].([]any)
		if len(sinks) != 1 {
			t.Fatalf("%s: the sensor configuration has %d sinks, want 1", fleetScalingDoc, len(sinks))
		}
		sink := sinks[0].(map[string]any)
		sink["urls"] = []any{"http://" + webAddrs[0], "http://" + webAddrs[1]}
		sink["resend_interval"] = "5s"
		sink["filter"] = map[string]any{"kinds": []any{"syn_flood"}}
		alerting["spool"] = map[string]any{"dir": filepath.Join(dir, sites[i]+"-spool")}
		sensorCfg["tls"] = map[string]any{"top_sni": 10}
		sensorCfg["detection"] = map[string]any{
			"watch":     map[string]any{"servers": []any{"198.18.0.1:443"}},
			"detectors": map[string]any{"syn_flood": map[string]any{"quiet": "5s"}},
		}
		fleetYAMLFile(t, dir, sites[i]+".yml", sensorCfg)
		// Each site Prometheus: the document's site configuration with
		// this site's name, sensor and the shipped rules.
		site := fleetDocYAML(t, "## Many sensors, one Prometheus each")
		g, _ := site["global"].(map[string]any)
		if g == nil {
			g = map[string]any{}
			site["global"] = g
		}
		g["scrape_interval"], g["evaluation_interval"] = "1s", "1s"
		labels, _ := g["external_labels"].(map[string]any)
		if labels["site"] == nil {
			t.Fatalf("%s: the site configuration has no external label site", fleetScalingDoc)
		}
		labels["site"] = sites[i]
		rules, _ := filepath.Abs(fleetRulesFile)
		site["rule_files"] = []any{rules}
		scrapes := site["scrape_configs"].([]any)
		if len(scrapes) != 1 {
			t.Fatalf("%s: the site configuration has %d scrape configs, want 1", fleetScalingDoc, len(scrapes))
		}
		amTargets := site["alerting"].(map[string]any)["alertmanagers"].([]any)
		amTargets[0].(map[string]any)["static_configs"].([]any)[0].(map[string]any)["targets"] = []any{webAddrs[0], webAddrs[1]}
		sc := scrapes[0].(map[string]any)
		sc["static_configs"].([]any)[0].(map[string]any)["targets"] = []any{addr}
		siteProms[i] = fleetProm(t, promBin, dir, sites[i], site)
	}

	// The capture both sensors replay, with packet times from now on: the
	// sensors' alerts start when Alertmanager receives them, as live ones
	// do.
	capture := filepath.Join(dir, "fleet.pcap")
	start := time.Now().UTC().Truncate(time.Second)
	if code, _, stderr := runCLI(t, "synth", "-preset", "demo", "-no-events", "-duration", fleetCaptureLen.String(),
		"-event", fleetFlood, "-quic", "0.3", "-start", start.Format(time.RFC3339), "-o", capture); code != 0 {
		t.Fatalf("synth exit %d: %s", code, stderr)
	}

	for i, addr := range sensors {
		done := make(chan int, 1)
		var stderr strings.Builder // the run summary and warnings, shown on failure
		go func() {
			done <- run(ctx, []string{"-r", capture, "-replay.speed", "1", "-config.file", filepath.Join(dir, sites[i]+".yml"),
				"-web.listen-address", addr, "-web.linger", "10m", "-log.level", "warn", "-progress", "never"}, nil, io.Discard, &stderr)
		}()
		waits[i] = func() int {
			code := <-done
			if t.Failed() || code != 0 {
				t.Logf("sensor %s:\n%s", sites[i], stderr.String())
			}
			return code
		}
	}
	defer func() {
		cancel()
		for i, w := range waits {
			if code := w(); code != 0 {
				t.Errorf("sensor %s exit %d", sites[i], code)
			}
		}
	}()
	began := time.Now()

	// The global Prometheus: the document's federation job pointed at the
	// sites, and the document's fleet-wide rules.
	global := fleetDocYAML(t, "### Federation")
	global["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	fed := global["scrape_configs"].([]any)[0].(map[string]any)
	fed["static_configs"].([]any)[0].(map[string]any)["targets"] = []any{siteProms[0].addr, siteProms[1].addr}
	global["rule_files"] = []any{fleetYAMLFile(t, dir, "global.rules.yml", fleetDocYAML(t, "### Fleet-wide rules"))}
	globalProm := fleetProm(t, promBin, dir, "global", global)

	// A SYN flood both sensors see: one notification per alert group,
	// whichever sensors and members got the alerts.
	if msg := fleetEventually(90*time.Second, func() string {
		groups := map[string]bool{}
		for _, n := range hook.synFlood() {
			groups[n.GroupKey] = true
		}
		if len(groups) < 1+len(sensors) {
			return fmt.Sprintf("%d SYN flood groups notified, want %d", len(groups), 1+len(sensors))
		}
		return ""
	}); msg != "" {
		t.Fatal(msg)
	}
	first := hook.synFlood()[0]
	t.Logf("first SYN flood notification %s after the replays began, from %s", first.at.Sub(began).Round(time.Millisecond), first.ExternalURL)
	// Long enough for the other member to wait its turn (peer timeout) and
	// flush its group again (group interval).
	time.Sleep(10 * time.Second)
	// Both members hold the sites' alerts (Prometheus posts to each) and
	// the sensors' (their alertmanager sinks post to each too), so the
	// single notice per group above is the cluster's deduplication.
	for _, am := range ams {
		if n := fleetAlerts(t, am.addr, "Monitor443SYNFlood"); n != len(sensors) {
			t.Errorf("%s holds %d Monitor443SYNFlood alerts, want %d", am.name, n, len(sensors))
		}
		if n := fleetAlerts(t, am.addr, "SynFlood"); n == 0 {
			t.Errorf("%s holds no SynFlood alert from the sensors: the sinks must post to every member", am.name)
		}
	}
	// Kill the member that notified, in the middle of the incident: the
	// other must neither repeat the firing notice nor miss the resolve.
	for _, am := range ams {
		if "http://"+am.addr == first.ExternalURL {
			t.Logf("killing %s", am.name)
			am.kill()
		}
	}
	if msg := fleetEventually(90*time.Second, func() string {
		groups, resolved := map[string]bool{}, map[string]bool{}
		for _, n := range hook.synFlood() {
			groups[n.GroupKey] = true
			if n.Status == "resolved" {
				resolved[n.GroupKey] = true
			}
		}
		if len(groups) < 1+len(sensors) || len(resolved) < len(groups) {
			return fmt.Sprintf("%d SYN flood groups notified, %d resolved", len(groups), len(resolved))
		}
		return ""
	}); msg != "" {
		t.Error(msg)
	}
	time.Sleep(10 * time.Second) // for a duplicate to show
	ns := hook.synFlood()
	seen := map[string]bool{}
	hook.mu.Lock()
	all := append([]fleetNotification(nil), hook.got...)
	hook.mu.Unlock()
	t.Logf("all notifications:%s", fleetDescribe(all))
	for _, n := range all {
		if seen[n.content()] {
			t.Errorf("notification sent twice: %s", n.content())
		}
		seen[n.content()] = true
	}
	// The sensors' SynFlood (one group: both sensors send the same labels)
	// and the sites' Monitor443SYNFlood (one group per sensor: the route
	// groups by instance) each notify once when firing and once resolved.
	perGroup := map[string][2]int{}
	for _, n := range ns {
		c := perGroup[n.GroupKey]
		switch n.Status {
		case "firing":
			c[0]++
		case "resolved":
			c[1]++
		}
		perGroup[n.GroupKey] = c
	}
	if len(perGroup) != 1+len(sensors) {
		t.Errorf("%d SYN flood alert groups, want %d", len(perGroup), 1+len(sensors))
	}
	for g, c := range perGroup {
		if c != [2]int{1, 1} {
			t.Errorf("group %s: %d firing and %d resolved notifications, want one of each", g, c[0], c[1])
		}
	}

	// The global server holds every site's series, with the site label.
	for _, s := range sensors {
		waitFleetReplay(t, s)
	}
	for _, series := range []string{"monitor443_capture_frames_total", "monitor443_tcp_syn_total", "monitor443_tcp_handshakes_completed_total"} {
		var want float64
		wantBySite := map[string]float64{}
		for i, s := range sensors {
			v := fleetScrape(t, s, series)
			want += v
			wantBySite[sites[i]] = v
		}
		if msg := fleetEventually(30*time.Second, func() string {
			for site, w := range wantBySite {
				got, n := fleetSum(t, globalProm.addr, fmt.Sprintf("%s{site=%q}", series, site))
				if n != 1 || got != w {
					return fmt.Sprintf("global %s{site=%q}: %d series summing to %v, the sensor counted %v", series, site, n, got, w)
				}
			}
			if got, _ := fleetSum(t, globalProm.addr, "sum("+series+")"); got != want || want == 0 {
				return fmt.Sprintf("global sum(%s) = %v, the sensors counted %v", series, got, want)
			}
			return ""
		}); msg != "" {
			t.Error(msg)
		}
	}
	// Every recorded series of every site, as many per site as the site has.
	for _, name := range fleetRecorded(t) {
		if msg := fleetEventually(90*time.Second, func() string {
			for _, site := range siteProms {
				_, n := fleetSum(t, site.addr, fmt.Sprintf("{__name__=%q}", name))
				if n == 0 && (strings.HasPrefix(name, "instance_direction:") || strings.HasPrefix(name, "job_direction:")) {
					return fmt.Sprintf("%s: no %s yet", site.name, name)
				}
				_, g := fleetSum(t, globalProm.addr, fmt.Sprintf("{__name__=%q, site=%q}", name, site.name))
				if g != n {
					return fmt.Sprintf("%s: %s has %d series, the global server %d", site.name, name, n, g)
				}
			}
			return ""
		}); msg != "" {
			t.Error(msg)
		}
	}
	// Fleet-wide sums: the global rules and a sum over the federated
	// per-sensor recordings equal the sum of the sites' own recordings.
	const perSensor = "instance_direction:monitor443_capture_bytes:rate5m"
	for _, direction := range []string{"in", "out"} {
		if msg := fleetEventually(20*time.Second, func() string {
			var want float64
			for _, site := range siteProms {
				v, n := fleetSum(t, site.addr, fmt.Sprintf("%s{direction=%q}", perSensor, direction))
				if n != 1 {
					return fmt.Sprintf("%s: %d series of %s", site.name, n, perSensor)
				}
				want += v
				if got, _ := fleetSum(t, globalProm.addr, fmt.Sprintf("site_direction:monitor443_capture_bytes:rate5m{site=%q, direction=%q}", site.name, direction)); !fleetNear(got, v) {
					return fmt.Sprintf("global site_direction for %s %s = %v, the site recorded %v", site.name, direction, got, v)
				}
			}
			for _, q := range []string{
				fmt.Sprintf("sum(%s{direction=%q})", perSensor, direction),
				fmt.Sprintf("job_direction:monitor443_capture_bytes:rate5m{site=\"\", direction=%q}", direction),
			} {
				if got, n := fleetSum(t, globalProm.addr, q); n != 1 || !fleetNear(got, want) || want == 0 {
					return fmt.Sprintf("global %s = %v (%d series), the sites recorded %v together", q, got, n, want)
				}
			}
			return ""
		}); msg != "" {
			t.Error(msg)
		}
	}

	// Every dashboard panel has data on the global server with the
	// instance variable set to all sensors.
	// As Grafana writes a multi-value variable: regular expressions quoted,
	// then escaped for the PromQL string.
	instances := strings.ReplaceAll(regexp.QuoteMeta(sensors[0])+"|"+regexp.QuoteMeta(sensors[1]), `\`, `\\`)
	vars := map[string]string{"instance": instances, "server": ".*", "__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
	var checked int
	for _, bd := range dashboards.All() {
		for _, q := range dashboards.Queries(bd) {
			expr := q.Expand(vars)
			got, err := fleetRange(globalProm.addr, expr, began)
			switch {
			case err != nil:
				t.Errorf("%s / %s: %v", bd.Title, q.Panel, err)
			case len(got) == 0:
				t.Errorf("%s / %s: no data on the global server for %s", bd.Title, q.Panel, expr)
			case strings.Contains(expr, "by (instance"):
				seen := map[string]bool{}
				for _, m := range got {
					seen[m["instance"]] = true
				}
				for _, s := range sensors {
					if !seen[s] {
						t.Errorf("%s / %s: no series of sensor %s in %s", bd.Title, q.Panel, s, expr)
					}
				}
			}
			checked++
		}
	}
	t.Logf("%d panel queries returned data from the global server", checked)
}

func fleetNear(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// fleetRecorded lists the recording rules of the shipped rule file.
func fleetRecorded(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(fleetRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out = append(out, r.Record)
			}
		}
	}
	return out
}

// waitFleetReplay polls a sensor's /api/v1/status until its replay ended.
func waitFleetReplay(t *testing.T, addr string) {
	t.Helper()
	if msg := fleetEventually(2*fleetCaptureLen, func() string {
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var st status
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return err.Error()
		}
		if st.Running || st.Frames == 0 {
			return "replay of " + addr + " still running"
		}
		return ""
	}); msg != "" {
		t.Fatal(msg)
	}
}

// fleetScrape reads one unlabelled series from a sensor's /metrics.
func fleetScrape(t *testing.T, addr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	t.Fatalf("series %s not in the /metrics of %s", series, addr)
	return 0
}

// fleetAlerts returns how many alerts named name an Alertmanager holds.
func fleetAlerts(t *testing.T, addr, name string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v2/alerts?filter=" + url.QueryEscape("alertname="+name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var as []any
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
		t.Fatal(err)
	}
	return len(as)
}
