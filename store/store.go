// Package store holds drip's domain types and the Store interface that the
// SQLite (store/sqlite) and PostgreSQL (store/postgres) drivers implement.
// Both pass the same conformance suite, store/storetest.
//
// Times are instants; drivers store them in UTC and return them in UTC.
// Callers convert to the prospect's time zone for display.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Drivers wrap them with context; test with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	ErrSuppressed = errors.New("address is suppressed")
	// ErrLeaseLost: the caller no longer holds the enrollment (its lease
	// expired and another claimer took it, or it is no longer active).
	ErrLeaseLost = errors.New("enrollment lease lost or enrollment not active")
	// ErrDailyLimit: the sender's daily cap is used up for that day.
	ErrDailyLimit = errors.New("sender daily limit reached")
	// ErrPaced: the sender's pace (R9) lets no send start yet, or another
	// instance holds a step of it that was due earlier and goes first.
	ErrPaced = errors.New("sender paced: not its turn yet")
)

// State of an enrollment.
type State string

const (
	StateActive       State = "active"
	StatePaused       State = "paused"  // paused by hand
	StateReplied      State = "replied" // paused by a reply
	StateBounced      State = "bounced"
	StateUnsubscribed State = "unsubscribed"
	StateCompleted    State = "completed"
	StateFailed       State = "failed"
	StateUnenrolled   State = "unenrolled" // ended by hand, without suppressing
	StateLeft         State = "left"       // an auto-reply said the person left the company
)

// States lists every enrollment state in a stable order (for metrics and status).
var States = []State{StateActive, StatePaused, StateReplied, StateBounced, StateUnsubscribed, StateCompleted, StateFailed, StateLeft, StateUnenrolled}

// TerminalStates are the states no further step is ever sent in, and that
// nothing leaves. This is the one place that says which states they are:
// Terminal reads it, and the SQL that needs the list has it generated from
// here (the {{terminal}} macro of store/internal/sqlstore).
var TerminalStates = []State{StateBounced, StateUnsubscribed, StateCompleted, StateFailed, StateLeft, StateUnenrolled}

// Terminal reports whether no further step will ever be sent in state s.
func (s State) Terminal() bool {
	for _, t := range TerminalStates {
		if s == t {
			return true
		}
	}
	return false
}

// RunningStates are the states that are not terminal (active and the two
// paused ones), in the order of States.
func RunningStates() []State {
	var out []State
	for _, s := range States {
		if !s.Terminal() {
			out = append(out, s)
		}
	}
	return out
}

// Paused reports whether s is one of the two paused states that resume leaves.
func (s State) Paused() bool { return s == StatePaused || s == StateReplied }

// SendStatus of one (enrollment, step).
type SendStatus string

const (
	SendSending SendStatus = "sending" // recorded before DATA; in flight
	SendSent    SendStatus = "sent"
	SendRetry   SendStatus = "retry"   // temporary failure, will be tried again
	SendFailed  SendStatus = "failed"  // permanent failure, or retries exhausted
	SendBounced SendStatus = "bounced" // recipient rejected permanently
	SendSkipped SendStatus = "skipped" // R3: an earlier past-due step
	SendUnknown SendStatus = "unknown" // in flight when a process died; never re-sent
)

// EventKind is a timeline entry's kind (the contract's list).
type EventKind string

const (
	EventEnrolled    EventKind = "enrolled"
	EventSent        EventKind = "sent"
	EventSkipped     EventKind = "skipped"
	EventFailed      EventKind = "failed"
	EventUnknown     EventKind = "unknown"
	EventReply       EventKind = "reply"
	EventAutoReply   EventKind = "auto_reply"
	EventBounce      EventKind = "bounce"
	EventUnsubscribe EventKind = "unsubscribe"
	EventPaused      EventKind = "paused"
	EventResumed     EventKind = "resumed"
	EventCompleted   EventKind = "completed"
	EventUnenrolled  EventKind = "unenrolled"
	EventDeferred    EventKind = "deferred" // R5b: an out-of-office reply's return date moved the plan
	EventLeft        EventKind = "left"     // an auto-reply said the person left the company
	// EventFlagged: inbound mail kept for a person to review instead of
	// acted on (failing DMARC, a bounce without our headers, ...).
	EventFlagged EventKind = "flagged"
	// Beyond the contract's list, for things a user wants to see:
	EventDelayed EventKind = "delayed" // a 4.x.x DSN: delivery delayed, recorded only
	EventUpdated EventKind = "updated" // prospect data changed by re-import or API
)

