package detect

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

// expectedKind maps an injected event to the detector that must catch it;
// "" marks benign events (flash crowds, backups), which must not alert.
func expectedKind(k synth.EventKind) string {
	switch k {
	case synth.SYNFlood, synth.BotnetFlood:
		return KindSYNFlood
	case synth.BandwidthSpike:
		return KindBandwidthSpike
	case synth.RequestBurst:
		return KindRequestBurst
	case synth.QUICFlood:
		return KindQUICFlood
	}
	return ""
}

// eventResult is the score of one injected event.
type eventResult struct {
	ev       synth.TruthEvent
	label    string
	want     string
	detected bool
	latency  time.Duration
	first    string // scope and target of the first matching alert
	alerts   int    // firing alerts of the expected kind during the event
	repeats  int    // (scope, target) pairs that fired more than once
	groups   int    // distinct alert groups among those alerts
}

// score matches firing anomalies to injected events. An alert matches an
// attack when it is of the expected kind and fired between the attack's
// start and 60 s after its end. A firing alert that overlaps no attack
// window (start - 5 s to end + 60 s) is a false alert.
func score(as []Anomaly, events []synth.TruthEvent, labels []string) ([]eventResult, []Anomaly) {
	const grace = 60 * time.Second
	var res []eventResult
	for i, ev := range events {
		r := eventResult{ev: ev, want: expectedKind(ev.Kind)}
		if i < len(labels) {
			r.label = labels[i]
		}
		if r.want == "" {
			res = append(res, r)
			continue
		}
		seen := map[string]int{}
		groups := map[string]bool{}
		for _, a := range as {
			if a.State != StateFiring || a.Kind != r.want || a.Detected == nil {
				continue
			}
			d := *a.Detected
			if d.Before(ev.Start) || d.After(ev.End.Add(grace)) {
				continue
			}
			r.alerts++
			seen[a.Scope+" "+a.Target]++
			groups[a.Group] = true
			if !r.detected || d.Sub(ev.Start) < r.latency {
				r.detected, r.latency, r.first = true, d.Sub(ev.Start), a.Scope+" "+a.Target
			}
		}
		for _, n := range seen {
			if n > 1 {
				r.repeats++
			}
		}
		r.groups = len(groups)
		res = append(res, r)
	}
	var false_ []Anomaly
	for _, a := range as {
		if a.State != StateFiring {
			continue
		}
		det := a.Start
		if a.Detected != nil {
			det = *a.Detected
		}
		ok := false
		for _, ev := range events {
			if expectedKind(ev.Kind) == "" {
				continue
			}
			if !det.Before(ev.Start.Add(-5*time.Second)) && !a.Start.After(ev.End.Add(grace)) {
				ok = true
				break
			}
		}
		if !ok {
			false_ = append(false_, a)
		}
	}
	return res, false_
}

func printResults(w io.Writer, res []eventResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "| scenario\t| event\t| start\t| rate\t| detector\t| detected\t| latency\t| alerts\t| groups\t| re-fired\t| first alert |")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|--- |")
	for _, r := range res {
		want, det, lat, n, g, rep := r.want, "yes", r.latency.Round(time.Second).String(), fmt.Sprint(r.alerts), fmt.Sprint(r.groups), fmt.Sprint(r.repeats)
		switch {
		case want == "":
			want, det, lat, n, g, rep = "(benign)", "-", "-", "-", "-", "-"
		case !r.detected:
			det, lat = "**no**", "-"
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %.0f %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s |\n", r.label, r.ev.Kind, r.ev.Start.Format("15:04"),
			r.ev.Rate, r.ev.RateUnit, want, det, lat, n, g, rep, r.first)
	}
	tw.Flush()
}

func describe(a Anomaly) string {
	d := ""
	if a.Detected != nil {
		d = a.Detected.Format("Jan 2 15:04:05")
	}
	return fmt.Sprintf("%s %s %s %q at %s: %s", a.Kind, a.Scope, a.Target, a.Summary, d, a.Detail)
}

