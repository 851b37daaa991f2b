//go:build linux && cgo

package afpacket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/capture/afpacket"
	"github.com/monitor443/monitor443/capture/internal/netnstest"
)

// The live tests build their own network with testdata/tlslab.sh:
//
//	netns server: veth 198.51.100.1, 2001:db8::1, nginx on :443 (TLS, h2) and :8080
//	netns client: veth 198.51.100.2, 2001:db8::2, curl
//
// and capture on the server's veth end, from inside the server namespace.
// They need root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN); elsewhere they
// skip. CI builds them with `go test -c -race` and runs the binary under sudo.

const (
	labScript  = "testdata/tlslab.sh"
	serverV4   = "198.51.100.1"
	serverV6   = "2001:db8::1"
	pollPeriod = 200 * time.Millisecond
)

// requireCaps skips the test unless the process holds every capability.
func requireCaps(t *testing.T, caps ...uint) {
	t.Helper()
	if !netnstest.HasCaps(t, caps...) {
		t.Skip("live capture test needs root (CAP_NET_RAW, CAP_NET_ADMIN and CAP_SYS_ADMIN for network namespaces); " +
			"build it with `go test -c -race ./capture/afpacket` and run afpacket.test as root from capture/afpacket")
	}
}

// lab is one throwaway server/client network pair.
type lab struct {
	id, dir            string
	serverNS, clientNS string
	serverIf, clientIf string
}

var labSeq atomic.Uint32

// newLab builds the namespaces and veth pair and registers their removal.
func newLab(t *testing.T) *lab {
	t.Helper()
	requireCaps(t, netnstest.CapNetAdmin, netnstest.CapNetRaw, netnstest.CapSysAdmin)
	for _, tool := range []string{"ip", "openssl", "sh", "bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live capture test needs %q in PATH (Debian packages iproute2, openssl, bash, curl): %v", tool, err)
		}
	}
	if _, err := os.Stat(labScript); err != nil {
		t.Fatalf("lab script: %v", err)
	}
	id := strconv.Itoa(os.Getpid()) + strconv.Itoa(int(labSeq.Add(1)%10))
	l := &lab{
		id:       id,
		dir:      t.TempDir(),
		serverNS: "m443-" + id + "-s",
		clientNS: "m443-" + id + "-c",
		serverIf: "m443s" + id,
		clientIf: "m443c" + id,
	}
	// Registered before "up" so that a half-built lab is removed too.
	t.Cleanup(func() {
		if out, err := netnstest.Run(context.Background(), "sh", labScript, "down", id); err != nil {
			t.Errorf("remove lab %s: %v\n%s", id, err, out)
		}
	})
	if out, err := netnstest.Run(t.Context(), "sh", labScript, "up", id, l.dir); err != nil {
		t.Fatalf("build lab %s: %v\n%s", id, err, out)
	}
	return l
}

// client runs a command in the client namespace.
func (l *lab) client(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return netnstest.Run(t.Context(), "ip", append([]string{"netns", "exec", l.clientNS}, args...)...)
}

// flowKey is a TCP or UDP 4-tuple in canonical order.
type flowKey struct {
	a, b  netip.AddrPort
	proto capture.Proto
}

func keyOf(p *capture.Packet) flowKey {
	a, b := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return flowKey{a, b, p.Proto}
}

// readerResult is what one reader goroutine saw. The reader owns it until
// it returns; lastIdle is also read by the test while the reader runs.
type readerResult struct {
	err                 error
	frames, early, kept int
	toServer, toClient  int
	syn, synAck, hellos int
	udp443              int
	flows               map[flowKey]int
	hello               []byte // the ClientHello segments, copied
	leaked              []string
	timeouts            int
	maxTimeoutRead      time.Duration
	badTimeoutClock     int
	lastIdle            atomic.Int64 // wall-clock ns at which the last timeout Read started
}

// prefilterKeeps reports whether capture.PortFilter passes a frame on by
// design without judging its ports: VLAN-tagged frames, IPv4 fragments and
// IPv6 packets with extension headers (MLD reports carry hop-by-hop options).
func prefilterKeeps(b []byte) bool {
	if len(b) < 24 {
		return false
	}
	switch uint16(b[12])<<8 | uint16(b[13]) {
	case 0x8100, 0x88a8, 0x9100:
		return true
	case 0x0800:
		return (uint16(b[20])<<8|uint16(b[21]))&0x1fff != 0
	case 0x86dd:
		switch b[20] {
		case 0, 43, 44, 60:
			return true
		}
	}
	return false
}

