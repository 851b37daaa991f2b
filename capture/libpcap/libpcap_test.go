//go:build libpcap && cgo

package libpcap_test

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"

	"github.com/monitor443/monitor443/capture/libpcap"
)

func TestFilterExpr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tcp, udp []uint16
		want     string
	}{
		{name: "none", want: ""},
		{name: "tcp 443", tcp: []uint16{443}, want: "(tcp port 443) or (vlan and (tcp port 443))"},
		{
			name: "tcp and udp", tcp: []uint16{443, 8443}, udp: []uint16{443},
			want: "(tcp port 443 or tcp port 8443 or udp port 443) or (vlan and (tcp port 443 or tcp port 8443 or udp port 443))",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := libpcap.FilterExpr(tt.tcp, tt.udp); got != tt.want {
				t.Errorf("FilterExpr(%v, %v) = %q, want %q", tt.tcp, tt.udp, got, tt.want)
			}
		})
	}
}

// frame builds an Ethernet frame carrying an IPv4 TCP or UDP packet, with an
// optional 802.1Q tag.
func frame(t *testing.T, vlan uint16, udp bool, src, dst uint16) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{2, 0, 0, 0, 0, 1},
		DstMAC:       net.HardwareAddr{2, 0, 0, 0, 0, 2},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: net.IPv4(198, 51, 100, 2), DstIP: net.IPv4(198, 51, 100, 1)}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	if vlan != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: vlan, Type: layers.EthernetTypeIPv4})
	}
	ls = append(ls, ip)
	if udp {
		ip.Protocol = layers.IPProtocolUDP
		u := &layers.UDP{SrcPort: layers.UDPPort(src), DstPort: layers.UDPPort(dst)}
		if err := u.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, u)
	} else {
		ip.Protocol = layers.IPProtocolTCP
		tc := &layers.TCP{SrcPort: layers.TCPPort(src), DstPort: layers.TCPPort(dst), SYN: true, Window: 1024}
		if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, tc)
	}
	ls = append(ls, gopacket.Payload("m443"))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFilterExprMatches compiles the expression with libpcap itself and runs
// it over hand-built frames.
func TestFilterExprMatches(t *testing.T) {
	t.Parallel()
	expr := libpcap.FilterExpr([]uint16{443}, []uint16{443})
	bpf, err := pcap.NewBPF(layers.LinkTypeEthernet, 262144, expr)
	if err != nil {
		t.Fatalf("libpcap rejects %q: %v", expr, err)
	}
	tests := []struct {
		name     string
		vlan     uint16
		udp      bool
		src, dst uint16
		want     bool
	}{
		{name: "tcp to 443", src: 40000, dst: 443, want: true},
		{name: "tcp from 443", src: 443, dst: 40000, want: true},
		{name: "udp to 443", udp: true, src: 40000, dst: 443, want: true},
		{name: "tagged tcp to 443", vlan: 7, src: 40000, dst: 443, want: true},
		{name: "tagged udp from 443", vlan: 7, udp: true, src: 443, dst: 40000, want: true},
		{name: "tcp to 8080", src: 40000, dst: 8080},
		{name: "udp to 53", udp: true, src: 40000, dst: 53},
		{name: "tagged tcp to 80", vlan: 7, src: 40000, dst: 80},
	}
	for _, tt := range tests {
		data := frame(t, tt.vlan, tt.udp, tt.src, tt.dst)
		ci := gopacket.CaptureInfo{CaptureLength: len(data), Length: len(data)}
		if got := bpf.Matches(ci, data); got != tt.want {
			t.Errorf("%s: filter %q matches = %v, want %v", tt.name, expr, got, tt.want)
		}
	}
}
