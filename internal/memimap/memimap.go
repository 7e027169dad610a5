// Package memimap holds what an in-process go-imap server (imapmemserver)
// needs to stand in for a real one: mailer/imapwatch's tests and
// dripbench's reply benchmark serve their mailboxes through it.
package memimap

import (
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// PromptIdle works around a race in imapmemserver's IDLE: mail that
// arrives between the "+ idling" answer and the tracker's registration is
// queued but not announced until the next change. Real servers (Dovecot)
// announce what is pending; this one is made to check its queue every
// 2 ms while idling, which comes to the same.
type PromptIdle struct{ imapserver.Session }

// Idle polls the session's queue every 2 ms until stop.
func (s PromptIdle) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}
