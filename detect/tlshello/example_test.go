package tlshello_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/monitor443/monitor443/detect/tlshello"
)

// Example reads the ClientHello at the start of a client-to-server stream,
// as a flow would after each new segment, and fingerprints it.
func Example() {
	b, err := os.ReadFile("testdata/chrome-tls-handshake.hex")
	if err != nil {
		panic(err)
	}
	stream, _ := hex.DecodeString(strings.TrimSpace(string(b)))

	buf := make([]byte, tlshello.DefaultMaxMessage) // one per worker
	var h tlshello.ClientHello                      // one per worker
	dst := make([]byte, 0, 4096)                    // one per worker

	// The first segment holds only 300 of the 517 bytes of the hello record.
	_, need, err := tlshello.NextHandshake(stream[:300], buf)
	fmt.Println(errors.Is(err, tlshello.ErrNeedMore), need)

	msg, _, err := tlshello.NextHandshake(stream, buf)
	if err != nil {
		panic(err)
	}
	if err := h.Parse(msg); err != nil {
		panic(err)
	}
	fmt.Printf("sni=%s alpn=%s\n", h.SNI, h.ALPN[0])
	fmt.Printf("ja3=%s\n", tlshello.AppendJA3Hash(dst[:0], &h))
	fmt.Printf("ja4=%s\n", tlshello.AppendJA4(dst[:0], &h, tlshello.TransportTCP))
	// Output:
	// true 217
	// sni=clientservices.googleapis.com alpn=h2
	// ja3=1c258ebef8eee2dfa3df6d8d07285af9
	// ja4=t13d1516h2_8daaf6152771_e5627efa2ab1
}
