package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/monitor443/monitor443/detect"
	"go.yaml.in/yaml/v3"
)

const sharedTestdata = "../../../shared/testdata"

// conformanceConfig monitors every TCP port on which the shared captures
// carry TLS.
const conformanceConfig = `
capture:
  tcp_ports: [443, 1080, 8443, 5228, 9090, 8080, 4433]
  udp_ports: [443]
`

// knownMissing lists the captures whose ClientHellos the pipeline does not
// report, with the reason. Anything else missing fails the test.
var knownMissing = map[string]string{}

type tsharkRow struct{ sni, ja3, ja3full string }

func readTshark(t *testing.T, path string) map[string]tsharkRow {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]tsharkRow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Scan()
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 12 {
			continue
		}
		k := fmt.Sprintf("%s %s:%s>%s:%s", c[1], c[2], c[4], c[3], c[5])
		if _, dup := out[k]; !dup { // the first hello of a connection
			out[k] = tsharkRow{sni: c[6], ja3full: c[10], ja3: c[11]}
		}
	}
	return out
}

func readRustJA4(t *testing.T, path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	parts := strings.SplitN(string(b), "---\n", 3)
	var recs []map[string]any
	if err := yaml.Unmarshal([]byte(parts[len(parts)-1]), &recs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, r := range recs {
		ja4, _ := r["ja4"].(string)
		if ja4 == "" {
			continue
		}
		out[fmt.Sprintf("%v %v:%v>%v:%v", r["transport"], r["src"], r["src_port"], r["dst"], r["dst_port"])] = ja4
	}
	return out
}

// TestTLSConformance replays every shared capture through the whole
// pipeline and compares each connection's --output.tls record with
// tshark's SNI and JA3 and FoxIO's reference JA4, for TLS over TCP and
// for QUIC Initials.
func TestTLSConformance(t *testing.T) {
	if _, err := os.Stat(sharedTestdata); err != nil {
		t.Skipf("shared testdata not found: %v", err)
	}
	var caps []string
	filepath.Walk(sharedTestdata, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".tshark.tsv") && !strings.Contains(p, "synstats") {
			caps = append(caps, strings.TrimSuffix(p, ".tshark.tsv"))
		}
		return nil
	})
	sort.Strings(caps)
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	os.WriteFile(cfgFile, []byte(conformanceConfig), 0o644)
	var matchedJA3, matchedJA4, matchedSNI int
	for _, capPath := range caps {
		rel, _ := filepath.Rel(sharedTestdata, capPath)
		t.Run(rel, func(t *testing.T) {
			want := readTshark(t, capPath+".tshark.tsv")
			var rust map[string]string
			if strings.HasPrefix(rel, "ja4/") { // FoxIO's outputs are for FoxIO's captures only
				rust = readRustJA4(t, filepath.Join(sharedTestdata, "ja4/expected/rust", "ja4__insta@"+filepath.Base(capPath)+".snap"))
			}
			out := filepath.Join(t.TempDir(), "tls.jsonl")
			var stderr strings.Builder
			code := run(context.Background(), []string{"-r", capPath, "-config.file", cfgFile, "-output.tls", out, "-log.level", "error"}, nil, io.Discard, &stderr)
			if code != 0 {
				t.Fatalf("run exit %d: %s", code, stderr.String())
			}
			got := map[string]detect.TLSRecord{}
			f, _ := os.Open(out)
			dec := json.NewDecoder(f)
			for {
				var r detect.TLSRecord
				if err := dec.Decode(&r); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				tr := "tcp"
				if r.Transport == "quic" {
					tr = "udp"
				}
				got[fmt.Sprintf("%s %s:%d>%s:%d", tr, r.SrcIP, r.SrcPort, r.DstIP, r.DstPort)] = r
			}
			f.Close()
			if reason, ok := knownMissing[rel]; ok {
				if len(got) == len(want) {
					t.Errorf("listed as missing (%s) but every hello was reported: remove it from knownMissing", reason)
				}
				t.Logf("known disagreement: %s", reason)
				return
			}
			for k, w := range want {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s: no TLS record (tshark: sni %q ja3 %s)", k, w.sni, w.ja3)
					continue
				}
				if g.SNI != w.sni {
					t.Errorf("%s: sni %q, tshark %q", k, g.SNI, w.sni)
				} else {
					matchedSNI++
				}
				switch {
				case w.ja3 == "" && g.SSLv2:
					// tshark computes no JA3 for SSLv2-format hellos.
				case g.JA3 != w.ja3 || g.JA3Full != w.ja3full:
					t.Errorf("%s: ja3 %s (%s), tshark %s (%s)", k, g.JA3, g.JA3Full, w.ja3, w.ja3full)
				default:
					matchedJA3++
				}
				if ref, ok := rust[k]; ok {
					if g.JA4 != ref {
						t.Errorf("%s: ja4 %s, FoxIO %s", k, g.JA4, ref)
					} else {
						matchedJA4++
					}
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: TLS record that tshark does not see", k)
				}
			}
		})
	}
	t.Logf("matched %d SNIs and %d JA3s with tshark, %d JA4s with FoxIO's reference", matchedSNI, matchedJA3, matchedJA4)
	if matchedJA4 < 100 || matchedJA3 < 100 {
		t.Errorf("too few comparisons (%d JA3, %d JA4): the test data was not read", matchedJA3, matchedJA4)
	}
}
