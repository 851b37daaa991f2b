package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/monitor443/monitor443/alerting/spool"
)

// RawConfig is the "alerting:" section of the monitor443 YAML file as
// decoded, before validation. Pointer fields are nil when unset. Pass it to
// [ParseConfig].
type RawConfig struct {
	Spool           *RawSpoolConfig `yaml:"spool"`
	RepeatInterval  *string         `yaml:"repeat_interval"`
	ResolveAfter    *string         `yaml:"resolve_after"`
	MaxActiveAlerts *int            `yaml:"max_active_alerts"`
	Retry           *RawRetryConfig `yaml:"retry"`
	Sinks           []RawSinkConfig `yaml:"sinks"`
}

// RawSpoolConfig is the raw "alerting.spool" section.
type RawSpoolConfig struct {
	Dir        *string `yaml:"dir"`
	MaxEntries *int    `yaml:"max_entries"`
	MaxBytes   *int64  `yaml:"max_bytes"`
	FullPolicy *string `yaml:"full_policy"`
}

// RawRetryConfig is the raw "alerting.retry" section.
type RawRetryConfig struct {
	InitialBackoff *string `yaml:"initial_backoff"`
	MaxBackoff     *string `yaml:"max_backoff"`
}

// RawSinkConfig is one raw element of "alerting.sinks".
type RawSinkConfig struct {
	Name              *string           `yaml:"name"`
	Type              *string           `yaml:"type"`
	URL               *string           `yaml:"url"`
	URLFile           *string           `yaml:"url_file"`
	URLs              []string          `yaml:"urls"`
	Headers           map[string]string `yaml:"headers"`
	BearerTokenFile   *string           `yaml:"bearer_token_file"`
	BasicAuth         *RawBasicAuth     `yaml:"basic_auth"`
	SigningSecretFile *string           `yaml:"signing_secret_file"`
	Command           []string          `yaml:"command"`
	Timeout           *string           `yaml:"timeout"`
	RepeatInterval    *string           `yaml:"repeat_interval"`
	ResendInterval    *string           `yaml:"resend_interval"`
	GeneratorURL      *string           `yaml:"generator_url"`
	Filter            *RawFilter        `yaml:"filter"`
	RateLimit         *RawRateLimit     `yaml:"rate_limit"`
	Templates         *RawTemplates     `yaml:"templates"`
}

// RawBasicAuth is a raw "basic_auth" block; the password comes from a file.
type RawBasicAuth struct {
	Username     *string `yaml:"username"`
	PasswordFile *string `yaml:"password_file"`
}

// RawFilter is a raw "filter" block.
type RawFilter struct {
	Kinds       []string `yaml:"kinds"`
	Scopes      []string `yaml:"scopes"`
	MinSeverity *string  `yaml:"min_severity"`
}

// RawRateLimit is a raw "rate_limit" block: a token bucket of Burst
// notifications refilled by one every Every. Burst 0 disables the limit.
type RawRateLimit struct {
	Burst *int    `yaml:"burst"`
	Every *string `yaml:"every"`
}

// RawTemplates is a raw "templates" block of text/template sources.
type RawTemplates struct {
	Title   *string `yaml:"title"`
	Summary *string `yaml:"summary"`
	Body    *string `yaml:"body"`
}

// SinkType names a kind of sink.
type SinkType string

// Sink types.
const (
	SinkWebhook      SinkType = "webhook"
	SinkSlack        SinkType = "slack"
	SinkAlertmanager SinkType = "alertmanager"
	SinkScript       SinkType = "script"
)

// SinkTypes lists every SinkType.
var SinkTypes = []SinkType{SinkWebhook, SinkSlack, SinkAlertmanager, SinkScript}

// Defaults applied by [ParseConfig].
const (
	DefaultRepeatInterval  = 4 * time.Hour
	DefaultResolveAfter    = 5 * time.Minute
	DefaultMaxActiveAlerts = 10000
	DefaultSpoolMaxEntries = 10000
	DefaultSpoolMaxBytes   = 64 << 20
	DefaultInitialBackoff  = time.Second
	DefaultMaxBackoff      = 5 * time.Minute
	DefaultSinkTimeout     = 10 * time.Second
	DefaultResendInterval  = time.Minute
	DefaultRateLimitBurst  = 20
	DefaultRateLimitEvery  = 30 * time.Second
)

