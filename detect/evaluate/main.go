package evaluate

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const usage = `monitor443 eval: score a detection run against labelled truth.

Replay a labelled capture with -output.alerts, then compare the alerts with
the capture's truth file (as written by monitor443 synth -truth, or by hand;
the format is in the package documentation of detect/evaluate). The report
says which attacks were detected, how fast, how many alerts and groups each
drew, which false alert episodes each benign event drew, and how many false
episodes there were per day.

Usage:
  monitor443 eval -truth TRUTH -alerts ALERTS [-name NAME] [-truth ... -alerts ...] [flags]
  monitor443 eval -run NAME=TRUTH,ALERTS [-run ...] [flags]
  monitor443 eval -merge [flags] REPORT.json...

A run is one truth file and one alerts file. Give -truth and -alerts once
per run, in pairs, in the same order (and -name, if given, once per pair;
the default name is the alerts file's name without its extension), or give
-run once per run. -merge reads reports written earlier with -json and
scores them together with any runs given; use it to combine seeds or
network sizes evaluated separately.

Rules: only firing alerts of the -detectors count (plus every detector an
attack of the truth names); an alert's time is its "detected" time, else
its "start". An attack is detected by an alert of one of its detectors
between 5 s before its start and -grace after its end. Alerts with one group
form an episode; an episode with no alert in any attack's window is false.

Example:
  monitor443 synth -preset eval -seed 11 -o day.pcap -truth day.truth.json
  monitor443 -r day.pcap -output.alerts day.alerts.jsonl
  monitor443 eval -run seed11=day.truth.json,day.alerts.jsonl -json seed11.json -targets
  monitor443 eval -merge -markdown - seed11.json seed12.json

Without -json or -markdown the Markdown tables go to stdout. Exit status: 0,
1 when -targets is set and a target is missed (the misses go to stderr) or
output fails, 2 on a usage or input error.

Flags:
`

// runSpec is one run to score: a name, a truth file and an alerts file.
type runSpec struct{ name, truth, alerts string }

