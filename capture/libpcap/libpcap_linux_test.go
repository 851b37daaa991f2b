//go:build libpcap && cgo && linux

package libpcap_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/monitor443/monitor443/capture"
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
	nginx := lookNginx(t)
	id := strconv.Itoa(os.Getpid()) + "1"
	srvNS, cliNS, srvIf := "m443-"+id+"-s", "m443-"+id+"-c", "m443s"+id
	dir := t.TempDir()
	t.Cleanup(func() {
		if out, err := run(context.Background(), "sh", script, "down", id); err != nil {
			t.Errorf("remove lab: %v\n%s", err, out)
		}
	})
	if out, err := run(t.Context(), "sh", script, "up", id, dir); err != nil {
		t.Fatalf("build lab: %v\n%s", err, out)
	}
	startNginx(t, nginx, srvNS, dir)

	var src *libpcap.Source
	err := inNetns(srvNS, func() (err error) {
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
		out, err := run(t.Context(), "ip", append([]string{"netns", "exec", cliNS}, args...)...)
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
// CAP_SYS_ADMIN (bits 13, 12, 21) and has the tools the lab needs.
func requireRoot(t *testing.T) {
	t.Helper()
	const need = 1<<12 | 1<<13 | 1<<21
	var eff uint64
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
				eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			}
		}
		f.Close()
	}
	if eff&need != need {
		t.Skip("live capture test needs root (CAP_NET_RAW, CAP_NET_ADMIN and CAP_SYS_ADMIN for network namespaces); " +
			"build it with `go test -c -race -tags libpcap ./capture/libpcap` and run libpcap.test as root from capture/libpcap")
	}
	for _, tool := range []string{"ip", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live capture test needs %q in PATH (Debian packages iproute2, openssl, curl)", tool)
		}
	}
}

func lookNginx(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("nginx"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Skip("live capture test needs nginx: apt-get install -y nginx")
	return ""
}

// startNginx starts nginx in netns ns with the lab's config and registers
// stopping it by its pid ("ip netns exec" execs nginx in place).
func startNginx(t *testing.T, bin, ns, dir string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("ip", "netns", "exec", ns, bin,
		"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("nginx pid %d ignored SIGTERM; killing it", cmd.Process.Pid)
			_ = cmd.Process.Kill()
			<-done
		}
	})
	want := strconv.Itoa(cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, err := os.ReadFile(filepath.Join(dir, "nginx.pid")); err == nil && strings.TrimSpace(string(b)) == want {
			return
		}
		select {
		case err := <-done:
			done <- err
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited early: %v\n%s%s", err, out.String(), log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not write its pid file within 10 s")
		}
	}
}

// run runs a command with a 15 s bound and returns its combined output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// inNetns runs fn on a dedicated OS thread that has joined the named
// network namespace; libpcap's socket stays in that namespace. If the thread
// cannot return to its original namespace it stays locked and the runtime
// retires it.
func inNetns(name string, fn func() error) error {
	setns := func(f *os.File) error { return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET) }
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", name))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := setns(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("restore netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
