package sequencer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
)

// One row per row of the README's "Delivery failures" table: what the
// server said (as the mailer classifies it), after how many attempts, and
// what happens to the step, the enrollment and the sender.
func TestDecideDelivery(t *testing.T) {
	p := RetryPolicy{Max: 5, Base: time.Minute, MaxDelay: time.Hour}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	fail := func(kind mailer.FailKind, stage string, code int, enhanced string) Failure {
		return Failure{Kind: kind, Err: &mailer.SendError{Kind: kind, Stage: stage, Code: code, Enhanced: enhanced, Msg: "as the server said"}}
	}
	reauth := Failure{Kind: mailer.SenderFault, Err: &mailer.SendError{Kind: mailer.SenderFault, Stage: "auth",
		Msg: "token", Err: fmt.Errorf("maria: %w", mailer.ErrReauthNeeded)}}
	cases := []struct {
		row      string
		f        Failure
		attempts int
		verdict  Verdict
		hold     string
		metric   string
	}{
		{"delivered", Failure{}, 1, Delivered, "", ""},
		{"delivered on the last attempt", Failure{}, 5, Delivered, "", ""},
		{"server cannot be reached", fail(mailer.SenderUnreachable, "connect", 0, ""), 1, HoldSender, store.HoldUnreachable, FailureSender},
		{"server cannot be reached, budget spent: still the sender's", fail(mailer.SenderUnreachable, "connect", 0, ""), 5, HoldSender, store.HoldUnreachable, FailureSender},
		{"4xx to RCPT, first attempt", fail(mailer.Temporary, "rcpt", 451, "4.3.0"), 1, RetryLater, "", FailureTransient},
		{"4xx to DATA, one attempt left", fail(mailer.Temporary, "data", 452, "4.3.1"), 4, RetryLater, "", FailureTransient},
		{"4xx, retry budget spent", fail(mailer.Temporary, "rcpt", 451, "4.3.0"), 5, GiveUp, "", FailureTransient},
		{"5xx at RCPT", fail(mailer.RecipientRejected, "rcpt", 550, "5.1.1"), 1, Bounce, "", FailurePermanent},
		{"5xx to DATA", fail(mailer.Permanent, "data", 554, "5.6.0"), 1, FailEnrollment, "", FailurePermanent},
		{"AUTH refused", fail(mailer.SenderFault, "auth", 535, "5.7.8"), 1, HoldSender, store.HoldAuth, FailureSender},
		{"5xx to MAIL FROM", fail(mailer.SenderFault, "mail", 553, "5.7.1"), 3, HoldSender, store.HoldAuth, FailureSender},
		{"grant revoked", reauth, 1, HoldSender, store.HoldReauth, FailureSender},
		{"no reply after the final dot", fail(mailer.Ambiguous, "data", 0, ""), 1, Unknown, "", FailureUnknown},
		{"daily_limit used up", Failure{DailyLimit: true}, 0, HoldSender, store.HoldDailyLimit, ""},
		{"provider daily quota", fail(mailer.SenderQuota, "data", 550, "5.4.5"), 1, HoldSender, store.HoldDailyLimit, FailureSender},
		{"provider throttles", fail(mailer.SenderThrottled, "mail", 421, "4.7.28"), 1, HoldSender, store.HoldThrottled, FailureSender},
		{"provider blocked the mailbox", fail(mailer.SenderBlocked, "rcpt", 550, "5.1.8"), 1, HoldSender, store.HoldBreaker, FailureSender},
	}
	for _, c := range cases {
		t.Run(c.row, func(t *testing.T) {
			got := DecideDelivery(c.f, c.attempts, p, now)
			if got.Verdict != c.verdict || got.HoldReason != c.hold || got.Metric != c.metric {
				t.Fatalf("DecideDelivery = %+v; want verdict %d, hold %q, metric %q", got, c.verdict, c.hold, c.metric)
			}
			if c.verdict == RetryLater {
				// Exponential with jitter: after n attempts, within
				// [d/2, d] of d = Base·2^(n-1), capped at MaxDelay.
				d := min(p.Base<<(c.attempts-1), p.MaxDelay)
				if wait := got.RetryAt.Sub(now); wait < d/2 || wait > d {
					t.Fatalf("retry in %v after %d attempts, want within [%v, %v]", wait, c.attempts, d/2, d)
				}
			} else if !got.RetryAt.IsZero() {
				t.Fatalf("RetryAt %v set for verdict %d", got.RetryAt, got.Verdict)
			}
		})
	}
	// The reason a sender is held follows the error, wherever it is
	// wrapped.
	wrapped := Failure{Kind: mailer.SenderFault, Err: errors.Join(errors.New("pool"), reauth.Err)}
	if got := DecideDelivery(wrapped, 1, p, now); got.HoldReason != store.HoldReauth {
		t.Fatalf("wrapped reauth: %+v", got)
	}
}
