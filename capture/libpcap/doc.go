// Package libpcap is monitor443's portable live capture source, built on
// libpcap through gopacket/pcap. It needs cgo and libpcap's headers
// (Debian: libpcap-dev), so it is compiled only with the build tag
// "libpcap"; on Linux the afpacket source is the default and faster.
//
// It may import only the capture package (and gopacket). A Source is owned
// by one worker goroutine; Stats may be called from any goroutine.
package libpcap
