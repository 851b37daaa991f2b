package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// pcapgoFrames reads a classic pcap with gopacket's pcapgo, the reference
// for pcapReader: every record's bytes, timestamp and original length, and
// the error that ended the file (nil at a clean end).
func pcapgoFrames(b []byte) ([]Frame, error) {
	r, err := pcapgo.NewReader(bytes.NewReader(b))
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

// ownFrames reads the same bytes with pcapReader.
func ownFrames(b []byte) ([]Frame, error) {
	r, err := newPCAPReader(bufio.NewReaderSize(bytes.NewReader(b), 1<<20), new(Damage))
	if err != nil {
		return nil, err
	}
	var out []Frame
	for {
		data, ts, n, err := r.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, Frame{Data: append([]byte(nil), data...), Timestamp: ts, Length: n})
	}
}

func sameFrames(t *testing.T, name string, got, want []Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, pcapgo reads %d", name, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Timestamp != want[i].Timestamp || got[i].Length != want[i].Length {
			t.Fatalf("%s: record %d differs from pcapgo's: %d bytes at %d (len %d), want %d bytes at %d (len %d)", name, i,
				len(got[i].Data), got[i].Timestamp, got[i].Length, len(want[i].Data), want[i].Timestamp, want[i].Length)
		}
	}
}

// TestPCAPReaderMatchesPcapgo reads every classic pcap in this package's
// and the shared test data (tcpdump, tshark, Zeek, Suricata and Arkime
// captures: micro- and nanosecond, both byte orders where present, many
// link types) with pcapReader and with pcapgo, and requires the same
// records; also each file cut at a few places, where both must return the
// same records before the cut.
func TestPCAPReaderMatchesPcapgo(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	_ = filepath.WalkDir(sharedTestdata, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".pcap" {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 10 {
		t.Fatalf("only %d pcap files found", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := pcapgoFrames(b)
		if werr != nil {
			continue // pcapgo cannot read it: nothing to compare with
		}
		got, err := ownFrames(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		sameFrames(t, f, got, want)
		for _, cut := range []int{len(b) - 1, len(b) * 2 / 3, 40} {
			if cut <= 24 || cut >= len(b) {
				continue
			}
			want, _ := pcapgoFrames(b[:cut])
			got, err := ownFrames(b[:cut])
			sameFrames(t, f+" (cut)", got, want)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s cut at %d: error %v, want io.ErrUnexpectedEOF or none", f, cut, err)
			}
		}
	}
}

// TestPCAPReaderChecks: big-endian nanosecond files read like pcapgo; a
// record longer than the snap length, or than its original length, is
// damage that the reader skips (pcapgo stops there with an error); a bad
// magic or major version is rejected.
func TestPCAPReaderChecks(t *testing.T) {
	t.Parallel()
	file := func(order binary.AppendByteOrder, magic uint32, snap uint32, recs ...[3]uint32) []byte {
		b := order.AppendUint32(nil, magic)
		b = order.AppendUint16(b, 2)
		b = order.AppendUint16(b, 4)
		b = append(b, make([]byte, 8)...)
		b = order.AppendUint32(b, snap)
		b = order.AppendUint32(b, 1)
		for i, r := range recs { // r: caplen, origlen, ts fraction
			b = order.AppendUint32(b, 1_700_000_000+uint32(i))
			b = order.AppendUint32(b, r[2])
			b = order.AppendUint32(b, r[0])
			b = order.AppendUint32(b, r[1])
			b = append(b, bytes.Repeat([]byte{byte(i + 1)}, int(r[0]))...)
		}
		return b
	}
	be := file(binary.BigEndian, 0xa1b23c4d, 100, [3]uint32{60, 60, 999_999_999}, [3]uint32{100, 1500, 5})
	want, err := pcapgoFrames(be)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ownFrames(be)
	if err != nil {
		t.Fatal(err)
	}
	sameFrames(t, "big-endian ns", got, want)
	for _, tt := range []struct {
		name   string
		file   []byte
		frames int
		damage DamageCounts
	}{
		// Alone in the file and filling it, the record is kept, repaired.
		{"caplen > snaplen", file(binary.LittleEndian, 0xa1b2c3d4, 50, [3]uint32{60, 60, 0}), 1, DamageCounts{Repaired: 1}},
		{"caplen > origlen", file(binary.LittleEndian, 0xa1b2c3d4, 100, [3]uint32{60, 40, 0}), 0, DamageCounts{SkippedRecords: 1, SkippedBytes: 76}},
	} {
		name, b := tt.name, tt.file
		var d Damage
		got, err := readPCAP(b, &d)
		if err != nil || len(got) != tt.frames || d.Load() != tt.damage {
			t.Errorf("%s: %d records, error %v, damage %+v; want %d, %+v", name, len(got), err, d.Load(), tt.frames, tt.damage)
		}
		if _, err := pcapgoFrames(b); err == nil {
			t.Errorf("%s: pcapgo gives no error", name)
		}
	}
	bad := file(binary.LittleEndian, 0xa1b2c3d4, 100)
	bad[4] = 3
	if _, err := ownFrames(bad); err == nil {
		t.Error("major version 3 accepted")
	}
	if _, err := ownFrames([]byte("not a capture file at all, no")); err == nil {
		t.Error("bad magic accepted")
	}
}

// readPCAP reads a classic pcap with pcapReader into copies of its records,
// counting damage in d.
func readPCAP(b []byte, d *Damage) ([]Frame, error) {
	r, err := newPCAPReader(bufio.NewReaderSize(bytes.NewReader(b), 1<<20), d)
	if err != nil {
		return nil, err
	}
	var out []Frame
	for range len(b) + 1 { // each call consumes at least one byte
		data, ts, n, err := r.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, Frame{Data: append([]byte(nil), data...), Timestamp: ts, Length: n})
	}
	return out, errors.New("reader does not end")
}

// FuzzPCAPReader reads arbitrary record data behind a valid file header
// (seeded with records of a test capture, whole and with bytes
// overwritten). It checks that the reader ends, that every byte is either
// in a record (header and data), skipped and counted, or in a final record
// cut short; that records are no longer than their original length; and
// that when the reader saw no damage it read exactly what pcapgo reads.
func FuzzPCAPReader(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "link-ethernet.pcap"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[24:min(len(b), 600)])
	f.Add([]byte{})
	for seed := range uint64(4) {
		f.Add(flipped(b[:min(len(b), 3000)], seed, 40)[24:])
	}
	f.Fuzz(func(t *testing.T, recs []byte) {
		file := append(append([]byte(nil), b[:24]...), recs...)
		var d Damage
		got, err := readPCAP(file, &d)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v", err)
		}
		consumed := int(d.SkippedBytes.Load())
		for _, fr := range got {
			consumed += 16 + len(fr.Data)
			if fr.Length < len(fr.Data) {
				t.Fatalf("record of %d bytes, %d on the wire", len(fr.Data), fr.Length)
			}
		}
		switch {
		case err == nil && consumed != len(recs):
			t.Fatalf("%d bytes in records and skipped, %d in the file", consumed, len(recs))
		case err != nil && consumed >= len(recs):
			t.Fatalf("cut short after %d bytes of %d", consumed, len(recs))
		}
		if d.Load().Any() {
			return
		}
		want, werr := pcapgoFrames(file)
		sameFrames(t, "fuzz", got, want)
		if werr != nil && err == nil {
			t.Fatalf("no damage seen, pcapgo: %v", werr)
		}
	})
}
