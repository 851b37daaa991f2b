package detect

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckpointRoundTrip(t *testing.T) {
	t.Parallel()
	in := map[string][]byte{"a|b|c|ewma": {1, 2, 3}, "x": {0}, "syn_flood|global||syn": bytes.Repeat([]byte{7}, 300)}
	b := encodeCheckpoint(in)
	out, err := decodeCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !bytes.Equal(b, encodeCheckpoint(out)) {
		t.Error("encoding is not deterministic")
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	t.Parallel()
	good := encodeCheckpoint(map[string][]byte{"k": {1, 2, 3, 4}})
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x40
		if _, err := decodeCheckpoint(bad); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("byte %d flipped: err = %v, want ErrCheckpoint", i, err)
		}
	}
	for n := range len(good) {
		if _, err := decodeCheckpoint(good[:n]); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("truncated to %d: err = %v, want ErrCheckpoint", n, err)
		}
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add(encodeCheckpoint(map[string][]byte{"k": {1, 2}}))
	f.Add([]byte(ckptMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if !bytes.Equal(encodeCheckpoint(m), b) {
			t.Error("decode/encode not inverse")
		}
	})
}

// TestEngineRestore checks that a restarted engine restores its baselines
// instead of relearning, and that a corrupt file only logs and relearns.
func TestEngineRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{StateDir: dir, Interval: time.Second, Detection: DetectionConfig{NoSeasonal: true, Learning: 3 * time.Second}}
	e := NewEngine(cfg, slog.New(slog.DiscardHandler))
	st := e.stage
	t0 := int64(1e18)
	for i := range int64(10) {
		st.interval(t0+i*int64(time.Second), &Features{SYN: 5, Handshakes: 5, ClientHellos: 5, BytesIn: 1000}, newMerged(0))
	}
	if err := writeFileAtomic(filepath.Join(dir, CheckpointFile), encodeCheckpoint(st.marshal())); err != nil {
		t.Fatal(err)
	}
	e2 := NewEngine(cfg, slog.New(slog.DiscardHandler))
	if len(e2.stage.restore) == 0 {
		t.Fatal("nothing restored")
	}
	// The first interval after the restart already has a ready verdict.
	e2.stage.interval(t0+20*int64(time.Second), &Features{SYN: 5, Handshakes: 5, ClientHellos: 5, BytesIn: 1000}, newMerged(0))
	tr := e2.stage.global[KindRequestBurst]
	if !tr.last.Ready || tr.last.Expected != 5 {
		t.Errorf("restored verdict = %+v, want ready with expected 5", tr.last)
	}
	// Corrupt checkpoint: a warning, then learning from scratch.
	if err := os.WriteFile(filepath.Join(dir, CheckpointFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e3 := NewEngine(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if e3.stage.restore != nil || !bytes.Contains(logs.Bytes(), []byte("relearning")) {
		t.Errorf("corrupt checkpoint: restore = %v, log %q", e3.stage.restore, logs.String())
	}
	// The temporary files of atomic writes never stay behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("state dir holds %d entries, want 1", len(ents))
	}
}
