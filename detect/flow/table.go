package flow

import (
	"errors"
	"fmt"
	"time"

	"github.com/monitor443/monitor443/capture"
)

// Defaults for zero TableConfig fields.
const (
	DefaultMaxFlows              = 1 << 18
	DefaultMaxHalfOpen           = 1 << 16
	DefaultIdleTimeout           = 5 * time.Minute
	DefaultHalfOpenTimeout       = 30 * time.Second
	DefaultClosedTimeout         = 10 * time.Second
	DefaultClientStreamCap       = 16 << 10
	DefaultServerStreamCap       = 16 << 10
	DefaultMaxReassembly         = 1024
	DefaultMaxOutOfOrderSegments = 8
	DefaultMaxOutOfOrderBytes    = 16 << 10
)

// maxSlots bounds MaxFlows+MaxHalfOpen so slab positions fit an int32 and
// hash bits address the index.
const maxSlots = 1 << 30

// TableConfig configures a [Table]. Zero fields take the Default values.
type TableConfig struct {
	// MaxFlows bounds confirmed flows (two-way traffic seen).
	MaxFlows int
	// MaxHalfOpen bounds unconfirmed flows: SYN-only connection attempts,
	// and flows seen in one direction only. It is kept separately so a
	// flood of spoofed packets cannot push out confirmed flows.
	MaxHalfOpen int
	// IdleTimeout ends a confirmed flow after this long without packets.
	IdleTimeout time.Duration
	// HalfOpenTimeout ends an unconfirmed flow after this long without
	// packets.
	HalfOpenTimeout time.Duration
	// ClosedTimeout ends a flow this long after it closed (RST, or FIN in
	// both directions) and saw no further packet.
	ClosedTimeout time.Duration
	// ServerPorts are the ports that identify the server side of a flow
	// whose SYN was not seen. Default: 443.
	ServerPorts []uint16
	// ClientStreamCap is the number of client-to-server bytes reassembled
	// per flow; -1 disables client reassembly.
	ClientStreamCap int
	// ServerStreamCap is the number of server-to-client bytes reassembled
	// per flow; -1 disables server reassembly.
	ServerStreamCap int
	// MaxReassembly bounds the reassembly buffers of the Table (one per
	// flow direction being reassembled); -1 disables reassembly.
	MaxReassembly int
	// MaxOutOfOrderSegments bounds the out-of-order ranges held per stream
	// (at most 16).
	MaxOutOfOrderSegments int
	// MaxOutOfOrderBytes bounds the out-of-order bytes held per stream.
	MaxOutOfOrderBytes int
	// OnEnd, if set, is called with every flow that leaves the table
	// (eviction, timeout, reuse, flush) just before its slot and buffers
	// are recycled, so the caller can emit a record. It runs on the
	// calling goroutine inside Observe, Expire or Flush and must not call
	// back into the Table. f is valid only during the call.
	OnEnd func(f *Flow, r EndReason)
}

// Validate reports every invalid field of c together.
func (c TableConfig) Validate() error {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: must be >= 0, got %d", name, v))
		}
	}
	neg("max_flows", int64(c.MaxFlows))
	neg("max_half_open", int64(c.MaxHalfOpen))
	neg("idle_timeout", int64(c.IdleTimeout))
	neg("half_open_timeout", int64(c.HalfOpenTimeout))
	neg("closed_timeout", int64(c.ClosedTimeout))
	neg("max_out_of_order_bytes", int64(c.MaxOutOfOrderBytes))
	if c.ClientStreamCap < -1 {
		errs = append(errs, fmt.Errorf("client_stream_cap: must be >= -1, got %d", c.ClientStreamCap))
	}
	if c.ServerStreamCap < -1 {
		errs = append(errs, fmt.Errorf("server_stream_cap: must be >= -1, got %d", c.ServerStreamCap))
	}
	if c.MaxReassembly < -1 {
		errs = append(errs, fmt.Errorf("max_reassembly: must be >= -1, got %d", c.MaxReassembly))
	}
	if c.MaxOutOfOrderSegments < 0 || c.MaxOutOfOrderSegments > maxHeldSegments {
		errs = append(errs, fmt.Errorf("max_out_of_order_segments: must be in [0, %d], got %d",
			maxHeldSegments, c.MaxOutOfOrderSegments))
	}
	if int64(c.MaxFlows)+int64(c.MaxHalfOpen) > maxSlots {
		errs = append(errs, fmt.Errorf("max_flows + max_half_open: must be <= %d", maxSlots))
	}
	return errors.Join(errs...)
}