// readLoop reads s until stop is set, classifying every frame captured
// after openedAt (frames from before are counted in early and ignored: the
// socket sees traffic before the filter and fanout are attached).
func readLoop(s *afpacket.Source, r *readerResult, stop *atomic.Bool, openedAt int64) {
	dec := capture.NewDecoder(capture.DecoderConfig{TCPPorts: []uint16{443}, UDPPorts: []uint16{443}})
	r.flows = make(map[flowKey]int)
	var (
		f capture.Frame
		p capture.Packet
	)
	for !stop.Load() {
		start := time.Now()
		err := s.Read(&f)
		if errors.Is(err, capture.ErrTimeout) {
			d := time.Since(start)
			r.timeouts++
			r.maxTimeoutRead = max(r.maxTimeoutRead, d)
			if f.Timestamp < start.UnixNano() || f.Timestamp > time.Now().UnixNano() || f.Data != nil {
				r.badTimeoutClock++
			}
			r.lastIdle.Store(start.UnixNano())
			continue
		}
		if err != nil {
			r.err = err
			return
		}
		r.frames++
		if f.LinkType != capture.LinkEthernet || f.Length < len(f.Data) {
			r.leaked = append(r.leaked, fmt.Sprintf("bad frame: link type %d, length %d < captured %d", f.LinkType, f.Length, len(f.Data)))
			continue
		}
		if f.Timestamp < openedAt {
			r.early++
			continue
		}
		res := dec.Decode(&f, &p)
		if res != capture.ResultOK {
			if prefilterKeeps(f.Data) {
				r.kept++
			} else if len(r.leaked) < 20 {
				r.leaked = append(r.leaked, fmt.Sprintf("%s: % x", res, f.Data[:min(len(f.Data), 64)]))
			}
			continue
		}
		r.flows[keyOf(&p)]++
		if p.DstPort == 443 {
			r.toServer++
		} else {
			r.toClient++
		}
		if p.Proto == capture.ProtoUDP {
			if p.DstPort == 443 && bytes.Contains(p.Payload, []byte("m443-udp-probe")) {
				r.udp443++
			}
			continue
		}
		switch {
		case p.Flags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN && p.DstPort == 443:
			r.syn++
		case p.Flags.Has(capture.FlagSYN|capture.FlagACK) && p.SrcPort == 443:
			r.synAck++
		}
		// A TLS handshake record (0x16) whose first message is a
		// ClientHello (1), sent to the server.
		if p.DstPort == 443 && len(p.Payload) >= 6 && p.Payload[0] == 0x16 && p.Payload[5] == 1 {
			r.hellos++
			r.hello = append(r.hello, p.Payload...)
		}
	}
}

