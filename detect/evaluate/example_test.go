package evaluate_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/monitor443/monitor443/detect/evaluate"
)

// Example scores a two-day capture: a SYN flood and a client burst on day
// 1, a backup that drew a false alert, and one alert that overlaps no
// event.
func Example() {
	truth, err := evaluate.ReadTruth(strings.NewReader(`{
	  "start": "2026-01-05T00:00:00Z", "end": "2026-01-07T00:00:00Z",
	  "events": [
	    {"kind": "nightly_backup", "label": "nightly backup", "start": "2026-01-06T02:00:00Z", "end": "2026-01-06T02:20:00Z",
	     "target": "10.1.0.7:443", "rate": 400000, "rate_unit": "bytes/s"},
	    {"kind": "syn_flood", "label": "night: SYN flood 3x", "start": "2026-01-06T03:30:00Z", "end": "2026-01-06T03:33:00Z",
	     "target": "10.1.0.2:443", "target_name": "shop.example.com", "rate": 9, "rate_unit": "syn/s", "factor": 3, "target_latency": "2s"},
	    {"kind": "request_burst", "label": "client 40 hellos/s", "start": "2026-01-06T16:00:00Z", "end": "2026-01-06T16:02:00Z",
	     "target": "10.1.0.2:443", "rate": 40, "rate_unit": "hello/s", "target_latency": "5s"}
	  ]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	alerts, err := evaluate.ReadAlerts(strings.NewReader(`
{"id":"a1","group":"a1","kind":"syn_flood","state":"firing","scope":"global","target":"","start":"2026-01-06T03:30:00Z","detected":"2026-01-06T03:30:01Z","summary":"SYN flood"}
{"id":"a2","group":"a1","kind":"syn_flood","state":"firing","scope":"server","target":"10.1.0.2:443","start":"2026-01-06T03:30:00Z","detected":"2026-01-06T03:30:02Z","summary":"SYN flood"}
{"id":"a1","group":"a1","kind":"syn_flood","state":"resolved","scope":"global","target":"","start":"2026-01-06T03:30:00Z","end":"2026-01-06T03:35:00Z","summary":"SYN flood"}
{"id":"b1","group":"b1","kind":"bandwidth_spike","state":"firing","scope":"server","target":"10.1.0.7:443","start":"2026-01-06T02:00:03Z","detected":"2026-01-06T02:00:06Z","summary":"bandwidth 4x"}
{"id":"c1","group":"c1","kind":"request_burst","state":"firing","scope":"client","target":"10.3.0.9","start":"2026-01-06T16:00:00Z","detected":"2026-01-06T16:00:07Z","summary":"40 hellos/s"}
{"id":"d1","group":"d1","kind":"request_burst","state":"firing","scope":"sni","target":"api.example.com","start":"2026-01-06T21:14:00Z","detected":"2026-01-06T21:14:03Z","summary":"12 hellos/s"}
{"id":"w1","group":"w1","kind":"weak_cipher","state":"firing","scope":"client","target":"10.3.0.4","start":"2026-01-06T09:00:00Z","summary":"RC4 offered"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	report := evaluate.NewReport(evaluate.Score("seed 11", truth, alerts, evaluate.Options{}))
	if err := report.WriteMarkdown(os.Stdout); err != nil {
		fmt.Println(err)
	}
	for _, m := range report.Misses(evaluate.Targets{}) {
		fmt.Println("missed:", m)
	}
	// Output:
	// ### Run seed 11
	//
	// 2026-01-05 00:00 UTC to 2026-01-07 00:00 UTC (2 days), grace 1m0s.
	//
	// | attack              | kind          | start    | factor / rate | target           | detected | latency | target latency | alerts | groups | re-fired | first alert                   |
	// | ------------------- | ------------- | -------- | ------------- | ---------------- | -------- | ------- | -------------- | ------ | ------ | -------- | ----------------------------- |
	// | night: SYN flood 3x | syn_flood     | d1 03:30 | 3x            | shop.example.com | yes      | 1s      | yes (≤ 2s)     | 2      | 1      | 0        | syn_flood global              |
	// | client 40 hellos/s  | request_burst | d1 16:00 | 40 hello/s    | 10.1.0.2:443     | yes      | 7s      | **no** (≤ 5s)  | 1      | 1      | 0        | request_burst client 10.3.0.9 |
	//
	// | benign event   | kind           | start    | factor / rate  | target       | alerts drawn (episodes) |
	// | -------------- | -------------- | -------- | -------------- | ------------ | ----------------------- |
	// | nightly backup | nightly_backup | d1 02:00 | 400000 bytes/s | 10.1.0.7:443 | 1                       |
	//
	// False episodes: 2 in 2 days (1.00 per day), 1 unlabelled.
	// - d1 02:00:06 bandwidth_spike server 10.1.0.7:443: bandwidth 4x; during nightly backup
	// - d1 21:14:03 request_burst sni api.example.com: 12 hellos/s; unlabelled
	// missed: seed 11: client 40 hellos/s (request_burst at d1 16:00): detected after 7s, target 5s
}
