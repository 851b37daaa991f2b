// Package afpacket is monitor443's live capture source on Linux: an
// AF_PACKET socket with a TPACKET_V3 memory-mapped ring (gopacket/afpacket),
// joined to a kernel fanout group so that several workers share one
// interface and both directions of a flow reach the same worker.
//
// It may import only the capture package (and gopacket, x/sys). It needs
// cgo and CAP_NET_RAW. Each Source is owned by one worker goroutine; Stats
// may be called from any goroutine.
//
// # Capacity
//
// Each socket owns a ring of RingMiB mebibytes. When the ring is full the
// kernel drops frames and counts them; Stats reports them as KernelDrops.
// The monitored ports are filtered in the kernel with a classic BPF
// pre-filter (see capture.PortFilter), so unrelated traffic costs no copy.
package afpacket
