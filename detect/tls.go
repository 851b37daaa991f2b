package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/monitor443/monitor443/capture"
	"github.com/monitor443/monitor443/detect/flow"
	"github.com/monitor443/monitor443/detect/tlshello"
)

// Flow.User layout: the low 32 bits hold a tlsConn pool index + 1, the
// high bits flags.
const (
	userSniffed uint64 = 1 << 32 // the client stream's protocol is known
	userTLSDone uint64 = 1 << 33 // TLS analysis finished for this flow
	userNonTLS  uint64 = 1 << 34 // not TLS: counted by kind
	// userQUICConn marks a flow counted in Features.QUICConns, and
	// userQUICReturned one whose client then answered the server
	// (Features.QUICReturned).
	userQUICConn     uint64 = 1 << 35
	userQUICReturned uint64 = 1 << 36
	userIdxMask      uint64 = 1<<32 - 1
	maxHelloMsgs            = 2 // ClientHellos counted per connection (HelloRetryRequest)
)

// tlsConn is the analysis state of one TLS handshake in progress.
type tlsConn struct {
	cr, sr     tlshello.Reader
	hellos     int
	segments   int
	helloTS    int64
	certWanted bool
	version    uint16 // negotiated
	rec        *TLSRecord
	lastClient int // client stream length at the last segment count

	// A connection to a forward proxy (HTTP CONNECT, SOCKS) carries TLS
	// after the proxy handshake: tunnel.Kind is set, tunnelOpen once the
	// client's request was read and TLS follows it, serverStart once the
	// proxy's answer was read (the offset of the tunnelled server bytes).
	tunnel      tlshello.Tunnel
	tunnelOpen  bool
	serverStart int
}

// TLSCounters are one worker's TLS counters, read at scrape time.
type TLSCounters struct {
	ClientHellos [numVersionLabels]atomicU64
	Handshakes   [numVersionLabels][numClassLabels]atomicU64
	ALPN         [numALPN]atomicU64
	ECH          atomicU64
	Alerts       [2]atomicU64 // warning, fatal
	NonTLS       [numKindLabels]atomicU64
	ParseErrors  atomicU64
	PoolFull     atomicU64
	RecordsLost  atomicU64
}

// tlsAnalyzer parses handshakes from reassembled flow streams. One per
// worker.
type tlsAnalyzer struct {
	pool    []tlsConn
	free    []uint32
	buf     []byte
	ch      tlshello.ClientHello
	sh      tlshello.ServerHello
	scratch []byte
	c       *TLSCounters
	emit    func(*TLSRecord) // nil: no records are built
	// summary builds records with the summary fields only (TLSSummary).
	summary bool
	// recycled, when set, returns a record the consumer is done with
	// (TLSReuse), or nil.
	recycled func() *TLSRecord
	// hellos counts the ClientHellos parsed; ja4 is the JA4 of the one
	// numbered ja4Of, kept when a record computed it so that the stack mix
	// does not compute it again.
	hellos, ja4Of uint64
	ja4           string
	hygiene       func(kind string, rec hygieneHit)
	block         Blocklist
	certs         map[[32]byte]tlshello.CertInfo
}

type hygieneHit struct {
	target, detail string
	ts             int64
	severity       Severity
}

func newTLSAnalyzer(maxConns int, c *TLSCounters, emit func(*TLSRecord), hyg func(string, hygieneHit), block Blocklist) *tlsAnalyzer {
	a := &tlsAnalyzer{
		pool: make([]tlsConn, maxConns), free: make([]uint32, maxConns),
		buf: make([]byte, 64<<10), scratch: make([]byte, 0, 8<<10),
		c: c, emit: emit, hygiene: hyg, block: block, certs: map[[32]byte]tlshello.CertInfo{},
	}
	for i := range a.free {
		a.free[i] = uint32(maxConns - 1 - i)
	}
	return a
}

