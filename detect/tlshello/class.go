package tlshello

// Version is a protocol version family, for labels and policy checks.
type Version uint8

// Protocol versions. TLS 1.3 drafts (0x7fxx) count as VersionTLS13.
const (
	VersionUnknown Version = iota
	VersionSSL2
	VersionSSL3
	VersionTLS10
	VersionTLS11
	VersionTLS12
	VersionTLS13
	numVersions
)

// AllVersions lists every Version, for creating metric label values up front.
var AllVersions = []Version{
	VersionUnknown, VersionSSL2, VersionSSL3, VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13,
}

var versionNames = [numVersions]string{
	VersionUnknown: "unknown",
	VersionSSL2:    "ssl2",
	VersionSSL3:    "ssl3",
	VersionTLS10:   "tls1.0",
	VersionTLS11:   "tls1.1",
	VersionTLS12:   "tls1.2",
	VersionTLS13:   "tls1.3",
}

// VersionOf maps a wire version (such as [ServerHello.Version] or
// [ClientHello.MaxVersion]) to its Version.
func VersionOf(wire uint16) Version {
	switch {
	case wire == 0x0002:
		return VersionSSL2
	case wire == 0x0300:
		return VersionSSL3
	case wire == 0x0301:
		return VersionTLS10
	case wire == 0x0302:
		return VersionTLS11
	case wire == 0x0303:
		return VersionTLS12
	case wire == 0x0304, wire>>8 == 0x7f:
		return VersionTLS13
	}
	return VersionUnknown
}

// String returns the label value of v: "ssl2", "ssl3", "tls1.0", "tls1.1",
// "tls1.2", "tls1.3" or "unknown".
func (v Version) String() string {
	if v < numVersions {
		return versionNames[v]
	}
	return "unknown"
}

// Deprecated reports whether v is prohibited by RFC 6176 (SSL 2.0), RFC 7568
// (SSL 3.0) or RFC 8996 (TLS 1.0 and 1.1).
func (v Version) Deprecated() bool {
	return v >= VersionSSL2 && v <= VersionTLS11
}

// CipherClass is the protection class of a cipher suite, its weakest
// property first: a NULL-encryption export suite is ClassNull.
type CipherClass uint8

// Cipher suite classes, from weakest to strongest.
const (
	// ClassUnknown is a suite this package does not know.
	ClassUnknown CipherClass = iota
	// ClassNull has no encryption.
	ClassNull
	// ClassExport is a 40- or 56-bit export suite.
	ClassExport
	// ClassAnon has no server authentication (DH_anon, ECDH_anon).
	ClassAnon
	// ClassRC4 uses RC4 (RFC 7465 prohibits it).
	ClassRC4
	// ClassDES uses single DES.
	ClassDES
	// Class3DES uses triple DES (Sweet32).
	Class3DES
	// ClassCBC is a block cipher in CBC mode (AES, Camellia, ARIA, SEED, IDEA).
	ClassCBC
	// ClassAEAD is an AEAD suite (GCM, CCM, ChaCha20-Poly1305, TLS 1.3).
	ClassAEAD
	// ClassSignaling is a signaling value, not a real suite
	// (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV) or GREASE.
	ClassSignaling
	numClasses
)

// AllCipherClasses lists every CipherClass, for metric label values.
var AllCipherClasses = []CipherClass{
	ClassUnknown, ClassNull, ClassExport, ClassAnon, ClassRC4, ClassDES, Class3DES,
	ClassCBC, ClassAEAD, ClassSignaling,
}

var classNames = [numClasses]string{
	ClassUnknown:   "unknown",
	ClassNull:      "null",
	ClassExport:    "export",
	ClassAnon:      "anon",
	ClassRC4:       "rc4",
	ClassDES:       "des",
	Class3DES:      "3des",
	ClassCBC:       "cbc",
	ClassAEAD:      "aead",
	ClassSignaling: "signaling",
}

// String returns the label value of c.
func (c CipherClass) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "unknown"
}

// Weak reports whether c is broken or unauthenticated: null, export, anon,
// RC4, DES or 3DES.
func (c CipherClass) Weak() bool {
	return c >= ClassNull && c <= Class3DES
}

