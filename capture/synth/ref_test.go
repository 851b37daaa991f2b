package synth

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture"
)

const ja4Expected = "../../../shared/testdata/ja4/expected/python"

// ja4ro renders a hello as FoxIO's JA4_ro ("raw, original order") string:
// the JA4 a-part, then ciphers, extensions and signature algorithms in wire
// order as hex, GREASE dropped.
func ja4ro(t *testing.T, rec []byte) string {
	t.Helper()
	p := rec[9:]
	ver := binary.BigEndian.Uint16(p)
	p = p[2+32:]
	p = p[1+int(p[0]):]
	var ciphers, exts, sigs []string
	n := int(binary.BigEndian.Uint16(p))
	for i := 2; i < 2+n; i += 2 {
		if c := binary.BigEndian.Uint16(p[i:]); !isGrease(c) {
			ciphers = append(ciphers, fmt.Sprintf("%04x", c))
		}
	}
	p = p[2+n:]
	p = p[1+int(p[0]):]
	p = p[2:]
	sni, alpn := "i", "00"
	for len(p) >= 4 {
		typ, l := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
		body := p[4 : 4+l]
		p = p[4+l:]
		if isGrease(typ) {
			continue
		}
		exts = append(exts, fmt.Sprintf("%04x", typ))
		switch typ {
		case extServerName:
			sni = "d"
		case extALPN:
			first := body[3 : 3+int(body[2])]
			alpn = string(first[0]) + string(first[len(first)-1])
		case extSigAlgs:
			for i := 2; i < len(body); i += 2 {
				sigs = append(sigs, fmt.Sprintf("%04x", binary.BigEndian.Uint16(body[i:])))
			}
		case extVersions:
			for i := 1; i < len(body); i += 2 {
				if v := binary.BigEndian.Uint16(body[i:]); !isGrease(v) && v > ver {
					ver = v
				}
			}
		}
	}
	vs := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10"}[ver]
	return fmt.Sprintf("t%s%s%02d%02d%s_%s_%s_%s", vs, sni, len(ciphers), len(exts), alpn,
		strings.Join(ciphers, ","), strings.Join(exts, ","), strings.Join(sigs, ","))
}

// TestFingerprintsMatchRealClients compares the hello layouts with JA4_ro
// strings that FoxIO's ja4.py computed from real captures.
func TestFingerprintsMatchRealClients(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(ja4Expected, "*.json"))
	if len(files) == 0 {
		t.Skipf("reference data not found in %s", ja4Expected)
	}
	var ref strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ref.Write(b)
	}
	refs := ref.String()
	part := func(ro string, i int) string { return strings.Split(ro, "_")[i] }
	for _, tt := range []struct {
		stack Stack
		want  func(ro string) []string // substrings that must appear in the reference
	}{
		// Chrome: the same a-part (t13d1516h2), cipher list and signature
		// algorithms as real Chrome; the extension set is newer (ML-KEM
		// era: 0x44cd ALPS and ECH GREASE, no padding), so it is not compared.
		{StackChrome, func(ro string) []string {
			return []string{part(ro, 0) + "_" + part(ro, 1) + "_", "_" + part(ro, 3) + "\""}
		}},
		// Firefox: cipher order and signature algorithms of real Firefox.
		{StackFirefox, func(ro string) []string {
			return []string{"_" + part(ro, 1) + "_", "_" + part(ro, 3) + "\""}
		}},
		// The legacy TLS 1.2 client reproduces a real hello exactly.
		{StackLegacy12, func(ro string) []string { return []string{"\"" + ro + "\""} }},
	} {
		ro := ja4ro(t, AppendClientHello(nil, tt.stack, "www.example.com", 1))
		for _, w := range tt.want(ro) {
			if !strings.Contains(refs, w) {
				t.Errorf("%v: %q not found in the reference JA4_ro strings (hello: %s)", tt.stack, w, ro)
			}
		}
	}
}

func TestServerHelloEchoesSessionID(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		hello := AppendClientHello(nil, StackChrome, "a.example", seed)
		sid := helloSessionID(seed)
		if got := hello[9+2+32+1 : 9+2+32+1+32]; !bytes.Equal(got, sid[:]) {
			t.Fatalf("seed %d: session ID % x, ServerHello would echo % x", seed, got, sid)
		}
	}
}

func TestCertificateDeterministic(t *testing.T) {
	t.Parallel()
	names := []string{"www.a.example", "api.a.example"}
	a, err := makeCert(7, names, defaultStart)
	if err != nil {
		t.Fatal(err)
	}
	b, err := makeCert(7, names, defaultStart)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two certificates from the same inputs differ")
	}
	c, err := x509.ParseCertificate(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyHostname("api.a.example"); err != nil {
		t.Error(err)
	}
}

func TestHelloDeterministic(t *testing.T) {
	t.Parallel()
	for _, s := range Stacks() {
		a := AppendClientHello(nil, s, "x.example", 99)
		b := AppendClientHello(make([]byte, 3, 4096), s, "x.example", 99)[3:]
		c := AppendClientHello(nil, s, "x.example", 100)
		if !bytes.Equal(a, b) {
			t.Errorf("%v: same seed, different bytes", s)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%v: different seeds, same bytes", s)
		}
	}
}

