package synth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// QUIC version 1 (RFC 9000) client Initial packets, sealed as RFC 9001
// section 5 describes, so that a monitor can decrypt them and read the
// ClientHello inside: the same work a passive observer does on the wire.

// quicV1Salt is the Initial salt of QUIC version 1 (RFC 9001 section 5.2).
var quicV1Salt = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}

// quicMinInitial is the smallest UDP payload of a datagram carrying a
// client Initial (RFC 9000 section 14.1).
const quicMinInitial = 1200

// extQUICParams is the quic_transport_parameters extension (RFC 9001).
const extQUICParams = 0x0039

// quicSpec is the ClientHello a browser sends over QUIC: TLS 1.3 only,
// ALPN h3, transport parameters, no record-layer or TCP-era extensions
// (Chrome's layout, without GREASE or the post-quantum share to keep an
// Initial to one packet).
var quicSpec = spec{
	recordVersion: 0x0301, helloVersion: 0x0303,
	ciphers: []uint16{0x1301, 0x1302, 0x1303},
	exts: []uint16{extServerName, extGroups, extSigAlgs, extALPN, extKeyShare, extPSKModes, extVersions,
		extCompressCert, extQUICParams},
	groups:       []uint16{groupX25519, groupP256, groupP384},
	keyShares:    []uint16{groupX25519},
	sigAlgs:      []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
	versions:     []uint16{0x0304},
	alpn:         []string{"h3"},
	certCompress: []uint16{0x0002},
}

// quicTransportParams is a fixed transport parameter list: max_idle_timeout
// 30 s, max_udp_payload_size 1472, initial_max_data 15 MiB, stream data
// limits of 6 MiB and 100 bidirectional streams.
var quicTransportParams = []byte{
	0x01, 0x04, 0x80, 0x00, 0x75, 0x30,
	0x03, 0x02, 0x45, 0xc0,
	0x04, 0x04, 0x80, 0xf0, 0x00, 0x00,
	0x05, 0x04, 0x80, 0x60, 0x00, 0x00,
	0x06, 0x04, 0x80, 0x60, 0x00, 0x00,
	0x08, 0x02, 0x40, 0x64,
}

// appendQUICHello appends a ClientHello handshake message (no record
// header) as sent in a QUIC client Initial.
func appendQUICHello(dst []byte, serverName string, seed uint64) []byte {
	off := len(dst)
	b := appendHelloSpec(dst, &quicSpec, serverName, seed)
	return append(b[:off], b[off+5:]...) // drop the TLS record header
}

// quicKeys are the client Initial packet protection keys of one connection.
type quicKeys struct {
	aead cipher.AEAD
	iv   [12]byte
	hp   cipher.Block
}

// expandLabel is HKDF-Expand-Label of TLS 1.3 with an empty context.
func expandLabel(secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		panic("synth: " + err.Error()) // lengths are constants within limits
	}
	return out
}

// clientInitialKeys derives the client Initial keys for a destination
// connection ID (RFC 9001 section 5.2).
func clientInitialKeys(dcid []byte) quicKeys {
	initial, err := hkdf.Extract(sha256.New, dcid, quicV1Salt)
	if err != nil {
		panic("synth: " + err.Error())
	}
	client := expandLabel(initial, "client in", 32)
	var k quicKeys
	blk, err := aes.NewCipher(expandLabel(client, "quic key", 16))
	if err != nil {
		panic("synth: " + err.Error())
	}
	if k.aead, err = cipher.NewGCM(blk); err != nil {
		panic("synth: " + err.Error())
	}
	copy(k.iv[:], expandLabel(client, "quic iv", 12))
	if k.hp, err = aes.NewCipher(expandLabel(client, "quic hp", 16)); err != nil {
		panic("synth: " + err.Error())
	}
	return k
}

// appendVarint appends v as a QUIC variable-length integer of n bytes
// (1, 2, 4 or 8).
func appendVarint(b []byte, v uint64, n int) []byte {
	switch n {
	case 1:
		return append(b, byte(v))
	case 2:
		return binary.BigEndian.AppendUint16(b, uint16(v)|0x4000)
	case 4:
		return binary.BigEndian.AppendUint32(b, uint32(v)|0x80000000)
	}
	return binary.BigEndian.AppendUint64(b, v|0xc0<<56)
}

