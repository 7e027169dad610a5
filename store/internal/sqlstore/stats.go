package sqlstore

import (
	"context"
	"fmt"
	"sort"

	"github.com/drip-email/drip/store"
)

// SequenceStats is the funnel of a sequence: per step, what its sends
// became and what the answers to them were; and its enrollments by state
// (every state, zero included).
func (s *Store) SequenceStats(ctx context.Context, sequence string) (store.SequenceStats, error) {
	out := store.SequenceStats{Sequence: sequence, States: map[store.State]int{}}
	for _, st := range store.States {
		out.States[st] = 0
	}
	steps := map[int]*store.StepStats{}
	step := func(k int) *store.StepStats {
		if steps[k] == nil {
			steps[k] = &store.StepStats{Step: k}
		}
		return steps[k]
	}
	type count struct {
		Step int    `db:"step"`
		What string `db:"what"`
		N    int    `db:"n"`
	}
	var sends, events, bounces, states []count
	for _, q := range []struct {
		dst   *[]count
		query string
	}{
		{&sends, s.q.StatsSends},
		{&events, s.q.StatsEvents},
		{&bounces, s.q.StatsBounces},
		{&states, s.q.StatsStates},
	} {
		if err := s.read.SelectContext(ctx, q.dst, q.query, sequence); err != nil {
			return store.SequenceStats{}, fmt.Errorf("reading statistics of %s: %w", sequence, err)
		}
	}
	for _, c := range sends {
		addSends(step(c.Step), c.What, c.N)
	}
	for _, c := range events {
		addEvents(step(c.Step), c.What, c.N)
	}
	for _, c := range bounces {
		step(c.Step).Bounced += c.N
	}
	for _, c := range states {
		out.States[store.State(c.What)] = c.N
	}
	for _, st := range steps {
		out.Steps = append(out.Steps, *st)
	}
	sort.Slice(out.Steps, func(i, j int) bool { return out.Steps[i].Step < out.Steps[j].Step })
	return out, nil
}

// addSends counts n sends in status what into st; in-flight and retrying
// sends are not an outcome yet.
func addSends(st *store.StepStats, what string, n int) {
	switch store.SendStatus(what) {
	case store.SendSent:
		st.Sent += n
	case store.SendSkipped:
		st.Skipped += n
	case store.SendFailed:
		st.Failed += n
	case store.SendUnknown:
		st.Unknown += n
	}
}

// addEvents counts n inbound events of kind what into st.
func addEvents(st *store.StepStats, what string, n int) {
	switch store.EventKind(what) {
	case store.EventReply:
		st.Replied += n
	case store.EventAutoReply:
		st.AutoReplies += n
	case store.EventUnsubscribe:
		st.Unsubscribed += n
	}
}
