package synth

import (
	"io"
	"testing"
	"time"
)

func benchConfig() Config {
	cfg := Presets()["bench"]
	cfg.Duration = 24 * time.Hour // never runs out within a benchmark
	return cfg
}

// BenchmarkNext measures frames generated per second, steady state.
func BenchmarkNext(b *testing.B) {
	g, err := NewGenerator(benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	for range 200_000 { // warm up: fill the connection table
		g.Next()
	}
	b.ReportAllocs()
	var bytes int64
	start := time.Now()
	n := 0
	for b.Loop() {
		p, ok := g.Next()
		if !ok {
			b.Fatal("generator ran out")
		}
		bytes += int64(len(p.Data))
		n++
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n)/el, "packets/s")
	b.ReportMetric(float64(bytes)/float64(n), "bytes/packet")
}

// BenchmarkWritePCAP measures the whole path to a pcap stream.
func BenchmarkWritePCAP(b *testing.B) {
	cfg := benchConfig()
	cfg.Duration = 2 * time.Second
	b.ReportAllocs()
	var pkts uint64
	start := time.Now()
	for b.Loop() {
		g, err := NewGenerator(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.WritePCAP(io.Discard); err != nil {
			b.Fatal(err)
		}
		pkts += g.truth.Packets
	}
	b.ReportMetric(float64(pkts)/time.Since(start).Seconds(), "packets/s")
}

// BenchmarkAppendClientHello measures building a Chrome hello.
func BenchmarkAppendClientHello(b *testing.B) {
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	var seed uint64
	for b.Loop() {
		seed++
		buf = AppendClientHello(buf[:0], StackChrome, "www.shop-0.example", seed)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkNextRealistic measures frames per second with the realistic
// model of a large network (about 500 conn/s, TSO, Snaplen 256, roles and
// background): eval-cold-large without its event.
func BenchmarkNextRealistic(b *testing.B) {
	cfg := Presets()["eval-cold-large"]
	cfg.Events, cfg.Duration = nil, 24*time.Hour
	g, err := NewGenerator(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for range 2_000_000 { // warm up: fill the connection table
		g.Next()
	}
	b.ReportAllocs()
	var bytes, wire int64
	start := time.Now()
	n := 0
	for b.Loop() {
		p, ok := g.Next()
		if !ok {
			b.Fatal("generator ran out")
		}
		bytes += int64(len(p.Data))
		wire += int64(p.Length)
		n++
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n)/el, "packets/s")
	b.ReportMetric(float64(bytes)/float64(n), "bytes/packet")
	b.ReportMetric(float64(wire)/float64(n), "wire-bytes/packet")
}