// appendClientInitial appends a client Initial datagram to dst: a long
// header (version 1, dcid, scid, no token), packet number pn (2 bytes), and
// a payload of one CRYPTO frame holding hello, padded to quicMinInitial,
// sealed with AES-128-GCM and header protection.
func appendClientInitial(dst, dcid, scid []byte, pn uint16, hello []byte) []byte {
	const pnLen = 2
	start := len(dst)
	b := append(dst, 0xc0|(pnLen-1)) // long header, fixed bit, Initial, 2-byte packet number
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	b = append(b, 0) // token length
	// Plaintext: CRYPTO frame, then PADDING up to the datagram minimum.
	frame := 1 + 1 + 2 + len(hello) // type, offset 0, length (2-byte varint), data
	hdr := len(b) - start + 2 + pnLen
	pad := max(0, quicMinInitial-hdr-frame-16)
	length := pnLen + frame + pad + 16 // the AEAD tag is part of the length
	b = appendVarint(b, uint64(length), 2)
	pnOff := len(b)
	b = binary.BigEndian.AppendUint16(b, pn)
	payOff := len(b)
	b = append(b, 0x06, 0x00)
	b = appendVarint(b, uint64(len(hello)), 2)
	b = append(b, hello...)
	for range pad {
		b = append(b, 0)
	}
	k := clientInitialKeys(dcid)
	nonce := k.iv
	nonce[10] ^= byte(pn >> 8)
	nonce[11] ^= byte(pn)
	sealed := k.aead.Seal(b[payOff:payOff], nonce[:], b[payOff:], b[start:payOff])
	b = b[:payOff+len(sealed)]
	// Header protection: a mask from 16 bytes of ciphertext sampled 4
	// bytes after the start of the packet number.
	var mask [16]byte
	k.hp.Encrypt(mask[:], b[pnOff+4:pnOff+20])
	b[start] ^= mask[0] & 0x0f
	b[pnOff] ^= mask[1]
	b[pnOff+1] ^= mask[2]
	return b
}

// QUIC connection states (conn.qst): the packet a QUIC connection sends
// next.
const (
	qClientInitial  = iota // client Initial with the ClientHello
	qServerFlight          // server Initial and Handshake (not decryptable with client keys)
	qClientFinished        // client Handshake packet
	qClientRequest         // client 1-RTT packet: the HTTP/3 request
	qServerData            // server 1-RTT packets carrying the response
	qClientAck             // client 1-RTT acknowledgement, every second server packet
	qClientClose           // client 1-RTT packet with CONNECTION_CLOSE
)

// quicCIDs returns the connection's client (source) and server connection
// IDs, derived from its seeds so that they cost no draws.
func quicCIDs(c *conn) (client, server [8]byte) {
	binary.BigEndian.PutUint64(client[:], c.flightSeed)
	binary.BigEndian.PutUint64(server[:], c.helloSeed^0x9e3779b97f4a7c15)
	return
}

