// Package imapwatch watches one sender's mailbox over IMAP and hands what
// arrives to a Handler, which decides what each message means and records
// it (the sequencer: a reply pauses the prospect, a bounce or a stop request
// ends the enrollment). This package does IMAP only: connect, IDLE or poll,
// the UIDVALIDITY and UID cursor, fetch, and the mailbox lease, all through
// the Handler. See the contract's "Reply detection".
//
// One Watcher serves one mailbox. It holds the mailbox's lease while it
// watches, so that of several drip instances exactly one watches each
// mailbox; another takes over when the lease runs out. It reads the mailbox
// in UID order from the cursor (UIDVALIDITY and last handled UID), has each
// message recorded atomically with the cursor advance, waits with IDLE where
// the server has it and polls otherwise, and never sets \Seen: the rep's
// mail stays unread.
package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/inbound"
)

// Handler decides what a message means and records it. The sequencer
// implements it; imapwatch never decides a message's meaning itself. One
// Handler may serve the watchers of every mailbox at once.
type Handler interface {
	// Handle decides what m means and records it atomically with the
	// advance of the mailbox cursor to m.UID. A message handled before is
	// reported Duplicate (and only the cursor moves). An error leaves the
	// message and the cursor as they were, for a later attempt.
	Handle(ctx context.Context, m inbound.Fetched) (inbound.Handled, error)
	// Skip advances the cursor past m with no other effect: a message whose
	// handling keeps failing must not stop the mailbox.
	Skip(ctx context.Context, m inbound.Fetched) error
	// Cursor is where the watcher of sender's mailbox stands; ok is false
	// when the mailbox was never watched.
	Cursor(ctx context.Context, sender string) (c inbound.Cursor, ok bool, err error)
	// CursorStart stores the cursor of a mailbox watched for the first
	// time (nothing handled yet), keeping the line between the mail that
	// was there before (UIDs below oldBelow, matched by Message-ID only)
	// and new mail; a cursor that exists meanwhile is kept as it is.
	CursorStart(ctx context.Context, sender string, uidValidity, oldBelow uint32) error
	// Lease makes owner the one watcher of sender's mailbox until `until`,
	// unless another owner holds an unexpired lease; it reports whether
	// owner holds it. Renewal by the holder always succeeds.
	Lease(ctx context.Context, sender, owner string, now, until time.Time) (bool, error)
	// LeaseRelease gives up owner's lease (a no-op when not owner's).
	LeaseRelease(ctx context.Context, sender, owner string) error
}

// Handled reports one recorded message (Config.OnHandled).
type Handled = inbound.Handled

const (
	// maxFetch is how much of a message is read: headers, the new text and
	// the returned headers of a DSN are all near the start.
	maxFetch = 256 << 10
	// fetchBatch messages are fetched at once, bounding memory to
	// fetchBatch*maxFetch whatever the backlog.
	fetchBatch = 32
	// maxAttempts of one message whose handling fails before it is skipped:
	// a message must never stop the mailbox.
	maxAttempts = 3
	// logoutGrace is how long a stopping watcher waits for LOGOUT.
	logoutGrace  = 3 * time.Second
	firstBackoff = 250 * time.Millisecond
)

// takeoverPoll bounds how long a watcher refused the lease waits before
// it asks again.
const takeoverPoll = 2 * time.Second

var (
	errLeaseLost  = errors.New("mailbox lease lost to another instance")
	errConnClosed = errors.New("connection closed by the server")
)

// Watcher watches one mailbox. Create it with New; Run it once.
type Watcher struct {
	cfg Config
	h   Handler
	log *slog.Logger

	connected atomic.Bool

	mu sync.Mutex
	// old is the line the first start on this mailbox drew, as the
	// cursor keeps it: UIDs below `below` under `validity` were there
	// before drip first watched the mailbox (see Run).
	old struct {
		validity, below uint32
	}
	failures map[uint64]int // (validity, uid) -> failed attempts

	// keepLease makes Run return without releasing the lease, as a crashed
	// process would (tests of takeover).
	keepLease bool
}

