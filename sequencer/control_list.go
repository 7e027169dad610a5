package sequencer

import (
	"context"
	"fmt"
	"time"

	"github.com/drip-email/drip/store"
)

// ProspectListItem is one prospect of a list page (GET /api/v1/prospects):
// the prospect and its listed enrollment (the one the store picks as most
// relevant: running before ended), times in the prospect's time zone.
type ProspectListItem struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Timezone  string `json:"timezone"`
	Language  string `json:"language"`
	// Enrollment is null for a prospect enrolled nowhere.
	Enrollment *ListEnrollment `json:"enrollment"`
}

// ListEnrollment is the enrollment a list shows.
type ListEnrollment struct {
	Sequence   string      `json:"sequence"`
	Sender     string      `json:"sender"`
	State      store.State `json:"state"`
	LastStep   int         `json:"last_step"`
	Steps      int         `json:"steps"`
	NextStep   *int        `json:"next_step"`
	NextSendAt *time.Time  `json:"next_send_at"`
}

// ProspectList reads one page of prospects as f filters them, and how
// many match (up to f.CountUpTo when set).
func (c *Control) ProspectList(ctx context.Context, f store.ProspectFilter) ([]ProspectListItem, int, error) {
	rows, total, err := c.Store.ProspectList(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("listing prospects: %w", err)
	}
	now := c.now()
	out := make([]ProspectListItem, len(rows))
	for i, r := range rows {
		p := r.Prospect
		it := ProspectListItem{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
			Company: p.Company, Timezone: p.Timezone, Language: p.Language}
		if e := r.Enrollment; e != nil {
			le := &ListEnrollment{Sequence: e.Sequence, Sender: e.Sender, State: e.State, LastStep: e.LastStep}
			loc := time.UTC
			if seq, ok := c.Config.Sequences[e.Sequence]; ok {
				le.Steps, loc = seq.Steps, Location(p, seq)
			}
			if it.Timezone == "" {
				it.Timezone = loc.String()
			}
			if step, when := c.nextSend(p, *e, now); step > 0 {
				at := when.In(loc).Truncate(time.Second)
				le.NextStep, le.NextSendAt = &step, &at
			}
			it.Enrollment = le
		}
		out[i] = it
	}
	return out, total, nil
}
