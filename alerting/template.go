package alerting

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
)

// Default templates. Each is executed with a *[Notification] as data and the
// functions "upper", "title", "number" and "join".
const (
	DefaultTitleTemplate = `[{{ if eq .Trigger "suppressed_summary" }}SUPPRESSED{{ else }}{{ upper .Alert.State.String }}{{ end }}] ` +
		`{{ .Alert.Severity }}: {{ .Alert.Kind }} on {{ if .Alert.Target }}{{ .Alert.Target }}{{ else }}{{ .Alert.Scope }}{{ end }}`

	DefaultSummaryTemplate = `{{ if .Alert.Summary }}{{ .Alert.Summary }}{{ else if eq .Trigger "suppressed_summary" }}` +
		`{{ .SuppressedTotal }} notifications suppressed by the rate limit of sink {{ .Sink }}{{ else }}` +
		`{{ .Alert.Kind }} {{ number .Alert.Value }}{{ with .Alert.Unit }} {{ . }}{{ end }}, ` +
		`expected {{ number .Alert.Expected }} (band {{ number .Alert.Lower }} to {{ number .Alert.Upper }}), ` +
		`score {{ number .Alert.Score }}{{ end }}`

	DefaultBodyTemplate = `{{ if eq .Trigger "suppressed_summary" -}}
Suppressed by rate limit ({{ .SuppressedTotal }} total):
{{ range .Suppressed }}- {{ .Kind }} {{ .Scope }} {{ .Target }} ({{ .Severity }}): {{ .Count }}
{{ end }}{{ else -}}
Kind: {{ .Alert.Kind }}
Scope: {{ .Alert.Scope }}{{ with .Alert.Target }}
Target: {{ . }}{{ end }}
Severity: {{ .Alert.Severity }}
State: {{ .Alert.State }} ({{ .Trigger }})
Value: {{ number .Alert.Value }}{{ with .Alert.Unit }} {{ . }}{{ end }}
Expected: {{ number .Alert.Expected }} (band {{ number .Alert.Lower }} to {{ number .Alert.Upper }})
Score: {{ number .Alert.Score }}
Started: {{ .Alert.StartsAt.UTC.Format "2006-01-02T15:04:05Z07:00" }}{{ if not .Alert.EndsAt.IsZero }}
Ended: {{ .Alert.EndsAt.UTC.Format "2006-01-02T15:04:05Z07:00" }}{{ end }}{{ with .Alert.Contributors }}
Top contributors:{{ range . }}
- {{ .Key }}: {{ number .Value }}{{ if .Share }} ({{ percent .Share }}){{ end }}{{ end }}{{ end }}{{ with .Alert.Description }}

{{ . }}{{ end }}{{ end }}`
)

var templateFuncs = template.FuncMap{
	"upper":   strings.ToUpper,
	"title":   func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
	"number":  formatNumber,
	"percent": func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"join":    strings.Join,
}

// formatNumber prints f with at most 3 decimals and no trailing zeros.
func formatNumber(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Templates renders the human text of a notification.
type Templates struct {
	title, summary, body *template.Template
}

// ParseTemplates parses the given title, summary and body templates; an empty
// string selects the default. It reports every parse error.
func ParseTemplates(title, summary, body string) (*Templates, error) {
	var errs []error
	parse := func(name, text, def string) *template.Template {
		if text == "" {
			text = def
		}
		t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return t
	}
	t := &Templates{
		title:   parse("title", title, DefaultTitleTemplate),
		summary: parse("summary", summary, DefaultSummaryTemplate),
		body:    parse("body", body, DefaultBodyTemplate),
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// MustParseTemplates is ParseTemplates that panics on error, for defaults
// and tests.
func MustParseTemplates(title, summary, body string) *Templates {
	t, err := ParseTemplates(title, summary, body)
	if err != nil {
		panic(err)
	}
	return t
}

// Text is the rendered text of a notification.
type Text struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Body    string `json:"body"`
}

// Render executes the templates for n.
func (t *Templates) Render(n *Notification) (Text, error) {
	var (
		out Text
		sb  strings.Builder
	)
	for _, x := range []struct {
		tmpl *template.Template
		dst  *string
	}{{t.title, &out.Title}, {t.summary, &out.Summary}, {t.body, &out.Body}} {
		sb.Reset()
		if err := x.tmpl.Execute(&sb, n); err != nil {
			return Text{}, fmt.Errorf("render %s: %w", x.tmpl.Name(), err)
		}
		*x.dst = strings.TrimSpace(sb.String())
	}
	return out, nil
}
