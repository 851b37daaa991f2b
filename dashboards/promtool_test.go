package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueriesParseWithPromtool parses every query with Prometheus' own
// PromQL parser: the expanded queries become recording rules that
// `promtool check rules` must accept. It skips when promtool is not
// installed.
func TestQueriesParseWithPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH; install Prometheus to parse the dashboard queries")
	}
	vars := map[string]string{
		"instance": ".+", "server": ".+",
		"__rate_interval": "1m", "__interval": "1m", "__range": "1h",
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	qs := allQueries()
	for i, q := range qs {
		expr := q.Expand(vars)
		if strings.Contains(expr, "$") {
			t.Errorf("%s / %s: unexpanded variable in %s", q.Board, q.Panel, expr)
		}
		quoted, err := json.Marshal(expr) // a JSON string is a YAML string
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %s\n", i, quoted)
	}
	path := filepath.Join(t.TempDir(), "queries.rules.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(qs)); !strings.Contains(string(out), want) {
		t.Errorf("promtool output does not say %q:\n%s", want, out)
	}
}
