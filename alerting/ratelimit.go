package alerting

import "time"

// tokenBucket is a token bucket driven by an external clock. It is not safe
// for concurrent use; the Manager's mutex guards it.
type tokenBucket struct {
	burst  float64
	every  time.Duration
	tokens float64
	last   time.Time
}

func newTokenBucket(rl RateLimit, now time.Time) *tokenBucket {
	return &tokenBucket{burst: float64(rl.Burst), every: rl.Every, tokens: float64(rl.Burst), last: now}
}

// allow takes one token if available at now.
func (b *tokenBucket) allow(now time.Time) bool {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+float64(el)/float64(b.every))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
