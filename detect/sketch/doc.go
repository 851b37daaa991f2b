// Package sketch holds bounded-memory keyed statistics for the per-interval
// feature stage: which keys are heaviest ([SpaceSaving]), roughly how much did
// one key send ([CountMin]), and how many distinct keys were seen
// ([HyperLogLog]).
//
// Every structure is sized once at construction and never grows, so memory
// stays fixed however many distinct clients, SNIs or source prefixes the
// traffic holds. Offer, Add and Estimate do not allocate.
//
// # Imports
//
// The package is pure math. It imports only the standard library and nothing
// from monitor443; it does no I/O and never reads a clock.
//
// # Hashing
//
// [CountMin] and [HyperLogLog] take a caller-supplied 64-bit hash of the key.
// [HashAddr], [Hash16], [HashUint64], [HashString] and [HashBytes] are fast,
// deterministic hashes with a fixed seed, so a pcap replay gives the same
// estimates on every run and golden files stay stable. Because the seed is
// fixed and public, they are not collision resistant against an adversary who
// chooses the keys; an attacker can at worst make distinct keys look like one,
// which lowers a count rather than raising one.
//
// # Concurrency
//
// No type is safe for concurrent use. Each worker owns its own sketches; sketches
// of equal shape from several workers are combined with [HyperLogLog.Merge] and
// [CountMin.Merge] once per interval.
//
// # Capacity
//
//   - [SpaceSaving] with capacity m holds m keys: about m·(size of K + 32) bytes
//     plus the map. Any key whose weight exceeds N/m (N = total weight offered
//     since the last Reset) is guaranteed to be in the summary.
//   - [CountMin] holds width·depth uint64 counters. With width ⌈e/ε⌉ and depth
//     ⌈ln(1/δ)⌉ an estimate exceeds the true weight by more than ε·N with
//     probability at most δ, and it never underestimates.
//   - [HyperLogLog] with precision p holds 2^p one-byte registers (4 KiB at
//     p = 12, 16 KiB at p = 14); its relative standard error is about
//     1.04/√(2^p): 1.6 % at p = 12, 0.8 % at p = 14.
//
// The mathematics and the choice of parameters are described in
// docs/detection.md.
package sketch
