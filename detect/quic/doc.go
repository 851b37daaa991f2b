// Package quic reads the cleartext start of QUIC connections seen on
// monitored UDP ports: it parses long-header packets, decrypts client
// Initial packets and reassembles the ClientHello they carry, so that
// detect can fingerprint QUIC clients (SNI, ALPN, JA3, JA4 with transport
// 'q') the same way as TLS over TCP.
//
// # What it parses
//
//   - [ParseHeader] reads one packet header: the version-independent long
//     header (RFC 8999) of any version, and the packet type, token, length
//     and packet-number offset of QUIC version 1 (RFC 9000), version 2 (RFC
//     9369, whose type bits differ) and drafts 29 to 32. [PacketInfo.Rest]
//     and [Header.Len] walk coalesced packets in one datagram. Short
//     (1-RTT) headers are recognised but not parsed: their connection ID
//     length is known only to the endpoints.
//   - [Parser.Packet] also removes header protection from an Initial packet
//     and decrypts it (AES-128-GCM, crypto/aes and crypto/cipher) with the
//     client Initial keys. [ClientInitialSecrets] derives them from the
//     Destination Connection ID of the client's first Initial (RFC 9001
//     §5.2): HKDF-Extract with the version's salt, then HKDF-Expand-Label
//     "client in", and "quic key"/"quic iv"/"quic hp" ("quicv2 ..." for
//     version 2). A server's Initial fails authentication with these keys
//     and is reported as [ErrDecrypt]. The packet number is decoded as if
//     no packet had been acknowledged, which is exact for a client's first
//     Initials.
//   - [Conn] reassembles the Initial CRYPTO stream from decrypted payloads:
//     frames in any order, across several packets, with duplicates and
//     overlaps. [NextFrame] knows the frames allowed in Initial packets
//     (PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE) and stops at any other
//     with [ErrFrame]. [Conn.Hello] returns the first handshake message once
//     it is whole; pass it to tlshello's ClientHello.Parse.
//   - [IsServerPacket] tells a server's handshake packet (Initial,
//     Handshake, Retry, version negotiation from the server port) from the
//     client's, so the caller can count Initials that got no answer.
//
// # Imports
//
// It imports detect/tlshello in tests only, and otherwise the standard
// library (crypto/aes, crypto/cipher, crypto/sha256). HKDF is computed with
// stack buffers over crypto/sha256 rather than with x/crypto/hkdf, whose
// HMAC state is allocated per call; tests cross-check the two.
//
// # Concurrency
//
// A [Parser] and a [Conn] are not safe for concurrent use. Each worker owns
// one Parser and its own table of Conns.
//
// # Allocations
//
// A Parser holds a fixed decryption buffer ([MaxDatagram] bytes) and a
// cache of the keys of the last 16 original connection IDs, so parsing and
// decrypting an Initial whose keys are cached allocates nothing. Deriving
// the keys of a new connection allocates the AES and AES-GCM states (the
// standard library cannot re-key them in place): a few small allocations
// once per connection, not per packet. [Conn.Add] and [Conn.Hello] never
// allocate; [NewConn] allocates a Conn's buffer once and [Conn.Reset]
// reuses it.
//
// # Capacity
//
// A Conn buffers at most its cap of CRYPTO stream bytes ([DefaultMaxCrypto],
// 16 KiB, unless [NewConn] is given another), and at most 32 disjoint
// pieces of it; beyond that [Conn.Add] returns [ErrTooLarge] or
// [ErrFragmented] and the caller should free the Conn. The package keeps no
// table of connections: the caller keys Conns by client address, port and
// original DCID ([Conn.ODCID]), bounds that table, evicts idle entries and
// counts evictions and the errors above by reason.
//
// # Metrics
//
// The package exports no metrics; its errors are sentinels for the
// caller's reason-labelled counters.
package quic
