package inbound

// The values a mailbox watcher and the handler that decides what a message
// means pass each other. They live here, beside the classifier, so that the
// watcher (mailer/imapwatch) and the handler (the sequencer) share them
// without either importing the other; another source of inbound mail (a
// provider webhook, a bounce box) can hand the same values to the same
// handler.

// Fetched is one message as a watcher read it from a sender's mailbox.
type Fetched struct {
	// Sender is the name of the sender whose mailbox it is: the key of the
	// mailbox cursor.
	Sender      string
	UIDValidity uint32
	UID         uint32
	// Raw is the message, or its first part when it is long.
	Raw []byte
	// Own are our own addresses in that mailbox ("a@b" or "Name <a@b>"):
	// mail from them is never a reply.
	Own []string
	// Old: the message was already in the mailbox when drip first watched
	// it. It is matched by Message-ID only, never by address: an old
	// message from someone who is a prospect today answers nothing drip
	// sent.
	Old bool
}

// Labels of what a handled message was: the kind label of
// drip_inbound_messages_total.
const (
	LabelReply       = "reply"
	LabelAutoReply   = "auto_reply"
	LabelBounce      = "bounce"
	LabelDelayed     = "delayed"
	LabelUnsubscribe = "unsubscribe"
	LabelUnmatched   = "unmatched" // matched nothing of ours, could not be read, or could not be classified
	LabelOwn         = "own"       // sent from one of our own addresses
	LabelDeferred    = "deferred"  // an out-of-office with a return date deferred the enrollment (R5b)
	LabelLeft        = "left"      // an auto-reply said the person left the company
	LabelFlagged     = "flagged"   // kept for a person to review (failing DMARC, ...)
)

// Labels lists every label in a stable order.
var Labels = []string{LabelReply, LabelAutoReply, LabelBounce, LabelDelayed, LabelUnsubscribe, LabelUnmatched, LabelOwn,
	LabelDeferred, LabelLeft, LabelFlagged}

// Handled reports what the handler made of one message.
type Handled struct {
	Sender string
	UID    uint32
	Kind   string // one of Labels
	// Duplicate: the message had been handled before (same Message-ID, or a
	// UIDVALIDITY change); nothing but the cursor changed.
	Duplicate bool
	// EnrollmentID is the first matched enrollment; 0 when unmatched.
	EnrollmentID int64
	Email        string // the matched prospect's address
	// Note says why a message is unmatched (for the debug log), or what an
	// out-of-office or "left the company" reply did.
	Note string
}

// Cursor is where the watcher of a mailbox stands: the last UID handled
// under that UIDVALIDITY, and the line its first start drew: the UIDs
// below OldBelow were in the mailbox before drip first watched it (0: no
// line).
type Cursor struct {
	UIDValidity uint32
	LastUID     uint32
	OldBelow    uint32
}
