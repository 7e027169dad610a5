package sequencer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/store"
)

// Control is what people do to prospects and enrollments, shared by the
// CLI, the HTTP API and any other front end: enrol, import, pause, resume,
// unsubscribe, forget, and look. It validates input once, here, so that
// every door refuses the same things.
type Control struct {
	Store  store.Store
	Clock  Clock // default SystemClock
	Config *configs.Config
	// Wake, when set, tells an engine in this process that work may be due
	// now (after an enrollment or a resume); without it the engine finds the
	// work at its next poll.
	Wake func()
}

// ErrInvalid is the Kind of a UserError about bad input.
var ErrInvalid = errors.New("invalid input")

// UserError is a refusal the user can act on: bad input, an unknown
// prospect, a suppressed address. Msg is written for the user and holds no
// internal detail, so front ends may show it as it is. Kind is ErrInvalid,
// store.ErrNotFound, store.ErrSuppressed or store.ErrConflict (errors.Is
// sees it).
type UserError struct {
	Kind  error
	Msg   string
	cause error // what was refused, for errors.As (say, the body's size limit)
}

func (e *UserError) Error() string   { return e.Msg }
func (e *UserError) Unwrap() []error { return []error{e.Kind, e.cause} }

func invalidf(format string, a ...any) error {
	return &UserError{Kind: ErrInvalid, Msg: fmt.Sprintf(format, a...)}
}

func notFoundf(format string, a ...any) error {
	return &UserError{Kind: store.ErrNotFound, Msg: fmt.Sprintf(format, a...)}
}

func suppressedError(email string) error {
	return &UserError{Kind: store.ErrSuppressed,
		Msg: fmt.Sprintf("%s is suppressed (unsubscribed, bounced or forgotten): it is never enrolled or written to again", email)}
}

func (c *Control) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

func (c *Control) wake() {
	if c.Wake != nil {
		c.Wake()
	}
}

// sequence looks a configured sequence up.
func (c *Control) sequence(name string) (*configs.Sequence, error) {
	if name == "" {
		return nil, invalidf("a sequence is required (one of: %s)", strings.Join(c.Config.SequenceNames(), ", "))
	}
	seq, ok := c.Config.Sequences[name]
	if !ok {
		return nil, invalidf("no sequence %q (have: %s)", name, strings.Join(c.Config.SequenceNames(), ", "))
	}
	return seq, nil
}

// sender resolves a sender name; "" is the first configured one.
func (c *Control) sender(name string) (string, error) {
	if name == "" {
		if d := c.Config.DefaultSender(); d != nil {
			return d.Name, nil
		}
		return "", invalidf("no sender is configured")
	}
	if _, ok := c.Config.Sender(name); !ok {
		names := make([]string, len(c.Config.Senders))
		for i, s := range c.Config.Senders {
			names[i] = s.Name
		}
		return "", invalidf("no sender %q (have: %s)", name, strings.Join(names, ", "))
	}
	return name, nil
}

// EnrollRequest enrols one prospect.
type EnrollRequest struct {
	Sequence string
	Sender   string // "" = the first configured sender
	// Prospect: Email is required; the other values are optional and, for
	// a prospect already known, overwrite only where given.
	Prospect store.Prospect
	// FirstContact is YYYY-MM-DD or DD/MM/YYYY (00:00 that day in the
	// prospect's time zone) or RFC 3339, as in a CSV list; "" = now.
	FirstContact string
}

// EnrollResult is the outcome of Enroll.
type EnrollResult struct {
	Prospect   store.Prospect
	Enrollment store.Enrollment
	// Created is false when the prospect was already enrolled in the
	// sequence: that enrollment is left as it was (its prospect's data are
	// updated all the same; a new first contact re-plans it).
	Created bool
	// Warnings: the prospect also runs in another sequence (control_move.go).
	Warnings []string
	// Replanned are the running enrollments a changed first contact moved
	// (control_replan.go).
	Replanned []store.Enrollment
}

