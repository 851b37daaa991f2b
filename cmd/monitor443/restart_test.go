package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monitor443/monitor443/detect"
)

// TestRestartContinuesFromCheckpoint replays twelve minutes of steady
// traffic (longer than the default ten-minute learning period), stops, and
// replays the next three minutes, which hold a SYN flood, in a new process
// with the same state directory: the flood must be found, since the
// baselines come back from the checkpoint, and the alert says it was judged
// against the learned rate. The same second file replayed with an empty
// state directory is still learning after three minutes: it finds the
// flood too (no blind start), but judged against the prior for an
// unlearned network, which shows the checkpoint is what made the
// difference; and both files in one run (-r A -r B) must continue the same
// state.
func TestRestartContinuesFromCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	for _, args := range [][]string{
		{"synth", "-no-events", "-rate", "10", "-diurnal", "off", "-seed", "1", "-start", "2026-01-05T00:00:00Z", "-duration", "12m", "-o", a},
		{"synth", "-no-events", "-rate", "10", "-diurnal", "off", "-seed", "2", "-start", "2026-01-05T00:12:00Z", "-duration", "3m",
			"-event", "syn_flood@60s+20s:200", "-o", b},
	} {
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("synth: exit %d: %s", code, stderr)
		}
	}
	// replay runs monitor443 over files with a config naming stateDir (none
	// when empty) and returns the global syn_flood firing events and the log.
	replay := func(name, stateDir string, files ...string) ([]detect.Anomaly, string) {
		t.Helper()
		cfg := filepath.Join(dir, name+".yml")
		y := "detection:\n  state_dir: " + stateDir + "\n"
		if stateDir == "" {
			y = "{}\n"
		}
		if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name+".jsonl")
		args := []string{"-config.file", cfg, "-output.alerts", out}
		for _, f := range files {
			args = append(args, "-r", f)
		}
		code, _, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		data, _ := os.ReadFile(out)
		var floods []detect.Anomaly
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l == "" {
				continue
			}
			var an detect.Anomaly
			if err := json.Unmarshal([]byte(l), &an); err != nil {
				t.Fatalf("%s: %v in %q", name, err, l)
			}
			if an.Kind == detect.KindSYNFlood && an.Scope == detect.ScopeGlobal && an.State == detect.StateFiring {
				floods = append(floods, an)
			}
		}
		return floods, stderr
	}
	state := filepath.Join(dir, "state")
	if f, _ := replay("first", state, a); len(f) != 0 {
		t.Errorf("first run alerted: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(state, detect.CheckpointFile)); err != nil {
		t.Fatalf("no checkpoint after the first run: %v", err)
	}
	f, log := replay("restarted", state, b)
	if !strings.Contains(log, "baselines restored") {
		t.Errorf("restart did not log the restore: %s", log)
	}
	if len(f) != 1 || f[0].Start.Format("15:04") != "00:13" || !strings.Contains(f[0].Detail, "the learned rate") {
		t.Errorf("restarted run: global syn_flood alerts %+v, want one at 00:13 judged against the learned rate", f)
	}
	if f, _ := replay("fresh", filepath.Join(dir, "empty"), b); len(f) != 1 || !strings.Contains(f[0].Detail, "the prior") {
		t.Errorf("fresh run (learning): global syn_flood alerts %+v, want one judged against the prior", f)
	}
	if f, _ := replay("both", "", a, b); len(f) != 1 {
		t.Errorf("-r A -r B: global syn_flood alerts %+v, want one", f)
	}
}
