package alerting

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/monitor443/monitor443/alerting/spool"
)

// decode decodes YAML as the top-level monitor443 file would: strictly, with
// RawConfig under "alerting:".
func decode(t *testing.T, src string) RawConfig {
	t.Helper()
	var top struct {
		Alerting RawConfig `yaml:"alerting"`
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return top.Alerting
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	slackToken = "T00000000/B00000000/XXXXSLACKSECRET"
	bearer     = "BEARERSECRET123"
	hmacSecret = "HMACSECRET456"
	password   = "PASSWORDSECRET789"
)

func TestParseConfigValid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	slackFile := writeFile(t, dir, "slack_url", "https://hooks.slack.com/services/"+slackToken+"\n")
	tokFile := writeFile(t, dir, "token", bearer+"\n")
	hmacFile := writeFile(t, dir, "hmac", hmacSecret)
	pwFile := writeFile(t, dir, "pw", password)
	src := fmt.Sprintf(`
alerting:
  spool:
    dir: /var/lib/monitor443/spool
    max_entries: 500
    full_policy: reject_new
  repeat_interval: 2h
  resolve_after: 10m
  sinks:
    - name: ops-hook
      type: webhook
      url: https://hooks.example.com/monitor443
      bearer_token_file: %s
      signing_secret_file: %s
      headers: {X-Team: netops}
      filter: {kinds: [syn_flood], min_severity: warning}
      rate_limit: {burst: 5, every: 1m}
    - name: chat
      type: slack
      url_file: %s
      templates: {title: "{{ .Alert.Kind }}"}
    - name: am
      type: alertmanager
      urls: [http://127.0.0.1:9093, http://127.0.0.1:9094]
      basic_auth: {username: mon, password_file: %s}
      resend_interval: 30s
    - name: pager
      type: script
      command: [/bin/true, --flag]
      timeout: 3s
`, tokFile, hmacFile, slackFile, pwFile)
	cfg, err := ParseConfig(decode(t, src))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if cfg.Spool.Policy != spool.RejectNew || cfg.Spool.MaxEntries != 500 || cfg.Spool.MaxBytes != DefaultSpoolMaxBytes {
		t.Errorf("spool = %+v", cfg.Spool)
	}
	if cfg.RepeatInterval != 2*time.Hour || cfg.ResolveAfter != 10*time.Minute || cfg.MaxActiveAlerts != DefaultMaxActiveAlerts {
		t.Errorf("intervals = %v %v %d", cfg.RepeatInterval, cfg.ResolveAfter, cfg.MaxActiveAlerts)
	}
	wh := cfg.Sinks[0]
	if wh.Webhook.BearerToken != bearer || wh.Webhook.SigningSecret != hmacSecret || wh.Webhook.Timeout != DefaultSinkTimeout {
		t.Errorf("webhook secrets not read from files")
	}
	if diff := cmp.Diff(Filter{Kinds: []string{"syn_flood"}, MinSeverity: SeverityWarning}, wh.Filter); diff != "" {
		t.Errorf("filter (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&RateLimit{Burst: 5, Every: time.Minute}, wh.RateLimit); diff != "" {
		t.Errorf("rate limit (-want +got):\n%s", diff)
	}
	if got := cfg.Sinks[1].Slack.URL.Path; got != "/services/"+slackToken {
		t.Errorf("slack url path = %q", got)
	}
	am := cfg.Sinks[2]
	if len(am.Alertmanager.URLs) != 2 || am.RepeatInterval != 30*time.Second || am.RateLimit != nil || am.Alertmanager.BasicAuth.Password != password {
		t.Errorf("alertmanager = %+v", am)
	}
	if cfg.Sinks[3].Script.Timeout != 3*time.Second {
		t.Errorf("script timeout = %v", cfg.Sinks[3].Script.Timeout)
	}

	// Redaction: no way of printing the config shows a secret.
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "cfg", cfg, "sink", cfg.Sinks[1], "slack", cfg.Sinks[1].Slack)
	for _, out := range []string{
		//lint:ignore S1025 the test prints the config with every verb on purpose
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg),
		fmt.Sprintf("%v", cfg.Sinks), fmt.Sprintf("%+v", *cfg.Sinks[0].Webhook), fmt.Sprintf("%+v %#v", *cfg.Sinks[1].Slack, cfg.Sinks[1].Slack), fmt.Sprintf("%v", cfg.Sinks[1]), fmt.Sprintf("%v", cfg.Sinks[2].Alertmanager.BasicAuth),
		logBuf.String(),
	} {
		for _, secret := range []string{slackToken, bearer, hmacSecret, password} {
			if strings.Contains(out, secret) {
				t.Errorf("printed config leaks %q:\n%s", secret, out)
			}
		}
	}
	if !strings.Contains(cfg.String(), "https://hooks.slack.com/<redacted>") {
		t.Errorf("String() = %s", cfg)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig(RawConfig{Sinks: []RawSinkConfig{{Name: ptr("h"), Type: ptr("webhook"), URL: ptr("http://127.0.0.1:1/")}}})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sinks[0]
	if cfg.Spool.Policy != spool.DropOldest || cfg.Retry.InitialBackoff != DefaultInitialBackoff ||
		s.RepeatInterval != DefaultRepeatInterval || s.RateLimit.Burst != DefaultRateLimitBurst {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestParseConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	urlFile := writeFile(t, dir, "url", "ftp://files.example.com/SECRETPATH")
	src := fmt.Sprintf(`
alerting:
  spool: {max_entries: 0, full_policy: drop_newest}
  repeat_interval: soon
  resolve_after: -5m
  retry: {initial_backoff: 10s, max_backoff: 1s}
  sinks:
    - name: Bad Name
      type: webhook
      url: https://a.example.com/x
      url_file: %[1]s
    - name: hook
      type: webhook
      url: ftp://a.example.com/TOKENINURL
      command: [/bin/true]
      bearer_token_file: %[2]s
    - name: hook
      type: slack
      url_file: %[1]s
    - name: am
      type: alertmanager
      repeat_interval: 1h
    - name: s
      type: script
      command: [relative/script]
    - type: carrier_pigeon
      filter: {min_severity: extreme}
      rate_limit: {burst: -1}
      templates: {body: "{{ .Alert.Kind "}
`, urlFile, filepath.Join(dir, "missing-token"))
	_, err := ParseConfig(decode(t, src))
	if err == nil {
		t.Fatal("ParseConfig accepted a bad config")
	}
	var got []string
	for _, e := range unjoin(err) {
		got = append(got, strings.SplitN(e.Error(), ":", 2)[0])
	}
	want := []string{
		"alerting.repeat_interval",
		"alerting.resolve_after",
		"alerting.spool.max_entries",
		"alerting.spool.full_policy",
		"alerting.retry.max_backoff",
		"alerting.sinks[0].name",
		"alerting.sinks[0]", // url and url_file
		"alerting.sinks[1].command",
		"alerting.sinks[1].url",
		"alerting.sinks[1].bearer_token_file",
		"alerting.sinks[2].url_file",
		"alerting.sinks[2].name", // duplicate
		"alerting.sinks[3].urls",
		"alerting.sinks[3].repeat_interval",
		"alerting.sinks[4].command[0]",
		"alerting.sinks[5].name",
		"alerting.sinks[5].type",
		"alerting.sinks[5].filter.min_severity",
		"alerting.sinks[5].templates",
		"alerting.sinks[5].rate_limit.burst",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reported paths (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
	for _, secret := range []string{"SECRETPATH", "TOKENINURL"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("config error leaks %q: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "alerting.sinks[1].url: must be http or https") {
		t.Errorf("missing scheme error in:\n%v", err)
	}
	if errors.Is(err, os.ErrNotExist) {
		t.Log("note: file errors are flattened to text")
	}
}
