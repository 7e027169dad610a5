package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/drip-email/drip/store"
)

// ProspectUpsert inserts p, or updates the prospect with the same address
// (case-insensitively): non-empty values of p overwrite, custom fields merge
// key by key. p is filled with the stored prospect. An address that is
// suppressed and not known (a forgotten prospect, say) is refused with
// ErrSuppressed, so that no personal data of it is stored again.
func (s *Store) ProspectUpsert(ctx context.Context, p *store.Prospect) (created bool, err error) {
	norm := store.NormalizeEmail(p.Email)
	if norm == "" {
		return false, errors.New("upserting prospect: empty email address")
	}
	at := p.UpdatedAt
	if at.IsZero() {
		at = p.CreatedAt
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = utc(at)
	err = s.inTx(ctx, func(tx *txn) error {
		// Two rounds at most: if a concurrent insert of the same address
		// wins between our look and our insert, the second round updates it.
		for range 2 {
			var row prospectRow
			err := tx.GetContext(ctx, &row, s.q.ProspectLockByNorm, norm)
			if err == nil {
				merged := mergeProspect(row, *p)
				if err := tx.GetContext(ctx, &row, s.q.ProspectUpdate, row.ID, merged.Email,
					merged.FirstName, merged.LastName, merged.Company, merged.Title, merged.Phone,
					merged.MetAt, merged.Timezone, merged.Language, merged.Notes, merged.Fields, at,
					store.SearchFold(merged.FirstName, merged.LastName, merged.Company)); err != nil {
					return fmt.Errorf("updating prospect: %w", err)
				}
				created = false
				return fillProspect(p, row)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("reading prospect: %w", err)
			}
			if sup, err := s.suppressedHash(ctx, tx, store.EmailHash(norm)); err != nil {
				return err
			} else if sup {
				return fmt.Errorf("upserting prospect: %w", store.ErrSuppressed)
			}
			err = tx.GetContext(ctx, &row, s.q.ProspectInsert, strings.TrimSpace(p.Email), norm,
				store.EmailHash(norm), p.FirstName, p.LastName, p.Company, p.Title, p.Phone,
				p.MetAt, p.Timezone, p.Language, p.Notes, encodeFields(p.Fields), at,
				store.SearchFold(p.FirstName, p.LastName, p.Company))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("inserting prospect: %w", err)
			}
			created = true
			return fillProspect(p, row)
		}
		return fmt.Errorf("upserting prospect: %w", store.ErrConflict)
	})
	return created, err
}

func fillProspect(p *store.Prospect, row prospectRow) error {
	got, err := row.prospect()
	if err != nil {
		return err
	}
	*p = got
	return nil
}

// mergeProspect lays the non-empty values of in over row.
func mergeProspect(row prospectRow, in store.Prospect) prospectRow {
	over := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	over(&row.Email, strings.TrimSpace(in.Email))
	// Names never lose their case to a later, sloppier spelling (namecase.go).
	over(&row.FirstName, betterCased(row.FirstName, in.FirstName))
	over(&row.LastName, betterCased(row.LastName, in.LastName))
	over(&row.Company, betterCased(row.Company, in.Company))
	over(&row.Title, in.Title)
	over(&row.Phone, in.Phone)
	over(&row.MetAt, in.MetAt)
	over(&row.Timezone, in.Timezone)
	over(&row.Language, in.Language)
	over(&row.Notes, in.Notes)
	if len(in.Fields) > 0 {
		fields, err := decodeFields(row.Fields)
		if err != nil {
			fields = map[string]string{} // unreadable stored fields: the new ones win
		}
		for k, v := range in.Fields {
			fields[k] = v
		}
		row.Fields = encodeFields(fields)
	}
	return row
}

// ProspectGet returns a prospect by id (ErrNotFound when absent or forgotten).
func (s *Store) ProspectGet(ctx context.Context, id int64) (store.Prospect, error) {
	var row prospectRow
	if err := s.read.GetContext(ctx, &row, s.q.ProspectByID, id); err != nil {
		return store.Prospect{}, notFound(err, fmt.Sprintf("prospect %d", id))
	}
	return row.prospect()
}

// ProspectGetByEmail returns a prospect by address, case-insensitively.
func (s *Store) ProspectGetByEmail(ctx context.Context, email string) (store.Prospect, error) {
	var row prospectRow
	if err := s.read.GetContext(ctx, &row, s.q.ProspectByNorm, store.NormalizeEmail(email)); err != nil {
		return store.Prospect{}, notFound(err, "prospect")
	}
	return row.prospect()
}

// ProspectsByIDs returns the prospects that exist among ids.
func (s *Store) ProspectsByIDs(ctx context.Context, ids []int64) (map[int64]store.Prospect, error) {
	out := make(map[int64]store.Prospect, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []prospectRow
	if err := s.read.SelectContext(ctx, &rows, s.q.ProspectsByIDs, jsonList(ids)); err != nil {
		return nil, fmt.Errorf("reading prospects: %w", err)
	}
	for _, r := range rows {
		p, err := r.prospect()
		if err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, nil
}

// ProspectForget erases the prospect's personal data everywhere: the
// prospect row is blanked (it stays, anonymous, so that counts hold), its
// enrollments stop, free text of its events and sends is cleared, and the
// address stays suppressed by hash only. ErrNotFound when the address is
// not a known prospect (nothing is written then).
func (s *Store) ProspectForget(ctx context.Context, email string, at time.Time) error {
	norm := store.NormalizeEmail(email)
	at = utc(at)
	return s.inTx(ctx, func(tx *txn) error {
		var row prospectRow
		if err := tx.GetContext(ctx, &row, s.q.ProspectLockByNorm, norm); err != nil {
			return notFound(err, "prospect to forget")
		}
		if _, err := tx.ExecContext(ctx, s.q.SuppressionInsert, store.EmailHash(norm), "forgotten", at); err != nil {
			return fmt.Errorf("suppressing forgotten address: %w", err)
		}
		steps := []struct {
			what  string
			query string
			args  []any
		}{
			{"enrollments", s.q.ForgetEnrollments, []any{row.ID, at}},
			{"events", s.q.ForgetEvents, []any{row.ID}},
			{"sends", s.q.ForgetSends, []any{row.ID}},
			{"webhook deliveries", s.q.WebhookOutboxForget, []any{row.ID}},
			{"prospect", s.q.ProspectForget, []any{row.ID, at}},
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
				return fmt.Errorf("forgetting prospect's %s: %w", st.what, err)
			}
		}
		return nil
	})
}

// suppressedHash reports whether an address hash is on the suppression list.
func (s *Store) suppressedHash(ctx context.Context, q sqlx.QueryerContext, hash string) (bool, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, s.q.Suppressed, hash); err != nil {
		return false, fmt.Errorf("checking suppression: %w", err)
	}
	return n > 0, nil
}
