package sequencer

import (
	"context"
	"strings"
	"time"

	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/store"
)

// Inbound mail can stop a sequence for good (a stop request, a bounce), so
// whoever can write to the rep's mailbox could otherwise steer drip. What
// an outsider can forge is judged here; the README's "Inbound trust" says
// the same for users.
//
//   - Authentication: the rep's provider writes an Authentication-Results
//     field at the top of each message it receives. Only that one is read:
//     the topmost field, or, when the mailbox names its provider's
//     authserv-id (imap.authserv_id), the topmost field with that id, so
//     that one a sender wrote themselves is never believed. A DMARC fail
//     there, or without a DMARC verdict an SPF or DKIM failure with
//     neither passing, fails the message.
//   - A reply or stop request that fails, or that answers one of our
//     messages from another organisation than the prospect's, is flagged:
//     recorded for review, the prospect's active enrollments paused with
//     reason "flagged for review", nothing suppressed.
//   - A delivery report acts only on the recipient of the message of ours
//     it returns (drip sends one recipient per message). Without one, an
//     RFC 3464 report acts on at most MaxFallbackProspects prospects by
//     failed-recipient address, and a report in prose on none. Every other
//     prospect it names, and all of them when it fails authentication, get
//     a flagged entry and nothing else.

// MaxFallbackProspects is how many prospects one delivery report that
// returns no message of ours can bounce (and suppress) by failed-recipient
// address. The others it names are flagged.
const MaxFallbackProspects = 1

// FlaggedReason is the reason of an enrollment paused by flagged mail.
const FlaggedReason = "flagged for review"

// Trust says which Authentication-Results field of an inbound message to
// believe.
type Trust struct {
	// AuthservID of the rep's provider (imap.authserv_id); "" believes the
	// topmost field.
	AuthservID string
}

// authFailure says why a message fails authentication; "" when it does
// not (it passes, or no trusted field gives a verdict).
func (tr Trust) authFailure(auth []inbound.AuthResults) string {
	ar, ok := tr.trusted(auth)
	if !ok {
		return ""
	}
	where := ""
	if ar.AuthservID != "" {
		where = " at " + ar.AuthservID
	}
	switch ar.DMARC {
	case "fail":
		return "dmarc=fail" + where
	case "pass":
		return ""
	}
	if ar.SPF == "pass" || ar.DKIM == "pass" {
		return ""
	}
	var failed []string
	switch ar.SPF {
	case "fail", "softfail", "hardfail":
		failed = append(failed, "spf="+ar.SPF)
	}
	if ar.DKIM == "fail" {
		failed = append(failed, "dkim=fail")
	}
	if len(failed) == 0 {
		return ""
	}
	return strings.Join(failed, " ") + where
}

// trusted is the field written by the rep's provider, if any.
func (tr Trust) trusted(auth []inbound.AuthResults) (inbound.AuthResults, bool) {
	id := strings.ToLower(strings.TrimSpace(tr.AuthservID))
	for _, ar := range auth {
		if id == "" || ar.AuthservID == id {
			return ar, true
		}
	}
	return inbound.AuthResults{}, false
}

// outsider says why from, who answered a message of ours sent to prospect,
// is not the prospect nor a colleague at the prospect's own domain; ""
// when they are. At a public mail provider nobody is a colleague.
func outsider(from, prospect string) string {
	from, prospect = store.NormalizeEmail(from), store.NormalizeEmail(prospect)
	if from == "" || from == prospect {
		return ""
	}
	_, fd, _ := strings.Cut(from, "@")
	_, pd, _ := strings.Cut(prospect, "@")
	if fd != "" && fd == pd && !publicMailDomains[fd] {
		return ""
	}
	return "sent from " + fd + ", not the prospect's address or organisation"
}

// publicMailDomains are mailbox providers whose users are strangers to
// each other.
var publicMailDomains = map[string]bool{}

func init() {
	for _, d := range strings.Fields(`gmail.com googlemail.com outlook.com hotmail.com hotmail.it live.com live.it msn.com
		yahoo.com yahoo.it ymail.com icloud.com me.com mac.com aol.com gmx.com gmx.de gmx.net web.de t-online.de
		proton.me protonmail.com mail.com yandex.com yandex.ru mail.ru libero.it virgilio.it alice.it tiscali.it
		tim.it fastwebnet.it email.it wp.pl o2.pl onet.pl op.pl interia.pl poczta.fm gazeta.pl tlen.pl
		orange.fr free.fr laposte.net wanadoo.fr`) {
		publicMailDomains[d] = true
	}
}

// flagged is the entry of a message kept for review instead of acted on.
func flaggedEvent(ref store.SentRef, msgID, detail string, at time.Time) store.Event {
	return refEvent(ref, store.EventFlagged, msgID, clip(detail), at)
}

// DecideInboundTrusting is DecideInbound with the mailbox's Trust: a
// message that fails it, and one that can only be an outsider's, is
// flagged rather than acted on (see the top of this file).
func DecideInboundTrusting(ctx context.Context, lk InboundLookup, raw []byte, own []string, now time.Time, byAddress bool, tr Trust) (InboundDecision, error) {
	return decideInbound(ctx, lk, raw, own, now, byAddress, tr)
}

// flagAnswer records a reply or stop request that is kept for review:
// a flagged entry on each enrollment it matched, and each active
// enrollment of the prospect paused.
func flagAnswer(d InboundDecision, refs []store.SentRef, ens []store.Enrollment, what, why, msgID string, now time.Time) InboundDecision {
	d.Kind = inbound.LabelFlagged
	for _, r := range refs {
		d.Record.Events = append(d.Record.Events, flaggedEvent(r, msgID, what+" kept for review: "+why, now))
	}
	for _, e := range ens {
		if e.State == store.StateActive {
			d.Record.Transitions = append(d.Record.Transitions, pausedForReview(e, now))
		}
	}
	return d
}
