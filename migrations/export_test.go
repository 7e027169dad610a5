package migrations

import (
	"context"
	"database/sql"
)

// UpToForTest applies the migrations up to version (for tests of a
// migration's effect on rows stored before it).
func UpToForTest(ctx context.Context, db *sql.DB, dialect string, version int64) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

const SearchFoldVersion = searchFoldVersion
