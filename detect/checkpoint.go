package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// CheckpointFile is the name of the baseline checkpoint in Config.StateDir.
const CheckpointFile = "baselines.m443"

// Checkpoint format:
//
//	magic "m443ckpt" | version u8 | count u32 | count × (keylen u16 | key | len u32 | state) | crc32 (IEEE) of all before
//
// Each state is an estimator's own versioned, checksummed encoding
// (detect/baseline). Integers are little-endian.
const (
	ckptMagic   = "m443ckpt"
	ckptVersion = 5 // 2: count tests for syn_flood and quic_flood, records for bandwidth_spike; 3: quic_flood counts unreturned attempts; 4: bandwidth_spike records leave out the heaviest client; 5: request_burst counts returned QUIC connections
	maxCkptSize = 1 << 30
)

// ErrCheckpoint reports an unreadable checkpoint file.
var ErrCheckpoint = errors.New("corrupt checkpoint")

// ErrCheckpointVersion reports a checkpoint written in another format
// version, whose baselines this version cannot use.
var ErrCheckpointVersion = errors.New("checkpoint of another format")

// encodeCheckpoint serializes states in key order, so equal states give
// equal bytes.
func encodeCheckpoint(states map[string][]byte) []byte {
	keys := make([]string, 0, len(states))
	size := len(ckptMagic) + 1 + 4 + 4
	for k, v := range states {
		keys = append(keys, k)
		size += 2 + len(k) + 4 + len(v)
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, ckptMagic...)
	b = append(b, ckptVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(states[k])))
		b = append(b, states[k]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// decodeCheckpoint parses a checkpoint; it never panics on bad input.
func decodeCheckpoint(b []byte) (map[string][]byte, error) {
	head := len(ckptMagic) + 1 + 4
	if len(b) < head+4 || string(b[:len(ckptMagic)]) != ckptMagic {
		return nil, fmt.Errorf("%w: bad header", ErrCheckpoint)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum", ErrCheckpoint)
	}
	if v := b[len(ckptMagic)]; v != ckptVersion {
		return nil, fmt.Errorf("%w: format version %d is from another version of monitor443 (this one writes %d); its baselines cannot be used",
			ErrCheckpointVersion, v, ckptVersion)
	}
	n := binary.LittleEndian.Uint32(b[len(ckptMagic)+1:])
	rest := body[head:]
	out := make(map[string][]byte, min(int(n), 1<<16))
	for range n {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: truncated", ErrCheckpoint)
		}
		kl := int(binary.LittleEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < kl+4 {
			return nil, fmt.Errorf("%w: truncated", ErrCheckpoint)
		}
		k := string(rest[:kl])
		vl := int(binary.LittleEndian.Uint32(rest[kl:]))
		rest = rest[kl+4:]
		if vl > len(rest) {
			return nil, fmt.Errorf("%w: truncated", ErrCheckpoint)
		}
		out[k] = append([]byte(nil), rest[:vl]...)
		rest = rest[vl:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCheckpoint, len(rest))
	}
	return out, nil
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory, so
// a crash leaves either the old or the new file.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create checkpoint: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		_ = d.Close()
	}
	return nil
}

// readCheckpoint loads the checkpoint in dir. A missing file returns
// (nil, nil).
func readCheckpoint(dir string) (map[string][]byte, error) {
	path := filepath.Join(dir, CheckpointFile)
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if st.Size() > maxCkptSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCheckpoint, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return decodeCheckpoint(b)
}

// marshal collects every baseline's state, keyed by
// detector|scope|target|series. It includes states restored but not yet
// claimed by a track, so a checkpoint does not forget a server that has
// been quiet since the restart, within the same budget as live tracks (see
// keepRestored): the file's size follows the configuration, not how many
// servers have come and gone over many restarts.
func (s *stage) marshal() map[string][]byte {
	out := make(map[string][]byte, len(s.restore))
	for k, v := range s.keepRestored() {
		out[k] = v
	}
	put := func(tr *track) {
		key := tr.det + "|" + tr.scope + "|" + tr.target
		if tr.fast != nil {
			tr.fast.states(key, out)
		}
		if tr.st != nil {
			tr.st.save(key, out)
		}
	}
	for _, tr := range s.global {
		put(tr)
	}
	for _, tr := range s.server {
		put(tr)
	}
	for _, m := range s.pfx {
		for _, tr := range m {
			put(tr)
		}
	}
	for k, b := range s.scopeB {
		b.states(k+"|max", out)
	}
	return out
}

// keepRestored returns the restored states no track has claimed that are
// still worth saving: global ones, watched prefixes still watched, the
// max-key baselines of sketched scopes, and per-server ones while live
// and kept per-server tracks together stay within the tracks' budget
// (3·MaxServers plus the watched servers), in key order. States of targets
// or series this version no longer has are dropped.
func (s *stage) keepRestored() map[string][]byte {
	keys := slices.Sorted(maps.Keys(s.restore))
	budget := 3*s.cfg.MaxServers + 3*len(s.watched) - len(s.server)
	servers := map[string]bool{} // det|target kept
	watchedPfx := map[string]bool{}
	for _, p := range s.cfg.WatchPrefixes {
		watchedPfx[p.Masked().String()] = true
	}
	out := map[string][]byte{}
	for _, k := range keys {
		parts := strings.SplitN(k, "|", 4)
		if len(parts) < 3 {
			continue
		}
		det, scope, target := parts[0], parts[1], parts[2]
		if !slices.Contains(Detectors[:], det) {
			continue
		}
		keep := false
		switch {
		case scope == ScopeGlobal:
			keep = true
		case target == "max":
			keep = det == KindRequestBurst && (scope == ScopeClient || scope == ScopeSNI || scope == ScopePrefix)
		case scope == ScopePrefix:
			keep = watchedPfx[target]
		case scope == ScopeServer:
			id := det + "|" + target
			if !servers[id] && budget > 0 {
				servers[id] = true
				budget--
			}
			keep = servers[id]
		}
		if keep {
			out[k] = s.restore[k]
		}
	}
	return out
}