func TestNextAllocs(t *testing.T) {
	g, err := NewGenerator(Config{Duration: 24 * time.Hour, ConnRate: 2000, Clients: 1000,
		IPv6Fraction: 0.3, VLANFraction: 0.3, QinQFraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for range 100_000 {
		g.Next()
	}
	if n := testing.AllocsPerRun(20_000, func() { g.Next() }); n != 0 {
		t.Errorf("Next allocates %v times per packet, want 0", n)
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(1000, func() { buf = AppendClientHello(buf[:0], StackChrome, "a.example", 1) }); n != 0 {
		t.Errorf("AppendClientHello allocates %v times, want 0", n)
	}
}

func TestSourceRead(t *testing.T) {
	t.Parallel()
	cfg := Config{Duration: 5 * time.Second, ConnRate: 5}
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var f capture.Frame
	n := 0
	for {
		err := g.Read(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.LinkType != capture.LinkEthernet || f.Length != len(f.Data) {
			t.Fatalf("frame %d: link type %v, length %d of %d", n, f.LinkType, f.Length, len(f.Data))
		}
		n++
	}
	if tr := g.Truth(); uint64(n) != tr.Packets || n == 0 {
		t.Errorf("read %d frames, truth counts %d", n, tr.Packets)
	}
}

func TestTruthJSONRoundTrip(t *testing.T) {
	t.Parallel()
	_, tr := generate(t, Presets()["demo"])
	var buf bytes.Buffer
	if err := tr.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind": "syn_flood"`, `"kind": "bandwidth_spike"`, `"target": "198.18.0.1:443"`,
		`"start": "2026-01-05T00:01:30Z"`, `"spoofed": true`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("truth JSON lacks %s:\n%s", want, buf.String())
		}
	}
	got, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 2 || got.Events[0] != tr.Events[0] || got.Events[1] != tr.Events[1] || got.Packets != tr.Packets {
		t.Errorf("round trip: got %+v, want %+v", got, tr)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Duration: time.Minute, ConnRate: 1}
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"presets", nil, ""},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration: must be > 0"},
		{"negative rate", func(c *Config) { c.ConnRate = -1 }, "conn_rate:"},
		{"amplitude", func(c *Config) { c.DiurnalAmplitude = 1 }, "diurnal_amplitude:"},
		{"fraction", func(c *Config) { c.IPv6Fraction = 1.5 }, "ipv6_fraction:"},
		{"stack weight", func(c *Config) { c.StackMix = map[Stack]float64{StackGo: -1} }, "stack_mix.go:"},
		{"event kind", func(c *Config) { c.Events = []Event{{Duration: time.Second, Rate: 1}} }, "events[0].kind:"},
		{"event target", func(c *Config) {
			c.Events = []Event{{Kind: SYNFlood, Duration: time.Second, Rate: 1, Target: 8}}
		}, "events[0].target:"},
		{"any-server flood", func(c *Config) {
			c.Events = []Event{{Kind: SYNFlood, Duration: time.Second, Rate: 1, Target: -1}}
		}, "events[0].target:"},
		{"event rate", func(c *Config) {
			c.Events = []Event{{Kind: RequestBurst, Duration: time.Second, Target: -1}}
		}, "events[0].rate:"},
		{"flood over QUIC", func(c *Config) {
			c.Events = []Event{{Kind: SYNFlood, Duration: time.Second, Rate: 1, QUIC: true}}
		}, "events[0].quic:"},
		{"burst over QUIC", func(c *Config) {
			c.Events = []Event{{Kind: DistributedBurst, Duration: time.Second, Rate: 1, Target: -1, QUIC: true}}
		}, ""},
		{"ramp", func(c *Config) {
			c.Events = []Event{{Kind: FlashCrowd, Duration: time.Second, Rate: 1, Ramp: time.Second}}
		}, "events[0].ramp:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit == nil {
				for name, cfg := range Presets() {
					if err := cfg.Validate(); err != nil {
						t.Errorf("preset %s: %v", name, err)
					}
				}
				return
			}
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, gerr := NewGenerator(c); (gerr == nil) != (err == nil) {
				t.Errorf("NewGenerator error %v disagrees with Validate %v", gerr, err)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	t.Parallel()
	for _, s := range Stacks() {
		if got, err := ParseStack(s.String()); err != nil || got != s {
			t.Errorf("ParseStack(%q) = %v, %v", s, got, err)
		}
	}
	for _, k := range EventKinds() {
		if got, err := ParseEventKind(k.String()); err != nil || got != k || k.RateUnit() == "" {
			t.Errorf("ParseEventKind(%q) = %v, %v", k, got, err)
		}
	}
	if _, err := ParseStack("netscape"); err == nil {
		t.Error("ParseStack accepted an unknown name")
	}
}

func TestServerAddressesDistinct(t *testing.T) {
	t.Parallel()
	g, err := NewGenerator(Config{Duration: time.Second, Servers: 600, SNIs: 600})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[16]byte]int{}
	for i, s := range g.servers {
		for _, a := range [][16]byte{s.v4, s.v6} {
			if j, dup := seen[a]; dup {
				t.Fatalf("servers %d and %d share address % x", j, i, a)
			}
			seen[a] = i
		}
		if s.v4[3] == 0 || s.v4[3] == 255 || s.v4[0] != 198 || s.v4[1] != 18 {
			t.Errorf("server %d: address %v", i, s.v4[:4])
		}
	}
}
