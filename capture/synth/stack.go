package synth

import "fmt"

// Stack names a client TLS stack whose ClientHello layout the generator
// reproduces.
type Stack uint8

// Client stacks. Each reproduces the wire layout of the named client's
// ClientHello: cipher suites, extensions and their order, groups, key shares,
// signature algorithms and padding.
const (
	// StackChrome is Chrome 131 and later: GREASE, shuffled extension order,
	// an X25519MLKEM768 key share (1216 bytes) plus X25519, and an ECH GREASE
	// extension. Its hello is about 1.8 KB and spans two TCP segments.
	StackChrome Stack = iota
	// StackFirefox is Firefox 132 and later, also with X25519MLKEM768.
	StackFirefox
	// StackSafari is Safari 17/18 on macOS and iOS (GREASE, padding to 512).
	StackSafari
	// StackCurl is curl linked with OpenSSL 3.
	StackCurl
	// StackGo is Go's crypto/tls 1.24 and later (net/http client).
	StackGo
	// StackPython is Python's requests/urllib3 over OpenSSL 3 (ALPN http/1.1).
	StackPython
	// StackLegacy12 is a TLS 1.2 client without supported_versions (Java 8 era).
	StackLegacy12
	// StackLegacy10 is a TLS 1.0 client without supported_versions.
	StackLegacy10

	numStacks
)

var stackNames = [numStacks]string{"chrome", "firefox", "safari", "curl", "go", "python", "legacy12", "legacy10"}

// Stacks returns every Stack in declaration order.
func Stacks() []Stack {
	s := make([]Stack, numStacks)
	for i := range s {
		s[i] = Stack(i)
	}
	return s
}

// String returns the stack's lowercase name, e.g. "chrome".
func (s Stack) String() string {
	if s < numStacks {
		return stackNames[s]
	}
	return fmt.Sprintf("stack_%d", uint8(s))
}