// observe runs after Table.Observe for TCP packets with new stream bytes.
func (a *tlsAnalyzer) observe(f *flow.Flow, ev flow.Events, p *capture.Packet, feat *Features) {
	if f.User&(userTLSDone|userNonTLS) != 0 {
		return
	}
	if f.User&userSniffed == 0 {
		if !ev.Has(flow.EventClientDataReady) {
			return
		}
		cs := f.ClientStream()
		k := tlshello.Sniff(cs)
		switch k {
		case tlshello.KindNeedMore:
			if len(cs) < tlshello.SniffLen {
				return
			}
			k = tlshello.KindUnknown
		case tlshello.KindTLS, tlshello.KindSSLv2, tlshello.KindHTTPConnect, tlshello.KindSOCKS:
			if len(a.free) == 0 {
				a.c.PoolFull.Add(1)
				a.finish(f, nil)
				return
			}
			idx := a.free[len(a.free)-1]
			a.free = a.free[:len(a.free)-1]
			c := &a.pool[idx]
			*c = tlsConn{cr: tlshello.Reader{MaxMessage: 16 << 10}, sr: tlshello.Reader{MaxMessage: 64 << 10}}
			f.User |= userSniffed | uint64(idx+1)
			switch k {
			case tlshello.KindSSLv2:
				a.sslv2(f, c, p, feat)
				return
			case tlshello.KindHTTPConnect, tlshello.KindSOCKS:
				c.tunnel.Kind = k // TLS may follow the proxy handshake
			}
		}
		if f.User&userSniffed == 0 {
			a.nonTLS(f, nil, k, p.Timestamp)
			return
		}
	}
	c := a.conn(f)
	if c == nil {
		return
	}
	if c.tunnel.Kind != 0 && !c.tunnelOpen && !a.openTunnel(f, c, p.Timestamp) {
		return
	}
	if ev.Has(flow.EventClientDataReady) && c.hellos < maxHelloMsgs {
		a.client(f, c, p, feat)
	}
	if ev.Has(flow.EventServerDataReady) && c.hellos > 0 {
		a.server(f, c, p)
	}
}

// nonTLS counts f as a non-TLS connection of kind k (a finding when
// hygiene is on) and stops its analysis; c is its pool slot, if any.
func (a *tlsAnalyzer) nonTLS(f *flow.Flow, c *tlsConn, k tlshello.Kind, ts int64) {
	f.User |= userSniffed | userNonTLS
	a.c.NonTLS[kindLabel(k)].Add(1)
	if a.hygiene != nil {
		a.hygiene(KindNonTLS, hygieneHit{target: f.Server().String(), detail: k.String(), ts: ts, severity: SeverityWarning})
	}
	f.StopReassembly(flow.ClientToServer)
	f.StopReassembly(flow.ServerToClient)
	if c != nil {
		a.release(f, c, "")
	}
}

// openTunnel reads the proxy request at the start of the client stream
// and reports whether a TLS record follows it. A request that is not one,
// a refused tunnel, or a tunnel that carries something else makes the
// connection non-TLS of the proxy's kind, as before tunnels were followed.
// It runs on client and server data until the tunnel is open.
func (a *tlsAnalyzer) openTunnel(f *flow.Flow, c *tlsConn, ts int64) bool {
	cs := f.ClientStream()
	t, err := tlshello.ParseTunnelRequest(c.tunnel.Kind, cs)
	if errors.Is(err, tlshello.ErrNeedMore) {
		return false
	}
	if err != nil {
		a.nonTLS(f, c, c.tunnel.Kind, ts)
		return false
	}
	if _, err := tlshello.TunnelReplyEnd(&t, f.ServerStream()); err != nil && !errors.Is(err, tlshello.ErrNeedMore) {
		a.nonTLS(f, c, t.Kind, ts) // refused, or not a proxy: nothing will follow
		return false
	}
	switch tlshello.Sniff(cs[t.Start:]) {
	case tlshello.KindNeedMore:
		return false
	case tlshello.KindTLS:
		c.tunnel, c.tunnelOpen, c.serverStart = t, true, -1
		c.cr.Skip(t.Start)
		c.lastClient = t.Start
		return true
	}
	a.nonTLS(f, c, t.Kind, ts)
	return false
}

func (a *tlsAnalyzer) conn(f *flow.Flow) *tlsConn {
	i := f.User & userIdxMask
	if i == 0 {
		return nil
	}
	return &a.pool[i-1]
}

