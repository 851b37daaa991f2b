package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

const synthUsage = `monitor443 synth: write a synthetic TCP/443 capture.

Deterministic for a seed: the same flags give the same bytes. Traffic has
full TCP handshakes, ClientHellos from several client stacks (Chrome and
Firefox hellos span two segments), server flights, heavy-tailed transfers,
IPv6 and VLAN frames, an optional time-of-day curve, and injected events
listed in a truth file. Use it for fire drills ("does my alert reach the
chat channel?"), benchmarks and the detection evaluation.

Usage:
  monitor443 synth [flags] -o FILE

Events (-event, repeatable): KIND@START+DURATION:RATE[:TARGET], e.g.
  -event syn_flood@90s+10s:150            150 spoofed SYN/s at server 0 for 10s
  -event bandwidth_spike@2m+30s:5000000   a 5 MB/s transfer
  -event request_burst@5m+1m:40:1         40 ClientHellos/s from one client to server 1
  -event quic_flood@1m+20s:500            500 spoofed QUIC Initials/s at server 0's UDP/443
Kinds: %s.

Flags:
`

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("monitor443 synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out      = fs.String("o", "", "write the capture to `FILE` (pcap; \"-\" = stdout)")
		truthOut = fs.String("truth", "", "write the injected events as JSON to `FILE`")
		preset   = fs.String("preset", "demo", "start from a named `PRESET`: "+strings.Join(presetNames(), ", "))
		seed     = fs.Uint64("seed", 0, "random `SEED` (default: the preset's)")
		duration = fs.Duration("duration", 0, "capture `DURATION` (default: the preset's)")
		rate     = fs.Float64("rate", 0, "mean benign connections per second (default: the preset's)")
		start    = fs.String("start", "", "packet time of the first packet, RFC 3339 (default: the preset's)")
		diurnal  = fs.String("diurnal", "", "time-of-day rate curve: on or off (default: the preset's)")
		noEvents = fs.Bool("no-events", false, "drop the preset's events")
		quicFrac = fs.Float64("quic", -1, "`FRACTION` of benign connections made over QUIC (HTTP/3 on UDP/443), 0 to 1 (default: the preset's)")
		events   stringList
	)
	fs.Var(&events, "event", "inject an event `KIND@START+DURATION:RATE[:TARGET]` (repeatable)")
	var kinds []string
	for _, k := range synth.EventKinds() {
		kinds = append(kinds, k.String())
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, synthUsage, strings.Join(kinds, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, ok := synth.Presets()[*preset]
	if !ok {
		fmt.Fprintf(stderr, "monitor443 synth: unknown preset %q (have %s)\n", *preset, strings.Join(presetNames(), ", "))
		return 2
	}
	var errs []error
	if *out == "" {
		errs = append(errs, errors.New("-o FILE is required"))
	}
	if *seed != 0 {
		cfg.Seed = *seed
	}
	if *duration != 0 {
		cfg.Duration = *duration
	}
	if *rate != 0 {
		cfg.ConnRate = *rate
	}
	if *quicFrac >= 0 {
		cfg.QUICFraction = *quicFrac
	}
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			errs = append(errs, fmt.Errorf("-start: %w", err))
		}
		cfg.Start = t
	}
	switch *diurnal {
	case "":
	case "on":
		cfg.Diurnal = true
	case "off":
		cfg.Diurnal = false
	default:
		errs = append(errs, fmt.Errorf("-diurnal: want on or off, got %q", *diurnal))
	}
	if *noEvents {
		cfg.Events = nil
	}
	for _, e := range events {
		ev, err := parseEvent(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("-event %q: %w", e, err))
			continue
		}
		cfg.Events = append(cfg.Events, ev)
	}
	if len(errs) == 0 {
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "monitor443 synth: %v\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintf(stderr, "monitor443 synth: %v\n", err)
			return 1
		}
		w = f
	}
	// The generator runs until its capture is complete; an interrupt
	// (Ctrl-C, SIGTERM) stops it at the next megabyte written.
	bw := bufio.NewWriterSize(ctxWriter{ctx, w}, 1<<20)
	t0 := time.Now()
	truth, err := synth.Generate(bw, cfg)
	if ctx.Err() != nil {
		if f != nil {
			f.Close()
		}
		fmt.Fprintf(stderr, "monitor443 synth: interrupted after %s; the capture is cut short and no truth file was written\n",
			time.Since(t0).Round(time.Millisecond))
		return 130
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "monitor443 synth: %v\n", err)
		return 1
	}
	if *truthOut != "" {
		tf, err := os.Create(*truthOut)
		if err == nil {
			err = truth.WriteJSON(tf)
			if cerr := tf.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "monitor443 synth: truth: %v\n", err)
			return 1
		}
	}
	el := time.Since(t0)
	fmt.Fprintf(stderr, "monitor443 synth: %d packets, %s, %d connections, %d events, %s of traffic in %s (%.0f packets/s)\n",
		truth.Packets, humanBytes(int64(truth.Bytes)), truth.Connections, len(truth.Events),
		truth.End.Sub(truth.Start).Round(time.Second), el.Round(time.Millisecond), float64(truth.Packets)/el.Seconds())
	return 0
}

func presetNames() []string {
	var names []string
	for n := range synth.Presets() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseEvent reads KIND@START+DURATION:RATE[:TARGET].
func parseEvent(s string) (synth.Event, error) {
	var ev synth.Event
	kind, rest, ok := strings.Cut(s, "@")
	if !ok {
		return ev, errors.New("want KIND@START+DURATION:RATE[:TARGET]")
	}
	k, err := synth.ParseEventKind(kind)
	if err != nil {
		return ev, err
	}
	ev.Kind = k
	when, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return ev, errors.New("missing :RATE")
	}
	st, dur, ok := strings.Cut(when, "+")
	if !ok {
		return ev, errors.New("missing +DURATION")
	}
	if ev.Start, err = time.ParseDuration(st); err != nil {
		return ev, fmt.Errorf("start: %w", err)
	}
	if ev.Duration, err = time.ParseDuration(dur); err != nil {
		return ev, fmt.Errorf("duration: %w", err)
	}
	r, target, hasTarget := strings.Cut(rest, ":")
	if ev.Rate, err = strconv.ParseFloat(r, 64); err != nil {
		return ev, fmt.Errorf("rate: %w", err)
	}
	if hasTarget {
		if ev.Target, err = strconv.Atoi(target); err != nil {
			return ev, fmt.Errorf("target: %w", err)
		}
	}
	return ev, nil
}

// ctxWriter fails every write once ctx is done, so that a long generation
// stops on an interrupt.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
