// Package inbound classifies mail that arrives in a sender's mailbox, so the
// IMAP watcher can tell a prospect's reply from an out-of-office, a bounce or
// a request to stop. Everything here is a pure function of the raw bytes: no
// I/O, no clock, no store. The watcher calls Parse, then Classify, then
// matches Result.MessageIDs against sent Message-IDs and, failing that,
// Result.Addresses against prospects.
//
// # Precedence
//
// Classify applies these rules in order; the first that fits decides.
//
//  1. Own: From is one of our own sender addresses (a copy of our own send,
//     the Sent folder). Never a reply, whatever it says.
//  2. Delivery status notification (bounce or delay). Either an RFC 3464
//     report (multipart/report; report-type=delivery-status, or any
//     message/delivery-status part), or a bounce in one of the usual
//     non-standard forms: X-Failed-Recipients, From MAILER-DAEMON/postmaster/
//     "Mail Delivery System", a bounce subject ("Undelivered Mail Returned to
//     Sender", "Undeliverable:", "failure notice", "Delivery Status
//     Notification", ...), or a null sender (From "<>" or without an
//     address) whose text reads like a bounce; Return-Path "<>" alone is not
//     enough, RFC 3834 auto-replies use it too. This comes before
//     auto-replies because MTAs mark their reports Auto-Submitted too.
//     Permanence, strongest evidence first: per-recipient Status in the
//     report, or the code in its Diagnostic-Code (5.x.x → Bounce, 4.x.x →
//     Delayed, whatever Action says; without a code, Action failed → Bounce,
//     delayed → Delayed, delivered/relayed → not a failed recipient); then an enhanced
//     status code in the notification text; then the subject ("Delay",
//     "Warning" → Delayed; "failed", "Undeliverable", "Returned" → Bounce);
//     then wording ("will retry", "not yet been delivered" against "user
//     unknown", "does not exist", "permanent"); then a bare SMTP reply code
//     (5xx/4xx). A report with no evidence either way is a Bounce: delay
//     warnings say so explicitly, failures often don't bother. One report
//     may name several recipients with different outcomes: each one gets its
//     own Recipient entry, and Kind is Bounce when any of them bounced.
//  3. Auto-reply: Auto-Submitted other than "no" (RFC 3834), X-Autoreply /
//     X-Autorespond, X-Apple-Action: VACATION, Precedence: auto_reply, an
//     out-of-office subject in one of our languages ("Automatic reply:",
//     "Out of Office", "Risposta automatica", "Abwesenheitsnotiz",
//     "Autoodpowiedź", ...), or Precedence bulk/junk with out-of-office
//     or acknowledgement wording ("Thank you for your e-mail").
//     X-Auto-Response-Suppress alone is not enough: Outlook puts it
//     on ordinary mail. Classify then reads what the auto-reply says about
//     its writer (subject and new text): a return date (Result.Return and
//     ReturnText, see ReturnDate; ReturnDateOf reads it in the prospect's
//     zone) for rule R5b, else whether they left the company and who took
//     over (Result.Left, LeftText, Successor; see LeftCompany). Kind stays
//     AutoReply: deferring or ending the enrollment is the caller's call.
//  4. Stop request. The rule, in two sentences: a message is a stop request
//     when a stop phrase ("unsubscribe", "remove me", "cancellami", "non
//     contattarmi", "wypisz", "abmelden", ...) appears in a subject that is
//     not a reply, or in the new text of a short message (at most 50 words
//     once quotes, signatures and links are gone). The bare word "stop" only
//     counts as a command opening a sentence ("STOP", "Please stop."), so
//     "stop by our booth", "non-stop" and "can't stop thinking" do not.
//     Long messages are left as replies on purpose: a reply pauses the
//     sequence too and a person reads it, while a wrong stop suppresses an
//     address for good. The new text is the text/plain part (else the HTML
//     with its quoted block cut and tags stripped) up to the first reply
//     separator ("On … wrote:", "Il giorno … ha scritto:", "W dniu …
//     napisał(a):", "-----Original Message-----", an Outlook "From:/Sent:"
//     block, a "-- " signature), without "> " lines, URLs or addresses; so
//     our own unsubscribe line quoted back to us never counts.
//  5. Reply: anything else with a sender or with references. The watcher
//     decides whether it matches a prospect. List or bulk mail
//     (List-Id, Precedence: bulk/list/junk) that references nothing, and
//     mail with neither a sender nor references, is Unknown.
//
// Parse never panics and returns an error only for empty input: a header that
// does not parse is skipped, a broken MIME structure yields what could be
// read. Work is bounded (nesting depth, number of parts, bytes kept per text
// part) whatever the input.
package inbound