// Enroll validates and stores the prospect, then enrols it in the sequence
// with its first send planned by the schedule rules. A first contact far
// in the past makes the latest past-due step due now; the engine skips the
// earlier ones (R3), unless the sequence says late_start: first
// (latestart.go).
func (c *Control) Enroll(ctx context.Context, req EnrollRequest) (EnrollResult, error) {
	seq, err := c.sequence(req.Sequence)
	if err != nil {
		return EnrollResult{}, err
	}
	sender, err := c.sender(req.Sender)
	if err != nil {
		return EnrollResult{}, err
	}
	p, err := cleanProspect(req.Prospect, c.now())
	if err != nil {
		return EnrollResult{}, err
	}
	if reason := importer.CheckValue("first_contact", req.FirstContact); reason != "" {
		return EnrollResult{}, invalidf("%s", reason)
	}
	known, err := c.Store.ProspectGetByEmail(ctx, p.Email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		known = store.Prospect{}
	case err != nil:
		return EnrollResult{}, fmt.Errorf("looking up prospect: %w", err)
	}
	// Refused before anything is written: a suppressed address's data is
	// not stored again.
	if sup, err := c.Store.Suppressed(ctx, p.Email); err != nil {
		return EnrollResult{}, fmt.Errorf("checking the suppression list: %w", err)
	} else if sup {
		return EnrollResult{}, suppressedError(p.Email)
	}
	for _, f := range seq.Fields {
		if strings.TrimSpace(p.Fields[f]) == "" && strings.TrimSpace(known.Fields[f]) == "" {
			return EnrollResult{}, invalidf("missing custom field %q: sequence %s uses it in its templates", f, seq.Name)
		}
	}
	if msg := basisMissing(seq, p, known); msg != "" {
		return EnrollResult{}, &UserError{Kind: ErrNoBasis, Msg: msg}
	}
	warnings, err := c.enrollWarnings(ctx, known, seq)
	if err != nil {
		return EnrollResult{}, err
	}
	zone := known
	if p.Timezone != "" {
		zone.Timezone = p.Timezone
	}
	loc := Location(zone, seq)
	now := c.now()
	first := now
	if req.FirstContact != "" {
		t, ok := importer.ParseFirstContact(strings.TrimSpace(req.FirstContact), loc)
		if !ok {
			return EnrollResult{}, invalidf("first_contact %q is not a valid date (want YYYY-MM-DD, DD/MM/YYYY or RFC 3339)", req.FirstContact)
		}
		if why := importer.CheckDate(t); why != "" {
			return EnrollResult{}, invalidf("first_contact %q: %s", req.FirstContact, why)
		}
		first = t
	}

	p.UpdatedAt = now
	if _, err := c.Store.ProspectUpsert(ctx, &p); errors.Is(err, store.ErrSuppressed) {
		return EnrollResult{}, suppressedError(p.Email)
	} else if err != nil {
		return EnrollResult{}, fmt.Errorf("storing prospect: %w", err)
	}
	e := store.Enrollment{
		ProspectID: p.ID, Sequence: seq.Name, Sender: sender, State: store.StateActive,
		FirstContact: first, Anchor: LateStartAnchor(seq.LateStart, first, seq, loc, now), CreatedAt: now,
	}
	e.NextSendAt = Plan(e, seq, loc, now)
	created, err := c.Store.EnrollmentCreate(ctx, &e)
	if errors.Is(err, store.ErrSuppressed) {
		return EnrollResult{}, suppressedError(p.Email)
	}
	if err != nil {
		return EnrollResult{}, fmt.Errorf("enrolling: %w", err)
	}
	res := EnrollResult{Prospect: p, Enrollment: e, Created: created, Warnings: warnings}
	if !created && req.FirstContact != "" {
		if res.Replanned, err = c.replanFirstContact(ctx, p, first); err != nil {
			return res, err
		}
	}
	if created || len(res.Replanned) > 0 {
		c.wake()
	}
	return res, nil
}