func (a *tlsAnalyzer) client(f *flow.Flow, c *tlsConn, p *capture.Packet, feat *Features) {
	cs := f.ClientStream()
	if c.hellos == 0 && len(cs) > c.lastClient {
		c.segments++
		c.lastClient = len(cs)
	}
	for c.hellos < maxHelloMsgs {
		m, _, err := c.cr.Next(cs, a.buf)
		if errors.Is(err, tlshello.ErrNeedMore) {
			return
		}
		if err != nil {
			a.c.ParseErrors.Add(1)
			a.finish(f, c)
			return
		}
		if m.HandshakeType() != 1 { // not a ClientHello: CCS, other records
			continue
		}
		c.hellos++
		if c.hellos > 1 {
			continue // counted; the first hello is the fingerprint
		}
		if err := a.ch.Parse(m.Data); err != nil {
			a.c.ParseErrors.Add(1)
			a.finish(f, c)
			return
		}
		c.helloTS = p.Timestamp
		a.countHello(&a.ch)
		feat.ClientHellos++
		if a.emit != nil || a.block.Len() > 0 {
			a.buildRecord(f, c, p, &a.ch, tlshello.TransportTCP)
		}
	}
}

func (a *tlsAnalyzer) sslv2(f *flow.Flow, c *tlsConn, p *capture.Packet, feat *Features) {
	body, _, err := tlshello.NextSSLv2Hello(f.ClientStream())
	if errors.Is(err, tlshello.ErrNeedMore) {
		return
	}
	if err != nil || a.ch.ParseSSLv2(body) != nil {
		a.c.ParseErrors.Add(1)
		a.finish(f, c)
		return
	}
	c.hellos, c.segments, c.helloTS = 1, 1, p.Timestamp
	a.countHello(&a.ch)
	feat.ClientHellos++
	if a.emit != nil || a.block.Len() > 0 {
		a.buildRecord(f, c, p, &a.ch, tlshello.TransportTCP)
	}
	// The server's SSLv2 answer is not parsed; the record ends here.
	a.finish(f, c)
}

func (a *tlsAnalyzer) countHello(h *tlshello.ClientHello) {
	a.hellos++
	a.c.ClientHellos[versionLabel(h.MaxVersion())].Add(1)
	a.c.ALPN[alpnLabel(h)].Add(1)
	if h.ECH {
		a.c.ECH.Add(1)
	}
}

func (a *tlsAnalyzer) server(f *flow.Flow, c *tlsConn, p *capture.Packet) {
	ss := f.ServerStream()
	if c.tunnelOpen && c.serverStart < 0 {
		n, err := tlshello.TunnelReplyEnd(&c.tunnel, ss)
		if errors.Is(err, tlshello.ErrNeedMore) {
			return
		}
		if err != nil { // refused: the hello went nowhere
			a.finish(f, c)
			return
		}
		c.serverStart = n
		c.sr.Skip(n)
	}
	for {
		m, _, err := c.sr.Next(ss, a.buf)
		if errors.Is(err, tlshello.ErrNeedMore) {
			return
		}
		if err != nil {
			a.finish(f, c)
			return
		}
		switch {
		case m.Content == tlshello.ContentAlert:
			al, err := tlshello.ParseAlert(m.Data)
			if err == nil {
				lvl := 0
				if al.Level == tlshello.AlertFatal {
					lvl = 1
				}
				a.c.Alerts[lvl].Add(1)
				if c.rec != nil {
					c.rec.Alert = al.String()
				}
			}
			a.finish(f, c)
			return
		case m.HandshakeType() == 2: // ServerHello
			if err := a.sh.Parse(m.Data); err != nil {
				a.finish(f, c)
				return
			}
			if a.sh.HelloRetryRequest {
				if c.rec != nil {
					c.rec.HelloRetry = true
				}
				continue
			}
			c.version = a.sh.Version()
			v, cl := tlshello.VersionOf(c.version), tlshello.ClassOf(a.sh.CipherSuite)
			a.c.Handshakes[versionLabel(c.version)][classLabel(cl)].Add(1)
			if r := c.rec; r != nil {
				r.ServerVersion = v.String()
				r.Cipher = "0x" + strconv.FormatUint(uint64(a.sh.CipherSuite), 16)
				r.CipherClass = cl.String()
				r.ALPNSelected = string(a.sh.ALPN)
				if !a.summary {
					r.JA3SFull = string(tlshello.AppendJA3S(a.scratch[:0], &a.sh))
					r.JA3S = string(tlshello.AppendJA3SHash(a.scratch[:0], &a.sh))
				}
				r.Established = true
			}
			if a.hygiene != nil {
				target := f.Server().String()
				if v.Deprecated() {
					a.hygiene(KindDeprecatedTLS, hygieneHit{target: target, detail: v.String(), ts: p.Timestamp, severity: SeverityWarning})
				}
				if cl.Weak() {
					a.hygiene(KindWeakCipher, hygieneHit{target: target, detail: cl.String(), ts: p.Timestamp, severity: SeverityWarning})
				}
			}
			if c.version >= 0x0304 || c.version>>8 == 0x7f { // TLS 1.3 or a draft of it
				a.finish(f, c) // TLS 1.3: the rest is encrypted
				return
			}
			c.certWanted = true
		case m.HandshakeType() == 11 && c.certWanted: // Certificate
			c.certWanted = false
			if c.rec != nil || a.hygiene != nil {
				a.certificate(f, c, m.Data, p.Timestamp)
			}
		case m.HandshakeType() == 14, m.Encrypted, m.Content == tlshello.ContentApplicationData, m.Content == tlshello.ContentChangeCipherSpec:
			a.finish(f, c) // ServerHelloDone or encrypted: nothing more in clear
			return
		}
	}
}

