package capture

import (
	"encoding/binary"
	"errors"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Layer types that gopacket lacks. The numbers sit far above gopacket's own.
var (
	layerTypeLinuxSLL2 = gopacket.RegisterLayerType(14276, gopacket.LayerTypeMetadata{Name: "LinuxSLL2"})
	layerTypeRawIP     = gopacket.RegisterLayerType(14101, gopacket.LayerTypeMetadata{Name: "RawIP"})
)

var (
	errShortSLL2 = errors.New("linux sll2 header shorter than 20 bytes")
	errEmptyRaw  = errors.New("raw ip frame is empty")
)

// linuxSLL2 decodes the Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2,
// written by captures on the "any" device since libpcap 1.10).
type linuxSLL2 struct {
	layers.BaseLayer
	protocol layers.EthernetType
}

func (l *linuxSLL2) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errShortSLL2
	}
	l.protocol = layers.EthernetType(binary.BigEndian.Uint16(data[0:2]))
	l.Contents, l.Payload = data[:20], data[20:]
	return nil
}

func (l *linuxSLL2) CanDecode() gopacket.LayerClass    { return layerTypeLinuxSLL2 }
func (l *linuxSLL2) NextLayerType() gopacket.LayerType { return l.protocol.LayerType() }

// rawIP starts decoding at an IP header of either version (LINKTYPE_RAW).
type rawIP struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (r *rawIP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) == 0 {
		df.SetTruncated()
		return errEmptyRaw
	}
	switch data[0] >> 4 {
	case 4:
		r.next = layers.LayerTypeIPv4
	case 6:
		r.next = layers.LayerTypeIPv6
	default:
		r.next = gopacket.LayerTypeZero
	}
	r.Contents, r.Payload = data[:0], data
	return nil
}

func (r *rawIP) CanDecode() gopacket.LayerClass    { return layerTypeRawIP }
func (r *rawIP) NextLayerType() gopacket.LayerType { return r.next }