// cleanProspect trims p's values and refuses what the importer refuses: an
// invalid address, a line break or NUL in any value (a header-injection
// guard), an unknown time zone, an unusable custom field name.
func cleanProspect(p store.Prospect, now time.Time) (store.Prospect, error) {
	values := []struct {
		key string
		v   *string
	}{
		{"email", &p.Email}, {"first_name", &p.FirstName}, {"last_name", &p.LastName},
		{"company", &p.Company}, {"title", &p.Title}, {"phone", &p.Phone}, {"met_at", &p.MetAt},
		{"timezone", &p.Timezone}, {"language", &p.Language}, {"notes", &p.Notes},
	}
	for _, f := range values {
		if reason := importer.CheckValue(f.key, *f.v); reason != "" {
			return p, invalidf("%s", reason)
		}
		*f.v = strings.TrimSpace(*f.v)
	}
	if reason := importer.CheckEmail(p.Email); reason != "" {
		return p, invalidf("%s", reason)
	}
	if p.Timezone != "" {
		if _, err := loadZone(p.Timezone); err != nil {
			return p, err
		}
	}
	fields := make(map[string]string, len(p.Fields))
	for k, v := range p.Fields {
		key := strings.TrimSpace(k)
		if key == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(key) > 100 {
			return p, invalidf("custom field name %q: use letters, digits and _ (no spaces)", k)
		}
		if reason := importer.CheckValue(key, v); reason != "" {
			return p, invalidf("%s", reason)
		}
		fields[key] = strings.TrimSpace(v)
	}
	if reason := importer.CheckBasis(fields, now); reason != "" {
		return p, invalidf("%s", reason)
	}
	p.Fields = fields
	return p, nil
}

// loadZone loads an IANA zone a user named.
func loadZone(name string) (*time.Location, error) {
	// "Local" would be this machine's zone, whatever the prospect's is.
	if name != "Local" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, invalidf("unknown time zone %q (want an IANA name like Europe/Rome)", name)
}

// Prospect finds a prospect by address, or a UserError naming it.
func (c *Control) Prospect(ctx context.Context, email string) (store.Prospect, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return store.Prospect{}, invalidf("an email address is required")
	}
	p, err := c.Store.ProspectGetByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return p, notFoundf("no prospect %s", email)
	}
	if err != nil {
		return p, fmt.Errorf("looking up prospect: %w", err)
	}
	return p, nil
}

// Pause pauses every active enrollment of the prospect by hand (R5); it
// returns the enrollments it paused, none when nothing was active.
func (c *Control) Pause(ctx context.Context, email string) ([]store.Enrollment, error) {
	p, err := c.Prospect(ctx, email)
	if err != nil {
		return nil, err
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("reading enrollments: %w", err)
	}
	now := c.now()
	var done []store.Enrollment
	for _, e := range ens {
		if e.State != store.StateActive {
			continue
		}
		got, err := c.Store.EnrollmentTransition(ctx, paused(e, now))
		if errors.Is(err, store.ErrConflict) {
			continue // it stopped or was paused meanwhile: nothing left to pause
		}
		if err != nil {
			return done, fmt.Errorf("pausing %s in %s: %w", p.Email, e.Sequence, err)
		}
		done = append(done, got)
	}
	return done, nil
}

// resumeAttempts bounds the retries of a resume that races with another
// writer of the enrollment (an in-flight send settling, say).
const resumeAttempts = 5

// Resume resumes every paused or replied enrollment of the prospect. The
// anchor moves by the time spent paused (R5), so the next unsent step keeps
// the distance it had from the pause and nothing becomes past due because
// of the pause. It returns the enrollments it resumed.
func (c *Control) Resume(ctx context.Context, email string) ([]store.Enrollment, error) {
	p, err := c.Prospect(ctx, email)
	if err != nil {
		return nil, err
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("reading enrollments: %w", err)
	}
	var resumed []store.Enrollment
	for _, e := range ens {
		if !e.State.Paused() {
			continue
		}
		got, ok, err := c.resume(ctx, p, e)
		if err != nil {
			return resumed, err
		}
		if ok {
			resumed = append(resumed, got)
		}
	}
	if len(resumed) > 0 {
		c.wake()
	}
	return resumed, nil
}