// New checks cfg and returns a Watcher of its mailbox that hands each
// message to h.
func New(cfg Config, h Handler) (*Watcher, error) {
	if h == nil {
		return nil, fmt.Errorf("imap watcher of sender %q: no handler", cfg.Sender)
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Watcher{cfg: c, h: h, failures: map[uint64]int{}}
	w.log = c.Log.With("sender", c.Sender, "imap", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), "mailbox", c.Mailbox)
	c.Metrics.setConnected(c.Sender, false)
	return w, nil
}

// Connected reports whether this watcher holds the lease and is connected
// to the mailbox right now.
func (w *Watcher) Connected() bool { return w.connected.Load() }

func (w *Watcher) setConnected(on bool) {
	w.connected.Store(on)
	w.cfg.Metrics.setConnected(w.cfg.Sender, on)
}

// Run watches until ctx ends, then logs out, releases the lease and
// returns nil. Connection and handler errors are logged and retried with
// backoff, never returned.
//
// On the very first start for a mailbox (no cursor in the store) the mail
// already there is matched by Message-ID only: an old message from someone
// who is a prospect today is not an answer to anything drip sent, and
// matching it by address would pause that prospect. The line is the
// UIDNEXT the server reports at that first SELECT, kept with the cursor.
func (w *Watcher) Run(ctx context.Context) error {
	backoff := 0    // consecutive failed sessions
	reauth := false // waiting for the mailbox to be connected again
	for ctx.Err() == nil {
		now := w.cfg.Clock()
		held, err := w.h.Lease(ctx, w.cfg.Sender, w.cfg.Owner, now, now.Add(w.cfg.Lease))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			backoff++
			w.log.Warn("taking the mailbox lease", "err", err)
			sleep(ctx, w.backoff(backoff))
			continue
		}
		if !held {
			// Asked often: when the holder dies, the store releases its
			// lease at once (store.LeasesRescue), and it is taken over now.
			w.log.Debug("mailbox watched by another instance; waiting")
			sleep(ctx, min(w.cfg.Lease/3, takeoverPoll))
			continue
		}
		established, err := w.session(ctx)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, mailer.ErrReauthNeeded):
			// Nothing to gain from reconnecting: wait for `drip mailbox
			// connect` (the token source reads the store again each time).
			if !reauth {
				w.log.Error("stopped watching: the mailbox's OAuth2 sign-in was revoked or has expired; run `drip mailbox connect "+w.cfg.Sender+"`", "err", err)
			}
			reauth = true
			backoff = 0
			sleep(ctx, w.cfg.ReconnectMax)
			continue
		case errors.Is(err, errLeaseLost):
			w.log.Warn("stopped watching: the mailbox lease could not be kept; another instance may watch now", "err", err)
			backoff = 0
			sleep(ctx, w.cfg.Lease/3)
		default:
			if established {
				backoff = 0
				if reauth {
					w.log.Info("mailbox signed in again; watching")
				}
				reauth = false
			}
			backoff++
			d := w.backoff(backoff)
			w.log.Warn("imap connection ended; reconnecting", "err", err, "in", d.Round(time.Millisecond))
			sleep(ctx, d)
		}
	}
	if !w.keepLease {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.h.LeaseRelease(rctx, w.cfg.Sender, w.cfg.Owner); err != nil {
			w.log.Warn("releasing the mailbox lease", "err", err)
		}
	}
	return nil
}

