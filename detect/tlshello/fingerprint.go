package tlshello

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"unicode/utf8"
)

// JA4 transport markers for [AppendJA4] and [AppendJA4R].
const (
	TransportTCP  byte = 't'
	TransportQUIC byte = 'q'
	TransportDTLS byte = 'd'
)

// Lengths of the fixed-size fingerprints.
const (
	// JA3HashLen is the length of a JA3 or JA3S MD5 in hex.
	JA3HashLen = 32
	// JA4Len is the length of a hashed JA4 fingerprint.
	JA4Len = 36
)

const lowerHex = "0123456789abcdef"

// AppendJA3 appends the JA3 string of h to dst and returns the extended
// slice: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
// as decimal values joined with '-', GREASE values removed from the first
// four lists (Salesforce JA3). For an SSLv2 hello the version is the SSLv2
// message version and the ciphers are the TLS-compatible cipher kinds; the
// other fields are empty. It does not allocate when dst has room.
func AppendJA3(dst []byte, h *ClientHello) []byte {
	dst = strconv.AppendUint(dst, uint64(h.LegacyVersion), 10)
	dst = append(dst, ',')
	dst = appendDecimalList(dst, h.CipherSuites)
	dst = append(dst, ',')
	dst = appendDecimalList(dst, h.Extensions)
	dst = append(dst, ',')
	dst = appendDecimalList(dst, h.SupportedGroups)
	dst = append(dst, ',')
	for i, pf := range h.PointFormats {
		if i > 0 {
			dst = append(dst, '-')
		}
		dst = strconv.AppendUint(dst, uint64(pf), 10)
	}
	return dst
}

// AppendJA3Hash appends the 32 hex digits of the MD5 of h's JA3 string to
// dst. It uses the spare capacity of dst as scratch space for the string, so
// it does not allocate when cap(dst)-len(dst) holds the JA3 string.
func AppendJA3Hash(dst []byte, h *ClientHello) []byte {
	start := len(dst)
	dst = AppendJA3(dst, h)
	sum := md5.Sum(dst[start:])
	return hex.AppendEncode(dst[:start], sum[:])
}

// AppendJA3S appends the JA3S string of s to dst: SSLVersion,Cipher,Extensions
// in decimal, extensions joined with '-' and GREASE removed.
func AppendJA3S(dst []byte, s *ServerHello) []byte {
	dst = strconv.AppendUint(dst, uint64(s.LegacyVersion), 10)
	dst = append(dst, ',')
	dst = strconv.AppendUint(dst, uint64(s.CipherSuite), 10)
	dst = append(dst, ',')
	return appendDecimalList(dst, s.Extensions)
}

// AppendJA3SHash appends the MD5 hex of s's JA3S string to dst, using the
// spare capacity of dst as scratch as [AppendJA3Hash] does.
func AppendJA3SHash(dst []byte, s *ServerHello) []byte {
	start := len(dst)
	dst = AppendJA3S(dst, s)
	sum := md5.Sum(dst[start:])
	return hex.AppendEncode(dst[:start], sum[:])
}

