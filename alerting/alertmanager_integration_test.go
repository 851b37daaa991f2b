//go:build integration

package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// amAlert is the part of GET /api/v2/alerts the test reads.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func getAlerts(base string) ([]amAlert, error) {
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out []amAlert
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// TestAlertmanagerIntegration sends an alert through the Alertmanager sink
// to a real Alertmanager, checks it is active with the right labels, then
// resolves it and checks it is no longer active.
func TestAlertmanagerIntegration(t *testing.T) {
	bin := os.Getenv("MONITOR443_ALERTMANAGER")
	if bin == "" {
		t.Skip("MONITOR443_ALERTMANAGER not set (path to the alertmanager binary)")
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	amCfg := "route:\n  receiver: discard\n  group_wait: 1s\nreceivers:\n  - name: discard\n"
	if err := os.WriteFile(cfgFile, []byte(amCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	cmd := exec.Command(bin,
		"--config.file="+cfgFile,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // only the Alertmanager this test started
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	u, _ := url.Parse(base)
	am := NewAlertmanager(AlertmanagerConfig{URLs: []*url.URL{u}, ResendInterval: time.Minute, Timeout: 5 * time.Second}, nil)
	a := testAlert("syn_flood", "203.0.113.10:443", SeverityCritical, StateFiring)
	a.StartsAt = time.Now().Add(-time.Minute)
	n := &Notification{ID: newID(), Sink: "am", Trigger: TriggerFiring, CreatedAt: time.Now(), Alert: a}
	if retry, err := am.Send(context.Background(), n); err != nil {
		t.Fatalf("Send firing = %v, %v", retry, err)
	}
	alerts, err := getAlerts(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("alertmanager holds %d alerts, want 1", len(alerts))
	}
	want := map[string]string{"alertname": "SynFlood", "kind": "syn_flood", "scope": "server", "target": "203.0.113.10:443", "severity": "critical", "source": "monitor443"}
	for k, v := range want {
		if alerts[0].Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, alerts[0].Labels[k], v)
		}
	}
	if alerts[0].Status.State != "active" || alerts[0].Annotations["top_contributors"] == "" {
		t.Errorf("alert = %+v, want active with annotations", alerts[0])
	}

	n.Alert.State = StateResolved
	n.Alert.EndsAt = time.Now().Add(-time.Second)
	n.Trigger = TriggerResolved
	if retry, err := am.Send(context.Background(), n); err != nil {
		t.Fatalf("Send resolved = %v, %v", retry, err)
	}
	alerts, err = getAlerts(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range alerts {
		if got.Labels["alertname"] == "SynFlood" && (got.Status.State == "active" && got.EndsAt.After(time.Now())) {
			t.Errorf("alert still active after resolve: %+v", got)
		}
	}
}
