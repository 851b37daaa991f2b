package report

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"math"
	"net"
	"net/netip"
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
	// TopServers is how many of the busiest servers get their own
	// timeline (default 5; negative: none). The timelines of four times
	// as many candidates are kept while the run goes.
	TopServers int
	// MaxServerTotals bounds the servers whose byte totals are counted
	// to find the busiest (default 4096).
	MaxServerTotals int
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
	if c.TopServers == 0 {
		c.TopServers = 5
	}
	if c.MaxServerTotals <= 0 {
		c.MaxServerTotals = 4096
	}
	return c
}

// Recorder collects what a run saw for the report. Safe for concurrent
// use.
type Recorder struct {
	cfg Config

	mu        sync.Mutex
	series    *series
	servers   *servers
	incidents map[string]*detect.Anomaly
	order     []string
	dropped   int
	tls       uint64
	ech       uint64
	versions  *tally[string]
	ciphers   *tally[string]
	snis      *tally[string]
	endpoints *tally[endpoint]
	ja4s      *tally[string]
	alpns     *tally[string]
	certs     *tally[certKey]
	certInfo  map[certKey]*detect.CertRecord
}

// endpoint is a TLS record's server, kept as the record has it so that
// counting it costs no allocation.
type endpoint struct {
	ip   string
	port uint16
}

func (e endpoint) String() string { return net.JoinHostPort(e.ip, strconv.Itoa(int(e.port))) }

// certKey tells certificates apart.
type certKey struct {
	subject, issuer string
	notAfter        int64
}

// New returns an empty Recorder.
func New(cfg Config) *Recorder {
	cfg = cfg.withDefaults()
	return &Recorder{
		cfg:       cfg,
		series:    newSeries(int64(cfg.Interval), cfg.MaxPoints),
		servers:   newServers(cfg),
		incidents: map[string]*detect.Anomaly{},
		versions:  newTally[string](cfg.MaxKeys),
		ciphers:   newTally[string](cfg.MaxKeys),
		snis:      newTally[string](cfg.MaxKeys),
		endpoints: newTally[endpoint](cfg.MaxKeys),
		ja4s:      newTally[string](cfg.MaxKeys),
		alpns:     newTally[string](cfg.MaxKeys),
		certs:     newTally[certKey](cfg.MaxKeys),
		certInfo:  map[certKey]*detect.CertRecord{},
	}
}

// Interval records one closed interval's global features.
func (r *Recorder) Interval(f detect.Features) {
	r.mu.Lock()
	r.series.add(f.Start, columnsOf(&f))
	r.mu.Unlock()
}

// ServerInterval records one closed interval's per-server features (the
// engine's OnServerInterval). The map is not kept.
func (r *Recorder) ServerInterval(start int64, m map[netip.AddrPort]detect.Features) {
	r.mu.Lock()
	r.servers.add(start, m)
	r.mu.Unlock()
}

// Anomaly records a firing or resolved anomaly; the latest event of an
// incident replaces the earlier ones.
func (r *Recorder) Anomaly(a detect.Anomaly) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := chartKinds[a.Kind]; ok && a.Scope == detect.ScopeServer {
		r.servers.pin(a.Target)
	}
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

