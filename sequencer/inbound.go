package sequencer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/store"
)

// InboundLookup is what deciding an inbound message reads of the store.
type InboundLookup interface {
	SentByMessageIDs(ctx context.Context, ids []string) (store.SentRef, error)
	SentLatestToEmail(ctx context.Context, email string) (store.SentRef, error)
	EnrollmentsRunningByEmail(ctx context.Context, email string) ([]store.SentRef, error)
	EnrollmentsByProspect(ctx context.Context, prospectID int64) ([]store.Enrollment, error)
}

// InboundStore is what the inbound handler needs of the store.
type InboundStore interface {
	InboundLookup
	AbsenceLookup
	MailboxCursorGet(ctx context.Context, sender string) (store.MailboxCursor, error)
	MailboxCursorStart(ctx context.Context, sender string, uidValidity, oldBelow uint32) error
	InboundRecord(ctx context.Context, in store.Inbound) error
	MailboxLease(ctx context.Context, sender, owner string, now, until time.Time) (bool, error)
	MailboxLeaseRelease(ctx context.Context, sender, owner string) error
}

// InboundHandler decides what arrives in the senders' mailboxes and records
// it (it is the imapwatch.Handler of every watcher): a reply pauses the
// prospect, an auto-reply is noted, a stop request or a bounce ends its
// enrollments and suppresses the address. See the contract's "Reply
// detection" and DecideInbound.
type InboundHandler struct {
	Store InboundStore
	Clock Clock // default SystemClock
	// Trust is which Authentication-Results field of this mailbox's mail
	// to believe (see DecideInboundTrusting).
	Trust Trust
	// Sequences are the configured sequences: an out-of-office return
	// date defers the enrollments of these (R5b, DecideAbsence).
	Sequences map[string]*configs.Sequence
	// Breakers, if set, judge the senders' circuit breakers after each
	// bounce report recorded.
	Breakers *Breakers
}

func (h *InboundHandler) now() time.Time {
	if h.Clock == nil {
		return time.Now()
	}
	return h.Clock.Now()
}

// Handle decides what m means and records it with the cursor advance.
func (h *InboundHandler) Handle(ctx context.Context, m inbound.Fetched) (inbound.Handled, error) {
	now := h.now()
	d, err := DecideInboundTrusting(ctx, h.Store, m.Raw, m.Own, now, !m.Old, h.Trust)
	if err != nil {
		return inbound.Handled{}, err
	}
	if d, err = DecideAbsence(ctx, h.Store, h.Sequences, d, now); err != nil {
		return inbound.Handled{}, err
	}
	d.Record.Sender, d.Record.UIDValidity, d.Record.UID = m.Sender, m.UIDValidity, m.UID
	err = h.Store.InboundRecord(ctx, d.Record)
	dup := errors.Is(err, store.ErrConflict)
	if err != nil && !dup {
		return inbound.Handled{}, err
	}
	if !dup && d.Kind == inbound.LabelBounce && h.Breakers != nil {
		judged := map[string]bool{}
		for _, ref := range d.Matched {
			if !judged[ref.Sender] {
				judged[ref.Sender] = true
				h.Breakers.Check(ctx, ref.Sender, h.now())
			}
		}
	}
	out := inbound.Handled{Sender: m.Sender, UID: m.UID, Kind: d.Kind, Duplicate: dup, Note: d.Note}
	if len(d.Matched) > 0 {
		out.EnrollmentID, out.Email = d.Matched[0].EnrollmentID, d.Matched[0].Email
	}
	return out, nil
}

