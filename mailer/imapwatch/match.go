package imapwatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/store"
)

// Lookup is what matching needs of the store.
type Lookup interface {
	SentByMessageIDs(ctx context.Context, ids []string) (store.SentRef, error)
	SentLatestToEmail(ctx context.Context, email string) (store.SentRef, error)
	EnrollmentsByProspect(ctx context.Context, prospectID int64) ([]store.Enrollment, error)
}

// maxDetail bounds an event's Detail: it is a hint for the timeline, never
// the message's text.
const maxDetail = 200

// maxRecipients of one delivery report are matched.
const maxRecipients = 100

// decision is what one inbound message does: the Inbound to record (its
// mailbox fields are filled by the caller) and the kind label to count.
type decision struct {
	kind  string
	in    store.Inbound
	ref   store.SentRef // the first matched send; zero when unmatched
	notes string        // why it is unmatched, for the log
}

// decide parses, classifies and matches one raw message. byAddress allows
// the fallback match by address; without it only Message-IDs match. It
// returns an error only when the store could not be asked: the message is
// then left for a later attempt.
func decide(ctx context.Context, lk Lookup, own []string, raw []byte, now time.Time, byAddress bool) (decision, error) {
	m, err := inbound.Parse(raw)
	if err != nil {
		return decision{kind: KindUnmatched, in: store.Inbound{Key: rawKey(raw)}, notes: err.Error()}, nil
	}
	res := inbound.Classify(m, own)
	key := res.Key
	if key == "" {
		key = rawKey(raw)
	}
	d := decision{in: store.Inbound{Key: key}}

	switch res.Kind {
	case inbound.Own:
		d.kind = KindOwn
		return d, nil
	case inbound.Bounce, inbound.Delayed:
		return decideDSN(ctx, lk, d, m, res, now, byAddress)
	case inbound.Reply, inbound.AutoReply, inbound.Unsubscribe:
	default:
		d.kind, d.notes = KindUnmatched, "unclassified: "+res.Detail
		return d, nil
	}

	var addrs []string
	if byAddress {
		addrs = res.Addresses
	}
	ref, how, err := match(ctx, lk, res.MessageIDs, addrs)
	if errors.Is(err, store.ErrNotFound) {
		d.kind, d.notes = KindUnmatched, string(res.Kind)+" matching no send of ours"
		return d, nil
	}
	if err != nil {
		return decision{}, err
	}
	d.ref = ref
	ev := store.Event{ProspectID: ref.ProspectID, EnrollmentID: ref.EnrollmentID, Sequence: ref.Sequence,
		Step: ref.Step, MessageID: m.MessageID, At: now}

	switch res.Kind {
	case inbound.Reply:
		d.kind = KindReply
		ev.Kind, ev.Detail = store.EventReply, clip("reply, matched by "+how)
		d.in.Events = []store.Event{ev}
		// A person who answered gets no canned mail from any sequence: every
		// running or hand-paused enrollment of theirs becomes replied.
		ens, err := lk.EnrollmentsByProspect(ctx, ref.ProspectID)
		if err != nil {
			return decision{}, fmt.Errorf("reading enrollments of prospect %d: %w", ref.ProspectID, err)
		}
		for _, e := range ens {
			if e.State != store.StateActive && e.State != store.StatePaused {
				continue
			}
			d.in.Transitions = append(d.in.Transitions, store.Transition{
				EnrollmentID: e.ID,
				From:         []store.State{store.StateActive, store.StatePaused},
				To:           store.StateReplied,
				At:           now,
				Reason:       "reply",
				Event:        &store.Event{Kind: store.EventPaused, Detail: "paused by a reply", At: now},
			})
		}
	case inbound.AutoReply:
		d.kind = KindAutoReply
		ev.Kind, ev.Detail = store.EventAutoReply, clip(res.Detail)
		d.in.Events = []store.Event{ev}
	case inbound.Unsubscribe:
		d.kind = KindUnsubscribe
		ev.Kind, ev.Detail = store.EventUnsubscribe, clip(res.Detail)
		d.in.Events = []store.Event{ev}
		d.in.Suppress = []string{ref.Email}
		if m.From != "" && m.From != store.NormalizeEmail(ref.Email) {
			// Whoever asked to stop is not written to again either.
			d.in.Suppress = append(d.in.Suppress, m.From)
		}
		d.in.SuppressReason, d.in.SuppressState = "unsubscribe", store.StateUnsubscribed
	}
	return d, nil
}

