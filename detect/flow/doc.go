// Package flow keeps monitor443's bounded table of TCP and UDP flows on the
// per-packet path.
//
// [Table.Observe] takes one decoded [capture.Packet], finds or creates its
// flow by canonical [Key] (both directions map to one key), updates the
// flow's counters and TCP state, and returns the flow with a bit mask of
// [Events] (new flow, SYN, SYN-ACK, handshake complete, FIN, RST,
// retransmission, closed, new contiguous stream bytes, ...). The client is
// the SYN sender; without a SYN, the side on one of
// [TableConfig.ServerPorts] (default 443) is the server, else the lower
// port. Each flow records handshake round trips ([Flow.SynRTT],
// [Flow.AckRTT]), retransmissions, packets, bytes (IP length) and the first
// TTL per direction, and has a [Flow.User] word for the caller's own state.
//
// The first bytes of each TCP direction are reassembled by sequence number
// from ISN+1 (or from the first data segment when the handshake was
// missed) into a bounded buffer: out-of-order segments are placed at their
// offset, overlaps keep the first copy, and the contiguous prefix is
// exposed as [Flow.ClientStream] and [Flow.ServerStream]. The caller (the
// TLS analyzer) decides when a hello is complete and calls
// [Flow.StopReassembly] to give the buffer back. A segment that starts
// below the highest sequence number seen in its direction counts as a
// retransmission, including segments that were merely reordered
// (keep-alives excepted).
//
// Time comes only from packet timestamps. The owner calls [Table.Expire]
// with packet time, about once a second, to end idle, half-open and closed
// flows; every flow that leaves the table (timeout, eviction, reuse of a
// closed 5-tuple by a new SYN, [Table.Flush]) is first passed to
// [TableConfig.OnEnd], a plain function set once at construction, so the
// caller can emit its record.
//
// Flow may import only the capture package of monitor443.
//
// # Concurrency
//
// A Table is not safe for concurrent use; each worker goroutine owns one. A
// *Flow returned by Observe is valid until the next call to a Table method;
// the slices from ClientStream and ServerStream stay unchanged until then
// or until StopReassembly. Observe does not allocate once the reassembly
// pool is warm (proven by TestObserveAllocs and the Benchmarks).
//
// # Capacity
//
// All flow storage is allocated by [NewTable]: a slab of
// MaxFlows+MaxHalfOpen [Flow] structs (216 bytes each on 64-bit platforms,
// at most 256, checked by a test) and an open-addressing index of 8-byte
// entries sized to the next power of two of at least twice the slab (at
// most 32 bytes per slot). So a table costs about 250 bytes per slot, for
// example 80 MiB for the defaults (262144 + 65536 slots), and never grows.
//
// Two budgets keep a flood from pushing out real traffic:
//
//   - MaxHalfOpen (default 65536) holds unconfirmed flows: SYN-only
//     connection attempts, and any flow seen in one direction only
//     (spoofed ACK, RST or UDP floods, or one side of asymmetric routing).
//     When it is full the oldest unconfirmed flow is evicted
//     ([EndEvictHalfOpen]); closed ones go first ([EndEvictClosed]).
//   - MaxFlows (default 262144) holds confirmed flows: a completed
//     handshake, or packets in both directions that are not SYNs. When a
//     flow is confirmed and the budget is full, a closed confirmed flow is
//     evicted if there is one, else an approximately least recently used
//     one ([EndEvictLRU]): flows are queued in order of creation and, like
//     CLOCK, a flow that saw packets since it was queued gets up to eight
//     second chances.
//
// A spoofed SYN flood therefore only churns the half-open budget;
// TestSYNFlood feeds 10 million SYNs from unique sources (1 million under
// -race or -short) and checks that established flows survive, the budget
// holds and the heap does not grow. Timeouts: IdleTimeout (default 5m) for
// confirmed flows, HalfOpenTimeout (30s) for unconfirmed ones,
// ClosedTimeout (10s) after RST or FIN in both directions.
//
// Reassembly buffers come from a pool of at most MaxReassembly (default
// 1024) buffers of max(ClientStreamCap, ServerStreamCap) bytes (default
// 16 KiB each, so up to 16 MiB), allocated lazily and recycled. A flow
// direction that finds the pool empty is counted and not reassembled.
// Each stream holds at most MaxOutOfOrderSegments (default 8, at most 16)
// out-of-order ranges and MaxOutOfOrderBytes (default 16 KiB).
//
// # Metrics
//
// [Table.Stats] returns a [Stats] value of plain uint64 counters and
// gauges, updated without atomics by the owning goroutine; the owner calls
// it (for example when an interval closes) and publishes the copy. Watch:
//
//   - Flows and HalfOpen against MaxFlows and MaxHalfOpen;
//   - Ended by reason: a steady EndEvictLRU rate means MaxFlows is too
//     small, EndEvictHalfOpen rising with HalfOpen at its budget means a
//     SYN flood (or a budget too small for the handshake rate times the
//     round trip);
//   - ReassemblyPoolExhausted (raise MaxReassembly, or release buffers
//     sooner), ReassemblyCapExceeded, OutOfOrderDropped, OutOfWindow and
//     Truncated (captures with a small snaplen stall reassembly).
package flow
