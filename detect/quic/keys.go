package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
)

// Initial salts (RFC 9001 §5.2, RFC 9369 §3.3.1, draft-ietf-quic-tls-29
// §5.2).
var (
	saltV1      = [20]byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2      = [20]byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	saltDraft29 = [20]byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
)

// InitialSecrets are the client Initial packet protection keys of one
// connection (RFC 9001 §5.2): the AEAD key and IV and the header
// protection key, all for AES-128-GCM.
type InitialSecrets struct {
	// Secret is client_initial_secret.
	Secret [32]byte
	// Key is the AEAD_AES_128_GCM key.
	Key [16]byte
	// IV is the AEAD nonce base.
	IV [12]byte
	// HP is the header protection key.
	HP [16]byte
}

// ClientInitialSecrets derives the client Initial keys for version v from
// the Destination Connection ID of the client's first Initial packet (or of
// the Initial after a Retry). It returns false for a version it does not
// know or a connection ID longer than a long header can carry. It does not
// allocate.
func ClientInitialSecrets(v uint32, dcid []byte) (InitialSecrets, bool) {
	var s InitialSecrets
	if len(dcid) > 255 {
		return s, false
	}
	var salt *[20]byte
	keyLabel, ivLabel, hpLabel := "quic key", "quic iv", "quic hp"
	switch {
	case v == Version1:
		salt = &saltV1
	case v == Version2:
		salt = &saltV2
		keyLabel, ivLabel, hpLabel = "quicv2 key", "quicv2 iv", "quicv2 hp"
	case v >= VersionDraft29 && v <= VersionDraft32:
		salt = &saltDraft29
	default:
		return s, false
	}
	initial := hmacSHA256(salt[:], dcid, nil)
	s.Secret = expandLabel(initial[:], "client in", len(s.Secret))
	k := expandLabel(s.Secret[:], keyLabel, len(s.Key))
	iv := expandLabel(s.Secret[:], ivLabel, len(s.IV))
	hp := expandLabel(s.Secret[:], hpLabel, len(s.HP))
	copy(s.Key[:], k[:16])
	copy(s.IV[:], iv[:12])
	copy(s.HP[:], hp[:16])
	return s, true
}

// expandLabel is HKDF-Expand-Label (RFC 8446 §7.1) with an empty context
// for an output of length bytes, at most 32 (one HMAC block). Callers use
// the first length bytes of the result.
func expandLabel(secret []byte, label string, length int) [32]byte {
	// HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label,
	// opaque context<0..255> = "", then HKDF-Expand's counter byte 0x01.
	var info [64]byte
	info[0], info[1] = byte(length>>8), byte(length)
	info[2] = byte(len("tls13 ") + len(label))
	n := 3
	n += copy(info[n:], "tls13 ")
	n += copy(info[n:], label)
	info[n] = 0 // empty context
	info[n+1] = 1
	n += 2
	return hmacSHA256(secret, info[:n], nil)
}

// hmacSHA256 is HMAC-SHA256 (RFC 2104) of msg1||msg2 under key, for keys of
// at most 64 bytes and messages of at most 256 bytes together (a long
// header's connection ID is at most 255), computed with stack buffers so
// that it does not allocate. Longer inputs are truncated, which callers
// never pass.
func hmacSHA256(key, msg1, msg2 []byte) [32]byte {
	const block = 64
	var buf [block + 256]byte
	var k [block]byte
	copy(k[:], key)
	for i := range block {
		buf[i] = k[i] ^ 0x36
	}
	n := block
	n += copy(buf[n:], msg1)
	n += copy(buf[n:], msg2)
	inner := sha256.Sum256(buf[:n])
	for i := range block {
		buf[i] = k[i] ^ 0x5c
	}
	copy(buf[block:], inner[:])
	return sha256.Sum256(buf[:block+len(inner)])
}

// initialKeys holds the ciphers built from one connection's secrets.
type initialKeys struct {
	version uint32
	dcid    [MaxConnIDLen]byte
	dcidLen uint8
	valid   bool
	iv      [12]byte
	aead    cipher.AEAD
	hp      cipher.Block
	mask    [16]byte // scratch for header protection
	nonce   [12]byte // scratch for the AEAD nonce
}

// set derives the keys for (v, dcid) into k. It allocates the AES and GCM
// states, which the standard library cannot re-key in place.
func (k *initialKeys) set(v uint32, dcid []byte) bool {
	k.valid = false
	s, ok := ClientInitialSecrets(v, dcid)
	if !ok {
		return false
	}
	block, err := aes.NewCipher(s.Key[:])
	if err != nil {
		return false
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return false
	}
	hp, err := aes.NewCipher(s.HP[:])
	if err != nil {
		return false
	}
	k.version = v
	k.dcidLen = uint8(copy(k.dcid[:], dcid))
	k.iv = s.IV
	k.aead = aead
	k.hp = hp
	k.valid = true
	return true
}

func (k *initialKeys) matches(v uint32, dcid []byte) bool {
	return k.valid && k.version == v && string(k.dcid[:k.dcidLen]) == string(dcid)
}
