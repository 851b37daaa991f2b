package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// PortFilter returns a classic BPF program for Ethernet frames that keeps
// TCP and UDP packets on the given ports and drops the rest in the kernel.
//
// It is a pre-filter: frames it cannot judge cheaply (802.1Q/802.1ad tagged
// frames, IPv4 fragments, IPv6 with extension headers) are kept and judged by
// the Decoder, which is authoritative. Frames that are certainly not
// monitored (ARP, ICMP, TCP on other ports, ...) never reach user space.
func PortFilter(tcpPorts, udpPorts []uint16) ([]bpf.RawInstruction, error) {
	a := &asm{}
	const (
		accept = "accept"
		drop   = "drop"
	)
	// Ethernet type.
	a.ins(bpf.LoadAbsolute{Off: 12, Size: 2})
	a.jeq(0x0800, "ip4")
	a.jeq(0x86dd, "ip6")
	a.jeq(0x8100, accept)
	a.jeq(0x88a8, accept)
	a.jeq(0x9100, accept)
	a.jmp(drop)

	a.label("ip4")
	a.ins(bpf.LoadAbsolute{Off: 20, Size: 2})
	a.jset(0x1fff, accept) // a fragment: the decoder counts it
	a.ins(bpf.LoadAbsolute{Off: 23, Size: 1})
	a.jeq(6, "tcp4")
	a.jeq(17, "udp4")
	a.jmp(drop)
	a.label("tcp4")
	a.ins(bpf.LoadMemShift{Off: 14})
	a.ports(bpf.LoadIndirect{Off: 14, Size: 2}, bpf.LoadIndirect{Off: 16, Size: 2}, tcpPorts, accept, drop)
	a.label("udp4")
	a.ins(bpf.LoadMemShift{Off: 14})
	a.ports(bpf.LoadIndirect{Off: 14, Size: 2}, bpf.LoadIndirect{Off: 16, Size: 2}, udpPorts, accept, drop)

	a.label("ip6")
	a.ins(bpf.LoadAbsolute{Off: 20, Size: 1})
	a.jeq(6, "tcp6")
	a.jeq(17, "udp6")
	for _, ext := range []uint32{0, 43, 44, 60} {
		a.jeq(ext, accept)
	}
	a.jmp(drop)
	a.label("tcp6")
	a.ports(bpf.LoadAbsolute{Off: 54, Size: 2}, bpf.LoadAbsolute{Off: 56, Size: 2}, tcpPorts, accept, drop)
	a.label("udp6")
	a.ports(bpf.LoadAbsolute{Off: 54, Size: 2}, bpf.LoadAbsolute{Off: 56, Size: 2}, udpPorts, accept, drop)

	a.label(accept)
	a.ins(bpf.RetConstant{Val: 262144})
	a.label(drop)
	a.ins(bpf.RetConstant{Val: 0})
	return a.assemble()
}

// asm is a tiny two-pass BPF assembler with symbolic jump targets.
type asm struct {
	prog   []asmIns
	labels map[string]int
}

type asmIns struct {
	ins        bpf.Instruction
	cond       bpf.JumpTest
	val        uint32
	target     string // conditional: jump here when true; else fall through
	jump       bool   // unconditional jump to target
	isCondJump bool
}

func (a *asm) ins(i bpf.Instruction) { a.prog = append(a.prog, asmIns{ins: i}) }
func (a *asm) jeq(v uint32, target string) {
	a.prog = append(a.prog, asmIns{isCondJump: true, cond: bpf.JumpEqual, val: v, target: target})
}

func (a *asm) jset(v uint32, target string) {
	a.prog = append(a.prog, asmIns{isCondJump: true, cond: bpf.JumpBitsSet, val: v, target: target})
}
func (a *asm) jmp(target string) { a.prog = append(a.prog, asmIns{jump: true, target: target}) }
func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.prog)
}

// ports emits: load src port; if in set goto yes; load dst port; if in set
// goto yes; goto no.
func (a *asm) ports(src, dst bpf.Instruction, set []uint16, yes, no string) {
	for _, load := range []bpf.Instruction{src, dst} {
		a.ins(load)
		for _, p := range set {
			a.jeq(uint32(p), yes)
		}
	}
	a.jmp(no)
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	out := make([]bpf.Instruction, len(a.prog))
	for i, p := range a.prog {
		switch {
		case p.isCondJump || p.jump:
			t, ok := a.labels[p.target]
			if !ok {
				return nil, fmt.Errorf("bpf: unknown label %q", p.target)
			}
			skip := t - i - 1
			if skip < 0 || (p.isCondJump && skip > 255) {
				return nil, fmt.Errorf("bpf: jump to %q out of range (%d)", p.target, skip)
			}
			if p.jump {
				out[i] = bpf.Jump{Skip: uint32(skip)}
			} else {
				out[i] = bpf.JumpIf{Cond: p.cond, Val: p.val, SkipTrue: uint8(skip)}
			}
		default:
			out[i] = p.ins
		}
	}
	return bpf.Assemble(out)
}
