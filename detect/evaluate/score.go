package evaluate

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Scoring constants.
const (
	// Lead is how long before an attack's start an alert still counts for
	// it: an interval that closes just before the start may already hold
	// its first packets.
	Lead = 5 * time.Second
	// DefaultGrace is how long after an event's end its alerts still count.
	DefaultGrace = 60 * time.Second
)

// DefaultDetectors lists the alert kinds that count as detection alerts:
// the statistical detectors. The TLS hygiene kinds (deprecated_tls,
// weak_cipher, bad_certificate, non_tls, blocklisted_fingerprint) report
// findings, not attacks, and are left out.
var DefaultDetectors = []string{"syn_flood", "quic_flood", "bandwidth_spike", "request_burst"}

// Options tune [Score].
type Options struct {
	// Grace is how long after an event's end its alerts still count: 0
	// means DefaultGrace, a negative value none.
	Grace time.Duration
	// Detectors lists the alert kinds that count; nil means
	// DefaultDetectors. Every detector an attack of the truth names
	// counts as well.
	Detectors []string
}

func (o Options) grace() time.Duration {
	switch {
	case o.Grace == 0:
		return DefaultGrace
	case o.Grace < 0:
		return 0
	}
	return o.Grace
}

// AlertRef describes one alert briefly.
type AlertRef struct {
	Detector string    `json:"detector"`
	Scope    string    `json:"scope"`
	Target   string    `json:"target,omitempty"`
	Time     time.Time `json:"time"`
	Summary  string    `json:"summary,omitempty"`
}

func refOf(a Alert) AlertRef {
	return AlertRef{Detector: a.Kind, Scope: a.Scope, Target: a.Target, Time: a.Time(), Summary: a.Summary}
}

// AttackResult is the score of one attack.
type AttackResult struct {
	Event Event `json:"event"`
	// Detected says a firing alert of one of the event's detectors fired
	// in its window.
	Detected bool `json:"detected"`
	// Latency is the first such alert's time minus the event's start,
	// clamped at 0; nil when not detected.
	Latency *Duration `json:"latency,omitempty"`
	// LatencyMet says the attack was detected within its target latency;
	// nil when the event has none.
	LatencyMet *bool `json:"latency_met,omitempty"`
	// Alerts counts the firing alerts of its detectors in its window,
	// Groups the distinct groups among them, and Refired the (detector,
	// scope, target) triples that fired more than once.
	Alerts  int `json:"alerts"`
	Groups  int `json:"groups"`
	Refired int `json:"refired"`
	// First is the first such alert.
	First *AlertRef `json:"first,omitempty"`
}

// Episode is a set of alerts that report one incident: those of one
// non-empty group, or a single alert without a group.
type Episode struct {
	Group string `json:"group,omitempty"`
	// Detector, Scope, Target and Summary are those of its first alert.
	Detector string `json:"detector"`
	Scope    string `json:"scope"`
	Target   string `json:"target,omitempty"`
	Summary  string `json:"summary,omitempty"`
	// Start and End are its first and last alert's times.
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Alerts int       `json:"alerts"`
	// During names the benign events a false episode overlaps; empty
	// for an unlabelled one.
	During []string `json:"during,omitempty"`
}

// BenignResult is the score of one benign event: the false episodes it
// drew.
type BenignResult struct {
	Event    Event     `json:"event"`
	Episodes []Episode `json:"episodes"`
}

// RunTotals sums up one run, or several.
type RunTotals struct {
	Attacks  int `json:"attacks"`
	Detected int `json:"detected"`
	// LatencyTargets counts attacks with a target latency, LatencyMisses
	// those not detected within it.
	LatencyTargets int `json:"latency_targets"`
	LatencyMisses  int `json:"latency_misses"`
	// FalseEpisodes counts the episodes attributed to no attack,
	// Unlabelled those among them that overlap no benign event either.
	FalseEpisodes int     `json:"false_episodes"`
	Unlabelled    int     `json:"unlabelled"`
	Days          float64 `json:"days"`
	FalsePerDay   float64 `json:"false_per_day"`
}

func (t *RunTotals) add(u RunTotals) {
	t.Attacks += u.Attacks
	t.Detected += u.Detected
	t.LatencyTargets += u.LatencyTargets
	t.LatencyMisses += u.LatencyMisses
	t.FalseEpisodes += u.FalseEpisodes
	t.Unlabelled += u.Unlabelled
	t.Days += u.Days
	t.FalsePerDay = perDay(t.FalseEpisodes, t.Days)
}

func perDay(n int, days float64) float64 {
	if days <= 0 {
		return 0
	}
	return float64(n) / days
}

// Run is the score of one capture's alerts against its truth.
type Run struct {
	Name string `json:"name"`
	// Truth and Alerts name the input files, when known.
	Truth  string `json:"truth,omitempty"`
	Alerts string `json:"alerts,omitempty"`
	// Start and End are the truth's span.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Grace and Detectors are the options the run was scored with.
	Grace     Duration       `json:"grace"`
	Detectors []string       `json:"detectors"`
	Attacks   []AttackResult `json:"attacks"`
	Benign    []BenignResult `json:"benign"`
	// FalseEpisodes lists the episodes attributed to no attack, in time
	// order; each benign event also lists those it overlaps.
	FalseEpisodes []Episode `json:"false_episodes"`
	Totals        RunTotals `json:"totals"`
}

