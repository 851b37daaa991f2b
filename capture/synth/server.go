package synth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// serverKey is the one signing key of every synthetic server certificate.
// It comes from a fixed seed: Ed25519 signatures are deterministic, so the
// certificates are the same bytes on every run.
var serverKey = func() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("monitor443 synth server key"))
	return ed25519.NewKeyFromSeed(seed[:])
}()

// makeCert returns a self-signed DER certificate for names, valid from
// notBefore for 90 days. The same arguments give the same bytes.
func makeCert(serial int64, names []string, notBefore time.Time) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"monitor443 synthetic"}},
		DNSNames:              names,
		NotBefore:             notBefore.UTC().Truncate(time.Second),
		NotAfter:              notBefore.UTC().Truncate(time.Second).Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(zeroReader{}, tmpl, tmpl, serverKey.Public(), serverKey)
	if err != nil {
		return nil, fmt.Errorf("create certificate for %q: %w", names[0], err)
	}
	return der, nil
}

// zeroReader is the randomness handed to x509: Ed25519 signing does not use
// it, and a constant source keeps anything else deterministic too.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// helloSessionID returns the legacy session ID that AppendClientHello puts in
// a hello built from seed, so the TLS 1.3 ServerHello can echo it. It must
// mirror the order of random draws in AppendClientHello.
func helloSessionID(seed uint64) [32]byte {
	r := newRNG(seed)
	r.u64() // GREASE choices
	var tmp [32]byte
	r.fill(tmp[:]) // client random
	r.fill(tmp[:]) // session ID
	return tmp
}

// Record and handshake types.
const (
	recCCS       = 0x14
	recAlert     = 0x15
	recHandshake = 0x16
	recAppData   = 0x17
)

// flightParams describes the negotiated session for the server's and
// client's handshake flights.
type flightParams struct {
	tls13     bool
	version   uint16 // record and hello version for TLS 1.2 and older
	mlkem     bool
	h2        bool
	ems       bool
	cipher    uint16
	helloSeed uint64
	cert      []byte
	encLen    int // TLS 1.3 encrypted server flight size
}

// appendServerFlight appends the server's first flight: for TLS 1.3 the
// ServerHello, ChangeCipherSpec and one encrypted record standing for
// EncryptedExtensions..Finished; for TLS 1.2 and 1.0 the ServerHello,
// Certificate, ServerKeyExchange and ServerHelloDone.
func appendServerFlight(b []byte, p *flightParams, r *rng) []byte {
	ver := p.version
	if p.tls13 {
		ver = 0x0303
	}
	b = append(b, recHandshake)
	b = put16(b, ver)
	b, rl := begin(b, 2)
	b = append(b, 0x02)
	b, hl := begin(b, 3)
	b = put16(b, ver)
	b = appendRandom(b, r, 32)
	b = append(b, 32)
	if p.tls13 {
		sid := helloSessionID(p.helloSeed)
		b = append(b, sid[:]...)
	} else {
		b = appendRandom(b, r, 32)
	}
	b = put16(b, p.cipher)
	b = append(b, 0)
	b, el := begin(b, 2)
	if p.tls13 {
		b = append(b, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04)
		b = put16(b, extKeyShare)
		var kl int
		b, kl = begin(b, 2)
		if p.mlkem {
			b = put16(b, groupX25519MLKEM)
			b = put16(b, 1088+32)
			b = appendRandom(b, r, 1088+32)
		} else {
			b = put16(b, groupX25519)
			b = put16(b, 32)
			b = appendRandom(b, r, 32)
		}
		end(b, kl, 2)
	} else {
		b = append(b, 0xff, 0x01, 0x00, 0x01, 0x00) // renegotiation_info
		if p.ems {
			b = append(b, 0x00, 0x17, 0x00, 0x00)
		}
		b = append(b, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00) // ec_point_formats
		b = append(b, 0x00, 0x23, 0x00, 0x00)             // session_ticket
		if p.h2 {
			b = append(b, 0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 'h', '2')
		}
	}
	end(b, el, 2)
	end(b, hl, 3)
	end(b, rl, 2)

	if p.tls13 {
		b = append(b, recCCS, 0x03, 0x03, 0x00, 0x01, 0x01)
		return appendOpaqueRecord(b, recAppData, 0x0303, p.encLen, r)
	}

	// Certificate.
	b = append(b, recHandshake)
	b = put16(b, ver)
	b, rl = begin(b, 2)
	b = append(b, 0x0b)
	b, hl = begin(b, 3)
	b, ll := begin(b, 3)
	b, cl := begin(b, 3)
	b = append(b, p.cert...)
	end(b, cl, 3)
	end(b, ll, 3)
	end(b, hl, 3)
	end(b, rl, 2)

	// ServerKeyExchange (ECDHE X25519) and ServerHelloDone in one record.
	b = append(b, recHandshake)
	b = put16(b, ver)
	b, rl = begin(b, 2)
	b = append(b, 0x0c)
	b, hl = begin(b, 3)
	b = append(b, 0x03, 0x00, 0x1d, 32)
	b = appendRandom(b, r, 32)
	if ver >= 0x0303 {
		b = put16(b, 0x0807) // ed25519
	}
	b = put16(b, 64)
	b = appendRandom(b, r, 64)
	end(b, hl, 3)
	b = append(b, 0x0e, 0, 0, 0)
	end(b, rl, 2)
	return b
}

