package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/monitor443/monitor443/detect"
)

// TestAssetsChecksum keeps the vendored uPlot files equal to the ones the
// assets README names.
func TestAssetsChecksum(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("assets/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} {
		b, err := os.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if want := fmt.Sprintf("`%s` `%s`", name, hex.EncodeToString(sum[:])); !strings.Contains(string(readme), want) {
			t.Errorf("assets/README.md does not list %s", want)
		}
	}
}

func TestSeriesDownsamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		intervals int
		maxPoints int
		wantStep  float64
	}{
		{name: "fits", intervals: 100, maxPoints: 200, wantStep: 1},
		{name: "one merge", intervals: 300, maxPoints: 200, wantStep: 2},
		{name: "a day", intervals: 86400, maxPoints: 2000, wantStep: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSeries(int64(time.Second), tt.maxPoints)
			t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixNano()
			for i := range tt.intervals {
				s.add(t0+int64(i)*int64(time.Second), [numCols]uint64{colBytesIn: 100, colSYN: 3})
			}
			tl := s.timeline()
			if tl.Step != tt.wantStep {
				t.Errorf("step = %v, want %v", tl.Step, tt.wantStep)
			}
			if len(tl.T) > tt.maxPoints {
				t.Errorf("%d points, want at most %d", len(tl.T), tt.maxPoints)
			}
			// A constant rate stays that rate at every width, the
			// partial last point included.
			for i, v := range tl.Columns["bytes_in"] {
				if v != 100 || tl.Columns["syn"][i] != 3 {
					t.Fatalf("point %d: bytes_in %v syn %v, want 100 and 3", i, v, tl.Columns["syn"][i])
				}
			}
		})
	}
}

