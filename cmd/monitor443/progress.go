package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect"
)

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startProgress prints a progress line for file replays twice a second and
// returns a function that stops it and clears the line.
func startProgress(mode string, file *capture.FileSource, eng *detect.Engine, w io.Writer) func() {
	if file == nil || mode == "never" || (mode != "always" && !isTerminal(w)) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				read, total := file.Progress()
				tot := eng.Totals()
				el := time.Since(start).Seconds()
				line := fmt.Sprintf("%s read, %d packets, %.0f packets/s", humanBytes(read), tot.Frames, float64(tot.Frames)/el)
				if total > 0 && read > 0 {
					frac := float64(read) / float64(total)
					eta := time.Duration(el/frac*(1-frac)) * time.Second
					line = fmt.Sprintf("%5.1f%% %s of %s, %d packets, %.0f packets/s, ETA %s", 100*frac, humanBytes(read), humanBytes(total), tot.Frames, float64(tot.Frames)/el, eta.Round(time.Second))
				}
				fmt.Fprintf(w, "\r\033[K%s", line)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// printSummary writes the end-of-run summary.
func printSummary(w io.Writer, eng *detect.Engine, el time.Duration, interrupted bool, alerts uint64, book *alertBook, damage capture.DamageCounts) {
	t := eng.Totals()
	fs := eng.FlowStats()
	ks := eng.SourceStats()
	how := "finished"
	if interrupted {
		how = "interrupted"
	}
	fmt.Fprintf(w, "monitor443 %s after %s\n", how, el.Round(time.Millisecond))
	fmt.Fprintf(w, "  frames read        %d (%.0f/s)\n", t.Frames, float64(t.Frames)/el.Seconds())
	if damage.Any() {
		fmt.Fprintf(w, "  damaged records    %d repaired, %d stretches skipped (%d bytes)\n", damage.Repaired, damage.SkippedRecords, damage.SkippedBytes)
	}
	fmt.Fprintf(w, "  monitored packets  %d, %s (IP bytes)\n", t.Packets, humanBytes(int64(t.Bytes)))
	fmt.Fprintf(w, "  other ports        %d\n", t.Decode[capture.ResultOtherPort])
	fmt.Fprintf(w, "  decode failures    %d", t.DecodeFailures())
	if n := t.DecodeFailures(); n > 0 {
		sep := " ("
		for _, r := range capture.AllResults {
			if r.Failure() && t.Decode[r] > 0 {
				fmt.Fprintf(w, "%s%s %d", sep, r, t.Decode[r])
				sep = ", "
			}
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)
	var hellos, handshakes uint64
	for _, c := range eng.Counters() {
		for i := range c.TLS.ClientHellos {
			hellos += c.TLS.ClientHellos[i].Load()
		}
		for i := range c.TLS.Handshakes {
			for j := range c.TLS.Handshakes[i] {
				handshakes += c.TLS.Handshakes[i][j].Load()
			}
		}
	}
	fmt.Fprintf(w, "  flows              %d (evicted %d)\n", fs.Created, fs.Evictions())
	if fs.UnseenAnswers > 0 {
		fmt.Fprintf(w, "  unseen answers     %d handshakes completed without a SYN-ACK in the capture (it misses the servers' side of some traffic)\n",
			fs.UnseenAnswers)
	}
	fmt.Fprintf(w, "  TLS ClientHellos   %d, server answers %d\n", hellos, handshakes)
	fmt.Fprintf(w, "  alerts             %d\n", alerts)
	fmt.Fprintf(w, "  kernel drops       %d\n", ks.KernelDrops)
	printIncidents(w, book)
}

// printIncidents lists the run's alert incidents, statistical ones first,
// one line each, at most 25. Alerts of one event at several scopes (one
// group) follow the group's first alert, marked "└ same event".
func printIncidents(w io.Writer, book *alertBook) {
	all, more := book.incidents()
	if len(all) == 0 {
		return
	}
	first := map[string]time.Time{} // earliest start of each group
	for _, a := range all {
		if t, ok := first[a.Group]; !ok || a.Start.Before(t) {
			first[a.Group] = a.Start
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		si, sj := all[i].Unit != "", all[j].Unit != ""
		if si != sj {
			return si
		}
		gi, gj := first[all[i].Group], first[all[j].Group]
		if !gi.Equal(gj) {
			return gi.Before(gj)
		}
		if all[i].Group != all[j].Group {
			return all[i].Group < all[j].Group
		}
		if li, lj := all[i].ID == all[i].Group, all[j].ID == all[j].Group; li != lj {
			return li
		}
		return all[i].Start.Before(all[j].Start)
	})
	fmt.Fprintln(w, "  incidents:")
	for i, a := range all {
		if i == 25 {
			fmt.Fprintf(w, "    ... and %d more (see -output.alerts)\n", len(all)-25+more)
			break
		}
		when := a.Start.Format("2006-01-02 15:04:05")
		if a.End != nil {
			when += " for " + a.End.Sub(a.Start).Round(time.Second).String()
		} else {
			when += ", still firing"
		}
		target := a.Scope
		if a.Target != "" {
			target += " " + a.Target
		}
		what := a.Summary
		if a.Unit != "" {
			what = fmt.Sprintf("%.0f %s, expected %.1f", a.Value, a.Unit, a.Baseline)
			if a.Spoofed {
				what += ", sources look spoofed"
			}
		}
		kind := a.Kind
		if a.Group != "" && a.Group != a.ID && i > 0 && all[i-1].Group == a.Group {
			kind = "  └ same event"
		}
		fmt.Fprintf(w, "    %-16s %-8s %-28s %s: %s\n", kind, a.Severity, target, when, what)
	}
}
