package dashboards

import (
	"strings"

	"github.com/grafana-tools/sdk"
)

// Grid geometry of Grafana dashboards: 24 columns, heights in grid units.
const (
	gridWidth   = 24
	panelHeight = 8
	statHeight  = 4
)

// uidPrefix starts every board's UID and file name.
const uidPrefix = "monitor443-"

// instanceMatcher is part of every selector, so each panel follows the
// instance variable.
const instanceMatcher = `instance=~"$instance"`

// datasourceRef points panels, targets and variables at the datasource
// variable.
func datasourceRef() map[string]string {
	return map[string]string{"type": "prometheus", "uid": "${datasource}"}
}

// sel returns a selector of metric with the instance matcher followed by
// matchers.
func sel(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(append([]string{instanceMatcher}, matchers...), ", ") + "}"
}

// rate returns rate() of sel(metric, matchers...) over $__rate_interval.
func rate(metric string, matchers ...string) string {
	return "rate(" + sel(metric, matchers...) + "[$__rate_interval])"
}

// target is one query of a panel before it gets a refId.
type target struct {
	expr    string
	legend  string
	instant bool
	table   bool
}

// builder lays panels out left to right, top to bottom, and numbers them.
type builder struct {
	board      *sdk.Board
	nextID     uint
	x, y, rowH int
}

func newBuilder(name, title string) *builder {
	now := true
	b := &sdk.Board{
		UID:           uidPrefix + name,
		Title:         title,
		Tags:          []string{"monitor443"},
		Style:         "dark",
		Timezone:      "browser",
		Editable:      true,
		Panels:        []*sdk.Panel{},
		Rows:          []*sdk.Row{},
		Refresh:       &sdk.BoolString{Value: "1m"},
		SchemaVersion: 39,
		Version:       1,
		Time:          sdk.Time{From: "now-6h", To: "now"},
		Timepicker: sdk.Timepicker{
			Now:              &now,
			RefreshIntervals: []string{"30s", "1m", "5m", "15m", "1h"},
			TimeOptions:      []string{},
		},
		GraphTooltip: 1, // shared crosshair
		Templating:   sdk.Templating{List: templateVars()},
	}
	b.Annotations.List = []sdk.Annotation{}
	b.UpdateSlug()
	asDropdown, keepTime := true, true
	b.Links = []sdk.Link{{
		Title:       "monitor443",
		Type:        "dashboards",
		Tags:        []string{"monitor443"},
		AsDropdown:  &asDropdown,
		IncludeVars: true,
		KeepTime:    &keepTime,
	}}
	return &builder{board: b}
}

// templateVars returns the datasource, instance and server variables.
func templateVars() []sdk.TemplateVar {
	all := func() sdk.Current {
		return sdk.Current{
			Text:  &sdk.StringSliceString{Value: []string{"All"}, Valid: true},
			Value: []string{"$__all"},
		}
	}
	onLoad, onTimeRangeChange := int64(1), int64(2)
	return []sdk.TemplateVar{
		{
			Name:    "datasource",
			Label:   "Data source",
			Type:    "datasource",
			Query:   "prometheus",
			Refresh: sdk.BoolInt{Value: &onLoad},
			Options: []sdk.Option{},
			Current: sdk.Current{
				Text:  &sdk.StringSliceString{Value: []string{"default"}, Valid: true},
				Value: "default",
			},
		},
		{
			Name:       "instance",
			Label:      "Sensor",
			Type:       "query",
			Datasource: datasourceRef(),
			Query:      "label_values(monitor443_build_info, instance)",
			Refresh:    sdk.BoolInt{Value: &onTimeRangeChange},
			Options:    []sdk.Option{},
			Multi:      true,
			IncludeAll: true,
			AllValue:   ".+",
			Current:    all(),
			Sort:       1,
		},
		{
			Name:       "server",
			Label:      "Watched server",
			Type:       "query",
			Datasource: datasourceRef(),
			Query:      `label_values(monitor443_server_bytes_total{instance=~"$instance"}, server)`,
			Refresh:    sdk.BoolInt{Value: &onTimeRangeChange},
			Options:    []sdk.Option{},
			Multi:      true,
			IncludeAll: true,
			AllValue:   ".+",
			Current:    all(),
			Sort:       1,
		},
	}
}

