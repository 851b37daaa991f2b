package synth

import "time"

// evalRoles is the role mix of the evaluation presets: web servers most,
// then API and static servers, one download server in eight.
var evalRoles = []Role{RoleWeb, RoleAPI, RoleStatic, RoleDownload, RoleWeb, RoleWeb, RoleAPI, RoleStatic}

// evalSmallBase is the realistic model of a small network: 8 servers,
// 3000 clients, 0.5 conn/s on average over the day (docs/synth.md).
func evalSmallBase() Config {
	return Config{
		Seed: 1, ConnRate: 0.5, Diurnal: true, DiurnalAmplitude: 0.6, Burstiness: 0.3,
		Servers: 8, Clients: 3000, Roles: evalRoles, IPv6Fraction: 0.2, QUICFraction: 0.1,
		IPv6Servers: []int{0}, VLANServers: []int{5}, TSO: true, Snaplen: 256,
		ScanRate: 0.1, Pollers: 10, PollInterval: 2 * time.Minute, NATGateways: 4, Crawlers: 2,
		CrawlEvery: 8 * time.Hour, DownloadsPerHour: 4,
	}
}

// evalLargeBase is the realistic model of a large network: 64 servers,
// 200,000 clients, about 500 conn/s at the 15:00 peak.
func evalLargeBase() Config {
	return Config{
		Seed: 1, ConnRate: 312.5, Diurnal: true, DiurnalAmplitude: 0.6, Burstiness: 0.3,
		Servers: 64, Clients: 200_000, Roles: evalRoles, IPv6Fraction: 0.2, QUICFraction: 0.1,
		IPv6Servers: []int{0}, VLANServers: []int{5}, TSO: true, Snaplen: 256,
		ScanRate: 20, ScanSources: 500, Pollers: 200, NATGateways: 32, Crawlers: 20, DownloadsPerHour: 4,
	}
}

// Latency targets of the evaluation scenarios.
const (
	fast = 5 * time.Second
	med  = 10 * time.Second
	slow = time.Minute
	sust = 3 * time.Minute
)

func at(day, h, m int) time.Duration {
	return time.Duration(day)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
}

