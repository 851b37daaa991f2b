package alerting

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Environment of the helper process started by TestSpoolSurvivesSIGKILL.
const (
	envHelper   = "MONITOR443_ALERTING_HELPER"
	envSpoolDir = "MONITOR443_ALERTING_SPOOL"
	envHookURL  = "MONITOR443_ALERTING_HOOK"
)

// helperSequence is what the first helper process observes.
var helperSequence = []struct {
	kind, target string
	state        State
}{
	{"syn_flood", "203.0.113.1:443", StateFiring},
	{"bandwidth_spike", "203.0.113.2:443", StateFiring},
	{"syn_flood", "203.0.113.1:443", StateResolved},
	{"deprecated_tls", "203.0.113.3:443", StateFiring},
	{"bandwidth_spike", "203.0.113.2:443", StateResolved},
	{"deprecated_tls", "203.0.113.3:443", StateResolved},
}

// TestHelperProcess is not a test: TestSpoolSurvivesSIGKILL runs the test
// binary again with envHelper set, and this function then acts as a
// monitor443 alerting process. With envHelper=produce it observes
// helperSequence, prints "SPOOLED" and keeps retrying; with envHelper=deliver
// it only delivers what the spool holds. It runs until killed.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		t.Skip("helper process for TestSpoolSurvivesSIGKILL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	hook := os.Getenv(envHookURL)
	dir := os.Getenv(envSpoolDir)
	raw := RawConfig{
		Spool: &RawSpoolConfig{Dir: &dir},
		Retry: &RawRetryConfig{InitialBackoff: ptr("20ms"), MaxBackoff: ptr("100ms")},
		Sinks: []RawSinkConfig{{Name: ptr("hook"), Type: ptr("webhook"), URL: &hook, Timeout: ptr("1s")}},
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	m, err := NewManager(cfg, Deps{}, discard, prometheus.NewRegistry())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if mode == "produce" {
		for _, s := range helperSequence {
			if err := m.Observe(testAlert(s.kind, s.target, SeverityCritical, s.state)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
		fmt.Println("SPOOLED")
	}
	_ = m.Run(ctx)
	os.Exit(0)
}

func ptr[T any](v T) *T { return &v }

// startHelper runs the test binary as a helper process and returns it with
// its stdout.
func startHelper(t *testing.T, mode, spoolDir, hookURL string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envSpoolDir+"="+spoolDir, envHookURL+"="+hookURL)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // only the process this test started
			_ = cmd.Wait()
		}
	})
	return cmd, bufio.NewScanner(out)
}

// TestSpoolSurvivesSIGKILL kills a process with -9 in the middle of a
// receiver outage and checks that a new process on the same spool delivers
// every notification, firing before resolved, each ID once or repeated with
// the same payload.
func TestSpoolSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the receiver is down: connection refused
	hookURL := "http://" + addr + "/hook"
	dir := t.TempDir()

	first, out := startHelper(t, "produce", dir, hookURL)
	lines := make(chan string, 1)
	go func() {
		for out.Scan() {
			lines <- out.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "SPOOLED" {
			t.Fatalf("helper printed %q, want SPOOLED", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("helper did not spool in time")
	}
	time.Sleep(200 * time.Millisecond) // let it fail a few deliveries
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	entries, err := filepath.Glob(filepath.Join(dir, "hook", "*.entry"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(helperSequence) {
		t.Fatalf("spool holds %d entries after SIGKILL, want %d", len(entries), len(helperSequence))
	}

	// The receiver comes back on the same port.
	rcv := &receiver{}
	srv := httptest.NewUnstartedServer(rcv)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen again on %s: %v", addr, err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	second, _ := startHelper(t, "deliver", dir, hookURL)
	waitFor(t, "all notifications after restart", func() bool {
		ids := map[string]bool{}
		for _, q := range rcv.delivered() {
			ids[q.Payload.ID] = true
		}
		return len(ids) == len(helperSequence)
	})
	waitFor(t, "empty spool", func() bool {
		left, _ := filepath.Glob(filepath.Join(dir, "hook", "*.entry"))
		return len(left) == 0
	})
	_ = second.Process.Signal(syscall.SIGTERM)
	_ = second.Wait()

	reqs := rcv.requests()
	assertDelivery(t, reqs, len(helperSequence))
	// First deliveries follow the order of observation.
	var got []string
	seen := map[string]bool{}
	for _, q := range reqs {
		if !seen[q.Payload.ID] {
			seen[q.Payload.ID] = true
			got = append(got, q.Payload.Alert.Kind+"/"+q.Payload.Alert.State.String())
		}
	}
	var want []string
	for _, s := range helperSequence {
		want = append(want, s.kind+"/"+s.state.String())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("delivery order:\n got %v\nwant %v", got, want)
	}
}
