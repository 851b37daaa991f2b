package alerting

import "errors"

// ErrClosed is returned by [Manager.Observe] after [Manager.Run] has returned.
var ErrClosed = errors.New("alerting manager closed")
