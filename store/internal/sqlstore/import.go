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

// importEnrollment is one enrollment a batch asks for.
type importEnrollment struct {
	norm, sequence, sender string
	firstContact           time.Time
	nextSendAt             *time.Time
}

// ImportBatch loads a list in one transaction. The batch is first folded in
// memory (a later row of the same address updates the earlier one; the first
// row asking for a sequence decides its enrollment), then goes through the
// staging tables in a handful of statements, whatever its size (see the
// import queries). A row without an address is refused on its own.
func (s *Store) ImportBatch(ctx context.Context, rows []store.ImportRow) ([]store.ImportResult, error) {
	results := make([]store.ImportResult, len(rows))
	at := utc(time.Now())
	norms := make([]string, len(rows))
	first := make([]bool, len(rows)) // the row that brings its address into the batch
	byNorm := map[string]int{}
	var prospects []prospectRow
	asked := map[[2]string]bool{}
	var enrolls []importEnrollment
	for i, r := range rows {
		results[i].Line = r.Line
		norm := store.NormalizeEmail(r.Prospect.Email)
		if norm == "" {
			results[i].Err = errors.New("no email address")
			continue
		}
		norms[i] = norm
		if k, ok := byNorm[norm]; ok {
			prospects[k] = mergeProspect(prospects[k], r.Prospect)
		} else {
			byNorm[norm] = len(prospects)
			first[i] = true
			p := r.Prospect
			prospects = append(prospects, prospectRow{
				Email: strings.TrimSpace(p.Email), EmailNorm: norm, EmailHash: store.EmailHash(norm),
				FirstName: p.FirstName, LastName: p.LastName, Company: p.Company, Title: p.Title,
				Phone: p.Phone, MetAt: p.MetAt, Timezone: p.Timezone, Language: p.Language,
				Notes: p.Notes, Fields: encodeFields(p.Fields),
			})
		}
		if r.Sequence != "" && !asked[[2]string{norm, r.Sequence}] {
			asked[[2]string{norm, r.Sequence}] = true
			enrolls = append(enrolls, importEnrollment{
				norm: norm, sequence: r.Sequence, sender: r.Sender,
				firstContact: utc(r.FirstContact), nextSendAt: utcPtr(r.NextSendAt),
			})
		}
	}
	if len(prospects) == 0 {
		return results, nil
	}

	suppressed := map[string]bool{}
	existing := map[string]bool{}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.ImportLock); err != nil {
			return fmt.Errorf("locking prospects: %w", err)
		}
		if err := s.importStage(ctx, tx, prospects, enrolls); err != nil {
			return err
		}
		var sup []string
		if err := tx.SelectContext(ctx, &sup, s.q.ImportSuppressed); err != nil {
			return fmt.Errorf("checking suppressions: %w", err)
		}
		if len(sup) > 0 {
			for _, n := range sup {
				suppressed[n] = true
			}
			for _, q := range []string{s.q.ImportDropProspects, s.q.ImportDropEnrollments} {
				if _, err := tx.ExecContext(ctx, q, jsonList(sup)); err != nil {
					return fmt.Errorf("dropping suppressed rows: %w", err)
				}
			}
		}
		var ex []string
		if err := tx.SelectContext(ctx, &ex, s.q.ImportExisting); err != nil {
			return fmt.Errorf("finding known prospects: %w", err)
		}
		for _, n := range ex {
			existing[n] = true
		}
		steps := []struct{ what, query string }{
			{"updating known prospects", s.q.ImportUpdateProspects},
			{"inserting new prospects", s.q.ImportInsertProspects},
			{"enrolling", s.q.ImportEnroll},
		}
		if len(existing) == 0 {
			steps = steps[1:] // a list of new addresses only: nothing to update
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, st.query, at); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		for _, q := range []string{s.q.ImportUnstageProspects, s.q.ImportUnstageEnrollments} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("dropping staging table: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("importing %d rows: %w", len(rows), err)
	}
	for i, norm := range norms {
		switch {
		case norm == "":
		case suppressed[norm]:
			results[i].Err = fmt.Errorf("line %d: %w", rows[i].Line, store.ErrSuppressed)
		default:
			results[i].Created = first[i] && !existing[norm]
		}
	}
	return results, nil
}

// importStage creates the staging tables and fills them with the driver's
// import-load-* statements (see bulk).
func (s *Store) importStage(ctx context.Context, tx *sqlx.Tx, ps []prospectRow, es []importEnrollment) error {
	for _, q := range []string{s.q.ImportUnstageProspects, s.q.ImportUnstageEnrollments, s.q.ImportStageProspects, s.q.ImportStageEnrollments} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating staging tables: %w", err)
		}
	}
	err := s.bulk(ctx, tx, s.q.ImportLoadProspect, len(ps), func(i int) []any {
		p := ps[i]
		return []any{p.Email, p.EmailNorm, p.EmailHash, p.FirstName, p.LastName, p.Company,
			p.Title, p.Phone, p.MetAt, p.Timezone, p.Language, p.Notes, p.Fields}
	})
	if err != nil {
		return fmt.Errorf("staging prospects: %w", err)
	}
	err = s.bulk(ctx, tx, s.q.ImportLoadEnrollment, len(es), func(i int) []any {
		e := es[i]
		return []any{e.norm, e.sequence, e.sender, e.firstContact, e.nextSendAt}
	})
	if err != nil {
		return fmt.Errorf("staging enrollments: %w", err)
	}
	return nil
}

// bulk runs a staging statement for n rows. A COPY takes them one by one
// (buffered by the driver) and a final empty Exec. An INSERT … VALUES of
// one row is widened to bulkRows rows a statement: per-statement costs of
// database/sql dominate otherwise.
func (s *Store) bulk(ctx context.Context, tx *sqlx.Tx, query string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if strings.HasPrefix(query, "COPY") {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
				return err
			}
		}
		_, err = stmt.ExecContext(ctx)
		return err
	}
	head, tuple, ok := cutLast(query, "VALUES")
	if !ok {
		return fmt.Errorf("staging statement has no VALUES: %.40q", query)
	}
	width := strings.Count(tuple, "$")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	widen := func(rows int) string {
		return head + "VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
	}
	var full *sql.Stmt
	args := make([]any, 0, bulkRows*width)
	for i := 0; i < n; i += bulkRows {
		rows := min(bulkRows, n-i)
		args = args[:0]
		for j := i; j < i+rows; j++ {
			args = append(args, row(j)...)
		}
		if rows < bulkRows {
			if _, err := tx.ExecContext(ctx, widen(rows), args...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, widen(bulkRows)); err != nil {
				return err
			}
			defer full.Close()
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// bulkRows is how many rows one widened staging INSERT carries (SQLite
// allows 32766 parameters a statement).
const bulkRows = 100

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