// Config is the validated alerting configuration.
type Config struct {
	// Spool configures the per-sink spools; a sink's spool lives in
	// Spool.Dir/<sink name>. An empty Dir keeps notifications in memory.
	Spool SpoolConfig
	// RepeatInterval is how often a still-firing incident is notified again.
	RepeatInterval time.Duration
	// ResolveAfter resolves an incident whose producer has not reported it
	// for this long.
	ResolveAfter time.Duration
	// MaxActiveAlerts bounds the number of open incidents.
	MaxActiveAlerts int
	// Retry configures the delivery backoff.
	Retry RetryConfig
	// Sinks are the receivers, in configuration order.
	Sinks []SinkConfig
}

// SpoolConfig configures the spools.
type SpoolConfig struct {
	Dir        string
	MaxEntries int
	MaxBytes   int64
	Policy     spool.Policy
}

// RetryConfig configures the delivery backoff.
type RetryConfig struct {
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// RateLimit is a token bucket: Burst notifications, refilled by one every
// Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// SinkConfig is one validated sink. Exactly one of Webhook, Slack,
// Alertmanager and Script is set, matching Type.
type SinkConfig struct {
	Name           string
	Type           SinkType
	Filter         Filter
	RepeatInterval time.Duration
	// RateLimit is nil when the sink is not rate limited.
	RateLimit    *RateLimit
	Webhook      *WebhookConfig
	Slack        *SlackConfig
	Alertmanager *AlertmanagerConfig
	Script       *ScriptConfig
}

// Secret is a string that prints as "<redacted>".
type Secret string

const redacted = "<redacted>"

// String returns "<redacted>" for a non-empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the same as String.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText returns the redacted form, so encoders never see the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String describes c with every secret redacted.
func (c Config) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "spool{dir=%q max_entries=%d max_bytes=%d full_policy=%s} repeat_interval=%s resolve_after=%s max_active_alerts=%d retry{initial_backoff=%s max_backoff=%s}",
		c.Spool.Dir, c.Spool.MaxEntries, c.Spool.MaxBytes, c.Spool.Policy, c.RepeatInterval, c.ResolveAfter, c.MaxActiveAlerts, c.Retry.InitialBackoff, c.Retry.MaxBackoff)
	for _, s := range c.Sinks {
		sb.WriteString(" ")
		sb.WriteString(s.String())
	}
	return sb.String()
}

// GoString returns the same as String, so %#v redacts too.
func (c Config) GoString() string { return c.String() }

// String describes s with every secret redacted.
func (s SinkConfig) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "sink{name=%s type=%s repeat_interval=%s", s.Name, s.Type, s.RepeatInterval)
	if s.RateLimit != nil {
		fmt.Fprintf(&sb, " rate_limit=%d/%s", s.RateLimit.Burst, s.RateLimit.Every)
	}
	switch {
	case s.Webhook != nil:
		fmt.Fprintf(&sb, " url=%s timeout=%s headers=%d bearer_token=%s signing_secret=%s", redactURL(s.Webhook.URL), s.Webhook.Timeout, len(s.Webhook.Headers), s.Webhook.BearerToken, s.Webhook.SigningSecret)
	case s.Slack != nil:
		fmt.Fprintf(&sb, " url=%s timeout=%s", redactURL(s.Slack.URL), s.Slack.Timeout)
	case s.Alertmanager != nil:
		for _, u := range s.Alertmanager.URLs {
			fmt.Fprintf(&sb, " url=%s", redactURL(u))
		}
		fmt.Fprintf(&sb, " resend_interval=%s timeout=%s", s.Alertmanager.ResendInterval, s.Alertmanager.Timeout)
	case s.Script != nil:
		fmt.Fprintf(&sb, " command=%q timeout=%s", s.Script.Command[0], s.Script.Timeout)
	}
	sb.WriteString("}")
	return sb.String()
}

// GoString returns the same as String.
func (s SinkConfig) GoString() string { return s.String() }

func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return RedactURL(u.String())
}

var sinkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// configParser collects every problem with its YAML path.
type configParser struct {
	errs []error
}