// certCacheSize bounds the per-worker cache of parsed leaf certificates.
// Servers send the same certificate on every connection, and parsing and
// verifying one costs tens of microseconds.
const certCacheSize = 1024

func (a *tlsAnalyzer) certificate(f *flow.Flow, c *tlsConn, msg []byte, ts int64) {
	leaf, _, err := tlshello.LeafCertificate(msg)
	if err != nil || len(leaf) == 0 {
		return
	}
	key := sha256.Sum256(leaf)
	ci, ok := a.certs[key]
	if !ok {
		if ci, err = tlshello.ParseCertificate(msg); err != nil {
			return
		}
		if len(a.certs) >= certCacheSize {
			clear(a.certs)
		}
		a.certs[key] = ci
	}
	now := time.Unix(0, ts)
	expired := now.After(ci.NotAfter) || now.Before(ci.NotBefore)
	if c.rec != nil {
		cr := &CertRecord{Subject: ci.Subject, Issuer: ci.Issuer, NotBefore: ci.NotBefore.UTC(), NotAfter: ci.NotAfter.UTC(),
			SelfSigned: ci.SelfSigned, Expired: expired, ChainLen: ci.ChainLen}
		cr.SANs = append(cr.SANs, ci.DNSNames...)
		for _, ip := range ci.IPAddresses {
			cr.SANs = append(cr.SANs, ip.String())
		}
		c.rec.Cert = cr
	}
	if a.hygiene != nil {
		target := f.Server().String()
		switch {
		case now.After(ci.NotAfter):
			a.hygiene(KindBadCertificate, hygieneHit{target: target, detail: "expired since " + ci.NotAfter.UTC().Format(time.RFC3339), ts: ts, severity: SeverityWarning})
		case now.Before(ci.NotBefore):
			a.hygiene(KindBadCertificate, hygieneHit{target: target, detail: "not valid before " + ci.NotBefore.UTC().Format(time.RFC3339), ts: ts, severity: SeverityWarning})
		}
		if ci.SelfSigned {
			a.hygiene(KindBadCertificate, hygieneHit{target: target, detail: "self-signed " + ci.Subject, ts: ts, severity: SeverityInfo})
		}
	}
}

