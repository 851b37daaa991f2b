package tlshello

// Test-only helpers that read the shared reference captures and rebuild the
// byte stream of each TCP direction well enough to reach the hellos. The
// production reassembly belongs to detect/flow; this one may allocate freely.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// sharedTestdata is the reference collection, relative to this package.
const sharedTestdata = "../../../shared/testdata"

func requireShared(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(sharedTestdata); err != nil {
		t.Skipf("shared reference captures not found at %s (they live next to the repository): %v", sharedTestdata, err)
	}
}

// captureFiles lists every capture in the shared collection, relative to it.
func captureFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(sharedTestdata, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if !d.IsDir() && (strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".cap")) {
			rel, _ := filepath.Rel(sharedTestdata, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", sharedTestdata, err)
	}
	slices.Sort(out)
	return out
}

// tuple is one direction of a TCP connection.
type tuple struct {
	src, dst     string
	sport, dport uint16
}

func (k tuple) String() string {
	return fmt.Sprintf("%s:%d->%s:%d", k.src, k.sport, k.dst, k.dport)
}

func (k tuple) reverse() tuple { return tuple{k.dst, k.src, k.dport, k.sport} }

type segment struct {
	seq  uint32
	data []byte
}

// halfStream collects the segments of one direction of one connection.
type halfStream struct {
	key      tuple
	stream   int // connection index in order of first appearance, like tcp.stream
	isn      uint32
	synSeen  bool
	segments []segment
	closed   bool // FIN or RST seen
}

// connections holds every TCP direction of a capture, in order of first
// appearance.
type connections struct {
	halves  []*halfStream
	byKey   map[tuple]*halfStream
	streams int
	// linkTypes records the link types met, for the report.
	linkTypes map[string]bool
	packets   int
}

// readCapture decodes every packet of a pcap or pcapng file and groups the
// TCP payloads by direction.
func readCapture(t testing.TB, rel string) *connections {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedTestdata, rel))
	if err != nil {
		t.Fatalf("open capture: %v", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	c := &connections{byKey: map[tuple]*halfStream{}, linkTypes: map[string]bool{}}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("pcapng %s: %v", rel, err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("pcapng %s: %v", rel, err)
			}
			iface, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				t.Fatalf("pcapng %s: interface %d: %v", rel, ci.InterfaceIndex, err)
			}
			c.add(t, rel, data, iface.LinkType)
		}
		return c
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		t.Fatalf("pcap %s: %v", rel, err)
	}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A truncated last record is common in cut captures.
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			t.Fatalf("pcap %s: %v", rel, err)
		}
		c.add(t, rel, data, r.LinkType())
	}
	return c
}

func (c *connections) add(t testing.TB, rel string, data []byte, lt layers.LinkType) {
	c.packets++
	c.linkTypes[lt.String()] = true
	pkt := gopacket.NewPacket(data, lt, gopacket.Default)
	var src, dst string
	var tcp *layers.TCP
	for _, l := range pkt.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			src, dst = l.SrcIP.String(), l.DstIP.String()
		case *layers.IPv6:
			src, dst = l.SrcIP.String(), l.DstIP.String()
		case *layers.TCP:
			tcp = l
		}
	}
	if tcp == nil || src == "" {
		return
	}
	key := tuple{src, dst, uint16(tcp.SrcPort), uint16(tcp.DstPort)}
	h := c.byKey[key]
	newConn := h == nil
	if h != nil && tcp.SYN && !tcp.ACK && h.synSeen && h.isn != tcp.Seq && h.closed {
		newConn = true // port reuse after the previous connection closed
	}
	if newConn {
		stream := c.streams
		if rev := c.byKey[key.reverse()]; rev != nil && !(tcp.SYN && !tcp.ACK) {
			stream = rev.stream
		} else {
			c.streams++
		}
		h = &halfStream{key: key, stream: stream}
		c.halves = append(c.halves, h)
		c.byKey[key] = h
	}
	if tcp.SYN {
		h.synSeen, h.isn = true, tcp.Seq
	}
	if tcp.FIN || tcp.RST {
		h.closed = true
	}
	if len(tcp.Payload) > 0 {
		h.segments = append(h.segments, segment{tcp.Seq, slices.Clone(tcp.Payload)})
	}
}

// maxTestStream caps the bytes rebuilt per direction; hellos sit at the start.
const maxTestStream = 256 << 10

// bytes rebuilds the in-order byte stream from the first byte after the SYN
// (or from the lowest sequence number seen when the SYN is missing), handling
// retransmissions, overlaps and out-of-order segments, and stopping at the
// first gap.
func (h *halfStream) bytes() []byte {
	if len(h.segments) == 0 {
		return nil
	}
	base := h.segments[0].seq
	if h.synSeen {
		base = h.isn + 1
	} else {
		for _, s := range h.segments {
			if int32(s.seq-base) < 0 {
				base = s.seq
			}
		}
	}
	segs := slices.Clone(h.segments)
	slices.SortStableFunc(segs, func(a, b segment) int {
		return int(int32(a.seq-base)) - int(int32(b.seq-base))
	})
	var out []byte
	for _, s := range segs {
		off := int(int32(s.seq - base))
		end := off + len(s.data)
		if end <= len(out) {
			continue // retransmission of bytes we have
		}
		if off > len(out) {
			break // gap
		}
		out = append(out, s.data[len(out)-off:]...)
		if len(out) >= maxTestStream {
			break
		}
	}
	return out
}
