package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// ngFiles are the pcapng captures of the shared test data (some files
// named .pcapng there are classic pcap).
func ngFiles() []string {
	var files []string
	_ = filepath.WalkDir(sharedTestdata, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".pcapng" {
			if b, err := os.ReadFile(p); err == nil && len(b) > 4 && binary.LittleEndian.Uint32(b) == ngSHB {
				files = append(files, p)
			}
		}
		return nil
	})
	return files
}

// toPcapng converts a classic pcap to pcapng: a section header, one
// interface (with if_tsresol 9 for a nanosecond capture) and an enhanced
// packet block for each record, as editcap -F pcapng writes them.
func toPcapng(t testing.TB, b []byte) []byte {
	t.Helper()
	recs, err := pcapgoFrames(b)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	nanos := le.Uint32(b) == 0xa1b23c4d || binary.BigEndian.Uint32(b) == 0xa1b23c4d
	order := binary.ByteOrder(le)
	if b[0] == 0xa1 {
		order = binary.BigEndian
	}
	out := le.AppendUint32(nil, ngSHB)
	out = le.AppendUint32(out, 28)
	out = le.AppendUint32(out, 0x1a2b3c4d)
	out = le.AppendUint16(out, 1)
	out = le.AppendUint16(out, 0)
	out = le.AppendUint64(out, ^uint64(0))
	out = le.AppendUint32(out, 28)
	idbLen := uint32(20)
	if nanos {
		idbLen += 8
	}
	out = le.AppendUint32(out, ngIDB)
	out = le.AppendUint32(out, idbLen)
	out = le.AppendUint16(out, uint16(order.Uint32(b[20:24])))
	out = le.AppendUint16(out, 0)
	out = le.AppendUint32(out, order.Uint32(b[16:20]))
	if nanos {
		out = append(out, 9, 0, 1, 0, 9, 0, 0, 0)
	}
	out = le.AppendUint32(out, idbLen)
	for _, r := range recs {
		ts := uint64(r.Timestamp / 1000)
		if nanos {
			ts = uint64(r.Timestamp)
		}
		pad := (4 - len(r.Data)%4) % 4
		n := uint32(32 + len(r.Data) + pad)
		out = le.AppendUint32(out, ngEPB)
		out = le.AppendUint32(out, n)
		out = le.AppendUint32(out, 0)
		out = le.AppendUint32(out, uint32(ts>>32))
		out = le.AppendUint32(out, uint32(ts))
		out = le.AppendUint32(out, uint32(len(r.Data)))
		out = le.AppendUint32(out, uint32(r.Length))
		out = append(out, r.Data...)
		out = append(out, make([]byte, pad)...)
		out = le.AppendUint32(out, n)
	}
	return out
}

// pcapgoNgFrames reads a pcapng with gopacket's pcapgo, the reference for
// ngReader, and the error that ended the file (nil at a clean end).
func pcapgoNgFrames(b []byte) ([]Frame, error) {
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return nil, err
	}
	var out []Frame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, Frame{Data: data, Timestamp: ci.Timestamp.UnixNano(), Length: ci.Length})
	}
}

// readNg reads a pcapng with ngReader into copies of its packets,
// counting damage in d.
func readNg(b []byte, d *Damage) ([]Frame, error) {
	r, err := newNgReader(bufio.NewReaderSize(bytes.NewReader(b), 1<<20), d)
	if err != nil {
		return nil, err
	}
	var out []Frame
	for range len(b) + 1 { // each call consumes at least one byte
		data, ts, n, lt, err := r.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, Frame{Data: append([]byte(nil), data...), Timestamp: ts, Length: n, LinkType: lt})
	}
	return out, errors.New("reader does not end")
}

