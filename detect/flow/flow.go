package flow

import (
	"net/netip"
	"strings"

	"github.com/monitor443/monitor443/capture"
)

// State holds the TCP state bits of a flow. Several bits may be set.
type State uint16

// TCP state bits.
const (
	// StateSYN: the client's SYN was seen.
	StateSYN State = 1 << iota
	// StateSYNACK: the server's SYN-ACK was seen.
	StateSYNACK
	// StateEstablished: the client acknowledged the SYN-ACK.
	StateEstablished
	// StateFINClient: the client sent a FIN.
	StateFINClient
	// StateFINServer: the server sent a FIN.
	StateFINServer
	// StateRST: either side sent a RST.
	StateRST
	// StateClosed: the flow ended (RST, or FIN in both directions).
	StateClosed
	// StateConfirmed: two-way traffic was seen; the flow counts against
	// MaxFlows instead of MaxHalfOpen.
	StateConfirmed
	// StateMidstream: the flow was first seen without a SYN or SYN-ACK, so
	// its orientation was guessed from the ports.
	StateMidstream
	// StateAnswerUnseen: the client acknowledged a SYN-ACK before the
	// capture saw one (it took another path or was lost at the tap); a
	// SYN-ACK seen later still records the server's ISN and SYN round trip.
	StateAnswerUnseen
)

// Has reports whether every bit in m is set.
func (s State) Has(m State) bool { return s&m == m }

// Events is a bit mask of what one packet did to its flow.
type Events uint32

// Events reported by [Table.Observe].
const (
	// EventNewFlow: the packet created the flow.
	EventNewFlow Events = 1 << iota
	// EventNewHalfOpen: the packet created the flow and was a SYN without
	// ACK (a connection attempt).
	EventNewHalfOpen
	// EventSYN: the packet is a SYN without ACK.
	EventSYN
	// EventSYNACK: the packet is a SYN-ACK.
	EventSYNACK
	// EventHandshakeComplete: the client acknowledged the SYN-ACK, or,
	// when the capture saw none, its first segment after the SYN
	// acknowledged an answer (StateAnswerUnseen).
	EventHandshakeComplete
	// EventFIN: the packet carries the first FIN of its direction.
	EventFIN
	// EventRST: the packet carries RST.
	EventRST
	// EventRetransmit: the packet repeats sequence space already seen.
	EventRetransmit
	// EventClosed: the flow reached StateClosed with this packet.
	EventClosed
	// EventConfirmed: the flow moved from the half-open budget to the main
	// budget with this packet.
	EventConfirmed
	// EventClientDataReady: new contiguous bytes were appended to
	// [Flow.ClientStream].
	EventClientDataReady
	// EventServerDataReady: new contiguous bytes were appended to
	// [Flow.ServerStream].
	EventServerDataReady
	// EventSYNRepeat: the packet is the client's SYN again, with the
	// initial sequence number of the flow's attempt: the client's stack
	// retransmitting the same connection attempt (also EventRetransmit).
	EventSYNRepeat
	numEvents = iota
)

var eventNames = [numEvents]string{
	"new_flow", "new_half_open", "syn", "synack", "handshake_complete", "fin", "rst",
	"retransmit", "closed", "confirmed", "client_data_ready", "server_data_ready",
	"syn_repeat",
}

// Has reports whether every event in m is set.
func (e Events) Has(m Events) bool { return e&m == m }

// String returns the set events joined with "|", for tests and debugging.
func (e Events) String() string {
	var b strings.Builder
	for i := range numEvents {
		if e&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(eventNames[i])
		}
	}
	return b.String()
}

// EndReason says why a flow left the table.
type EndReason uint8

// End reasons. The Evict reasons free a slot for a new flow when a budget is
// full; the Timeout reasons come from [Table.Expire].
const (
	// EndIdleTimeout: a confirmed flow saw no packet for IdleTimeout.
	EndIdleTimeout EndReason = iota
	// EndHalfOpenTimeout: an unconfirmed flow saw no packet for
	// HalfOpenTimeout.
	EndHalfOpenTimeout
	// EndClosedTimeout: a closed flow lingered for ClosedTimeout.
	EndClosedTimeout
	// EndEvictHalfOpen: the half-open budget was full; the oldest
	// unconfirmed flow made room.
	EndEvictHalfOpen
	// EndEvictLRU: the main budget was full; an approximately least
	// recently used confirmed flow made room.
	EndEvictLRU
	// EndEvictClosed: a budget was full; its oldest closed flow made room.
	EndEvictClosed
	// EndReused: a new SYN reused the 5-tuple of a closed flow.
	EndReused
	// EndFlush: [Table.Flush] ended the flow.
	EndFlush
	numEndReasons
)

var endReasonNames = [numEndReasons]string{
	"idle_timeout", "half_open_timeout", "closed_timeout",
	"evict_half_open", "evict_lru", "evict_closed", "reused", "flush",
}

// EndReasons lists every EndReason, so metric label values can be created
// up front.
var EndReasons = [...]EndReason{
	EndIdleTimeout, EndHalfOpenTimeout, EndClosedTimeout,
	EndEvictHalfOpen, EndEvictLRU, EndEvictClosed, EndReused, EndFlush,
}

