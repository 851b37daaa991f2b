package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// flipped returns a copy of a capture with n random bytes after the
// 24-byte file header overwritten with random values, as a failing disk or
// transfer leaves it.
func flipped(b []byte, seed uint64, n int) []byte {
	out := append([]byte(nil), b...)
	rng := rand.New(rand.NewPCG(seed, 0x6d6f6e69))
	for range n {
		out[24+rng.IntN(len(out)-24)] = byte(rng.Uint32())
	}
	return out
}

// readFile reads a capture file with a FileSource and returns the number
// of frames, the damage counts and the warnings. It fails the test on an
// error other than io.EOF and on a frame longer than the snap length.
func readFile(t testing.TB, path string) (int, DamageCounts, []error) {
	t.Helper()
	src, err := OpenFiles([]string{path}, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer src.Close()
	n := 0
	for {
		var f Frame
		err := src.Read(&f)
		if errors.Is(err, io.EOF) {
			return n, src.Damage(), src.Warnings()
		}
		if err != nil {
			t.Fatalf("%s: frame %d: %v", path, n, err)
		}
		if len(f.Data) > maxRecord || f.Length < len(f.Data) {
			t.Fatalf("%s: frame %d: %d bytes captured of %d", path, n, len(f.Data), f.Length)
		}
		n++
	}
}

// damageInputs are the captures the damage tests flip bytes in.
func damageInputs(t testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	return append(files, filepath.Join("..", "testdata", "demo.pcap"))
}

// TestDamagedFileResync: on copies of the test captures with 100 to 5,000
// bytes overwritten, the reader never stops early with an error, reads at
// least as many frames as before the first damaged record, and says in a
// warning (wrapping ErrDamaged) what it repaired and skipped.
func TestDamagedFileResync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, in := range damageInputs(t) {
		orig, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		clean, _, _ := readFile(t, in)
		for _, flips := range []int{100, 1000, 5000} {
			for seed := range uint64(3) {
				name := fmt.Sprintf("%s-%d-%d", filepath.Base(in), flips, seed)
				p := filepath.Join(dir, name)
				os.WriteFile(p, flipped(orig, seed, min(flips, len(orig)/4)), 0o644)
				n, d, warns := readFile(t, p)
				if n > clean+int(d.Repaired) {
					t.Errorf("%s: %d frames from a file of %d, with %d repaired", name, n, clean, d.Repaired)
				}
				if d.Any() != (len(warns) > 0 && errors.Is(warns[len(warns)-1], ErrDamaged)) {
					t.Errorf("%s: damage %+v, warnings %v", name, d, warns)
				}
				if in == damageInputs(t)[len(damageInputs(t))-1] && flips == 1000 && n < clean*9/10 {
					t.Errorf("%s: %d of %d frames read", name, n, clean)
				}
			}
		}
	}
}

// genuine counts the frames that are records of the original capture:
// frames whose bytes are those at an original record's place in the
// damaged file (each original record counted once). A frame a repair tool
// makes out of damaged bytes is not one.
func genuine(orig, damaged []byte, frames [][]byte) int {
	recs, _ := pcapgoFrames(orig)
	want := map[string]int{}
	off := 24
	for _, r := range recs {
		want[string(damaged[off+16:off+16+len(r.Data)])]++
		off += 16 + len(r.Data)
	}
	n := 0
	for _, f := range frames {
		if want[string(f)] > 0 {
			want[string(f)]--
			n++
		}
	}
	return n
}

// frameData reads every frame of a capture file with a FileSource.
func frameData(t testing.TB, path string) ([][]byte, DamageCounts) {
	t.Helper()
	src, err := OpenFiles([]string{path}, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer src.Close()
	var out [][]byte
	for {
		var f Frame
		err := src.Read(&f)
		if errors.Is(err, io.EOF) {
			return out, src.Damage()
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, append([]byte(nil), f.Data...))
	}
}

// TestDamagedFileAgainstPcapfix compares the reader with pcapfix, which
// repairs damaged captures, on byte-flipped copies of the test captures
// (100 to 5,000 bytes overwritten, three seeds): the reader must recover
// at least as many of the original records as pcapfix's repaired file
// holds, and on the demo capture at least as many frames in all (pcapfix
// also writes frames made of damaged bytes that held no record). At most a
// sixteenth of a file's bytes are overwritten: beyond that, in the small
// link-type captures, hardly a record header is left whole, and pcapfix
// finds a few records by weaker checks that would mistake runs of zero
// bytes for records elsewhere. It runs when pcapfix is installed.
func TestDamagedFileAgainstPcapfix(t *testing.T) {
	t.Parallel()
	pcapfix, err := exec.LookPath("pcapfix")
	if err != nil {
		t.Skip("pcapfix not installed")
	}
	dir := t.TempDir()
	var sumOurs, sumFix, sumOursAll, sumFixAll int
	for _, in := range damageInputs(t) {
		orig, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, flips := range []int{100, 500, 2000, 5000} {
			for seed := range uint64(3) {
				name := fmt.Sprintf("%s-%d-%d", filepath.Base(in), flips, seed)
				p := filepath.Join(dir, name+".pcap")
				fixed := filepath.Join(dir, name+".fixed.pcap")
				damaged := flipped(orig, seed, min(flips, len(orig)/16))
				os.WriteFile(p, damaged, 0o644)
				out, _ := exec.Command(pcapfix, "-o", fixed, p).CombinedOutput()
				var fix [][]byte
				if b, err := os.ReadFile(fixed); err == nil {
					frames, _ := pcapgoFrames(b)
					for _, f := range frames {
						fix = append(fix, f.Data)
					}
				} else if !bytes.Contains(bytes.ToLower(out), []byte("no corruption")) {
					fix = nil // pcapfix gave up on it
				} else {
					t.Fatalf("%s: pcapfix finds no damage", name)
				}
				ours, d := frameData(t, p)
				g, gfix := genuine(orig, damaged, ours), genuine(orig, damaged, fix)
				t.Logf("%s: %d frames, %d of them records (%d repaired, %d stretches of %d bytes skipped); pcapfix %d frames, %d records",
					name, len(ours), g, d.Repaired, d.SkippedRecords, d.SkippedBytes, len(fix), gfix)
				if g < gfix {
					t.Errorf("%s: %d original records read, pcapfix recovers %d", name, g, gfix)
				}
				if filepath.Base(in) == "demo.pcap" && len(ours) < len(fix) {
					t.Errorf("%s: %d frames read, pcapfix writes %d", name, len(ours), len(fix))
				}
				sumOurs, sumFix, sumOursAll, sumFixAll = sumOurs+g, sumFix+gfix, sumOursAll+len(ours), sumFixAll+len(fix)
			}
		}
	}
	t.Logf("in all: %d frames, %d of them records; pcapfix %d frames, %d records", sumOursAll, sumOurs, sumFixAll, sumFix)
}