// annotate adds a Prometheus annotation query to the board.
func (bd *builder) annotate(name, expr, title, text, color string) {
	bd.board.Annotations.List = append(bd.board.Annotations.List, sdk.Annotation{
		Name:        name,
		Datasource:  datasourceRef(),
		Enable:      true,
		IconColor:   color,
		Expr:        expr,
		Step:        "1m",
		TitleFormat: title,
		TextFormat:  text,
		TagKeys:     "kind,severity",
		Tags:        []string{},
	})
}

// newline moves the cursor below the tallest panel of the current line.
func (bd *builder) newline() {
	if bd.x > 0 {
		bd.y += bd.rowH
		bd.x, bd.rowH = 0, 0
	}
}

// place gives p the next ID and a grid position w wide and h high.
func (bd *builder) place(p *sdk.Panel, w, h int) {
	if bd.x+w > gridWidth {
		bd.newline()
	}
	bd.nextID++
	p.ID = bd.nextID
	x, y := bd.x, bd.y
	p.GridPos.X, p.GridPos.Y, p.GridPos.W, p.GridPos.H = &x, &y, &w, &h
	p.Span = float32(w) / 2
	p.IsNew = false
	bd.x += w
	bd.rowH = max(bd.rowH, h)
	bd.board.Panels = append(bd.board.Panels, p)
}

// row starts a new line with a row header.
func (bd *builder) row(title string) {
	bd.newline()
	p := &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.RowType, Type: "row", Title: title},
		RowPanel:    &sdk.RowPanel{Panels: []sdk.Panel{}},
	}
	bd.place(p, gridWidth, 1)
	bd.newline()
}

// targets numbers ts as refIds A, B, C, ...
func targets(ts []target) []sdk.Target {
	out := make([]sdk.Target, len(ts))
	for i, t := range ts {
		out[i] = sdk.Target{
			RefID:        string(rune('A' + i)),
			Datasource:   datasourceRef(),
			Expr:         t.expr,
			LegendFormat: t.legend,
			Instant:      t.instant,
		}
		if t.table {
			out[i].Format = "table"
		}
	}
	return out
}

// describe sets the panel's description when there is one.
func describe(p *sdk.Panel, description string) {
	if description != "" {
		d := description
		p.Description = &d
	}
}

// timeseries adds a time series panel w wide.
func (bd *builder) timeseries(title, description, unit string, w int, ts ...target) *sdk.Panel {
	p := sdk.NewTimeseries(title)
	p.Datasource = datasourceRef()
	describe(p, description)
	p.TimeseriesPanel.Targets = targets(ts)
	zero := 0.0
	d := &p.TimeseriesPanel.FieldConfig.Defaults
	d.Unit = unit
	d.Min = &zero
	d.Thresholds = sdk.Thresholds{Mode: "absolute", Steps: []sdk.ThresholdStep{{Color: "green"}}}
	c := &d.Custom
	c.AxisPlacement = "auto"
	c.DrawStyle = "line"
	c.FillOpacity = 10
	c.GradientMode = "none"
	c.LineInterpolation = "linear"
	c.LineWidth = 1
	c.PointSize = 5
	c.ShowPoints = "never"
	c.LineStyle.Fill = "solid"
	c.ScaleDistribution.Type = "linear"
	c.Stacking.Group = "A"
	c.Stacking.Mode = "none"
	c.ThresholdsStyle.Mode = "off"
	p.TimeseriesPanel.Options = sdk.TimeseriesOptions{
		Legend:  sdk.TimeseriesLegendOptions{Calcs: []string{"mean", "max"}, DisplayMode: "table", Placement: "bottom"},
		Tooltip: sdk.TimeseriesTooltipOptions{Mode: "multi"},
	}
	bd.place(p, w, panelHeight)
	return p
}