// evalSmall is the 72-hour evaluation: a benign learning day, a day of
// attacks of every class at several magnitudes and times of day (night
// cases included), and a benign day with events that must not alert.
func evalSmall() Config {
	c := evalSmallBase()
	c.Duration = 72 * time.Hour
	m, s := time.Minute, time.Second
	c.Events = []Event{
		// Every night at 02:00: a backup pulled from the download server.
		{Kind: BackupPull, Start: at(0, 2, 0), Duration: 10 * m, Rate: 30e6, Target: 3, Label: "nightly backup pull"},
		// Day 0: benign.
		{Kind: BigDownload, Start: at(0, 3, 0), Duration: 3 * m, Rate: 5e6, Target: 3, Label: "big download at the trough"},
		{Kind: FlashCrowd, Start: at(0, 15, 0), Duration: 20 * m, Factor: 3, Ramp: 5 * m, Target: 4, Label: "flash crowd 3x"},
		// Day 1: attacks.
		{Kind: SYNFlood, Start: at(1, 1, 0), Duration: 2 * m, Factor: 20, Target: 0, AnswerFraction: 0.3,
			SYNACKRetries: 2, Label: "spoofed SYN flood 20x at night", TargetLatency: fast},
		{Kind: SYNFlood, Start: at(1, 3, 30), Duration: 5 * m, Factor: 3, Target: 2, FixedTTL: 54, RSTFraction: 0.03,
			AnswerFraction: 0.5, SYNACKRetries: 2, Label: "spoofed SYN flood 3x at the trough, fixed TTL", TargetLatency: slow},
		{Kind: BotnetFlood, Start: at(1, 4, 10), Duration: 3 * m, Factor: 5, Target: 0, Sources: 300, IPv6: true,
			Mixed: true, SYNACKRetries: 2, Label: "IPv6 botnet 5x at night, mixed outcomes", TargetLatency: slow},
		{Kind: SYNFlood, Start: at(1, 4, 40), Duration: 2 * m, Factor: 10, Target: 1, NoOptions: true, AnswerFraction: 0.3,
			SYNACKRetries: 2, Label: "SYN flood 10x without options, overlapping", TargetLatency: fast},
		{Kind: EgressSpike, Start: at(1, 4, 41), Duration: 100 * s, Factor: 8, Target: 3, Sources: 3,
			Label: "egress spike 8x, overlapping", TargetLatency: slow},
		{Kind: RequestBurst, Start: at(1, 4, 42), Duration: 40 * s, Rate: 30, Target: 4,
			Label: "single-client burst 30/s, overlapping", TargetLatency: med},
		{Kind: SYNFlood, Start: at(1, 6, 0), Duration: 3 * m, Factor: 3, Target: 5, AnswerFraction: 0.5,
			SYNACKRetries: 2, Label: "SYN flood 3x in the morning", TargetLatency: slow},
		{Kind: BotnetFlood, Start: at(1, 8, 0), Duration: 3 * m, Factor: 4, Target: 6, Sources: 500, Mixed: true,
			SYNACKRetries: 2, Label: "IPv4 botnet 4x, 500 sources", TargetLatency: slow},
		{Kind: DistributedBurst, Start: at(1, 9, 0), Duration: 75 * s, Factor: 3, Target: -1, Sources: 600,
			Label: "distributed burst 3x over all servers", TargetLatency: med},
		{Kind: EgressSpike, Start: at(1, 10, 0), Duration: 2 * m, Factor: 6, Target: 2, Sources: 4,
			Label: "egress spike 6x", TargetLatency: slow},
		{Kind: FlashCrowd, Start: at(1, 11, 0), Duration: 15 * m, Factor: 4, Ramp: 5 * m, Target: 0,
			Label: "flash crowd 4x"},
		{Kind: EgressSpike, Start: at(1, 12, 0), Duration: 10 * m, Factor: 2, Target: 3, Sources: 6,
			Label: "sustained egress 2x (mirroring)", TargetLatency: sust},
		{Kind: RequestBurst, Start: at(1, 13, 0), Duration: 40 * s, Rate: 20, Target: 7,
			Label: "single-client burst 20/s", TargetLatency: med},
		{Kind: DistributedBurst, Start: at(1, 14, 0), Duration: 60 * s, Factor: 4, Target: 1, Sources: 700,
			Label: "distributed burst 4x", TargetLatency: med},
		{Kind: EgressSpike, Start: at(1, 15, 0), Duration: 5 * m, Factor: 3, Target: 0, Sources: 4,
			Label: "sustained egress 3x (exfiltration)", TargetLatency: sust},
		{Kind: SYNFlood, Start: at(1, 16, 0), Duration: m, Factor: 10, Target: 6, AnswerFraction: 0.3,
			SYNACKRetries: 2, Label: "SYN flood 10x", TargetLatency: fast},
		{Kind: EgressSpike, Start: at(1, 17, 0), Duration: 100 * s, Factor: 7, Target: 4, Sources: 3,
			Label: "egress spike 7x", TargetLatency: slow},
		{Kind: QUICFlood, Start: at(1, 18, 0), Duration: 2 * m, Factor: 10, Target: 0,
			Label: "QUIC Initial flood 10x", TargetLatency: fast},
		{Kind: BotnetFlood, Start: at(1, 20, 0), Duration: 3 * m, Factor: 5, Target: 0, Sources: 250, IPv6: true,
			Mixed: true, SYNACKRetries: 2, Label: "IPv6 botnet 5x in the evening", TargetLatency: slow},
		{Kind: ReleaseWave, Start: at(1, 22, 0), Duration: 30 * m, Rate: 0.05, Ramp: 10 * m, Target: 3, Sources: 300,
			Label: "release wave"},
		{Kind: QUICFlood, Start: at(1, 23, 0), Duration: 3 * m, Factor: 3, Target: 4,
			Label: "QUIC Initial flood 3x at night", TargetLatency: slow},
		// Day 2: benign.
		{Kind: BigDownload, Start: at(2, 3, 0), Duration: 3 * m, Rate: 5e6, Target: 3, Label: "big download at the trough"},
		{Kind: OrganicRamp, Start: at(2, 7, 0), Duration: 5 * time.Hour, Factor: 3, Target: 5,
			Label: "organic growth 3x over 5 hours"},
		{Kind: FlashCrowd, Start: at(2, 13, 0), Duration: 30 * m, Factor: 2.5, Ramp: 10 * m, Target: 4,
			Label: "flash crowd 2.5x"},
		{Kind: ReleaseWave, Start: at(2, 16, 0), Duration: 30 * m, Rate: 0.05, Ramp: 10 * m, Target: 3, Sources: 300,
			Label: "release wave"},
	}
	return c
}

