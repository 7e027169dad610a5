package sqlstore

import (
	"context"
	"fmt"

	"github.com/drip-email/drip/store"
)

// SequenceLanguageStats is SequenceStats summed over the steps, by the
// prospects' language as stored.
func (s *Store) SequenceLanguageStats(ctx context.Context, sequence string) ([]store.LanguageStats, error) {
	by := map[string]*store.LanguageStats{}
	var order []string
	lang := func(l string) *store.LanguageStats {
		if by[l] == nil {
			by[l] = &store.LanguageStats{Language: l, States: map[store.State]int{}}
			order = append(order, l)
		}
		return by[l]
	}
	type count struct {
		Lang string `db:"lang"`
		What string `db:"what"`
		N    int    `db:"n"`
	}
	var sends, events, bounces, states []count
	for _, q := range []struct {
		dst   *[]count
		query string
	}{
		{&sends, s.q.LanguageStatsSends},
		{&events, s.q.LanguageStatsEvents},
		{&bounces, s.q.LanguageStatsBounces},
		{&states, s.q.LanguageStatsStates},
	} {
		if err := s.read.SelectContext(ctx, q.dst, q.query, sequence); err != nil {
			return nil, fmt.Errorf("reading statistics of %s by language: %w", sequence, err)
		}
	}
	for _, c := range sends {
		addSends(&lang(c.Lang).StepStats, c.What, c.N)
	}
	for _, c := range events {
		addEvents(&lang(c.Lang).StepStats, c.What, c.N)
	}
	for _, c := range bounces {
		lang(c.Lang).Bounced += c.N
	}
	for _, c := range states {
		lang(c.Lang).States[store.State(c.What)] = c.N
	}
	out := make([]store.LanguageStats, 0, len(order))
	for _, l := range order {
		out = append(out, *by[l])
	}
	return out, nil
}