// ParseStack returns the Stack named name, as printed by [Stack.String].
func ParseStack(name string) (Stack, error) {
	for i, n := range stackNames {
		if n == name {
			return Stack(i), nil
		}
	}
	return 0, fmt.Errorf("unknown client stack %q", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s Stack) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Stack) UnmarshalText(b []byte) error {
	v, err := ParseStack(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// osKind is the client operating system; it decides TCP SYN options, TTL and
// ephemeral ports.
type osKind uint8

const (
	osLinux osKind = iota
	osWindows
	osMac
)

// greaseMark stands for "a GREASE value" in the tables below.
const greaseMark = 0x0a0a

// Extension and group code points used by the hello builder.
const (
	extServerName     = 0x0000
	extStatusRequest  = 0x0005
	extGroups         = 0x000a
	extPointFormats   = 0x000b
	extSigAlgs        = 0x000d
	extALPN           = 0x0010
	extSCT            = 0x0012
	extPadding        = 0x0015
	extEncryptThenMAC = 0x0016
	extEMS            = 0x0017
	extCompressCert   = 0x001b
	extRecordSize     = 0x001c
	extDelegatedCreds = 0x0022
	extSessionTicket  = 0x0023
	extVersions       = 0x002b
	extPSKModes       = 0x002d
	extPostHandshake  = 0x0031
	extKeyShare       = 0x0033
	extALPS           = 0x44cd
	extECH            = 0xfe0d
	extReneg          = 0xff01

	groupX25519      = 0x001d
	groupP256        = 0x0017
	groupP384        = 0x0018
	groupX25519MLKEM = 0x11ec
)

// spec is one stack's ClientHello layout.
type spec struct {
	recordVersion uint16
	helloVersion  uint16
	sessionID     bool
	ciphers       []uint16 // greaseMark where the stack puts GREASE
	exts          []uint16 // wire order; greaseMark first and last for GREASE stacks
	shuffle       bool     // permute exts between the GREASE ends (Chrome)
	groups        []uint16
	keyShares     []uint16
	sigAlgs       []uint16
	dcSigAlgs     []uint16
	versions      []uint16
	alpn          []string
	pointFormats  []byte
	certCompress  []uint16
	pad512        bool // BoringSSL/OpenSSL padding of 256..511-byte hellos to 512
	os            []osKind
}

var opensslSigAlgs = []uint16{0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081a, 0x081b, 0x081c, 0x0809, 0x080a, 0x080b,
	0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602}

var opensslGroups = []uint16{0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104}

var specs = [numStacks]spec{
	StackChrome: {
		recordVersion: 0x0301, helloVersion: 0x0303, sessionID: true,
		ciphers: []uint16{greaseMark, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []uint16{greaseMark, extServerName, extEMS, extReneg, extGroups, extPointFormats, extSessionTicket,
			extALPN, extStatusRequest, extSigAlgs, extSCT, extKeyShare, extPSKModes, extVersions, extCompressCert,
			extALPS, extECH, greaseMark},
		shuffle:      true,
		groups:       []uint16{greaseMark, groupX25519MLKEM, groupX25519, groupP256, groupP384},
		keyShares:    []uint16{greaseMark, groupX25519MLKEM, groupX25519},
		sigAlgs:      []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		versions:     []uint16{greaseMark, 0x0304, 0x0303},
		alpn:         []string{"h2", "http/1.1"},
		pointFormats: []byte{0},
		certCompress: []uint16{0x0002},
		os:           []osKind{osWindows, osWindows, osWindows, osWindows, osWindows, osWindows, osMac, osMac, osLinux, osLinux},
	},
	StackFirefox: {
		recordVersion: 0x0301, helloVersion: 0x0303, sessionID: true,
		ciphers: []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a, 0xc009,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []uint16{extServerName, extEMS, extReneg, extGroups, extPointFormats, extSessionTicket, extALPN,
			extStatusRequest, extDelegatedCreds, extSCT, extKeyShare, extVersions, extSigAlgs, extPSKModes,
			extRecordSize, extCompressCert, extECH},
		groups:       []uint16{groupX25519MLKEM, groupX25519, groupP256, groupP384, 0x0019, 0x0100, 0x0101},
		keyShares:    []uint16{groupX25519MLKEM, groupX25519, groupP256},
		sigAlgs:      []uint16{0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201},
		dcSigAlgs:    []uint16{0x0403, 0x0503, 0x0603, 0x0203},
		versions:     []uint16{0x0304, 0x0303},
		alpn:         []string{"h2", "http/1.1"},
		pointFormats: []byte{0},
		certCompress: []uint16{0x0001, 0x0002, 0x0003},
		os:           []osKind{osWindows, osWindows, osWindows, osLinux, osLinux, osMac},
	},
	StackSafari: {
		recordVersion: 0x0301, helloVersion: 0x0303, sessionID: true,
		ciphers: []uint16{greaseMark, 0x1301, 0x1302, 0x1303, 0xc02c, 0xc02b, 0xcca9, 0xc030, 0xc02f, 0xcca8,
			0xc00a, 0xc009, 0xc014, 0xc013, 0x009d, 0x009c, 0x0035, 0x002f, 0xc008, 0xc012, 0x000a},
		exts: []uint16{greaseMark, extServerName, extEMS, extReneg, extGroups, extPointFormats, extALPN,
			extStatusRequest, extSigAlgs, extSCT, extKeyShare, extPSKModes, extVersions, extCompressCert, greaseMark},
		groups:    []uint16{greaseMark, groupX25519, groupP256, groupP384, 0x0019},
		keyShares: []uint16{greaseMark, groupX25519},
		sigAlgs: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0203, 0x0805, 0x0805, 0x0501, 0x0806, 0x0601,
			0x0201},
		versions:     []uint16{greaseMark, 0x0304, 0x0303, 0x0302, 0x0301},
		alpn:         []string{"h2", "http/1.1"},
		pointFormats: []byte{0},
		certCompress: []uint16{0x0001},
		pad512:       true,
		os:           []osKind{osMac},
	},
	StackCurl: {
		recordVersion: 0x0301, helloVersion: 0x0303, sessionID: true,
		ciphers: []uint16{0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f,
			0x009e, 0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009, 0xc013, 0x0033,
			0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x00ff},
		exts: []uint16{extServerName, extPointFormats, extGroups, extSessionTicket, extALPN, extEncryptThenMAC,
			extEMS, extPostHandshake, extSigAlgs, extVersions, extPSKModes, extKeyShare},
		groups:       opensslGroups,
		keyShares:    []uint16{groupX25519},
		sigAlgs:      opensslSigAlgs,
		versions:     []uint16{0x0304, 0x0303},
		alpn:         []string{"h2", "http/1.1"},
		pointFormats: []byte{0, 1, 2},
		pad512:       true,
		os:           []osKind{osLinux},
	},
	StackGo: {
		recordVersion: 0x0301, helloVersion: 0x0303, sessionID: true,
		ciphers: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014,
			0x1301, 0x1302, 0x1303},
		exts: []uint16{extServerName, extStatusRequest, extGroups, extPointFormats, extSessionTicket, extALPN,
			extSigAlgs, extSCT, extReneg, extEMS, extVersions, extKeyShare, extPSKModes},
		groups:    []uint16{groupX25519MLKEM, groupX25519, groupP256, groupP384, 0x0019},
		keyShares: []uint16{groupX25519MLKEM, groupX25519},
		sigAlgs: []uint16{0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603,
			0x0201, 0x0203},
		versions:     []uint16{0x0304, 0x0303},
		alpn:         []string{"h2", "http/1.1"},
		pointFormats: []byte{0},
		os:           []osKind{osLinux},
	},
	StackPython: {
		recordVersion: 0x0301, helloVersion: 0x0303, sessionID: true,
		ciphers: []uint16{0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc024, 0xc028,
			0xc023, 0xc027, 0x009f, 0x009e, 0x006b, 0x0067, 0x00ff},
		exts: []uint16{extServerName, extPointFormats, extGroups, extSessionTicket, extALPN, extEncryptThenMAC,
			extEMS, extPostHandshake, extSigAlgs, extVersions, extPSKModes, extKeyShare},
		groups:       opensslGroups,
		keyShares:    []uint16{groupX25519},
		sigAlgs:      opensslSigAlgs,
		versions:     []uint16{0x0304, 0x0303},
		alpn:         []string{"http/1.1"},
		pointFormats: []byte{0, 1, 2},
		pad512:       true,
		os:           []osKind{osLinux},
	},
	StackLegacy12: {
		recordVersion: 0x0301, helloVersion: 0x0303,
		ciphers: []uint16{0xc02c, 0xc02b, 0xc030, 0xc02f, 0xc024, 0xc023, 0xc028, 0xc027, 0xc00a, 0xc009, 0xc014,
			0xc013, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x000a},
		exts: []uint16{extServerName, extStatusRequest, extGroups, extPointFormats, extSigAlgs, extSessionTicket,
			extEMS, extReneg},
		groups: []uint16{groupX25519, groupP256, groupP384},
		sigAlgs: []uint16{0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0201, 0x0403, 0x0503, 0x0203, 0x0202, 0x0601,
			0x0603},
		pointFormats: []byte{0},
		os:           []osKind{osWindows, osLinux},
	},
	StackLegacy10: {
		recordVersion: 0x0301, helloVersion: 0x0301,
		ciphers: []uint16{0xc014, 0xc013, 0x0035, 0x002f, 0xc00a, 0xc009, 0x0038, 0x0032, 0x000a, 0x0013, 0x0005,
			0x0004},
		exts:         []uint16{extServerName, extGroups, extPointFormats, extSessionTicket, extReneg},
		groups:       []uint16{groupP256, groupP384},
		pointFormats: []byte{0},
		os:           []osKind{osWindows},
	},
}

// offersTLS13 reports whether the stack sends supported_versions with 0x0304.
func (s Stack) offersTLS13() bool { return len(specs[s].versions) > 0 }

// offersMLKEM reports whether the stack sends an X25519MLKEM768 key share.
func (s Stack) offersMLKEM() bool {
	for _, g := range specs[s].keyShares {
		if g == groupX25519MLKEM {
			return true
		}
	}
	return false
}

// offersH2 reports whether the stack offers ALPN h2.
func (s Stack) offersH2() bool {
	a := specs[s].alpn
	return len(a) > 0 && a[0] == "h2"
}
