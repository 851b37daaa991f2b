package capture

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// BenchmarkPCAPRead reads the demo capture's records in place, the replay's
// first step, and reports records per second. Zero allocations per record.
func BenchmarkPCAPRead(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "demo.pcap"))
	if err != nil {
		b.Skip(err)
	}
	rd := bytes.NewReader(data)
	br := bufio.NewReaderSize(rd, 1<<20)
	var r *pcapReader
	open := func() {
		rd.Reset(data)
		br.Reset(rd)
		if r, err = newPCAPReader(br, new(Damage)); err != nil {
			b.Fatal(err)
		}
	}
	open()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		_, _, _, err := r.next()
		if errors.Is(err, io.EOF) {
			open()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkNgRead reads a pcapng copy of the demo capture's packets in
// place and reports packets per second; BenchmarkNgReadPcapgo reads them
// with pcapgo, which the file source used before.
func BenchmarkNgRead(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "demo.pcap"))
	if err != nil {
		b.Skip(err)
	}
	data = toPcapng(b, data)
	rd := bytes.NewReader(data)
	br := bufio.NewReaderSize(rd, 1<<20)
	var r *ngReader
	open := func() {
		rd.Reset(data)
		br.Reset(rd)
		if r, err = newNgReader(br, new(Damage)); err != nil {
			b.Fatal(err)
		}
	}
	open()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		_, _, _, _, err := r.next()
		if errors.Is(err, io.EOF) {
			open()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkNgReadPcapgo(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "demo.pcap"))
	if err != nil {
		b.Skip(err)
	}
	data = toPcapng(b, data)
	rd := bytes.NewReader(data)
	var r *pcapgo.NgReader
	open := func() {
		rd.Reset(data)
		if r, err = pcapgo.NewNgReader(rd, pcapgo.NgReaderOptions{WantMixedLinkType: true}); err != nil {
			b.Fatal(err)
		}
	}
	open()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		_, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			open()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
