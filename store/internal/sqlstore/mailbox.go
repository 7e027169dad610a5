package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

// MailboxCursorGet returns where the watcher of sender's mailbox stands
// (ErrNotFound before its first message).
func (s *Store) MailboxCursorGet(ctx context.Context, sender string) (store.MailboxCursor, error) {
	var c struct {
		Sender      string `db:"sender"`
		UIDValidity uint32 `db:"uidvalidity"`
		LastUID     uint32 `db:"last_uid"`
		OldBelow    uint32 `db:"old_below"`
	}
	if err := s.read.GetContext(ctx, &c, s.q.MailboxCursorGet, sender); err != nil {
		return store.MailboxCursor{}, notFound(err, "mailbox cursor of "+sender)
	}
	return store.MailboxCursor{Sender: c.Sender, UIDValidity: c.UIDValidity, LastUID: c.LastUID, OldBelow: c.OldBelow}, nil
}

// MailboxCursorStart creates the cursor of a mailbox watched for the first
// time, unless it exists.
func (s *Store) MailboxCursorStart(ctx context.Context, sender string, uidValidity, oldBelow uint32) error {
	if _, err := s.write.ExecContext(ctx, s.q.MailboxCursorStart, sender, uidValidity, oldBelow); err != nil {
		return fmt.Errorf("creating mailbox cursor of %s: %w", sender, err)
	}
	return nil
}

// InboundRecord applies one handled message with the cursor advance, in
// one transaction. A key already handled for that sender changes nothing
// but the cursor and returns ErrConflict. Transitions whose From does not
// match (or whose enrollment is gone) are skipped: the message was about a
// state that has moved on.
func (s *Store) InboundRecord(ctx context.Context, in store.Inbound) error {
	now := latestEvent(in.Events)
	if now.IsZero() {
		now = time.Now()
	}
	dup := false
	err := s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, s.q.MailboxCursorAdvance, in.Sender, in.UIDValidity, in.UID); err != nil {
			return fmt.Errorf("advancing mailbox cursor: %w", err)
		}
		if in.Key != "" {
			// Only a hash of the key is kept: a Message-ID may hold an address.
			sum := sha256.Sum256([]byte(in.Key))
			res, err := tx.ExecContext(ctx, s.q.InboundInsert, in.Sender, hex.EncodeToString(sum[:]), utc(now))
			if err != nil {
				return fmt.Errorf("recording inbound message: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("recording inbound message: %w", err)
			} else if n == 0 {
				dup = true
				return nil
			}
		}
		for _, ev := range in.Events {
			if err := s.eventAdd(ctx, tx, ev); err != nil {
				return err
			}
		}
		for _, t := range in.Transitions {
			_, err := s.transition(ctx, tx, t)
			if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		for _, addr := range in.Suppress {
			norm := store.NormalizeEmail(addr)
			if norm == "" {
				continue
			}
			if err := s.suppress(ctx, tx, norm, in.SuppressReason, in.SuppressState, in.SuppressEvent, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording inbound message: %w", err)
	}
	if dup {
		return fmt.Errorf("inbound message already handled for %s: %w", in.Sender, store.ErrConflict)
	}
	return nil
}

// MailboxLease makes owner the watcher of sender's mailbox until `until`
// if the lease is free, expired at now, or owner's already.
func (s *Store) MailboxLease(ctx context.Context, sender, owner string, now, until time.Time) (bool, error) {
	var got []string
	err := s.inTx(ctx, func(tx *txn) error {
		return tx.SelectContext(ctx, &got, s.q.MailboxLease, sender, owner, utc(now), utc(until))
	})
	if err != nil {
		return false, fmt.Errorf("leasing mailbox of %s: %w", sender, err)
	}
	return len(got) == 1 && got[0] == owner, nil
}

// MailboxLeaseRelease gives up owner's lease (a no-op if it is not owner's).
func (s *Store) MailboxLeaseRelease(ctx context.Context, sender, owner string) error {
	if _, err := s.write.ExecContext(ctx, s.q.MailboxLeaseRelease, sender, owner); err != nil {
		return fmt.Errorf("releasing mailbox lease of %s: %w", sender, err)
	}
	return nil
}