// TestNgReaderMatchesPcapgo reads every pcapng of the shared test data and
// pcapng copies of this package's test captures and the demo capture with
// ngReader and with pcapgo, and requires the same packets and no damage;
// also each file cut at a few places, where both must return the same
// packets before the cut.
func TestNgReaderMatchesPcapgo(t *testing.T) {
	t.Parallel()
	inputs := map[string][]byte{}
	for _, f := range ngFiles() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = b
	}
	for _, f := range damageInputs(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f+" as pcapng"] = toPcapng(t, b)
	}
	for name, b := range inputs {
		want, werr := pcapgoNgFrames(b)
		if werr != nil {
			t.Errorf("%s: pcapgo: %v", name, werr)
			continue
		}
		var d Damage
		got, err := readNg(b, &d)
		if err != nil || d.Load().Any() {
			t.Errorf("%s: %v, damage %+v", name, err, d.Load())
			continue
		}
		for i := range got {
			got[i].LinkType = 0
		}
		sameFrames(t, name, got, want)
		for _, cut := range []int{len(b) - 1, len(b) * 2 / 3, 100} {
			if cut >= len(b) {
				continue
			}
			want, _ := pcapgoNgFrames(b[:cut])
			got, err := readNg(b[:cut], &d)
			for i := range got {
				got[i].LinkType = 0
			}
			if len(got) > len(want) {
				got = got[:len(want)]
			}
			sameFrames(t, name+" (cut)", got, want)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s cut at %d: error %v, want io.ErrUnexpectedEOF or none", name, cut, err)
			}
		}
	}
}

// ngDamageInputs are the pcapng captures the damage tests flip bytes in:
// the shared test data's, and pcapng copies of this package's test
// captures and of the demo capture, written to dir.
func ngDamageInputs(t testing.TB, dir string) []string {
	t.Helper()
	files := ngFiles()
	for _, f := range damageInputs(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(f)+"ng")
		if err := os.WriteFile(p, toPcapng(t, b), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

// TestDamagedNgResync: on copies of the pcapng test captures with 100 to
// 5,000 bytes overwritten, the reader never stops early with an error and
// says in a warning (wrapping ErrDamaged) what it repaired and skipped;
// with 1,000 bytes overwritten in the demo capture it reads nine in ten
// frames or more.
func TestDamagedNgResync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, in := range ngDamageInputs(t, dir) {
		orig, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		clean, d, _ := readFile(t, in)
		if d.Any() {
			t.Fatalf("%s: damage %+v in the original", in, d)
		}
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
				if filepath.Base(in) == "demo.pcapng" && flips == 1000 && n < clean*9/10 {
					t.Errorf("%s: %d of %d frames read", name, n, clean)
				}
			}
		}
	}
}

// ngSpans returns where each packet's data lies in a clean pcapng file.
func ngSpans(t testing.TB, b []byte) [][2]int {
	t.Helper()
	le := binary.LittleEndian
	var spans [][2]int
	for off := 0; off+12 <= len(b); {
		typ, n := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			t.Fatalf("block at %d: length %d", off, n)
		}
		if typ == ngEPB {
			spans = append(spans, [2]int{off + 28, off + 28 + int(le.Uint32(b[off+20:]))})
		}
		off += n
	}
	return spans
}