// backoff is exponential from firstBackoff up to ReconnectMax, with equal
// jitter, so that watchers of many mailboxes on one server spread out.
func (w *Watcher) backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < w.cfg.ReconnectMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.ReconnectMax)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// session is one connection: connect, select, catch up, then wait for news
// and catch up again, until the connection fails, the lease is lost or ctx
// ends. established reports whether it caught up with the mailbox once (a
// session that fails before that, on a bad server or store, backs off
// further).
func (w *Watcher) session(ctx context.Context) (established bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	token := ""
	if w.cfg.Token != nil {
		// Before dialling: a revoked grant costs the server nothing.
		if token, err = w.cfg.Token.AccessToken(sctx); err != nil {
			return false, fmt.Errorf("getting an OAuth2 access token: %w", err)
		}
	}
	news := make(chan struct{}, 1)
	c, err := w.dial(sctx, news)
	if err != nil {
		return false, err
	}
	done := make(chan struct{})
	defer func() {
		close(done)
		_ = c.Close()
		if cause := context.Cause(sctx); errors.Is(cause, errLeaseLost) {
			err = cause
		}
	}()
	// A stopping watcher gets logoutGrace to log out; a lost lease or a
	// failed session closes the connection at once.
	go func() {
		select {
		case <-done:
			return
		case <-sctx.Done():
		}
		if ctx.Err() != nil {
			select {
			case <-done:
				return
			case <-time.After(logoutGrace):
			}
		}
		_ = c.Close()
	}()
	go w.renew(sctx, cancel)

	if err := w.login(c, token); err != nil {
		return false, err
	}
	sel, err := c.Select(w.cfg.Mailbox, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("selecting %s: %w", w.cfg.Mailbox, err)
	}
	validity := sel.UIDValidity
	last, err := w.cursor(sctx, c, validity, uint32(sel.UIDNext))
	if err != nil {
		return false, err
	}
	canIdle := c.Caps().Has(imap.CapIdle)
	w.setConnected(true)
	defer w.setConnected(false)
	w.log.Info("watching mailbox", "idle", canIdle, "uidvalidity", validity, "last_uid", last)

	for {
		select {
		case <-news:
		default:
		}
		if err := w.catchUp(sctx, c, validity, &last); err != nil {
			return established, err
		}
		established = true
		if canIdle {
			err = w.idle(sctx, c, news)
		} else {
			err = w.poll(sctx, c)
		}
		if err != nil {
			return true, err
		}
		if ctx.Err() != nil {
			if err := c.Logout().Wait(); err != nil {
				w.log.Debug("logging out", "err", err)
			}
			return true, nil
		}
		if sctx.Err() != nil {
			return true, context.Cause(sctx)
		}
	}
}

// renew keeps the lease while the session runs; when it cannot, the session
// ends at once, since another instance may be watching already.
func (w *Watcher) renew(sctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(max(w.cfg.Lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-sctx.Done():
			return
		case <-t.C:
		}
		now := w.cfg.Clock()
		held, err := w.h.Lease(sctx, w.cfg.Sender, w.cfg.Owner, now, now.Add(w.cfg.Lease))
		if sctx.Err() != nil {
			return
		}
		if err != nil {
			cancel(fmt.Errorf("%w (renewing: %v)", errLeaseLost, err))
			return
		}
		if !held {
			cancel(errLeaseLost)
			return
		}
	}
}

// dial connects (with TLS as configured) and waits for the greeting, all
// within Timeout. New-mail notices are handed to news without blocking the
// client.
func (w *Watcher) dial(ctx context.Context, news chan struct{}) (*imapclient.Client, error) {
	addr := net.JoinHostPort(w.cfg.Host, strconv.Itoa(w.cfg.Port))
	dctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	conn, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	tlsConfig := &tls.Config{
		ServerName:         w.cfg.Host,
		RootCAs:            w.cfg.RootCAs,
		InsecureSkipVerify: w.cfg.InsecureSkipVerify, //nolint:gosec // opt-in, for test servers
		MinVersion:         tls.VersionTLS12,
	}
	opts := &imapclient.Options{
		TLSConfig: tlsConfig,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case news <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	// The greeting and STARTTLS have no timeout of their own in imapclient.
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })
	defer stop()

	var c *imapclient.Client
	switch w.cfg.TLS {
	case "tls":
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		c = imapclient.New(tc, opts)
	case "starttls":
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("greeting of %s: %w", addr, err)
	}
	if !stop() {
		_ = c.Close()
		return nil, fmt.Errorf("connecting to %s: %w", addr, context.Cause(dctx))
	}
	return c, nil
}

