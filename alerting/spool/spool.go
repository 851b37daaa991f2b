package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Policy says what [Spool.Put] does when the spool is full.
type Policy int

// Policies for a full spool.
const (
	// DropOldest evicts stored entries, lowest priority first and oldest
	// first within a priority, until the new entry fits.
	DropOldest Policy = iota
	// RejectNew keeps the stored entries and refuses the new one.
	RejectNew
)

// Policies lists every Policy, so callers can validate names and create
// label values up front.
var Policies = []Policy{DropOldest, RejectNew}

// String returns the configuration name of p: "drop_oldest" or "reject_new".
func (p Policy) String() string {
	switch p {
	case DropOldest:
		return "drop_oldest"
	case RejectNew:
		return "reject_new"
	default:
		return "policy(" + strconv.Itoa(int(p)) + ")"
	}
}

// ParsePolicy returns the Policy named s.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range Policies {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown policy %q (want drop_oldest or reject_new)", s)
}

var (
	// ErrFull is returned by [Spool.Put] when the spool is full and the
	// policy is [RejectNew], or when nothing can be evicted.
	ErrFull = errors.New("spool full")
	// ErrTooLarge is returned by [Spool.Put] for an entry larger than
	// [Config.MaxBytes].
	ErrTooLarge = errors.New("entry larger than spool")
	// ErrNotFound is returned by [Spool.Remove] and [Spool.Release] for an
	// unknown sequence number.
	ErrNotFound = errors.New("spool entry not found")
)

// Config configures a Spool.
type Config struct {
	// Dir is the directory holding the entry files; it is created with mode
	// 0700 if missing. Empty means memory only.
	Dir string
	// MaxEntries bounds the number of stored entries; it must be > 0.
	MaxEntries int
	// MaxBytes bounds the total size of stored entry data; it must be > 0.
	MaxBytes int64
	// Policy decides what happens when a Put would exceed a bound.
	Policy Policy
}

// Entry is one stored item.
type Entry struct {
	// Seq orders entries: a later Put gets a larger Seq, also across restarts.
	Seq uint64
	// Priority ranks entries for eviction: lower is evicted first.
	Priority int
	// Data is the stored payload. The Spool owns it; callers must not
	// modify it.
	Data []byte
}

// Spool is a bounded, ordered queue of entries persisted in a directory.
type Spool struct {
	cfg Config

	mu       sync.Mutex
	entries  []Entry // ordered by Seq
	bytes    int64
	nextSeq  uint64
	inFlight uint64 // Seq of the entry handed out by Next; 0 when none
	signal   chan struct{}
}

const (
	fileSuffix = ".entry"
	tmpPrefix  = ".tmp-"
)

// Open opens the spool described by cfg and loads the entries a previous
// process left in cfg.Dir, in Seq order. Stale temporary files from an
// interrupted Put are removed. Entries beyond the bounds are kept: Open never
// deletes data, and later Puts evict or reject until the spool is back under
// its bounds.
func Open(cfg Config) (*Spool, error) {
	if cfg.MaxEntries <= 0 || cfg.MaxBytes <= 0 {
		return nil, fmt.Errorf("spool bounds must be > 0, got max_entries %d max_bytes %d", cfg.MaxEntries, cfg.MaxBytes)
	}
	s := &Spool{cfg: cfg, nextSeq: 1, signal: make(chan struct{}, 1)}
	if cfg.Dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	des, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if err := os.Remove(filepath.Join(cfg.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("remove stale spool file: %w", err)
			}
			continue
		}
		seq, prio, ok := parseName(name)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(cfg.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("read spool entry %d: %w", seq, err)
		}
		s.entries = append(s.entries, Entry{Seq: seq, Priority: prio, Data: data})
		s.bytes += int64(len(data))
		s.nextSeq = max(s.nextSeq, seq+1)
	}
	slices.SortFunc(s.entries, func(a, b Entry) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	if len(s.entries) > 0 {
		s.signal <- struct{}{}
	}
	return s, nil
}

// fileName is "<seq, 20 digits>-p<priority>.entry", so a directory listing
// sorts in Seq order and the priority survives a restart without reading data.
func fileName(seq uint64, prio int) string {
	return fmt.Sprintf("%020d-p%d%s", seq, prio, fileSuffix)
}

func parseName(name string) (seq uint64, prio int, ok bool) {
	base, found := strings.CutSuffix(name, fileSuffix)
	if !found {
		return 0, 0, false
	}
	seqStr, prioStr, found := strings.Cut(base, "-p")
	if !found {
		return 0, 0, false
	}
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if err != nil || seq == 0 {
		return 0, 0, false
	}
	prio, err = strconv.Atoi(prioStr)
	if err != nil {
		return 0, 0, false
	}
	return seq, prio, true
}

