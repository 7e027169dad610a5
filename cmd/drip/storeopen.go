package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
)

// openStore opens the configured store and brings its schema up to date,
// as serve does.
func openStore(ctx context.Context, g *globals, cfg *configs.Config) (store.Store, error) {
	return daemon.OpenStore(ctx, cfg.DatabaseURL)
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
	// A store without the schema yet (an error here) has nothing that
	// could break.
	problems, _ := sequencer.DroppedSequences(ctx, st, cfg)
	return problems
}
