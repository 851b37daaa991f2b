package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana-tools/sdk"
)

// Paths relative to this package's directory.
const (
	generatedDir = "../deploy/grafana"
	contractPath = "../docs/metrics-contract.md"
	rulesDir     = "../deploy/prometheus/rules"
)

func TestGeneratedFilesUpToDate(t *testing.T) {
	t.Parallel()
	want := map[string]bool{}
	for _, b := range All() {
		name := FileName(b)
		want[name] = true
		got, err := os.ReadFile(filepath.Join(generatedDir, name))
		if err != nil {
			t.Fatalf("read generated board (run go generate ./dashboards): %v", err)
		}
		wantData, err := Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantData) {
			t.Errorf("%s is stale: run go generate ./dashboards", name)
		}
	}
	entries, err := os.ReadDir(generatedDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), uidPrefix) && strings.HasSuffix(e.Name(), ".json") && !want[e.Name()] {
			t.Errorf("%s in %s is not produced by All(); delete it", e.Name(), generatedDir)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "grafana")
	if err := WriteJSON(dir); err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"monitor443-detection.json", "monitor443-overview.json", "monitor443-sensor-health.json", "monitor443-tls.json"}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// The files must load back as Grafana boards.
		var b sdk.Board
		if err := json.Unmarshal(data, &b); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b.UID+".json" != name {
			t.Errorf("%s: uid %q does not match the file name", name, b.UID)
		}
		if len(b.Panels) == 0 {
			t.Errorf("%s: no panels", name)
		}
		if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.Contains(data, []byte("\n  \"panels\": [")) {
			t.Errorf("%s: not indented JSON with a final newline", name)
		}
	}
}

