package inbound

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// Kind is what an inbound message is. The values match the timeline event
// kinds and the kind label of drip_inbound_messages_total where those exist.
type Kind string

const (
	Reply       Kind = "reply"       // a person answered: pause the enrollment
	AutoReply   Kind = "auto_reply"  // out-of-office and the like: record, go on
	Bounce      Kind = "bounce"      // permanent delivery failure (5.x.x)
	Delayed     Kind = "delayed"     // delivery delayed (4.x.x): record only
	Unsubscribe Kind = "unsubscribe" // a person asked to stop
	Own         Kind = "own"         // sent from one of our own addresses: never a reply
	Unknown     Kind = "unknown"     // cannot tell: treat as unmatched
)

// Result is the classification of one message and what to match it by.
type Result struct {
	Kind Kind
	// MessageIDs to look up among our sends, most specific first: for
	// replies In-Reply-To then References (latest first); for delivery
	// reports the returned original's Message-ID, In-Reply-To and
	// References, ids found in the report's text, then the report's own
	// In-Reply-To and References.
	MessageIDs []string
	// Addresses for fallback matching, lower-cased: the From address of a
	// reply, or every failed or delayed recipient of a delivery report.
	Addresses []string
	// Recipients of a delivery report, each with its own outcome.
	Recipients []Recipient
	// Structured: a delivery report in RFC 3464 form (multipart/report or
	// a message/delivery-status part), not a notice in prose.
	Structured bool
	// Status is the enhanced status code that decided a Bounce or Delayed.
	Status string
	// Detail is a short reason for the timeline; it never quotes the body.
	Detail string
	// Key identifies the message for dedup: its Message-ID, or a hash.
	Key string

	// Return is, for an AutoReply that gives one (R5b), midnight of the
	// first day its writer is back, read in the zone of its Date header;
	// zero otherwise. ReturnDateOf reads it in the prospect's zone.
	Return time.Time
	// ReturnText is the sentence Return came from, one line, for the
	// timeline's deferred entry.
	ReturnText string
	// Left: an AutoReply saying the person left the company (never set
	// together with Return). Successor is who took over, when named;
	// LeftText the sentence that said so.
	Left      bool
	LeftText  string
	Successor Successor
}

// Classify decides what m is. ownAddresses are our sender addresses (bare or
// "Name <addr>"), compared case-insensitively. See the package comment for
// the rules and their order.
func Classify(m *Message, ownAddresses []string) Result {
	if m == nil {
		return Result{Kind: Unknown, Detail: "no message"}
	}
	own := addressSet(ownAddresses)
	if m.From != "" && own[m.From] {
		return Result{Kind: Own, Detail: "from own address", Key: m.Key}
	}
	if res, ok := classifyBounce(m, own); ok {
		res.Key = m.Key
		return res
	}

	res := Result{Key: m.Key, MessageIDs: threadIDs(m)}
	if m.From != "" {
		res.Addresses = []string{m.From}
	}
	if reason := autoReplyReason(m); reason != "" {
		res.Kind, res.Detail = AutoReply, reason
		readAbsence(m, &res)
		return res
	}
	if phrase, where := stopRequest(m); phrase != "" {
		res.Kind, res.Detail = Unsubscribe, fmt.Sprintf("stop request: %q in %s", phrase, where)
		return res
	}
	switch {
	case m.From == "" && len(res.MessageIDs) == 0:
		res.Kind, res.Detail = Unknown, "no sender and no references"
	case len(res.MessageIDs) == 0 && isBulk(m):
		res.Kind, res.Detail = Unknown, "list or bulk mail without references"
	default:
		res.Kind = Reply
	}
	return res
}

// threadIDs: In-Reply-To first, then References with the latest first.
func threadIDs(m *Message) []string {
	ids := newIDList(m.MessageID)
	ids.add(m.InReplyTo...)
	ids.add(reversed(m.References)...)
	return ids.list
}

// isBulk: mailing list or bulk mail, which is not a person answering us.
func isBulk(m *Message) bool {
	if m.Header.Get("List-Id") != "" {
		return true
	}
	switch headerToken(m.Header.Get("Precedence")) {
	case "bulk", "list", "junk":
		return true
	}
	return false
}

func addressSet(addrs []string) map[string]bool {
	set := map[string]bool{}
	for _, a := range addrs {
		if p, err := mail.ParseAddress(a); err == nil {
			set[strings.ToLower(p.Address)] = true
			continue
		}
		for _, f := range findAddresses(a) {
			set[f] = true
		}
	}
	return set
}

// readAbsence fills what an auto-reply says about its writer's absence:
// a return date, else whether they left the company and who took over.
func readAbsence(m *Message, res *Result) {
	text := absenceText(m)
	if at, src, ok := ReturnDate(text, m.Date, nil); ok {
		res.Return, res.ReturnText = at, src
		return
	}
	if d, ok := LeftCompany(text, m.From); ok {
		res.Left, res.LeftText, res.Successor = true, d.Text, d.Successor
	}
}

// ReturnDateOf is ReturnDate on an auto-reply: its subject and its own
// text (quotes of our message cut), read against its Date header with
// calendar days in loc, the prospect's zone.
func ReturnDateOf(m *Message, loc *time.Location) (time.Time, string, bool) {
	if m == nil {
		return time.Time{}, "", false
	}
	return ReturnDate(absenceText(m), m.Date, loc)
}

// absenceText is what the writer of m wrote: the subject ("Out of office
// until 15/08") as a sentence of its own, then the new text.
func absenceText(m *Message) string {
	return m.Subject + "\n\n" + newText(m)
}
