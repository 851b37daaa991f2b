package detect

import "time"

// TLSRecord describes one TLS connection as written to --output.tls: the
// client's offer, and the server's answer when it was seen. docs/output.md
// documents every field.
type TLSRecord struct {
	TS        time.Time `json:"ts"`
	SrcIP     string    `json:"src_ip"`
	SrcPort   uint16    `json:"src_port"`
	DstIP     string    `json:"dst_ip"`
	DstPort   uint16    `json:"dst_port"`
	Transport string    `json:"transport"`
	SNI       string    `json:"sni,omitempty"`
	ALPN      []string  `json:"alpn,omitempty"`
	// Version is the highest version offered (supported_versions or
	// legacy_version), by name.
	Version       string   `json:"version"`
	LegacyVersion string   `json:"legacy_version"`
	Versions      []string `json:"versions,omitempty"`
	Ciphers       []uint16 `json:"ciphers"`
	Extensions    []uint16 `json:"extensions"`
	Groups        []uint16 `json:"groups,omitempty"`
	SigAlgs       []uint16 `json:"sig_algs,omitempty"`
	KeyShares     []uint16 `json:"key_shares,omitempty"`
	PointFormats  []uint16 `json:"point_formats,omitempty"`
	GREASE        bool     `json:"grease"`
	ECH           bool     `json:"ech"`
	SSLv2         bool     `json:"sslv2,omitempty"`
	JA3           string   `json:"ja3"`
	JA3Full       string   `json:"ja3_full"`
	JA4           string   `json:"ja4"`
	JA4R          string   `json:"ja4_r"`
	HelloSegments int      `json:"hello_segments"`
	HelloCount    int      `json:"hello_count"`
	HelloRetry    bool     `json:"hello_retry,omitempty"`
	// Tunnel says the hello came through a forward proxy's tunnel on the
	// monitored port: http_connect, socks4 or socks5. TunnelTarget is the
	// host and port the client asked the proxy for (empty when a SOCKS4
	// client gave no name and no address).
	Tunnel       string `json:"tunnel,omitempty"`
	TunnelTarget string `json:"tunnel_target,omitempty"`

	ServerVersion string      `json:"server_version,omitempty"`
	Cipher        string      `json:"cipher,omitempty"`
	CipherClass   string      `json:"cipher_class,omitempty"`
	ALPNSelected  string      `json:"alpn_selected,omitempty"`
	JA3S          string      `json:"ja3s,omitempty"`
	JA3SFull      string      `json:"ja3s_full,omitempty"`
	Cert          *CertRecord `json:"cert,omitempty"`
	Established   bool        `json:"established"`
	Alert         string      `json:"alert,omitempty"`
	Blocklisted   []string    `json:"blocklisted,omitempty"`
	End           string      `json:"end"`
	RTT           *RTTRecord  `json:"rtt,omitempty"`
	Bytes         [2]uint64   `json:"bytes"`
	Packets       [2]uint64   `json:"packets"`
}

// CertRecord is the server's leaf certificate, seen in clear with TLS 1.2
// and older.
type CertRecord struct {
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	SANs       []string  `json:"sans,omitempty"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	SelfSigned bool      `json:"self_signed"`
	Expired    bool      `json:"expired"`
	ChainLen   int       `json:"chain_len"`
}

// RTTRecord holds the TCP handshake round trips in milliseconds.
type RTTRecord struct {
	SynMS float64 `json:"syn_ms,omitempty"`
	AckMS float64 `json:"ack_ms,omitempty"`
}
