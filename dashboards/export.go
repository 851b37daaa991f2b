package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/grafana-tools/sdk"
)

// FileName returns the name of b's JSON file: its UID (which starts with
// "monitor443-") plus ".json".
func FileName(b *sdk.Board) string {
	return b.UID + ".json"
}

// Marshal returns b as indented JSON with object keys sorted and a final
// newline, so the same board always gives the same bytes. The returned slice
// belongs to the caller.
func Marshal(b *sdk.Board) ([]byte, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("marshal board %q: %w", b.UID, err)
	}
	// A round trip through generic values sorts every object's keys
	// (encoding/json writes map keys in order).
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("normalize board %q: %w", b.UID, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal board %q: %w", b.UID, err)
	}
	return buf.Bytes(), nil
}

// WriteJSON writes every board of [All] to dir as monitor443-<name>.json
// (see [FileName] and [Marshal]). It creates dir if needed and leaves other
// files alone.
func WriteJSON(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create dashboard directory: %w", err)
	}
	for _, b := range All() {
		data, err := Marshal(b)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, FileName(b))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write dashboard: %w", err)
		}
	}
	return nil
}

// Query is one PromQL expression of a board.
//
// Expr still holds Grafana's variables ($instance, $server,
// $__rate_interval, $__interval, $__range); use [Query.Expand] to replace
// them before sending the expression to Prometheus.
type Query struct {
	Board string // board UID
	Panel string // panel title; "annotation: <name>" for annotation queries
	RefID string // target refId within the panel; empty for annotations
	Expr  string
}

// Queries lists every PromQL expression in b: each target of each panel in
// layout order, then each annotation query.
func Queries(b *sdk.Board) []Query {
	var qs []Query
	for _, p := range b.Panels {
		for _, t := range panelTargets(p) {
			if t.Expr == "" {
				continue
			}
			qs = append(qs, Query{Board: b.UID, Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
		}
	}
	for _, a := range b.Annotations.List {
		if a.Expr != "" {
			qs = append(qs, Query{Board: b.UID, Panel: "annotation: " + a.Name, Expr: a.Expr})
		}
	}
	return qs
}

// panelTargets returns p's targets, including those of custom panels, which
// the SDK does not know how to find.
func panelTargets(p *sdk.Panel) []sdk.Target {
	if p.OfType == sdk.CustomType && p.CustomPanel != nil {
		ts, _ := (*p.CustomPanel)["targets"].([]sdk.Target)
		return ts
	}
	if ts := p.GetTargets(); ts != nil {
		return *ts
	}
	return nil
}

// Expand returns q.Expr with Grafana variables replaced from vars, whose
// keys are variable names without the dollar sign (for example "instance",
// "__rate_interval"). Both $name and ${name} forms are replaced; longer
// names are replaced first so $__range does not clobber $__rate_interval.
// Variables missing from vars are left as they are.
func (q Query) Expand(vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	pairs := make([]string, 0, 4*len(names))
	for _, n := range names {
		pairs = append(pairs, "${"+n+"}", vars[n], "$"+n, vars[n])
	}
	return strings.NewReplacer(pairs...).Replace(q.Expr)
}
