package store

import (
	"context"
	"time"
)

// EventUnsuppressed: a suppression lifted by hand (drip unsuppress), with
// the reason given.
const EventUnsuppressed EventKind = "unsuppressed"

// ForgottenReason is the suppression reason of a forgotten address.
const ForgottenReason = "forgotten"

// Unsuppress lifts the suppression of an address.
type Unsuppress struct {
	Email  string
	Reason string // why, kept in the timeline
	At     time.Time
}

// Unsuppressor is the store's part of `drip unsuppress`.
type Unsuppressor interface {
	// SuppressionRemove lifts the address's suppression, in one
	// transaction: ErrNotFound when it is not suppressed, ErrConflict when
	// the address was forgotten (erased at the person's request: it stays
	// suppressed). The enrollments of its prospect that ended unsubscribed
	// or bounced become paused, as if paused when they ended, so that a
	// resume continues each with its spacing (R5); each gets an
	// unsuppressed event with the reason (the prospect gets one when none
	// reopens). It returns the reopened enrollments.
	SuppressionRemove(ctx context.Context, u Unsuppress) ([]Enrollment, error)
}
