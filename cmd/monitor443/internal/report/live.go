package report

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/monitor443/monitor443/detect"
)

// Live keeps the last hour for the live page: a ring of intervals filled
// once per interval, and the incidents of that hour. Safe for concurrent
// use.
type Live struct {
	interval int64
	alerts   func() []detect.Anomaly

	mu        sync.Mutex
	ring      []liveInterval // oldest first, at most max
	max       int
	incidents map[string]*detect.Anomaly
	order     []string
}

type liveInterval struct {
	start int64
	v     [numCols]uint64
}

// liveWindow is how far back the live page looks.
const liveWindow = time.Hour

// maxLiveIncidents bounds the incidents the live page keeps.
const maxLiveIncidents = 200

// NewLive returns a Live for the engine's interval; alerts returns the
// alerts firing now, for the page's table.
func NewLive(interval time.Duration, alerts func() []detect.Anomaly) *Live {
	if interval <= 0 {
		interval = time.Second
	}
	n := int(liveWindow / interval)
	n = min(max(n, 1), 3600)
	return &Live{interval: int64(interval), alerts: alerts, max: n, incidents: map[string]*detect.Anomaly{}}
}

// Interval records one closed interval's global features.
func (l *Live) Interval(f detect.Features) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) == l.max {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:l.max-1]
	}
	l.ring = append(l.ring, liveInterval{start: f.Start, v: columnsOf(&f)})
}

// Anomaly records a firing or resolved anomaly and forgets incidents that
// ended more than an hour before it, or the oldest beyond the bound.
func (l *Live) Anomaly(a detect.Anomaly) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.incidents[a.ID]; ok {
		*old = a
	} else {
		l.incidents[a.ID] = &a
		l.order = append(l.order, a.ID)
	}
	horizon := a.Start.Add(-liveWindow)
	keep := l.order[:0]
	for i, id := range l.order {
		x := l.incidents[id]
		if (x.End != nil && x.End.Before(horizon)) || len(l.order)-i > maxLiveIncidents {
			delete(l.incidents, id)
			continue
		}
		keep = append(keep, id)
	}
	l.order = keep
}

// liveData is api/v1/report.
type liveData struct {
	pageData
	Alerts []detect.Anomaly `json:"alerts"`
}

func (l *Live) data() liveData {
	l.mu.Lock()
	s := newSeries(l.interval, l.max+1)
	for _, iv := range l.ring {
		s.add(iv.start, iv.v)
	}
	end := time.Now()
	if n := len(l.ring); n > 0 {
		end = time.Unix(0, l.ring[n-1].start+l.interval)
	}
	d := liveData{pageData: pageData{Timeline: s.timeline(), Spans: spansOf(l.order, l.incidents, end)}}
	l.mu.Unlock()
	d.Alerts = l.alerts()
	if d.Alerts == nil {
		d.Alerts = []detect.Anomaly{}
	}
	return d
}

// ServeData serves the live page's data as JSON.
func (l *Live) ServeData(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(l.data())
}

// ServePage serves the live page; its script fetches api/v1/report.
func (l *Live) ServePage(w http.ResponseWriter, _ *http.Request) {
	v := view{Meta: Meta{Title: "monitor443"}, Live: true, CSS: template.CSS(pageCSS), UPlotCSS: template.CSS(uplotCSS),
		UPlotJS: template.JS(uplotJS), PageJS: template.JS(pageJS), Data: template.JS("{}")}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'")
	_ = page.Execute(w, v)
}
