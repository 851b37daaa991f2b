package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// PayloadVersion is the version of the JSON schema of [Payload]. It changes
// only when a field is removed or changes meaning; new fields may appear
// within a version.
const PayloadVersion = "1"

// Payload is the JSON body the webhook and script sinks send. Its schema is
// documented in docs/alerting.md.
type Payload struct {
	// Version is [PayloadVersion].
	Version string `json:"version"`
	// ID is the idempotency key, also sent in [HeaderIdempotencyKey].
	ID string `json:"id"`
	// Sink is the configured sink name.
	Sink string `json:"sink"`
	// Trigger says why the notification was sent.
	Trigger Trigger `json:"trigger"`
	// CreatedAt is when the notification was created; it does not change
	// across retries.
	CreatedAt time.Time `json:"created_at"`
	// Fingerprint is the alert's identity (hash of its sorted labels).
	Fingerprint Fingerprint `json:"fingerprint"`
	// GroupKey identifies the incident (kind, scope, target).
	GroupKey Fingerprint `json:"group_key"`
	// Labels are all identifying labels of the alert.
	Labels map[string]string `json:"labels"`
	// Alert carries the alert's values.
	Alert Alert `json:"alert"`
	// Text is the rendered title, summary and body.
	Text Text `json:"text"`
	// Suppressed lists what a rate limit held back (trigger
	// suppressed_summary only).
	Suppressed      []SuppressedGroup `json:"suppressed,omitempty"`
	SuppressedTotal int               `json:"suppressed_total,omitempty"`
}

// NewPayload builds the payload of n with its rendered text.
func NewPayload(n *Notification, text Text) Payload {
	return Payload{
		Version:         PayloadVersion,
		ID:              n.ID,
		Sink:            n.Sink,
		Trigger:         n.Trigger,
		CreatedAt:       n.CreatedAt,
		Fingerprint:     n.Alert.Fingerprint(),
		GroupKey:        n.Alert.GroupKey(),
		Labels:          n.Alert.LabelSet(),
		Alert:           n.Alert,
		Text:            text,
		Suppressed:      n.Suppressed,
		SuppressedTotal: n.SuppressedTotal,
	}
}

// WebhookConfig configures a [Webhook].
type WebhookConfig struct {
	// URL receives the POST. It is secret: it never appears in errors.
	URL *url.URL
	// Headers are added to every request.
	Headers map[string]string
	// BearerToken, if set, is sent as "Authorization: Bearer <token>".
	BearerToken Secret
	// BasicAuth, if set, is sent as HTTP basic authentication.
	BasicAuth *BasicAuth
	// SigningSecret, if set, signs each request in [HeaderSignature].
	SigningSecret Secret
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Templates renders the text fields; nil means the defaults.
	Templates *Templates
}

// BasicAuth holds HTTP basic authentication credentials.
type BasicAuth struct {
	Username string
	Password Secret
}

// Webhook posts a versioned JSON [Payload] to a URL.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	now    func() time.Time
}

var _ Sink = (*Webhook)(nil)

// NewWebhook returns a webhook sink. now is the clock used for signatures
// and Retry-After dates; nil means time.Now.
func NewWebhook(cfg WebhookConfig, now func() time.Time) *Webhook {
	if cfg.Templates == nil {
		cfg.Templates = defaultTemplates
	}
	if now == nil {
		now = time.Now
	}
	return &Webhook{cfg: cfg, client: newHTTPClient(cfg.Timeout), now: now}
}

// Send posts n once.
func (w *Webhook) Send(ctx context.Context, n *Notification) (bool, error) {
	body, err := marshalPayload(w.cfg.Templates, n)
	if err != nil {
		return false, err
	}
	h := make(http.Header, len(w.cfg.Headers)+4)
	for k, v := range w.cfg.Headers {
		h.Set(k, v)
	}
	h.Set(HeaderIdempotencyKey, n.ID)
	h.Set(HeaderPayloadVersion, PayloadVersion)
	setAuth(h, w.cfg.BearerToken, w.cfg.BasicAuth)
	if w.cfg.SigningSecret != "" {
		h.Set(HeaderSignature, Sign([]byte(w.cfg.SigningSecret), body, w.now()))
	}
	return postJSON(ctx, w.client, w.cfg.URL.String(), h, body, w.now)
}

func setAuth(h http.Header, bearer Secret, basic *BasicAuth) {
	switch {
	case bearer != "":
		h.Set("Authorization", "Bearer "+string(bearer))
	case basic != nil:
		r := http.Request{Header: h}
		r.SetBasicAuth(basic.Username, string(basic.Password))
	}
}

// marshalPayload renders and encodes the payload of n.
func marshalPayload(t *Templates, n *Notification) ([]byte, error) {
	text, err := t.Render(n)
	if err != nil {
		return nil, &DeliveryError{Reason: ReasonEncode, Err: err}
	}
	body, err := json.Marshal(NewPayload(n, text))
	if err != nil {
		return nil, &DeliveryError{Reason: ReasonEncode, Err: fmt.Errorf("encode payload: %w", err)}
	}
	return body, nil
}

// newHTTPClient returns a client with an overall per-request timeout that
// does not follow redirects (a redirect could leak auth headers or be a
// misconfiguration).
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

var defaultTemplates = MustParseTemplates("", "", "")