// stacked makes a time series panel stack its series.
func stacked(p *sdk.Panel) {
	p.TimeseriesPanel.FieldConfig.Defaults.Custom.Stacking.Mode = "normal"
	p.TimeseriesPanel.FieldConfig.Defaults.Custom.FillOpacity = 30
}

// unclamped lets a time series panel's axis go below zero.
func unclamped(p *sdk.Panel) {
	p.TimeseriesPanel.FieldConfig.Defaults.Min = nil
}

// threshold is one step of a stat panel's colour scale.
type threshold struct {
	color string
	from  float64
}

// custom adds a panel of a type the SDK has no complete struct for (its stat
// and table structs lack fieldConfig); fields become top-level JSON keys.
func (bd *builder) custom(kind, title, description string, w, h int, fields map[string]any, ts ...target) *sdk.Panel {
	cp := sdk.CustomPanel{"targets": targets(ts)}
	for k, v := range fields {
		cp[k] = v
	}
	p := &sdk.Panel{
		CommonPanel: sdk.CommonPanel{OfType: sdk.CustomType, Type: kind, Title: title, Datasource: datasourceRef()},
		CustomPanel: &cp,
	}
	describe(p, description)
	bd.place(p, w, h)
	return p
}

// stat adds a single-value panel showing the last value of t; steps colour
// the value (the first step applies from -Inf).
func (bd *builder) stat(title, description, unit string, w int, t target, steps ...threshold) *sdk.Panel {
	if len(steps) == 0 {
		steps = []threshold{{color: "green"}}
	}
	tsteps := make([]map[string]any, len(steps))
	for i, s := range steps {
		tsteps[i] = map[string]any{"color": s.color, "value": nil}
		if i > 0 {
			tsteps[i]["value"] = s.from
		}
	}
	fields := map[string]any{
		"fieldConfig": map[string]any{
			"defaults": map[string]any{
				"unit":       unit,
				"color":      map[string]any{"mode": "thresholds"},
				"thresholds": map[string]any{"mode": "absolute", "steps": tsteps},
			},
			"overrides": []any{},
		},
		"options": map[string]any{
			"colorMode":   "value",
			"graphMode":   "area",
			"justifyMode": "auto",
			"orientation": "auto",
			"textMode":    "auto",
			"reduceOptions": map[string]any{
				"calcs":  []string{"lastNotNull"},
				"fields": "",
				"values": false,
			},
		},
	}
	return bd.custom("stat", title, description, w, statHeight, fields, t)
}

// table adds a table of instant query results.
func (bd *builder) table(title, description string, w int, hidden []string, ts ...target) *sdk.Panel {
	exclude := map[string]any{"Time": true}
	for _, h := range hidden {
		exclude[h] = true
	}
	fields := map[string]any{
		"fieldConfig": map[string]any{"defaults": map[string]any{}, "overrides": []any{}},
		"options":     map[string]any{"showHeader": true, "cellHeight": "sm"},
		"transformations": []any{
			map[string]any{"id": "merge", "options": map[string]any{}},
			map[string]any{"id": "organize", "options": map[string]any{"excludeByName": exclude}},
		},
	}
	for i := range ts {
		ts[i].instant, ts[i].table = true, true
	}
	return bd.custom("table", title, description, w, panelHeight, fields, ts...)
}

// barGauge adds a horizontal bar gauge of instant query results.
func (bd *builder) barGauge(title, description, unit string, w int, t target) *sdk.Panel {
	t.instant = true
	fields := map[string]any{
		"fieldConfig": map[string]any{
			"defaults": map[string]any{
				"unit":       unit,
				"color":      map[string]any{"mode": "continuous-BlPu"},
				"thresholds": map[string]any{"mode": "absolute", "steps": []any{map[string]any{"color": "green", "value": nil}}},
			},
			"overrides": []any{},
		},
		"options": map[string]any{
			"displayMode":   "gradient",
			"orientation":   "horizontal",
			"showUnfilled":  true,
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
		},
	}
	return bd.custom("bargauge", title, description, w, panelHeight, fields, t)
}