// appendDecimalList appends the non-GREASE values of vs in decimal, joined
// with '-'.
func appendDecimalList(dst []byte, vs []uint16) []byte {
	first := true
	for _, v := range vs {
		if IsGREASE(v) {
			continue
		}
		if !first {
			dst = append(dst, '-')
		}
		first = false
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	return dst
}

// AppendJA4 appends the JA4 fingerprint of h (FoxIO JA4, BSD 3-Clause) to
// dst, for the given transport marker ([TransportTCP], [TransportQUIC] or
// [TransportDTLS]). The result has the form
// t13d1516h2_8daaf6152771_e5627efa2ab1; see the package documentation for
// the exact rules and where they follow the FoxIO reference tool rather
// than the written specification. It uses the spare capacity of dst as
// scratch and does not allocate when that holds the JA4_r string.
func AppendJA4(dst []byte, h *ClientHello, transport byte) []byte {
	var scratch [helloCiphers]uint16
	dst = appendJA4Prefix(dst, h, transport)
	dst = append(dst, '_')

	start := len(dst)
	dst = appendSortedHex(dst, scratch[:], h.CipherSuites, false)
	dst = appendHash12(dst, start)
	dst = append(dst, '_')

	start = len(dst)
	dst = appendJA4C(dst, scratch[:], h)
	return appendHash12(dst, start)
}

// AppendJA4R appends the raw JA4 (JA4_r) of h to dst: the same prefix as
// [AppendJA4], then the sorted cipher list, the sorted extension list
// (without server_name and ALPN) and the signature algorithms in wire order,
// all as 4-digit lowercase hex joined with ','. The signature-algorithm part
// and its '_' are left out when there are none. It does not allocate when
// dst has room.
func AppendJA4R(dst []byte, h *ClientHello, transport byte) []byte {
	var scratch [helloCiphers]uint16
	dst = appendJA4Prefix(dst, h, transport)
	dst = append(dst, '_')
	dst = appendSortedHex(dst, scratch[:], h.CipherSuites, false)
	dst = append(dst, '_')
	return appendJA4C(dst, scratch[:], h)
}

// appendHash12 replaces dst[start:] with the first 12 hex digits of its
// SHA-256, or with twelve zeros when it is empty.
func appendHash12(dst []byte, start int) []byte {
	if len(dst) == start {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(dst[start:])
	return hex.AppendEncode(dst[:start], sum[:6])
}

// appendJA4C appends the raw JA4_c string: sorted extensions without SNI and
// ALPN, then '_' and the signature algorithms when there are any.
func appendJA4C(dst []byte, scratch []uint16, h *ClientHello) []byte {
	dst = appendSortedHex(dst, scratch, h.Extensions, true)
	first := true
	for _, v := range h.SignatureAlgorithms {
		if IsGREASE(v) {
			continue
		}
		if first {
			dst = append(dst, '_')
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = appendHex4(dst, v)
	}
	return dst
}

// appendSortedHex appends the non-GREASE values of vs, sorted, as 4-digit hex
// joined with ','. When skipSNIALPN is set, server_name and ALPN are left
// out. scratch holds the sorted copy; a longer list is sorted in a heap
// copy.
func appendSortedHex(dst []byte, scratch, vs []uint16, skipSNIALPN bool) []byte {
	s := scratch[:0]
	if len(vs) > len(scratch) {
		s = make([]uint16, 0, len(vs))
	}
	for _, v := range vs {
		if IsGREASE(v) || skipSNIALPN && (v == ExtServerName || v == ExtALPN) {
			continue
		}
		s = append(s, v)
	}
	slices.Sort(s)
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHex4(dst, v)
	}
	return dst
}

func appendHex4(dst []byte, v uint16) []byte {
	return append(dst, lowerHex[v>>12], lowerHex[v>>8&0xf], lowerHex[v>>4&0xf], lowerHex[v&0xf])
}

// appendJA4Prefix appends JA4_a: transport, version, SNI marker, cipher and
// extension counts and the ALPN characters.
func appendJA4Prefix(dst []byte, h *ClientHello, transport byte) []byte {
	dst = append(dst, transport)
	dst = append(dst, ja4Version(h)...)
	if h.HasExtension(ExtServerName) {
		dst = append(dst, 'd')
	} else {
		dst = append(dst, 'i')
	}
	dst = appendCount2(dst, countNonGREASE(h.CipherSuites))
	dst = appendCount2(dst, countNonGREASE(h.Extensions))
	first, last := ja4ALPN(h)
	return append(dst, first, last)
}

func countNonGREASE(vs []uint16) int {
	n := 0
	for _, v := range vs {
		if !IsGREASE(v) {
			n++
		}
	}
	return n
}

func appendCount2(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// ja4Version returns the two JA4 version characters: from the highest
// non-GREASE supported_versions value when that extension is present, else
// from legacy_version.
func ja4Version(h *ClientHello) string {
	switch h.MaxVersion() {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// ja4ALPN returns the first and last characters of the first ALPN value, as
// FoxIO's reference tool computes them: the value is read as UTF-8 (each
// invalid byte is one replacement character), a character that is not
// printable ASCII becomes '9', a one-character value gives '0' as its last
// character, and a missing or empty value gives "00".
func ja4ALPN(h *ClientHello) (byte, byte) {
	if len(h.ALPN) == 0 || len(h.ALPN[0]) == 0 {
		return '0', '0'
	}
	p := h.ALPN[0]
	r, n := utf8.DecodeRune(p)
	first := alpnChar(r)
	if n == len(p) {
		return first, '0'
	}
	r, _ = utf8.DecodeLastRune(p)
	return first, alpnChar(r)
}

func alpnChar(r rune) byte {
	if r > 0x20 && r < 0x7f {
		return byte(r)
	}
	return '9'
}
