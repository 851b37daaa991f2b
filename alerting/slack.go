package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SlackConfig configures a [Slack] sink.
type SlackConfig struct {
	// URL is the Slack incoming-webhook URL. It is secret.
	URL *url.URL
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Templates renders the text; nil means the defaults.
	Templates *Templates
}

// Slack posts a readable message (text plus Block Kit blocks) to a Slack
// incoming webhook.
type Slack struct {
	cfg    SlackConfig
	client *http.Client
	now    func() time.Time
}

var _ Sink = (*Slack)(nil)

// NewSlack returns a Slack sink. now is the clock for Retry-After dates; nil
// means time.Now.
func NewSlack(cfg SlackConfig, now func() time.Time) *Slack {
	if cfg.Templates == nil {
		cfg.Templates = defaultTemplates
	}
	if now == nil {
		now = time.Now
	}
	return &Slack{cfg: cfg, client: newHTTPClient(cfg.Timeout), now: now}
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// Slack limits: header text 150 characters, section text 3000.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
)

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// slackEscape escapes the characters Slack's mrkdwn treats as control.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// buildSlackMessage renders n as a Slack message.
func buildSlackMessage(t *Templates, n *Notification) (slackMessage, error) {
	text, err := t.Render(n)
	if err != nil {
		return slackMessage{}, err
	}
	a := &n.Alert
	msg := slackMessage{
		Text: slackEscape.Replace(text.Title + ": " + text.Summary),
		Blocks: []slackBlock{
			{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate(text.Title, slackHeaderMax)}},
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(slackEscape.Replace(text.Summary), slackSectionMax)}},
		},
	}
	if n.Trigger == TriggerSuppressed {
		var sb strings.Builder
		for _, s := range n.Suppressed {
			fmt.Fprintf(&sb, "• %s %s %s (%s): %d\n", s.Kind, s.Scope, s.Target, s.Severity, s.Count)
		}
		if sb.Len() > 0 {
			msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(slackEscape.Replace(sb.String()), slackSectionMax)}})
		}
		return msg, nil
	}
	unit := ""
	if a.Unit != "" {
		unit = " " + a.Unit
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Fields: []slackText{
		{Type: "mrkdwn", Text: "*Value*\n" + formatNumber(a.Value) + unit},
		{Type: "mrkdwn", Text: "*Expected*\n" + formatNumber(a.Expected) + " (" + formatNumber(a.Lower) + " to " + formatNumber(a.Upper) + ")"},
		{Type: "mrkdwn", Text: "*Score*\n" + formatNumber(a.Score)},
		{Type: "mrkdwn", Text: "*State*\n" + a.State.String()},
	}})
	if len(a.Contributors) > 0 {
		var sb strings.Builder
		sb.WriteString("*Top contributors*\n")
		for _, c := range a.Contributors {
			fmt.Fprintf(&sb, "• `%s` %s", slackEscape.Replace(c.Key), formatNumber(c.Value))
			if c.Share > 0 {
				fmt.Fprintf(&sb, " (%.1f%%)", 100*c.Share)
			}
			sb.WriteByte('\n')
		}
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(sb.String(), slackSectionMax)}})
	}
	ctx := fmt.Sprintf("%s · %s · %s · started %s", a.Kind, a.Scope, a.Severity, a.StartsAt.UTC().Format(time.RFC3339))
	if a.Target != "" {
		ctx = fmt.Sprintf("%s · %s", ctx, slackEscape.Replace(a.Target))
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: ctx}}})
	return msg, nil
}

// Send posts n once.
func (s *Slack) Send(ctx context.Context, n *Notification) (bool, error) {
	msg, err := buildSlackMessage(s.cfg.Templates, n)
	if err != nil {
		return false, &DeliveryError{Reason: ReasonEncode, Err: err}
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return false, &DeliveryError{Reason: ReasonEncode, Err: fmt.Errorf("encode slack message: %w", err)}
	}
	return postJSON(ctx, s.client, s.cfg.URL.String(), http.Header{}, body, s.now)
}
