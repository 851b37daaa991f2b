//go:build libpcap && cgo

package libpcap

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket/pcap"
	"github.com/monitor443/monitor443/capture"
)

// Config says where and how to capture.
type Config struct {
	// Interface is the device to open ("any" works on Linux).
	Interface string
	// SnapLen is the capture length per frame (default 262144).
	SnapLen int
	// BufferMiB is the kernel buffer size (default 64).
	BufferMiB int
	// Promiscuous puts the interface in promiscuous mode.
	Promiscuous bool
	// PollTimeout is how long a Read waits before it returns
	// capture.ErrTimeout (default 250 ms).
	PollTimeout time.Duration
	// TCPPorts and UDPPorts become a libpcap filter expression compiled
	// into kernel BPF.
	TCPPorts, UDPPorts []uint16
}

// Source reads one libpcap handle.
type Source struct {
	h     *pcap.Handle
	iface string
	link  capture.LinkType
	// closed is set by Close, under mu; Read checks it so that a Read
	// after Close returns capture.ErrClosed rather than touching a freed
	// handle.
	closed atomic.Bool
	mu     sync.Mutex
	last   capture.Stats
}

var _ capture.Source = (*Source)(nil)
var _ capture.StatsSource = (*Source)(nil)

// FilterExpr returns the libpcap filter for the monitored ports, matching
// untagged and 802.1Q-tagged frames.
func FilterExpr(tcpPorts, udpPorts []uint16) string {
	var parts []string
	for _, p := range tcpPorts {
		parts = append(parts, fmt.Sprintf("tcp port %d", p))
	}
	for _, p := range udpPorts {
		parts = append(parts, fmt.Sprintf("udp port %d", p))
	}
	if len(parts) == 0 {
		return ""
	}
	e := strings.Join(parts, " or ")
	return fmt.Sprintf("(%s) or (vlan and (%s))", e, e)
}

// Open opens cfg.Interface.
func Open(cfg Config) (*Source, error) {
	if cfg.SnapLen <= 0 {
		cfg.SnapLen = 262144
	}
	if cfg.BufferMiB <= 0 {
		cfg.BufferMiB = 64
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 250 * time.Millisecond
	}
	in, err := pcap.NewInactiveHandle(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("libpcap %s: %w", cfg.Interface, err)
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(cfg.SnapLen) },
		func() error { return in.SetPromisc(cfg.Promiscuous) },
		func() error { return in.SetTimeout(cfg.PollTimeout) },
		func() error { return in.SetBufferSize(cfg.BufferMiB << 20) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("libpcap %s: %w", cfg.Interface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		if strings.Contains(err.Error(), "ermission") || strings.Contains(err.Error(), "not permitted") {
			err = fmt.Errorf("%w: %w", capture.ErrPermission, err)
		}
		return nil, fmt.Errorf("libpcap %s: %w", cfg.Interface, err)
	}
	if expr := FilterExpr(cfg.TCPPorts, cfg.UDPPorts); expr != "" {
		if err := h.SetBPFFilter(expr); err != nil {
			h.Close()
			return nil, fmt.Errorf("libpcap %s: filter %q: %w", cfg.Interface, expr, err)
		}
	}
	return &Source{h: h, iface: cfg.Interface, link: capture.LinkType(h.LinkType())}, nil
}

// Read implements capture.Source. The frame aliases libpcap's buffer and
// is valid until the next Read.
func (s *Source) Read(f *capture.Frame) error {
	if s.closed.Load() {
		return capture.ErrClosed
	}
	data, ci, err := s.h.ZeroCopyReadPacketData()
	switch {
	case err == nil:
		f.Data, f.Timestamp, f.Length, f.LinkType = data, ci.Timestamp.UnixNano(), ci.Length, s.link
		return nil
	case errors.Is(err, pcap.NextErrorTimeoutExpired):
		f.Data, f.Length, f.Timestamp = nil, 0, time.Now().UnixNano()
		return capture.ErrTimeout
	case errors.Is(err, pcap.NextErrorNoMorePackets), errors.Is(err, io.EOF):
		// gopacket reports a closed or broken-off live handle as io.EOF;
		// a live source has no end of capture.
		return capture.ErrClosed
	}
	return fmt.Errorf("libpcap %s: read: %w", s.iface, err)
}

// Stats implements capture.StatsSource.
func (s *Source) Stats() (capture.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return s.last, nil
	}
	st, err := s.h.Stats()
	if err != nil {
		return capture.Stats{}, fmt.Errorf("libpcap %s: stats: %w", s.iface, err)
	}
	s.last = capture.Stats{Received: uint64(st.PacketsReceived), KernelDrops: uint64(st.PacketsDropped), InterfaceDrops: uint64(st.PacketsIfDropped)}
	return s.last, nil
}

// Close implements capture.Source. Call it from the reading goroutine, or
// after that goroutine stopped reading.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.Load() {
		s.closed.Store(true)
		s.h.Close()
	}
	return nil
}
