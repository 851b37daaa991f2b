package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sink delivers notifications to one receiver.
//
// Send makes one delivery attempt within ctx. It returns retry true when a
// later attempt may succeed (network errors, timeouts, HTTP 5xx and 429, a
// script's non-zero exit) and false when it will not (other HTTP 4xx, a
// payload the sink cannot build). Errors never contain secrets such as
// webhook URLs or tokens. A *[DeliveryError] may carry a Retry-After delay.
// Send may be called again with the same notification; receivers use
// [Notification.ID] to recognise repeats.
type Sink interface {
	Send(ctx context.Context, n *Notification) (retry bool, err error)
}

// Reasons a delivery attempt failed; they are the values of the metric label
// "reason" on retries and failures.
const (
	ReasonNetwork     = "network"
	ReasonTimeout     = "timeout"
	ReasonStatus5xx   = "status_5xx"
	ReasonStatus429   = "status_429"
	ReasonStatus4xx   = "status_4xx"
	ReasonScript      = "script"
	ReasonEncode      = "encode"
	ReasonOther       = "other"
	ReasonCorruptFile = "corrupt_spool_entry"
)

// Reasons lists every failure reason.
var Reasons = []string{
	ReasonNetwork, ReasonTimeout, ReasonStatus5xx, ReasonStatus429, ReasonStatus4xx,
	ReasonScript, ReasonEncode, ReasonOther, ReasonCorruptFile,
}

// DeliveryError describes a failed delivery attempt.
type DeliveryError struct {
	// Reason is one of the Reason constants.
	Reason string
	// StatusCode is the HTTP status, 0 if no response was received.
	StatusCode int
	// RetryAfter is the delay the receiver asked for (HTTP Retry-After);
	// 0 if none.
	RetryAfter time.Duration
	// Err is the underlying error, with URLs redacted.
	Err error
}

// Error returns the underlying error's text.
func (e *DeliveryError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *DeliveryError) Unwrap() error { return e.Err }

// reasonOf returns the failure reason carried by err.
func reasonOf(err error) string {
	var de *DeliveryError
	if errors.As(err, &de) && de.Reason != "" {
		return de.Reason
	}
	return ReasonOther
}

// RedactURL returns u with userinfo, path, query and fragment replaced, so
// "https://hooks.slack.com/services/T0/B0/XXX" becomes
// "https://hooks.slack.com/<redacted>". It is safe for logs and errors.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "<redacted>"
	}
	return p.Scheme + "://" + p.Host + "/<redacted>"
}

// redactErr removes the URL from every *url.Error in err's chain.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	return err
}

// classifyTransportErr turns an error from http.Client.Do into a retryable
// *DeliveryError.
func classifyTransportErr(ctx context.Context, err error) *DeliveryError {
	err = redactErr(err)
	reason := ReasonNetwork
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		reason = ReasonTimeout
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		reason = ReasonOther
	}
	return &DeliveryError{Reason: reason, Err: err}
}

// maxErrorBody bounds how much of a response body goes into an error.
const maxErrorBody = 256

// checkResponse classifies an HTTP response: 2xx succeeds; 5xx and 429 are
// retryable, honouring Retry-After; everything else fails permanently. It
// drains and closes the body.
func checkResponse(resp *http.Response, now time.Time) (retry bool, err error) {
	defer drain(resp)
	code := resp.StatusCode
	if code/100 == 2 {
		return false, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := fmt.Sprintf("unexpected status code %d", code)
	if s := printable(body); s != "" {
		msg += ": " + s
	}
	de := &DeliveryError{StatusCode: code, Err: errors.New(msg)}
	switch {
	case code == http.StatusTooManyRequests:
		de.Reason = ReasonStatus429
		de.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		retry = true
	case code/100 == 5:
		de.Reason = ReasonStatus5xx
		de.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		retry = true
	default:
		de.Reason = ReasonStatus4xx
	}
	return retry, de
}

// printable returns b as one line of valid UTF-8 text.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(bytes.TrimSpace(b)), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return s
}

// drain reads the rest of the body (bounded) and closes it, so the client can
// reuse the connection.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}

// parseRetryAfter parses a Retry-After header value given as delay seconds or
// as an HTTP-date; it returns 0 for an empty, invalid or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(0, min(t.Sub(now), maxRetryAfter))
}

// Filter selects the alerts a sink receives. The zero Filter selects all.
type Filter struct {
	// Kinds lists the alert kinds to send; empty means all.
	Kinds []string
	// Scopes lists the alert scopes to send; empty means all.
	Scopes []string
	// MinSeverity is the least severity to send; 0 means all.
	MinSeverity Severity
}

// Match reports whether f selects a.
func (f Filter) Match(a *Alert) bool {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, a.Kind) {
		return false
	}
	if len(f.Scopes) > 0 && !slices.Contains(f.Scopes, a.Scope) {
		return false
	}
	return a.Severity >= f.MinSeverity
}

// postJSON sends body to u with the given headers; auth and signing happen
// in header.
func postJSON(ctx context.Context, client *http.Client, u string, header http.Header, body []byte, now func() time.Time) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, &DeliveryError{Reason: ReasonOther, Err: errors.New("build request: invalid url")}
	}
	for k, vs := range header {
		req.Header[k] = slices.Clone(vs)
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, classifyTransportErr(ctx, err)
	}
	return checkResponse(resp, now())
}

// userAgent is sent by every HTTP sink.
const userAgent = "monitor443-alerting"
