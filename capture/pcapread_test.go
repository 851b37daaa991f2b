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
	r, err := newPCAPReader(bufio.NewReaderSize(bytes.NewReader(b), 1<<20))
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
// record longer than the snap length, or than its original length, is an
// error, as in pcapgo; a bad magic or major version is rejected.
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
	be := file(binary.BigEndian, 0xa1b23c4d, 100, [3]uint32{60, 60, 999_999_999}, [3]uint32{10, 1500, 5})
	want, err := pcapgoFrames(be)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ownFrames(be)
	if err != nil {
		t.Fatal(err)
	}
	sameFrames(t, "big-endian ns", got, want)
	for name, b := range map[string][]byte{
		"caplen > snaplen": file(binary.LittleEndian, 0xa1b2c3d4, 50, [3]uint32{60, 60, 0}),
		"caplen > origlen": file(binary.LittleEndian, 0xa1b2c3d4, 100, [3]uint32{60, 40, 0}),
	} {
		if _, err := ownFrames(b); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := pcapgoFrames(b); err == nil {
			t.Errorf("%s: pcapgo gives no error either", name)
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

// FuzzPCAPReader compares pcapReader with pcapgo on arbitrary record data
// behind a valid file header: the same records, and an error exactly when
// pcapgo has one, with one known difference: a final record header with no
// data byte after it ends a file cleanly for pcapgo (io.ReadFull of the
// data returns io.EOF), while pcapReader reports it cut short, like any
// other partial record.
func FuzzPCAPReader(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "link-ethernet.pcap"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[24:min(len(b), 600)])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, recs []byte) {
		file := append(append([]byte(nil), b[:24]...), recs...)
		want, werr := pcapgoFrames(file)
		got, err := ownFrames(file)
		sameFrames(t, "fuzz", got, want)
		consumed := 24
		for _, fr := range want {
			consumed += 16 + len(fr.Data)
		}
		if werr == nil && errors.Is(err, io.ErrUnexpectedEOF) && len(file)-consumed == 16 {
			return // the header-only final record
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("error %v, pcapgo %v", err, werr)
		}
	})
}