// genuineNg counts the frames that are packets of the original pcapng
// capture, as genuine does for classic pcap.
func genuineNg(t testing.TB, orig, damaged []byte, frames [][]byte) int {
	want := map[string]int{}
	for _, s := range ngSpans(t, orig) {
		want[string(damaged[s[0]:s[1]])]++
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

// TestDamagedNgAgainstPcapfix compares the reader with pcapfix on
// byte-flipped copies of the little-endian pcapng test captures (100 to
// 5,000 bytes overwritten, at most a sixteenth of the file, three seeds),
// as TestDamagedFileAgainstPcapfix does for classic pcap: at least as many
// of the original packets as pcapfix's repaired file holds, and on the
// demo capture at least as many frames in all. It runs when pcapfix is
// installed.
func TestDamagedNgAgainstPcapfix(t *testing.T) {
	t.Parallel()
	pcapfix, err := exec.LookPath("pcapfix")
	if err != nil {
		t.Skip("pcapfix not installed")
	}
	dir := t.TempDir()
	var sumOurs, sumFix, sumOursAll, sumFixAll int
	for _, in := range ngDamageInputs(t, dir) {
		orig, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if binary.LittleEndian.Uint32(orig[8:]) != 0x1a2b3c4d {
			continue // ngSpans reads little-endian files only
		}
		for _, flips := range []int{100, 500, 2000, 5000} {
			for seed := range uint64(3) {
				name := fmt.Sprintf("%s-%d-%d", filepath.Base(in), flips, seed)
				p := filepath.Join(dir, name+".pcapng")
				fixed := filepath.Join(dir, name+".fixed.pcapng")
				damaged := flipped(orig, seed, min(flips, len(orig)/16))
				os.WriteFile(p, damaged, 0o644)
				out, _ := exec.Command(pcapfix, "-n", "-o", fixed, p).CombinedOutput()
				var fix [][]byte
				if b, err := os.ReadFile(fixed); err == nil {
					fix = anyFrames(t, b)
				} else if bytes.Contains(bytes.ToLower(out), []byte("no corruption")) {
					t.Fatalf("%s: pcapfix finds no damage", name)
				}
				ours, d := frameData(t, p)
				g, gfix := genuineNg(t, orig, damaged, ours), genuineNg(t, orig, damaged, fix)
				t.Logf("%s: %d frames, %d of them packets (%d repaired, %d stretches of %d bytes skipped); pcapfix %d frames, %d packets",
					name, len(ours), g, d.Repaired, d.SkippedRecords, d.SkippedBytes, len(fix), gfix)
				if g < gfix {
					t.Errorf("%s: %d original packets read, pcapfix recovers %d", name, g, gfix)
				}
				if filepath.Base(in) == "demo.pcapng" && len(ours) < len(fix) {
					t.Errorf("%s: %d frames read, pcapfix writes %d", name, len(ours), len(fix))
				}
				sumOurs, sumFix, sumOursAll, sumFixAll = sumOurs+g, sumFix+gfix, sumOursAll+len(ours), sumFixAll+len(fix)
			}
		}
	}
	t.Logf("in all: %d frames, %d of them packets; pcapfix %d frames, %d packets", sumOursAll, sumOurs, sumFixAll, sumFix)
}

// anyFrames reads the frames of a pcap or pcapng file that pcapfix wrote
// (pcapgo panics on some of its interface descriptions).
func anyFrames(t testing.TB, b []byte) [][]byte {
	var frames []Frame
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == ngSHB {
		frames, _ = readNg(b, new(Damage))
	} else {
		frames, _ = readPCAP(b, new(Damage))
	}
	var out [][]byte
	for _, f := range frames {
		out = append(out, f.Data)
	}
	return out
}

// ngWalk walks the blocks of a little-endian pcapng file by their
// lengths and returns the data of its enhanced packet blocks, and false if
// the file holds other packet blocks or a block that does not fit.
func ngWalk(b []byte) ([][]byte, bool) {
	le := binary.LittleEndian
	var out [][]byte
	for off := 0; off < len(b); {
		if off+12 > len(b) {
			return out, false
		}
		typ, n := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) || typ == ngSPB || typ == ngOPB {
			return out, false
		}
		if typ == ngEPB {
			out = append(out, b[off+28:off+28+int(le.Uint32(b[off+20:]))])
		}
		off += n
	}
	return out, true
}

// FuzzNgReader reads arbitrary blocks behind a valid section header and
// interface description (seeded with the blocks of a test capture, whole
// and with bytes overwritten). It checks that the reader ends, that
// packets are no longer than their original length nor maxRecord, and
// that when the reader saw no damage it read the enhanced packet blocks
// that walking the file by block lengths finds. (pcapgo is no reference
// here: some inputs make it loop for ever.)
func FuzzNgReader(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "link-ethernet.pcap"))
	if err != nil {
		f.Fatal(err)
	}
	ng := toPcapng(f, b)
	const head = 48 // section header and interface description
	f.Add(ng[head:min(len(ng), 800)])
	f.Add([]byte{})
	for seed := range uint64(4) {
		f.Add(flipped(ng[:min(len(ng), 3000)], seed, 40)[head:])
	}
	f.Fuzz(func(t *testing.T, blocks []byte) {
		file := append(append([]byte(nil), ng[:head]...), blocks...)
		var d Damage
		got, err := readNg(file, &d)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v", err)
		}
		for _, fr := range got {
			if fr.Length < len(fr.Data) || len(fr.Data) > maxRecord {
				t.Fatalf("packet of %d bytes, %d on the wire", len(fr.Data), fr.Length)
			}
		}
		if d.Load().Any() {
			return
		}
		want, ok := ngWalk(file)
		if !ok || err != nil || binary.LittleEndian.Uint32(file[8:]) != 0x1a2b3c4d {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d packets, walking the blocks finds %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].Data, want[i]) {
				t.Fatalf("packet %d differs from its block's", i)
			}
		}
	})
}
