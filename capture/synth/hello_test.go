package synth

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// helloInfo feeds a ClientHello record to crypto/tls acting as a server and
// returns what crypto/tls parsed out of it: an independent parser.
func helloInfo(t *testing.T, rec []byte) *tls.ClientHelloInfo {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	var got *tls.ClientHelloInfo
	errStop := errors.New("stop")
	srv := tls.Server(c2, &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		got = chi
		return nil, errStop
	}})
	go func() {
		_ = c1.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c1.Write(rec)
		buf := make([]byte, 512)
		for {
			if _, err := c1.Read(buf); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.HandshakeContext(ctx)
	if got == nil {
		t.Fatalf("crypto/tls did not parse the hello: %v", err)
	}
	return got
}

func TestClientHelloParsesWithCryptoTLS(t *testing.T) {
	t.Parallel()
	for _, s := range Stacks() {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			const sni = "www.shop-7.example"
			rec := AppendClientHello(nil, s, sni, 42)
			chi := helloInfo(t, rec)
			if chi.ServerName != sni {
				t.Errorf("ServerName = %q, want %q", chi.ServerName, sni)
			}
			wantCiphers := slices.DeleteFunc(slices.Clone(specs[s].ciphers), func(c uint16) bool { return c == greaseMark })
			gotCiphers := slices.DeleteFunc(slices.Clone(chi.CipherSuites), isGrease)
			if !slices.Equal(gotCiphers, wantCiphers) {
				t.Errorf("CipherSuites = %04x, want %04x", gotCiphers, wantCiphers)
			}
			vers := slices.DeleteFunc(slices.Clone(chi.SupportedVersions), isGrease)
			if s.offersTLS13() {
				if !slices.Contains(vers, tls.VersionTLS13) {
					t.Errorf("SupportedVersions = %04x, want TLS 1.3 offered", vers)
				}
			} else if slices.Contains(vers, tls.VersionTLS13) {
				t.Errorf("SupportedVersions = %04x, legacy stack offers TLS 1.3", vers)
			}
			if got, want := len(chi.SupportedProtos), len(specs[s].alpn); got != want {
				t.Errorf("ALPN = %q, want %d protocols", chi.SupportedProtos, want)
			}
			t.Logf("%s: %d bytes", s, len(rec))
		})
	}
}

func isGrease(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }
