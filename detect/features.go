package detect

// Features are one interval's traffic figures for one scope. Rates are
// per interval; the engine divides by the interval length where it needs
// per-second values.
type Features struct {
	// Start is the interval's start in packet time (Unix ns).
	Start int64
	// Packets and bytes client→server (In) and server→client (Out).
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
	// TCP handshake and teardown counts.
	SYN, SYNACK, RST, FIN uint64
	// NewConns counts new flows; Handshakes counts completed 3-way
	// handshakes; ClientHellos counts parsed TLS ClientHellos.
	NewConns, Handshakes, ClientHellos uint64
	// UDPPackets and UDPBytes are the UDP share of the packet and byte
	// counts above, per direction (0 = in, 1 = out).
	UDPPackets, UDPBytes [2]uint64
	// QUICInitials counts decrypted client Initial packets; QUICConns
	// counts new QUIC connections; QUICHellos counts the ClientHellos (also
	// in ClientHellos) that came in QUIC Initials. QUICReturned counts QUIC
	// connections whose client sent a datagram after the server's first
	// one: it received the server's packet at its address, so the address
	// is real (QUIC's analogue of a completed TCP handshake).
	QUICInitials, QUICConns, QUICHellos, QUICReturned uint64
	// HandshakesLate and QUICReturnedLate are the handshakes and returned
	// QUIC attempts (also in Handshakes and QUICReturned) of flows that
	// began before this interval: they answer an earlier interval's
	// attempts (see detect.attempts).
	HandshakesLate, QUICReturnedLate uint64
	// Retransmits counts retransmitted TCP segments.
	Retransmits uint64
	// SYNRepeats counts the SYNs (also in SYN) that repeat their flow's
	// attempt with the same initial sequence number: a client's stack
	// retrying one connection, not a new attempt.
	SYNRepeats uint64
	// DarkSYNs counts the new attempts (SYNs in SYN, not in SYNRepeats)
	// at addresses that never answered on a monitored port: probes of
	// unused address space, not attempts at a server. Global scope only;
	// zero when no server has answered yet or the server table is full
	// (then dark and live addresses cannot be told apart).
	DarkSYNs uint64
	// SYNSourceRepeats counts the new attempts at servers (in SYN, not in
	// SYNRepeats or DarkSYNs) whose source already made one in the
	// interval; HandshakeSourceRepeats counts the handshakes (in
	// Handshakes) whose client already completed one in the interval, and
	// HandshakeLateSourceRepeats those of them that are also in
	// HandshakesLate. Global scope only (see detect.srcSet).
	SYNSourceRepeats, HandshakeSourceRepeats, HandshakeLateSourceRepeats uint64
	// QUICSourceRepeats, QUICReturnSourceRepeats and
	// QUICReturnLateSourceRepeats are the same for QUIC: new connections
	// (in QUICConns) and returned ones (in QUICReturned, and of those in
	// QUICReturnedLate) whose client already made one in the interval.
	// Global scope only.
	QUICSourceRepeats, QUICReturnSourceRepeats, QUICReturnLateSourceRepeats uint64
	// HalfOpen is the number of half-open flows at the interval's end.
	HalfOpen uint64
}

// Add adds o's counts to f (HalfOpen adds too: workers own disjoint
// flows).
func (f *Features) Add(o *Features) {
	f.PacketsIn += o.PacketsIn
	f.PacketsOut += o.PacketsOut
	f.BytesIn += o.BytesIn
	f.BytesOut += o.BytesOut
	f.SYN += o.SYN
	f.SYNACK += o.SYNACK
	f.RST += o.RST
	f.FIN += o.FIN
	f.NewConns += o.NewConns
	f.Handshakes += o.Handshakes
	f.ClientHellos += o.ClientHellos
	for i := range 2 {
		f.UDPPackets[i] += o.UDPPackets[i]
		f.UDPBytes[i] += o.UDPBytes[i]
	}
	f.QUICInitials += o.QUICInitials
	f.QUICConns += o.QUICConns
	f.QUICHellos += o.QUICHellos
	f.QUICReturned += o.QUICReturned
	f.HandshakesLate += o.HandshakesLate
	f.QUICReturnedLate += o.QUICReturnedLate
	f.Retransmits += o.Retransmits
	f.SYNRepeats += o.SYNRepeats
	f.DarkSYNs += o.DarkSYNs
	f.SYNSourceRepeats += o.SYNSourceRepeats
	f.HandshakeSourceRepeats += o.HandshakeSourceRepeats
	f.HandshakeLateSourceRepeats += o.HandshakeLateSourceRepeats
	f.QUICSourceRepeats += o.QUICSourceRepeats
	f.QUICReturnSourceRepeats += o.QUICReturnSourceRepeats
	f.QUICReturnLateSourceRepeats += o.QUICReturnLateSourceRepeats
	f.HalfOpen += o.HalfOpen
}

// Bytes returns the bytes in both directions.
func (f *Features) Bytes() uint64 { return f.BytesIn + f.BytesOut }

// Packets returns the packets in both directions.
func (f *Features) Packets() uint64 { return f.PacketsIn + f.PacketsOut }
