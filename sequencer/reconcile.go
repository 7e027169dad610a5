package sequencer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// What a configuration may change under running enrollments, decided here
// once for `drip serve` (which applies it at start) and `drip check`
// (which reports it):
//   - a sequence shortened below the step an enrollment has reached
//     completes that enrollment (CompletePastEnd);
//   - a sequence dropped from the configuration while enrollments in it
//     are unfinished is refused (DroppedSequences): they would never be
//     sent nor finish.

// ReconcileStore is what reconciling a configuration with a store reads
// and writes.
type ReconcileStore interface {
	EnrollmentCounts(ctx context.Context) (map[string]map[store.State]int, error)
	EnrollmentsCompletePastEnd(ctx context.Context, sequence string, steps int, at time.Time) (int, error)
}

// DroppedSequences returns one problem line per sequence that has
// unfinished enrollments in the store but is not in cfg, sorted. An error
// means the store could not be read (a store without the schema yet, say).
func DroppedSequences(ctx context.Context, st ReconcileStore, cfg *configs.Config) ([]string, error) {
	counts, err := st.EnrollmentCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting enrollments: %w", err)
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
	return problems, nil
}

// CompletePastEnd completes, in every configured sequence, the unfinished
// enrollments that have already been sent its last step (the sequence was
// shortened under them), and returns how many per sequence (only those
// with some).
func CompletePastEnd(ctx context.Context, st ReconcileStore, seqs map[string]*configs.Sequence, now time.Time) (map[string]int, error) {
	done := map[string]int{}
	names := make([]string, 0, len(seqs))
	for name := range seqs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n, err := st.EnrollmentsCompletePastEnd(ctx, name, seqs[name].Steps, now)
		if err != nil {
			return done, fmt.Errorf("completing the enrollments past the end of sequence %q: %w", name, err)
		}
		if n > 0 {
			done[name] = n
		}
	}
	return done, nil
}