// finishedLen is the size of an encrypted Finished record body: GCM for
// TLS 1.2 (8 explicit nonce + 16 verify data + 16 tag), CBC-SHA for TLS 1.0.
func finishedLen(ver uint16) int {
	if ver < 0x0303 {
		return 48
	}
	return 40
}

// appendClientFlight appends the client's answer to the server flight:
// ChangeCipherSpec and an encrypted Finished for TLS 1.3; ClientKeyExchange,
// ChangeCipherSpec and Finished for TLS 1.2 and 1.0.
func appendClientFlight(b []byte, p *flightParams, r *rng) []byte {
	if p.tls13 {
		b = append(b, recCCS, 0x03, 0x03, 0x00, 0x01, 0x01)
		return appendOpaqueRecord(b, recAppData, 0x0303, 53, r)
	}
	b = append(b, recHandshake)
	b = put16(b, p.version)
	b = append(b, 0x00, 0x25, 0x10, 0x00, 0x00, 0x21, 0x20)
	b = appendRandom(b, r, 32)
	b = append(b, recCCS)
	b = put16(b, p.version)
	b = append(b, 0x00, 0x01, 0x01)
	return appendOpaqueRecord(b, recHandshake, p.version, finishedLen(p.version), r)
}

// appendServerFinish appends the TLS 1.2 server's last flight:
// NewSessionTicket, ChangeCipherSpec and Finished.
func appendServerFinish(b []byte, p *flightParams, r *rng) []byte {
	b = append(b, recHandshake)
	b = put16(b, p.version)
	b, rl := begin(b, 2)
	b = append(b, 0x04)
	b, hl := begin(b, 3)
	b = append(b, 0x00, 0x00, 0x1c, 0x20) // lifetime 7200 s
	b = put16(b, 192)
	b = appendRandom(b, r, 192)
	end(b, hl, 3)
	end(b, rl, 2)
	b = append(b, recCCS)
	b = put16(b, p.version)
	b = append(b, 0x00, 0x01, 0x01)
	return appendOpaqueRecord(b, recHandshake, p.version, finishedLen(p.version), r)
}

// appendOpaqueRecord appends a record of n random (encrypted-looking) bytes.
func appendOpaqueRecord(b []byte, typ byte, ver uint16, n int, r *rng) []byte {
	b = append(b, typ)
	b = put16(b, ver)
	b = put16(b, uint16(n))
	return appendRandom(b, r, n)
}
