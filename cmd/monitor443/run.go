package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/monitor443/monitor443/alerting"
	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect"
	"github.com/monitor443/monitor443/detect/evaluate"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/prometheus/client_golang/prometheus"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	files         stringList
	iface         string
	replaySpeed   float64
	workers       int
	configFile    string
	configCheck   bool
	listenAddress string
	webConfig     string
	linger        time.Duration
	drainTimeout  time.Duration
	logLevel      string
	logFormat     string
	outputTLS     string
	outputAlerts  string
	outputReport  string
	progress      string
	showVersion   bool
	cpuProfile    string
}

const usageHead = `monitor443: passive HTTPS (TCP/443) traffic anomaly monitor.

It reads packets from a network interface (a tap or span port) or from
pcap/pcapng files, follows TCP/443 flows and TLS handshakes, learns what is
normal, and reports bandwidth spikes, request-rate bursts and SYN floods.

Usage:
  monitor443 [flags]                 capture live on the default-route interface
  monitor443 -i IFACE [flags]        capture live on IFACE (needs CAP_NET_RAW)
  monitor443 -r FILE [-r FILE] ...   replay capture files (pcap, pcapng, .gz; "-" = stdin)
  monitor443 report -r FILE -o HTML  replay files and write an HTML incident report (see: monitor443 report -help)
  monitor443 synth [flags] -o FILE   write a synthetic capture (see: monitor443 synth -help)
  monitor443 dashboards export DIR   write the Grafana dashboards (or: dashboards push, see -help)
  monitor443 eval -truth T -alerts A score alerts against a labelled capture's truth (see: monitor443 eval -help)

Flags say how the process runs; what to capture, detect and alert on lives
in the YAML file given with -config.file (see deploy/monitor443.example.yml).

Flags:
`

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("monitor443", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.files, "r", "read packets from `FILE` (pcap or pcapng, optionally gzip-compressed; \"-\" for stdin); repeat to read several files in order as one capture")
	fs.StringVar(&o.iface, "i", "", "capture live on `IFACE` (default: the interface of the default route, when no -r is given)")
	fs.Float64Var(&o.replaySpeed, "replay.speed", 0, "replay files at `X` times their captured pace (1 = real time); 0 replays as fast as possible")
	fs.IntVar(&o.workers, "workers", -1, "number of packet workers `N` (default: capture.workers from the config; 0 there means one per CPU live, 1 for files)")
	fs.StringVar(&o.configFile, "config.file", "", "YAML configuration `FILE` (default: built-in defaults, monitoring TCP and UDP port 443)")
	fs.BoolVar(&o.configCheck, "config.check", false, "validate the configuration, print the result and exit (status 2 when invalid)")
	fs.StringVar(&o.listenAddress, "web.listen-address", "", "serve /metrics, /healthz, /readyz and /api/v1/{alerts,status} on `ADDR` (default :9443 when capturing live; replays serve only when this is set; \"off\" disables)")
	fs.StringVar(&o.webConfig, "web.config.file", "", "exporter-toolkit web configuration `FILE` for TLS and basic auth on the web server")
	fs.DurationVar(&o.linger, "web.linger", 0, "after a replay ends, keep serving /metrics for `DURATION` so Prometheus can scrape the final values")
	fs.DurationVar(&o.drainTimeout, "alerting.drain-timeout", 30*time.Second, "on exit, wait up to `DURATION` for queued notifications to be delivered (the rest stay in the spool)")
	fs.StringVar(&o.logLevel, "log.level", "info", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log.format", "text", "log `FORMAT`: text or json")
	fs.StringVar(&o.outputTLS, "output.tls", "", "write one JSON object per TLS connection to `PATH` (\"-\" = stdout)")
	fs.StringVar(&o.outputAlerts, "output.alerts", "", "write alert events (firing, resolved) as JSON Lines to `PATH` (\"-\" = stdout)")
	fs.StringVar(&o.outputReport, "output.report", "", "when the run ends, write a self-contained HTML report (timelines, incidents, TLS posture, capture health) to `PATH`")
	fs.StringVar(&o.progress, "progress", "auto", "show replay progress on stderr: auto (when stderr is a terminal), always or never")
	fs.BoolVar(&o.showVersion, "version", false, "print version and build information and exit")
	fs.StringVar(&o.cpuProfile, "debug.cpuprofile", "", "write a Go CPU profile of the run to `FILE` (for performance reports)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	return fs
}

// run is the whole program; main only adds signals and the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return runReport(ctx, args[1:], stdin, stdout, stderr)
		case "synth":
			return runSynth(ctx, args[1:], stdout, stderr)
		case "dashboards":
			return runDashboards(ctx, args[1:], stdout, stderr)
		case "eval":
			return evaluate.Main(args[1:], stdout, stderr)
		}
	}
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "monitor443: unexpected argument %q (files are given with -r)\n", fs.Arg(0))
		return 2
	}
	if o.showVersion {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	logger, err := newLogger(o.logLevel, o.logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "monitor443: %v\n", err)
		return 2
	}
	cfg, err := loadConfig(o.configFile)
	if err != nil {
		fmt.Fprintf(stderr, "monitor443: invalid configuration %s:\n", o.configFile)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "  %s\n", line)
		}
		return 2
	}
	if o.configCheck {
		fmt.Fprintf(stdout, "configuration %q is valid\n", o.configFile)
		return 0
	}
	if len(o.files) > 0 && o.iface != "" {
		fmt.Fprintln(stderr, "monitor443: -r and -i cannot be used together")
		return 2
	}
	if o.replaySpeed < 0 {
		fmt.Fprintln(stderr, "monitor443: -replay.speed must be >= 0")
		return 2
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "monitor443: -debug.cpuprofile: %v\n", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "monitor443: -debug.cpuprofile: %v\n", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	workers := cfg.Capture.Workers
	if o.workers >= 0 {
		workers = o.workers
	}
	if err := serve(ctx, &o, &cfg, workers, logger, stdin, stdout, stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "monitor443: %v\n", err)
			return 2
		}
		logger.Error("monitor443 stopped", "err", err)
		return 1
	}
	return 0
}

