package synth_test

import (
	"bytes"
	"fmt"
	"log"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

// Example writes two minutes of light traffic with a SYN flood to a pcap in
// memory and prints the injected events from the ground truth.
func Example() {
	cfg := synth.Config{
		Seed:     1,
		Duration: 2 * time.Minute,
		ConnRate: 0.5,
		Events: []synth.Event{
			{Kind: synth.SYNFlood, Start: time.Minute, Duration: 10 * time.Second, Rate: 300},
		},
	}
	var pcap bytes.Buffer // a file in real use
	truth, err := synth.Generate(&pcap, cfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range truth.Events {
		fmt.Println(e.Kind, e.Start.Format(time.TimeOnly), e.End.Format(time.TimeOnly), e.Target, e.Spoofed)
	}
	// Output:
	// syn_flood 00:01:00 00:01:10 198.18.0.1:443 true
}

// ExamplePresets lists the named configurations.
func ExamplePresets() {
	for _, name := range []string{"bench", "day", "demo", "eval", "week"} {
		cfg := synth.Presets()[name]
		fmt.Printf("%s: %v, %d events\n", name, cfg.Duration, len(cfg.Events))
	}
	// Output:
	// bench: 1m0s, 0 events
	// day: 24h0m0s, 0 events
	// demo: 3m0s, 2 events
	// eval: 2h0m0s, 6 events
	// week: 168h0m0s, 1 events
}