// TestScenariosShort replays 25 simulated minutes with a SYN flood, a
// single-client request burst and a flash crowd, and checks that every
// attack alerts within its latency target, that the flash crowd does not,
// and that nothing else alerts. (bandwidth_spike needs the Learning period of history
// before it judges anything; TestBandwidthRecords covers it.)
func TestScenariosShort(t *testing.T) {
	t.Parallel()
	gc := synth.Config{Seed: 7, Duration: 25 * time.Minute, ConnRate: 3, Servers: 8, Clients: 3000, MaxResponseBytes: 256 << 10,
		Events: []synth.Event{
			{Kind: synth.SYNFlood, Start: 10 * time.Minute, Duration: time.Minute, Rate: 80, AnswerFraction: 0.1},
			{Kind: synth.RequestBurst, Start: 13 * time.Minute, Duration: time.Minute, Rate: 40, Target: 1},
			{Kind: synth.FlashCrowd, Start: 18 * time.Minute, Duration: 6 * time.Minute, Rate: 1.2, Target: 3, Ramp: 3 * time.Minute},
		}}
	cfg := Config{Detection: DetectionConfig{NoSeasonal: true, Learning: 5 * time.Minute,
		SYNFlood: DetectorConfig{Quiet: time.Minute}, RequestBurst: DetectorConfig{Quiet: time.Minute},
		BandwidthSpike: DetectorConfig{Quiet: time.Minute}}}
	as, truth, e := replay(t, gc, cfg, 2)
	res, falses := score(as, truth.Events, []string{"short", "short", "short"})
	var b strings.Builder
	printResults(&b, res)
	t.Logf("\n%s", b.String())
	// The 5 s targets (docs/detection.md).
	limits := map[string]time.Duration{KindSYNFlood: 2 * time.Second, KindRequestBurst: 5 * time.Second,
		KindBandwidthSpike: 5 * time.Second}
	for _, r := range res {
		if r.want == "" {
			continue
		}
		if !r.detected {
			t.Errorf("%s at %v not detected", r.ev.Kind, r.ev.Start)
			continue
		}
		if r.latency > limits[r.want] {
			t.Errorf("%s detected after %v, want <= %v", r.ev.Kind, r.latency, limits[r.want])
		}
		if r.repeats > 0 {
			t.Errorf("%s: %d targets alerted more than once", r.ev.Kind, r.repeats)
		}
	}
	for _, a := range falses {
		t.Errorf("false alert: %s", describe(a))
	}
	// Every firing event has a resolved event with the same ID.
	open := map[string]bool{}
	for _, a := range as {
		open[a.ID] = a.State == StateFiring
	}
	for id, o := range open {
		if o {
			t.Errorf("incident %s never resolved", id)
		}
	}
	if n := len(e.ActiveAlerts()); n != 0 {
		t.Errorf("ActiveAlerts after the replay = %d, want 0", n)
	}
	if len(e.DetectorStates()) == 0 {
		t.Error("no detector states")
	}
}

// TestQUICFloodScenario replays twelve minutes with a third of the
// connections over QUIC and a spoofed QUIC Initial flood: quic_flood fires
// within 2 s, says the sources look spoofed, names the flooded server's
// names among its top contributors, resolves, and nothing else alerts
// (the flood's ClientHellos come from thousands of sources, so they are no
// request burst).
func TestQUICFloodScenario(t *testing.T) {
	t.Parallel()
	gc := synth.Config{Seed: 5, Duration: 12 * time.Minute, ConnRate: 3, QUICFraction: 0.3, Servers: 4, Clients: 2000,
		MaxResponseBytes: 256 << 10,
		Events:           []synth.Event{{Kind: synth.QUICFlood, Start: 8 * time.Minute, Duration: 30 * time.Second, Rate: 200, Target: 2}}}
	cfg := Config{Detection: DetectionConfig{NoSeasonal: true, Learning: 5 * time.Minute,
		QUICFlood: DetectorConfig{Quiet: time.Minute}}}
	as, truth, _ := replay(t, gc, cfg, 2)
	res, falses := score(as, truth.Events, []string{"quic flood"})
	if len(res) != 1 || !res[0].detected || res[0].latency > 2*time.Second {
		t.Fatalf("QUIC flood: %+v", res)
	}
	for _, a := range falses {
		t.Errorf("false alert: %s", describe(a))
	}
	var fired, resolved int
	for _, a := range as {
		if a.Kind != KindQUICFlood {
			if a.State == StateFiring {
				t.Errorf("other alert during the QUIC flood: %s", describe(a))
			}
			continue
		}
		if a.State == StateResolved {
			resolved++
			continue
		}
		fired++
		if !a.Spoofed || !strings.Contains(a.Detail, "look spoofed") || a.Severity != SeverityCritical.String() {
			t.Errorf("quic_flood alert does not say the sources look spoofed: %s (%s)", a.Detail, a.Severity)
		}
		sni := false
		for _, c := range a.Top {
			sni = sni || strings.HasPrefix(c.Key, "sni:") && strings.HasSuffix(truth.Events[0].TargetName, strings.SplitN(c.Key, ".", 2)[1])
		}
		if !sni {
			t.Errorf("quic_flood top contributors %+v name none of the target's domain %s", a.Top, truth.Events[0].TargetName)
		}
	}
	if fired != 1 || resolved != 1 {
		t.Errorf("quic_flood: %d firing, %d resolved, want 1 and 1", fired, resolved)
	}
}