func TestMarshalDeterministic(t *testing.T) {
	t.Parallel()
	a, b := All(), All()
	for i := range a {
		da, err := Marshal(a[i])
		if err != nil {
			t.Fatal(err)
		}
		db, err := Marshal(b[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("board %s: two builds marshal differently", a[i].UID)
		}
		if bytes.Contains(da, []byte(`"id": 0,`)) || a[i].ID != 0 {
			t.Errorf("board %s: has a numeric id; Grafana must match boards by uid", a[i].UID)
		}
	}
}

func TestBoardsLayout(t *testing.T) {
	t.Parallel()
	uids := map[string]bool{}
	for _, b := range All() {
		if !strings.HasPrefix(b.UID, uidPrefix) || len(b.UID) > 40 {
			t.Errorf("uid %q: want prefix %q and at most 40 characters (Grafana's limit)", b.UID, uidPrefix)
		}
		if uids[b.UID] {
			t.Errorf("uid %q used twice", b.UID)
		}
		uids[b.UID] = true
		ids := map[uint]bool{}
		type cell struct{ x, y int }
		occupied := map[cell]string{}
		for _, p := range b.Panels {
			if p.ID == 0 || ids[p.ID] {
				t.Errorf("%s: panel %q has id %d, zero or used twice", b.UID, p.Title, p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.X == nil || g.Y == nil || g.W == nil || g.H == nil {
				t.Errorf("%s: panel %q has no full grid position", b.UID, p.Title)
				continue
			}
			if *g.X < 0 || *g.W <= 0 || *g.X+*g.W > 24 || *g.H <= 0 {
				t.Errorf("%s: panel %q is outside the 24-column grid: x=%d w=%d", b.UID, p.Title, *g.X, *g.W)
			}
			for x := *g.X; x < *g.X+*g.W; x++ {
				for y := *g.Y; y < *g.Y+*g.H; y++ {
					if other, ok := occupied[cell{x, y}]; ok {
						t.Errorf("%s: panels %q and %q overlap at (%d,%d)", b.UID, other, p.Title, x, y)
					}
					occupied[cell{x, y}] = p.Title
				}
			}
		}
	}
}

func TestPanelsHaveDatasourceAndTitle(t *testing.T) {
	t.Parallel()
	want := map[string]string{"type": "prometheus", "uid": "${datasource}"}
	for _, b := range All() {
		titles := map[string]bool{}
		for _, p := range b.Panels {
			if strings.TrimSpace(p.Title) == "" {
				t.Errorf("%s: panel %d has no title", b.UID, p.ID)
			}
			if titles[p.Title] {
				t.Errorf("%s: title %q used twice", b.UID, p.Title)
			}
			titles[p.Title] = true
			if p.OfType == sdk.RowType {
				continue
			}
			if diff := cmp.Diff(any(want), p.Datasource); diff != "" {
				t.Errorf("%s: panel %q datasource (-want +got):\n%s", b.UID, p.Title, diff)
			}
			ts := panelTargets(p)
			if len(ts) == 0 {
				t.Errorf("%s: panel %q has no queries", b.UID, p.Title)
			}
			for _, tg := range ts {
				if diff := cmp.Diff(any(want), tg.Datasource); diff != "" {
					t.Errorf("%s: panel %q target %s datasource (-want +got):\n%s", b.UID, p.Title, tg.RefID, diff)
				}
				if tg.RefID == "" || tg.Expr == "" {
					t.Errorf("%s: panel %q has a target without refId or expr", b.UID, p.Title)
				}
			}
		}
	}
}

func TestTemplateVariables(t *testing.T) {
	t.Parallel()
	for _, b := range All() {
		vars := map[string]sdk.TemplateVar{}
		for _, v := range b.Templating.List {
			vars[v.Name] = v
		}
		ds, ok := vars["datasource"]
		if !ok || ds.Type != "datasource" || ds.Query != "prometheus" {
			t.Errorf("%s: datasource variable = %+v, want type datasource, query prometheus", b.UID, ds)
		}
		inst, ok := vars["instance"]
		if !ok || inst.Type != "query" || inst.Query != "label_values(monitor443_build_info, instance)" || !inst.Multi || !inst.IncludeAll {
			t.Errorf("%s: instance variable = %+v, want a multi-value query over monitor443_build_info with All", b.UID, inst)
		}
		srv, ok := vars["server"]
		q, _ := srv.Query.(string)
		if !ok || srv.Type != "query" || !strings.HasPrefix(q, "label_values(monitor443_server_bytes_total") || !strings.HasSuffix(q, ", server)") {
			t.Errorf("%s: server variable = %+v, want label_values over monitor443_server_bytes_total", b.UID, srv)
		}
	}
}

// contract is what docs/metrics-contract.md says about each metric.
type contract struct {
	labels     map[string]map[string]bool // metric name -> label names
	histograms map[string]bool
}

var (
	metricRE   = regexp.MustCompile(`monitor443_[a-z0-9_]+`)
	selectorRE = regexp.MustCompile(`(monitor443_[a-z0-9_]+)(\{[^}]*\})?`)
	byRE       = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matcherRE  = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
)

func readContract(t *testing.T) contract {
	t.Helper()
	data, err := os.ReadFile(contractPath)
	if err != nil {
		t.Fatalf("read metric contract: %v", err)
	}
	c := contract{labels: map[string]map[string]bool{}, histograms: map[string]bool{}}
	for line := range strings.SplitSeq(string(data), "\n") {
		for _, m := range selectorRE.FindAllStringSubmatch(line, -1) {
			name := m[1]
			if c.labels[name] == nil {
				c.labels[name] = map[string]bool{}
			}
			if strings.Contains(line, "histogram") {
				c.histograms[name] = true
			}
			if m[2] == "" {
				continue
			}
			for part := range strings.SplitSeq(strings.Trim(m[2], "{}"), ",") {
				label, _, _ := strings.Cut(part, "=")
				if label = strings.TrimSpace(label); label != "" {
					c.labels[name][label] = true
				}
			}
		}
	}
	if len(c.labels) < 40 {
		t.Fatalf("read only %d metric names from %s; did its format change?", len(c.labels), contractPath)
	}
	return c
}

// resolve returns the contract name of a metric as used in a query
// (histogram series drop their _bucket, _sum or _count suffix) and its
// labels; ok is false when the contract does not list it.
func (c contract) resolve(name string) (base string, labels map[string]bool, ok bool) {
	if l, ok := c.labels[name]; ok {
		return name, l, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base := strings.TrimSuffix(name, suffix)
		if base != name && c.histograms[base] {
			labels := map[string]bool{}
			for k := range c.labels[base] {
				labels[k] = true
			}
			if suffix == "_bucket" {
				labels["le"] = true
			}
			return base, labels, true
		}
	}
	return "", nil, false
}

func allQueries() []Query {
	var qs []Query
	for _, b := range All() {
		qs = append(qs, Queries(b)...)
	}
	return qs
}

func TestQueriesUseContractMetrics(t *testing.T) {
	t.Parallel()
	c := readContract(t)
	for _, q := range allQueries() {
		names := metricRE.FindAllString(q.Expr, -1)
		if len(names) == 0 {
			t.Errorf("%s / %s: query uses no monitor443 metric: %s", q.Board, q.Panel, q.Expr)
		}
		for _, name := range names {
			if _, _, ok := c.resolve(name); !ok {
				t.Errorf("%s / %s: metric %s is not in %s", q.Board, q.Panel, name, contractPath)
			}
		}
	}
}

func TestQueriesSelectInstance(t *testing.T) {
	t.Parallel()
	for _, q := range allQueries() {
		for _, m := range selectorRE.FindAllStringSubmatch(q.Expr, -1) {
			if !strings.HasPrefix(m[2], `{instance=~"$instance"`) {
				t.Errorf("%s / %s: selector %s does not start with {instance=~\"$instance\"", q.Board, q.Panel, m[0])
			}
		}
	}
}

func TestQueriesUseContractLabels(t *testing.T) {
	t.Parallel()
	c := readContract(t)
	targetLabels := map[string]bool{"instance": true, "job": true}
	for _, q := range allQueries() {
		union := map[string]bool{}
		for _, m := range selectorRE.FindAllStringSubmatch(q.Expr, -1) {
			_, labels, ok := c.resolve(m[1])
			if !ok {
				continue // reported by TestQueriesUseContractMetrics
			}
			for l := range labels {
				union[l] = true
			}
			for part := range strings.SplitSeq(strings.Trim(m[2], "{}"), ",") {
				mm := matcherRE.FindStringSubmatch(part)
				if mm == nil {
					t.Errorf("%s / %s: cannot read matcher %q", q.Board, q.Panel, part)
					continue
				}
				if !labels[mm[1]] && !targetLabels[mm[1]] {
					t.Errorf("%s / %s: %s has no label %q in the contract", q.Board, q.Panel, m[1], mm[1])
				}
			}
		}
		for _, m := range byRE.FindAllStringSubmatch(q.Expr, -1) {
			for l := range strings.SplitSeq(m[1], ",") {
				l = strings.TrimSpace(l)
				if !union[l] && !targetLabels[l] {
					t.Errorf("%s / %s: grouping label %q is on none of the query's metrics", q.Board, q.Panel, l)
				}
			}
		}
	}
}

func TestQueriesBalanced(t *testing.T) {
	t.Parallel()
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, q := range allQueries() {
		var stack []rune
		inString := false
		ok := true
		for _, r := range q.Expr {
			switch {
			case r == '"':
				inString = !inString
			case inString:
			case r == '(' || r == '[' || r == '{':
				stack = append(stack, r)
			case pairs[r] != 0:
				if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
					ok = false
				} else {
					stack = stack[:len(stack)-1]
				}
			}
		}
		if !ok || inString || len(stack) != 0 {
			t.Errorf("%s / %s: unbalanced brackets or quotes: %s", q.Board, q.Panel, q.Expr)
		}
		if strings.Contains(q.Expr, "[$__rate_interval]") && !strings.Contains(q.Expr, "rate(") {
			t.Errorf("%s / %s: range selector outside rate(): %s", q.Board, q.Panel, q.Expr)
		}
	}
}

// TestBoardsCoverBrief checks that each board shows the metrics it exists
// for.
func TestBoardsCoverBrief(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"monitor443-overview": {
			"monitor443_capture_bytes_total", "monitor443_capture_packets_total", "monitor443_tcp_connections_total",
			"monitor443_tcp_handshakes_completed_total", "monitor443_tcp_syn_total", "monitor443_tcp_synack_total",
			"monitor443_detect_alerts_active", "monitor443_detect_alerts_total", "monitor443_server_bytes_total",
		},
		"monitor443-tls": {
			"monitor443_tls_client_hellos_total", "monitor443_tls_handshakes_total", "monitor443_tls_client_hello_alpn_total",
			"monitor443_tls_ech_total", "monitor443_tls_non_tls_connections_total", "monitor443_tls_top_sni_connections_total",
		},
		"monitor443-detection": {
			"monitor443_detect_value", "monitor443_detect_expected", "monitor443_detect_band_lower",
			"monitor443_detect_band_upper", "monitor443_detect_score",
		},
		"monitor443-sensor-health": {
			"monitor443_capture_decode_failures_total", "monitor443_capture_kernel_drops_total",
			"monitor443_capture_internal_drops_total", "monitor443_capture_lag_seconds", "monitor443_flow_active",
			"monitor443_flow_ended_total", "monitor443_flow_reassembly_buffers", "monitor443_flow_reassembly_exhausted_total",
			"monitor443_alerting_queue_length", "monitor443_alerting_spool_entries", "monitor443_alerting_notifications_sent_total", "monitor443_alerting_notification_retries_total",
		},
	}
	var uids []string
	for _, b := range All() {
		uids = append(uids, b.UID)
		used := map[string]bool{}
		for _, q := range Queries(b) {
			for _, n := range metricRE.FindAllString(q.Expr, -1) {
				used[n] = true
			}
		}
		for _, n := range want[b.UID] {
			if !used[n] {
				t.Errorf("%s: no query uses %s", b.UID, n)
			}
		}
	}
	wantUIDs := []string{"monitor443-overview", "monitor443-tls", "monitor443-detection", "monitor443-sensor-health"}
	if diff := cmp.Diff(wantUIDs, uids); diff != "" {
		t.Errorf("boards (-want +got):\n%s", diff)
	}
	// Every detector gets its own value/band panel.
	var detection *sdk.Board
	for _, b := range All() {
		if b.UID == "monitor443-detection" {
			detection = b
		}
	}
	for _, d := range []string{"bandwidth_spike", "request_burst", "syn_flood"} {
		found := false
		for _, q := range Queries(detection) {
			if strings.Contains(q.Expr, `monitor443_detect_band_upper{instance=~"$instance", detector="`+d+`"}`) {
				found = true
			}
		}
		if !found {
			t.Errorf("detection board has no band for detector %s", d)
		}
	}
}

func TestQueriesListsAnnotations(t *testing.T) {
	t.Parallel()
	qs := Queries(Overview())
	i := slices.IndexFunc(qs, func(q Query) bool { return q.Panel == "annotation: Alerts" })
	if i < 0 {
		t.Fatal("Queries(Overview()) has no annotation query")
	}
	if !strings.Contains(qs[i].Expr, "monitor443_detect_alerts_total") {
		t.Errorf("annotation query %q does not use monitor443_detect_alerts_total", qs[i].Expr)
	}
	// Queries must return every target: count targets in the JSON
	// independently of panelTargets.
	data, err := Marshal(Overview())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(qs)-1, bytes.Count(data, []byte(`"refId": "`)); got != want {
		t.Errorf("Queries returned %d panel queries, the JSON has %d targets", got, want)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	q := Query{Expr: `sum(rate(m{instance=~"$instance", server=~"${server}"}[$__rate_interval])) + increase(m[$__range]) + changes(m[$__interval])`}
	got := q.Expand(map[string]string{
		"instance": ".+", "server": "web", "__rate_interval": "2m", "__range": "1h", "__interval": "30s",
	})
	want := `sum(rate(m{instance=~".+", server=~"web"}[2m])) + increase(m[1h]) + changes(m[30s])`
	if got != want {
		t.Errorf("Expand:\n got %s\nwant %s", got, want)
	}
}

// TestRuleMetricsInContract checks the metric names in deploy/prometheus
// rules against the contract, as the dashboards are checked. Recording rule
// names (level:metric:operation) are not metric names and are skipped.
func TestRuleMetricsInContract(t *testing.T) {
	t.Parallel()
	c := readContract(t)
	files, err := filepath.Glob(filepath.Join(rulesDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no rule files in %s", rulesDir)
	}
	recording := regexp.MustCompile(`[a-zA-Z_]*:[a-zA-Z0-9_:]+`)
	var unknown []string
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yml") {
			continue // test input series may use any name
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := recording.ReplaceAllString(string(data), "")
		for _, name := range metricRE.FindAllString(text, -1) {
			if _, _, ok := c.resolve(name); !ok && !slices.Contains(unknown, name) {
				unknown = append(unknown, name)
			}
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("rules use metrics not in %s: %v", contractPath, unknown)
	}
}