func (w *Watcher) login(c *imapclient.Client, token string) error {
	if w.cfg.Token != nil {
		a, ok := mailer.OAuthSASL(c.Caps().AuthMechanisms(), w.cfg.OAuthMechanism, w.cfg.Username, token, w.cfg.Host, w.cfg.Port)
		if !ok {
			return fmt.Errorf("signing in as %s: the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER", w.cfg.Username)
		}
		if err := c.Authenticate(a); err != nil {
			// A token refused before its expiry: drop it, so the next
			// session refreshes it (and learns if the grant still stands).
			if inv, ok := w.cfg.Token.(interface{ Invalidate(string) }); ok {
				inv.Invalidate(token)
			}
			return fmt.Errorf("signing in as %s with OAuth2: %w", w.cfg.Username, err)
		}
		return nil
	}
	if err := c.Login(w.cfg.Username, w.cfg.Password).Wait(); err != nil {
		// The server's answer; the password is never part of it.
		return fmt.Errorf("logging in as %s: %w", w.cfg.Username, err)
	}
	return nil
}

// cursor returns the last handled UID for this UIDVALIDITY: the stored one,
// or 0 when the store has one of another UIDVALIDITY (the mailbox was
// recreated: read it all again; dedup by key keeps events single). With no
// cursor at all this is the first start on the mailbox: the cursor is
// created with the line between old mail and new at uidNext (the next UID
// the server will give, from SELECT), so that the line holds whichever
// instance reads on after a restart or a takeover.
func (w *Watcher) cursor(ctx context.Context, c *imapclient.Client, validity, uidNext uint32) (uint32, error) {
	cur, ok, err := w.h.Cursor(ctx, w.cfg.Sender)
	if err != nil {
		return 0, fmt.Errorf("reading mailbox cursor: %w", err)
	}
	if !ok {
		if uidNext == 0 {
			// RFC 2060 servers may leave UIDNEXT out of SELECT.
			if uidNext, err = w.uidNext(c); err != nil {
				return 0, err
			}
		}
		if err := w.h.CursorStart(ctx, w.cfg.Sender, validity, uidNext); err != nil {
			return 0, fmt.Errorf("creating mailbox cursor: %w", err)
		}
		cur, ok, err = w.h.Cursor(ctx, w.cfg.Sender)
		switch {
		case err != nil:
			return 0, fmt.Errorf("reading the new mailbox cursor: %w", err)
		case !ok:
			return 0, errors.New("reading the new mailbox cursor: not stored")
		}
		w.log.Info("first start on this mailbox: the mail already there is matched by Message-ID only",
			"uidvalidity", validity, "old_below_uid", cur.OldBelow)
	}
	w.mu.Lock()
	w.old.validity, w.old.below = cur.UIDValidity, cur.OldBelow
	w.mu.Unlock()
	if cur.UIDValidity != validity {
		w.log.Info("UIDVALIDITY changed; reading the mailbox again", "was", cur.UIDValidity, "now", validity)
		return 0, nil
	}
	return cur.LastUID, nil
}

// uidNext is one above the highest UID in the mailbox (1 when empty).
func (w *Watcher) uidNext(c *imapclient.Client) (uint32, error) {
	var all imap.UIDSet
	all.AddRange(1, 0) // 1:*
	list, err := c.Fetch(all, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return 0, fmt.Errorf("listing the mailbox: %w", err)
	}
	top := uint32(0)
	for _, m := range list {
		top = max(top, uint32(m.UID))
	}
	return top + 1, nil
}

// idle waits in IDLE for new mail, the renewal period, the end of the
// session, or the connection's end.
func (w *Watcher) idle(sctx context.Context, c *imapclient.Client, news <-chan struct{}) error {
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("starting IDLE: %w", err)
	}
	// IDLE is renewed with a look at the mailbox every Poll too: a net for
	// a lost notification, and a dead connection shows within a period.
	t := time.NewTimer(min(w.cfg.IdleRestart, w.cfg.Poll))
	defer t.Stop()
	select {
	case <-news:
	case <-t.C:
	case <-sctx.Done():
	case <-c.Closed():
		_ = cmd.Close()
		return errConnClosed
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("ending IDLE: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("ending IDLE: %w", err)
	}
	return nil
}

// poll waits one polling period (servers without IDLE).
func (w *Watcher) poll(sctx context.Context, c *imapclient.Client) error {
	t := time.NewTimer(w.cfg.Poll)
	defer t.Stop()
	select {
	case <-t.C:
	case <-sctx.Done():
	case <-c.Closed():
		return errConnClosed
	}
	return nil
}

