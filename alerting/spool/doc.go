// Package spool is a bounded, ordered, crash-safe queue of opaque entries kept
// in one directory, used by package alerting to hold notifications until a sink
// has accepted them.
//
// Each entry is written to its own file atomically (write to a temporary file,
// fsync, rename, fsync the directory) before [Spool.Put] returns, so an entry
// that Put reported as stored survives a crash or SIGKILL of the process.
// [Open] reloads the entries left by a previous process in the order they were
// put. An entry is removed with [Spool.Remove] once it has been delivered or
// has failed permanently. Delivery is therefore at least once: a crash between
// delivery and removal redelivers the entry, and consumers rely on an
// idempotency key stored inside the entry to recognise the repeat.
//
// A Spool with an empty [Config.Dir] keeps entries in memory only, with the
// same bounds and ordering; it loses its entries when the process ends.
//
// # Imports
//
// Package spool imports only the standard library and nothing from monitor443.
//
// # Concurrency
//
// A Spool is safe for concurrent use. It is built for one consumer: [Spool.Next]
// hands out the oldest entry and marks it in flight until [Spool.Remove] or
// [Spool.Release]; producers may call [Spool.Put] from any goroutine.
//
// # Capacity
//
// A Spool holds at most [Config.MaxEntries] entries and [Config.MaxBytes] bytes
// of entry data. When a Put would exceed either bound, [Config.Policy] decides:
// [RejectNew] refuses the new entry with [ErrFull]; [DropOldest] evicts stored
// entries, lowest priority first and oldest first within a priority, never the
// entry in flight, and returns the evicted entries so the caller can count and
// log them. An entry larger than MaxBytes is always refused with [ErrTooLarge].
//
// # Metrics
//
// Package spool exports no metrics itself; [Spool.Len] and [Spool.Bytes] feed
// the gauges of package alerting.
package spool
