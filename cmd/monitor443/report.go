package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/cmd/monitor443/internal/report"
	"github.com/monitor443/monitor443/detect"
)

const reportUsage = `Usage: monitor443 report -r FILE [-r FILE] ... [-config.file FILE] -o report.html [flags]

Replays the capture files and writes one self-contained HTML report
(timelines with the alerts, one section per incident, TLS posture and
capture health) that opens offline. Any other flag of a replay may be
given too; a replay with -output.report PATH writes the same report.

`

// runReport is the report subcommand: a replay with -output.report.
func runReport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("monitor443 report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	replay := newFlagSet(&o, io.Discard)
	out := fs.String("o", "", "write the report to `PATH` (required)")
	replay.VisitAll(func(f *flag.Flag) {
		if f.Name != "output.report" {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	fs.Usage = func() {
		fmt.Fprint(stderr, reportUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || len(o.files) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "monitor443 report: give -r FILE and -o PATH (see monitor443 report -help)")
		return 2
	}
	// Rebuild the replay's arguments from the flags that were set.
	var rargs []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "o":
		case "r":
			for _, file := range o.files {
				rargs = append(rargs, "-r", file)
			}
		default:
			rargs = append(rargs, "-"+f.Name+"="+f.Value.String())
		}
	})
	rargs = append(rargs, "-output.report", *out)
	code := run(ctx, rargs, stdin, stdout, stderr)
	if code == 0 && *out != "-" {
		fmt.Fprintf(stdout, "report: %s\n", *out)
	}
	return code
}

// reportOutput records a run for -output.report.
type reportOutput struct {
	path    string
	sources []string
	rec     *report.Recorder
}

// newReportOutput returns nil when path is "". It checks that the
// report's folder exists, so a typo fails before the replay, not after.
func newReportOutput(path string, o *options, interval time.Duration) (*reportOutput, error) {
	if path == "" {
		return nil, nil
	}
	if path != "-" {
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("-output.report: folder of %q does not exist", path)
		}
	}
	src := append([]string(nil), o.files...)
	if len(src) == 0 {
		src = []string{"interface " + cmpOr(o.iface, "(default route)")}
	}
	return &reportOutput{path: path, sources: src, rec: report.New(report.Config{Interval: interval})}, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// wire makes the engine feed the recorder, after any hooks already set.
func (r *reportOutput) wire(c *detect.Config) {
	if r == nil {
		return
	}
	chainHooks(c, r.rec.Interval, r.rec.Anomaly, r.rec.TLS)
	if prev := c.OnServerInterval; prev != nil {
		c.OnServerInterval = func(start int64, m map[netip.AddrPort]detect.Features) {
			prev(start, m)
			r.rec.ServerInterval(start, m)
		}
	} else {
		c.OnServerInterval = r.rec.ServerInterval
	}
}

// newLive returns the live page's recorder, fed by c, when the web server
// will run (see serve), or nil.
func newLive(o *options, replay bool, c *detect.Config, book *alertBook) *report.Live {
	if a := o.listenAddress; a == "off" || (a == "" && replay) {
		return nil
	}
	live := report.NewLive(c.Interval, book.list)
	chainHooks(c, live.Interval, live.Anomaly, nil)
	return live
}

// chainHooks adds engine hooks after the ones already set; nil adds none.
func chainHooks(c *detect.Config, iv func(detect.Features), an func(detect.Anomaly), tls func(*detect.TLSRecord)) {
	if prev := c.OnInterval; prev != nil && iv != nil {
		c.OnInterval = func(f detect.Features) { prev(f); iv(f) }
	} else if iv != nil {
		c.OnInterval = iv
	}
	if prev := c.OnAnomaly; prev != nil && an != nil {
		c.OnAnomaly = func(a detect.Anomaly) { prev(a); an(a) }
	} else if an != nil {
		c.OnAnomaly = an
	}
	if prev := c.OnTLS; prev != nil && tls != nil {
		c.OnTLS = func(t *detect.TLSRecord) { prev(t); tls(t) }
	} else if tls != nil {
		c.OnTLS = tls
	}
}

// write renders the report after the run, into a temporary file renamed
// into place, so a reader never sees half a report.
func (r *reportOutput) write(eng *detect.Engine, file *capture.FileSource, elapsed time.Duration, interrupted bool, dropped uint64, stdout io.Writer) error {
	if r == nil {
		return nil
	}
	t := eng.Totals()
	fs := eng.FlowStats()
	ks := eng.SourceStats()
	h := report.Health{Frames: t.Frames, Packets: t.Packets, Bytes: t.Bytes, OtherPorts: t.Decode[capture.ResultOtherPort],
		DecodeFailures: t.DecodeFailures(), DecodeFailuresByReason: map[string]uint64{},
		KernelDrops: ks.KernelDrops, IfaceDrops: ks.InterfaceDrops, Flows: fs.Created, Evictions: fs.Evictions(),
		Interrupted: interrupted, AnomaliesDropped: dropped, ElapsedSeconds: elapsed.Seconds()}
	for _, res := range capture.AllResults {
		if res.Failure() && t.Decode[res] > 0 {
			h.DecodeFailuresByReason[res.String()] = t.Decode[res]
		}
	}
	for _, c := range eng.Counters() {
		for i := range c.TLS.ClientHellos {
			h.ClientHellos += c.TLS.ClientHellos[i].Load()
		}
		for i := range c.TLS.Handshakes {
			for j := range c.TLS.Handshakes[i] {
				h.Handshakes += c.TLS.Handshakes[i][j].Load()
			}
		}
	}
	if file != nil {
		d := file.Damage()
		h.DamagedRepaired, h.DamagedSkipped, h.DamagedSkippedBytes = d.Repaired, d.SkippedRecords, d.SkippedBytes
		for _, w := range file.Warnings() {
			h.Warnings = append(h.Warnings, w.Error())
		}
	}
	meta := report.Meta{Title: "monitor443 report", Version: versionString(), Sources: r.sources, Generated: time.Now(), Health: h}
	if r.path == "-" {
		return r.rec.Write(stdout, meta)
	}
	dir, base := filepath.Split(r.path)
	f, err := os.CreateTemp(cmpOr(dir, "."), "."+strings.TrimPrefix(base, ".")+".*.tmp")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	werr := r.rec.Write(f, meta)
	if err := f.Chmod(0o644); err != nil && werr == nil {
		werr = err
	}
	if err := f.Close(); err != nil && werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(f.Name(), r.path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write report %s: %w", r.path, werr)
	}
	return nil
}