// Prospect is a person drip writes to. Email is unique case-insensitively
// (see NormalizeEmail); Email keeps the spelling it was given.
type Prospect struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
	Company   string
	Title     string
	Phone     string
	MetAt     string
	Timezone  string // IANA name; "" = the sequence's default
	Language  string
	Notes     string
	Fields    map[string]string // custom CSV columns / API fields
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Enrollment is one prospect on one sequence (unique per pair).
type Enrollment struct {
	ID           int64
	ProspectID   int64
	Sequence     string
	Sender       string
	State        State
	FirstContact time.Time  // as enrolled; never changes
	Anchor       time.Time  // R1 anchor: FirstContact shifted by time spent paused (R5)
	PausedAt     *time.Time // set while paused/replied
	LastStep     int        // highest step handled (sent/skipped/failed/unknown); 0 = none yet
	LastSentAt   *time.Time // R4: time of the last successful send
	NextSendAt   *time.Time // planned time of the next step; nil when nothing is planned
	// Threading: the subject of the thread (step 1's as sent) and the
	// Message-IDs of the thread, root first and latest last, space-separated
	// and already trimmed in the middle when long.
	ThreadSubject string
	ThreadRefs    string
	Reason        string // why it failed / stopped, shown by status
	// Successor is who took over from a prospect who left the company
	// (state left), when the auto-reply named them; zero otherwise.
	Successor  Successor
	Version    int64 // bumped by every write; optimistic concurrency
	LeaseOwner string
	LeaseUntil *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Successor is the person an auto-reply names as taking over from someone
// who left the company: an address, a name, or both.
type Successor struct {
	Email string
	Name  string
}

// IsZero reports whether no successor was named.
func (s Successor) IsZero() bool { return s.Email == "" && s.Name == "" }

// Send is the record of one step for one enrollment. (EnrollmentID, Step) is
// unique: that uniqueness is what makes delivery at-most-once (R8).
type Send struct {
	ID           int64
	EnrollmentID int64
	Step         int
	Sender       string
	MessageID    string // with angle brackets, as in the header
	Status       SendStatus
	Attempts     int
	PlannedAt    *time.Time
	StartedAt    *time.Time // when the current/last attempt began (DATA pending)
	FinishedAt   *time.Time
	Error        string
}

// Event is a timeline entry.
type Event struct {
	ID           int64
	ProspectID   int64
	EnrollmentID int64  // 0 = not tied to an enrollment
	Sequence     string // denormalised for display; "" when not tied
	Step         int    // 0 when not about a step
	Kind         EventKind
	MessageID    string // sent Message-ID, or the inbound message's Message-ID
	Detail       string // short human text: error, DSN status, reason
	At           time.Time
}

// NormalizeEmail is the identity of an address: trimmed and lower-cased.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// EmailHash is how the suppression list identifies an address, so a
// forgotten prospect stays suppressed without keeping the address.
func EmailHash(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// ClaimParams for EnrollmentClaimDue.
type ClaimParams struct {
	Owner      string    // the claiming engine instance
	Now        time.Time // due means NextSendAt <= Now
	LeaseUntil time.Time
	Limit      int
	Sequences  []string // only these sequences (the ones this instance has configured); empty = all
	// Held false (the engine's claim) passes over the enrollments of
	// senders held at Now (see SenderHold), so that a held sender costs the
	// others nothing; Held true claims only those, to plan them at the end
	// of the hold.
	Held bool
	// SkipSenders are passed over as well (senders whose next paced send
	// the caller already has in hand). Senders whose pace lets nothing
	// start at Now (SenderPace) are passed over by every claim but Held's.
	SkipSenders []string
}

// Why a sender is held (R9), as drip_sender_held{reason} shows it.
const (
	HoldDailyLimit  = "daily_limit" // its daily cap is used up: until its next day
	HoldAuth        = "auth"        // its server refused the login or the sender address
	HoldUnreachable = "unreachable" // its server cannot be reached (refused, DNS, TLS, timeout)
	HoldThrottled   = "throttled"   // its provider says it sends too much
	HoldBreaker     = "breaker"     // its circuit breaker tripped; until drip sender resume
	HoldReauth      = "reauth"      // its OAuth2 grant was revoked; until drip mailbox connect
)

// Planned is an active enrollment's next planned send (its NextSendAt).
type Planned struct {
	Sender   string // "" = the default sender
	Sequence string
	LastStep int
	At       time.Time
	// RecipientDomain is the domain of the prospect's address, lower
	// case: the forecast counts what goes to Gmail.
	RecipientDomain string
}

// SenderHold is a sender that sends nothing until Until (R9). Every
// instance skips its enrollments in claims while it lasts.
type SenderHold struct {
	Sender string
	Reason string // one of the Hold* constants
	Until  time.Time
	Since  time.Time // when this hold began
	Detail string    // what the server said, for people
}

// SenderPace is a paced sender's turn (R9), over every instance: no send
// from it starts before NotBefore. RunSince is when its current run of
// back-to-back paced sends began: a step that fell due during the run
// waited for its turn, not for an outage, and R3 does not skip it.
type SenderPace struct {
	Sender    string
	NotBefore time.Time
	RunSince  time.Time
}

// BounceCount is what a sender's circuit breaker judges: of its last
// finished sends (sent or bounced; at most the window asked for) since
// the breaker was last reset, how many bounced (refused at RCPT, or
// reported by a bounce that came back by mail).
type BounceCount struct {
	Sends, Bounced int
}

// SendStart asks to begin a delivery attempt of one step. It is the gate of
// R8: it succeeds only if the enrollment is still active and leased by
// Owner, the address is not suppressed, the sender's daily cap has room,
// and the step has no send row yet (or one in SendRetry). On success the
// row is SendSending with MessageID and Attempts incremented.
type SendStart struct {
	EnrollmentID int64
	Owner        string
	Step         int
	Sender       string
	MessageID    string
	PlannedAt    time.Time
	StartedAt    time.Time
	Day          string // the sender's local date, "2006-01-02", for the daily cap
	DailyLimit   int    // 0 = no cap
	// PaceGap > 0: the sender is paced (R9). The start goes ahead only if
	// the sender's turn has come (SenderPace.NotBefore <= StartedAt) and
	// no other instance holds, leased and due, an enrollment of the sender
	// planned before this one; it then takes the turn: the next send from
	// the sender starts PaceGap after this one, at the earliest. Else it is
	// refused with ErrPaced. A start more than PaceSlack after the turn
	// came begins a new run (SenderPace.RunSince).
	PaceGap, PaceSlack time.Duration
}

// SendUpdate writes the row of (enrollment, step): inserted if absent,
// updated otherwise, except that a row already SendSent is never changed
// (a late finisher may turn SendUnknown into SendSent, never the reverse).
// Empty MessageID / nil times leave the stored values.
type SendUpdate struct {
	Step       int
	Status     SendStatus
	MessageID  string
	PlannedAt  *time.Time
	FinishedAt *time.Time
	Error      string
	// Uncount takes back the attempt its start counted: the step waited
	// for its sender (held: server unreachable, login refused), which is
	// no attempt of the prospect's message (R9). Only for a started step.
	Uncount bool
}

// Settle records what happened to one claimed enrollment, in one transaction:
// the send rows, the timeline events, and the enrollment's new schedule. The
// enrollment part (everything but Sends and Events) applies only while Owner
// still holds the lease; a settle without the lease still records the sends
// and events (they are facts) and reports ErrLeaseLost.
type Settle struct {
	EnrollmentID  int64
	Owner         string
	Sends         []SendUpdate
	Events        []Event
	LastStep      int
	LastSentAt    *time.Time
	ThreadSubject string
	ThreadRefs    string
	NextSendAt    *time.Time // nil: nothing planned
	// State: StateActive keeps it as it is (an enrollment paused meanwhile
	// stays paused and gets no NextSendAt); a terminal state ends it unless
	// it is already terminal.
	State  State
	Reason string
	// Suppress, when set, adds the enrollment's prospect address to the
	// suppression list with this reason and ends the prospect's other
	// non-terminal enrollments in State too (R7).
	Suppress string
	// SuppressEvent is the timeline entry (with Suppress as its detail)
	// recorded on each other enrollment that Suppress ends; "" records none.
	// The store records only the events it is given.
	SuppressEvent EventKind
}

// Transition changes an enrollment's state by hand or by inbound mail.
// It applies only if the current state is one of From (and, when
// ExpectVersion > 0, the version matches); otherwise ErrConflict.
type Transition struct {
	EnrollmentID  int64
	From          []State
	To            State
	At            time.Time
	Anchor        *time.Time // resume: the shifted anchor
	NextSendAt    *time.Time // resume: the new plan; nil clears it
	ClearPaused   bool       // resume: PausedAt = NULL
	Reason        string
	ExpectVersion int64
	Event         *Event // recorded in the same transaction

	// FirstContact, when set, replaces the enrollment's first contact (a
	// corrected date re-plans it; Anchor moves with it).
	FirstContact *time.Time

	// Successor, when set, is recorded on the enrollment (it left the
	// company and the auto-reply named who took over).
	Successor *Successor
}

// Inbound is one handled message of a watched mailbox, recorded atomically
// with the mailbox cursor so that a restart neither misses nor re-handles it.
type Inbound struct {
	Sender      string // sender (mailbox) name
	UIDValidity uint32
	UID         uint32
	Key         string // dedup key: the message's Message-ID, or a hash of its headers
	Events      []Event
	// Transitions to apply (each silently skipped when its From does not match).
	Transitions []Transition
	// Suppress: addresses (raw) to add to the suppression list with SuppressReason,
	// ending their non-terminal enrollments as SuppressState.
	Suppress       []string
	SuppressReason string
	SuppressState  State
	// SuppressEvent is the timeline entry (with SuppressReason as its detail)
	// recorded on each enrollment that Suppress ends; "" records none. The
	// Transitions, applied first, normally end them already, each with its
	// own event: this is for an enrollment created meanwhile.
	SuppressEvent EventKind
}

// OAuthGrant is a sender mailbox's OAuth2 grant as stored.
type OAuthGrant struct {
	Sender  string
	Version int64  // grows with every write
	Sealed  string // the tokens, encrypted by the caller
	// Revoked: the provider refused the refresh token (invalid_grant); the
	// mailbox must be connected again.
	Revoked   bool
	UpdatedAt time.Time
}

// MailboxCursor is where a mailbox watcher stands.
type MailboxCursor struct {
	Sender      string
	UIDValidity uint32
	LastUID     uint32
	// OldBelow: the UIDs below it (under UIDValidity) were in the mailbox
	// when drip first watched it; 0 when there is no such line.
	OldBelow uint32
}

// SentRef is what a reply is matched against.
type SentRef struct {
	EnrollmentID int64
	ProspectID   int64
	Sequence     string
	Sender       string
	Step         int
	MessageID    string
	Email        string
	State        State
}

// ImportRow is one prospect of a list, with the enrollment it asks for.
type ImportRow struct {
	Line         int // for the caller's reports
	Prospect     Prospect
	Sequence     string
	Sender       string
	FirstContact time.Time
	// Anchor is a new enrollment's R1 anchor; zero = FirstContact. The
	// sequencer moves it for a late start at step 1 (late_start: first).
	Anchor     time.Time
	NextSendAt *time.Time // plan for a new enrollment (computed by the sequencer)
}

// ImportResult of one row.
type ImportResult struct {
	Line    int
	Created bool  // new prospect (false: updated an existing one)
	Err     error // ErrSuppressed, or another row-level refusal
	// Warning is something the row did that the user should know (the
	// prospect runs in another sequence too); set by the sequencer.
	Warning string

	// For a stored row: its prospect, and whether it was known before the
	// batch; then Enrollments are its enrollments as they were before the
	// batch (so the caller can re-plan and warn without reading them).
	ProspectID  int64
	Known       bool
	Enrollments []Enrollment
}

// StepStats are the funnel of one step.
type StepStats struct {
	Step         int
	Sent         int
	Replied      int // human replies attributed to this step (the last one sent before the reply)
	AutoReplies  int
	Bounced      int
	Unsubscribed int
	Skipped      int
	Failed       int
	Unknown      int
}

// SequenceStats of one sequence.
type SequenceStats struct {
	Sequence string
	Steps    []StepStats // by step, only steps with any activity
	States   map[State]int
}

// LanguageStats is the funnel of a sequence for the prospects of one
// language: StepStats summed over the steps, and their enrollments by state.
type LanguageStats struct {
	Language string
	StepStats
	States map[State]int
}

// ProspectFilter for listing prospects.
type ProspectFilter struct {
	Sequence string
	State    State  // "" = any
	Search   string // substring of the address, names or company, case-folded (see SearchFold)
	// Senders, when set, lists only prospects with an enrollment by one of
	// these senders (a rep's view), and shows such an enrollment.
	Senders []string
	Limit   int
	Offset  int
	// CountUpTo > 0 stops counting there: the total is then
	// min(matches, CountUpTo), and costs no more than counting CountUpTo
	// rows, however long the list. 0 counts every match.
	CountUpTo int
}

// ProspectListRow is a prospect with its most relevant enrollment.
type ProspectListRow struct {
	Prospect   Prospect
	Enrollment *Enrollment // nil when not enrolled
}

// Store is everything drip keeps. All SQL lives in its implementations.
type Store interface {
	Security // security.go

	// Prospects.
	ProspectUpsert(ctx context.Context, p *Prospect) (created bool, err error)
	ProspectGet(ctx context.Context, id int64) (Prospect, error)
	ProspectGetByEmail(ctx context.Context, email string) (Prospect, error)
	ProspectsByIDs(ctx context.Context, ids []int64) (map[int64]Prospect, error)
	ProspectList(ctx context.Context, f ProspectFilter) (rows []ProspectListRow, total int, err error)
	// ProspectForget erases every piece of personal data of the prospect in
	// every table, stops its enrollments, and keeps its address suppressed
	// by hash only.
	ProspectForget(ctx context.Context, email string, at time.Time) error

	// Enrollments.
	// EnrollmentCreate inserts e unless the prospect is already enrolled in
	// that sequence (then created=false and e is filled with the stored one)
	// or its address is suppressed (ErrSuppressed). An enrolled event is
	// recorded with a new enrollment.
	EnrollmentCreate(ctx context.Context, e *Enrollment) (created bool, err error)
	EnrollmentGet(ctx context.Context, id int64) (Enrollment, error)
	EnrollmentsByProspect(ctx context.Context, prospectID int64) ([]Enrollment, error)
	// EnrollmentClaimDue leases up to Limit active enrollments whose
	// NextSendAt <= Now and whose lease is free or expired, earliest first.
	// Two claimers never receive the same enrollment while a lease runs.
	EnrollmentClaimDue(ctx context.Context, p ClaimParams) ([]Enrollment, error)
	// EnrollmentRelease drops the lease without other change (shutdown).
	EnrollmentRelease(ctx context.Context, owner string, ids []int64) error
	EnrollmentTransition(ctx context.Context, t Transition) (Enrollment, error)
	// EnrollmentsCompletePastEnd completes the non-terminal enrollments of a
	// sequence whose LastStep >= steps (the sequence was shortened).
	EnrollmentsCompletePastEnd(ctx context.Context, sequence string, steps int, at time.Time) (int, error)
	// EnrollmentCounts: sequence -> state -> count.
	EnrollmentCounts(ctx context.Context) (map[string]map[State]int, error)
	// DueBacklog counts active enrollments due at now and not leased, of
	// senders not held at now.
	DueBacklog(ctx context.Context, now time.Time) (int, error)

	// Sender holds (R9).
	// SenderHoldSet records h, unless the sender is already held longer
	// (then the longer hold stays). A hold that follows an expired one, or
	// replaces one of another reason, starts at h.Since.
	SenderHoldSet(ctx context.Context, h SenderHold) error
	// SenderHolds lists the holds still in force at now.
	SenderHolds(ctx context.Context, now time.Time) ([]SenderHold, error)
	// SenderHoldClear ends the sender's hold if it is of one of reasons
	// (any reason when none is given).
	SenderHoldClear(ctx context.Context, sender string, reasons ...string) error
	// SenderPaces lists the paced senders' turns.
	SenderPaces(ctx context.Context) ([]SenderPace, error)
	// SenderBounces counts the sender's last window finished sends
	// started since its breaker was last reset (SenderBreakerReset), and
	// how many of them bounced.
	SenderBounces(ctx context.Context, sender string, window int) (BounceCount, error)
	// SenderBreakerReset makes the sender's breaker count only the sends
	// started at or after at (drip sender resume).
	SenderBreakerReset(ctx context.Context, sender string, at time.Time) error
	// EnrollmentsRedecide makes the sender's active enrollments planned at
	// or after from due at now, so that the engine decides them again (a
	// hold lifted before its end); it returns how many.
	EnrollmentsRedecide(ctx context.Context, sender string, from, now time.Time) (int, error)
	// EnrollmentsPlanned lists the active enrollments whose next send is
	// planned before until, past-due ones included, by sender and time: the
	// demand side of a sender's capacity forecast.
	EnrollmentsPlanned(ctx context.Context, until time.Time) ([]Planned, error)

	// Sends.
	// SendsStart gates a batch of attempts (see SendStart). errs[i] is nil on
	// success or one of ErrLeaseLost, ErrSuppressed, ErrDailyLimit, ErrPaced, ErrConflict
	// (the step already has a row that is not SendRetry; see SendGet).
	SendsStart(ctx context.Context, starts []SendStart) (errs []error, err error)
	SendGet(ctx context.Context, enrollmentID int64, step int) (Send, error)
	SendsByEnrollment(ctx context.Context, enrollmentID int64) ([]Send, error)
	// Settle records a batch of outcomes; errs[i] is nil or ErrLeaseLost.
	Settle(ctx context.Context, s []Settle) (errs []error, err error)
	// SettleAndStart is Settle(settles) then SendsStart(starts) in one
	// transaction, so that a batch of outcomes and the sends that take
	// their workers' places commit together.
	SettleAndStart(ctx context.Context, settles []Settle, starts []SendStart) (settleErrs, startErrs []error, err error)
	// SentByMessageIDs finds sends by Message-ID (the first match in ids order).
	SentByMessageIDs(ctx context.Context, ids []string) (SentRef, error)
	// SentLatestToEmail finds the latest send to an address (any sequence).
	SentLatestToEmail(ctx context.Context, email string) (SentRef, error)
	// EnrollmentsRunningByEmail lists the running (non-terminal)
	// enrollments of the prospect with this address, oldest first, whether
	// or not anything was sent to them: each with its latest send (Step and
	// MessageID), or Step 0 and no MessageID when nothing was sent yet.
	// None (and no error) when the address is no prospect's.
	EnrollmentsRunningByEmail(ctx context.Context, email string) ([]SentRef, error)
	// SenderDailyUsed is how many attempts the sender began on that local day.
	SenderDailyUsed(ctx context.Context, sender, day string) (int, error)

	// Suppression.
	Suppressed(ctx context.Context, email string) (bool, error)
	// SuppressionAdd suppresses the address and ends the non-terminal
	// enrollments of its prospect (if any) in state with an event of kind.
	SuppressionAdd(ctx context.Context, email, reason string, state State, kind EventKind, at time.Time) error

	// Timeline.
	// WebhooksSync makes the configured webhooks those of targets: a
	// webhook no longer configured is dropped with its pending deliveries.
	WebhooksSync(ctx context.Context, targets []WebhookTarget) error
	// WebhookClaim leases to owner until `until` up to limit deliveries due
	// at now, each the oldest pending one of its prospect for its webhook
	// (none while an earlier one is pending, failing or leased), oldest
	// first.
	WebhookClaim(ctx context.Context, owner string, now, until time.Time, limit int) ([]WebhookDelivery, error)
	// WebhookDelivered deletes a delivery owner holds (ErrLeaseLost if not).
	WebhookDelivered(ctx context.Context, id int64, owner string) error
	// WebhookRetry releases a delivery owner holds, due again at next.
	WebhookRetry(ctx context.Context, id int64, owner string, next time.Time, failure string) error
	// WebhookPending counts the deliveries not made yet.
	WebhookPending(ctx context.Context) (int, error)
	EventAdd(ctx context.Context, e Event) error
	Timeline(ctx context.Context, prospectID int64) ([]Event, error)

	// Import: a batch of rows in one transaction (COPY on PostgreSQL).
	// Rows are applied in order; a row whose address appeared earlier in the
	// batch updates. Existing enrollments are kept as they are.
	ImportBatch(ctx context.Context, rows []ImportRow) ([]ImportResult, error)

	// Mailbox watching.
	MailboxCursorGet(ctx context.Context, sender string) (MailboxCursor, error)
	// MailboxCursorStart creates the cursor of a mailbox watched for the
	// first time (nothing handled yet; UIDs below oldBelow are old mail),
	// and keeps one that exists.
	MailboxCursorStart(ctx context.Context, sender string, uidValidity, oldBelow uint32) error
	// InboundRecord applies one handled inbound message atomically with the
	// cursor advance. It returns ErrConflict (and changes nothing but the
	// cursor) when Key was already handled for that sender.
	InboundRecord(ctx context.Context, in Inbound) error
	// MailboxLease makes owner the one watcher of sender's mailbox until
	// `until`, if nobody else holds an unexpired lease (renewal by the holder
	// always succeeds). Returns whether owner holds it.
	MailboxLease(ctx context.Context, sender, owner string, now, until time.Time) (bool, error)
	MailboxLeaseRelease(ctx context.Context, sender, owner string) error

	// Crash recovery: which instances are alive (see Instance).
	// InstanceRegister makes owner a live instance for as long as this
	// process holds the returned Instance: until its Close, or the
	// process's death, which the database (PostgreSQL) or the operating
	// system (SQLite) notices at once. Register before taking any lease.
	InstanceRegister(ctx context.Context, owner string) (Instance, error)
	// LeasesRescue releases every claim lease and mailbox lease held by a
	// registered instance that is no longer alive, so that they can be
	// taken at once rather than when they run out. Send rows stay as they
	// are: a step the dead instance left "sending" becomes unknown when its
	// enrollment is claimed again, and is never sent again (R8). Leases of
	// an owner that never registered are left to run out.
	LeasesRescue(ctx context.Context) (Rescued, error)

	// Stats.
	SequenceStats(ctx context.Context, sequence string) (SequenceStats, error)
	// SequenceLanguageStats is the funnel of a sequence summed over its
	// steps, by the prospects' Language as stored, one row per distinct
	// value ("" included), in no particular order.
	SequenceLanguageStats(ctx context.Context, sequence string) ([]LanguageStats, error)

	// OAuth2 grants of sender mailboxes (sealed by the caller).
	OAuthGrantGet(ctx context.Context, sender string) (OAuthGrant, error)
	// OAuthGrantSave stores a new grant (a connect), whatever was there;
	// it is no longer revoked.
	OAuthGrantSave(ctx context.Context, sender string, sealed string, at time.Time) (OAuthGrant, error)
	// OAuthGrantUpdate runs fn on the grant under its row lock, so no other
	// instance reads it until fn is done (a refresh spends a refresh token
	// once). A non-nil next is written (version+1) before fn's error, if
	// any, is returned; a nil next writes nothing. ErrNotFound without a
	// grant.
	OAuthGrantUpdate(ctx context.Context, sender string, fn func(cur OAuthGrant) (next *OAuthGrant, err error)) (OAuthGrant, error)

	Ping(ctx context.Context) error
	Close() error
}

// Instance is this process's registration as a live instance
// (Store.InstanceRegister).
type Instance interface {
	// Renew checks that the registration still holds and takes it again if
	// it was lost (PostgreSQL: the session holding it ended, say the server
	// restarted); renewed reports that it had been lost, so that others may
	// have taken this instance for dead meanwhile.
	Renew(ctx context.Context) (renewed bool, err error)
	// Close ends the registration as the process's death would: what the
	// instance still holds is then released by the next LeasesRescue.
	Close() error
}

// WebhookTarget is a configured webhook as the store keeps it: the
// outbox gets a row for each event of one of Kinds (none: every kind).
type WebhookTarget struct {
	URL   string
	Kinds []EventKind
}

// WebhookKinds are the event kinds a webhook can be told of.
var WebhookKinds = []EventKind{EventEnrolled, EventSent, EventReply, EventAutoReply, EventDeferred,
	EventBounce, EventUnsubscribe, EventLeft, EventCompleted, EventFailed}

// WebhookDelivery is an outbox row claimed for delivery: one event for one
// webhook. Key is the event's idempotency key, the same for every webhook
// and every attempt.
type WebhookDelivery struct {
	ID         int64
	WebhookURL string
	Key        string
	Kind       EventKind
	Prospect   Prospect // as it is now (its ID only, if it was forgotten since)
	Sequence   string
	Step       int
	Detail     string
	At         time.Time
	Attempts   int // failed attempts so far
}

// Rescued is what one LeasesRescue released.
type Rescued struct {
	Owners      []string // the dead instances it found
	Enrollments int      // claim leases released
	Mailboxes   int      // mailbox leases released
	Webhooks    int      // webhook deliveries released
}