func TestLiveTLSFanout(t *testing.T) {
	l := newLab(t)
	netnstest.StartNginx(t, netnstest.LookNginx(t), l.serverNS, l.dir)

	var socks []*afpacket.Source
	err := netnstest.InNetns(l.serverNS, func() error {
		var err error
		socks, err = afpacket.Open(afpacket.Config{
			Interface:   l.serverIf,
			Workers:     2,
			RingMiB:     4,
			PollTimeout: pollPeriod,
			TCPPorts:    []uint16{443},
			UDPPorts:    []uint16{443},
		})
		return err
	})
	if err != nil {
		t.Fatalf("afpacket.Open in %s: %v", l.serverNS, err)
	}
	t.Cleanup(func() {
		for _, s := range socks {
			_ = s.Close()
		}
	})
	if len(socks) != 2 {
		t.Fatalf("Open returned %d sources, want 2", len(socks))
	}
	openedAt := time.Now().UnixNano()

	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		results = make([]*readerResult, len(socks))
	)
	for i, s := range socks {
		results[i] = new(readerResult)
		wg.Go(func() { readLoop(s, results[i], &stop, openedAt) })
	}
	stopReaders := sync.OnceFunc(func() { stop.Store(true); wg.Wait() })
	t.Cleanup(stopReaders) // before the Close cleanup above, as cleanups run last-in first-out

	// TLS on 443 with three SNIs, HTTP/1.1 and HTTP/2, IPv4 and IPv6.
	requests := []struct {
		sni, addr, proto, wantVersion string
	}{
		{"alpha.m443.test", serverV4, "--http1.1", "1.1"},
		{"beta.m443.test", serverV4, "--http2", "2"},
		{"gamma.m443.test", "[" + serverV6 + "]", "--http2", "2"},
	}
	for _, rq := range requests {
		out, err := l.client(t, "curl", "-sSk", "-g", "--max-time", "5", rq.proto, "-w", " http=%{http_version}",
			"--resolve", rq.sni+":443:"+rq.addr, "https://"+rq.sni+"/")
		if err != nil || !strings.Contains(out, "ok tls") || !strings.HasSuffix(out, "http="+rq.wantVersion) {
			t.Fatalf("curl %s %s: err %v, output %q (want body \"ok tls\", http=%s)", rq.sni, rq.proto, err, out, rq.wantVersion)
		}
	}
	// The monitored UDP port must pass the kernel filter too.
	if out, err := l.client(t, "bash", "-c", "echo m443-udp-probe > /dev/udp/"+serverV4+"/443"); err != nil {
		t.Fatalf("udp probe: %v\n%s", err, out)
	}
	// Traffic the kernel filter must drop: TCP to 8080, UDP to 4443 (and
	// the ICMP port-unreachable replies to both UDP probes), ARP and
	// neighbour discovery.
	if out, err := l.client(t, "curl", "-sS", "--max-time", "5", "http://"+serverV4+":8080/"); err != nil || !strings.Contains(out, "ok plain") {
		t.Fatalf("curl :8080: err %v, output %q", err, out)
	}
	if out, err := l.client(t, "bash", "-c", "echo m443-other > /dev/udp/"+serverV4+"/4443; echo m443-other > /dev/udp/"+serverV6+"/4443"); err != nil {
		t.Fatalf("udp other: %v\n%s", err, out)
	}
	// Stats is safe while the readers run.
	for i, s := range socks {
		if _, err := s.Stats(); err != nil {
			t.Errorf("socket %d: Stats during capture: %v", i, err)
		}
	}

	// Wait until both readers have started a Read on the now idle link
	// and seen it time out.
	idleFrom := time.Now().Add(50 * time.Millisecond).UnixNano()
	deadline := time.Now().Add(5 * time.Second)
	for _, r := range results {
		for r.lastIdle.Load() < idleFrom {
			if time.Now().After(deadline) {
				t.Fatal("readers saw no capture.ErrTimeout on the idle link within 5 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stopReaders()

	var (
		total    readerResult
		allFlows = map[flowKey][]int{}
	)
	for i, r := range results {
		t.Logf("socket %d: %d frames (%d before Open returned, %d kept by design), %d flows, %d timeouts (longest %v)",
			i, r.frames, r.early, r.kept, len(r.flows), r.timeouts, r.maxTimeoutRead)
		if r.err != nil {
			t.Errorf("socket %d: Read: %v", i, r.err)
		}
		for _, s := range r.leaked {
			t.Errorf("socket %d: frame passed the kernel filter: %s", i, s)
		}
		if r.timeouts == 0 {
			t.Errorf("socket %d: Read never returned capture.ErrTimeout", i)
		}
		if limit := pollPeriod + time.Second; r.maxTimeoutRead > limit {
			t.Errorf("socket %d: a Read that timed out took %v, want at most %v (poll timeout %v)", i, r.maxTimeoutRead, limit, pollPeriod)
		}
		if r.badTimeoutClock > 0 {
			t.Errorf("socket %d: %d timeouts returned a frame without the current wall-clock time or with data", i, r.badTimeoutClock)
		}
		for k := range r.flows {
			allFlows[k] = append(allFlows[k], i)
		}
		total.toServer += r.toServer
		total.toClient += r.toClient
		total.syn += r.syn
		total.synAck += r.synAck
		total.hellos += r.hellos
		total.udp443 += r.udp443
		total.hello = append(total.hello, r.hello...)
	}

	tcpFlows := 0
	for k, socks := range allFlows {
		if len(socks) != 1 {
			t.Errorf("flow %v %v-%v seen by sockets %v, want exactly one (fanout must keep a flow on one socket)", k.proto, k.a, k.b, socks)
		}
		if k.proto == capture.ProtoTCP {
			tcpFlows++
		}
	}
	if tcpFlows < len(requests) {
		t.Errorf("saw %d TCP flows on 443, want at least %d (one per curl)", tcpFlows, len(requests))
	}
	if total.toServer == 0 || total.toClient == 0 {
		t.Errorf("443 packets: %d to the server, %d to the client; want both directions", total.toServer, total.toClient)
	}
	if total.syn < len(requests) || total.synAck < len(requests) {
		t.Errorf("saw %d SYN and %d SYN-ACK, want at least %d of each", total.syn, total.synAck, len(requests))
	}
	if total.hellos < len(requests) {
		t.Errorf("saw %d ClientHello records, want at least %d", total.hellos, len(requests))
	}
	for _, rq := range requests {
		if !bytes.Contains(total.hello, []byte(rq.sni)) {
			t.Errorf("SNI %q not found in the captured ClientHellos", rq.sni)
		}
	}
	if total.udp443 == 0 {
		t.Error("the UDP probe to port 443 was not captured")
	}

	// Stats, Close, and Read and Stats after Close.
	var received uint64
	for i, s := range socks {
		st, err := s.Stats()
		if err != nil {
			t.Fatalf("socket %d: Stats: %v", i, err)
		}
		t.Logf("socket %d: %+v", i, st)
		received += st.Received
		if st.Received < uint64(results[i].frames) {
			t.Errorf("socket %d: Stats.Received = %d, but %d frames were read", i, st.Received, results[i].frames)
		}
		if st.KernelDrops != 0 {
			t.Errorf("socket %d: Stats.KernelDrops = %d, want 0 for a few kilobytes of traffic", i, st.KernelDrops)
		}
		if err := s.Close(); err != nil {
			t.Errorf("socket %d: Close: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("socket %d: second Close: %v", i, err)
		}
		var f capture.Frame
		if err := s.Read(&f); !errors.Is(err, capture.ErrClosed) {
			t.Errorf("socket %d: Read after Close = %v, want capture.ErrClosed", i, err)
		}
		after, err := s.Stats()
		if err != nil || after != st {
			t.Errorf("socket %d: Stats after Close = %+v, %v; want %+v, nil", i, after, err, st)
		}
	}
	if received == 0 {
		t.Error("Stats.Received is 0 on both sockets")
	}
}

func TestOpenNoSuchInterface(t *testing.T) {
	requireCaps(t, netnstest.CapNetRaw)
	const name = "m443-nosuch0"
	socks, err := afpacket.Open(afpacket.Config{Interface: name, Workers: 2, RingMiB: 1, TCPPorts: []uint16{443}})
	if err == nil {
		for _, s := range socks {
			_ = s.Close()
		}
		t.Fatalf("Open(%q) succeeded, want an error", name)
	}
	if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "no such network interface") {
		t.Errorf("Open(%q) error %q does not name the interface and the cause", name, err)
	}
	if errors.Is(err, capture.ErrPermission) {
		t.Errorf("Open(%q) error %q wraps capture.ErrPermission", name, err)
	}
}

// TestOpenWithoutCapNetRaw opens a socket without CAP_NET_RAW. When the
// process holds it, the test drops it from the effective set of one locked
// OS thread (capabilities are per thread on Linux) and restores it after.
func TestOpenWithoutCapNetRaw(t *testing.T) {
	if netnstest.EffectiveCaps(t)&(1<<netnstest.CapNetRaw) == 0 {
		socks, err := afpacket.Open(afpacket.Config{Interface: "lo", Workers: 1, RingMiB: 1})
		for _, s := range socks {
			_ = s.Close()
		}
		if !errors.Is(err, capture.ErrPermission) {
			t.Fatalf("Open without CAP_NET_RAW: error %v, want one wrapping capture.ErrPermission", err)
		}
		return
	}
	type outcome struct {
		socks []*afpacket.Source
		err   error
		setup error
	}
	done := make(chan outcome, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			runtime.UnlockOSThread()
			done <- outcome{setup: fmt.Errorf("capget: %w", err)}
			return
		}
		saved := data
		data[0].Effective &^= 1 << netnstest.CapNetRaw
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			runtime.UnlockOSThread()
			done <- outcome{setup: fmt.Errorf("capset: %w", err)}
			return
		}
		socks, err := afpacket.Open(afpacket.Config{Interface: "lo", Workers: 1, RingMiB: 1})
		if rerr := unix.Capset(&hdr, &saved[0]); rerr != nil {
			// Keep the thread locked: the runtime retires it.
			done <- outcome{socks, err, fmt.Errorf("restore capabilities: %w", rerr)}
			return
		}
		runtime.UnlockOSThread()
		done <- outcome{socks: socks, err: err}
	}()
	o := <-done
	for _, s := range o.socks {
		_ = s.Close()
	}
	if o.setup != nil {
		t.Fatal(o.setup)
	}
	if !errors.Is(o.err, capture.ErrPermission) {
		t.Fatalf("Open without CAP_NET_RAW: error %v, want one wrapping capture.ErrPermission", o.err)
	}
	if !strings.Contains(o.err.Error(), "lo") {
		t.Errorf("error %q does not name the interface", o.err)
	}
}
