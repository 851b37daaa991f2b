package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"
)

// incidents turns repeated hygiene findings into one firing anomaly per
// (kind, target) and resolves it after a quiet period of packet time.
// Owned by the engine's aggregation goroutine.
type incidents struct {
	quiet   int64
	max     int
	open    map[string]*incident
	dropped uint64
}

type incident struct {
	a    Anomaly
	last int64
	hits int
}

func newIncidents(quiet int64, max int) *incidents {
	return &incidents{quiet: quiet, max: max, open: map[string]*incident{}}
}

func incidentID(kind, scope, target string, start int64) string {
	h := sha256.Sum256([]byte(kind + "\x00" + scope + "\x00" + target + "\x00" + time.Unix(0, start).UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h[:8])
}

func (in *incidents) hit(h hygieneEvent, emit func(Anomaly)) {
	key := h.kind + "\x00" + h.hit.target + "\x00" + h.hit.detail
	if x := in.open[key]; x != nil {
		x.last = max(x.last, h.hit.ts)
		x.hits++
		return
	}
	if len(in.open) >= in.max {
		in.dropped++
		return
	}
	a := Anomaly{
		Kind: h.kind, State: StateFiring, Scope: "server", Target: h.hit.target,
		Start: time.Unix(0, h.hit.ts).UTC(), Value: 1, Severity: h.hit.severity.String(),
		Summary: hygieneSummary(h.kind, h.hit.target, h.hit.detail), Detail: h.hit.detail, Top: []Contributor{},
	}
	if h.kind == KindBlocklisted {
		a.Scope = "client"
	}
	// Two findings of one kind on one target (an expired and a
	// self-signed certificate) are two incidents: the detail is part of
	// the identity.
	a.ID = incidentID(a.Kind, a.Scope, a.Target+"\x00"+h.hit.detail, h.hit.ts)
	a.Group = a.ID
	in.open[key] = &incident{a: a, last: h.hit.ts, hits: 1}
	emit(a)
}

func hygieneSummary(kind, target, detail string) string {
	switch kind {
	case KindDeprecatedTLS:
		return "server " + target + " negotiated deprecated " + detail
	case KindWeakCipher:
		return "server " + target + " negotiated a weak cipher (" + detail + ")"
	case KindBadCertificate:
		return "server " + target + " served a certificate that is " + detail
	case KindNonTLS:
		return "non-TLS traffic (" + detail + ") on monitored port at " + target
	case KindBlocklisted:
		return "client " + target + " used a blocklisted TLS fingerprint: " + detail
	}
	return kind + " at " + target
}

// resolve ends incidents quiet since before now-quiet.
func (in *incidents) resolve(now int64, emit func(Anomaly)) {
	for _, k := range in.keys() {
		if x := in.open[k]; now-x.last >= in.quiet {
			in.end(k, x, x.last+in.quiet, emit)
		}
	}
}

// keys returns the open incidents' keys in a stable order, so a replay
// emits its events in the same order every run.
func (in *incidents) keys() []string {
	if len(in.open) == 0 {
		return nil
	}
	ks := make([]string, 0, len(in.open))
	for k := range in.open {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// resolveAll ends every open incident at its last hit plus the quiet
// period (used when a replay ends: the capture says no more).
func (in *incidents) resolveAll(emit func(Anomaly)) {
	for _, k := range in.keys() {
		in.end(k, in.open[k], in.open[k].last, emit)
	}
}

func (in *incidents) end(k string, x *incident, at int64, emit func(Anomaly)) {
	delete(in.open, k)
	a := x.a
	a.State = StateResolved
	t := time.Unix(0, at).UTC()
	a.End = &t
	a.Value = float64(x.hits)
	emit(a)
}