func (c TableConfig) withDefaults() TableConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxFlows, DefaultMaxFlows)
	def(&c.MaxHalfOpen, DefaultMaxHalfOpen)
	defD(&c.IdleTimeout, DefaultIdleTimeout)
	defD(&c.HalfOpenTimeout, DefaultHalfOpenTimeout)
	defD(&c.ClosedTimeout, DefaultClosedTimeout)
	def(&c.ClientStreamCap, DefaultClientStreamCap)
	def(&c.ServerStreamCap, DefaultServerStreamCap)
	def(&c.MaxReassembly, DefaultMaxReassembly)
	def(&c.MaxOutOfOrderSegments, DefaultMaxOutOfOrderSegments)
	def(&c.MaxOutOfOrderBytes, DefaultMaxOutOfOrderBytes)
	if c.ServerPorts == nil {
		c.ServerPorts = []uint16{443}
	}
	return c
}

// Stats holds the Table's counters and gauges. The fields are plain
// integers updated by the owning goroutine; [Table.Stats] returns a copy.
type Stats struct {
	// Flows is the number of flows in the table (gauge).
	Flows uint64
	// HalfOpen is the number of unconfirmed flows (gauge).
	HalfOpen uint64
	// Closed is the number of closed flows awaiting ClosedTimeout (gauge).
	Closed uint64
	// Created counts flows created.
	Created uint64
	// Confirmed counts flows moved from the half-open to the main budget.
	Confirmed uint64
	// Ended counts flows that left the table, by EndReason.
	Ended [numEndReasons]uint64
	// Packets counts packets observed; Ignored counts packets that were
	// neither TCP nor UDP.
	Packets, Ignored uint64
	// Retransmits counts retransmitted TCP segments.
	Retransmits uint64
	// UnseenAnswers counts handshakes completed without a SYN-ACK in the
	// capture: the client acknowledged an answer that took another path
	// or was lost at the tap (see [EventHandshakeComplete]).
	UnseenAnswers uint64
	// ReassemblyBuffers is the number of reassembly buffers in use
	// (gauge); ReassemblyBuffersAllocated the number allocated so far
	// (gauge, at most MaxReassembly).
	ReassemblyBuffers, ReassemblyBuffersAllocated uint64
	// ReassemblyBytes is the memory of allocated reassembly buffers in
	// bytes (gauge).
	ReassemblyBytes uint64
	// ReassemblyPoolExhausted counts flow directions that got no buffer
	// because all MaxReassembly buffers were in use.
	ReassemblyPoolExhausted uint64
	// ReassemblyCapExceeded counts flow directions that sent more bytes
	// than their stream cap.
	ReassemblyCapExceeded uint64
	// OutOfOrderHeld counts segments stored ahead of a gap.
	OutOfOrderHeld uint64
	// OutOfOrderDropped counts segments dropped because a stream's
	// out-of-order limits were reached.
	OutOfOrderDropped uint64
	// OutOfWindow counts segments that lay before a stream's start or
	// entirely beyond its cap.
	OutOfWindow uint64
	// Truncated counts segments whose captured payload was shorter than
	// the IP header announced (reassembly stalls at the missing bytes).
	Truncated uint64
}

// Evictions returns the sum of the eviction counters.
func (s *Stats) Evictions() uint64 {
	return s.Ended[EndEvictHalfOpen] + s.Ended[EndEvictLRU] + s.Ended[EndEvictClosed]
}