// Put stores data with the given eviction priority and returns its Seq once
// it is durable. When the spool is full, Put follows the policy: with
// [DropOldest] it returns the evicted entries alongside the new Seq; with
// [RejectNew] it returns [ErrFull]. Put keeps data; the caller must not modify
// it afterwards.
func (s *Spool) Put(priority int, data []byte) (seq uint64, evicted []Entry, err error) {
	size := int64(len(data))
	if size > s.cfg.MaxBytes {
		return 0, nil, ErrTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	// Choose victims before writing, so a rejected Put leaves no trace.
	var victims []int // indexes into s.entries
	if s.full(size, 0, 0) {
		if s.cfg.Policy == RejectNew {
			return 0, nil, ErrFull
		}
		victims = s.victims(size)
		if victims == nil {
			return 0, nil, ErrFull
		}
	}

	seq = s.nextSeq
	if s.cfg.Dir != "" {
		if err := writeAtomic(s.cfg.Dir, fileName(seq, priority), data); err != nil {
			return 0, nil, err
		}
	}
	s.nextSeq++

	for _, i := range victims {
		e := s.entries[i]
		if err := s.removeFile(e); err != nil {
			return seq, evicted, err
		}
		evicted = append(evicted, e)
	}
	if len(victims) > 0 {
		keep := s.entries[:0]
		for i, e := range s.entries {
			if !slices.Contains(victims, i) {
				keep = append(keep, e)
			} else {
				s.bytes -= int64(len(e.Data))
			}
		}
		clear(s.entries[len(keep):])
		s.entries = keep
	}
	s.entries = append(s.entries, Entry{Seq: seq, Priority: priority, Data: data})
	s.bytes += size
	select {
	case s.signal <- struct{}{}:
	default:
	}
	return seq, evicted, nil
}

// full reports whether adding an entry of size bytes would exceed a bound
// after freeing freedEntries entries holding freedBytes.
func (s *Spool) full(size int64, freedEntries int, freedBytes int64) bool {
	return len(s.entries)-freedEntries+1 > s.cfg.MaxEntries || s.bytes-freedBytes+size > s.cfg.MaxBytes
}

// victims returns the indexes of the entries to evict so an entry of size
// bytes fits, or nil if the in-flight entry alone blocks it.
func (s *Spool) victims(size int64) []int {
	order := make([]int, 0, len(s.entries))
	for i, e := range s.entries {
		if e.Seq != s.inFlight {
			order = append(order, i)
		}
	}
	// Stable sort keeps Seq order within a priority.
	slices.SortStableFunc(order, func(a, b int) int {
		return s.entries[a].Priority - s.entries[b].Priority
	})
	var (
		n     int
		freed int64
	)
	for _, i := range order {
		if !s.full(size, n, freed) {
			break
		}
		n++
		freed += int64(len(s.entries[i].Data))
	}
	if s.full(size, n, freed) {
		return nil
	}
	return order[:n]
}

// Next blocks until an entry is available or ctx is done, then returns the
// oldest entry and marks it in flight: it is not evicted and Next returns it
// again until it is removed or released. Next is for a single consumer.
func (s *Spool) Next(ctx context.Context) (Entry, error) {
	for {
		s.mu.Lock()
		if len(s.entries) > 0 {
			e := s.entries[0]
			s.inFlight = e.Seq
			s.mu.Unlock()
			return e, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		case <-s.signal:
		}
	}
}

// Remove deletes the entry with the given Seq from memory and disk.
func (s *Spool) Remove(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.entries, func(e Entry) bool { return e.Seq == seq })
	if i < 0 {
		return ErrNotFound
	}
	e := s.entries[i]
	if err := s.removeFile(e); err != nil {
		return err
	}
	s.entries = slices.Delete(s.entries, i, i+1)
	s.bytes -= int64(len(e.Data))
	if s.inFlight == seq {
		s.inFlight = 0
	}
	return nil
}

// Release clears the in-flight mark of the entry with the given Seq, making it
// evictable again; the next call to Next returns it again.
func (s *Spool) Release(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight == seq {
		s.inFlight = 0
	}
}

// Len returns the number of stored entries, including the one in flight.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Bytes returns the total size of the stored entry data.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Persistent reports whether entries are kept on disk.
func (s *Spool) Persistent() bool { return s.cfg.Dir != "" }

func (s *Spool) removeFile(e Entry) error {
	if s.cfg.Dir == "" {
		return nil
	}
	err := os.Remove(filepath.Join(s.cfg.Dir, fileName(e.Seq, e.Priority)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool entry %d: %w", e.Seq, err)
	}
	return nil
}

// writeAtomic writes data to dir/name so that after a crash the file either
// does not exist or holds all of data.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("create spool entry: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write spool entry: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync spool entry: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close spool entry: %w", err)
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("rename spool entry: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open spool dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	return nil
}
