package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/drip-email/drip/configs"
)

// loadConfig loads and validates the configuration; any problem is an error
// whose one line names the first problem and counts the rest.
func loadConfig(g *globals) (*configs.Config, error) {
	cfg, err := configs.Load(g.config)
	if err == nil {
		return cfg, nil
	}
	var ps *configs.Problems
	if errors.As(err, &ps) && len(ps.List) > 1 {
		return nil, fmt.Errorf("%s (and %d more problems; run `drip check -c %s`)", ps.List[0], len(ps.List)-1, g.config)
	}
	return nil, err
}

// newLogger is the structured logger of --log-format and --log-level.
func newLogger(g *globals) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, usagef("--log-level %q: use debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, usagef("--log-format %q: use text or json", g.logFormat)
}

// sequenceNamed looks a sequence up, with the list of names in the error.
func sequenceNamed(cfg *configs.Config, name string) (*configs.Sequence, error) {
	if name == "" {
		return nil, usagef("--sequence is required (one of: %s)", strings.Join(cfg.SequenceNames(), ", "))
	}
	seq, ok := cfg.Sequences[name]
	if !ok {
		return nil, fmt.Errorf("no sequence %q (have: %s)", name, strings.Join(cfg.SequenceNames(), ", "))
	}
	return seq, nil
}
