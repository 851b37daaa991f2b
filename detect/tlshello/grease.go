package tlshello

// IsGREASE reports whether v is one of the 16 reserved GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, ..., 0xfafa). GREASE values appear in cipher suites,
// extension types, named groups, supported versions and signature algorithms.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// isGREASEALPN reports whether an ALPN protocol name is a GREASE value
// (RFC 8701 section 3.1: two-byte names of the form 0x?A 0x?A).
func isGREASEALPN(p []byte) bool {
	return len(p) == 2 && p[0] == p[1] && p[0]&0x0f == 0x0a
}
