package sequencer_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// Messages and store seeds of the inbound tests.

const (
	inSender  = "maria"
	inAddress = "maria.rossi@ferrovalvole.example"
	inFrom    = "Maria Rossi <" + inAddress + ">"
)

var inSerial atomic.Int64

// inMail is an inbound message; raw renders it.
type inMail struct {
	from, to, subject, body string
	messageID               string // "" = a fresh one
	inReplyTo, references   string
	extra                   string // more header lines, each ending in \r\n
}

func (m inMail) raw() []byte {
	var b strings.Builder
	b.WriteString(m.extra)
	to := m.to
	if to == "" {
		to = inFrom
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nDate: %s\r\nSubject: %s\r\n", m.from, to, time.Now().Format(time.RFC1123Z), m.subject)
	id := m.messageID
	if id == "" {
		id = fmt.Sprintf("<in.%d@prospect.example>", inSerial.Add(1))
	}
	fmt.Fprintf(&b, "Message-ID: %s\r\n", id)
	if m.inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\n", m.inReplyTo)
	}
	if m.references != "" {
		fmt.Fprintf(&b, "References: %s\r\n", m.references)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

func humanReply(from, inReplyTo string) []byte {
	return inMail{from: from, inReplyTo: inReplyTo, references: inReplyTo, subject: "Re: Valvole a sfera",
		body: "Buongiorno Maria,\nsì, ci interessa: possiamo sentirci giovedì alle 10?\nCordiali saluti\nLuca\n\n> Gentile Luca,\n> le scrivo dopo la fiera.\n"}.raw()
}

func outOfOffice(from, inReplyTo string) []byte {
	return inMail{from: from, inReplyTo: inReplyTo, subject: "Automatic reply: Valvole a sfera",
		extra: "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
		body:  "I am out of the office until Monday with limited access to email.\n"}.raw()
}

// stopRequest in English ("en"), Italian ("it") or Polish ("pl").
func stopRequest(lang, from, inReplyTo string) []byte {
	body := map[string]string{
		"en": "Please remove me from your mailing list.\n",
		"it": "Buongiorno, cancellami dalla vostra lista per favore.\n",
		"pl": "Proszę mnie wypisać z listy. Wypisz mnie.\n",
	}[lang]
	return inMail{from: from, inReplyTo: inReplyTo, subject: "Re: Valvole a sfera", body: body}.raw()
}

// dsn is an RFC 3464 report about our message msgID ("" = a report that
// names no Message-ID of ours), one group per recipient (address, status,
// action).
func dsn(msgID string, recipients ...[3]string) []byte {
	var b strings.Builder
	boundary := fmt.Sprintf("dsn-%d", inSerial.Add(1))
	fmt.Fprintf(&b, "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.ferrovalvole.example>\r\nTo: %s\r\n", inFrom)
	fmt.Fprintf(&b, "Date: %s\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <dsn.%s@mx.ferrovalvole.example>\r\nMIME-Version: 1.0\r\n", boundary)
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.ferrovalvole.example.\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.ferrovalvole.example\r\n", boundary)
	for _, r := range recipients {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n", r[0], r[2], r[1])
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: Valvole a sfera\r\n", inFrom, recipients[0][0])
	if msgID != "" {
		fmt.Fprintf(&b, "Message-ID: %s\r\n", msgID)
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return []byte(b.String())
}

// inEnroll enrols a prospect in sequence with nothing sent yet.
func inEnroll(t testing.TB, st store.Store, email, sequence string) store.Enrollment {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := store.Prospect{Email: email, FirstName: "Test"}
	if _, err := st.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	next := now.Add(240 * time.Hour)
	e := store.Enrollment{ProspectID: p.ID, Sequence: sequence, Sender: inSender, State: store.StateActive,
		FirstContact: now, Anchor: now, NextSendAt: &next, CreatedAt: now}
	if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// inSeedSent enrols a prospect in sequence and records step 1 as sent,
// through the store API as the engine would (claim, start, settle). It
// returns the enrollment and the step's Message-ID.
func inSeedSent(t testing.TB, st store.Store, email, sequence string) (store.Enrollment, string) {
	t.Helper()
	return inSeedSentID(t, st, email, sequence, "")
}

// inSeedSentID is inSeedSent with step 1 sent as msgID ("" = a fresh one).
func inSeedSentID(t testing.TB, st store.Store, email, sequence, msgID string) (store.Enrollment, string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := store.Prospect{Email: email, FirstName: "Test"}
	if _, err := st.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	due := now.Add(-time.Second)
	e := store.Enrollment{ProspectID: p.ID, Sequence: sequence, Sender: inSender, State: store.StateActive,
		FirstContact: now.Add(-24 * time.Hour), NextSendAt: &due, CreatedAt: now.Add(-24 * time.Hour)}
	if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
		t.Fatal(err)
	}
	owner := fmt.Sprintf("seed-%d", inSerial.Add(1))
	claimed, err := st.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute),
		Limit: 10, Sequences: []string{sequence}})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].ID != e.ID {
		t.Fatalf("seeding %s: claimed %d enrollments, want exactly the new one", email, len(claimed))
	}
	if msgID == "" {
		msgID = fmt.Sprintf("<drip.s1.%d.%d@ferrovalvole.example>", e.ID, inSerial.Add(1))
	}
	errs, err := st.SendsStart(ctx, []store.SendStart{{EnrollmentID: e.ID, Owner: owner, Step: 1, Sender: inSender,
		MessageID: msgID, PlannedAt: due, StartedAt: now, Day: now.Format("2006-01-02")}})
	if err != nil || errs[0] != nil {
		t.Fatalf("seeding %s: start: %v %v", email, err, errs)
	}
	next := now.Add(time.Hour)
	errs, err = st.Settle(ctx, []store.Settle{{
		EnrollmentID: e.ID, Owner: owner, State: store.StateActive,
		Sends:    []store.SendUpdate{{Step: 1, Status: store.SendSent, MessageID: msgID, PlannedAt: &due, FinishedAt: &now}},
		Events:   []store.Event{{Kind: store.EventSent, Step: 1, MessageID: msgID, At: now}},
		LastStep: 1, LastSentAt: &now, NextSendAt: &next,
		ThreadSubject: "Valvole a sfera", ThreadRefs: msgID,
	}})
	if err != nil || errs[0] != nil {
		t.Fatalf("seeding %s: settle: %v %v", email, err, errs)
	}
	got, err := st.EnrollmentGet(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got, msgID
}

func inTimeline(t testing.TB, st store.Store, prospectID int64) []store.Event {
	t.Helper()
	evs, err := st.Timeline(context.Background(), prospectID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// countEvents counts the timeline entries of kind, by enrollment.
func countEvents(evs []store.Event, kind store.EventKind) (total int, per map[int64]int) {
	per = map[int64]int{}
	for _, ev := range evs {
		if ev.Kind == kind {
			total++
			per[ev.EnrollmentID]++
		}
	}
	return total, per
}
