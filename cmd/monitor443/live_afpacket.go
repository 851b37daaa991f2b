//go:build linux && cgo

package main

import (
	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/capture/afpacket"
)

func init() {
	liveOpeners["afpacket"] = func(cfg *Config, iface string, workers int) ([]capture.Source, error) {
		socks, err := afpacket.Open(afpacket.Config{
			Interface: iface, Workers: workers, RingMiB: cfg.Capture.RingMiB,
			TCPPorts: cfg.Capture.TCPPorts, UDPPorts: cfg.Capture.UDPPorts,
		})
		if err != nil {
			return nil, err
		}
		out := make([]capture.Source, len(socks))
		for i, s := range socks {
			out[i] = s
		}
		return out, nil
	}
}
