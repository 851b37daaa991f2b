// Package baseline learns what normal looks like for one time series of
// per-interval features (bytes/s, SYN/s, ClientHellos/s, ...) and scores each
// new value against it.
//
// Four estimators share the [Estimator] shape, each returning a [Verdict]
// (expected value, band, score, ready):
//
//   - [EWMA]: exponentially weighted level and mean absolute deviation, a
//     band that follows slow drift. Good for features without a daily rhythm
//     and while a seasonal model is still learning.
//   - [Seasonal]: Holt-Winters with a daily profile and Brutlag's per-bin
//     deviation band, for traffic with a diurnal cycle and recurring daily
//     events such as a nightly backup.
//   - [CUSUM]: Page's one-sided cumulative sum, which accumulates small
//     sustained increases, the classic SYN flood detector.
//   - [Median]: rolling median and MAD, robust when up to half the window
//     holds outliers.
//
// Around them, [Guard] keeps small values quiet, [Learn] keeps anomalous
// points from poisoning the baseline, and [KOfN] and [Resolver] turn noisy
// per-interval verdicts into one alert per incident.
//
// The mathematics, the default parameters and the reasons for them are in
// docs/detection.md.
//
// # Imports
//
// Pure math: the standard library only, nothing from monitor443. There is no
// I/O, no clock and no goroutine. Time is the packet time the caller passes
// in, in unix nanoseconds, so a replay gives the same verdicts every run.
//
// # Concurrency
//
// Nothing is safe for concurrent use. The detect engine owns each estimator
// and calls it once per feature per interval, from one goroutine.
//
// # Persistence
//
// Every estimator implements [encoding.BinaryMarshaler] and
// [encoding.BinaryUnmarshaler]: a versioned, checksummed encoding of the
// learned state (not the configuration), so a restart need not relearn a
// day's profile. Restoring validates the bytes and returns an error wrapping
// [ErrCorrupt] or [ErrMismatch], never panics, and leaves the estimator
// unchanged on error. Writing the bytes to disk is the caller's job.
//
// # Capacity
//
// Memory per estimator is fixed at construction: a few words for [EWMA] and
// [CUSUM], 17 bytes per bin for [Seasonal] (about 5 KiB for 288 bins), and 16
// bytes per window slot for [Median]. Observe and Check never allocate.
// Median's Observe costs O(Window); Seasonal's costs O(Spread).
package baseline
