package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// duplicateKeys returns the keys that appear more than once in one JSON
// object of line, at any depth, as dotted paths.
func duplicateKeys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	var dups []string
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					dups = append(dups, path+key)
				}
				seen[key] = true
				if err := walk(path + key + "."); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(path); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(""); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return dups, nil
}

func TestDuplicateKeysFound(t *testing.T) {
	t.Parallel()
	got, err := duplicateKeys([]byte(`{"a":1,"b":{"c":1,"c":2},"a":[{"d":1,"d":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "b.c a a.d" {
		t.Errorf("duplicates %q, want b.c a a.d", got)
	}
}

// TestJSONLogHasEachAttributeOnce replays the demo capture with alerting,
// the web server and every log level on, in the JSON log format, and
// fails on a log line that carries a key twice (such as
// component=alerting component=alerting).
func TestJSONLogHasEachAttributeOnce(t *testing.T) {
	t.Parallel()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yml")
	demo, err := os.ReadFile("../../testdata/demo.yml")
	if err != nil {
		t.Fatal(err)
	}
	// No spool dir, so the alerting manager warns at start.
	os.WriteFile(cfg, append(demo, []byte("\nalerting:\n  sinks:\n    - name: hook\n      type: webhook\n      url: "+hook.URL+"\n")...), 0o644)
	code, _, stderr := runCLI(t, "-r", demoCapture, "-config.file", cfg, "-log.format", "json", "-log.level", "debug",
		"-web.listen-address", freeAddr(t), "-progress", "never")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	components := map[string]int{}
	lines := 0
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "{") {
			continue // the run summary
		}
		lines++
		dups, err := duplicateKeys([]byte(l))
		if err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		if len(dups) > 0 {
			t.Errorf("keys %q more than once in\n%s", dups, l)
		}
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		if c, ok := m["component"].(string); ok {
			components[c]++
		}
	}
	if lines < 5 || components["alerting"] == 0 {
		t.Errorf("%d JSON log lines, by component %v; want some from alerting", lines, components)
	}
}
