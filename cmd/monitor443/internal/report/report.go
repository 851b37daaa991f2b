package report

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/monitor443/monitor443/detect"
)

// Config bounds a Recorder; zero values select the defaults.
type Config struct {
	// Interval is the engine's interval (default 1 s).
	Interval time.Duration
	// MaxPoints bounds the timeline's points (default 2000).
	MaxPoints int
	// MaxIncidents bounds the incidents kept (default 500).
	MaxIncidents int
	// MaxKeys bounds the distinct values of each TLS table (default 10000).
	MaxKeys int
	// TopN is the rows each TLS table shows (default 15).
	TopN int
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.MaxPoints <= 0 {
		c.MaxPoints = 2000
	}
	if c.MaxIncidents <= 0 {
		c.MaxIncidents = 500
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 10000
	}
	if c.TopN <= 0 {
		c.TopN = 15
	}
	return c
}

// Recorder collects what a run saw for the report. Safe for concurrent
// use.
type Recorder struct {
	cfg Config

	mu        sync.Mutex
	series    *series
	incidents map[string]*detect.Anomaly
	order     []string
	dropped   int
	tls       uint64
	ech       uint64
	versions  *tally
	ciphers   *tally
	snis      *tally
	servers   *tally
	ja4s      *tally
	alpns     *tally
	certs     *tally
	certInfo  map[string]*detect.CertRecord
}

// New returns an empty Recorder.
func New(cfg Config) *Recorder {
	cfg = cfg.withDefaults()
	return &Recorder{
		cfg:       cfg,
		series:    newSeries(int64(cfg.Interval), cfg.MaxPoints),
		incidents: map[string]*detect.Anomaly{},
		versions:  newTally(cfg.MaxKeys),
		ciphers:   newTally(cfg.MaxKeys),
		snis:      newTally(cfg.MaxKeys),
		servers:   newTally(cfg.MaxKeys),
		ja4s:      newTally(cfg.MaxKeys),
		alpns:     newTally(cfg.MaxKeys),
		certs:     newTally(cfg.MaxKeys),
		certInfo:  map[string]*detect.CertRecord{},
	}
}

// Interval records one closed interval's global features.
func (r *Recorder) Interval(f detect.Features) {
	r.mu.Lock()
	r.series.add(f.Start, columnsOf(&f))
	r.mu.Unlock()
}

// Anomaly records a firing or resolved anomaly; the latest event of an
// incident replaces the earlier ones.
func (r *Recorder) Anomaly(a detect.Anomaly) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.incidents[a.ID]; ok {
		*old = a
		return
	}
	if len(r.order) >= r.cfg.MaxIncidents {
		r.dropped++
		return
	}
	r.incidents[a.ID] = &a
	r.order = append(r.order, a.ID)
}