// Score matches alerts to the events of t under the rules in the package
// documentation. Alerts may be in any order.
func Score(name string, t Truth, alerts []Alert, opt Options) Run {
	grace := opt.grace()
	dets := opt.Detectors
	if dets == nil {
		dets = DefaultDetectors
	}
	counted := map[string]bool{}
	for _, d := range dets {
		counted[d] = true
	}
	for _, e := range t.Events {
		if e.Class == ClassAttack {
			for _, d := range e.Detectors {
				counted[d] = true
			}
		}
	}
	var fire []Alert
	for _, a := range alerts {
		if a.State == StateFiring && counted[a.Kind] {
			fire = append(fire, a)
		}
	}
	sort.SliceStable(fire, func(i, j int) bool { return fire[i].Time().Before(fire[j].Time()) })

	r := Run{Name: name, Start: t.Start, End: t.End, Grace: Duration(grace), Attacks: []AttackResult{}, Benign: []BenignResult{},
		FalseEpisodes: []Episode{}}
	for d := range counted {
		r.Detectors = append(r.Detectors, d)
	}
	slices.Sort(r.Detectors)
	inAttack := func(at time.Time) bool {
		for _, e := range t.Events {
			if e.Class == ClassAttack && !at.Before(e.Start.Add(-Lead)) && !at.After(e.End.Add(grace)) {
				return true
			}
		}
		return false
	}

	for _, e := range t.Events {
		if e.Class != ClassAttack {
			continue
		}
		r.Attacks = append(r.Attacks, scoreAttack(e, fire, grace))
	}

	// Episodes, in the order of their first alert.
	var eps []Episode
	var attributed []bool
	byGroup := map[string]int{}
	for _, a := range fire {
		i, ok := byGroup[a.Group]
		if !ok || a.Group == "" {
			i = len(eps)
			eps = append(eps, Episode{Group: a.Group, Detector: a.Kind, Scope: a.Scope, Target: a.Target, Summary: a.Summary,
				Start: a.Time(), End: a.Time()})
			attributed = append(attributed, false)
			if a.Group != "" {
				byGroup[a.Group] = i
			}
		}
		eps[i].Alerts++
		eps[i].End = a.Time()
		if inAttack(a.Time()) {
			attributed[i] = true
		}
	}
	for _, e := range t.Events {
		if e.Class == ClassBenign {
			r.Benign = append(r.Benign, BenignResult{Event: e, Episodes: []Episode{}})
		}
	}
	for i, ep := range eps {
		if attributed[i] {
			continue
		}
		var in []int
		for j, b := range r.Benign {
			if !ep.Start.After(b.Event.End.Add(grace)) && !ep.End.Before(b.Event.Start) {
				in = append(in, j)
				ep.During = append(ep.During, b.Event.Name())
			}
		}
		for _, j := range in {
			r.Benign[j].Episodes = append(r.Benign[j].Episodes, ep)
		}
		r.FalseEpisodes = append(r.FalseEpisodes, ep)
		if len(in) == 0 {
			r.Totals.Unlabelled++
		}
	}
	r.Totals.FalseEpisodes = len(r.FalseEpisodes)
	for _, a := range r.Attacks {
		r.Totals.Attacks++
		if a.Detected {
			r.Totals.Detected++
		}
		if a.LatencyMet != nil {
			r.Totals.LatencyTargets++
			if !*a.LatencyMet {
				r.Totals.LatencyMisses++
			}
		}
	}
	r.Totals.Days = t.End.Sub(t.Start).Hours() / 24
	r.Totals.FalsePerDay = perDay(r.Totals.FalseEpisodes, r.Totals.Days)
	return r
}

// scoreAttack scores one attack against the firing alerts, sorted by time.
func scoreAttack(e Event, fire []Alert, grace time.Duration) AttackResult {
	res := AttackResult{Event: e}
	from, to := e.Start.Add(-Lead), e.End.Add(grace)
	groups := map[string]bool{}
	fired := map[[3]string]int{}
	for i, a := range fire {
		at := a.Time()
		if at.Before(from) || at.After(to) || !slices.Contains(e.Detectors, a.Kind) {
			continue
		}
		res.Alerts++
		if a.Group != "" {
			groups[a.Group] = true
		} else {
			groups[fmt.Sprint("\x00", i)] = true // its own episode
		}
		k := [3]string{a.Kind, a.Scope, a.Target}
		if fired[k]++; fired[k] == 2 {
			res.Refired++
		}
		if res.First == nil {
			ref := refOf(a)
			res.First = &ref
			lat := Duration(max(at.Sub(e.Start), 0))
			res.Detected, res.Latency = true, &lat
		}
	}
	res.Groups = len(groups)
	if e.TargetLatency > 0 {
		met := res.Detected && *res.Latency <= e.TargetLatency
		res.LatencyMet = &met
	}
	return res
}
