package alerting

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// HTTP headers set by the webhook sink.
const (
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256>", the
	// HMAC computed with the shared secret over "<t>.<body>".
	HeaderSignature = "X-Monitor443-Signature"
	// HeaderIdempotencyKey carries [Notification.ID].
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderPayloadVersion carries the payload schema version.
	HeaderPayloadVersion = "X-Monitor443-Payload-Version"
)

// Errors returned by [Verify].
var (
	ErrSignatureMissing = errors.New("signature header missing or malformed")
	ErrSignatureExpired = errors.New("signature timestamp outside tolerance")
	ErrSignatureInvalid = errors.New("signature does not match")
)

// Sign returns the value of [HeaderSignature] for body signed with secret at
// time ts.
func Sign(secret, body []byte, ts time.Time) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret []byte, t string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a [HeaderSignature] value on the receiving side: the HMAC
// must match body and secret, and the timestamp must be within tolerance of
// now, which limits replays. Any of several v1 values may match, so senders
// can rotate secrets. Receivers call it with the raw request body, before
// decoding JSON.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var (
		ts   int64 = -1
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrSignatureMissing
			}
			ts = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return ErrSignatureMissing
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	want := mac(secret, strconv.FormatInt(ts, 10), body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignatureInvalid
}