// Flow list identifiers. Each flow is on exactly one list: its budget class
// (half-open or main) times whether it is closed.
const (
	listHalfOpen = iota
	listHalfOpenClosed
	listMain
	listMainClosed
	numLists
	listFree = 0xff
)

type list struct{ head, tail int32 }

// Table is a bounded flow table. It is not safe for concurrent use; each
// worker goroutine owns one.
type Table struct {
	cfg      TableConfig
	flows    []Flow
	idx      index
	h        hasher
	lists    [numLists]list
	lcount   [numLists]int
	free     int32 // head of the free list, linked by Flow.next
	timeout  [numLists]int64
	pool     *pool
	capDir   [2]int
	srvPorts [1024]uint64
	stats    Stats
}

// NewTable returns a Table with all flow storage allocated. It panics if
// cfg is invalid; see [TableConfig.Validate].
func NewTable(cfg TableConfig) *Table {
	if err := cfg.Validate(); err != nil {
		panic("flow: invalid TableConfig: " + err.Error())
	}
	cfg = cfg.withDefaults()
	n := cfg.MaxFlows + cfg.MaxHalfOpen
	t := &Table{
		cfg:   cfg,
		flows: make([]Flow, n),
		idx:   newIndex(n),
		h:     newHasher(),
	}
	for i := range t.lists {
		t.lists[i] = list{-1, -1}
	}
	for i := range t.flows {
		t.flows[i].list = listFree
		t.flows[i].next = int32(i + 1)
	}
	t.flows[n-1].next = -1
	t.timeout = [numLists]int64{
		listHalfOpen:       int64(cfg.HalfOpenTimeout),
		listHalfOpenClosed: int64(cfg.ClosedTimeout),
		listMain:           int64(cfg.IdleTimeout),
		listMainClosed:     int64(cfg.ClosedTimeout),
	}
	t.capDir = [2]int{cfg.ClientStreamCap, cfg.ServerStreamCap}
	if cfg.MaxReassembly > 0 && max(cfg.ClientStreamCap, cfg.ServerStreamCap) > 0 {
		t.pool = newPool(cfg.MaxReassembly, max(cfg.ClientStreamCap, cfg.ServerStreamCap))
	}
	for _, p := range cfg.ServerPorts {
		t.srvPorts[p>>6] |= 1 << (p & 63)
	}
	return t
}

func (t *Table) isServerPort(p uint16) bool { return t.srvPorts[p>>6]&(1<<(p&63)) != 0 }

// Len returns the number of flows in the table.
func (t *Table) Len() int {
	return t.lcount[0] + t.lcount[1] + t.lcount[2] + t.lcount[3]
}

// HalfOpen returns the number of unconfirmed flows in the table.
func (t *Table) HalfOpen() int { return t.lcount[listHalfOpen] + t.lcount[listHalfOpenClosed] }

// Stats returns a copy of the counters. Call it from the goroutine that
// owns the Table, for example when an interval closes, and publish the copy.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Flows = uint64(t.Len())
	s.HalfOpen = uint64(t.HalfOpen())
	s.Closed = uint64(t.lcount[listHalfOpenClosed] + t.lcount[listMainClosed])
	if t.pool != nil {
		s.ReassemblyBuffers = uint64(t.pool.inUse)
		s.ReassemblyBuffersAllocated = uint64(t.pool.alloc)
		s.ReassemblyBytes = uint64(t.pool.alloc) * uint64(t.pool.bufSize)
	}
	return s
}

// Lookup returns the flow with key k, or nil. The *Flow is valid until the
// next call to a Table method.
func (t *Table) Lookup(k Key) *Flow {
	h := t.h.hash(&k)
	if i := t.idx.lookup(uint32(h>>32), &k, t.flows); i >= 0 {
		return &t.flows[i]
	}
	return nil
}