// String returns the snake_case name used as a metric label value.
func (r EndReason) String() string {
	if r < numEndReasons {
		return endReasonNames[r]
	}
	return "unknown"
}

// IsEviction reports whether r is one of the Evict reasons.
func (r EndReason) IsEviction() bool {
	return r == EndEvictHalfOpen || r == EndEvictLRU || r == EndEvictClosed
}

// Flow is the compact state of one TCP or UDP conversation. The Table owns
// it: a *Flow is valid only until the next call to a Table method, and a
// callback's *Flow only during the callback.
type Flow struct {
	key Key

	// User is free for the caller, for example TLS analysis state bits
	// (fingerprinted, server hello seen). It is zero when the flow is
	// created and is never read by the Table.
	User uint64

	first, last int64
	queued      int64 // time the flow was last (re)queued on its list
	tSyn        int64
	tSynAck     int64
	tAck        int64

	packets [2]uint64
	bytes   [2]uint64
	retrans [2]uint32
	isn     [2]uint32
	nxt     [2]uint32

	st [2]*stream

	prev, next int32
	hash32     uint32

	state     State
	list      uint8
	clientIsA bool
	seqInit   [2]bool
	isnKnown  [2]bool
	noStream  [2]bool // reassembly stopped, skipped or disabled
	sawNonSYN [2]bool
	seen      [2]bool
	ttl       [2]uint8
}

// Key returns the flow's canonical key.
func (f *Flow) Key() Key { return f.key }

// Proto returns the flow's transport protocol.
func (f *Flow) Proto() capture.Proto { return f.key.Proto }

// Client returns the client's address and port: the SYN sender, or, without
// a SYN, the side that is not on a server port.
func (f *Flow) Client() netip.AddrPort {
	if f.clientIsA {
		return netip.AddrPortFrom(f.key.A, f.key.APort)
	}
	return netip.AddrPortFrom(f.key.B, f.key.BPort)
}

// Server returns the server's address and port.
func (f *Flow) Server() netip.AddrPort {
	if f.clientIsA {
		return netip.AddrPortFrom(f.key.B, f.key.BPort)
	}
	return netip.AddrPortFrom(f.key.A, f.key.APort)
}

// State returns the TCP state bits (only StateConfirmed and StateMidstream
// apply to UDP).
func (f *Flow) State() State { return f.state }

// First returns the time of the flow's first packet in Unix nanoseconds.
func (f *Flow) First() int64 { return f.first }

// Last returns the time of the flow's latest packet in Unix nanoseconds.
func (f *Flow) Last() int64 { return f.last }

// Packets returns the number of packets seen in direction d.
func (f *Flow) Packets(d Dir) uint64 { return f.packets[d&1] }

// Bytes returns the sum of IP lengths of the packets seen in direction d.
func (f *Flow) Bytes(d Dir) uint64 { return f.bytes[d&1] }

// Retransmits returns the number of retransmitted segments in direction d.
func (f *Flow) Retransmits(d Dir) uint32 { return f.retrans[d&1] }

// TTL returns the TTL (or hop limit) of the first packet in direction d, or
// zero if none was seen.
func (f *Flow) TTL(d Dir) uint8 { return f.ttl[d&1] }

// SynRTT returns the time from the first SYN to the first SYN-ACK in
// nanoseconds (the server-side round trip as seen by the sensor), and
// whether both were seen.
func (f *Flow) SynRTT() (int64, bool) {
	if f.state&(StateSYN|StateSYNACK) != StateSYN|StateSYNACK {
		return 0, false
	}
	return f.tSynAck - f.tSyn, true
}

// AckRTT returns the time from the first SYN-ACK to the client's ACK that
// completed the handshake in nanoseconds (the client-side round trip as seen
// by the sensor), and whether both were seen.
func (f *Flow) AckRTT() (int64, bool) {
	if f.state&(StateSYNACK|StateEstablished|StateAnswerUnseen) != StateSYNACK|StateEstablished {
		return 0, false
	}
	return f.tAck - f.tSynAck, true
}

// ClientStream returns the contiguous client-to-server bytes reassembled so
// far, starting at the client's ISN+1 (or at the first data segment seen
// when the handshake was missed). The Table owns the bytes: they stay
// unchanged until the next call to a Table method or to
// [Flow.StopReassembly]. It returns nil when no buffer is held.
func (f *Flow) ClientStream() []byte { return f.st[ClientToServer].bytes() }

// ServerStream is like [Flow.ClientStream] for server-to-client bytes.
func (f *Flow) ServerStream() []byte { return f.st[ServerToClient].bytes() }

// StopReassembly releases direction d's reassembly buffer to the pool and
// stops reassembly in that direction for the rest of the flow. Call it
// once the bytes needed (a ClientHello, the server's first flight) were
// parsed.
func (f *Flow) StopReassembly(d Dir) {
	d &= 1
	f.noStream[d] = true
	if s := f.st[d]; s != nil {
		f.st[d] = nil
		s.pool.put(s)
	}
}
