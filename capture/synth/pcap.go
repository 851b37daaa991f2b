package synth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/monitor443/monitor443/capture"
)

// Generate writes the traffic described by cfg to w as a classic pcap file
// (Ethernet link type, microsecond timestamps, snap length 65535; frames
// cut by [Config.Snaplen] have a shorter captured than original length) and
// returns the ground truth. Output is buffered; w need not be.
func Generate(w io.Writer, cfg Config) (Truth, error) {
	g, err := NewGenerator(cfg)
	if err != nil {
		return Truth{}, err
	}
	if err := g.WritePCAP(w); err != nil {
		return Truth{}, err
	}
	return g.Truth(), nil
}

// WritePCAP writes every remaining frame of g to w as a pcap file.
func (g *Generator) WritePCAP(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], uint32(capture.LinkEthernet))
	if _, err := bw.Write(hdr[:]); err != nil {
		return fmt.Errorf("write pcap header: %w", err)
	}
	var rec [16]byte
	for {
		p, ok := g.Next()
		if !ok {
			break
		}
		us := p.Timestamp / 1000
		binary.LittleEndian.PutUint32(rec[0:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(rec[4:], uint32(us%1e6))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(p.Data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(p.Length))
		if _, err := bw.Write(rec[:]); err != nil {
			return fmt.Errorf("write pcap: %w", err)
		}
		if _, err := bw.Write(p.Data); err != nil {
			return fmt.Errorf("write pcap: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write pcap: %w", err)
	}
	return nil
}

var _ capture.Source = (*Generator)(nil)

// Read implements [capture.Source]: it fills f with the next frame, whose
// Data is valid until the next call, and returns io.EOF at the end.
func (g *Generator) Read(f *capture.Frame) error {
	p, ok := g.Next()
	if !ok {
		return io.EOF
	}
	f.Data, f.Timestamp, f.Length, f.LinkType = p.Data, p.Timestamp, p.Length, capture.LinkEthernet
	return nil
}

// Close implements [capture.Source]; the Generator holds no resources.
func (g *Generator) Close() error { return nil }