// Observe accounts packet p to its flow, creating the flow if needed, and
// returns the flow and the events p caused. The *Flow is valid until the
// next call to a Table method. p.Payload is copied into the flow's
// reassembly buffers, never kept. Packets that are neither TCP nor UDP
// return (nil, 0). Observe does not allocate once the reassembly pool is
// warm.
func (t *Table) Observe(p *capture.Packet) (*Flow, Events) {
	if p.Proto != capture.ProtoTCP && p.Proto != capture.ProtoUDP {
		t.stats.Ignored++
		return nil, 0
	}
	t.stats.Packets++
	k, srcIsA := KeyOf(p)
	h := t.h.hash(&k)
	h32 := uint32(h >> 32)
	var ev Events
	pos := t.idx.lookup(h32, &k, t.flows)
	if pos >= 0 && p.Proto == capture.ProtoTCP && p.Flags&(capture.FlagSYN|capture.FlagACK|capture.FlagRST) == capture.FlagSYN {
		// A fresh SYN on a closed flow starts a new connection.
		f := &t.flows[pos]
		if f.state.Has(StateClosed) && !(f.state.Has(StateSYN) && f.isn[ClientToServer] == p.Seq) {
			t.end(pos, EndReused)
			pos = -1
		}
	}
	if pos < 0 {
		pos = t.create(&k, h32, p, srcIsA)
		ev |= EventNewFlow
	}
	f := &t.flows[pos]
	d := ServerToClient
	if srcIsA == f.clientIsA {
		d = ClientToServer
	}
	if !f.seen[d] {
		f.seen[d] = true
		f.ttl[d] = p.TTL
	}
	f.packets[d]++
	f.bytes[d] += uint64(p.IPLen)
	if p.Timestamp > f.last {
		f.last = p.Timestamp
	}
	if p.Proto == capture.ProtoTCP {
		ev |= t.tcp(pos, f, p, d, ev&EventNewFlow != 0)
	} else {
		f.sawNonSYN[d] = true
	}
	if f.state&StateConfirmed == 0 && f.sawNonSYN[0] && f.sawNonSYN[1] ||
		f.state&(StateEstablished|StateConfirmed) == StateEstablished {
		t.confirm(pos)
		ev |= EventConfirmed
	}
	return f, ev
}