// buildRecord fills c.rec from the first ClientHello. It allocates; it runs
// once per connection and only when records are wanted.
func (a *tlsAnalyzer) buildRecord(f *flow.Flow, c *tlsConn, p *capture.Packet, h *tlshello.ClientHello, transport byte) {
	cl, sv := f.Client(), f.Server()
	var r *TLSRecord
	if a.recycled != nil {
		r = a.recycled()
	}
	if r == nil {
		r = new(TLSRecord)
	}
	*r = TLSRecord{
		TS: time.Unix(0, p.Timestamp).UTC(), SrcIP: cl.Addr().String(), SrcPort: cl.Port(),
		DstIP: sv.Addr().String(), DstPort: sv.Port(), Transport: "tcp",
		SNI: string(h.SNI), Version: tlshello.VersionOf(h.MaxVersion()).String(),
		GREASE: h.GREASE, ECH: h.ECH, SSLv2: h.SSLv2,
	}
	// A summary record (TLSSummary) keeps what the connection negotiated
	// and who it is (the server's fields come with its hello) and leaves
	// out the hello's lists and the fingerprints nobody reads.
	if !a.summary {
		r.LegacyVersion = fmt.Sprintf("0x%04x", h.LegacyVersion)
		r.Ciphers, r.Extensions = append([]uint16{}, h.CipherSuites...), append([]uint16{}, h.Extensions...)
		r.Groups, r.SigAlgs = append([]uint16(nil), h.SupportedGroups...), append([]uint16(nil), h.SignatureAlgorithms...)
		r.KeyShares = append([]uint16(nil), h.KeyShareGroups...)
	}
	for _, pf := range h.PointFormats {
		if a.summary {
			break
		}
		r.PointFormats = append(r.PointFormats, uint16(pf))
	}
	for _, n := range h.ALPN {
		if a.summary {
			break
		}
		if isPrintable(n) {
			r.ALPN = append(r.ALPN, string(n))
		} else {
			r.ALPN = append(r.ALPN, "0x"+hex.EncodeToString(n))
		}
	}
	for _, v := range h.SupportedVersions {
		if a.summary {
			break
		}
		r.Versions = append(r.Versions, fmt.Sprintf("0x%04x", v))
	}
	if c.tunnelOpen {
		t := &c.tunnel
		r.Tunnel = t.Proto()
		port := strconv.Itoa(int(t.Port))
		switch cs := f.ClientStream(); {
		case t.HostLen > 0 && t.HostOff+t.HostLen <= len(cs):
			r.TunnelTarget = string(cs[t.HostOff:t.HostOff+t.HostLen]) + ":" + port
		case t.Addr.IsValid():
			r.TunnelTarget = netip.AddrPortFrom(t.Addr, t.Port).String()
		}
	}
	r.JA4 = string(tlshello.AppendJA4(a.scratch[:0], h, transport))
	a.ja4, a.ja4Of = r.JA4, a.hellos
	if !a.summary || a.block.Len() > 0 {
		r.JA3 = string(tlshello.AppendJA3Hash(a.scratch[:0], h))
	}
	if !a.summary {
		r.JA3Full = string(tlshello.AppendJA3(a.scratch[:0], h))
		r.JA4R = string(tlshello.AppendJA4R(a.scratch[:0], h, transport))
	}
	if labels := a.block.Match(r.JA3, r.JA4); len(labels) > 0 {
		r.Blocklisted = labels
		if a.hygiene != nil {
			a.hygiene(KindBlocklisted, hygieneHit{target: r.SrcIP, detail: labels[0] + " (" + r.JA4 + ")", ts: p.Timestamp, severity: SeverityCritical})
		}
	}
	c.rec = r
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}

// finish ends the TLS analysis of f: emits its record, releases the
// reassembly buffers and the pool slot.
func (a *tlsAnalyzer) finish(f *flow.Flow, c *tlsConn) {
	f.User |= userTLSDone
	f.StopReassembly(flow.ClientToServer)
	f.StopReassembly(flow.ServerToClient)
	if c == nil {
		return
	}
	a.release(f, c, "handshake")
}

// flowEnded is called from the table's OnEnd for every flow that leaves.
func (a *tlsAnalyzer) flowEnded(f *flow.Flow, r flow.EndReason) {
	c := a.conn(f)
	if c == nil || f.User&userTLSDone != 0 {
		return
	}
	if c.tunnel.Kind != 0 && c.hellos == 0 {
		// A proxy connection that carried no ClientHello is non-TLS of
		// the proxy's kind.
		a.nonTLS(f, c, c.tunnel.Kind, f.Last())
		return
	}
	a.release(f, c, r.String())
}

func (a *tlsAnalyzer) release(f *flow.Flow, c *tlsConn, end string) {
	if r := c.rec; r != nil && a.emit != nil {
		r.HelloSegments = c.segments
		r.HelloCount = c.hellos
		r.End = end
		if syn, ok := f.SynRTT(); ok && !a.summary {
			r.RTT = &RTTRecord{SynMS: float64(syn) / 1e6}
			if ack, ok := f.AckRTT(); ok {
				r.RTT.AckMS = float64(ack) / 1e6
			}
		}
		r.Bytes = [2]uint64{f.Bytes(flow.ClientToServer), f.Bytes(flow.ServerToClient)}
		r.Packets = [2]uint64{f.Packets(flow.ClientToServer), f.Packets(flow.ServerToClient)}
		a.emit(r)
	}
	idx := uint32(f.User&userIdxMask) - 1
	f.User &^= userIdxMask
	*c = tlsConn{}
	a.free = append(a.free, idx)
}
