package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/monitor443/monitor443/capture"
)

// liveOpeners holds the live capture methods compiled into this binary,
// by name ("afpacket", "libpcap").
var liveOpeners = map[string]func(cfg *Config, iface string, workers int) ([]capture.Source, error){}

func openLive(cfg *Config, iface string, workers int) ([]capture.Source, error) {
	open, ok := liveOpeners[cfg.Capture.Method]
	if !ok && len(liveOpeners) == 0 {
		return nil, errors.New("this binary was built without live capture (cgo was off): install a C compiler and run make build, or read capture files with -r")
	}
	if !ok {
		var have []string
		for k := range liveOpeners {
			have = append(have, k)
		}
		return nil, fmt.Errorf("capture.method %q is not compiled into this binary (have: %s)", cfg.Capture.Method, strings.Join(have, ", "))
	}
	return open(cfg, iface, workers)
}

// defaultRouteInterface returns the interface of the IPv4 default route.
func defaultRouteInterface() (string, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return "", fmt.Errorf("cannot find the default route: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 2 && fields[1] == "00000000" && fields[0] != "Iface" {
			return fields[0], nil
		}
	}
	return "", errors.New("there is no default route; name an interface with -i")
}