// evalShort is a six-hour cut of evalSmall for CI: two attacks after
// 04:00 and one benign event.
func evalShort() Config {
	c := evalSmallBase()
	c.Duration = 6 * time.Hour
	m := time.Minute
	c.Events = []Event{
		{Kind: BigDownload, Start: at(0, 3, 0), Duration: 3 * m, Rate: 5e6, Target: 3, Label: "big download at the trough"},
		{Kind: SYNFlood, Start: at(0, 4, 10), Duration: 2 * m, Factor: 10, Target: 0, AnswerFraction: 0.3,
			SYNACKRetries: 2, Label: "spoofed SYN flood 10x at night", TargetLatency: fast},
		{Kind: RequestBurst, Start: at(0, 4, 40), Duration: 40 * time.Second, Rate: 30, Target: 4,
			Label: "single-client burst 30/s", TargetLatency: med},
	}
	return c
}

// evalLarge is 2 h 45 min (09:00-11:45) of the large network: 40 benign
// minutes, then a compressed day of attacks and benign events, one every
// five minutes (the longer ones overlap the next).
func evalLarge() Config {
	c := evalLargeBase()
	c.Start = defaultStart.Add(9 * time.Hour)
	// Forty minutes to learn, then one event every five minutes: at about
	// 500 connections a second each hour is some 150 million frames, so the
	// schedule is packed to keep a run within minutes.
	c.Duration = 2*time.Hour + 45*time.Minute
	m, s := time.Minute, time.Second
	slot := func(k int) time.Duration { return 40*time.Minute + time.Duration(k)*5*time.Minute }
	c.Events = []Event{
		{Kind: SYNFlood, Start: slot(0), Duration: 2 * m, Factor: 20, Target: 3, AnswerFraction: 0.3, SYNACKRetries: 2,
			Label: "spoofed SYN flood 20x", TargetLatency: fast},
		{Kind: BigDownload, Start: slot(1), Duration: 3 * m, Rate: 20e6, Target: 11, Label: "big download"},
		{Kind: SYNFlood, Start: slot(2), Duration: 5 * m, Factor: 3, Target: 12, FixedTTL: 54, RSTFraction: 0.03,
			AnswerFraction: 0.5, SYNACKRetries: 2, Label: "spoofed SYN flood 3x, fixed TTL", TargetLatency: slow},
		{Kind: BotnetFlood, Start: slot(3), Duration: 3 * m, Factor: 5, Target: 0, Sources: 300, IPv6: true, Mixed: true,
			SYNACKRetries: 2, Label: "IPv6 botnet 5x", TargetLatency: slow},
		{Kind: SYNFlood, Start: slot(4), Duration: 2 * m, Factor: 10, Target: 9, NoOptions: true, AnswerFraction: 0.3,
			SYNACKRetries: 2, Label: "SYN flood 10x without options", TargetLatency: fast},
		{Kind: RequestBurst, Start: slot(5), Duration: 40 * s, Rate: 30, Target: 4,
			Label: "single-client burst 30/s", TargetLatency: med},
		{Kind: EgressSpike, Start: slot(6), Duration: 100 * s, Factor: 8, Target: 19, Sources: 3,
			Label: "egress spike 8x", TargetLatency: slow},
		{Kind: BotnetFlood, Start: slot(7), Duration: 3 * m, Factor: 4, Target: 6, Sources: 500, Mixed: true,
			SYNACKRetries: 2, Label: "IPv4 botnet 4x", TargetLatency: slow},
		{Kind: DistributedBurst, Start: slot(8), Duration: 75 * s, Factor: 3, Target: -1, Sources: 600,
			Label: "distributed burst 3x over all servers", TargetLatency: med},
		{Kind: FlashCrowd, Start: slot(9), Duration: 15 * m, Factor: 4, Ramp: 5 * m, Target: 2, Sources: 20_000,
			Label: "flash crowd 4x"},
		{Kind: EgressSpike, Start: slot(10), Duration: 2 * m, Factor: 6, Target: 10, Sources: 4,
			Label: "egress spike 6x", TargetLatency: slow},
		{Kind: DistributedBurst, Start: slot(11), Duration: 60 * s, Factor: 4, Target: 1, Sources: 700,
			Label: "distributed burst 4x", TargetLatency: med},
		{Kind: EgressSpike, Start: slot(12), Duration: 10 * m, Factor: 2, Target: 27, Sources: 6,
			Label: "sustained egress 2x (mirroring)", TargetLatency: sust},
		{Kind: QUICFlood, Start: slot(13), Duration: 2 * m, Factor: 10, Target: 0,
			Label: "QUIC Initial flood 10x", TargetLatency: fast},
		{Kind: ReleaseWave, Start: slot(14), Duration: 20 * m, Rate: 2, Ramp: 5 * m, Target: 35, Sources: 3000,
			Label: "release wave"},
		{Kind: SYNFlood, Start: slot(15), Duration: 3 * m, Factor: 3, Target: 5, AnswerFraction: 0.5, SYNACKRetries: 2,
			Label: "SYN flood 3x", TargetLatency: slow},
		{Kind: EgressSpike, Start: slot(16), Duration: 5 * m, Factor: 3, Target: 8, Sources: 4,
			Label: "sustained egress 3x (exfiltration)", TargetLatency: sust},
		{Kind: RequestBurst, Start: slot(17), Duration: 40 * s, Rate: 20, Target: 7,
			Label: "single-client burst 20/s", TargetLatency: med},
		{Kind: EgressSpike, Start: slot(18), Duration: 100 * s, Factor: 7, Target: 14, Sources: 3,
			Label: "egress spike 7x", TargetLatency: slow},
		{Kind: QUICFlood, Start: slot(19), Duration: 3 * m, Factor: 3, Target: 4,
			Label: "QUIC Initial flood 3x", TargetLatency: slow},
		{Kind: BotnetFlood, Start: slot(20), Duration: 3 * m, Factor: 5, Target: 0, Sources: 250, IPv6: true, Mixed: true,
			SYNACKRetries: 2, Label: "IPv6 botnet 5x", TargetLatency: slow},
		{Kind: SYNFlood, Start: slot(21), Duration: m, Factor: 10, Target: 13, AnswerFraction: 0.3, SYNACKRetries: 2,
			Label: "SYN flood 10x", TargetLatency: fast},
	}
	return c
}

// evalCold is three minutes with a 10x SYN flood 10 s in: detection without
// a learned baseline.
func evalCold(base Config) Config {
	base.Start = defaultStart.Add(14 * time.Hour)
	base.Duration = 3 * time.Minute
	base.Events = []Event{{Kind: SYNFlood, Start: 10 * time.Second, Duration: time.Minute, Factor: 10, Target: 0,
		AnswerFraction: 0.3, SYNACKRetries: 2, Label: "spoofed SYN flood 10x at a cold start", TargetLatency: med}}
	return base
}
