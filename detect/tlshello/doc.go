// Package tlshello parses the cleartext start of a TLS connection and
// computes client fingerprints, without allocating on the per-hello path.
//
// It works on handshake-message bytes and knows nothing of packets or flows,
// so the same parser serves TCP streams now and QUIC CRYPTO frames later:
//
//   - [Reader] and [NextHandshake] split one direction of a TCP byte stream
//     into handshake messages, reassembling a message that spans several
//     records (and, through the caller's growing stream prefix, several TCP
//     segments), reading several messages from one record, and returning
//     ChangeCipherSpec, Alert and application-data records as they come. A
//     message is capped at [DefaultMaxMessage] (16 KiB) unless
//     [Reader.MaxMessage] says otherwise; a longer one fails with
//     [ErrTooLarge]. [NextSSLv2Hello] frames an SSLv2 CLIENT-HELLO.
//   - [ClientHello.Parse] and [ClientHello.ParseSSLv2] decode a hello into
//     reusable, fixed-capacity slices; [ServerHello.Parse] decodes a
//     ServerHello or HelloRetryRequest; [ParseAlert] an alert;
//     [LeafCertificate] and [ParseCertificate] the TLS 1.2-or-earlier
//     Certificate message (the latter with crypto/x509, allocating, for the
//     rare path).
//   - [AppendJA3], [AppendJA3Hash], [AppendJA3S], [AppendJA3SHash],
//     [AppendJA4] and [AppendJA4R] write fingerprints into caller buffers.
//   - [Sniff] classifies the first bytes of a TCP stream (TLS, SSLv2, HTTP,
//     CONNECT, SSH, OpenVPN, SOCKS...), and [VersionOf] and [ClassOf] map
//     versions and cipher suites to closed label sets.
//
// Errors are the exported sentinels [ErrNeedMore], [ErrNotTLS],
// [ErrTooLarge], [ErrMalformed] and [ErrUnexpected]; no error value is built
// per call, so a caller can count rejected hellos by reason cheaply.
//
// # Imports
//
// Only the standard library and golang.org/x/crypto/cryptobyte; nothing from
// monitor443. Tests also use gopacket to read the reference captures.
//
// # Byte ownership
//
// Every function that takes or returns []byte documents who owns the bytes.
// In short: the parsers never retain their input, but [ClientHello.SNI],
// [ClientHello.ALPN], [ServerHello.ALPN] and the leaf returned by
// [LeafCertificate] alias the message passed in, and a handshake
// [Message.Data] aliases the buffer given to [Reader.Next]. Copy what you keep
// beyond the next read.
//
// # Concurrency
//
// Nothing here is safe for concurrent use. Each worker owns its own
// [Reader] per flow direction and one [ClientHello] and [ServerHello] that it
// reuses; the package has no global mutable state.
//
// # Allocation
//
// Reading, parsing and fingerprinting an ordinary hello allocates nothing
// (BenchmarkChromeHello, TestZeroAllocs). A ClientHello keeps its lists in
// arrays inside the struct (256 cipher suites, 64 extensions, ...); a hello
// with longer lists is still parsed in full, at the cost of one heap
// allocation for that call. The fingerprint functions use the spare capacity
// of dst as scratch space for the string they hash, so give them a dst with
// a few KiB of capacity.
//
// # Fingerprints
//
// JA3 follows Salesforce's original definition: legacy_version, cipher
// suites, extension types, supported groups and point formats, decimal,
// '-'-joined within a field and ','-joined between fields, GREASE values
// (RFC 8701) removed from the first four lists. For an SSLv2 hello, which
// tshark does not fingerprint at all, the version is the SSLv2 message
// version, the ciphers are the cipher kinds that have a TLS code (first byte
// zero) and the other fields are empty.
//
// JA4 follows FoxIO's JA4 (BSD 3-Clause) and matches the output of FoxIO's
// Rust reference tool on every TCP hello of its sample captures. Where the
// written spec and the reference tools differ we follow the tools:
//
//   - ALPN: the first and last characters of the first ALPN value, read as
//     UTF-8 with every invalid byte one replacement character. A character
//     outside printable ASCII (0x21-0x7e) becomes '9'. So 0xBA 0xAD gives
//     "99" (the Rust tool's output for tls-non-ascii-alpn.pcapng; the current
//     spec would give "bd"), a one-character value "h" gives "h0", and a
//     missing or empty value gives "00". Letter case is kept ("H2").
//     Control characters and space are our own choice (no reference covers
//     them): they become '9' so the fingerprint stays printable.
//   - Version: the highest non-GREASE supported_versions value when that
//     extension is present, else legacy_version: 13, 12, 11, 10, s3 (SSL
//     3.0), s2 (SSLv2 hello version 0x0002), d1/d2/d3 (DTLS 1.0/1.2/1.3) and
//     00 for anything else, including TLS 1.3 drafts (Arkime tls13.pcap).
//   - Counts are of non-GREASE ciphers and extensions (SNI and ALPN
//     included), capped at 99.
//   - JA4_b and JA4_c hash sorted 4-digit lowercase hex lists; an empty
//     input hashes to "000000000000". JA4_c leaves out SNI (0) and ALPN (16)
//     and appends '_' and the signature algorithms in wire order only when
//     there are any. GREASE is removed from signature algorithms too, as the
//     spec says and FoxIO's tools do since FoxIO-LLC/ja4 issue 305 was
//     fixed (the sample captures have no GREASE signature algorithm).
//   - An SSLv2 hello is fingerprinted as version s2 (or the TLS version an
//     SSLv2-compatible hello offers), 'i', its TLS-coded ciphers, no
//     extensions and ALPN "00". No reference tool covers this case.
//
// JA4S, JA4X, JA4T and the other JA4+ methods are under FoxIO's
// non-commercial licence and are deliberately not implemented.
//
// # HelloRetryRequest
//
// A connection may carry two ClientHellos (after a HelloRetryRequest, or a
// duplicated hello). Fingerprint the first one, as FoxIO's tools and Suricata
// do, and count both. A [Reader] returns the second hello even though a
// ChangeCipherSpec precedes it in TLS 1.3 middlebox-compatibility mode: after
// a ChangeCipherSpec, a handshake record that holds exactly one whole
// ClientHello or ServerHello is plaintext, anything else is returned as an
// Encrypted record (such as a TLS 1.2 Finished).
//
// The full rules and the table of known disagreements with the reference
// tools are in docs/tls.md.
package tlshello
