package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSignMatchesOpenSSL(t *testing.T) {
	t.Parallel()
	// Reference computed independently with:
	//   printf '%s' '1700000000.{"version":"1","id":"abc"}' | openssl dgst -sha256 -hmac 'whsec_test'
	const want = "t=1700000000,v1=3caa426b2a63ce1ba08d7448cbf8463978d96067c5dda8c460ac3185cc70b8c3"
	body := []byte(`{"version":"1","id":"abc"}`)
	if got := Sign([]byte("whsec_test"), body, time.Unix(1700000000, 0)); got != want {
		t.Errorf("Sign() = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec_test")
	body := []byte(`{"version":"1"}`)
	ts := time.Unix(1700000000, 0)
	sig := Sign(secret, body, ts)
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		now    time.Time
		want   error
	}{
		{name: "valid", secret: secret, body: body, header: sig, now: ts.Add(time.Minute)},
		{name: "rotated secret, second v1 matches", secret: secret, body: body,
			header: Sign([]byte("old"), body, ts) + "," + strings.Split(sig, ",")[1], now: ts},
		{name: "body changed", secret: secret, body: []byte(`{"version":"2"}`), header: sig, now: ts, want: ErrSignatureInvalid},
		{name: "wrong secret", secret: []byte("other"), body: body, header: sig, now: ts, want: ErrSignatureInvalid},
		{name: "replayed late", secret: secret, body: body, header: sig, now: ts.Add(6 * time.Minute), want: ErrSignatureExpired},
		{name: "from the future", secret: secret, body: body, header: sig, now: ts.Add(-6 * time.Minute), want: ErrSignatureExpired},
		{name: "timestamp changed", secret: secret, body: body, header: strings.Replace(sig, "t=1700000000", "t=1700000001", 1), now: ts, want: ErrSignatureInvalid},
		{name: "missing", secret: secret, body: body, header: "", now: ts, want: ErrSignatureMissing},
		{name: "no v1", secret: secret, body: body, header: "t=1700000000", now: ts, want: ErrSignatureMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(tt.secret, tt.body, tt.header, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a := Alert{Kind: "syn_flood", Scope: "server", Target: "203.0.113.10:443", Severity: SeverityCritical, Labels: map[string]string{"iface": "eth0"}}
	// Independent construction of the documented encoding: labels sorted by
	// name, each as name 0xff value 0xff, SHA-256, first 8 bytes.
	enc := "iface\xffeth0\xffkind\xffsyn_flood\xffscope\xffserver\xffseverity\xffcritical\xfftarget\xff203.0.113.10:443\xff"
	sum := sha256.Sum256([]byte(enc))
	var want Fingerprint
	copy(want[:], sum[:8])
	if got := a.Fingerprint(); got != want {
		t.Errorf("Fingerprint() = %s, want %s", got, want)
	}
	b := a
	b.Severity = SeverityWarning
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("severity does not change the fingerprint")
	}
	if a.GroupKey() != b.GroupKey() {
		t.Error("severity changes the group key")
	}
	c := a
	c.Target = "203.0.113.11:443"
	if a.GroupKey() == c.GroupKey() {
		t.Error("target does not change the group key")
	}
}

func sampleNotification() *Notification {
	a := testAlert("syn_flood", "203.0.113.10:443", SeverityCritical, StateFiring)
	a.Contributors = append(a.Contributors, Contributor{Key: "198.51.100.8", Value: 250.5})
	return &Notification{ID: "0123456789abcdef0123456789abcdef", Sink: "ops", Trigger: TriggerFiring,
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Alert: a}
}

func TestDefaultTemplates(t *testing.T) {
	t.Parallel()
	got, err := defaultTemplates.Render(sampleNotification())
	if err != nil {
		t.Fatal(err)
	}
	want := Text{
		Title:   "[FIRING] critical: syn_flood on 203.0.113.10:443",
		Summary: "syn_flood 1200 packets_per_second, expected 300 (band 100 to 500), score 7.5",
		Body: `Kind: syn_flood
Scope: server
Target: 203.0.113.10:443
Severity: critical
State: firing (firing)
Value: 1200 packets_per_second
Expected: 300 (band 100 to 500)
Score: 7.5
Started: 2025-03-01T11:59:00Z
Top contributors:
- 198.51.100.7: 900 (75.0%)
- 198.51.100.8: 250.5`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Render (-want +got):\n%s", diff)
	}
}

func TestCustomTemplates(t *testing.T) {
	t.Parallel()
	tm, err := ParseTemplates(`{{ .Alert.Kind | upper }}`, `{{ title .Alert.Scope }} {{ number .Alert.Score }}`, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(sampleNotification())
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "SYN_FLOOD" || got.Summary != "Server 7.5" {
		t.Errorf("Render = %+v", got)
	}
	if _, err := ParseTemplates("{{ .Alert.Kind ", "{{ nosuchfunc }}", ""); err == nil || !strings.Contains(err.Error(), "title") || !strings.Contains(err.Error(), "summary") {
		t.Errorf("ParseTemplates with two bad templates: %v, want both reported", err)
	}
	bad, err := ParseTemplates("{{ .Alert.NoSuchField }}", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Render(sampleNotification()); err == nil {
		t.Error("Render with an unknown field succeeded")
	}
}

func TestSlackMessage(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	u, _ := url.Parse(rcv.srv.URL + "/services/T/B/X")
	s := NewSlack(SlackConfig{URL: u, Timeout: time.Second}, nil)
	if retry, err := s.Send(context.Background(), sampleNotification()); err != nil {
		t.Fatalf("Send = %v, %v", retry, err)
	}
	body := string(rcv.requests()[0].Body)
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Text, "[FIRING] critical: syn_flood") || len(msg.Blocks) < 4 {
		t.Errorf("text %q with %d blocks", msg.Text, len(msg.Blocks))
	}
	for _, want := range []string{`"type":"header"`, `*Value*\n1200 packets_per_second`, `*Expected*\n300 (100 to 500)`, "198.51.100.7", "75.0%"} {
		if !strings.Contains(body, want) {
			t.Errorf("slack body lacks %q:\n%s", want, body)
		}
	}
}

func TestAlertmanagerBody(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 5, 0, 0, time.UTC)
	am := NewAlertmanager(AlertmanagerConfig{ResendInterval: time.Minute}, func() time.Time { return now })
	n := sampleNotification()
	var got []postableAlert
	b, err := am.buildBody(n, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"alertname": "SynFlood", "kind": "syn_flood", "scope": "server", "target": "203.0.113.10:443", "severity": "critical", "source": "monitor443"}
	if diff := cmp.Diff(wantLabels, got[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got[0].Annotations["top_contributors"] != "198.51.100.7=900, 198.51.100.8=250.5" || got[0].Annotations["band_upper"] != "500" {
		t.Errorf("annotations = %v", got[0].Annotations)
	}
	if !got[0].EndsAt.Equal(now.Add(4 * time.Minute)) {
		t.Errorf("firing endsAt = %v, want now+4*resend", got[0].EndsAt)
	}
	n.Alert.State = StateResolved
	n.Alert.EndsAt = now.Add(-time.Minute)
	b, _ = am.buildBody(n, now)
	got = nil
	_ = json.Unmarshal(b, &got)
	if !got[0].EndsAt.Equal(now.Add(-time.Minute)) {
		t.Errorf("resolved endsAt = %v, want %v", got[0].EndsAt, now.Add(-time.Minute))
	}
	if AlertName("deprecated_tls") != "DeprecatedTls" {
		t.Errorf("AlertName(deprecated_tls) = %s", AlertName("deprecated_tls"))
	}
}

func TestAlertmanagerHAPair(t *testing.T) {
	t.Parallel()
	down := newReceiver(t, status(http.StatusServiceUnavailable))
	up := newReceiver(t)
	du, _ := url.Parse(down.srv.URL)
	uu, _ := url.Parse(up.srv.URL + "/")
	am := NewAlertmanager(AlertmanagerConfig{URLs: []*url.URL{du, uu}, ResendInterval: time.Minute, Timeout: time.Second}, nil)
	if retry, err := am.Send(context.Background(), sampleNotification()); err != nil {
		t.Fatalf("Send with one Alertmanager up = %v, %v", retry, err)
	}
	if reqs := up.requests(); len(reqs) != 1 {
		t.Fatalf("healthy Alertmanager got %d requests", len(reqs))
	}
	if got := len(down.requests()); got != 1 {
		t.Errorf("failing Alertmanager got %d requests, want 1 (post to all)", got)
	}
	// Both up: each holds the alert, so the cluster survives either's loss.
	a, b := newReceiver(t), newReceiver(t)
	au, _ := url.Parse(a.srv.URL)
	bu, _ := url.Parse(b.srv.URL)
	both := NewAlertmanager(AlertmanagerConfig{URLs: []*url.URL{au, bu}, ResendInterval: time.Minute, Timeout: time.Second}, nil)
	if _, err := both.Send(context.Background(), sampleNotification()); err != nil {
		t.Fatal(err)
	}
	if na, nb := len(a.requests()), len(b.requests()); na != 1 || nb != 1 {
		t.Errorf("with both members up they got %d and %d posts, want 1 each", na, nb)
	}
	// Both down: retryable.
	down2 := newReceiver(t, status(http.StatusBadGateway), status(http.StatusBadRequest))
	d2, _ := url.Parse(down2.srv.URL)
	am2 := NewAlertmanager(AlertmanagerConfig{URLs: []*url.URL{d2, d2}, ResendInterval: time.Minute, Timeout: time.Second}, nil)
	if retry, err := am2.Send(context.Background(), sampleNotification()); err == nil || !retry || reasonOf(err) != ReasonStatus5xx {
		t.Errorf("Send with all down = %v, %v (reason %s), want retryable status_5xx", retry, err, reasonOf(err))
	}
}

func TestWebhookHeadersAndAuth(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	u, _ := url.Parse(rcv.srv.URL)
	w := NewWebhook(WebhookConfig{URL: u, Timeout: time.Second, Headers: map[string]string{"X-Team": "netops"}, BasicAuth: &BasicAuth{Username: "mon", Password: "pw"}}, nil)
	n := sampleNotification()
	for range 2 {
		if _, err := w.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rcv.requests()
	for _, q := range reqs {
		if q.Header.Get("X-Team") != "netops" || q.Header.Get(HeaderPayloadVersion) != "1" || q.Header.Get(HeaderIdempotencyKey) != n.ID {
			t.Errorf("headers = %v", q.Header)
		}
		r := http.Request{Header: q.Header}
		if user, pw, ok := r.BasicAuth(); !ok || user != "mon" || pw != "pw" {
			t.Errorf("basic auth = %q %q %v", user, pw, ok)
		}
		if q.Header.Get(HeaderSignature) != "" {
			t.Error("signature sent without a secret")
		}
	}
	if reqs[0].Payload.ID != reqs[1].Payload.ID || reqs[0].Payload.Version != PayloadVersion {
		t.Errorf("retried payload ids %s %s", reqs[0].Payload.ID, reqs[1].Payload.ID)
	}
	if reqs[0].Payload.Fingerprint != n.Alert.Fingerprint() || reqs[0].Payload.Labels["kind"] != "syn_flood" {
		t.Errorf("payload = %+v", reqs[0].Payload)
	}
}

func TestScriptSink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	script := filepath.Join(dir, "hook.sh")
	src := "#!/bin/sh\ncat > " + out + "\necho >> " + out + "\necho \"$MONITOR443_NOTIFICATION_ID\" >> " + out + "\nexit \"$1\"\n"
	if err := os.WriteFile(script, []byte(src), 0o700); err != nil {
		t.Fatal(err)
	}
	n := sampleNotification()
	ok := NewScript(ScriptConfig{Command: []string{script, "0"}, Timeout: 5 * time.Second})
	if retry, err := ok.Send(context.Background(), n); err != nil {
		t.Fatalf("Send exit 0 = %v, %v", retry, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	payload, id, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	var p Payload
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.ID != n.ID || id != n.ID {
		t.Errorf("script saw payload id %q env id %q (err %v), want %s", p.ID, id, err, n.ID)
	}

	fail := NewScript(ScriptConfig{Command: []string{script, "3"}, Timeout: 5 * time.Second})
	if retry, err := fail.Send(context.Background(), n); err == nil || !retry || reasonOf(err) != ReasonScript {
		t.Errorf("Send exit 3 = %v, %v; want retryable script error", retry, err)
	}

	hang := filepath.Join(dir, "hang.sh")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 10\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	slowS := NewScript(ScriptConfig{Command: []string{hang}, Timeout: 100 * time.Millisecond})
	if retry, err := slowS.Send(context.Background(), n); err == nil || !retry || reasonOf(err) != ReasonTimeout {
		t.Errorf("Send hanging script = %v, %v; want retryable timeout", retry, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("timeout took %v", el)
	}
}
