package quic

// MaxDatagram is the largest UDP payload a [Parser] decrypts; it is the
// size of the Parser's decryption buffer.
const MaxDatagram = 65527

// keyCacheSize is how many connections' Initial keys a [Parser] keeps. A
// client's hello spans at most a few Initial packets sent close together, so
// a small cache serves every packet after a connection's first.
const keyCacheSize = 16

// PacketInfo describes one QUIC packet read by [Parser.Packet].
//
// DCID, SCID, Token and Rest alias the datagram given to Packet; Payload
// aliases the Parser's decryption buffer and is valid until the next call
// on the same Parser.
type PacketInfo struct {
	Header
	// ClientInitial is true when the packet is an Initial that
	// authenticated with the client Initial keys, so Payload holds its
	// frames.
	ClientInitial bool
	// PacketNumber is the decoded packet number of a client Initial. The
	// largest acknowledged number is taken as unknown (RFC 9000 §A.3 with
	// no prior packet), which is exact for the small numbers a client uses
	// before its hello is answered.
	PacketNumber uint64
	// Payload holds the decrypted frames of a client Initial.
	Payload []byte
	// Rest is what follows this packet in the datagram: further coalesced
	// packets, or padding. It is empty when the packet filled the datagram.
	Rest []byte
}

// Parser reads QUIC packets and decrypts client Initial packets. Its
// decryption buffer and key cache are fixed parts of the struct, so a Parser
// that is reused allocates nothing per packet once the keys of a connection
// are derived; deriving them allocates the AES and GCM states (see the
// package documentation).
//
// A Parser is not safe for concurrent use; each worker owns one.
type Parser struct {
	keys [keyCacheSize]initialKeys
	next int // round-robin replacement index into keys
	buf  [MaxDatagram]byte
}

// Packet parses the first QUIC packet in datagram (a UDP payload, or the
// Rest of a previous PacketInfo) and, when it is an Initial of a known
// version, removes header protection and decrypts it with the client
// Initial keys derived from its own Destination Connection ID. That is
// right for a client's Initials until the server's first answer; after it,
// use [Parser.PacketWithDCID]. Packet does not modify datagram.
//
// The error is nil for every packet that parsed, including packets that
// are not client Initials. It is [ErrDecrypt] for an Initial that does not
// authenticate, which is how a server's Initial shows up, and a header
// error from [ParseHeader] otherwise; Rest is still set when the packet's
// length is known, so the caller can go on to the next coalesced packet.
func (p *Parser) Packet(datagram []byte) (PacketInfo, error) {
	return p.packet(datagram, nil)
}

// PacketWithDCID is [Parser.Packet] with the Initial keys derived from
// keyDCID instead of the packet's Destination Connection ID. A caller that
// tracks a handshake passes the DCID of the client's first Initial, which
// keeps naming the keys after the client switches to the server's chosen
// connection ID (RFC 9001 §5.2). keyDCID is read during the call only.
func (p *Parser) PacketWithDCID(datagram, keyDCID []byte) (PacketInfo, error) {
	if keyDCID == nil {
		keyDCID = []byte{}
	}
	return p.packet(datagram, keyDCID)
}

func (p *Parser) packet(datagram, keyDCID []byte) (PacketInfo, error) {
	var info PacketInfo
	h, err := ParseHeader(datagram)
	info.Header = h
	if h.Len > 0 && h.Len < len(datagram) {
		info.Rest = datagram[h.Len:]
	}
	if err != nil || h.Type != PacketInitial {
		return info, err
	}
	if keyDCID == nil {
		keyDCID = h.DCID
	}
	if len(keyDCID) > MaxConnIDLen || h.Len > len(p.buf) {
		return info, ErrMalformed
	}
	k := p.lookup(h.Version, keyDCID)
	if k == nil {
		return info, ErrVersion
	}
	pkt := p.buf[:h.Len]
	copy(pkt, datagram[:h.Len])
	pn, payload, ok := k.open(pkt, h.PNOffset)
	if !ok {
		return info, ErrDecrypt
	}
	info.ClientInitial = true
	info.PacketNumber = pn
	info.Payload = payload
	return info, nil
}

// lookup returns the cached keys for (v, dcid), deriving them on a miss.
func (p *Parser) lookup(v uint32, dcid []byte) *initialKeys {
	for i := range p.keys {
		if p.keys[i].matches(v, dcid) {
			return &p.keys[i]
		}
	}
	k := &p.keys[p.next]
	if !k.set(v, dcid) {
		return nil
	}
	p.next = (p.next + 1) % len(p.keys)
	return k
}

// open removes header protection from pkt (one whole long-header packet,
// modified in place) and decrypts its payload in place. It returns the
// packet number and the plaintext frames, which alias pkt.
func (k *initialKeys) open(pkt []byte, pnOffset int) (uint64, []byte, bool) {
	// RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number
	// field; ParseHeader checked there are 20 bytes after pnOffset.
	// mask and nonce live in k: passed to interface methods, locals would
	// escape to the heap.
	mask := &k.mask
	k.hp.Encrypt(mask[:], pkt[pnOffset+4:pnOffset+20])
	pkt[0] ^= mask[0] & 0x0f
	pnLen := int(pkt[0]&3) + 1
	var pn uint64
	for i := range pnLen {
		pkt[pnOffset+i] ^= mask[1+i]
		pn = pn<<8 | uint64(pkt[pnOffset+i])
	}
	hdrLen := pnOffset + pnLen
	if len(pkt)-hdrLen < k.aead.Overhead() {
		return 0, nil, false
	}
	nonce := &k.nonce
	*nonce = k.iv
	for i := range 8 {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	out, err := k.aead.Open(pkt[hdrLen:hdrLen], nonce[:], pkt[hdrLen:], pkt[:hdrLen])
	if err != nil {
		return 0, nil, false
	}
	return pn, out, true
}
