// Command monitor443 is a passive traffic anomaly monitor for HTTPS: it
// reads packets from an interface or capture files, parses TCP/443 flows and
// TLS handshakes, learns what is normal and raises alerts on bandwidth
// spikes, request-rate bursts and SYN floods.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
