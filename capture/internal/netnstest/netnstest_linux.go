//go:build linux

// Package netnstest holds the helpers shared by the live capture tests of
// capture/afpacket and capture/libpcap: checking capabilities, running
// commands, joining a named network namespace and running nginx in the
// lab built by capture/afpacket/testdata/tlslab.sh. Only tests import it.
package netnstest

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
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Capability bit numbers (linux/capability.h).
const (
	CapNetAdmin = 12
	CapNetRaw   = 13
	CapSysAdmin = 21
)

// EffectiveCaps returns the process's effective capability set, read from
// the CapEff line of /proc/self/status. It skips the test if that file
// cannot be read or has no CapEff line, and fails it if the line does not
// parse.
func EffectiveCaps(t testing.TB) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("live capture test: cannot read capabilities: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("parse CapEff %q: %v", v, err)
			}
			return caps
		}
	}
	t.Skip("live capture test: no CapEff line in /proc/self/status")
	return 0
}

// HasCaps reports whether the process's effective capability set (see
// EffectiveCaps) holds every one of the capability bits caps. Callers skip
// with their own message when it does not.
func HasCaps(t testing.TB, caps ...uint) bool {
	t.Helper()
	eff := EffectiveCaps(t)
	for _, c := range caps {
		if eff&(1<<c) == 0 {
			return false
		}
	}
	return true
}

// Run runs the command name with args, bounded by ctx and by 15 seconds,
// and returns its combined standard output and standard error.
func Run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// InNetns runs fn on a dedicated OS thread that has joined the network
// namespace /run/netns/name, and returns fn's error, joined with any error
// from restoring the thread's original namespace. Sockets created by fn
// belong to that namespace and keep working from any thread afterwards. If
// the thread cannot return to its original namespace it stays locked, so
// the Go runtime retires it.
func InNetns(name string, fn func() error) error {
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
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("restore netns: %w", err))
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// LookNginx returns the path of the nginx binary: the one in PATH, else
// /usr/sbin/nginx (often outside a non-root PATH). It skips the test if
// there is neither.
func LookNginx(t testing.TB) string {
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

// StartNginx starts the nginx binary bin in the network namespace ns with
// the configuration the lab script wrote to dir (nginx.conf, logging to
// error.log, pid file nginx.pid), and waits up to 10 seconds for nginx to
// write its pid file, which it does after opening its listening sockets. It
// fails the test if nginx exits or does not write the pid file in time.
//
// "ip netns exec" execs nginx in place, so the started process is the nginx
// master. A t.Cleanup stops it by its pid with SIGTERM (stopping its worker
// too) and, should it ignore that for 5 seconds, reports an error and kills
// it. Should the test binary crash, the kernel sends nginx SIGTERM.
func StartNginx(t testing.TB, bin, ns, dir string) {
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

	pidFile := filepath.Join(dir, "nginx.pid")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(pidFile)
		if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			return
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited early: %v\n%s%s", err, out.String(), log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not write %s with pid %d within 10s (read %q, %v)", pidFile, cmd.Process.Pid, b, err)
		}
	}
}
