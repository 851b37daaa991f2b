package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func data(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Data))
	}
	return out
}

func mustOpen(t *testing.T, cfg Config) *Spool {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func mustPut(t *testing.T, s *Spool, prio int, d string) uint64 {
	t.Helper()
	seq, _, err := s.Put(prio, []byte(d))
	if err != nil {
		t.Fatalf("Put(%q): %v", d, err)
	}
	return seq
}

func TestReopenKeepsOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxEntries: 100, MaxBytes: 1 << 20}
	s := mustOpen(t, cfg)
	var seqs []uint64
	for _, d := range []string{"a", "b", "c", "d"} {
		seqs = append(seqs, mustPut(t, s, 1, d))
	}
	if err := s.Remove(seqs[1]); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by an interrupted write must be ignored and removed.
	if err := os.WriteFile(filepath.Join(dir, tmpPrefix+"junk"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	s2 := mustOpen(t, cfg)
	if diff := cmp.Diff([]string{"a", "c", "d"}, data(s2.entries)); diff != "" {
		t.Errorf("entries after reopen (-want +got):\n%s", diff)
	}
	if got, want := s2.Bytes(), int64(3); got != want {
		t.Errorf("Bytes() = %d, want %d", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, tmpPrefix+"junk")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file not removed: %v", err)
	}
	// New entries continue the sequence after the reloaded ones.
	seq := mustPut(t, s2, 1, "e")
	if seq <= seqs[3] {
		t.Errorf("seq after reopen = %d, want > %d", seq, seqs[3])
	}
	ctx := context.Background()
	for _, want := range []string{"a", "c", "d", "e"} {
		e, err := s2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Data) != want {
			t.Fatalf("Next() = %q, want %q", e.Data, want)
		}
		if err := s2.Remove(e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 0 {
		t.Errorf("spool dir not empty after removing all: %d files", len(des))
	}
}

func TestFullPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         Config
		puts        []Entry // Priority and Data only
		inFlight    bool    // take the first entry with Next before the last Put
		wantErr     error
		wantEvicted []string
		wantLeft    []string
	}{
		{
			name:     "reject new keeps old",
			cfg:      Config{MaxEntries: 2, MaxBytes: 100, Policy: RejectNew},
			puts:     []Entry{{Priority: 0, Data: []byte("a")}, {Priority: 0, Data: []byte("b")}, {Priority: 2, Data: []byte("c")}},
			wantErr:  ErrFull,
			wantLeft: []string{"a", "b"},
		},
		{
			name: "drop oldest of lowest priority first",
			cfg:  Config{MaxEntries: 3, MaxBytes: 100, Policy: DropOldest},
			puts: []Entry{
				{Priority: 2, Data: []byte("fire1")},
				{Priority: 1, Data: []byte("res1")},
				{Priority: 1, Data: []byte("res2")},
				{Priority: 2, Data: []byte("fire2")},
			},
			wantEvicted: []string{"res1"},
			wantLeft:    []string{"fire1", "res2", "fire2"},
		},
		{
			name: "byte bound evicts several",
			cfg:  Config{MaxEntries: 10, MaxBytes: 10, Policy: DropOldest},
			puts: []Entry{
				{Priority: 0, Data: []byte("aaaa")},
				{Priority: 0, Data: []byte("bbbb")},
				{Priority: 0, Data: []byte("cc")},
				{Priority: 0, Data: []byte("dddddd")},
			},
			wantEvicted: []string{"aaaa", "bbbb"},
			wantLeft:    []string{"cc", "dddddd"},
		},
		{
			name: "in-flight entry is never evicted",
			cfg:  Config{MaxEntries: 2, MaxBytes: 100, Policy: DropOldest},
			puts: []Entry{
				{Priority: 0, Data: []byte("a")},
				{Priority: 0, Data: []byte("b")},
				{Priority: 0, Data: []byte("c")},
			},
			inFlight:    true,
			wantEvicted: []string{"b"},
			wantLeft:    []string{"a", "c"},
		},
		{
			name:     "too large",
			cfg:      Config{MaxEntries: 2, MaxBytes: 3, Policy: DropOldest},
			puts:     []Entry{{Priority: 0, Data: []byte("a")}, {Priority: 0, Data: []byte("abcd")}},
			wantErr:  ErrTooLarge,
			wantLeft: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Dir = t.TempDir()
			s := mustOpen(t, cfg)
			last := len(tt.puts) - 1
			for _, p := range tt.puts[:last] {
				mustPut(t, s, p.Priority, string(p.Data))
			}
			if tt.inFlight {
				if _, err := s.Next(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			_, evicted, err := s.Put(tt.puts[last].Priority, tt.puts[last].Data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put() error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantEvicted, data(evicted)); diff != "" {
				t.Errorf("evicted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, data(s.entries)); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
			// The directory must agree with memory.
			reopened := mustOpen(t, cfg)
			if diff := cmp.Diff(tt.wantLeft, data(reopened.entries)); diff != "" {
				t.Errorf("left on disk (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextBlocksUntilPut(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, Config{MaxEntries: 4, MaxBytes: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan string, 1)
	go func() {
		e, err := s.Next(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(e.Data)
	}()
	mustPut(t, s, 0, "x")
	if g := <-got; g != "x" {
		t.Errorf("Next() = %q, want x", g)
	}

	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	s2 := mustOpen(t, Config{MaxEntries: 4, MaxBytes: 64})
	if _, err := s2.Next(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Next() on empty spool with done ctx = %v, want context.Canceled", err)
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	for _, p := range Policies {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := ParsePolicy("drop_newest"); err == nil || !strings.Contains(err.Error(), "drop_newest") {
		t.Errorf("ParsePolicy(drop_newest) error = %v", err)
	}
}

func TestOpenRejectsUnboundedConfig(t *testing.T) {
	t.Parallel()
	if _, err := Open(Config{MaxEntries: 0, MaxBytes: 1}); err == nil {
		t.Error("Open with MaxEntries 0 succeeded")
	}
}
