package sequencer

import (
	"errors"
	"time"

	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
)

// What one delivery's result means, as a pure function of (failure kind,
// attempts, retry policy, now): the README's "Delivery failures" table in
// code. The engine only carries the verdict out (deliver, started).

// Verdict is what happens to the step and the enrollment.
type Verdict int

const (
	// Delivered: the step is sent; the enrollment goes on.
	Delivered Verdict = iota + 1
	// RetryLater: the message's own temporary failure; the step is tried
	// again at RetryAt.
	RetryLater
	// GiveUp: the retry budget is spent; the step is failed, the
	// enrollment goes on with its next step.
	GiveUp
	// Bounce: the recipient was refused; the enrollment is bounced and the
	// address suppressed (R7).
	Bounce
	// FailEnrollment: the message itself was refused; the step and the
	// enrollment are failed.
	FailEnrollment
	// Unknown: the message may have arrived; the step is unknown and
	// never sent again (R8); the enrollment goes on.
	Unknown
	// HoldSender: the mailbox's problem, not the prospect's (R9): the
	// sender is held for HoldReason; the step waits, its attempt taken back.
	HoldSender
)

// Failure is what a delivery attempt ended with: a kind from
// mailer.Classify (0 for success), or the sender's daily limit found used
// up when the step was to start.
type Failure struct {
	Kind       mailer.FailKind
	DailyLimit bool
	Err        error
}

// DeliveryOutcome is the verdict on one attempt.
type DeliveryOutcome struct {
	Verdict    Verdict
	RetryAt    time.Time // RetryLater
	HoldReason string    // HoldSender: one of store.Hold*
	Metric     string    // the drip_send_failures_total kind; "" on success
}

// DecideDelivery is the "Delivery failures" table: f after attempts
// attempts of the step (counting this one) under policy p, at now.
func DecideDelivery(f Failure, attempts int, p RetryPolicy, now time.Time) DeliveryOutcome {
	switch {
	case f.DailyLimit:
		return DeliveryOutcome{Verdict: HoldSender, HoldReason: store.HoldDailyLimit}
	case f.Kind == 0:
		return DeliveryOutcome{Verdict: Delivered}
	case f.Kind == mailer.RecipientRejected:
		return DeliveryOutcome{Verdict: Bounce, Metric: FailurePermanent}
	case f.Kind == mailer.Permanent:
		return DeliveryOutcome{Verdict: FailEnrollment, Metric: FailurePermanent}
	case f.Kind == mailer.Ambiguous:
		return DeliveryOutcome{Verdict: Unknown, Metric: FailureUnknown}
	case f.Kind.SenderHeld():
		return DeliveryOutcome{Verdict: HoldSender, HoldReason: holdReason(f), Metric: FailureSender}
	case attempts >= p.Max:
		return DeliveryOutcome{Verdict: GiveUp, Metric: FailureTransient}
	}
	return DeliveryOutcome{Verdict: RetryLater, RetryAt: now.Add(p.delay(attempts)), Metric: FailureTransient}
}

// holdReason is why a sender-held failure holds the sender.
func holdReason(f Failure) string {
	switch {
	case errors.Is(f.Err, mailer.ErrReauthNeeded):
		return store.HoldReauth
	case f.Kind == mailer.SenderUnreachable:
		return store.HoldUnreachable
	case f.Kind == mailer.SenderThrottled:
		return store.HoldThrottled
	case f.Kind == mailer.SenderQuota:
		return store.HoldDailyLimit
	case f.Kind == mailer.SenderBlocked:
		return store.HoldBreaker
	}
	return store.HoldAuth
}
