package alerting

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Trigger says why a notification was sent.
type Trigger string

// Triggers of a notification.
const (
	// TriggerFiring is the first notification of an incident.
	TriggerFiring Trigger = "firing"
	// TriggerEscalated is sent when an incident's severity rises.
	TriggerEscalated Trigger = "escalated"
	// TriggerRepeat is sent while an incident keeps firing, every
	// repeat_interval (every resend_interval for Alertmanager sinks).
	TriggerRepeat Trigger = "repeat"
	// TriggerResolved ends an incident.
	TriggerResolved Trigger = "resolved"
	// TriggerSuppressed summarizes the notifications a sink's rate limit
	// held back.
	TriggerSuppressed Trigger = "suppressed_summary"
)

// Triggers lists every Trigger.
var Triggers = []Trigger{TriggerFiring, TriggerEscalated, TriggerRepeat, TriggerResolved, TriggerSuppressed}

// SuppressedGroup counts the notifications of one incident that a rate limit
// held back.
type SuppressedGroup struct {
	Kind     string   `json:"kind"`
	Scope    string   `json:"scope"`
	Target   string   `json:"target,omitempty"`
	Severity Severity `json:"severity"`
	Count    int      `json:"count"`
}

// Notification is one message for one sink. It is written to the sink's spool
// before delivery, so its ID stays the same across retries and restarts.
type Notification struct {
	// ID is the idempotency key: 32 random hex digits, fixed when the
	// notification is created. Redeliveries carry the same ID.
	ID string `json:"id"`
	// Sink is the configured name of the sink the notification is for.
	Sink string `json:"sink"`
	// Trigger says why the notification was sent.
	Trigger Trigger `json:"trigger"`
	// CreatedAt is when the notification was created.
	CreatedAt time.Time `json:"created_at"`
	// Alert is the alert as of CreatedAt.
	Alert Alert `json:"alert"`
	// Suppressed lists what a rate limit held back; set only for
	// TriggerSuppressed.
	Suppressed []SuppressedGroup `json:"suppressed,omitempty"`
	// SuppressedTotal counts all held-back notifications, including groups
	// beyond the length of Suppressed.
	SuppressedTotal int `json:"suppressed_total,omitempty"`
}

// newID returns a random 128-bit idempotency key in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error.
	return hex.EncodeToString(b[:])
}

// priority ranks notifications for spool eviction: lower is evicted first.
func (n *Notification) priority() int {
	switch n.Trigger {
	case TriggerRepeat, TriggerSuppressed:
		return 0
	case TriggerResolved:
		return 1
	default:
		return 2
	}
}