func (t *Table) tcp(pos int32, f *Flow, p *capture.Packet, d Dir, isNew bool) Events {
	var ev Events
	fl := p.Flags
	syn := fl&capture.FlagSYN != 0
	ack := fl&capture.FlagACK != 0
	if isNew && syn && !ack {
		ev |= EventNewHalfOpen
	}
	switch {
	case syn && !ack:
		ev |= EventSYN
		if !isNew && d == ClientToServer && f.state.Has(StateSYN) && f.isnKnown[d] && f.isn[d] == p.Seq {
			ev |= EventSYNRepeat
		}
		if d == ClientToServer && f.state&(StateSYN|StateEstablished) == 0 {
			f.state |= StateSYN
			f.tSyn = p.Timestamp
			f.isn[d] = p.Seq
			f.isnKnown[d] = true
		}
	case syn && ack:
		ev |= EventSYNACK
		if d == ServerToClient && (f.state&(StateSYNACK|StateEstablished) == 0 ||
			f.state&(StateSYNACK|StateAnswerUnseen) == StateAnswerUnseen) {
			f.state |= StateSYNACK
			f.tSynAck = p.Timestamp
			f.isn[d] = p.Seq
			f.isnKnown[d] = true
			if !f.isnKnown[ClientToServer] {
				f.isn[ClientToServer] = p.Ack - 1
				f.isnKnown[ClientToServer] = true
				if !f.seqInit[ClientToServer] {
					f.seqInit[ClientToServer] = true
					f.nxt[ClientToServer] = p.Ack
				}
			}
		}
	default:
		f.sawNonSYN[d] = true
		if d == ClientToServer && ack && f.state&(StateSYNACK|StateEstablished) == StateSYNACK &&
			p.Ack == f.isn[ServerToClient]+1 {
			f.state |= StateEstablished
			f.tAck = p.Timestamp
			ev |= EventHandshakeComplete
		} else if d == ClientToServer && ack && f.state&(StateSYN|StateSYNACK|StateEstablished) == StateSYN &&
			f.packets[ServerToClient] == 0 && f.isnKnown[d] && p.Seq == f.isn[d]+1 {
			// The client's first segment after its SYN acknowledges an
			// answer the capture did not see (a tap that sees one
			// direction, asymmetric routing, a SYN-ACK lost at the tap):
			// a client acknowledges only a SYN-ACK it received, so the
			// handshake is complete. Without this, every attempt on a
			// capture of one direction counts as unanswered. No round
			// trip is known.
			f.state |= StateEstablished | StateAnswerUnseen
			ev |= EventHandshakeComplete
			t.stats.UnseenAnswers++
		}
	}

	// Sequence tracking: a segment that starts below the highest sequence
	// number seen in its direction repeats data (keep-alives excepted).
	segLen := p.PayloadLen
	if syn {
		segLen++
	}
	if fl&capture.FlagFIN != 0 {
		segLen++
	}
	if fl&capture.FlagRST == 0 {
		if !f.seqInit[d] {
			f.seqInit[d] = true
			f.nxt[d] = p.Seq + segLen
		} else if segLen > 0 {
			end := p.Seq + segLen
			if int32(p.Seq-f.nxt[d]) < 0 {
				keepAlive := p.PayloadLen <= 1 && fl&(capture.FlagSYN|capture.FlagFIN) == 0 && p.Seq == f.nxt[d]-1
				if !keepAlive {
					ev |= EventRetransmit
					f.retrans[d]++
					t.stats.Retransmits++
				}
			}
			if int32(end-f.nxt[d]) > 0 {
				f.nxt[d] = end
			}
		}
	}

	if fl&capture.FlagFIN != 0 {
		bit := StateFINClient
		if d == ServerToClient {
			bit = StateFINServer
		}
		if f.state&bit == 0 {
			f.state |= bit
			ev |= EventFIN
		}
	}
	if fl&capture.FlagRST != 0 {
		f.state |= StateRST
		ev |= EventRST
	}
	if f.state&StateClosed == 0 && (f.state&StateRST != 0 ||
		f.state&(StateFINClient|StateFINServer) == StateFINClient|StateFINServer) {
		f.state |= StateClosed
		ev |= EventClosed
		t.close(pos)
	}

	if p.PayloadLen > 0 && !f.noStream[d] && t.pool != nil && t.capDir[d] > 0 {
		ev |= t.reassemble(f, p, d)
	}
	return ev
}

func (t *Table) reassemble(f *Flow, p *capture.Packet, d Dir) Events {
	data := p.Payload
	if uint32(len(data)) < p.PayloadLen {
		t.stats.Truncated++
	}
	if len(data) == 0 {
		return 0
	}
	seq := p.Seq
	if p.Flags&capture.FlagSYN != 0 {
		seq++
	}
	s := f.st[d]
	if s == nil {
		base := seq
		if f.isnKnown[d] {
			base = f.isn[d] + 1
		}
		s = t.pool.get(t.capDir[d], base)
		if s == nil {
			t.stats.ReassemblyPoolExhausted++
			f.noStream[d] = true
			return 0
		}
		f.st[d] = s
	}
	capHit := s.capHit
	r := s.add(seq, data, t.cfg.MaxOutOfOrderSegments, uint32(t.cfg.MaxOutOfOrderBytes))
	if s.capHit && !capHit {
		t.stats.ReassemblyCapExceeded++
	}
	switch r {
	case addGrew:
		if d == ClientToServer {
			return EventClientDataReady
		}
		return EventServerDataReady
	case addHeld:
		t.stats.OutOfOrderHeld++
	case addDropped:
		t.stats.OutOfOrderDropped++
	case addOutWindow:
		t.stats.OutOfWindow++
	}
	return 0
}
