package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
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
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b[24+rng.IntN(len(b)-24)] = byte(rng.Uint32())
	}
	damaged := filepath.Join(t.TempDir(), "damaged.pcap")
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
	if st.Frames < 7100 { // of 7,144; the reader stopped at the fifth before
		t.Errorf("%d frames read, want nearly all 7144", st.Frames)
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