// catchUp handles every message with a UID above *last, oldest first, in
// batches, advancing *last as each is recorded.
func (w *Watcher) catchUp(ctx context.Context, c *imapclient.Client, validity uint32, last *uint32) error {
	var from imap.UIDSet
	from.AddRange(imap.UID(*last+1), 0) // last+1:*
	list, err := c.Fetch(from, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return fmt.Errorf("listing new messages: %w", err)
	}
	var uids []imap.UID
	for _, m := range list {
		// "n:*" always includes the last message, even when its UID is
		// below n: only UIDs above the cursor are new.
		if uint32(m.UID) > *last {
			uids = append(uids, m.UID)
		}
	}
	slices.Sort(uids)
	uids = slices.Compact(uids)

	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: maxFetch}}
	for len(uids) > 0 {
		n := min(len(uids), fetchBatch)
		batch := uids[:n]
		uids = uids[n:]
		msgs, err := c.Fetch(imap.UIDSetNum(batch...), &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{section},
		}).Collect()
		if err != nil {
			return fmt.Errorf("fetching messages: %w", err)
		}
		byUID := make(map[imap.UID][]byte, len(msgs))
		for _, m := range msgs {
			byUID[m.UID] = m.FindBodySection(section)
		}
		for _, uid := range batch {
			raw, ok := byUID[uid]
			if !ok {
				continue // expunged meanwhile
			}
			if err := w.handle(ctx, validity, uint32(uid), raw); err != nil {
				return err
			}
			*last = uint32(uid)
		}
	}
	return nil
}

// handle has one message decided and recorded with the cursor. A message
// whose handling keeps failing is skipped after maxAttempts.
func (w *Watcher) handle(ctx context.Context, validity, uid uint32, raw []byte) error {
	w.mu.Lock()
	old := w.old.validity == validity && uid < w.old.below
	w.mu.Unlock()
	m := inbound.Fetched{Sender: w.cfg.Sender, UIDValidity: validity, UID: uid, Raw: raw, Own: w.cfg.Own, Old: old}

	h, err := w.h.Handle(ctx, m)
	key := uint64(validity)<<32 | uint64(uid)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		w.mu.Lock()
		w.failures[key]++
		n := w.failures[key]
		w.mu.Unlock()
		if n < maxAttempts {
			return fmt.Errorf("handling message UID %d: %w", uid, err)
		}
		// Once more before giving up, so that a store that was down a
		// while and is back does not cost a reply.
		h, err = w.h.Handle(ctx, m)
	}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		w.log.Error("skipping a message that cannot be handled", "uid", uid, "attempts", maxAttempts+1, "err", err)
		if err := w.h.Skip(ctx, m); err != nil {
			return fmt.Errorf("skipping message UID %d: %w", uid, err)
		}
		h = inbound.Handled{Kind: KindUnmatched, Note: "skipped: " + err.Error()}
	}
	h.Sender, h.UID = w.cfg.Sender, uid
	w.mu.Lock()
	delete(w.failures, key)
	w.mu.Unlock()

	if !h.Duplicate {
		w.cfg.Metrics.count(h.Kind)
	}
	switch {
	case h.Kind == KindUnmatched:
		// Newsletters, colleagues, old mail: common, and not news.
		w.log.Debug("inbound message unmatched", "uid", uid, "why", h.Note, "duplicate", h.Duplicate)
	case h.Kind == KindOwn:
		w.log.Debug("inbound message is our own", "uid", uid)
	case h.Kind == KindFlagged:
		// Mail that could be forged: a person should look (drip status E).
		w.log.Warn("inbound message flagged for review", "uid", uid, "enrollment", h.EnrollmentID, "duplicate", h.Duplicate)
	default:
		w.log.Info("inbound message handled", "uid", uid, "kind", h.Kind, "enrollment", h.EnrollmentID, "duplicate", h.Duplicate)
	}
	if w.cfg.OnHandled != nil {
		w.cfg.OnHandled(h)
	}
	return nil
}
