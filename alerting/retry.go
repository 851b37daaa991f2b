package alerting

import (
	"context"
	"math/rand/v2"
	"time"
)

// maxRetryAfter caps the delay a receiver may ask for with Retry-After.
const maxRetryAfter = time.Hour

// Backoff computes retry delays: exponential growth from Initial, doubled on
// each attempt up to Max, with "equal jitter": the delay d for an attempt is
// drawn from [d/2, d).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2.
	Jitter func() float64
}

// Delay returns the delay before retry number attempt (0 for the first
// retry). A positive retryAfter from the receiver raises the delay to at
// least retryAfter, capped at one hour.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	j := b.Jitter
	if j == nil {
		j = rand.Float64
	}
	d = d/2 + time.Duration(float64(d/2)*j())
	if retryAfter > d {
		d = min(retryAfter, maxRetryAfter)
	}
	return d
}

// sleepCtx waits for d or until ctx is done, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
