package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ScriptConfig configures a [Script] sink.
type ScriptConfig struct {
	// Command is the program and its arguments; no shell is involved.
	Command []string
	// Timeout bounds one run; the process is killed when it expires.
	Timeout time.Duration
	// Templates renders the text fields of the payload; nil means the
	// defaults.
	Templates *Templates
}

// Script runs a local command with the JSON [Payload] on standard input. A
// zero exit status is success; anything else asks for a retry. The command
// sees the environment variables MONITOR443_NOTIFICATION_ID (the idempotency
// key) and MONITOR443_TRIGGER, plus PATH, and nothing else of the monitor's
// environment.
type Script struct {
	cfg ScriptConfig
}

var _ Sink = (*Script)(nil)

// NewScript returns a script sink.
func NewScript(cfg ScriptConfig) *Script {
	if cfg.Templates == nil {
		cfg.Templates = defaultTemplates
	}
	return &Script{cfg: cfg}
}

// maxScriptOutput bounds how much of the command's stderr goes into an error.
const maxScriptOutput = 256

// Send runs the command once.
func (s *Script) Send(ctx context.Context, n *Notification) (bool, error) {
	body, err := marshalPayload(s.cfg.Templates, n)
	if err != nil {
		return false, err
	}
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"MONITOR443_NOTIFICATION_ID=" + n.ID,
		"MONITOR443_TRIGGER=" + string(n.Trigger),
	}
	var stderr limitedBuffer
	stderr.limit = maxScriptOutput
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if err == nil {
		return false, nil
	}
	reason := ReasonScript
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		reason = ReasonTimeout
	}
	msg := fmt.Sprintf("script %s: %v", s.cfg.Command[0], err)
	if out := printable(stderr.Bytes()); out != "" {
		msg += ": " + out
	}
	return true, &DeliveryError{Reason: reason, Err: errors.New(strings.TrimSpace(msg))}
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