// stepQUIC writes the next packet of a QUIC connection (mode modeQUIC)
// into g.pkt and returns when the one after is due, or -1 after the last.
// Only the client Initial is real cryptography; the other packets have
// the right headers and sizes, with pseudo-random bytes for ciphertext.
func (g *Generator) stepQUIC(c *conn, t int64) int64 {
	off := c.ep.udpPayloadOff()
	b := g.buf[off:off]
	cl, sv := quicCIDs(c)
	fromClient, next := true, t
	handshake := c.qst <= qClientFinished
	switch c.qst {
	case qClientInitial:
		// The Initial's destination ID is the client's random choice; the
		// server's own ID takes over after the first answer.
		g.qbuf = appendQUICHello(g.qbuf[:0], c.sni, c.helloSeed)
		b = appendClientInitial(b, sv[:], cl[:], 0, g.qbuf)
		// The response size: one Pareto-sized response per exchange.
		c.left = 0
		law := &g.servers[c.server].law
		for range min(c.exchanges, 8) {
			c.left += int64(law.draw(&g.r))
		}
		c.qst, next = qServerFlight, t+c.srvDelay
	case qServerFlight:
		b = appendLongHeader(b, 0xc0, cl[:], sv[:], true)
		b = g.appendSealed(b, quicMinInitial-len(b))
		fromClient, c.qst, next = false, qClientFinished, t+c.rtt
	case qClientFinished:
		b = appendLongHeader(b, 0xe0, sv[:], cl[:], false)
		b = g.appendSealed(b, 60)
		c.qst, next = qClientRequest, t+1000
	case qClientRequest:
		b = appendShortHeader(b, sv[:])
		b = g.appendSealed(b, 60+g.r.intn(200))
		c.qst, next = qServerData, t+c.srvDelay
	case qServerData:
		n := int(min(c.left, 1200))
		b = appendShortHeader(b, cl[:])
		b = g.appendSealed(b, max(n, 20))
		c.left -= int64(n)
		fromClient, next = false, t+c.gap(len(b))
		c.unacked++
		switch {
		case c.left <= 0:
			c.qst, next = qClientClose, t+c.rtt
		case c.unacked == 2:
			c.unacked = 0
			c.qst = qClientAck
		}
	case qClientAck:
		b = appendShortHeader(b, sv[:])
		b = g.appendSealed(b, 24)
		c.qst = qServerData
	default: // qClientClose
		b = appendShortHeader(b, sv[:])
		b = g.appendSealed(b, 30)
		next = -1
	}
	data := writeUDP(g.buf, &c.ep, fromClient, len(b))
	g.pkt = Packet{Timestamp: t, Data: data, Length: len(data)}
	if sl := g.cfg.Snaplen; sl > 0 && !handshake && len(data) > sl {
		g.pkt.Data = data[:sl] // the checksum stays the one of the whole datagram
	}
	return next
}

// appendLongHeader appends a QUIC v1 long header of type first (0xc0
// Initial, 0xe0 Handshake) without its length and packet number fields.
func appendLongHeader(b []byte, first byte, dcid, scid []byte, token bool) []byte {
	b = append(b, first|0x01) // 2-byte packet number
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	if token {
		b = append(b, 0)
	}
	return b
}

// appendShortHeader appends a 1-RTT short header: fixed bit, a 2-byte
// packet number, and the destination connection ID.
func appendShortHeader(b []byte, dcid []byte) []byte {
	b = append(b, 0x41)
	return append(b, dcid...)
}

// appendSealed appends n bytes that stand in for protected packet content
// (a long header's length field is included when b ends in one).
func (g *Generator) appendSealed(b []byte, n int) []byte {
	n = max(n, 20)
	if b[0]&0x80 != 0 { // long header: length, then content
		b = appendVarint(b, uint64(n), 2)
	}
	return appendRandom(b, &g.r, n)
}

// floodQUIC writes one QUIC client Initial from a spoofed source toward the
// source's target, each for a new connection.
func (g *Generator) floodQUIC(s *source, t int64) {
	srv := &g.servers[s.target]
	ep, v := g.spoofedEndpoint(s.target)
	if s.poolN > 0 {
		// Real hosts: their own address and the TTL their path gives.
		c := &g.clients[s.pool+g.r.intn(s.poolN)]
		ep.cAddr, ep.cTTL = c.v4, 64-c.hops
	}
	var dcid, scid [8]byte
	binary.BigEndian.PutUint64(dcid[:], g.r.u64())
	binary.BigEndian.PutUint64(scid[:], g.r.u64())
	g.qbuf = appendQUICHello(g.qbuf[:0], srv.names[int(v>>40)%len(srv.names)], g.r.u64())
	off := ep.udpPayloadOff()
	b := appendClientInitial(g.buf[off:off], dcid[:], scid[:], 0, g.qbuf)
	data := writeUDP(g.buf, ep, true, len(b))
	g.pkt = Packet{Timestamp: t, Data: data, Length: len(data)}
	g.truth.Events[s.truth].Packets++
	g.truth.Events[s.truth].Bytes += uint64(len(g.pkt.Data))
}