// usageError is an error the user can fix with other flags or a config.
type usageError struct{ error }

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log.level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log.format: %q is not text or json", format)
}

// serve opens the sources, runs the engine and prints the summary.
func serve(ctx context.Context, o *options, cfg *Config, workers int, logger *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) error {
	start := time.Now()
	var (
		srcs []capture.Source
		file *capture.FileSource
	)
	if len(o.files) > 0 {
		fsrc, err := capture.OpenFiles(o.files, stdin)
		if err != nil {
			return usageError{err}
		}
		file = fsrc
		if workers <= 0 {
			workers = 1
		}
		var src capture.Source = fsrc
		src = capture.Paced(src, o.replaySpeed)
		if workers == 1 {
			srcs = []capture.Source{src}
		} else {
			srcs = capture.Shard(src, capture.ShardConfig{Workers: workers, TickNanos: int64(cfg.Detection.Interval)})
		}
		logger.Info("replaying capture files", "files", len(o.files), "workers", workers)
	} else {
		iface := o.iface
		if iface == "" {
			iface = cfg.Capture.Interface
		}
		if iface == "" {
			var err error
			if iface, err = defaultRouteInterface(); err != nil {
				return usageError{fmt.Errorf("no -i or -r given and %w", err)}
			}
		}
		if workers <= 0 {
			workers = runtime.NumCPU()
		}
		s, err := openLive(cfg, iface, workers)
		if err != nil {
			if errors.Is(err, capture.ErrPermission) {
				return usageError{fmt.Errorf("%w\nLive capture needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode). Run as root, or grant the binary the capabilities once:\n  sudo setcap cap_net_raw,cap_net_admin=eip %s\nor read a capture file with -r FILE", err, executable())}
			}
			return usageError{err}
		}
		srcs = s
		logger.Info("capturing live", "interface", iface, "method", cfg.Capture.Method, "workers", workers)
	}
	outs := map[string]*jsonLines{}
	tlsOut, err := openJSONLines(o.outputTLS, stdout, outs)
	if err != nil {
		return usageError{err}
	}
	alertOut, err := openJSONLines(o.outputAlerts, stdout, outs)
	if err != nil {
		return usageError{err}
	}
	rep, err := newReportOutput(o.outputReport, o, cfg.Detection.Interval)
	if err != nil {
		return usageError{err}
	}
	var block detect.Blocklist
	if cfg.TLS.BlocklistFile != "" {
		f, err := os.Open(cfg.TLS.BlocklistFile)
		if err != nil {
			return usageError{fmt.Errorf("tls.blocklist_file: %w", err)}
		}
		block, err = detect.ParseBlocklist(f, cfg.TLS.BlocklistFile)
		f.Close()
		if err != nil {
			return usageError{err}
		}
	}
	var tlsRecords, alerts, anomaliesDropped atomic.Uint64
	anomalies := make(chan detect.Anomaly, 1024)
	book := newAlertBook()
	var mgr *alerting.Manager
	reg := newRegistry()
	if cfg.Alerting != nil {
		m, err := alerting.NewManager(*cfg.Alerting, alerting.Deps{}, logger, reg)
		if err != nil {
			return usageError{fmt.Errorf("alerting: %w", err)}
		}
		mgr = m
	}
	ecfg := detect.Config{
		Decoder:  capture.DecoderConfig{TCPPorts: cfg.Capture.TCPPorts, UDPPorts: cfg.Capture.UDPPorts},
		Interval: cfg.Detection.Interval,
		Flow: flow.TableConfig{
			MaxFlows: cfg.Flows.MaxFlows, MaxHalfOpen: cfg.Flows.MaxHalfOpen,
			IdleTimeout: cfg.Flows.IdleTimeout, HalfOpenTimeout: cfg.Flows.HalfOpenTimeout, ClosedTimeout: cfg.Flows.ClosedTimeout,
			ClientStreamCap: cfg.TLS.MaxHelloBytes, ServerStreamCap: cfg.TLS.MaxServerBytes, MaxReassembly: cfg.Flows.MaxReassembly,
		},
		Blocklist:    block,
		Detection:    cfg.Detection.Stat,
		StateDir:     cfg.Detection.StateDir,
		Hygiene:      cfg.TLS.Hygiene,
		ResolveAfter: cfg.Detection.ResolveAfter,
		Lossless:     file != nil,
		// Anomalies cross a bounded queue to the alerting goroutine, so
		// disk and network work never stalls detection. A replay waits
		// when the queue is full; live capture drops and counts.
		OnAnomaly: func(a detect.Anomaly) {
			if a.State == detect.StateFiring {
				alerts.Add(1)
			}
			book.observe(a)
			if file != nil {
				anomalies <- a
				return
			}
			select {
			case anomalies <- a:
			default:
				anomaliesDropped.Add(1)
				logger.Warn("alert queue full; anomaly dropped", "kind", a.Kind, "state", a.State, "target", a.Target)
			}
		},
	}
	alertsDone := make(chan struct{})
	// The alerting manager resolves an incident its producer stops
	// reporting (alerting.resolve_after), so incidents that are still
	// firing are reported again periodically.
	heartbeat := time.Minute
	if cfg.Alerting != nil && cfg.Alerting.ResolveAfter/3 < heartbeat {
		heartbeat = max(time.Second, cfg.Alerting.ResolveAfter/3)
	}
	go func() {
		defer close(alertsDone)
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		for {
			select {
			case a, ok := <-anomalies:
				if !ok {
					return
				}
				if alertOut != nil {
					alertOut.Write(a)
					alertOut.Flush() // alerts are rare and wanted at once
				}
				if mgr != nil {
					if err := mgr.Observe(toAlert(a)); err != nil {
						logger.Warn("alert not queued for delivery", "err", err, "kind", a.Kind)
					}
				}
				logger.Debug("anomaly", "kind", a.Kind, "state", a.State, "target", a.Target, "summary", a.Summary)
			case <-tick.C:
				if mgr == nil {
					continue
				}
				for _, a := range book.list() {
					if err := mgr.Observe(toAlert(a)); err != nil {
						logger.Warn("alert not refreshed", "err", err, "kind", a.Kind)
					}
				}
			}
		}
	}()
	var top *topSNI
	if cfg.TLS.TopSNI > 0 {
		top = newTopSNI(cfg.TLS.TopSNI)
		reg.MustRegister(top)
	}
	if tlsOut != nil || top != nil {
		ecfg.OnTLS = func(r *detect.TLSRecord) {
			tlsRecords.Add(1)
			if top != nil {
				top.observe(r.SNI)
			}
			if tlsOut != nil {
				tlsOut.Write(r)
			}
		}
	}
	// When the report is the only reader of TLS records, they carry the
	// summary fields it shows, not the full hello.
	// The report keeps no record after reading it, so records are reused.
	ecfg.TLSSummary = tlsOut == nil && top == nil
	ecfg.TLSReuse = ecfg.TLSSummary
	rep.wire(&ecfg)
	live := newLive(o, file != nil, &ecfg, book)
	eng := detect.NewEngine(ecfg, logger)
	if file != nil {
		reg.MustRegister(newFileCollector(file))
	}
	reg.MustRegister(newEngineCollector(eng), book,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "monitor443_detect_anomalies_dropped_total",
			Help: "Anomalies dropped because the queue to alerting was full (live capture only)."},
			func() float64 { return float64(anomaliesDropped.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "monitor443_detect_interval_seconds",
			Help: "The configured feature interval."},
			func() float64 { return cfg.Detection.Interval.Seconds() }))
	addr := o.listenAddress
	if addr == "" && file == nil {
		addr = ":9443"
	}
	var ws *webServer
	if addr != "" && addr != "off" {
		source := "live"
		if file != nil {
			source = "files"
		}
		st := func() status {
			t := eng.Totals()
			fs := eng.FlowStats()
			s := status{Version: versionString(), Started: start.UTC(), Source: source, Workers: len(srcs), Running: eng.Running(),
				Frames: t.Frames, Packets: t.Packets, Bytes: t.Bytes, Flows: fs.Flows, HalfOpen: fs.HalfOpen,
				Drops: eng.SourceStats().KernelDrops, Alerts: len(book.list())}
			for _, c := range eng.Counters() {
				if lp := c.LastPacket.Load(); lp > 0 && time.Unix(0, lp).After(s.LastPkt) {
					s.LastPkt = time.Unix(0, lp).UTC()
				}
			}
			if file != nil {
				s.FileRead, s.FileTotal = file.Progress()
				if d := file.Damage(); d.Any() {
					s.FileDamage = &fileDamage{Repaired: d.Repaired, SkippedRecords: d.SkippedRecords, SkippedBytes: d.SkippedBytes}
				}
			}
			return s
		}
		var err error
		if ws, err = startWeb(addr, o.webConfig, newMux(reg, eng, book, st, live), logger); err != nil {
			return err
		}
	}
	mgrCtx, mgrCancel := context.WithCancel(context.Background())
	mgrDone := make(chan struct{})
	if mgr != nil {
		go func() {
			defer close(mgrDone)
			_ = mgr.Run(mgrCtx)
		}()
	} else {
		close(mgrDone)
	}
	// Live output files are flushed every second, so readers (tail -f,
	// log shippers) see records without waiting for the exit.
	flushDone := make(chan struct{})
	flushStopped := make(chan struct{})
	go func() {
		defer close(flushStopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-flushDone:
				return
			case <-t.C:
				for _, j := range outs {
					j.Flush()
				}
			}
		}
	}()
	stopProgress := startProgress(o.progress, file, eng, stderr)
	err = eng.Run(ctx, srcs)
	stopProgress()
	close(anomalies)
	<-alertsDone
	if mgr != nil {
		drainAlerts(ctx, mgr, o.drainTimeout, logger)
	}
	mgrCancel()
	<-mgrDone
	if ws != nil {
		if file != nil && o.linger > 0 && ctx.Err() == nil {
			logger.Info("replay done; serving metrics until -web.linger ends", "linger", o.linger)
			select {
			case <-ctx.Done():
			case <-time.After(o.linger):
			}
		}
		if serr := ws.shutdown(); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	close(flushDone)
	<-flushStopped
	for _, j := range outs {
		if cerr := j.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	var damage capture.DamageCounts
	if file != nil {
		for _, w := range file.Warnings() {
			if errors.Is(w, capture.ErrDamaged) {
				logger.Warn("capture file damaged; resynchronised past damaged records", "err", w)
				continue
			}
			logger.Warn("capture file damaged; kept what was read", "err", w)
		}
		damage = file.Damage()
	}
	printSummary(stderr, eng, time.Since(start), ctx.Err() != nil, alerts.Load(), book, damage)
	if rerr := rep.write(eng, file, time.Since(start), ctx.Err() != nil, anomaliesDropped.Load(), stdout); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}

// drainAlerts waits until every queued notification is delivered, the
// deadline passes, or ctx ends; what is left stays in the spool.
func drainAlerts(ctx context.Context, m *alerting.Manager, timeout time.Duration, logger *slog.Logger) {
	deadline := time.Now().Add(timeout)
	for m.Pending() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if n := m.Pending(); n > 0 {
		logger.Warn("notifications still queued at exit; they stay in the spool for the next start", "pending", n)
	}
}

func executable() string {
	p, err := os.Executable()
	if err != nil {
		return "monitor443"
	}
	return p
}
