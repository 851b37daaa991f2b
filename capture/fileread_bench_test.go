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

// benchRecords reads records with next until the benchmark ends, reopening
// the input with open at its end, and reports records per second.
func benchRecords(b *testing.B, open func() error, next func() error) {
	b.Helper()
	if err := open(); err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		err := next()
		if errors.Is(err, io.EOF) {
			if err := open(); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// demoBytes returns the demo capture, as pcapng when ng is set.
func demoBytes(b *testing.B, ng bool) []byte {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "demo.pcap"))
	if err != nil {
		b.Skip(err)
	}
	if ng {
		data = toPcapng(b, data)
	}
	return data
}

// BenchmarkPCAPRead reads the demo capture's records in place, the replay's
// first step, and reports records per second. Zero allocations per record.
func BenchmarkPCAPRead(b *testing.B) {
	data := demoBytes(b, false)
	rd := bytes.NewReader(data)
	br := bufio.NewReaderSize(rd, 1<<20)
	var r *pcapReader
	benchRecords(b, func() (err error) {
		rd.Reset(data)
		br.Reset(rd)
		r, err = newPCAPReader(br, new(Damage))
		return err
	}, func() error {
		_, _, _, err := r.next()
		return err
	})
}

// BenchmarkNgRead reads a pcapng copy of the demo capture's packets in
// place and reports packets per second; BenchmarkNgReadPcapgo reads them
// with pcapgo, which the file source used before.
func BenchmarkNgRead(b *testing.B) {
	data := demoBytes(b, true)
	rd := bytes.NewReader(data)
	br := bufio.NewReaderSize(rd, 1<<20)
	var r *ngReader
	benchRecords(b, func() (err error) {
		rd.Reset(data)
		br.Reset(rd)
		r, err = newNgReader(br, new(Damage))
		return err
	}, func() error {
		_, _, _, _, err := r.next()
		return err
	})
}

func BenchmarkNgReadPcapgo(b *testing.B) {
	data := demoBytes(b, true)
	rd := bytes.NewReader(data)
	var r *pcapgo.NgReader
	benchRecords(b, func() (err error) {
		rd.Reset(data)
		r, err = pcapgo.NewNgReader(rd, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		return err
	}, func() error {
		_, _, err := r.ZeroCopyReadPacketData()
		return err
	})
}
