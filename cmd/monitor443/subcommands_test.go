package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

func TestSynthSubcommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	truth := filepath.Join(dir, "truth.json")
	args := []string{"synth", "-duration", "40s", "-no-events", "-event", "syn_flood@10s+5s:200", "-truth", truth}
	for _, out := range []string{a, b} {
		if code, _, stderr := runCLI(t, append(args, "-o", out)...); code != 0 {
			t.Fatalf("synth exit %d: %s", code, stderr)
		}
	}
	ha, _ := os.ReadFile(a)
	hb, _ := os.ReadFile(b)
	if sha256.Sum256(ha) != sha256.Sum256(hb) || len(ha) == 0 {
		t.Error("the same flags gave different captures")
	}
	f, _ := os.Open(truth)
	tr, err := synth.ReadTruth(f)
	f.Close()
	if err != nil || len(tr.Events) != 1 || tr.Events[0].Kind != synth.SYNFlood {
		t.Fatalf("truth = %+v, %v", tr.Events, err)
	}
	// The capture replays, and the flood's SYNs are counted.
	out := filepath.Join(dir, "alerts.jsonl")
	code, _, stderr := runCLI(t, "-r", a, "-output.alerts", out)
	if code != 0 || !strings.Contains(stderr, "frames read") {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	for _, bad := range [][]string{
		{"synth"}, // no -o
		{"synth", "-o", filepath.Join(dir, "x"), "-event", "syn_flood@soon+5s:1"},
		{"synth", "-o", filepath.Join(dir, "x"), "-preset", "nope"},
	} {
		if code, _, _ := runCLI(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

func TestDashboardsSubcommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "dashboards", "export", dir); code != 0 {
		t.Fatalf("export exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 4 {
		t.Fatalf("exported %d files, want 4", len(files))
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join("../../deploy/grafana", filepath.Base(f)))
		got, _ := os.ReadFile(f)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s differs from the committed deploy/grafana copy", filepath.Base(f))
		}
	}

	var (
		mu    sync.Mutex
		posts int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok123" {
			w.WriteHeader(401)
			io.WriteString(w, `{"message":"unauthorized"}`)
			return
		}
		switch {
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/folders"):
			io.WriteString(w, `[{"id":7,"uid":"m","title":"monitor443"}]`)
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/search"):
			io.WriteString(w, `[{"id":7,"uid":"m","title":"monitor443","type":"dash-folder"}]`)
		case r.Method == "POST" && r.URL.Path == "/api/dashboards/db":
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			if body["overwrite"] != true || body["dashboard"] == nil {
				w.WriteHeader(400)
				return
			}
			mu.Lock()
			posts++
			mu.Unlock()
			io.WriteString(w, `{"status":"success","id":1,"uid":"x","url":"/d/x","version":1}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"message":"not found"}`)
		}
	}))
	defer srv.Close()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("tok123\n"), 0o600)
	if code, _, stderr := runCLI(t, "dashboards", "push", "-grafana.url", srv.URL, "-grafana.token-file", tok); code != 0 {
		t.Fatalf("push exit %d: %s", code, stderr)
	}
	if posts != 4 {
		t.Errorf("Grafana received %d dashboards, want 4", posts)
	}
	os.WriteFile(tok, []byte("wrong"), 0o600)
	if code, _, stderr := runCLI(t, "dashboards", "push", "-grafana.url", srv.URL, "-grafana.token-file", tok); code != 1 || strings.Contains(stderr, "wrong") {
		t.Errorf("bad token: exit %d, %q (want 1, token not echoed)", code, stderr)
	}
	if code, _, _ := runCLI(t, "dashboards", "push"); code != 2 {
		t.Errorf("push without flags: exit %d, want 2", code)
	}
}

// TestSynthInterrupt: an interrupt stops a long generation (three days of
// the small evaluation network) at once, says that the capture is cut
// short, and writes no truth file.
func TestSynthInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.json")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	var o, e bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"synth", "-preset", "eval-small", "-o", filepath.Join(dir, "x.pcap"), "-truth", truth}, nil, &o, &e)
	}()
	select {
	case code := <-done:
		if code != 130 || !strings.Contains(e.String(), "interrupted") {
			t.Errorf("exit %d, stderr %q; want 130 and a word that it was interrupted", code, e.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("synth did not stop within a minute of the interrupt")
	}
	if _, err := os.Stat(truth); err == nil {
		t.Error("a truth file was written for a cut capture")
	}
}
