// Package synth generates deterministic synthetic TCP/443 traffic: pcap
// files of realistic HTTPS connections with optional injected anomalies and
// a JSON ground truth of what was injected. Benchmarks, detector
// evaluation, tests and fire drills use it.
//
// # API
//
// [Generate] writes a [Config] to an io.Writer as a pcap file and returns
// the [Truth]; [Truth.WriteJSON] saves the truth next to it. For in-process
// use, [NewGenerator] returns a [Generator] whose [Generator.Next] yields one
// Ethernet frame at a time in timestamp order; a Generator is also a
// [capture.Source], so the monitor can read it without a file. [Presets]
// holds ready-made configurations ("demo", "day", "week", "eval",
// "bench", and the evaluation presets "eval-small", "eval-short",
// "eval-large", "eval-cold" and "eval-cold-large"). [AppendClientHello] builds a single ClientHello record of any
// [Stack], for parser tests and fuzz seeds.
//
// The same Config always gives byte-identical output: every random choice
// comes from one xoshiro256** stream seeded by [Config.Seed], written out in
// this package so that no Go release can change it. Certificates are signed
// with a fixed Ed25519 key, whose signatures are deterministic.
//
// # Traffic model
//
// The capture point sits next to the servers, so the server's packets
// follow the client's within microseconds and the client's answers come one
// round-trip time later. Each connection has a log-normal RTT (median
// 40 ms), a log-normal throughput (median 3 MB/s) and a client operating
// system that sets its SYN options (Linux: MSS, SACK, timestamps, window
// scale 7; Windows: no timestamps, window scale 8; macOS: window scale 6),
// initial TTL and ephemeral port range. A benign connection:
//
//   - opens with SYN, SYN-ACK and ACK, with random initial sequence numbers,
//     per-direction IP IDs and TCP timestamps that tick in milliseconds;
//   - sends a byte-exact ClientHello of its client's [Stack] with the SNI of
//     one of the server's names; Chrome, Firefox and Go hellos carry an
//     X25519MLKEM768 key share, are 1.5 to 1.8 KB and span two segments;
//   - gets a server flight: for TLS 1.3 a ServerHello with
//     supported_versions and a key share (X25519, or an ML-KEM ciphertext
//     when the server supports it), ChangeCipherSpec and one
//     application-data record standing for the encrypted handshake; for
//     TLS 1.2 and 1.0 (legacy clients, and the ~15% of servers without
//     TLS 1.3) a ServerHello, a real self-signed DER certificate for the
//     server's names, ServerKeyExchange and ServerHelloDone, then the
//     client's key exchange, ChangeCipherSpec and Finished, and the
//     server's NewSessionTicket, ChangeCipherSpec and Finished;
//   - runs request/response exchanges (geometric count, mean 3.6) of TLS
//     application-data records: log-normal requests, Pareto (α = 1.15)
//     responses capped at [Config.MaxResponseBytes], log-normal think times;
//     the receiver ACKs every second segment (stretch ACKs when many are in
//     flight);
//   - ends with FIN from the client (78%), FIN from the server (14%) or RST
//     (8%).
//
// Benign connections arrive as a Poisson process, optionally shaped by a
// time-of-day curve ([Config.Diurnal]). Servers are in 198.18.0.0/15 and
// 2001:db8:443::/48 with Zipf popularity; clients get random public IPv4
// addresses and 2001:db8:c100::/40 IPv6 addresses. A fraction of
// connections is IPv6 and a fraction carries 802.1Q or 802.1ad+802.1Q
// (QinQ) tags. IPv4 header checksums and TCP checksums are computed, IP
// lengths are exact, and application-data bodies are random bytes.
//
// # Realistic model
//
// Fields added to [Config] after the first release switch on a more
// realistic model; a Config that sets none of them generates the same
// bytes as before. [Config.Roles] gives servers a [Role] with its own
// response-size law (web and API log-normal, static and download Pareto);
// [Config.Burstiness] adds a per-minute log-normal factor to the arrival
// rate; [Config.TSO] sends TSO super-segments and GRO-coalesced uploads of
// up to 64 KB; [Config.Snaplen] cuts every non-handshake frame to a snap
// length (the cut part is never written, and a cut TCP segment's checksum
// is zero; [Packet.Length] and the pcap record keep the wire length);
// scanners, API pollers, NAT gateways, crawlers and big downloads add the
// background every internet-facing server sees. [Config.Expected] gives
// the model's expected benign rates in closed form, which [Event.Factor]
// uses to size an event relative to normal. docs/synth.md cites the
// measurements each property follows.
//
// # Events
//
// [Event] values in [Config.Events] inject anomalies; see [EventKind] for
// what each kind does and the unit of its Rate. Each injected event, with
// its actual start, end, target, rate, class (attack or benign), the
// detectors that count as detecting it, and packet and byte counts,
// appears in [Truth.Events].
//
// # Imports
//
// Only the standard library and [capture] (for the [capture.Source]
// adapter); the tests also use gopacket to decode the output.
//
// # Concurrency
//
// A Generator is not safe for concurrent use: one goroutine owns it. Run
// several Generators (with different seeds) for parallel output.
//
// # Capacity
//
// Memory is bounded by [Config.MaxConns] connections in flight (about 600
// bytes each, including the timer-heap entry); arrivals beyond it are
// dropped and counted in [Truth.DroppedConns]. Clients, servers and
// certificates are allocated once at construction. In steady state,
// [Generator.Next] does not allocate. It produces well over a million
// frames per second on one core: see BenchmarkNext.
//
// # Metrics
//
// The package exports no Prometheus metrics: it is an offline tool. [Truth]
// carries its counters (packets, bytes, connections, drops, per-event
// packets and bytes).
package synth
