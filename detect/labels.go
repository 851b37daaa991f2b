package detect

import (
	"sync/atomic"

	"github.com/monitor443/monitor443/detect/tlshello"
)

type atomicU64 = atomic.Uint64

// Label sets of the TLS counters. They are closed sets, so metrics can
// create every series up front.

// VersionLabels are the TLS version label values, by index.
var VersionLabels = [...]string{"tls1.3", "tls1.2", "tls1.1", "tls1.0", "ssl3", "ssl2", "other"}

const numVersionLabels = len(VersionLabels)

func versionLabel(v uint16) int {
	switch v {
	case 0x0304:
		return 0
	case 0x0303:
		return 1
	case 0x0302:
		return 2
	case 0x0301:
		return 3
	case 0x0300:
		return 4
	case 0x0002:
		return 5
	}
	if v>>8 == 0x7f { // TLS 1.3 drafts
		return 0
	}
	return 6
}

// ClassLabels are the cipher class label values, by index.
var ClassLabels = [...]string{"aead", "cbc", "rc4", "3des", "des", "null", "export", "anon", "other"}

const numClassLabels = len(ClassLabels)

func classLabel(c tlshello.CipherClass) int {
	s := c.String()
	for i, l := range ClassLabels {
		if l == s {
			return i
		}
	}
	return numClassLabels - 1
}

// ALPNLabels are the offered-ALPN label values (first protocol offered).
var ALPNLabels = [...]string{"h2", "http/1.1", "h3", "other", "none"}

const numALPN = len(ALPNLabels)

func alpnLabel(h *tlshello.ClientHello) int {
	if len(h.ALPN) == 0 {
		return 4
	}
	switch string(h.ALPN[0]) { // no allocation: compiler-optimised comparison
	case "h2":
		return 0
	case "http/1.1":
		return 1
	case "h3":
		return 2
	}
	return 3
}

// KindLabels are the non-TLS protocol label values.
var KindLabels = [...]string{"http", "http_connect", "http2", "ssh", "openvpn", "socks", "unknown"}

const numKindLabels = len(KindLabels)

func kindLabel(k tlshello.Kind) int {
	s := k.String()
	for i, l := range KindLabels {
		if l == s {
			return i
		}
	}
	return numKindLabels - 1
}
