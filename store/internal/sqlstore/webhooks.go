package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drip-email/drip/store"
)

// WebhooksSync makes the webhooks table hold exactly targets (by URL); the
// outbox triggers read it.
func (s *Store) WebhooksSync(ctx context.Context, targets []store.WebhookTarget) error {
	urls := make([]string, 0, len(targets))
	return s.inTx(ctx, func(tx *txn) error {
		for _, t := range targets {
			kinds := ""
			if len(t.Kinds) > 0 {
				ks := make([]string, len(t.Kinds))
				for i, k := range t.Kinds {
					ks[i] = string(k)
				}
				kinds = "," + strings.Join(ks, ",") + ","
			}
			if _, err := tx.ExecContext(ctx, s.q.WebhookUpsert, t.URL, kinds); err != nil {
				return fmt.Errorf("recording webhook %d: %w", len(urls), err) // never the URL: it may hold a token
			}
			urls = append(urls, t.URL)
		}
		if _, err := tx.ExecContext(ctx, s.q.WebhooksDropOthers, jsonList(urls)); err != nil {
			return fmt.Errorf("dropping webhooks no longer configured: %w", err)
		}
		return nil
	})
}

type webhookRow struct {
	ID         int64  `db:"id"`
	WebhookID  int64  `db:"webhook_id"`
	EventKey   string `db:"event_key"`
	ProspectID int64  `db:"prospect_id"`
	Kind       string `db:"kind"`
	Sequence   string `db:"sequence"`
	Step       int    `db:"step"`
	Detail     string `db:"detail"`
	At         dbTime `db:"at"`
	Attempts   int    `db:"attempts"`
}

// WebhookClaim leases the heads of the outbox's queues (see store.Store).
func (s *Store) WebhookClaim(ctx context.Context, owner string, now, until time.Time, limit int) ([]store.WebhookDelivery, error) {
	var rows []webhookRow
	err := s.inTx(ctx, func(tx *txn) error {
		return tx.SelectContext(ctx, &rows, s.q.WebhookClaim, owner, utc(now), utc(until), limit)
	})
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	var hooks []struct {
		ID  int64  `db:"id"`
		URL string `db:"url"`
	}
	if err := s.read.SelectContext(ctx, &hooks, s.q.WebhooksList); err != nil {
		return nil, fmt.Errorf("reading webhooks: %w", err)
	}
	urls := make(map[int64]string, len(hooks))
	for _, h := range hooks {
		urls[h.ID] = h.URL
	}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ProspectID)
	}
	people, err := s.ProspectsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]store.WebhookDelivery, 0, len(rows))
	for _, r := range rows {
		p, ok := people[r.ProspectID]
		if !ok {
			p = store.Prospect{ID: r.ProspectID}
		}
		out = append(out, store.WebhookDelivery{
			ID: r.ID, WebhookURL: urls[r.WebhookID], Key: r.EventKey, Kind: store.EventKind(r.Kind),
			Prospect: p, Sequence: r.Sequence, Step: r.Step, Detail: r.Detail, At: r.At.T, Attempts: r.Attempts,
		})
	}
	return out, nil
}

// WebhookDelivered deletes a delivery the owner holds.
func (s *Store) WebhookDelivered(ctx context.Context, id int64, owner string) error {
	return s.webhookSettle(ctx, "recording webhook delivery", s.q.WebhookDelivered, id, owner)
}

// WebhookRetry releases a delivery the owner holds, due again at next.
func (s *Store) WebhookRetry(ctx context.Context, id int64, owner string, next time.Time, failure string) error {
	return s.webhookSettle(ctx, "recording webhook failure", s.q.WebhookRetry, id, owner, utc(next), failure)
}

func (s *Store) webhookSettle(ctx context.Context, what, query string, id int64, owner string, more ...any) error {
	var n int64
	err := s.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, query, append([]any{id, owner}, more...)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %d: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %d: not leased by %q: %w", what, id, owner, store.ErrLeaseLost)
	}
	return nil
}

// WebhookPending counts the outbox's rows.
func (s *Store) WebhookPending(ctx context.Context) (int, error) {
	var n int
	if err := s.read.GetContext(ctx, &n, s.q.WebhookPending); err != nil {
		return 0, fmt.Errorf("counting webhook deliveries: %w", err)
	}
	return n, nil
}
