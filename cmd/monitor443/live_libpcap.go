//go:build libpcap && cgo

package main

import (
	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/capture/libpcap"
)

func init() {
	liveOpeners["libpcap"] = func(cfg *Config, iface string, workers int) ([]capture.Source, error) {
		// libpcap has no fanout: one handle, sharded by flow hash.
		s, err := libpcap.Open(libpcap.Config{
			Interface: iface, SnapLen: cfg.Capture.SnapLen, BufferMiB: cfg.Capture.RingMiB,
			Promiscuous: cfg.Capture.Promiscuous, TCPPorts: cfg.Capture.TCPPorts, UDPPorts: cfg.Capture.UDPPorts,
		})
		if err != nil {
			return nil, err
		}
		if workers <= 1 {
			return []capture.Source{s}, nil
		}
		return capture.Shard(s, capture.ShardConfig{Workers: workers, TickNanos: int64(cfg.Detection.Interval)}), nil
	}
}