// TLS records one TLS connection. The record is not kept, and counting
// it allocates nothing unless a value is new.
func (r *Recorder) TLS(rec *detect.TLSRecord) {
	ts := rec.TS.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tls++
	if rec.ECH {
		r.ech++
	}
	r.versions.add(orNone(rec.ServerVersion, "(no server answer)"), ts)
	r.ciphers.add(orNone(rec.Cipher, "(no server answer)"), ts)
	r.snis.add(orNone(rec.SNI, "(no SNI)"), ts)
	r.endpoints.add(endpoint{rec.DstIP, rec.DstPort}, ts)
	r.ja4s.add(orNone(rec.JA4, "(none)"), ts)
	r.alpns.add(orNone(rec.ALPNSelected, "(none selected)"), ts)
	if c := rec.Cert; c != nil {
		key := certKey{c.Subject, c.Issuer, c.NotAfter.UnixNano()}
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

// tally counts values with first and last seen (Unix ns), for at most max
// keys.
type tally[K comparable] struct {
	max   int
	m     map[K]*entry
	other uint64
}

type entry struct {
	n           uint64
	first, last int64
}

func newTally[K comparable](maxKeys int) *tally[K] {
	return &tally[K]{max: maxKeys, m: map[K]*entry{}}
}

// add counts key at ts and reports whether key is tracked.
func (t *tally[K]) add(key K, ts int64) bool {
	e := t.m[key]
	if e == nil {
		if len(t.m) >= t.max {
			t.other++
			return false
		}
		e = &entry{first: ts, last: ts}
		t.m[key] = e
	}
	e.n++
	e.first = min(e.first, ts)
	e.last = max(e.last, ts)
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

// topRows returns the n most frequent keys (most first, then by their
// text) and the count of the others.
func (t *tally[K]) topRows(n int, str func(K) string) ([]Row, []K, uint64) {
	type kr struct {
		k K
		r Row
	}
	all := make([]kr, 0, len(t.m))
	for k, e := range t.m {
		all = append(all, kr{k, Row{Key: str(k), Count: e.n, First: time.Unix(0, e.first).UTC(), Last: time.Unix(0, e.last).UTC()}})
	}
	slices.SortFunc(all, func(a, b kr) int {
		if c := cmp.Compare(b.r.Count, a.r.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.r.Key, b.r.Key)
	})
	rest := t.other
	if len(all) > n {
		for _, x := range all[n:] {
			rest += x.r.Count
		}
		all = all[:n]
	}
	rows, keys := make([]Row, len(all)), make([]K, len(all))
	for i, x := range all {
		rows[i], keys[i] = x.r, x.k
	}
	return rows, keys, rest
}

func (t *tally[K]) top(title string, n int, str func(K) string) Table {
	rows, _, rest := t.topRows(n, str)
	return Table{Title: title, Rows: rows, Distinct: len(t.m), Rest: rest}
}

func self(s string) string { return s }

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
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Chart string `json:"chart"`
	Scope string `json:"scope"`
	// Server is the charted server the span belongs to; "" for the
	// global charts.
	Server string   `json:"server,omitempty"`
	Start  float64  `json:"start"`
	End    float64  `json:"end"`
	Lower  *float64 `json:"lower,omitempty"`
	Upper  *float64 `json:"upper,omitempty"`
	Label  string   `json:"label"`
}

// pageData is the JSON the page's script reads.
type pageData struct {
	Timeline Timeline      `json:"timeline"`
	Spans    []span        `json:"spans"`
	Servers  []serverChart `json:"servers,omitempty"` // the report only
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
	Servers      int
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

// serverSpans returns the spans of the server-scope alerts on the charted
// servers, in order; incidents still firing end at end.
func serverSpans(order []string, incidents map[string]*detect.Anomaly, charted []serverChart, end time.Time) []span {
	on := map[string]bool{}
	for _, c := range charted {
		on[c.Server] = true
	}
	out := []span{}
	for _, id := range order {
		a := incidents[id]
		chart, ok := chartKinds[a.Kind]
		if !ok || a.Scope != detect.ScopeServer || !on[a.Target] {
			continue
		}
		e := end
		if a.End != nil {
			e = *a.End
		}
		s := span{ID: a.ID, Kind: a.Kind, Chart: chart, Scope: a.Scope, Server: a.Target,
			Start: float64(a.Start.UnixNano()) / 1e9, End: float64(e.UnixNano()) / 1e9,
			Label: a.Kind + " " + a.Scope + " " + a.Target}
		if a.Upper > a.Lower {
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
	data := pageData{Timeline: tl, Spans: spansOf(r.order, r.incidents, v.End), Servers: r.servers.charts()}
	data.Spans = append(data.Spans, serverSpans(r.order, r.incidents, data.Servers, v.End)...)
	v.Servers = len(data.Servers)
	members := map[string][]string{}
	hyg := newTally[string](len(detect.AllKinds))
	for _, id := range r.order {
		a := r.incidents[id]
		g := cmp.Or(a.Group, a.ID)
		members[g] = append(members[g], id)
		if _, ok := chartKinds[a.Kind]; !ok {
			hyg.add(a.Kind, a.Start.UnixNano())
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
	v.Hygiene = hyg.top("", len(detect.AllKinds), self).Rows
	v.Tables = []Table{
		r.versions.top("TLS versions negotiated", r.cfg.TopN, self),
		r.ciphers.top("Cipher suites negotiated", r.cfg.TopN, self),
		r.snis.top("Top SNIs", r.cfg.TopN, self),
		r.endpoints.top("Busiest servers by TLS connections", r.cfg.TopN, endpoint.String),
		r.ja4s.top("Top JA4 fingerprints", r.cfg.TopN, self),
		r.alpns.top("ALPN selected", r.cfg.TopN, self),
	}
	rows, keys, rest := r.certs.topRows(r.cfg.TopN, func(k certKey) string {
		return k.subject + "\x00" + k.issuer + "\x00" + strconv.FormatInt(k.notAfter, 10)
	})
	v.CertsDropped = rest
	for i, row := range rows {
		v.Certs = append(v.Certs, Cert{CertRecord: *r.certInfo[keys[i]], Count: row.Count, First: row.First, Last: row.Last})
	}
	b, err := json.Marshal(data) // escapes <, > and &, so it cannot end the script element
	if err != nil {
		b = []byte("{}") // unreachable: the data has no unencodable values
	}
	v.Data = template.JS(b)
	return v
}