// TLS records one TLS connection. The record is not kept.
func (r *Recorder) TLS(rec *detect.TLSRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tls++
	if rec.ECH {
		r.ech++
	}
	ts := rec.TS
	r.versions.add(orNone(rec.ServerVersion, "(no server answer)"), ts)
	r.ciphers.add(orNone(rec.Cipher, "(no server answer)"), ts)
	r.snis.add(orNone(rec.SNI, "(no SNI)"), ts)
	r.servers.add(net.JoinHostPort(rec.DstIP, strconv.Itoa(int(rec.DstPort))), ts)
	r.ja4s.add(orNone(rec.JA4, "(none)"), ts)
	r.alpns.add(orNone(rec.ALPNSelected, "(none selected)"), ts)
	if c := rec.Cert; c != nil {
		key := c.Subject + "\x00" + c.Issuer + "\x00" + c.NotAfter.UTC().Format(time.RFC3339)
		if r.certs.add(key, ts) {
			if _, ok := r.certInfo[key]; !ok {
				cc := *c
				cc.SANs = nil
				r.certInfo[key] = &cc
			}
		}
	}
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// tally counts values with first and last seen, for at most max keys.
type tally struct {
	max   int
	m     map[string]*entry
	other uint64
}

type entry struct {
	n           uint64
	first, last time.Time
}

func newTally(maxKeys int) *tally { return &tally{max: maxKeys, m: map[string]*entry{}} }

// add counts key at ts and reports whether key is tracked.
func (t *tally) add(key string, ts time.Time) bool {
	e := t.m[key]
	if e == nil {
		if len(t.m) >= t.max {
			t.other++
			return false
		}
		e = &entry{first: ts}
		t.m[key] = e
	}
	e.n++
	if ts.Before(e.first) {
		e.first = ts
	}
	if ts.After(e.last) {
		e.last = ts
	}
	return true
}

// Row is one line of a TLS table.
type Row struct {
	Key         string
	Count       uint64
	First, Last time.Time
}

// Table is a TLS table's top rows.
type Table struct {
	Title    string
	Rows     []Row
	Distinct int
	// Rest counts the values not shown (beyond TopN or beyond MaxKeys).
	Rest uint64
}

func (t *tally) top(title string, n int) Table {
	rows := make([]Row, 0, len(t.m))
	for k, e := range t.m {
		rows = append(rows, Row{Key: k, Count: e.n, First: e.first, Last: e.last})
	}
	slices.SortFunc(rows, func(a, b Row) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	tb := Table{Title: title, Distinct: len(rows), Rest: t.other}
	if len(rows) > n {
		for _, r := range rows[n:] {
			tb.Rest += r.Count
		}
		rows = rows[:n]
	}
	tb.Rows = rows
	return tb
}

// Health is the capture's health at the end of the run, filled by the
// caller from the engine and the file source.
type Health struct {
	Frames, Packets, Bytes   uint64
	OtherPorts               uint64
	DecodeFailures           uint64
	DecodeFailuresByReason   map[string]uint64
	KernelDrops, IfaceDrops  uint64
	Flows, Evictions         uint64
	DamagedRepaired          uint64
	DamagedSkipped           uint64
	DamagedSkippedBytes      uint64
	Warnings                 []string
	Interrupted              bool
	AnomaliesDropped         uint64
	ElapsedSeconds           float64
	ClientHellos, Handshakes uint64
}

// Meta describes the run.
type Meta struct {
	// Title heads the page.
	Title string
	// Version is monitor443's version string.
	Version string
	// Sources names the capture files or the interface.
	Sources []string
	// Generated is when the report was written (wall clock).
	Generated time.Time
	Health    Health
}

// chartKinds maps an anomaly kind to the chart that shows its measure.
var chartKinds = map[string]string{
	detect.KindBandwidthSpike: "bytes",
	detect.KindSYNFlood:       "syn",
	detect.KindRequestBurst:   "hellos",
	detect.KindQUICFlood:      "quic",
}

// span is an alert drawn on a chart.
type span struct {
	ID    string   `json:"id"`
	Kind  string   `json:"kind"`
	Chart string   `json:"chart"`
	Scope string   `json:"scope"`
	Start float64  `json:"start"`
	End   float64  `json:"end"`
	Lower *float64 `json:"lower,omitempty"`
	Upper *float64 `json:"upper,omitempty"`
	Label string   `json:"label"`
}

// pageData is the JSON the page's script reads.
type pageData struct {
	Timeline Timeline `json:"timeline"`
	Spans    []span   `json:"spans"`
}

// Incident is one incident's section.
type Incident struct {
	detect.Anomaly
	Anchor  string
	Chart   string
	Firing  bool
	Related []string // other scopes of the same event
	TopRows []detect.Contributor
}

// Cert is one certificate row.
type Cert struct {
	detect.CertRecord
	Count       uint64
	First, Last time.Time
}

// view is what the template renders.
type view struct {
	Meta
	Live         bool
	CSS          template.CSS
	UPlotCSS     template.CSS
	UPlotJS      template.JS
	PageJS       template.JS
	Data         template.JS
	Start, End   time.Time
	Step         float64
	Points       int
	Incidents    []Incident
	Dropped      int
	Hygiene      []Row
	TLS          uint64
	ECH          uint64
	Tables       []Table
	Certs        []Cert
	CertsDropped uint64
}

var (
	//go:embed assets/uPlot.iife.min.js
	uplotJS string
	//go:embed assets/uPlot.min.css
	uplotCSS string
	//go:embed page.js
	pageJS string
	//go:embed page.css
	pageCSS string
	//go:embed page.html
	pageHTML string

	page = template.Must(template.New("page").Funcs(template.FuncMap{
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05")
		},
		"num": num,
	}).Parse(pageHTML))
)

// num formats a measured value for reading: whole numbers from 100 up,
// three significant digits below.
func num(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// spansOf returns the spans of the charted incidents in order: one per
// event, the global-scope member of a group when there is one, else the
// group's first alert. Incidents still firing end at end.
func spansOf(order []string, incidents map[string]*detect.Anomaly, end time.Time) []span {
	groups := map[string]*detect.Anomaly{}
	for _, id := range order {
		a := incidents[id]
		if _, ok := chartKinds[a.Kind]; !ok {
			continue
		}
		g := cmp.Or(a.Group, a.ID)
		if cur, ok := groups[g]; !ok || (a.Scope == detect.ScopeGlobal && cur.Scope != detect.ScopeGlobal) {
			groups[g] = a
		}
	}
	out := []span{}
	for _, id := range order {
		a := incidents[id]
		if groups[cmp.Or(a.Group, a.ID)] != a {
			continue
		}
		e := end
		if a.End != nil {
			e = *a.End
		}
		s := span{ID: a.ID, Kind: a.Kind, Chart: chartKinds[a.Kind], Scope: a.Scope,
			Start: float64(a.Start.UnixNano()) / 1e9, End: float64(e.UnixNano()) / 1e9,
			Label: strings.TrimSpace(a.Kind + " " + a.Scope + " " + a.Target)}
		if a.Scope == detect.ScopeGlobal && a.Upper > a.Lower {
			lo, hi := a.Lower, a.Upper
			s.Lower, s.Upper = &lo, &hi
		}
		out = append(out, s)
	}
	return out
}

// Write renders the report as one HTML file.
func (r *Recorder) Write(w io.Writer, meta Meta) error {
	v := r.view(meta)
	return page.Execute(w, v)
}

func (r *Recorder) view(meta Meta) view {
	r.mu.Lock()
	defer r.mu.Unlock()
	tl := r.series.timeline()
	v := view{Meta: meta, CSS: template.CSS(pageCSS), UPlotCSS: template.CSS(uplotCSS), UPlotJS: template.JS(uplotJS),
		PageJS: template.JS(pageJS), Step: tl.Step, Points: len(tl.T), Dropped: r.dropped, TLS: r.tls, ECH: r.ech}
	if n := len(r.series.b); n > 0 {
		v.Start = time.Unix(0, r.series.t0).UTC()
		v.End = time.Unix(0, r.series.b[n-1].last+r.series.interval).UTC()
	}
	data := pageData{Timeline: tl, Spans: spansOf(r.order, r.incidents, v.End)}
	members := map[string][]string{}
	hyg := newTally(len(detect.AllKinds))
	for _, id := range r.order {
		a := r.incidents[id]
		g := cmp.Or(a.Group, a.ID)
		members[g] = append(members[g], id)
		if _, ok := chartKinds[a.Kind]; !ok {
			hyg.add(a.Kind, a.Start)
		}
	}
	for _, id := range r.order {
		a := r.incidents[id]
		inc := Incident{Anomaly: *a, Anchor: "incident-" + a.ID, Chart: chartKinds[a.Kind], Firing: a.State == detect.StateFiring}
		for _, m := range members[cmp.Or(a.Group, a.ID)] {
			if m != a.ID {
				inc.Related = append(inc.Related, m)
			}
		}
		inc.TopRows = a.Top
		if len(inc.TopRows) > 10 {
			inc.TopRows = inc.TopRows[:10]
		}
		v.Incidents = append(v.Incidents, inc)
	}
	v.Hygiene = hyg.top("", len(detect.AllKinds)).Rows
	v.Tables = []Table{
		r.versions.top("TLS versions negotiated", r.cfg.TopN),
		r.ciphers.top("Cipher suites negotiated", r.cfg.TopN),
		r.snis.top("Top SNIs", r.cfg.TopN),
		r.servers.top("Busiest servers by TLS connections", r.cfg.TopN),
		r.ja4s.top("Top JA4 fingerprints", r.cfg.TopN),
		r.alpns.top("ALPN selected", r.cfg.TopN),
	}
	ct := r.certs.top("", r.cfg.TopN)
	v.CertsDropped = ct.Rest
	for _, row := range ct.Rows {
		v.Certs = append(v.Certs, Cert{CertRecord: *r.certInfo[row.Key], Count: row.Count, First: row.First, Last: row.Last})
	}
	b, err := json.Marshal(data) // escapes <, > and &, so it cannot end the script element
	if err != nil {
		b = []byte("{}") // unreachable: the data has no unencodable values
	}
	v.Data = template.JS(b)
	return v
}