// Skip advances the cursor past m, recording it as handled and nothing else.
func (h *InboundHandler) Skip(ctx context.Context, m inbound.Fetched) error {
	err := h.Store.InboundRecord(ctx, store.Inbound{Sender: m.Sender, UIDValidity: m.UIDValidity, UID: m.UID, Key: rawKey(m.Raw)})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// Cursor is where the watcher of sender's mailbox stands.
func (h *InboundHandler) Cursor(ctx context.Context, sender string) (inbound.Cursor, bool, error) {
	c, err := h.Store.MailboxCursorGet(ctx, sender)
	if errors.Is(err, store.ErrNotFound) {
		return inbound.Cursor{}, false, nil
	}
	if err != nil {
		return inbound.Cursor{}, false, err
	}
	return inbound.Cursor{UIDValidity: c.UIDValidity, LastUID: c.LastUID, OldBelow: c.OldBelow}, true, nil
}

// CursorStart stores the cursor of a mailbox watched for the first time.
func (h *InboundHandler) CursorStart(ctx context.Context, sender string, uidValidity, oldBelow uint32) error {
	return h.Store.MailboxCursorStart(ctx, sender, uidValidity, oldBelow)
}

// Lease takes or renews the mailbox lease.
func (h *InboundHandler) Lease(ctx context.Context, sender, owner string, now, until time.Time) (bool, error) {
	return h.Store.MailboxLease(ctx, sender, owner, now, until)
}

// LeaseRelease gives the mailbox lease up.
func (h *InboundHandler) LeaseRelease(ctx context.Context, sender, owner string) error {
	return h.Store.MailboxLeaseRelease(ctx, sender, owner)
}

// maxDetail bounds an event's Detail: it is a hint for the timeline, never
// the message's text.
const maxDetail = 200

// maxRecipients of one delivery report are matched.
const maxRecipients = 100

// InboundDecision is what one inbound message does.
type InboundDecision struct {
	// Kind is the label it is counted under (inbound.Label*).
	Kind string
	// Record is what to record: the events, transitions and suppressions,
	// and the dedup key; the caller fills in the mailbox and UID.
	Record store.Inbound
	// Matched are the enrollments it is about, the most specific first;
	// none when unmatched.
	Matched []store.SentRef
	// Note says why it is unmatched, or what an absence did (DecideAbsence),
	// for the log.
	Note string

	auto *autoReplyRead // an auto-reply, for DecideAbsence
}

// DecideInbound parses, classifies and matches one raw message and says
// what it does; it reads the store and writes nothing. A message matches
//   - by In-Reply-To/References (a delivery report: by the returned
//     message's Message-ID) against the Message-IDs of our sends, then
//   - when byAddress, by its From address (a delivery report: by each
//     failed recipient) against enrolled prospects, whether or not drip
//     has written to them yet: it is then about every running enrollment of
//     that prospect (or, when none runs, the latest send to the address).
//
// Mail from our own addresses (own) is never a reply; mail matching
// nothing stays unmatched. byAddress is false for mail that was in the box
// before drip first watched it. It returns an error only when the store
// could not be read: the message is then left for a later attempt.
//
// It believes the topmost Authentication-Results field; mail that fails
// it, and what an outsider could have sent, is flagged rather than acted
// on (see DecideInboundTrusting).
func DecideInbound(ctx context.Context, lk InboundLookup, raw []byte, own []string, now time.Time, byAddress bool) (InboundDecision, error) {
	return decideInbound(ctx, lk, raw, own, now, byAddress, Trust{})
}

func decideInbound(ctx context.Context, lk InboundLookup, raw []byte, own []string, now time.Time, byAddress bool, tr Trust) (InboundDecision, error) {
	m, err := inbound.Parse(raw)
	if err != nil {
		return InboundDecision{Kind: inbound.LabelUnmatched, Record: store.Inbound{Key: rawKey(raw)}, Note: err.Error()}, nil
	}
	res := inbound.Classify(m, own)
	key := res.Key
	if key == "" {
		key = rawKey(raw)
	}
	d := InboundDecision{Record: store.Inbound{Key: key}}

	switch res.Kind {
	case inbound.Own:
		d.Kind = inbound.LabelOwn
		return d, nil
	case inbound.Bounce, inbound.Delayed:
		return decideDSN(ctx, lk, d, m, res, now, byAddress, tr)
	case inbound.Reply, inbound.AutoReply, inbound.Unsubscribe:
	default:
		d.Kind, d.Note = inbound.LabelUnmatched, "unclassified: "+res.Detail
		return d, nil
	}

	var addrs []string
	if byAddress {
		addrs = res.Addresses
	}
	refs, how, err := matchSender(ctx, lk, res.MessageIDs, addrs)
	if err != nil {
		return InboundDecision{}, err
	}
	if len(refs) == 0 {
		d.Kind, d.Note = inbound.LabelUnmatched, string(res.Kind)+" matching nothing of ours"
		return d, nil
	}
	d.Matched = refs
	switch res.Kind {
	case inbound.AutoReply:
		d.Kind = inbound.LabelAutoReply
		for _, r := range refs {
			d.Record.Events = append(d.Record.Events, refEvent(r, store.EventAutoReply, m.MessageID, clip(res.Detail), now))
		}
		d.auto = &autoReplyRead{m: m, res: res}
		return d, nil
	}

	// A reply or a stop request is about the prospect, in every sequence.
	ens, err := lk.EnrollmentsByProspect(ctx, refs[0].ProspectID)
	if err != nil {
		return InboundDecision{}, fmt.Errorf("reading enrollments of prospect %d: %w", refs[0].ProspectID, err)
	}
	what := "stop request"
	if res.Kind == inbound.Reply {
		what = "reply"
	}
	why := tr.authFailure(m.Auth)
	if why == "" && how == "Message-ID" {
		why = outsider(m.From, refs[0].Email)
	}
	if why != "" {
		return flagAnswer(d, refs, ens, what, why, m.MessageID, now), nil
	}
	if res.Kind == inbound.Reply {
		d.Kind = inbound.LabelReply
		for _, r := range refs {
			d.Record.Events = append(d.Record.Events, refEvent(r, store.EventReply, m.MessageID, clip("reply, matched by "+how), now))
		}
		// A person who answered gets no canned mail from any sequence.
		for _, e := range ens {
			if e.State == store.StateActive || e.State == store.StatePaused {
				d.Record.Transitions = append(d.Record.Transitions, replied(e, now))
			}
		}
		return d, nil
	}
	d.Kind = inbound.LabelUnsubscribe
	stopUnsubscribe.apply(&d.Record, refs, ens, m.MessageID, clip(res.Detail), now)
	d.Record.Suppress = []string{refs[0].Email}
	if m.From != "" && m.From != store.NormalizeEmail(refs[0].Email) {
		// Whoever asked to stop is not written to again either.
		d.Record.Suppress = append(d.Record.Suppress, m.From)
	}
	return d, nil
}

// decideDSN handles a delivery status notification: each reported
// recipient by its own status. A report acts on the recipient of the
// message of ours it returns (matched by that message's Message-ID, when
// it was addressed to that recipient or is the only one), else, for an
// RFC 3464 report that returns none of ours, on at most
// MaxFallbackProspects prospects by recipient address. The other
// prospects it names, and every one when it fails authentication, are
// flagged (see inbound_trust.go).
func decideDSN(ctx context.Context, lk InboundLookup, d InboundDecision, m *inbound.Message, res inbound.Result, now time.Time, byAddress bool, tr Trust) (InboundDecision, error) {
	var byID *store.SentRef
	if len(res.MessageIDs) > 0 {
		ref, err := lk.SentByMessageIDs(ctx, res.MessageIDs)
		switch {
		case err == nil:
			byID = &ref
		case !errors.Is(err, store.ErrNotFound):
			return InboundDecision{}, fmt.Errorf("matching a delivery report by Message-ID: %w", err)
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
	authFailure := tr.authFailure(m.Auth)
	seen := map[int64]bool{} // prospects already handled by this report
	bounced, delayed, flagged := false, false, false
	fallbacks := 0 // prospects acted on by address
	for _, r := range recips {
		var refs []store.SentRef
		how := ""
		switch {
		case byID != nil && (len(recips) == 1 || store.NormalizeEmail(byID.Email) == r.Address):
			refs, how = []store.SentRef{*byID}, "Message-ID"
		case byAddress && r.Address != "":
			var err error
			if refs, err = byAddressRefs(ctx, lk, r.Address); err != nil {
				return InboundDecision{}, fmt.Errorf("matching a delivery report by recipient: %w", err)
			}
			how = "recipient address"
		}
		if len(refs) == 0 || seen[refs[0].ProspectID] {
			continue
		}
		seen[refs[0].ProspectID] = true
		kind, status := r.Kind, r.Status
		if kind != inbound.Bounce && kind != inbound.Delayed {
			kind = res.Kind
		}
		if status == "" {
			status = res.Status
		}
		what := "delivery delayed"
		if kind == inbound.Bounce {
			what = "bounced"
		}
		if status != "" {
			what += " (" + status + ")"
		}
		d.Matched = append(d.Matched, refs...)

		why := authFailure
		switch {
		case why != "" || how == "Message-ID":
		case byID != nil:
			why = "not the recipient of the message of ours it returns"
		case !res.Structured:
			why = "a bounce in prose without the headers of a message of ours"
		case fallbacks >= MaxFallbackProspects:
			why = fmt.Sprintf("a report without a message of ours acts on %d address at most", MaxFallbackProspects)
		}
		if why != "" {
			flagged = true
			report := "bounce report"
			if kind != inbound.Bounce {
				report = "delay report"
			}
			if status != "" {
				report += " (" + status + ")"
			}
			for _, ref := range refs {
				d.Record.Events = append(d.Record.Events, flaggedEvent(ref, m.MessageID, report+" kept for review: "+why, now))
			}
			continue
		}
		if how != "Message-ID" {
			fallbacks++
		}
		detail := clip(what + ", matched by " + how)
		if kind != inbound.Bounce {
			delayed = true
			for _, ref := range refs {
				d.Record.Events = append(d.Record.Events, refEvent(ref, store.EventDelayed, m.MessageID, detail, now))
			}
			continue
		}
		bounced = true
		ens, err := lk.EnrollmentsByProspect(ctx, refs[0].ProspectID)
		if err != nil {
			return InboundDecision{}, fmt.Errorf("reading enrollments of prospect %d: %w", refs[0].ProspectID, err)
		}
		stopBounce.apply(&d.Record, refs, ens, m.MessageID, detail, now)
		d.Record.Suppress = append(d.Record.Suppress, refs[0].Email)
	}
	switch {
	case len(d.Matched) == 0:
		d.Kind, d.Note = inbound.LabelUnmatched, "delivery report matching nothing of ours"
	case bounced:
		d.Kind = inbound.LabelBounce
	case delayed:
		d.Kind = inbound.LabelDelayed
	case flagged:
		d.Kind = inbound.LabelFlagged
	}
	return d, nil
}

// matchSender finds what a reply, auto-reply or stop request is about: the
// send its Message-IDs name, else the enrollments of the first address
// that is a prospect's. It reports how it matched; no refs when nothing
// matched.
func matchSender(ctx context.Context, lk InboundLookup, ids, addrs []string) ([]store.SentRef, string, error) {
	if len(ids) > 0 {
		ref, err := lk.SentByMessageIDs(ctx, ids)
		if err == nil {
			return []store.SentRef{ref}, "Message-ID", nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, "", fmt.Errorf("matching by Message-ID: %w", err)
		}
	}
	for _, a := range addrs {
		refs, err := byAddressRefs(ctx, lk, a)
		if err != nil {
			return nil, "", fmt.Errorf("matching by address: %w", err)
		}
		if len(refs) > 0 {
			return refs, "sender address", nil
		}
	}
	return nil, "", nil
}

// byAddressRefs is what mail from (or a report about) an address is about:
// every running enrollment of the prospect with that address, sent to yet
// or not; when none runs, the latest send to it (a late answer to a
// finished sequence is still recorded). None for an unknown address.
func byAddressRefs(ctx context.Context, lk InboundLookup, addr string) ([]store.SentRef, error) {
	refs, err := lk.EnrollmentsRunningByEmail(ctx, addr)
	if err != nil || len(refs) > 0 {
		return refs, err
	}
	ref, err := lk.SentLatestToEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []store.SentRef{ref}, nil
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
