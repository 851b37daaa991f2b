package detect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
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
	// The request_burst count test learns an interval once its 20-interval
	// guard has passed, so 30 intervals learn at least the 3 of Learning.
	for i := range int64(30) {
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
	e2.stage.interval(t0+40*int64(time.Second), &Features{SYN: 5, Handshakes: 5, ClientHellos: 5, BytesIn: 1000}, newMerged(0))
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

// TestCheckpointBounded: restarts that each see other servers must not
// make the checkpoint grow without end. Restored states of servers not seen
// since the restart are kept only within the per-server track budget
// (3·MaxServers); a run that sees no server keeps the last ones; states
// this version has no use for are dropped.
func TestCheckpointBounded(t *testing.T) {
	t.Parallel()
	cfg := DetectionConfig{MaxServers: 2, Learning: 3 * time.Second}
	var saved map[string][]byte
	serverTargets := func(m map[string][]byte) map[string]bool {
		out := map[string]bool{}
		for k := range m {
			if p := strings.SplitN(k, "|", 4); len(p) == 4 && p[1] == ScopeServer {
				out[p[0]+"|"+p[2]] = true
			}
		}
		return out
	}
	t0 := int64(1_700_000_000) * sec
	for run := range 5 {
		before := serverTargets(saved)
		st, _ := newTestStage(cfg)
		st.restore = saved
		if run == 0 {
			st.restore = map[string][]byte{"bandwidth_spike|client|max|ewma": {1}, "request_burst|prefix|192.0.2.0/24|ewma": {1}}
		}
		m := newMerged(0)
		if run != 3 { // run 3 sees no server at all
			for i := range 2 {
				a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10*run + i)}), 443)
				m.servers[a] = &serverSnap{addr: a, f: Features{SYN: 5, Handshakes: 5, BytesOut: 1000}}
			}
		}
		for i := range 5 {
			st.interval(t0+int64(run*100+i)*sec, &Features{SYN: 10, Handshakes: 10}, m)
		}
		saved = st.marshal()
		if n := len(serverTargets(saved)); n > 3*cfg.MaxServers {
			t.Errorf("run %d: checkpoint holds %d per-server baselines, budget %d", run, n, 3*cfg.MaxServers)
		}
		if got := serverTargets(saved); run == 3 && (len(before) == 0 || !maps.Equal(got, before)) {
			t.Errorf("run 3 (no servers seen) kept %v, want the restored %v", got, before)
		}
		for _, k := range []string{"bandwidth_spike|client|max|ewma", "request_burst|prefix|192.0.2.0/24|ewma"} {
			if _, ok := saved[k]; ok {
				t.Errorf("run %d: obsolete state %q saved", run, k)
			}
		}
	}
}

// TestCheckpointOldVersion: a well-formed checkpoint of the previous format
// version is rejected with ErrCheckpointVersion, and an engine started on it
// warns that it relearns and restores nothing.
func TestCheckpointOldVersion(t *testing.T) {
	t.Parallel()
	b := encodeCheckpoint(map[string][]byte{"syn_flood|global||count": {1, 2, 3}})
	b[len(ckptMagic)] = ckptVersion - 1
	b = b[:len(b)-4]
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	if _, err := decodeCheckpoint(b); !errors.Is(err, ErrCheckpointVersion) || !strings.Contains(err.Error(), "another version of monitor443") {
		t.Fatalf("old version: err = %v, want ErrCheckpointVersion saying so", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CheckpointFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := NewEngine(Config{StateDir: dir}, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "from another format version, relearning") {
		t.Errorf("no warning in the log: %s", logs.String())
	}
	if e.stage.restore != nil {
		t.Errorf("restored %d baselines from an old checkpoint", len(e.stage.restore))
	}
}
