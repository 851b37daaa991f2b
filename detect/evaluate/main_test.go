package evaluate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/monitor443/monitor443/capture/synth"
	"github.com/monitor443/monitor443/detect"
)

// writeFiles writes a synth truth with a SYN flood at 01:00 and a backup at
// 02:00, and an alerts file with alerts at the given offsets from the
// flood's start (syn_flood, one group each).
func writeFiles(t *testing.T, dir, name string, offsets ...time.Duration) (truthPath, alertsPath string) {
	t.Helper()
	tr := synth.Truth{Seed: 1, Start: t0, End: t0.Add(24 * time.Hour), Events: []synth.TruthEvent{
		{Kind: synth.SYNFlood, Start: t0.Add(time.Hour), End: t0.Add(time.Hour + 2*time.Minute), Rate: 61, RateUnit: "syn/s"},
		{Kind: synth.NightlyBackup, Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 20*time.Minute), Rate: 4e5, RateUnit: "bytes/s"},
	}}
	var b bytes.Buffer
	if err := tr.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	truthPath = filepath.Join(dir, name+".truth.json")
	if err := os.WriteFile(truthPath, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var as []detect.Anomaly
	for i, off := range offsets {
		as = append(as, anomaly(detect.KindSYNFlood, "g"+string(rune('a'+i)), "global", "", t0.Add(time.Hour+off)))
	}
	alertsPath = filepath.Join(dir, name+".alerts.jsonl")
	if err := os.WriteFile(alertsPath, jsonLines(t, as...), 0o600); err != nil {
		t.Fatal(err)
	}
	return truthPath, alertsPath
}

// TestMainRoundTrip scores two runs in separate invocations, writes JSON
// and Markdown, and merges the JSON reports.
func TestMainRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr1, al1 := writeFiles(t, dir, "seed1", time.Second, 5*time.Hour)        // detected; one false episode
	tr2, al2 := writeFiles(t, dir, "seed2", -10*time.Second, 40*time.Minute) // both false
	j1, j2, md := filepath.Join(dir, "r1.json"), filepath.Join(dir, "r2.json"), filepath.Join(dir, "r1.md")

	var stdout, stderr bytes.Buffer
	if code := Main([]string{"-run", "seed1=" + tr1 + "," + al1, "-json", j1, "-markdown", md}, &stdout, &stderr); code != 0 {
		t.Fatalf("seed1: exit %d: %s", code, &stderr)
	}
	mdb, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Run seed1", "| syn_flood ", "| yes ", "| 1s ", "| nightly_backup ",
		"False episodes: 1 in 1 day (1.00 per day), 1 unlabelled.", "- 06:00:00 syn_flood global: syn_flood at global; unlabelled"} {
		if !strings.Contains(string(mdb), want) {
			t.Errorf("markdown lacks %q:\n%s", want, mdb)
		}
	}

	stdout.Reset()
	stderr.Reset()
	code := Main([]string{"-truth", tr2, "-alerts", al2, "-name", "seed2", "-json", j2, "-targets"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("seed2 with -targets: exit %d, want 1", code)
	}
	for _, want := range []string{"targets missed:", "seed2: syn_flood (syn_flood at 01:00): not detected",
		"2 false episodes in 1 day: 2.00 per day, target at most 1"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, &stderr)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout with -json FILE: %q", &stdout)
	}

	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"-merge", "-json", "-", j1, j2}, &stdout, &stderr); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, &stderr)
	}
	rep, err := ReadReport(&stdout)
	if err != nil {
		t.Fatal(err)
	}
	wantTotals := RunTotals{Attacks: 2, Detected: 1, FalseEpisodes: 3, Unlabelled: 3, Days: 2, FalsePerDay: 1.5}
	if diff := cmp.Diff(wantTotals, rep.Summary.Totals); diff != "" {
		t.Errorf("merged totals (-want +got):\n%s", diff)
	}
	if got := []string{rep.Runs[0].Name, rep.Runs[0].Truth, rep.Runs[1].Name, rep.Runs[1].Alerts}; !cmp.Equal(got,
		[]string{"seed1", "seed1.truth.json", "seed2", "seed2.alerts.jsonl"}) {
		t.Errorf("runs = %q", got)
	}

	stdout.Reset()
	if code := Main([]string{"-merge", j1, j2}, &stdout, &stderr); code != 0 {
		t.Fatalf("merge markdown: exit %d: %s", code, &stderr)
	}
	for _, want := range []string{"### Summary of 2 runs", "| seed1 ", "| **all** ", "| syn_flood ", "| 50%"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("merged markdown lacks %q:\n%s", want, &stdout)
		}
	}

	stdout.Reset()
	if code := Main([]string{"-merge", "-markdown.summary", j1, j2}, &stdout, &stderr); code != 0 {
		t.Fatalf("merge summary: exit %d: %s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "### Summary of 2 runs") || strings.Contains(stdout.String(), "### Run seed1") {
		t.Errorf("-markdown.summary wrote more or less than the summary:\n%s", &stdout)
	}
}

func TestMainErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr, al := writeFiles(t, dir, "ok", time.Second)
	bad := filepath.Join(dir, "bad.alerts.jsonl")
	if err := os.WriteFile(bad, []byte(`{"kind":"syn_flood","state":"firing","start":"2026-01-06T01:00:00Z"}`+"\n{oops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badTruth := filepath.Join(dir, "bad.truth.json")
	if err := os.WriteFile(badTruth, []byte(`{"events":[{"kind":"x","class":"attack","start":"2026-01-06T01:00:00Z","end":"2026-01-06T01:01:00Z"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{name: "help", args: []string{"-help"}, code: 0, want: []string{"Usage:", "Example:", "-run NAME=TRUTH,ALERTS", "-targets.max-false-per-day"}},
		{name: "nothing to do", args: nil, code: 2, want: []string{"no run: give -truth FILE -alerts FILE"}},
		{name: "every usage problem", args: []string{"-truth", tr, "-run", "x=" + tr, "-grace", "-1s", "-json", "-", "-markdown", "-", "extra"}, code: 2,
			want: []string{`-run "x=` + tr + `": want NAME=TRUTH,ALERTS`, "-truth and -alerts come in pairs: got 1 -truth and 0 -alerts",
				`unexpected arguments ["extra"] (report files need -merge)`, "-grace: must be >= 0", "-json and -markdown cannot both write to stdout"}},
		{name: "bad alerts line", args: []string{"-truth", tr, "-alerts", bad}, code: 2, want: []string{"bad.alerts.jsonl: line 2: invalid character"}},
		{name: "every input problem", args: []string{"-run", "a=" + badTruth + "," + filepath.Join(dir, "missing.jsonl"), "-truth", tr, "-alerts", bad}, code: 2,
			want: []string{"bad.truth.json: start and end: required", `bad.truth.json: events[0].detectors: an attack of kind "x" needs`,
				"missing.jsonl: no such file", "bad.alerts.jsonl: line 2"}},
		{name: "bad report", args: []string{"-merge", al}, code: 2, want: []string{"ok.alerts.jsonl: decode report"}},
		{name: "too many names", args: []string{"-truth", tr, "-alerts", al, "-name", "a", "-name", "b"}, code: 2, want: []string{"-name: 2 names for 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := Main(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, &stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, &stderr)
				}
			}
		})
	}
}
