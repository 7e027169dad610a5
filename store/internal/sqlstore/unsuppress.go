package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/drip-email/drip/store"
)

// SuppressionRemove: see store.Unsuppressor.
func (s *Store) SuppressionRemove(ctx context.Context, u store.Unsuppress) ([]store.Enrollment, error) {
	norm := store.NormalizeEmail(u.Email)
	hash := store.EmailHash(norm)
	at := utc(u.At)
	var reopened []store.Enrollment
	err := s.inTx(ctx, func(tx *txn) error {
		reopened = nil
		var reason string
		if err := tx.GetContext(ctx, &reason, s.q.SuppressionLock, hash); err != nil {
			return notFound(err, "suppression")
		}
		if reason == store.ForgottenReason {
			return fmt.Errorf("the address was forgotten at the person's request: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.q.SuppressionDelete, hash); err != nil {
			return fmt.Errorf("lifting suppression: %w", err)
		}
		var p prospectRow
		if err := tx.GetContext(ctx, &p, s.q.ProspectLockByNorm, norm); errors.Is(err, sql.ErrNoRows) {
			return nil // an address suppressed without ever being a prospect
		} else if err != nil {
			return fmt.Errorf("reading prospect: %w", err)
		}
		var rows []enrollmentRow
		if err := tx.SelectContext(ctx, &rows, s.q.EnrollmentsByProspect, p.ID); err != nil {
			return fmt.Errorf("reading enrollments: %w", err)
		}
		for _, r := range rows {
			e := r.enrollment()
			if e.State != store.StateUnsubscribed && e.State != store.StateBounced {
				continue
			}
			ended := e.UpdatedAt
			e.State, e.PausedAt, e.NextSendAt, e.Reason = store.StatePaused, &ended, nil, ""
			saved, err := s.enrollmentSave(ctx, tx, e, at)
			if err != nil {
				return err
			}
			if err := s.eventInsert(ctx, tx, store.Event{Kind: store.EventUnsuppressed, Detail: u.Reason, At: at}, saved); err != nil {
				return err
			}
			reopened = append(reopened, saved)
		}
		if len(reopened) == 0 {
			return s.eventInsert(ctx, tx, store.Event{ProspectID: p.ID, Kind: store.EventUnsuppressed, Detail: u.Reason, At: at}, store.Enrollment{})
		}
		return nil
	})
	return reopened, err
}