// decideDSN handles a delivery status notification: each reported
// recipient by its own status, matched by the returned message's
// Message-ID when it was addressed to that recipient (or is the only one),
// else by the recipient's address.
func decideDSN(ctx context.Context, lk Lookup, d decision, m *inbound.Message, res inbound.Result, now time.Time, byAddress bool) (decision, error) {
	var byID *store.SentRef
	if len(res.MessageIDs) > 0 {
		ref, err := lk.SentByMessageIDs(ctx, res.MessageIDs)
		switch {
		case err == nil:
			byID = &ref
		case !errors.Is(err, store.ErrNotFound):
			return decision{}, fmt.Errorf("matching a delivery report by Message-ID: %w", err)
		}
	}
	recips := res.Recipients
	if len(recips) == 0 && byID != nil {
		recips = []inbound.Recipient{{Address: store.NormalizeEmail(byID.Email), Kind: res.Kind, Status: res.Status}}
	}

	if len(recips) > maxRecipients {
		// Each one is a lookup; no real report names more.
		recips = recips[:maxRecipients]
	}
	seen := map[int64]bool{} // prospects already given an event by this report
	bounced := false
	for _, r := range recips {
		var ref store.SentRef
		how := ""
		switch {
		case byID != nil && (len(recips) == 1 || store.NormalizeEmail(byID.Email) == r.Address):
			ref, how = *byID, "Message-ID"
		case byAddress && r.Address != "":
			var err error
			ref, err = lk.SentLatestToEmail(ctx, r.Address)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return decision{}, fmt.Errorf("matching a delivery report by recipient: %w", err)
			}
			how = "recipient address"
		default:
			continue
		}
		if seen[ref.ProspectID] {
			continue
		}
		seen[ref.ProspectID] = true
		kind, status := r.Kind, r.Status
		if kind != inbound.Bounce && kind != inbound.Delayed {
			kind = res.Kind
		}
		if status == "" {
			status = res.Status
		}
		ev := store.Event{ProspectID: ref.ProspectID, EnrollmentID: ref.EnrollmentID, Sequence: ref.Sequence,
			Step: ref.Step, MessageID: m.MessageID, At: now, Kind: store.EventDelayed}
		what := "delivery delayed"
		if kind == inbound.Bounce {
			ev.Kind, what, bounced = store.EventBounce, "bounced", true
			d.in.Suppress = append(d.in.Suppress, ref.Email)
		}
		if status != "" {
			what += " (" + status + ")"
		}
		ev.Detail = clip(what + ", matched by " + how)
		d.in.Events = append(d.in.Events, ev)
		if d.ref.EnrollmentID == 0 {
			d.ref = ref
		}
	}
	switch {
	case len(d.in.Events) == 0:
		d.kind, d.notes = KindUnmatched, "delivery report matching no send of ours"
	case bounced:
		d.kind = KindBounce
		d.in.SuppressReason, d.in.SuppressState = "bounce", store.StateBounced
	default:
		d.kind = KindDelayed
	}
	return d, nil
}

// match finds the send a message answers: by Message-ID first, then by
// each address in turn. It reports how it matched.
func match(ctx context.Context, lk Lookup, ids, addrs []string) (store.SentRef, string, error) {
	if len(ids) > 0 {
		ref, err := lk.SentByMessageIDs(ctx, ids)
		if err == nil {
			return ref, "Message-ID", nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.SentRef{}, "", fmt.Errorf("matching by Message-ID: %w", err)
		}
	}
	for _, a := range addrs {
		ref, err := lk.SentLatestToEmail(ctx, a)
		if err == nil {
			return ref, "sender address", nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.SentRef{}, "", fmt.Errorf("matching by address: %w", err)
		}
	}
	return store.SentRef{}, "", store.ErrNotFound
}

// rawKey is the dedup key of a message that gave none: a hash of its bytes.
func rawKey(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "raw-sha256:" + hex.EncodeToString(sum[:16])
}

// clip keeps Detail short, on a rune boundary, on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDetail {
		return s
	}
	s = s[:maxDetail]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
