package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drip-email/drip/store"
)

type plannedRow struct {
	Sender   string `db:"sender"`
	Sequence string `db:"sequence"`
	LastStep int    `db:"last_step"`
	At       dbTime `db:"next_send_at"`
	Email    string `db:"email_norm"`
}

// EnrollmentsPlanned lists active enrollments planned before until.
func (s *Store) EnrollmentsPlanned(ctx context.Context, until time.Time) ([]store.Planned, error) {
	var rows []plannedRow
	if err := s.read.SelectContext(ctx, &rows, s.q.EnrollmentsPlanned, utc(until)); err != nil {
		return nil, fmt.Errorf("reading planned sends: %w", err)
	}
	out := make([]store.Planned, len(rows))
	for i, r := range rows {
		_, domain, _ := strings.Cut(r.Email, "@")
		out[i] = store.Planned{Sender: r.Sender, Sequence: r.Sequence, LastStep: r.LastStep, At: r.At.T, RecipientDomain: domain}
	}
	return out, nil
}
