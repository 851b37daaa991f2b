// Package evaluate scores a detection run against labelled truth: it reads
// the alerts monitor443 wrote with -output.alerts while replaying a
// labelled capture, and the capture's truth file, and reports which attacks
// were detected, how fast, how many alerts and groups each drew, which
// false alerts each benign event drew, and how many false alert episodes
// there were per day. It is the library behind monitor443 eval; [Main] is
// that subcommand.
//
// # API
//
// [ReadTruth] and [ReadAlerts] decode the inputs, [Score] scores one run,
// [NewReport] and [Merge] build a [Report] of one or more runs (seeds,
// network sizes) with a summary per run and per attack class.
// [Report.WriteMarkdown] writes it as tables, [Report.WriteJSON] as JSON
// (read back with [ReadReport]), and [Report.Misses] checks it against
// [Targets].
//
// # Truth format
//
// A truth file is one JSON object, as written by monitor443 synth -truth
// (capture/synth's Truth); users can write their own for their own
// labelled captures:
//
//	{
//	  "start": "2026-01-06T00:00:00Z",
//	  "end": "2026-01-07T00:00:00Z",
//	  "events": [
//	    {
//	      "kind": "syn_flood",
//	      "label": "SYN flood 3x",
//	      "class": "attack",
//	      "detectors": ["syn_flood"],
//	      "start": "2026-01-06T03:30:00Z",
//	      "end": "2026-01-06T03:33:00Z",
//	      "target": "10.1.0.2:443",
//	      "target_name": "shop.example.com",
//	      "rate": 9,
//	      "rate_unit": "syn/s",
//	      "factor": 3,
//	      "target_latency": "2s"
//	    },
//	    {"kind": "nightly_backup", "start": "2026-01-06T02:00:00Z", "end": "2026-01-06T02:20:00Z"}
//	  ]
//	}
//
// The top-level start and end (RFC 3339, required) bound the capture;
// false episodes per day divide by their span. Each event has:
//
//   - kind (required): what happened, e.g. syn_flood or nightly_backup.
//   - start, end (required): RFC 3339 times; end is not before start.
//   - label: a name for the tables; the kind when absent.
//   - class: "attack" or "benign". When absent or "": syn_flood, botnet_flood,
//     bandwidth_spike, request_burst, distributed_burst, egress_spike and
//     quic_flood are attacks; any other kind is benign.
//   - detectors: the detector IDs whose alerts count as detecting the
//     attack. When absent or empty: syn_flood → syn_flood; botnet_flood →
//     syn_flood and request_burst; request_burst and distributed_burst →
//     request_burst; bandwidth_spike and egress_spike → bandwidth_spike;
//     quic_flood → quic_flood. An attack of any other kind must list them.
//   - target ("ip:port", or "" for every server), target_name, rate and
//     rate_unit: shown in the tables.
//   - factor: the intensity as a multiple of normal; the summary groups
//     attacks by kind and factor (rounded to two digits).
//   - target_latency: a Go duration ("2s", "1m0s"); the attack must be
//     detected within it.
//   - server: the target server's index in the generator.
//
// Other fields, at either level, are ignored.
//
// # Alerts format
//
// One JSON object per line, the JSON form of detect.Anomaly. Scoring uses
// kind, state, group, scope, target, start, detected and summary; other
// fields are ignored. A line that is not valid JSON is an error that names
// the line.
//
// # Scoring rules
//
//   - Only firing events of detection alerts count. By default those are
//     the statistical detectors' ([DefaultDetectors]: syn_flood,
//     quic_flood, bandwidth_spike, request_burst), not the TLS hygiene
//     findings; [Options.Detectors] changes the set, and a detector an
//     attack of the truth names always counts. An alert's time is its
//     detected time when present, else its start.
//   - An attack's window runs from 5 s ([Lead]) before its start to the
//     grace (default 60 s, [Options.Grace]) after its end, both ends
//     included. The attack is detected when an alert of one of its
//     detectors has its time in the window. Its latency is the first such
//     alert's time minus the attack's start, clamped at 0; it met its
//     target latency when detected with a latency of at most
//     target_latency. The report also gives the number of such alerts,
//     the distinct groups among them (an alert without a group counts as
//     its own), how many (detector, scope, target) triples fired more
//     than once in the window, and the first alert's detector, scope and
//     target.
//   - Alerts form episodes by group: the alerts of one non-empty group are
//     one episode, and an alert with an empty group is an episode of its
//     own. An episode belongs to an attack when any of its alerts' times
//     falls in any attack's window; otherwise it is a false episode.
//   - A false episode whose time range (first to last alert time)
//     overlaps a benign event's start to end plus the grace is listed under
//     that benign event, as an alert it drew; the other false episodes are
//     unlabelled. Each false episode counts once however many benign
//     events it overlaps.
//   - False episodes per day are the false episodes divided by the
//     truth's span in days; across runs, all false episodes divided by all
//     days.
//
// # Imports
//
// evaluate imports only the standard library: it decodes both inputs with
// its own structs, so that other tools' files of the same shape work too.
// Its tests import detect and capture/synth to write real files.
//
// # Concurrency
//
// Functions are safe for concurrent use; a [Report] is a plain value.
package evaluate