// TestQUICBurstScenario replays twelve minutes with a third of the
// connections over QUIC and a distributed burst of HTTP/3 requests: 600
// real clients (most of them the site's own) that complete their QUIC
// handshakes at ten times the site's rate. request_burst counts returned
// QUIC connections as requests, so it fires at global or server scope
// within 10 s, by the burst's abrupt onset (no client stands out, and QUIC
// hellos join no stack mix), and each server counts its own; quic_flood,
// which judges attempts that never return, stays quiet, as does every
// other detector.
func TestQUICBurstScenario(t *testing.T) {
	t.Parallel()
	gc := synth.Config{Seed: 5, Duration: 12 * time.Minute, ConnRate: 3, QUICFraction: 0.3, Servers: 4, Clients: 2000,
		MaxResponseBytes: 256 << 10,
		Events: []synth.Event{{Kind: synth.DistributedBurst, Start: 8 * time.Minute, Duration: time.Minute, Rate: 30,
			Target: -1, Sources: 600, QUIC: true}}}
	cfg := Config{Detection: DetectionConfig{NoSeasonal: true, Learning: 5 * time.Minute,
		RequestBurst: DetectorConfig{Quiet: time.Minute}, QUICFlood: DetectorConfig{Quiet: time.Minute}}}
	as, truth, _ := replay(t, gc, cfg, 2)
	ev := truth.Events[0]
	var first *Anomaly
	for i, a := range as {
		if a.State != StateFiring {
			continue
		}
		d := a.Start
		if a.Detected != nil {
			d = *a.Detected
		}
		inBurst := !d.Before(ev.Start) && !d.After(ev.End.Add(time.Minute))
		switch {
		case a.Kind == KindRequestBurst && (a.Scope == ScopeGlobal || a.Scope == ScopeServer) && inBurst:
			if first == nil {
				first = &as[i]
			}
		case a.Kind == KindRequestBurst && inBurst:
			// A client of the burst may stand out at client scope too.
		default:
			t.Errorf("unexpected alert: %s", describe(a))
		}
	}
	if first == nil {
		t.Fatalf("the HTTP/3 burst raised no request_burst at global or server scope")
	}
	if lat := first.Detected.Sub(ev.Start); lat > 10*time.Second {
		t.Errorf("request_burst %s fired %v after the burst began, want within 10 s", first.Scope, lat)
	}
	if !strings.Contains(first.Detail, "QUIC connections that returned") {
		t.Errorf("detail does not say what was counted: %s", first.Detail)
	}
	// Each server counts its own returned QUIC connections: the burst
	// reaches them all, and every alert belongs to one incident.
	servers, groups := 0, map[string]bool{}
	for _, a := range as {
		if a.State == StateFiring && a.Kind == KindRequestBurst {
			groups[a.Group] = true
			if a.Scope == ScopeServer {
				servers++
			}
		}
	}
	if servers == 0 || len(groups) != 1 {
		t.Errorf("request_burst fired at %d servers in %d alert groups, want at least one server and one group", servers, len(groups))
	}
	t.Logf("first: %s", describe(*first))
}