// ClassOf returns the class of a cipher suite code from the IANA "TLS Cipher
// Suites" registry. It never allocates.
func ClassOf(cipher uint16) CipherClass {
	if IsGREASE(cipher) {
		return ClassSignaling
	}
	c := cipher
	switch {
	case c <= 0x0002, c == 0x002c, c == 0x002d, c == 0x002e, c == 0x003b,
		c >= 0x00b0 && c <= 0x00b1, c >= 0x00b4 && c <= 0x00b5, c >= 0x00b8 && c <= 0x00b9,
		c == 0xc001, c == 0xc006, c == 0xc00b, c == 0xc010, c == 0xc015,
		c >= 0xc039 && c <= 0xc03b:
		return ClassNull
	case c == 0x0003, c == 0x0006, c == 0x0008, c == 0x000b, c == 0x000e, c == 0x0011,
		c == 0x0014, c == 0x0017, c == 0x0019, c >= 0x0026 && c <= 0x002b,
		c >= 0x0060 && c <= 0x0065:
		return ClassExport
	case c == 0x0018, c >= 0x001a && c <= 0x001b, c == 0x0034, c == 0x003a, c == 0x0046,
		c >= 0x006c && c <= 0x006d, c == 0x0089, c == 0x009b, c >= 0x00a6 && c <= 0x00a7,
		c == 0x00bf, c == 0x00c5, c >= 0xc016 && c <= 0xc019, c >= 0xc046 && c <= 0xc047,
		c >= 0xc05a && c <= 0xc05b, c >= 0xc084 && c <= 0xc085:
		return ClassAnon
	case c >= 0x0004 && c <= 0x0005, c == 0x0020, c == 0x0024, c == 0x0066, c == 0x008a,
		c == 0x008e, c == 0x0092, c == 0xc002, c == 0xc007, c == 0xc00c, c == 0xc011,
		c == 0xc033:
		return ClassRC4
	case c == 0x0009, c == 0x000c, c == 0x000f, c == 0x0012, c == 0x0015, c == 0x001e,
		c == 0x0022, c == 0xfefe, c == 0xffe1:
		return ClassDES
	case c == 0x000a, c == 0x000d, c == 0x0010, c == 0x0013, c == 0x0016, c == 0x001f,
		c == 0x0023, c == 0x008b, c == 0x008f, c == 0x0093, c == 0xc003, c == 0xc008,
		c == 0xc00d, c == 0xc012, c >= 0xc01a && c <= 0xc01c, c == 0xc034, c == 0xfeff,
		c == 0xffe0:
		return Class3DES
	case c >= 0x009c && c <= 0x00a5, c >= 0x00a8 && c <= 0x00ad, c >= 0x00c6 && c <= 0x00c7,
		c >= 0x1301 && c <= 0x1305, c >= 0xc02b && c <= 0xc032,
		c >= 0xc050 && c <= 0xc063, c >= 0xc06a && c <= 0xc06f,
		c >= 0xc07a && c <= 0xc093, c >= 0xc09c && c <= 0xc0b5, c >= 0xc103 && c <= 0xc106,
		c >= 0xcc13 && c <= 0xcc15, c >= 0xcca8 && c <= 0xccae, c >= 0xd001 && c <= 0xd005:
		return ClassAEAD
	case c == 0x0007, c == 0x0021, c == 0x0025, c >= 0x002f && c <= 0x0039,
		c >= 0x003c && c <= 0x0045, c >= 0x0067 && c <= 0x006b, c >= 0x0084 && c <= 0x0088,
		c >= 0x008c && c <= 0x008d, c >= 0x0090 && c <= 0x0091, c >= 0x0094 && c <= 0x009a,
		c >= 0x00ae && c <= 0x00af, c >= 0x00b2 && c <= 0x00b3, c >= 0x00b6 && c <= 0x00b7,
		c >= 0x00ba && c <= 0x00c4, c >= 0xc004 && c <= 0xc005, c >= 0xc009 && c <= 0xc00a,
		c >= 0xc00e && c <= 0xc00f, c >= 0xc013 && c <= 0xc014, c >= 0xc01d && c <= 0xc02a,
		c >= 0xc035 && c <= 0xc038, c >= 0xc03c && c <= 0xc04f, c >= 0xc064 && c <= 0xc069,
		c >= 0xc070 && c <= 0xc079, c >= 0xc094 && c <= 0xc09b:
		return ClassCBC
	case c == 0x00ff, c == 0x5600:
		return ClassSignaling
	}
	return ClassUnknown
}
