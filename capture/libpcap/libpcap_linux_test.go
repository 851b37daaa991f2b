//go:build libpcap && cgo && linux

package libpcap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/capture/internal/netnstest"
	"github.com/monitor443/monitor443/capture/libpcap"
)

// TestLiveTLS captures one HTTPS request on a veth pair between two network
// namespaces of its own, built by ../afpacket/testdata/tlslab.sh (see that
// file and capture/afpacket's live test). It needs root; elsewhere it skips.
func TestLiveTLS(t *testing.T) {
	const (
		script  = "../afpacket/testdata/tlslab.sh"
		server  = "198.51.100.1"
		sni     = "pcap.m443.test"
		timeout = 200 * time.Millisecond
	)
	requireRoot(t)
	nginx := netnstest.LookNginx(t)
	id := strconv.Itoa(os.Getpid()) + "1"
	srvNS, cliNS, srvIf := "m443-"+id+"-s", "m443-"+id+"-c", "m443s"+id
	dir := t.TempDir()
	t.Cleanup(func() {
		if out, err := netnstest.Run(context.Background(), "sh", script, "down", id); err != nil {
			t.Errorf("remove lab: %v\n%s", err, out)
		}
	})
	if out, err := netnstest.Run(t.Context(), "sh", script, "up", id, dir); err != nil {
		t.Fatalf("build lab: %v\n%s", err, out)
	}
	netnstest.StartNginx(t, nginx, srvNS, dir)

	var src *libpcap.Source
	err := netnstest.InNetns(srvNS, func() (err error) {
		src, err = libpcap.Open(libpcap.Config{Interface: srvIf, BufferMiB: 2, PollTimeout: timeout, TCPPorts: []uint16{443}})
		return err
	})
	if err != nil {
		t.Fatalf("libpcap.Open in %s: %v", srvNS, err)
	}
	t.Cleanup(func() { _ = src.Close() })

	var (
		stop                           atomic.Bool
		lastIdle                       atomic.Int64
		wg                             sync.WaitGroup
		readErr                        error
		frames, toServer, toClient     int
		hellos                         int
		hello                          []byte
		leaked                         []string
		timeouts                       int
		maxTimeoutRead                 time.Duration
		dec                            = capture.NewDecoder(capture.DecoderConfig{TCPPorts: []uint16{443}})
		decodeResultOK                 int
		frameLinkType                  capture.LinkType
		badFrameLength, badTimeoutTime int
	)
	wg.Go(func() {
		var (
			f capture.Frame
			p capture.Packet
		)
		for !stop.Load() {
			start := time.Now()
			err := src.Read(&f)
			if errors.Is(err, capture.ErrTimeout) {
				timeouts++
				maxTimeoutRead = max(maxTimeoutRead, time.Since(start))
				if f.Timestamp < start.UnixNano() || f.Data != nil {
					badTimeoutTime++
				}
				lastIdle.Store(start.UnixNano())
				continue
			}
			if err != nil {
				readErr = err
				return
			}
			frames++
			frameLinkType = f.LinkType
			if f.Length < len(f.Data) {
				badFrameLength++
			}
			if dec.Decode(&f, &p) != capture.ResultOK {
				if len(leaked) < 10 {
					leaked = append(leaked, fmt.Sprintf("% x", f.Data[:min(64, len(f.Data))]))
				}
				continue
			}
			decodeResultOK++
			if p.DstPort == 443 {
				toServer++
			} else {
				toClient++
			}
			if p.DstPort == 443 && len(p.Payload) >= 6 && p.Payload[0] == 0x16 && p.Payload[5] == 1 {
				hellos++
				hello = append(hello, p.Payload...)
			}
		}
	})
	stopReader := sync.OnceFunc(func() { stop.Store(true); wg.Wait() })
	t.Cleanup(stopReader)

	client := func(args ...string) string {
		t.Helper()
		out, err := netnstest.Run(t.Context(), "ip", append([]string{"netns", "exec", cliNS}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := client("curl", "-sSk", "--max-time", "5", "--resolve", sni+":443:"+server, "https://"+sni+"/"); !strings.Contains(out, "ok tls") {
		t.Fatalf("curl https: output %q", out)
	}
	// The filter must drop this.
	if out := client("curl", "-sS", "--max-time", "5", "http://"+server+":8080/"); !strings.Contains(out, "ok plain") {
		t.Fatalf("curl :8080: output %q", out)
	}
	if _, err := src.Stats(); err != nil {
		t.Errorf("Stats during capture: %v", err)
	}

	idleFrom := time.Now().Add(50 * time.Millisecond).UnixNano()
	for deadline := time.Now().Add(5 * time.Second); lastIdle.Load() < idleFrom; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Read returned no capture.ErrTimeout on the idle link within 5 s")
		}
	}
	stopReader()

	t.Logf("%d frames (%d on 443: %d to the server, %d back), %d timeouts (longest %v)",
		frames, decodeResultOK, toServer, toClient, timeouts, maxTimeoutRead)
	if readErr != nil {
		t.Errorf("Read: %v", readErr)
	}
	if frames > 0 && frameLinkType != capture.LinkEthernet {
		t.Errorf("frame link type %d, want %d (Ethernet)", frameLinkType, capture.LinkEthernet)
	}
	if badFrameLength > 0 {
		t.Errorf("%d frames had Length < captured length", badFrameLength)
	}
	for _, s := range leaked {
		t.Errorf("frame passed the filter but is not TCP/443: %s", s)
	}
	if toServer == 0 || toClient == 0 {
		t.Errorf("443 packets: %d to the server, %d back; want both directions", toServer, toClient)
	}
	if hellos == 0 || !bytes.Contains(hello, []byte(sni)) {
		t.Errorf("saw %d ClientHellos; SNI %q found: %v", hellos, sni, bytes.Contains(hello, []byte(sni)))
	}
	if limit := timeout + time.Second; maxTimeoutRead > limit {
		t.Errorf("a Read that timed out took %v, want at most %v", maxTimeoutRead, limit)
	}
	if badTimeoutTime > 0 {
		t.Errorf("%d timeouts did not set the frame to the current wall-clock time without data", badTimeoutTime)
	}

	st, err := src.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	t.Logf("stats %+v", st)
	if st.Received < uint64(frames) || st.Received == 0 {
		t.Errorf("Stats.Received = %d, want at least the %d frames read and more than 0", st.Received, frames)
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	var f capture.Frame
	if err := src.Read(&f); !errors.Is(err, capture.ErrClosed) {
		t.Errorf("Read after Close = %v, want capture.ErrClosed", err)
	}
	if after, err := src.Stats(); err != nil || after != st {
		t.Errorf("Stats after Close = %+v, %v; want %+v, nil", after, err, st)
	}
}

func TestOpenNoSuchInterface(t *testing.T) {
	requireRoot(t)
	const name = "m443-nosuch0"
	src, err := libpcap.Open(libpcap.Config{Interface: name, TCPPorts: []uint16{443}})
	if err == nil {
		_ = src.Close()
		t.Fatalf("Open(%q) succeeded, want an error", name)
	}
	if !strings.Contains(err.Error(), name) || errors.Is(err, capture.ErrPermission) {
		t.Errorf("Open(%q) = %v; want an error naming the interface, not capture.ErrPermission", name, err)
	}
}

// requireRoot skips unless the process holds CAP_NET_RAW, CAP_NET_ADMIN and
// CAP_SYS_ADMIN and has the tools the lab needs.
func requireRoot(t *testing.T) {
	t.Helper()
	if !netnstest.HasCaps(t, netnstest.CapNetRaw, netnstest.CapNetAdmin, netnstest.CapSysAdmin) {
		t.Skip("live capture test needs root (CAP_NET_RAW, CAP_NET_ADMIN and CAP_SYS_ADMIN for network namespaces); " +
			"build it with `go test -c -race -tags libpcap ./capture/libpcap` and run libpcap.test as root from capture/libpcap")
	}
	for _, tool := range []string{"ip", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live capture test needs %q in PATH (Debian packages iproute2, openssl, curl)", tool)
		}
	}
}
