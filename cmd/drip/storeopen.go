package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
)

// openStore opens the configured store and brings its schema up to date
// (idempotent, and safe from several processes at once on PostgreSQL), so
// that every command works on a fresh database.
func openStore(ctx context.Context, g *globals, cfg *configs.Config) (store.Store, error) {
	st, dialect, db, err := storeopen.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	if _, err := migrations.Up(ctx, db, dialect); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// checkAgainstStore reports what the configuration would break in an
// existing store: a sequence or sender dropped while enrollments still use
// it. A store that does not exist yet is fine (nothing to break).
func checkAgainstStore(ctx context.Context, cfg *configs.Config) []string {
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:"); ok {
		if _, err := os.Stat(path); err != nil {
			return nil
		}
	}
	st, _, _, err := storeopen.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return []string{fmt.Sprintf("%s: database_url: %v (the configuration was not checked against the store)", cfg.File, err)}
	}
	defer st.Close()
	counts, err := st.EnrollmentCounts(ctx)
	if err != nil {
		// A store without the schema yet has nothing that could break.
		return nil
	}
	var problems []string
	for name, byState := range counts {
		if _, ok := cfg.Sequences[name]; ok {
			continue
		}
		live := 0
		for state, n := range byState {
			if !state.Terminal() {
				live += n
			}
		}
		if live > 0 {
			problems = append(problems, fmt.Sprintf("%s: sequence %q is not configured but %d enrollment(s) in it are not finished; keep %s/%s.yaml (or shorten it) until they are",
				cfg.SequencesDir, name, live, cfg.SequencesDir, name))
		}
	}
	sort.Strings(problems)
	return problems
}
