package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDamagedCaptureReplay replays a copy of the demo capture with 2,000
// bytes overwritten after the file header: the replay reads nearly every frame,
// and the log (once), the run summary, /metrics and /api/v1/status say how
// many damaged records were repaired or skipped.
func TestDamagedCaptureReplay(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(demoCapture)
	if err != nil {
		t.Fatal(err)
	}
	replayDamaged(t, b, "damaged.pcap", 7100) // of 8,419; the reader stopped at the fifth before
}

// TestDamagedPcapngReplay does the same with a pcapng copy of the demo
// capture (made by editcap, which it needs).
func TestDamagedPcapngReplay(t *testing.T) {
	t.Parallel()
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap not installed")
	}
	ng := filepath.Join(t.TempDir(), "demo.pcapng")
	if out, err := exec.Command(editcap, "-F", "pcapng", demoCapture, ng).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, out)
	}
	b, err := os.ReadFile(ng)
	if err != nil {
		t.Fatal(err)
	}
	replayDamaged(t, b, "damaged.pcapng", 8000) // of 8,419; the reader stopped at the first bad block before
}

// replayDamaged replays a copy of capture b with 2,000 bytes after its
// first 24 overwritten, saved under name, and checks that at least
// minFrames frames are read and that the damage is said once in the log
// and in the run summary, /metrics and /api/v1/status.
func replayDamaged(t *testing.T, b []byte, name string, minFrames uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b[24+rng.IntN(len(b)-24)] = byte(rng.Uint32())
	}
	damaged := filepath.Join(t.TempDir(), name)
	os.WriteFile(damaged, b, 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-r", damaged, "-web.listen-address", addr, "-web.linger", "1m", "-log.level", "warn", "-progress", "never"}, nil, io.Discard, &stderr)
	}()
	var st status
	var metrics string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err == nil {
			st = status{}
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.Frames > 0 && !st.Running {
				resp, err := http.Get("http://" + addr + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				m, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				metrics = string(m)
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if st.Frames < minFrames {
		t.Errorf("%d frames read, want at least %d", st.Frames, minFrames)
	}
	if st.FileDamage == nil || st.FileDamage.Repaired == 0 {
		t.Fatalf("status: file damage %+v, want repaired records", st.FileDamage)
	}
	for _, want := range []string{
		"monitor443_capture_file_damaged_records_total{outcome=\"repaired\"} " + itoa(st.FileDamage.Repaired),
		"monitor443_capture_file_damaged_records_total{outcome=\"skipped\"} " + itoa(st.FileDamage.SkippedRecords),
		"monitor443_capture_file_skipped_bytes_total " + itoa(st.FileDamage.SkippedBytes),
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	log := stderr.String()
	if n := strings.Count(log, "capture file damaged"); n != 1 {
		t.Errorf("damage logged %d times, want once:\n%s", n, log)
	}
	if want := "  damaged records    " + itoa(st.FileDamage.Repaired) + " repaired"; !strings.Contains(log, want) {
		t.Errorf("summary lacks %q:\n%s", want, log)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
