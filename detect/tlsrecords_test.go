package detect

import (
	"sync"
	"testing"
	"time"

	"github.com/monitor443/monitor443/capture/synth"
)

// TestTLSRecordsBatchedAndSummary replays generated traffic over two
// workers and checks that every ClientHello's record reaches OnTLS through
// the batched hand-off, in full by default and with the summary fields only
// under TLSSummary; with TLSReuse too, the same records come back (the
// consumer copies what it keeps) and each still carries its own fields.
func TestTLSRecordsBatchedAndSummary(t *testing.T) {
	t.Parallel()
	gc := synth.Config{Seed: 9, Duration: 40 * time.Second, ConnRate: 30, Servers: 4, Clients: 500}
	for _, mode := range []struct{ summary, reuse bool }{{false, false}, {true, false}, {true, true}} {
		summary := mode.summary
		var (
			mu     sync.Mutex
			recs   []*TLSRecord
			seen   = map[*TLSRecord]int{}
			hellos uint64
		)
		cfg := Config{TLSSummary: summary, TLSReuse: mode.reuse, OnInterval: func(f Features) { hellos += f.ClientHellos }, OnTLS: func(r *TLSRecord) {
			mu.Lock()
			seen[r]++
			c := *r // a reused record is overwritten later: keep a copy
			recs = append(recs, &c)
			mu.Unlock()
		}}
		replay(t, gc, cfg, 2)
		if reused := len(recs) - len(seen); mode.reuse && reused < len(recs)/2 || !mode.reuse && reused != 0 {
			t.Errorf("reuse=%v: %d of %d records were reused", mode.reuse, reused, len(recs))
		}
		snis := map[string]bool{}
		for _, r := range recs {
			snis[r.SNI] = true
		}
		if len(snis) < 4 {
			t.Errorf("reuse=%v: only %d distinct SNIs over %d records", mode.reuse, len(snis), len(recs))
		}
		if hellos < 500 || uint64(len(recs)) != hellos {
			t.Fatalf("summary=%v: %d records for %d ClientHellos", summary, len(recs), hellos)
		}
		for _, r := range recs {
			if r.SNI == "" || r.JA4 == "" || r.DstIP == "" || r.DstPort != 443 {
				t.Fatalf("summary=%v: record lacks a summary field: %+v", summary, r)
			}
			full := r.JA3 != "" && r.JA3Full != "" && r.JA4R != "" && len(r.Ciphers) > 0 && len(r.Extensions) > 0 && r.LegacyVersion != ""
			bare := r.JA3 == "" && r.JA3Full == "" && r.JA4R == "" && r.JA3S == "" && r.Ciphers == nil && r.Extensions == nil &&
				r.Versions == nil && r.ALPN == nil && r.LegacyVersion == ""
			if summary && !bare || !summary && !full {
				t.Fatalf("summary=%v: record %+v", summary, r)
			}
		}
		established := 0
		for _, r := range recs {
			if r.Established && r.ServerVersion != "" && r.Cipher != "" {
				established++
			}
		}
		if established < len(recs)/2 {
			t.Errorf("summary=%v: only %d of %d records carry the server's answer", summary, established, len(recs))
		}
	}
}