// resume resumes one enrollment, re-reading and replanning it when it
// changed under us; ok is false when it is no longer paused.
func (c *Control) resume(ctx context.Context, p store.Prospect, e store.Enrollment) (store.Enrollment, bool, error) {
	seq, ok := c.Config.Sequences[e.Sequence]
	if !ok {
		return e, false, invalidf("cannot resume %s in %s: the sequence is no longer configured", p.Email, e.Sequence)
	}
	loc := Location(p, seq)
	for range resumeAttempts {
		now := c.now()
		anchor := ResumeAnchor(e, loc, now)
		planned := e
		planned.State, planned.Anchor = store.StateActive, anchor
		next := Plan(planned, seq, loc, now)
		if next == nil {
			// Every step is handled (the sequence was shortened while it
			// was paused): due now, so that the engine completes it (R6).
			next = &now
		}
		got, err := c.Store.EnrollmentTransition(ctx, resumed(e, anchor, next, now))
		if err == nil {
			return got, true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return e, false, fmt.Errorf("resuming %s in %s: %w", p.Email, e.Sequence, err)
		}
		if e, err = c.Store.EnrollmentGet(ctx, e.ID); err != nil {
			return e, false, fmt.Errorf("re-reading enrollment: %w", err)
		}
		if !e.State.Paused() {
			return e, false, nil
		}
	}
	return e, false, &UserError{Kind: store.ErrConflict,
		Msg: fmt.Sprintf("%s in %s kept changing while resuming; try again", p.Email, e.Sequence)}
}

// Unsubscribe puts the address on the suppression list and ends its
// running enrollments as unsubscribed (R7). It is idempotent. An address
// that is not a prospect is suppressed all the same (someone asking never
// to be written to); known reports whether it was a prospect.
//
// Each enrollment it ends gets one unsubscribe event, carrying the step
// last handled: the funnel counts an unsubscribe against the email that
// prompted it.
func (c *Control) Unsubscribe(ctx context.Context, email, reason string) (known bool, err error) {
	email = strings.TrimSpace(email)
	if r := importer.CheckEmail(email); r != "" {
		return false, invalidf("%s", r)
	}
	now := c.now()
	p, err := c.Store.ProspectGetByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := c.Store.SuppressionAdd(ctx, email, reason, "", "", now); err != nil {
			return false, fmt.Errorf("suppressing %s: %w", email, err)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking up prospect: %w", err)
	}
	already, err := c.Store.Suppressed(ctx, email)
	if err != nil {
		return true, fmt.Errorf("checking the suppression list: %w", err)
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return true, fmt.Errorf("reading enrollments: %w", err)
	}
	ended := 0
	for _, e := range ens {
		if e.State.Terminal() {
			continue
		}
		_, err := c.Store.EnrollmentTransition(ctx, unsubscribed(e, reason, store.Event{Step: e.LastStep, Detail: reason, At: now}))
		if errors.Is(err, store.ErrConflict) {
			continue // it ended meanwhile, with its own event
		}
		if err != nil {
			return true, fmt.Errorf("unsubscribing %s from %s: %w", p.Email, e.Sequence, err)
		}
		ended++
	}
	// The suppression ends, with the same one event, whatever was enrolled
	// meanwhile.
	if err := c.Store.SuppressionAdd(ctx, email, reason, store.StateUnsubscribed, store.EventUnsubscribe, now); err != nil {
		return true, fmt.Errorf("suppressing %s: %w", email, err)
	}
	if ended == 0 && !already {
		// Nothing was running (completed, say): the timeline still shows it.
		ev := store.Event{ProspectID: p.ID, Kind: store.EventUnsubscribe, Detail: reason, At: now}
		if err := c.Store.EventAdd(ctx, ev); err != nil {
			return true, fmt.Errorf("recording the unsubscribe: %w", err)
		}
	}
	return true, nil
}

// Forget erases the prospect's personal data from every table and keeps
// its address suppressed, by hash only.
func (c *Control) Forget(ctx context.Context, email string) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return invalidf("an email address is required")
	}
	err := c.Store.ProspectForget(ctx, email, c.now())
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf("no prospect %s", email)
	}
	if err != nil {
		return fmt.Errorf("forgetting %s: %w", email, err)
	}
	return nil
}
