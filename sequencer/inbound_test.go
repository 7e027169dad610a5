package sequencer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// TestDecideInbound is the inbound decision table: message in, what it
// does out, for every class of the contract's "Reply detection", with no
// IMAP server. Luca received step 1 of "fair"; Anna is enrolled in "fair"
// and "webinar" and received nothing yet; Piotr's "fair" is completed.
func TestDecideInbound(t *testing.T) {
	st := testrig.Open(t, testrig.SQLiteURL(t))
	ctx := context.Background()
	luca, m1 := inSeedSent(t, st, "Luca.Verdi@acciaierie.example", "fair")
	annaFair := inEnroll(t, st, "anna@fresh.example", "fair")
	annaWeb := inEnroll(t, st, "anna@fresh.example", "webinar")
	piotr, m2 := inSeedSent(t, st, "piotr@done.example", "fair")
	if _, err := st.EnrollmentTransition(ctx, store.Transition{EnrollmentID: piotr.ID, From: []store.State{store.StateActive},
		To: store.StateCompleted, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{luca.ID: "luca/fair", annaFair.ID: "anna/fair", annaWeb.ID: "anna/webinar", piotr.ID: "piotr/fair"}

	const (
		lucaAddr  = "luca.verdi@acciaierie.example"
		annaAddr  = "anna@fresh.example"
		stranger  = "stranger@elsewhere.example"
		unknownID = "<not-ours@elsewhere.example>"
	)
	for _, tt := range []struct {
		name      string
		raw       []byte
		byAddress bool // false: mail that was in the box before drip first watched it
		kind      string
		want      []string // effects, see effects()
	}{
		// Replies.
		{"reply by In-Reply-To", humanReply(lucaAddr, m1), true, inbound.LabelReply,
			[]string{"event reply luca/fair step 1", "luca/fair -> replied (paused step 0)"}},
		{"reply by References", inMail{from: "colleague@acciaierie.example", subject: "Re: Valvole a sfera",
			inReplyTo: unknownID, references: m1 + " " + unknownID, body: "Luca forwarded me your offer: send the prices please."}.raw(),
			true, inbound.LabelReply,
			[]string{"event reply luca/fair step 1", "luca/fair -> replied (paused step 0)"}},
		{"reply by From after step 1", humanReply("Luca Verdi <LUCA.VERDI@acciaierie.example>", ""), true, inbound.LabelReply,
			[]string{"event reply luca/fair step 1", "luca/fair -> replied (paused step 0)"}},
		{"reply by From with nothing sent yet: every running enrollment", humanReply(annaAddr, ""), true, inbound.LabelReply,
			[]string{"anna/fair -> replied (paused step 0)", "anna/webinar -> replied (paused step 0)",
				"event reply anna/fair step 0", "event reply anna/webinar step 0"}},
		{"reply by From to a finished sequence is recorded", humanReply("piotr@done.example", ""), true, inbound.LabelReply,
			[]string{"event reply piotr/fair step 1"}},
		{"old mail from an enrolled prospect matches by Message-ID only", humanReply(annaAddr, ""), false, inbound.LabelUnmatched, nil},
		{"old mail answering our send still matches", humanReply(lucaAddr, m1), false, inbound.LabelReply,
			[]string{"event reply luca/fair step 1", "luca/fair -> replied (paused step 0)"}},
		{"reply from an unknown address", humanReply(stranger, ""), true, inbound.LabelUnmatched, nil},
		{"reply naming no send of ours from an unknown address", humanReply(stranger, unknownID), true, inbound.LabelUnmatched, nil},

		// Auto-replies: recorded, the sequence goes on.
		{"auto-reply by In-Reply-To", outOfOffice(lucaAddr, m1), true, inbound.LabelAutoReply,
			[]string{"event auto_reply luca/fair step 1"}},
		{"auto-reply by From with nothing sent yet", outOfOffice(annaAddr, ""), true, inbound.LabelAutoReply,
			[]string{"event auto_reply anna/fair step 0", "event auto_reply anna/webinar step 0"}},

		// Stop requests: unsubscribed and suppressed, one event each.
		{"stop request in English by In-Reply-To", stopRequest("en", lucaAddr, m1), true, inbound.LabelUnsubscribe,
			[]string{"luca/fair -> unsubscribed (unsubscribe step 1)", "suppress " + lucaAddr + " as unsubscribed"}},
		{"stop request in Italian by From, nothing sent yet", stopRequest("it", annaAddr, ""), true, inbound.LabelUnsubscribe,
			[]string{"anna/fair -> unsubscribed (unsubscribe step 0)", "anna/webinar -> unsubscribed (unsubscribe step 0)",
				"suppress " + annaAddr + " as unsubscribed"}},
		{"stop request in Polish by From", stopRequest("pl", lucaAddr, ""), true, inbound.LabelUnsubscribe,
			[]string{"luca/fair -> unsubscribed (unsubscribe step 1)", "suppress " + lucaAddr + " as unsubscribed"}},
		{"stop request from a colleague by References suppresses both", stopRequest("en", "boss@acciaierie.example", m1), true,
			inbound.LabelUnsubscribe,
			[]string{"luca/fair -> unsubscribed (unsubscribe step 1)", "suppress " + lucaAddr + " as unsubscribed",
				"suppress boss@acciaierie.example as unsubscribed"}},
		{"stop request from an unknown address", stopRequest("en", stranger, ""), true, inbound.LabelUnmatched, nil},

		// Delivery status notifications.
		{"5.x.x by returned Message-ID", dsn(m1, [3]string{lucaAddr, "5.1.1", "failed"}), true, inbound.LabelBounce,
			[]string{"luca/fair -> bounced (bounce step 1)", "suppress " + lucaAddr + " as bounced"}},
		{"5.x.x by failed recipient, nothing sent yet", dsn("", [3]string{annaAddr, "5.1.1", "failed"}), true, inbound.LabelBounce,
			[]string{"anna/fair -> bounced (bounce step 0)", "anna/webinar -> bounced (bounce step 0)",
				"suppress " + annaAddr + " as bounced"}},
		{"5.x.x of old mail by failed recipient only", dsn("", [3]string{annaAddr, "5.1.1", "failed"}), false, inbound.LabelUnmatched, nil},
		{"4.x.x by returned Message-ID", dsn(m1, [3]string{lucaAddr, "4.2.2", "delayed"}), true, inbound.LabelDelayed,
			[]string{"event delayed luca/fair step 1"}},
		{"4.x.x by failed recipient, nothing sent yet", dsn("", [3]string{annaAddr, "4.4.1", "delayed"}), true, inbound.LabelDelayed,
			[]string{"event delayed anna/fair step 0", "event delayed anna/webinar step 0"}},
		{"several recipients: only the returned message's acts", dsn(m1,
			[3]string{lucaAddr, "5.1.1", "failed"}, [3]string{annaAddr, "4.2.2", "delayed"}, [3]string{stranger, "5.1.1", "failed"}),
			true, inbound.LabelBounce,
			[]string{"luca/fair -> bounced (bounce step 1)", "suppress " + lucaAddr + " as bounced",
				"event flagged anna/fair step 0", "event flagged anna/webinar step 0"}},
		{"a report returning a message of ours to someone else acts on nobody", dsn(m2,
			[3]string{lucaAddr, "5.1.1", "failed"}, [3]string{annaAddr, "4.2.2", "delayed"}),
			true, inbound.LabelFlagged,
			[]string{"event flagged luca/fair step 1", "event flagged anna/fair step 0", "event flagged anna/webinar step 0"}},
		{"5.x.x about an unknown address", dsn(unknownID, [3]string{stranger, "5.1.1", "failed"}), true, inbound.LabelUnmatched, nil},

		// Our own mail is never a reply.
		{"own copy answering our send", humanReply(inFrom, m1), true, inbound.LabelOwn, nil},
		{"own copy from our bare address", stopRequest("en", inAddress, ""), true, inbound.LabelOwn, nil},
		{"copy of our send appended to Sent", inMail{from: inFrom, to: "Luca Verdi <" + lucaAddr + ">", messageID: m1,
			subject: "Valvole a sfera", body: "Gentile Luca,\nle scrivo dopo la fiera.\nPer non ricevere altre email: unsubscribe"}.raw(),
			true, inbound.LabelOwn, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			d, err := sequencer.DecideInbound(ctx, st, tt.raw, []string{inFrom}, now, tt.byAddress)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != tt.kind {
				t.Errorf("kind %s (%s), want %s", d.Kind, d.Note, tt.kind)
			}
			got := effects(d.Record, names)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("effects:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if d.Record.Key == "" {
				t.Error("no dedup key")
			}
		})
	}
}

// effects lists what a decision records, sorted, one line each:
// "event KIND ENROLLMENT step N", "ENROLLMENT -> STATE (EVENT step N)",
// "suppress ADDRESS as STATE".
func effects(rec store.Inbound, names map[int64]string) []string {
	var out []string
	for _, ev := range rec.Events {
		out = append(out, fmt.Sprintf("event %s %s step %d", ev.Kind, names[ev.EnrollmentID], ev.Step))
	}
	for _, tr := range rec.Transitions {
		out = append(out, fmt.Sprintf("%s -> %s (%s step %d)", names[tr.EnrollmentID], tr.To, tr.Event.Kind, tr.Event.Step))
	}
	for _, a := range rec.Suppress {
		out = append(out, fmt.Sprintf("suppress %s as %s", store.NormalizeEmail(a), rec.SuppressState))
	}
	slices.Sort(out)
	return out
}
