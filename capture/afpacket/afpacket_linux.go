//go:build linux && cgo

package afpacket

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/gopacket/afpacket"
	"github.com/monitor443/monitor443/capture"
)

// Config says where and how to capture.
type Config struct {
	// Interface is the network interface to read.
	Interface string
	// Workers is the number of sockets in the fanout group (one per
	// worker).
	Workers int
	// RingMiB is the ring size per socket in MiB (default 64).
	RingMiB int
	// FanoutGroup is the kernel fanout group ID (default: derived from the
	// process ID, so two monitor443 processes do not share a group).
	FanoutGroup uint16
	// PollTimeout is how long a Read waits before it returns
	// capture.ErrTimeout (default 250 ms).
	PollTimeout time.Duration
	// TCPPorts and UDPPorts feed the kernel BPF pre-filter. When both are
	// empty, no filter is installed.
	TCPPorts, UDPPorts []uint16
}

// Source reads one socket of the fanout group.
type Source struct {
	tp *afpacket.TPacket
	// closed is set by Close, under mu. Read checks it first: the ring
	// is unmapped on Close, so reading it afterwards would fault.
	closed    atomic.Bool
	mu        sync.Mutex
	iface     string
	statsBase capture.Stats
}

var _ capture.Source = (*Source)(nil)
var _ capture.StatsSource = (*Source)(nil)

const blockSize = 1 << 20

// Open opens cfg.Workers sockets on cfg.Interface in one fanout group.
func Open(cfg Config) ([]*Source, error) {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.RingMiB <= 0 {
		cfg.RingMiB = 64
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 250 * time.Millisecond
	}
	if cfg.FanoutGroup == 0 {
		cfg.FanoutGroup = uint16(os.Getpid())
	}
	prog, err := capture.PortFilter(cfg.TCPPorts, cfg.UDPPorts)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: %w", cfg.Interface, err)
	}
	out := make([]*Source, 0, cfg.Workers)
	closeAll := func() {
		for _, s := range out {
			_ = s.Close()
		}
	}
	for range cfg.Workers {
		tp, err := afpacket.NewTPacket(
			afpacket.OptInterface(cfg.Interface),
			afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
			afpacket.OptFrameSize(1<<16),
			afpacket.OptBlockSize(blockSize),
			afpacket.OptNumBlocks(cfg.RingMiB*(1<<20)/blockSize),
			afpacket.OptBlockTimeout(10*time.Millisecond),
			afpacket.OptPollTimeout(cfg.PollTimeout),
		)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("afpacket %s: %w", cfg.Interface, wrapPerm(err))
		}
		s := &Source{tp: tp, iface: cfg.Interface}
		out = append(out, s)
		if len(cfg.TCPPorts)+len(cfg.UDPPorts) > 0 {
			if err := tp.SetBPF(prog); err != nil {
				closeAll()
				return nil, fmt.Errorf("afpacket %s: set bpf filter: %w", cfg.Interface, err)
			}
		}
		if cfg.Workers > 1 {
			if err := tp.SetFanout(afpacket.FanoutHashWithDefrag, cfg.FanoutGroup); err != nil {
				closeAll()
				return nil, fmt.Errorf("afpacket %s: join fanout group %d: %w", cfg.Interface, cfg.FanoutGroup, err)
			}
		}
	}
	return out, nil
}

func wrapPerm(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", capture.ErrPermission, err)
	}
	return err
}

// Read implements capture.Source. The frame aliases the ring and is valid
// until the next Read.
func (s *Source) Read(f *capture.Frame) error {
	if s.closed.Load() {
		return capture.ErrClosed
	}
	data, ci, err := s.tp.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, syscall.EINTR) {
			f.Data, f.Length, f.Timestamp = nil, 0, time.Now().UnixNano()
			return capture.ErrTimeout
		}
		if s.closed.Load() {
			return capture.ErrClosed
		}
		return fmt.Errorf("afpacket %s: read: %w", s.iface, err)
	}
	f.Data, f.Timestamp, f.Length, f.LinkType = data, ci.Timestamp.UnixNano(), ci.Length, capture.LinkEthernet
	return nil
}

// Stats implements capture.StatsSource. It is safe for concurrent use.
func (s *Source) Stats() (capture.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return s.statsBase, nil
	}
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return capture.Stats{}, fmt.Errorf("afpacket %s: socket stats: %w", s.iface, err)
	}
	s.statsBase = capture.Stats{Received: uint64(v3.Packets()), KernelDrops: uint64(v3.Drops())}
	return s.statsBase, nil
}

// Close implements capture.Source. It unmaps the ring, so call it from the
// reading goroutine, or after that goroutine stopped reading; Read then
// returns capture.ErrClosed.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.Load() {
		s.closed.Store(true)
		s.tp.Close()
	}
	return nil
}
