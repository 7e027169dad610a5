package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/drip-email/drip/store"
)

// searchFoldVersion is the Go migration that fills prospects.search_fold
// (added by SQL migration 00005) for the prospects stored before it. The
// folding is Go's (store.SearchFold), which no SQL of either database can
// reproduce, hence a Go migration. It runs in goose's transaction, once.
const searchFoldVersion = 10

// backfillBatch is how many prospects one read of the backfill takes.
const backfillBatch = 1000

func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(searchFoldVersion,
			&goose.GoFunc{RunTx: backfillSearchFold},
			&goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }}), // 00005's down drops the column
	}
}

func backfillSearchFold(ctx context.Context, tx *sql.Tx) error {
	upd, err := tx.PrepareContext(ctx, `UPDATE prospects SET search_fold = $1 WHERE id = $2`)
	if err != nil {
		return fmt.Errorf("backfilling search_fold: %w", err)
	}
	defer upd.Close()
	type row struct {
		id                      int64
		first, last, company, f string
	}
	var after int64 = -1 << 62
	for {
		rows, err := tx.QueryContext(ctx, `SELECT id, first_name, last_name, company FROM prospects
			WHERE id > $1 AND forgotten_at IS NULL ORDER BY id LIMIT $2`, after, backfillBatch)
		if err != nil {
			return fmt.Errorf("backfilling search_fold: %w", err)
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.first, &r.last, &r.company); err != nil {
				rows.Close()
				return fmt.Errorf("backfilling search_fold: %w", err)
			}
			r.f = store.SearchFold(r.first, r.last, r.company)
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("backfilling search_fold: %w", err)
		}
		for _, r := range batch {
			if r.f == "" {
				continue
			}
			if _, err := upd.ExecContext(ctx, r.f, r.id); err != nil {
				return fmt.Errorf("backfilling search_fold of prospect %d: %w", r.id, err)
			}
		}
		if len(batch) < backfillBatch {
			return nil
		}
		after = batch[len(batch)-1].id
	}
}