func TestSeriesGapIsZero(t *testing.T) {
	t.Parallel()
	s := newSeries(int64(time.Second), 100)
	for _, sec := range []int64{0, 1, 10} {
		s.add(sec*int64(time.Second), [numCols]uint64{colHellos: 5})
	}
	tl := s.timeline()
	want := Timeline{Step: 1, Interval: 1, T: []float64{0, 1, 2, 9, 10}, Columns: map[string][]float64{}}
	for _, c := range columnNames {
		want.Columns[c] = make([]float64, 5)
	}
	want.Columns["client_hellos"] = []float64{5, 5, 0, 0, 5}
	if diff := cmp.Diff(want, tl); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestTallyBounded(t *testing.T) {
	t.Parallel()
	tl := newTally[string](3)
	ts := time.Unix(0, 0).UTC()
	for i := range 10 {
		tl.add(fmt.Sprint("k", i%5), ts.Add(time.Duration(i)*time.Second).UnixNano())
	}
	got := tl.top("t", 2, self)
	want := Table{Title: "t", Distinct: 3, Rest: 4 + 2, Rows: []Row{
		{Key: "k0", Count: 2, First: ts, Last: ts.Add(5 * time.Second)},
		{Key: "k1", Count: 2, First: ts.Add(time.Second), Last: ts.Add(6 * time.Second)},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("top (-want +got):\n%s", diff)
	}
}

// fill gives r a day of one-second intervals, many distinct TLS values and
// more incidents than it keeps: the worst case for the report's size.
func fill(r *Recorder, days int) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	srv := map[netip.AddrPort]detect.Features{}
	for i := range days * 86400 {
		start := t0.Add(time.Duration(i) * time.Second).UnixNano()
		r.Interval(detect.Features{Start: start,
			BytesIn: uint64(1000 + i%977), BytesOut: uint64(50000 + i%7919), NewConns: 10, SYN: 12, Handshakes: 10, ClientHellos: 9})
		// 32 servers each second, the busiest changing every hour.
		clear(srv)
		for j := range 32 {
			ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(j + i/3600)}), 443)
			srv[ap] = detect.Features{Start: start, BytesIn: uint64(100 * (j + 1)), BytesOut: uint64(1000*(j+1) + i%7919), NewConns: 1, SYN: 1,
				Handshakes: 1, ClientHellos: 1}
		}
		r.ServerInterval(start, srv)
	}
	for i := range 50000 {
		c := &detect.CertRecord{Subject: fmt.Sprint("CN=host", i), Issuer: "CN=ca", NotAfter: t0}
		r.TLS(&detect.TLSRecord{TS: t0.Add(time.Duration(i) * time.Second), SNI: fmt.Sprintf("host-%d.example", i),
			JA4: fmt.Sprintf("t13d1516h2_%012d_e5627efa2ab1", i), ServerVersion: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", Cert: c})
	}
	for i := range 1000 {
		end := t0.Add(time.Duration(i)*time.Minute + 30*time.Second)
		r.Anomaly(detect.Anomaly{ID: fmt.Sprint("id", i), Kind: detect.KindSYNFlood, Scope: detect.ScopeGlobal, State: detect.StateResolved,
			Start: t0.Add(time.Duration(i) * time.Minute), End: &end, Value: 300, Baseline: 1, Upper: 7, Unit: "syn/s",
			Summary: "syn_flood", Detail: strings.Repeat("evidence ", 20),
			Top: []detect.Contributor{{Key: "client:192.0.2.1", Value: 3}}})
	}
}

// TestReportDaySize holds a day's report to the budget of about 5 MB.
func TestReportDaySize(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("fills a day of intervals")
	}
	r := New(Config{})
	fill(r, 1)
	var b bytes.Buffer
	if err := r.Write(&b, Meta{Title: "t", Generated: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	t.Logf("a day's report: %d bytes", b.Len())
	if b.Len() > 5<<20 {
		t.Errorf("a day's report is %d bytes, want at most 5 MiB", b.Len())
	}
	for _, s := range []string{`id="incident-id0"`, "host-0.example", `id="report-data"`, "uPlot", `"server":"198.51.100.`} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

// TestReportEscapes checks that hostile strings from the wire stay text.
func TestReportEscapes(t *testing.T) {
	t.Parallel()
	r := New(Config{})
	evil := `</script><script>alert(1)</script>`
	r.Interval(detect.Features{Start: 1e9, BytesIn: 1})
	r.TLS(&detect.TLSRecord{SNI: evil, JA4: evil})
	r.Anomaly(detect.Anomaly{ID: "x", Kind: detect.KindRequestBurst, Scope: detect.ScopeClient, Target: evil, Summary: evil,
		Start: time.Unix(1, 0), Top: []detect.Contributor{{Key: evil}}})
	var b bytes.Buffer
	if err := r.Write(&b, Meta{Title: evil}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert(1)") {
		t.Error("a value from the wire reached the page unescaped")
	}
}

// TestServers checks the choice of the busiest servers: the heaviest by
// bytes, one that rose late included, the target of a server alert after
// them, and the bounds on candidates and totals.
func TestServers(t *testing.T) {
	t.Parallel()
	r := New(Config{TopServers: 3, MaxServerTotals: 40})
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	addr := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 443)
	}
	m := map[netip.AddrPort]detect.Features{}
	for i := range 600 {
		start := t0.Add(time.Duration(i) * time.Second).UnixNano()
		clear(m)
		for j := range 30 { // 0 to 29, the heavier the higher
			m[addr(j)] = detect.Features{Start: start, BytesOut: uint64(10 * (j + 1)), SYN: 1}
		}
		if i%7 == 0 { // 30 to 59, light and scattered
			for j := 30; j < 60; j++ {
				m[addr(j)] = detect.Features{Start: start, BytesIn: 1}
			}
		}
		if i >= 300 { // 200 starts late and outweighs all
			m[addr(200)] = detect.Features{Start: start, BytesOut: 10000, SYN: 5}
		}
		r.Interval(detect.Features{Start: start, BytesOut: 1})
		r.ServerInterval(start, m)
		if i == 400 {
			end := t0.Add(410 * time.Second)
			r.Anomaly(detect.Anomaly{ID: "a", Kind: detect.KindSYNFlood, Scope: detect.ScopeServer, Target: addr(2).String(),
				State: detect.StateResolved, Start: t0.Add(400 * time.Second), End: &end, Lower: 0, Upper: 3})
			r.Anomaly(detect.Anomaly{ID: "b", Kind: detect.KindSYNFlood, Scope: detect.ScopeGlobal,
				State: detect.StateResolved, Start: t0.Add(400 * time.Second), End: &end})
		}
	}
	if n := len(r.servers.cands); n > 4*3 {
		t.Errorf("%d candidates, want at most 12", n)
	}
	if n := r.servers.totals.Len(); n > 40 {
		t.Errorf("%d totals, want at most 40", n)
	}
	v := r.view(Meta{})
	var d pageData
	if err := json.Unmarshal([]byte(v.Data), &d); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range d.Servers {
		got = append(got, fmt.Sprintf("%s %v %v", sc.Server, sc.ByAlert, sc.From > 0))
		if len(sc.Timeline.T) == 0 {
			t.Errorf("%s: empty timeline", sc.Server)
		}
	}
	// 200 sent 3 MB from t0+300 s (the totals were full when it came,
	// so it may have had traffic before: its series says from when);
	// 29 and 28 300 and 290 bytes a second all along; 2, the alert's
	// target, was dropped early as light, so its series starts at the
	// alert.
	want := []string{"192.0.2.200:443 false true", "192.0.2.29:443 false false", "192.0.2.28:443 false false", "192.0.2.2:443 true true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if v.Servers != 4 {
		t.Errorf("view has %d servers, want 4", v.Servers)
	}
	// A server alert of no global event is drawn on the global charts
	// too (once per event), and on its server's.
	var spans []string
	for _, s := range d.Spans {
		spans = append(spans, s.ID+" "+s.Server+" "+s.Chart)
	}
	if diff := cmp.Diff([]string{"a  syn", "b  syn", "a 192.0.2.2:443 syn"}, spans); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if d.Servers[0].Timeline.Columns["bytes_out"][len(d.Servers[0].Timeline.T)-1] != 10000 {
		t.Errorf("late server's last rate %v, want 10000", d.Servers[0].Timeline.Columns["bytes_out"])
	}
}

func TestLiveBounded(t *testing.T) {
	t.Parallel()
	l := NewLive(time.Second, func() []detect.Anomaly { return nil })
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := range 2 * 3600 {
		l.Interval(detect.Features{Start: t0.Add(time.Duration(i) * time.Second).UnixNano(), SYN: 1})
	}
	for i := range 500 {
		end := t0.Add(time.Duration(i)*10*time.Second + time.Second)
		l.Anomaly(detect.Anomaly{ID: fmt.Sprint(i), Kind: detect.KindSYNFlood, Scope: detect.ScopeGlobal,
			Start: t0.Add(time.Duration(i) * 10 * time.Second), End: &end})
	}
	d := l.data()
	if n := len(d.Timeline.T); n != 3600 {
		t.Errorf("%d points, want the last hour's 3600", n)
	}
	if first := d.Timeline.T[0]; first != float64(t0.Add(time.Hour).Unix()) {
		t.Errorf("first point at %v, want an hour after the start", first)
	}
	if n := len(d.Spans); n == 0 || n > maxLiveIncidents {
		t.Errorf("%d spans, want 1 to %d", n, maxLiveIncidents)
	}
	w := httptest.NewRecorder()
	l.ServePage(w, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(w.Body.String(), `data-live="1"`) {
		t.Error("live page is not in live mode")
	}
}

// BenchmarkRecorderInterval is the per-interval cost the report adds.
func BenchmarkRecorderInterval(b *testing.B) {
	r := New(Config{})
	var i int64
	b.ReportAllocs()
	for b.Loop() {
		i++
		r.Interval(detect.Features{Start: i * int64(time.Second), BytesIn: 1})
	}
}

// BenchmarkRecorderTLS is the per-connection cost the report adds.
func BenchmarkRecorderTLS(b *testing.B) {
	r := New(Config{})
	rec := &detect.TLSRecord{SNI: "www.example", JA4: "t13d1516h2_8daaf6152771_e5627efa2ab1", ServerVersion: "TLS 1.3"}
	b.ReportAllocs()
	for b.Loop() {
		r.TLS(rec)
	}
}

// BenchmarkRecorderServerInterval is the per-interval cost of the busiest
// servers' timelines with the engine's default of 256 servers an interval.
func BenchmarkRecorderServerInterval(b *testing.B) {
	r := New(Config{})
	m := map[netip.AddrPort]detect.Features{}
	for j := range 256 {
		m[netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(j / 250), byte(j % 250)}), 443)] = detect.Features{BytesIn: uint64(j), BytesOut: uint64(100 * j), SYN: 1}
	}
	var i int64
	b.ReportAllocs()
	for b.Loop() {
		i++
		r.ServerInterval(i*int64(time.Second), m)
	}
}
