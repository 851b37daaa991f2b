package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AlertmanagerConfig configures an [Alertmanager] sink.
type AlertmanagerConfig struct {
	// URLs are the base URLs of the Alertmanagers, such as
	// "http://alertmanager:9093"; "/api/v2/alerts" is appended. Every alert
	// is posted to all of them (an HA pair); delivery succeeds if any accepts.
	URLs []*url.URL
	// ResendInterval is how often a firing alert is posted again; an
	// Alertmanager resolves an alert that is not refreshed before its endsAt.
	ResendInterval time.Duration
	// BearerToken and BasicAuth authenticate the requests.
	BearerToken Secret
	BasicAuth   *BasicAuth
	// GeneratorURL, if set, is sent as generatorURL.
	GeneratorURL string
	// Timeout bounds one attempt per URL.
	Timeout time.Duration
	// Templates renders the summary and description annotations; nil means
	// the defaults.
	Templates *Templates
}

// Alertmanager posts alerts to the Prometheus Alertmanager API v2.
type Alertmanager struct {
	cfg    AlertmanagerConfig
	urls   []string
	client *http.Client
	now    func() time.Time
}

var _ Sink = (*Alertmanager)(nil)

// alertsPath is the Alertmanager API v2 endpoint for posting alerts.
const alertsPath = "/api/v2/alerts"

// NewAlertmanager returns an Alertmanager sink. now is the clock for endsAt
// and Retry-After dates; nil means time.Now.
func NewAlertmanager(cfg AlertmanagerConfig, now func() time.Time) *Alertmanager {
	if cfg.Templates == nil {
		cfg.Templates = defaultTemplates
	}
	if now == nil {
		now = time.Now
	}
	am := &Alertmanager{cfg: cfg, client: newHTTPClient(cfg.Timeout), now: now}
	for _, u := range cfg.URLs {
		v := *u
		v.Path = strings.TrimSuffix(v.Path, "/") + alertsPath
		am.urls = append(am.urls, v.String())
	}
	return am
}

// postableAlert is one element of the body of POST /api/v2/alerts.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// AlertName returns the CamelCase alert name of a detector kind:
// "syn_flood" becomes "SynFlood".
func AlertName(kind string) string {
	var sb strings.Builder
	for part := range strings.SplitSeq(kind, "_") {
		if part == "" {
			continue
		}
		sb.WriteString(strings.ToUpper(part[:1]))
		sb.WriteString(part[1:])
	}
	return sb.String()
}

// buildAlertmanagerBody returns the JSON body for n at time now.
func (am *Alertmanager) buildBody(n *Notification, now time.Time) ([]byte, error) {
	text, err := am.cfg.Templates.Render(n)
	if err != nil {
		return nil, err
	}
	a := &n.Alert
	labels := a.LabelSet()
	labels["alertname"] = AlertName(a.Kind)
	labels["source"] = "monitor443"
	ann := map[string]string{
		"summary":     text.Summary,
		"description": text.Body,
		"title":       text.Title,
		"value":       formatNumber(a.Value),
		"expected":    formatNumber(a.Expected),
		"band_lower":  formatNumber(a.Lower),
		"band_upper":  formatNumber(a.Upper),
		"score":       formatNumber(a.Score),
	}
	if a.Unit != "" {
		ann["unit"] = a.Unit
	}
	if len(a.Contributors) > 0 {
		parts := make([]string, 0, len(a.Contributors))
		for _, c := range a.Contributors {
			parts = append(parts, c.Key+"="+formatNumber(c.Value))
		}
		ann["top_contributors"] = strings.Join(parts, ", ")
	}
	pa := postableAlert{Labels: labels, Annotations: ann, StartsAt: a.StartsAt, GeneratorURL: am.cfg.GeneratorURL}
	if a.State == StateResolved {
		pa.EndsAt = a.EndsAt
		if pa.EndsAt.IsZero() || pa.EndsAt.After(now) {
			pa.EndsAt = now
		}
	} else {
		// Like Prometheus: valid for four resend intervals, so one or two
		// lost posts do not resolve the alert.
		pa.EndsAt = now.Add(4 * am.cfg.ResendInterval)
	}
	if n.Trigger == TriggerSuppressed {
		pa.Labels = map[string]string{
			"alertname": "NotificationsSuppressed", "source": "monitor443",
			LabelKind: a.Kind, LabelScope: a.Scope, LabelTarget: a.Target, LabelSeverity: a.Severity.String(),
		}
		pa.EndsAt = now.Add(4 * am.cfg.ResendInterval)
	}
	return json.Marshal([]postableAlert{pa})
}

// Send posts n to every configured Alertmanager, as Prometheus does: the
// members of a cluster each hold the alert and deduplicate notifications
// among themselves, so that one member's loss loses nothing. It succeeds if
// any accepts; it asks for a retry if none accepted and any failure was
// retryable.
func (am *Alertmanager) Send(ctx context.Context, n *Notification) (bool, error) {
	now := am.now()
	body, err := am.buildBody(n, now)
	if err != nil {
		return false, &DeliveryError{Reason: ReasonEncode, Err: fmt.Errorf("build alertmanager body: %w", err)}
	}
	h := http.Header{}
	setAuth(h, am.cfg.BearerToken, am.cfg.BasicAuth)
	var (
		errs     []error
		retry    bool
		accepted bool
		last     = &DeliveryError{Reason: ReasonOther}
	)
	for i, u := range am.urls {
		r, err := postJSON(ctx, am.client, u, h, body, am.now)
		if err == nil {
			accepted = true
			continue
		}
		retry = retry || r
		var de *DeliveryError
		if errors.As(err, &de) {
			if r || last.Reason == ReasonOther {
				last.Reason = de.Reason
			}
			last.RetryAfter = max(last.RetryAfter, de.RetryAfter)
			last.StatusCode = de.StatusCode
		}
		errs = append(errs, fmt.Errorf("alertmanager %d (%s): %w", i, RedactURL(u), err))
	}
	if accepted {
		return false, nil
	}
	last.Err = errors.Join(errs...)
	return retry, last
}
