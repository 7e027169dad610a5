package sequencer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/store"
)

// Unsuppress lifts a wrong suppression (a forged bounce, an unsubscribe by
// mistake): the address may be enrolled and written to again, and the
// enrollments the suppression ended come back paused, so that `resume`
// continues them with their spacing; nothing is sent before someone
// resumes. The reason is required and kept in the timeline. A forgotten
// address stays suppressed: its person asked to be erased.
func (c *Control) Unsuppress(ctx context.Context, email, reason string) ([]store.Enrollment, error) {
	email, reason = strings.TrimSpace(email), strings.TrimSpace(reason)
	if r := importer.CheckEmail(email); r != "" {
		return nil, invalidf("%s", r)
	}
	if reason == "" {
		return nil, invalidf("a reason is required: it is kept in the prospect's timeline")
	}
	if r := importer.CheckValue("reason", reason); r != "" {
		return nil, invalidf("%s", r)
	}
	reopened, err := c.Store.SuppressionRemove(ctx, store.Unsuppress{Email: email, Reason: reason, At: c.now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("%s is not suppressed", email)
	case errors.Is(err, store.ErrConflict):
		return nil, &UserError{Kind: store.ErrConflict,
			Msg: fmt.Sprintf("%s was forgotten at the person's request: it stays suppressed", email)}
	case err != nil:
		return nil, fmt.Errorf("unsuppressing %s: %w", email, err)
	}
	return reopened, nil
}