// listFlag collects the values of a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// Main runs the monitor443 eval subcommand with args (not including the
// subcommand's name) and returns its exit status: 0 on success, 1 when
// -targets is set and a target is missed or output fails, 2 on a usage or
// input error. Its flags and an example are in its -help output.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("monitor443 eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var truths, alerts, names, runs listFlag
	fs.Var(&truths, "truth", "truth `FILE` of a run (repeatable, paired with -alerts)")
	fs.Var(&alerts, "alerts", "alerts `FILE` of a run, JSON Lines from -output.alerts (repeatable, paired with -truth)")
	fs.Var(&names, "name", "`NAME` of the run of the -truth/-alerts pair in the same position (repeatable)")
	fs.Var(&runs, "run", "a run as `NAME=TRUTH,ALERTS` (repeatable)")
	var (
		grace     = fs.Duration("grace", DefaultGrace, "alerts up to `DURATION` after an event's end still count for it")
		detectors = fs.String("detectors", strings.Join(DefaultDetectors, ","), "comma-separated alert `KINDS` that count as detection alerts")
		jsonOut   = fs.String("json", "", "write the report as JSON to `FILE` (\"-\" = stdout)")
		mdOut     = fs.String("markdown", "", "write the report as Markdown tables to `FILE` (\"-\" = stdout; the default without -json)")
		summary   = fs.Bool("markdown.summary", false, "write only the summary tables (per run and per attack class) to -markdown")
		merge     = fs.Bool("merge", false, "also read the reports named by the arguments (written with -json) and summarize all runs together")
		targets   = fs.Bool("targets", false, "exit 1 and list the misses unless every attack is detected within its target_latency and false episodes stay within -targets.max-false-per-day")
		maxFalse  = fs.Float64("targets.max-false-per-day", DefaultMaxFalsePerDay, "at most `N` false episodes per day for -targets")
		all       = fs.Bool("targets.require-all", false, "hold every run to -targets.max-false-per-day on its own, not only all runs together")
		oneGroup  = fs.Bool("targets.one-group", false, "-targets also requires each detected attack's alerts in one group, none re-fired")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	var errs []error
	var specs []runSpec
	for _, r := range runs {
		name, files, ok := strings.Cut(r, "=")
		truth, alertsFile, ok2 := strings.Cut(files, ",")
		if !ok || !ok2 || name == "" || truth == "" || alertsFile == "" {
			errs = append(errs, fmt.Errorf("-run %q: want NAME=TRUTH,ALERTS", r))
			continue
		}
		specs = append(specs, runSpec{name: name, truth: truth, alerts: alertsFile})
	}
	if len(truths) != len(alerts) {
		errs = append(errs, fmt.Errorf("-truth and -alerts come in pairs: got %d -truth and %d -alerts", len(truths), len(alerts)))
	} else {
		if len(names) > len(truths) {
			errs = append(errs, fmt.Errorf("-name: %d names for %d -truth/-alerts pairs", len(names), len(truths)))
		}
		for i := range truths {
			s := runSpec{truth: truths[i], alerts: alerts[i]}
			if i < len(names) {
				s.name = names[i]
			} else {
				s.name = strings.TrimSuffix(filepath.Base(s.alerts), filepath.Ext(s.alerts))
			}
			specs = append(specs, s)
		}
	}
	if fs.NArg() > 0 && !*merge {
		errs = append(errs, fmt.Errorf("unexpected arguments %q (report files need -merge)", fs.Args()))
	}
	if *merge && fs.NArg() == 0 {
		errs = append(errs, errors.New("-merge: name the reports to merge as arguments"))
	}
	if len(specs) == 0 && !*merge {
		errs = append(errs, errors.New("no run: give -truth FILE -alerts FILE, -run NAME=TRUTH,ALERTS or -merge with report files"))
	}
	if *grace < 0 {
		errs = append(errs, fmt.Errorf("-grace: must be >= 0, got %s", *grace))
	}
	if *maxFalse < 0 {
		errs = append(errs, fmt.Errorf("-targets.max-false-per-day: must be >= 0, got %g", *maxFalse))
	}
	if *jsonOut == "-" && *mdOut == "-" {
		errs = append(errs, errors.New("-json and -markdown cannot both write to stdout"))
	}

	opt := Options{Grace: *grace, Detectors: []string{}}
	if opt.Grace == 0 {
		opt.Grace = -1 // none
	}
	for d := range strings.SplitSeq(*detectors, ",") {
		if d = strings.TrimSpace(d); d != "" {
			opt.Detectors = append(opt.Detectors, d)
		}
	}

	var scored []Run
	if len(errs) == 0 {
		for _, s := range specs {
			run, err := scoreFiles(s, opt)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			scored = append(scored, run)
		}
	}
	var reports []Report
	if *merge && len(errs) == 0 {
		for _, path := range fs.Args() {
			rep, err := readReportFile(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			reports = append(reports, rep)
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "monitor443 eval: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}

	rep := Merge(append(reports, NewReport(scored...))...)
	if *mdOut == "" && *jsonOut == "" {
		*mdOut = "-"
	}
	status := 0
	writeMD := rep.WriteMarkdown
	if *summary {
		writeMD = rep.WriteSummaryMarkdown
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{*jsonOut, rep.WriteJSON}, {*mdOut, writeMD}} {
		if out.path == "" {
			continue
		}
		if err := writeTo(out.path, stdout, out.write); err != nil {
			fmt.Fprintf(stderr, "monitor443 eval: %v\n", err)
			status = 1
		}
	}
	if *targets {
		t := Targets{MaxFalsePerDay: *maxFalse, RequireAll: *all, OneGroup: *oneGroup}
		if t.MaxFalsePerDay == 0 {
			t.MaxFalsePerDay = -1 // none allowed
		}
		if misses := rep.Misses(t); len(misses) > 0 {
			fmt.Fprintf(stderr, "monitor443 eval: targets missed:\n  %s\n", strings.Join(misses, "\n  "))
			status = 1
		} else {
			fmt.Fprintln(stderr, "monitor443 eval: targets met")
		}
	}
	return status
}

// scoreFiles reads one run's files and scores it. Errors name the file
// (and line).
func scoreFiles(s runSpec, opt Options) (Run, error) {
	var errs []error
	var truth Truth
	f, err := os.Open(s.truth)
	if err == nil {
		truth, err = ReadTruth(f)
		f.Close()
		if err != nil {
			err = fmt.Errorf("%s: %s", s.truth, strings.ReplaceAll(err.Error(), "\n", "\n  "+s.truth+": "))
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	var as []Alert
	f, err = os.Open(s.alerts)
	if err == nil {
		as, err = ReadAlerts(f)
		f.Close()
		if err != nil {
			err = fmt.Errorf("%s: %w", s.alerts, err)
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Run{}, err
	}
	run := Score(s.name, truth, as, opt)
	run.Truth, run.Alerts = filepath.Base(s.truth), filepath.Base(s.alerts)
	return run, nil
}

func readReportFile(path string) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, err
	}
	defer f.Close()
	rep, err := ReadReport(f)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// writeTo calls write with stdout when path is "-", else with a new file
// at path.
func writeTo(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
