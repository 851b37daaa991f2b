package detect

import (
	"encoding"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/monitor443/monitor443/detect/baseline"
)

// rstStorm is a detector made for the test: it fires when an interval holds
// at least 50 RSTs. It exists to show that a detector plugs in through the
// interface alone, with no change to the stage.
type rstStorm struct{ cfg *DetectorConfig }

func (rstStorm) kind() string                               { return "rst_storm" }
func (d rstStorm) section(*DetectionConfig) *DetectorConfig { return d.cfg }
func (rstStorm) atServers() bool                            { return true }
func (rstStorm) unit(string) string                         { return "rst/s" }
func (rstStorm) contributors(s *stage, _ *track, m *merged) []Contributor {
	return s.synContributors(m)
}
func (rstStorm) newState(_ *stage, restore func(string, encoding.BinaryUnmarshaler)) trackState {
	return &rstState{}
}

type rstState struct{}

func (r *rstState) score(s *stage, _ *track, in *input) verdict {
	v := s.rate(in.f.RST)
	return verdict{vd: baseline.Verdict{Value: v, Expected: 1, Upper: 50, Ready: true, Score: v / 50}, cond: v >= 50, why: "RSTs"}
}

func (r *rstState) save(prefix string, out map[string][]byte) { out[prefix+"|n"] = []byte{1} }

// TestDetectorPlugsIn adds a detector to a stage's list and checks that the
// stage runs it at the global and server scopes, raises and resolves its
// incidents with its unit, contributors and evidence, and checkpoints its
// state under its own key.
func TestDetectorPlugsIn(t *testing.T) {
	t.Parallel()
	st, out := newTestStage(DetectionConfig{})
	cfg := DetectorConfig{K: 1, N: 1, Quiet: 3 * time.Second}
	st.dets = append(slices.Clone(st.dets), rstStorm{&cfg})
	srv := netip.MustParseAddrPort("203.0.113.5:443")
	t0 := int64(1_700_000_000) * sec
	for i := range 20 {
		m := newMerged(0)
		var rst uint64
		if i >= 5 && i < 8 {
			rst = 80
		}
		m.servers[srv] = &serverSnap{f: Features{RST: rst}}
		m.clientSYN[netip.MustParseAddr("198.51.100.9")] = 7
		st.interval(t0+int64(i)*sec, &Features{RST: rst}, m)
	}
	var firing, resolved []Anomaly
	for _, a := range *out {
		if a.Kind != "rst_storm" {
			continue
		}
		if a.State == StateFiring {
			firing = append(firing, a)
		} else {
			resolved = append(resolved, a)
		}
	}
	if len(firing) != 2 || len(resolved) != 2 {
		t.Fatalf("rst_storm: %d firing and %d resolved, want 2 and 2 (global and server): %v", len(firing), len(resolved), *out)
	}
	scopes := map[string]bool{}
	for _, a := range firing {
		scopes[a.Scope] = true
		if a.Unit != "rst/s" || a.Value != 80 || a.Detail != "RSTs" || len(a.Top) == 0 || a.Top[0].Key != "client:198.51.100.9" {
			t.Errorf("alert %+v: want unit rst/s, value 80, the detector's evidence and its contributors", a)
		}
		if want := time.Unix(0, t0+5*sec).UTC(); !a.Start.Equal(want) {
			t.Errorf("alert starts %v, want %v", a.Start, want)
		}
	}
	if !scopes[ScopeGlobal] || !scopes[ScopeServer] {
		t.Errorf("scopes %v, want global and server", scopes)
	}
	saved := st.marshal()
	for _, k := range []string{"rst_storm|global||n", "rst_storm|server|203.0.113.5:443|n"} {
		if _, ok := saved[k]; !ok {
			t.Errorf("checkpoint lacks %q", k)
		}
	}
}

// TestRegistry: every registered detector has its own configuration
// section, a unit at every scope it runs at, and is listed in Detectors;
// DetectionConfig.Detector finds each and nothing else.
func TestRegistry(t *testing.T) {
	t.Parallel()
	var c DetectionConfig
	seen := map[*DetectorConfig]string{}
	for i, d := range registry {
		if Detectors[i] != d.kind() {
			t.Errorf("Detectors[%d] = %q, registry has %q", i, Detectors[i], d.kind())
		}
		sec := c.Detector(d.kind())
		if sec == nil || sec != d.section(&c) {
			t.Errorf("%s: Detector() does not return its section", d.kind())
		}
		if other, dup := seen[sec]; dup {
			t.Errorf("%s and %s share a configuration section", d.kind(), other)
		}
		seen[sec] = d.kind()
		for _, sc := range []string{ScopeGlobal, ScopeServer} {
			if d.unit(sc) == "" {
				t.Errorf("%s: no unit at %s scope", d.kind(), sc)
			}
		}
	}
	if c.Detector("no_such_detector") != nil {
		t.Error("Detector found an unknown kind")
	}
}
