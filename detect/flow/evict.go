package flow

import "github.com/monitor443/monitor443/capture"

// create allocates a flow for p in the half-open budget, evicting if the
// budget is full, and returns its slab position.
func (t *Table) create(k *Key, h32 uint32, p *capture.Packet, srcIsA bool) int32 {
	if t.HalfOpen() >= t.cfg.MaxHalfOpen {
		t.evict(0)
	}
	pos := t.free
	f := &t.flows[pos]
	t.free = f.next
	*f = Flow{key: *k, hash32: h32, first: p.Timestamp, last: p.Timestamp, queued: p.Timestamp}

	clientIsSrc := true
	syn := p.Flags&capture.FlagSYN != 0
	if p.Proto == capture.ProtoTCP && syn {
		clientIsSrc = p.Flags&capture.FlagACK == 0
	} else {
		f.state |= StateMidstream
		sp, dp := t.isServerPort(p.SrcPort), t.isServerPort(p.DstPort)
		switch {
		case dp && !sp:
			clientIsSrc = true
		case sp && !dp:
			clientIsSrc = false
		default:
			clientIsSrc = p.DstPort <= p.SrcPort
		}
	}
	f.clientIsA = clientIsSrc == srcIsA
	if t.pool == nil {
		f.noStream = [2]bool{true, true}
	}
	t.idx.insert(h32, pos)
	t.link(listHalfOpen, pos)
	t.stats.Created++
	return pos
}

// confirm moves the flow at pos from the half-open budget to the main one.
func (t *Table) confirm(pos int32) {
	if t.lcount[listMain]+t.lcount[listMainClosed] >= t.cfg.MaxFlows {
		t.evict(1)
	}
	f := &t.flows[pos]
	from := int(f.list)
	t.unlink(pos)
	f.state |= StateConfirmed
	f.queued = f.last
	t.link(from+listMain, pos)
	t.stats.Confirmed++
}

// close moves the flow at pos to its budget's closed list.
func (t *Table) close(pos int32) {
	f := &t.flows[pos]
	l := int(f.list)
	if l == listHalfOpen || l == listMain {
		t.unlink(pos)
		f.queued = f.last
		t.link(l+1, pos)
	}
}

// evict ends one flow of budget class c (0 half-open, 1 main): the oldest
// closed flow if any; otherwise, for half-open, the head of its FIFO; for
// main, the head of its list after giving up to 8 recently used flows a
// second chance (CLOCK-style approximate LRU).
func (t *Table) evict(c int) {
	closed, open := listHalfOpenClosed, listHalfOpen
	if c == 1 {
		closed, open = listMainClosed, listMain
	}
	if i := t.lists[closed].head; i >= 0 {
		t.end(i, EndEvictClosed)
		return
	}
	if c == 0 {
		t.end(t.lists[open].head, EndEvictHalfOpen)
		return
	}
	for range 8 {
		i := t.lists[open].head
		f := &t.flows[i]
		if f.last <= f.queued || t.lists[open].tail == i {
			break
		}
		f.queued = f.last
		t.unlink(i)
		t.link(open, i)
	}
	t.end(t.lists[open].head, EndEvictLRU)
}

// end removes the flow at pos, after handing it to OnEnd.
func (t *Table) end(pos int32, r EndReason) {
	f := &t.flows[pos]
	if t.cfg.OnEnd != nil {
		t.cfg.OnEnd(f, r)
	}
	for d := range f.st {
		if s := f.st[d]; s != nil {
			f.st[d] = nil
			s.pool.put(s)
		}
	}
	t.idx.remove(f.hash32, pos)
	t.unlink(pos)
	f.list = listFree
	f.next = t.free
	t.free = pos
	t.stats.Ended[r]++
}

var timeoutReason = [numLists]EndReason{
	listHalfOpen:       EndHalfOpenTimeout,
	listHalfOpenClosed: EndClosedTimeout,
	listMain:           EndIdleTimeout,
	listMainClosed:     EndClosedTimeout,
}

// Expire ends every flow whose timeout passed at packet time now (Unix
// nanoseconds), calling OnEnd for each, and returns how many ended. Call
// it from the owning goroutine about once a second of packet time (or on a
// wall-clock heartbeat when the link is idle). Each list is ordered by
// when its flows were queued, so Expire visits only flows that are due,
// plus at most once each flow that was active since it was queued.
func (t *Table) Expire(now int64) int {
	n := 0
	for l := range numLists {
		to := t.timeout[l]
		for {
			i := t.lists[l].head
			if i < 0 {
				break
			}
			f := &t.flows[i]
			if f.queued+to > now {
				break
			}
			if f.last+to > now {
				f.queued = f.last
				t.unlink(i)
				t.link(l, i)
				continue
			}
			t.end(i, timeoutReason[l])
			n++
		}
	}
	return n
}

// Flush ends every flow with EndFlush, calling OnEnd for each, for example
// at shutdown or at the end of a capture file.
func (t *Table) Flush() {
	for l := range numLists {
		for t.lists[l].head >= 0 {
			t.end(t.lists[l].head, EndFlush)
		}
	}
}

func (t *Table) link(l int, pos int32) {
	f := &t.flows[pos]
	f.list = uint8(l)
	f.next = -1
	f.prev = t.lists[l].tail
	if f.prev >= 0 {
		t.flows[f.prev].next = pos
	} else {
		t.lists[l].head = pos
	}
	t.lists[l].tail = pos
	t.lcount[l]++
}

func (t *Table) unlink(pos int32) {
	f := &t.flows[pos]
	l := int(f.list)
	if f.prev >= 0 {
		t.flows[f.prev].next = f.next
	} else {
		t.lists[l].head = f.next
	}
	if f.next >= 0 {
		t.flows[f.next].prev = f.prev
	} else {
		t.lists[l].tail = f.prev
	}
	t.lcount[l]--
}
