package evaluate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Alert is one event of a monitor443 alerts file (-output.alerts), the
// JSON form of detect.Anomaly. Only the fields scoring needs are decoded;
// the others are ignored.
type Alert struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Kind   string `json:"kind"`
	State  string `json:"state"`
	Scope  string `json:"scope"`
	Target string `json:"target"`
	// Start is when the incident began; Detected, when present, is when
	// the detector fired.
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end,omitempty"`
	Detected *time.Time `json:"detected,omitempty"`
	Summary  string     `json:"summary"`
	// Line is the alert's line number in its file, from 1.
	Line int `json:"-"`
}

// StateFiring is the state of an alert's firing event; only these count.
const StateFiring = "firing"

// Time returns when the alert fired: Detected when present, else Start.
func (a Alert) Time() time.Time {
	if a.Detected != nil {
		return *a.Detected
	}
	return a.Start
}

// ReadAlerts decodes a JSON Lines alerts file, one [Alert] per line; blank
// lines are skipped. An error names the line: "line 7: ...".
func ReadAlerts(r io.Reader) ([]Alert, error) {
	br := bufio.NewReader(r)
	var out []Alert
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if b := bytes.TrimSpace(line); len(b) > 0 {
			var a Alert
			if jerr := json.Unmarshal(b, &a); jerr != nil {
				return nil, fmt.Errorf("line %d: %w", n, jerr)
			}
			if a.Kind == "" || a.State == "" || a.Start.IsZero() {
				return nil, fmt.Errorf("line %d: not an alert: kind, state and start are required", n)
			}
			a.Line = n
			out = append(out, a)
		}
		if err != nil {
			return out, nil
		}
	}
}