func (p *configParser) errorf(path, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (p *configParser) duration(path string, v *string, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	d, err := time.ParseDuration(*v)
	if err != nil {
		p.errorf(path, "invalid duration %q", *v)
		return def
	}
	if d <= 0 {
		p.errorf(path, "must be > 0, got %s", *v)
		return def
	}
	return d
}

func (p *configParser) positive(path string, v *int, def int) int {
	if v == nil {
		return def
	}
	if *v <= 0 {
		p.errorf(path, "must be > 0, got %d", *v)
		return def
	}
	return *v
}

// readSecret reads a secret file, trimming surrounding whitespace.
func (p *configParser) readSecret(path string, file *string) Secret {
	if file == nil {
		return ""
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		p.errorf(path, "read %q: %v", *file, err)
		return ""
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		p.errorf(path, "file %q is empty", *file)
	}
	return Secret(s)
}

// httpURL parses a URL without ever quoting it in an error, since URLs may
// carry tokens.
func (p *configParser) httpURL(path, raw string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		p.errorf(path, "invalid url")
		return nil
	case u.Scheme != "http" && u.Scheme != "https":
		p.errorf(path, "must be http or https")
		return nil
	case u.Host == "":
		p.errorf(path, "missing host")
		return nil
	}
	return u
}

// ParseConfig validates raw, fills defaults and returns the typed
// configuration. It reads the secret files raw names (url_file,
// bearer_token_file, password_file, signing_secret_file). It reports every
// problem together (errors.Join), each prefixed by its YAML path, such as
// "alerting.sinks[1].url: must be http or https".
func ParseConfig(raw RawConfig) (Config, error) {
	p := &configParser{}
	const root = "alerting"
	cfg := Config{
		RepeatInterval:  p.duration(root+".repeat_interval", raw.RepeatInterval, DefaultRepeatInterval),
		ResolveAfter:    p.duration(root+".resolve_after", raw.ResolveAfter, DefaultResolveAfter),
		MaxActiveAlerts: p.positive(root+".max_active_alerts", raw.MaxActiveAlerts, DefaultMaxActiveAlerts),
		Spool:           SpoolConfig{MaxEntries: DefaultSpoolMaxEntries, MaxBytes: DefaultSpoolMaxBytes, Policy: spool.DropOldest},
		Retry:           RetryConfig{InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff},
	}
	if s := raw.Spool; s != nil {
		if s.Dir != nil {
			cfg.Spool.Dir = *s.Dir
		}
		cfg.Spool.MaxEntries = p.positive(root+".spool.max_entries", s.MaxEntries, DefaultSpoolMaxEntries)
		if s.MaxBytes != nil {
			if *s.MaxBytes <= 0 {
				p.errorf(root+".spool.max_bytes", "must be > 0, got %d", *s.MaxBytes)
			} else {
				cfg.Spool.MaxBytes = *s.MaxBytes
			}
		}
		if s.FullPolicy != nil {
			pol, err := spool.ParsePolicy(*s.FullPolicy)
			if err != nil {
				p.errorf(root+".spool.full_policy", "%v", err)
			}
			cfg.Spool.Policy = pol
		}
	}
	if r := raw.Retry; r != nil {
		cfg.Retry.InitialBackoff = p.duration(root+".retry.initial_backoff", r.InitialBackoff, DefaultInitialBackoff)
		cfg.Retry.MaxBackoff = p.duration(root+".retry.max_backoff", r.MaxBackoff, DefaultMaxBackoff)
		if cfg.Retry.MaxBackoff < cfg.Retry.InitialBackoff {
			p.errorf(root+".retry.max_backoff", "must be >= initial_backoff (%s), got %s", cfg.Retry.InitialBackoff, cfg.Retry.MaxBackoff)
		}
	}
	names := map[string]int{}
	for i, rs := range raw.Sinks {
		path := fmt.Sprintf("%s.sinks[%d]", root, i)
		sc := p.sink(path, rs, cfg.RepeatInterval)
		if sc.Name != "" {
			if j, dup := names[sc.Name]; dup {
				p.errorf(path+".name", "duplicate sink name %q (also sinks[%d])", sc.Name, j)
			}
			names[sc.Name] = i
		}
		cfg.Sinks = append(cfg.Sinks, sc)
	}
	if err := errors.Join(p.errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (p *configParser) sink(path string, rs RawSinkConfig, repeat time.Duration) SinkConfig {
	var sc SinkConfig
	switch {
	case rs.Name == nil:
		p.errorf(path+".name", "required")
	case !sinkNameRE.MatchString(*rs.Name):
		p.errorf(path+".name", "must match %s, got %q", sinkNameRE, *rs.Name)
	default:
		sc.Name = *rs.Name
	}
	if rs.Type == nil {
		p.errorf(path+".type", "required (one of webhook, slack, alertmanager, script)")
	} else if !slices.Contains(SinkTypes, SinkType(*rs.Type)) {
		p.errorf(path+".type", "unknown type %q (want webhook, slack, alertmanager or script)", *rs.Type)
	} else {
		sc.Type = SinkType(*rs.Type)
	}

	// Fields that only some types accept.
	only := func(field string, set bool, types ...SinkType) {
		if set && sc.Type != "" && !slices.Contains(types, sc.Type) {
			p.errorf(path+"."+field, "not valid for type %s", sc.Type)
		}
	}
	only("url", rs.URL != nil, SinkWebhook, SinkSlack)
	only("url_file", rs.URLFile != nil, SinkWebhook, SinkSlack)
	only("urls", rs.URLs != nil, SinkAlertmanager)
	only("headers", rs.Headers != nil, SinkWebhook)
	only("bearer_token_file", rs.BearerTokenFile != nil, SinkWebhook, SinkAlertmanager)
	only("basic_auth", rs.BasicAuth != nil, SinkWebhook, SinkAlertmanager)
	only("signing_secret_file", rs.SigningSecretFile != nil, SinkWebhook)
	only("command", rs.Command != nil, SinkScript)
	only("resend_interval", rs.ResendInterval != nil, SinkAlertmanager)
	only("generator_url", rs.GeneratorURL != nil, SinkAlertmanager)

	timeout := p.duration(path+".timeout", rs.Timeout, DefaultSinkTimeout)
	sc.RepeatInterval = p.duration(path+".repeat_interval", rs.RepeatInterval, repeat)

	if f := rs.Filter; f != nil {
		sc.Filter.Kinds = f.Kinds
		sc.Filter.Scopes = f.Scopes
		if f.MinSeverity != nil {
			sev, err := ParseSeverity(*f.MinSeverity)
			if err != nil {
				p.errorf(path+".filter.min_severity", "%v", err)
			}
			sc.Filter.MinSeverity = sev
		}
		for j, k := range f.Kinds {
			if k == "" {
				p.errorf(fmt.Sprintf("%s.filter.kinds[%d]", path, j), "must not be empty")
			}
		}
	}

	var tmplTitle, tmplSummary, tmplBody string
	if t := rs.Templates; t != nil {
		tmplTitle, tmplSummary, tmplBody = deref(t.Title), deref(t.Summary), deref(t.Body)
	}
	tmpls, err := ParseTemplates(tmplTitle, tmplSummary, tmplBody)
	if err != nil {
		for _, e := range unjoin(err) {
			p.errorf(path+".templates", "%v", e)
		}
	}

	// Rate limit: on by default except for Alertmanager, which groups and
	// throttles itself and needs every resend.
	if sc.Type != SinkAlertmanager {
		sc.RateLimit = &RateLimit{Burst: DefaultRateLimitBurst, Every: DefaultRateLimitEvery}
	}
	if rl := rs.RateLimit; rl != nil {
		burst := DefaultRateLimitBurst
		if rl.Burst != nil {
			burst = *rl.Burst
			if burst < 0 {
				p.errorf(path+".rate_limit.burst", "must be >= 0, got %d", burst)
			}
		}
		every := p.duration(path+".rate_limit.every", rl.Every, DefaultRateLimitEvery)
		sc.RateLimit = &RateLimit{Burst: burst, Every: every}
		if burst == 0 {
			sc.RateLimit = nil
		}
	}

	switch sc.Type {
	case SinkWebhook, SinkSlack:
		u := p.secretURL(path, rs.URL, rs.URLFile)
		if sc.Type == SinkSlack {
			sc.Slack = &SlackConfig{URL: u, Timeout: timeout, Templates: tmpls}
			break
		}
		wh := &WebhookConfig{URL: u, Headers: rs.Headers, Timeout: timeout, Templates: tmpls}
		wh.BearerToken, wh.BasicAuth = p.auth(path, rs)
		if rs.SigningSecretFile != nil {
			wh.SigningSecret = p.readSecret(path+".signing_secret_file", rs.SigningSecretFile)
		}
		for k := range rs.Headers {
			switch strings.ToLower(k) {
			case "authorization", "content-type", strings.ToLower(HeaderSignature), strings.ToLower(HeaderIdempotencyKey):
				p.errorf(path+".headers", "header %q is set by the sink", k)
			}
		}
		sc.Webhook = wh
	case SinkAlertmanager:
		am := &AlertmanagerConfig{Timeout: timeout, Templates: tmpls, GeneratorURL: deref(rs.GeneratorURL)}
		if len(rs.URLs) == 0 {
			p.errorf(path+".urls", "required: at least one Alertmanager URL")
		}
		for j, raw := range rs.URLs {
			if u := p.httpURL(fmt.Sprintf("%s.urls[%d]", path, j), raw); u != nil {
				am.URLs = append(am.URLs, u)
			}
		}
		am.ResendInterval = p.duration(path+".resend_interval", rs.ResendInterval, DefaultResendInterval)
		am.BearerToken, am.BasicAuth = p.auth(path, rs)
		if rs.RepeatInterval != nil {
			p.errorf(path+".repeat_interval", "not valid for type alertmanager (use resend_interval)")
		}
		sc.RepeatInterval = am.ResendInterval
		sc.Alertmanager = am
	case SinkScript:
		if len(rs.Command) == 0 || rs.Command[0] == "" {
			p.errorf(path+".command", "required: program and arguments")
			break
		}
		if !strings.HasPrefix(rs.Command[0], "/") {
			p.errorf(path+".command[0]", "must be an absolute path, got %q", rs.Command[0])
		} else if fi, err := os.Stat(rs.Command[0]); err != nil {
			p.errorf(path+".command[0]", "%v", errors.Unwrap(err))
		} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
			p.errorf(path+".command[0]", "%q is not an executable file", rs.Command[0])
		}
		sc.Script = &ScriptConfig{Command: rs.Command, Timeout: timeout, Templates: tmpls}
	}
	return sc
}

// secretURL reads a URL from url or url_file, never both.
func (p *configParser) secretURL(path string, raw, file *string) *url.URL {
	switch {
	case raw != nil && file != nil:
		p.errorf(path, "url and url_file are mutually exclusive")
		return nil
	case raw != nil:
		return p.httpURL(path+".url", *raw)
	case file != nil:
		s := p.readSecret(path+".url_file", file)
		if s == "" {
			return nil
		}
		return p.httpURL(path+".url_file", string(s))
	default:
		p.errorf(path+".url", "required (or url_file)")
		return nil
	}
}

func (p *configParser) auth(path string, rs RawSinkConfig) (Secret, *BasicAuth) {
	if rs.BearerTokenFile != nil && rs.BasicAuth != nil {
		p.errorf(path, "bearer_token_file and basic_auth are mutually exclusive")
	}
	var (
		tok Secret
		ba  *BasicAuth
	)
	if rs.BearerTokenFile != nil {
		tok = p.readSecret(path+".bearer_token_file", rs.BearerTokenFile)
	}
	if b := rs.BasicAuth; b != nil {
		ba = &BasicAuth{Username: deref(b.Username)}
		if ba.Username == "" {
			p.errorf(path+".basic_auth.username", "required")
		}
		if b.PasswordFile == nil {
			p.errorf(path+".basic_auth.password_file", "required")
		} else {
			ba.Password = p.readSecret(path+".basic_auth.password_file", b.PasswordFile)
		}
	}
	return tok, ba
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// LogValue logs c in its redacted String form.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes c as its redacted String form.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue logs s in its redacted String form.
func (s SinkConfig) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes s as its redacted String form.
func (s SinkConfig) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// String describes c with its URL and secrets redacted.
func (c WebhookConfig) String() string {
	return SinkConfig{Type: SinkWebhook, Webhook: &c}.String()
}

// GoString returns the same as String.
func (c WebhookConfig) GoString() string { return c.String() }

// LogValue logs c in its redacted String form.
func (c WebhookConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String describes c with its URL redacted.
func (c SlackConfig) String() string { return SinkConfig{Type: SinkSlack, Slack: &c}.String() }

// GoString returns the same as String.
func (c SlackConfig) GoString() string { return c.String() }

// LogValue logs c in its redacted String form.
func (c SlackConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String describes c with its URL paths and secrets redacted.
func (c AlertmanagerConfig) String() string {
	return SinkConfig{Type: SinkAlertmanager, Alertmanager: &c}.String()
}

// GoString returns the same as String.
func (c AlertmanagerConfig) GoString() string { return c.String() }

// LogValue logs c in its redacted String form.
func (c AlertmanagerConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }
