package tlshello

import "errors"

// Sentinel errors returned by the record-layer and message parsers. They are
// package variables so that the hot path never builds an error value; compare
// with errors.Is.
var (
	// ErrNeedMore means the input ends before the item being read is complete.
	// Call again with a longer prefix of the same stream.
	ErrNeedMore = errors.New("tlshello: need more data")
	// ErrNotTLS means the stream does not start with a TLS record header.
	ErrNotTLS = errors.New("tlshello: not a tls record")
	// ErrTooLarge means a handshake message is longer than the configured cap
	// or than the buffer supplied to hold it.
	ErrTooLarge = errors.New("tlshello: handshake message exceeds limit")
	// ErrMalformed means the bytes violate the TLS or SSLv2 wire format.
	ErrMalformed = errors.New("tlshello: malformed message")
	// ErrUnexpected means a well-formed message of another type was found
	// where a specific one was expected (for example a ServerHello passed to
	// [ClientHello.Parse]).
	ErrUnexpected = errors.New("tlshello: unexpected message type")
)

// ContentType is the TLS record-layer content type (RFC 8446 section 5.1).
type ContentType uint8

// Record content types.
const (
	ContentChangeCipherSpec ContentType = 20
	ContentAlert            ContentType = 21
	ContentHandshake        ContentType = 22
	ContentApplicationData  ContentType = 23
	ContentHeartbeat        ContentType = 24
)

// Handshake message types used by this package (RFC 8446 section 4).
const (
	TypeClientHello uint8 = 1
	TypeServerHello uint8 = 2
	TypeCertificate uint8 = 11
)

const (
	// RecordHeaderLen is the length of a TLS record header.
	RecordHeaderLen = 5
	// HandshakeHeaderLen is the length of a handshake message header
	// (1-byte type, 3-byte length).
	HandshakeHeaderLen = 4
	// DefaultMaxMessage is the default cap on the length of one handshake
	// message, header included, that [Reader] reassembles: 16 KiB.
	DefaultMaxMessage = 16 << 10
	// maxRecordLen is the largest record payload accepted: 2^14 plus the
	// 2048 bytes of expansion RFC 5246 allows for protected records.
	maxRecordLen = 1<<14 + 2048
)

// Message is one item read by [Reader.Next]: a whole handshake message or
// the payload of one non-handshake record.
type Message struct {
	// Content is the record content type the item came from.
	Content ContentType
	// Data is, for ContentHandshake, the complete handshake message including
	// its 4-byte header, copied into the caller's buffer (it aliases that
	// buffer). For other content types, and for an Encrypted handshake
	// record, Data is the record payload and aliases the stream. Either way it
	// is valid until the caller modifies the buffer or the stream.
	Data []byte
	// Encrypted is true for a handshake record that follows a
	// ChangeCipherSpec and is not a plain ClientHello or ServerHello (such as
	// an encrypted TLS 1.2 Finished). Data is then the opaque record payload.
	Encrypted bool
}

// HandshakeType returns the handshake message type of m, or 0 when m is not a
// plaintext handshake message.
func (m Message) HandshakeType() uint8 {
	if m.Content != ContentHandshake || m.Encrypted || len(m.Data) == 0 {
		return 0
	}
	return m.Data[0]
}

// Reader splits one direction of a TLS byte stream into handshake messages
// and other records. It reassembles handshake messages that span several
// records and reads several messages from one record (a ServerHello,
// Certificate and ServerHelloDone often share one).
//
// A Reader holds only offsets. Every call to [Reader.Next] takes the whole
// stream prefix seen so far, starting at the first byte of the direction (or
// of the first record, when the caller has stripped a proxy preamble); the
// caller may append to it between calls but must not drop bytes from its
// front. On an error the Reader's position does not change, so a call that
// failed with [ErrNeedMore] may simply be repeated with a longer prefix.
//
// The zero Reader is ready to use and caps messages at [DefaultMaxMessage].
// A Reader is not safe for concurrent use.
type Reader struct {
	// MaxMessage caps the length of one handshake message, header included.
	// Zero means DefaultMaxMessage.
	MaxMessage int

	off     int  // stream offset of the current record header
	fragOff int  // bytes of the current record's payload already returned
	ccs     bool // a ChangeCipherSpec record has been read
}

// Reset puts r back at the start of a new stream, keeping MaxMessage.
func (r *Reader) Reset() {
	*r = Reader{MaxMessage: r.MaxMessage}
}

// Skip moves r to stream offset off, for a stream whose TLS records start
// after other bytes (a proxy handshake, see [ParseTunnelRequest]). Call it
// before the first Next.
func (r *Reader) Skip(off int) { r.off = off }

// Offset returns the number of stream bytes that have been fully consumed,
// that is, the offset of the record the next call will read from. A record
// whose payload has been only partly returned is not counted.
func (r *Reader) Offset() int { return r.off }

// recordHeader validates the record header at stream[off:]. It returns the
// content type and payload length.
func recordHeader(h []byte) (ContentType, int, error) {
	ct := ContentType(h[0])
	if ct < ContentChangeCipherSpec || ct > ContentHeartbeat || h[1] != 3 || h[2] > 4 {
		return 0, 0, ErrNotTLS
	}
	n := int(h[3])<<8 | int(h[4])
	if n > maxRecordLen {
		return 0, 0, ErrMalformed
	}
	return ct, n, nil
}

// plausibleRecordPrefix reports whether p, shorter than a record header,
// could be the start of a valid one.
func plausibleRecordPrefix(p []byte) bool {
	if len(p) >= 1 && (ContentType(p[0]) < ContentChangeCipherSpec || ContentType(p[0]) > ContentHeartbeat) {
		return false
	}
	if len(p) >= 2 && p[1] != 3 {
		return false
	}
	return len(p) < 3 || p[2] <= 4
}

// Next reads the next item from stream into a [Message]. Handshake messages
// are copied into buf, which should be at least MaxMessage bytes long; a
// message longer than MaxMessage or len(buf) fails with [ErrTooLarge].
//
// When the stream prefix ends before the next item is complete, Next returns
// [ErrNeedMore] and need, a lower bound on how many more stream bytes must be
// appended before the call can succeed. need is zero on every other return.
//
// Next returns [ErrNotTLS] when the bytes at the current position are not a
// TLS record header (at the start of a stream this usually means the
// connection is not TLS; see [Sniff]) and [ErrMalformed] for broken framing,
// such as a handshake message interrupted by a record of another type or an
// empty handshake record. It never allocates.
//
// stream and buf stay owned by the caller; m.Data aliases one of them as
// described on [Message.Data].
func (r *Reader) Next(stream, buf []byte) (m Message, need int, err error) {
	maxMsg := r.MaxMessage
	if maxMsg <= 0 {
		maxMsg = DefaultMaxMessage
	}
	if maxMsg > len(buf) {
		maxMsg = len(buf)
	}
	if r.fragOff == 0 {
		if len(stream)-r.off < RecordHeaderLen {
			if !plausibleRecordPrefix(stream[r.off:]) {
				return Message{}, 0, ErrNotTLS
			}
			return Message{}, RecordHeaderLen - (len(stream) - r.off), ErrNeedMore
		}
		ct, n, err := recordHeader(stream[r.off:])
		if err != nil {
			return Message{}, 0, err
		}
		end := r.off + RecordHeaderLen + n
		if ct != ContentHandshake || r.ccs {
			if end > len(stream) {
				return Message{}, end - len(stream), ErrNeedMore
			}
			payload := stream[r.off+RecordHeaderLen : end]
			if ct == ContentHandshake {
				if n == 0 {
					return Message{}, 0, ErrMalformed
				}
				if isWholeHello(payload) {
					if len(payload) > maxMsg {
						return Message{}, 0, ErrTooLarge
					}
					r.off = end
					return Message{Content: ct, Data: buf[:copy(buf, payload)]}, 0, nil
				}
				r.off = end
				return Message{Content: ct, Data: payload, Encrypted: true}, 0, nil
			}
			if ct == ContentChangeCipherSpec {
				r.ccs = true
			}
			r.off = end
			return Message{Content: ct, Data: payload}, 0, nil
		}
		if n == 0 {
			return Message{}, 0, ErrMalformed
		}
	}
	return r.nextHandshake(stream, buf, maxMsg)
}

// isWholeHello reports whether p holds exactly one ClientHello or ServerHello
// message. It decides whether a handshake record after a ChangeCipherSpec is
// plaintext (a TLS 1.3 second ClientHello, or the ServerHello after a
// HelloRetryRequest) or encrypted (a TLS 1.2 Finished).
func isWholeHello(p []byte) bool {
	if len(p) < HandshakeHeaderLen || (p[0] != TypeClientHello && p[0] != TypeServerHello) {
		return false
	}
	return int(p[1])<<16|int(p[2])<<8|int(p[3]) == len(p)-HandshakeHeaderLen
}

// nextHandshake copies the handshake message that starts at the current
// position into buf, walking as many handshake records as it spans.
func (r *Reader) nextHandshake(stream, buf []byte, maxMsg int) (Message, int, error) {
	off, fragOff := r.off, r.fragOff
	have := 0  // message bytes copied into buf
	want := -1 // total message length once the header is known
	var hdr [HandshakeHeaderLen]byte
	for {
		// The record at off has been validated as a non-empty handshake
		// record when fragOff > 0 or on the first iteration.
		if len(stream)-off < RecordHeaderLen {
			return Message{}, RecordHeaderLen - (len(stream) - off), ErrNeedMore
		}
		ct, n, err := recordHeader(stream[off:])
		if err != nil {
			if have > 0 {
				return Message{}, 0, ErrMalformed
			}
			return Message{}, 0, err
		}
		if ct != ContentHandshake || n == 0 {
			return Message{}, 0, ErrMalformed
		}
		payStart := off + RecordHeaderLen
		payEnd := payStart + n
		avail := min(payEnd, len(stream))
		p := payStart + fragOff
		for p < avail {
			if want < 0 {
				hdr[have] = stream[p]
				if have < len(buf) {
					buf[have] = stream[p]
				}
				have++
				p++
				if have == HandshakeHeaderLen {
					want = HandshakeHeaderLen + (int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3]))
					if want > maxMsg {
						return Message{}, 0, ErrTooLarge
					}
				}
				continue
			}
			c := copy(buf[have:want], stream[p:avail])
			have += c
			p += c
			if have == want {
				break
			}
		}
		if want >= 0 && have == want {
			if p == payEnd {
				r.off, r.fragOff = payEnd, 0
			} else {
				r.off, r.fragOff = off, p-payStart
			}
			return Message{Content: ContentHandshake, Data: buf[:want]}, 0, nil
		}
		if avail < payEnd {
			need := payEnd - avail
			if want >= 0 {
				need = max(need, want-have)
			}
			return Message{}, need, ErrNeedMore
		}
		// This record is used up and the message continues in the next one.
		off, fragOff = payEnd, 0
	}
}

// NextHandshake extracts the first handshake message from a stream that
// starts with a TLS record header, reassembling it across records. It is the
// stateless form of [Reader.Next] for the common case of reading the
// ClientHello: msg is copied into buf and aliases it; stream and buf remain
// owned by the caller. Messages longer than [DefaultMaxMessage] or len(buf)
// fail with [ErrTooLarge].
//
// On success n is the number of stream bytes consumed: the records that held
// msg, including any later messages that shared its last record, so n always
// ends on a record boundary; msg is returned only once that whole record has
// arrived. On [ErrNeedMore] n is a lower bound on the number of bytes still
// missing. A first record that is not a handshake record gives
// [ErrUnexpected]. Use a [Reader] to read the messages that follow.
func NextHandshake(stream, buf []byte) (msg []byte, n int, err error) {
	var r Reader
	m, need, err := r.Next(stream, buf)
	if err != nil {
		return nil, need, err
	}
	if m.Content != ContentHandshake || m.Encrypted {
		return nil, 0, ErrUnexpected
	}
	end := r.off
	if r.fragOff > 0 {
		end += RecordHeaderLen + (int(stream[r.off+3])<<8 | int(stream[r.off+4]))
		if end > len(stream) {
			// The message is complete but its record is not; wait for the
			// record so that n always ends on a record boundary.
			return nil, end - len(stream), ErrNeedMore
		}
	}
	return m.Data, end, nil
}

// SSLv2 record framing (draft-hickman-netscape-ssl-00; RFC 6101 appendix E.2).
const (
	sslv2ClientHello = 1
	// MaxSSLv2Record is the largest SSLv2 record body with a 2-byte header.
	MaxSSLv2Record = 0x7fff
)

// NextSSLv2Hello extracts an SSLv2 CLIENT-HELLO record (including the
// SSLv2-compatible hello that TLS 1.0 clients once sent) from the start of
// stream. body is the record body without the 2- or 3-byte record header,
// starting with the message type byte; it aliases stream. n is the number of
// bytes consumed, or on [ErrNeedMore] a lower bound on the bytes missing.
// Parse body with [ClientHello.ParseSSLv2].
func NextSSLv2Hello(stream []byte) (body []byte, n int, err error) {
	if len(stream) < 3 {
		return nil, 3 - len(stream), ErrNeedMore
	}
	var hlen, blen int
	if stream[0]&0x80 != 0 {
		hlen = 2
		blen = int(stream[0]&0x7f)<<8 | int(stream[1])
	} else {
		hlen = 3
		blen = int(stream[0]&0x3f)<<8 | int(stream[1])
	}
	if len(stream) <= hlen {
		return nil, hlen + 1 - len(stream), ErrNeedMore
	}
	if stream[hlen] != sslv2ClientHello {
		return nil, 0, ErrNotTLS
	}
	if blen < 9 {
		return nil, 0, ErrMalformed
	}
	if len(stream) < hlen+blen {
		return nil, hlen + blen - len(stream), ErrNeedMore
	}
	return stream[hlen : hlen+blen], hlen + blen, nil
}
