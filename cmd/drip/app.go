package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/templates"
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

// unsubscribeURL makes the link for a prospect.
func unsubscribeURL(cfg *configs.Config, u *mailer.Unsubscriber) func(int64) string {
	base := strings.TrimRight(cfg.HTTP.PublicURL, "/")
	return func(id int64) string { return u.URL(base, id) }
}

// loadSequences loads every sequence's templates.
func loadSequences(cfg *configs.Config) (map[string]*sequencer.Sequence, error) {
	sets, err := templates.LoadAll(cfg)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*sequencer.Sequence, len(sets))
	for name, set := range sets {
		out[name] = &sequencer.Sequence{Config: cfg.Sequences[name], Templates: set}
	}
	return out, nil
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
