package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"

	"github.com/emersion/go-smtp"
)

// FailKind says what a failed delivery means for the engine.
type FailKind int

const (
	// Temporary: nothing was delivered; try again later (4xx, network
	// errors, timeouts, a connection lost before the final "." was sent).
	Temporary FailKind = iota + 1
	// RecipientRejected: the server refused the prospect's address (5xx at
	// RCPT, typically 550 5.1.1): a bounce.
	RecipientRejected
	// SenderFault: the mailbox or its configuration is at fault (AUTH
	// refused, 5xx at connect, EHLO or MAIL FROM, a bad certificate), not
	// the prospect: back off the whole sender, fail no prospect for it.
	SenderFault
	// Permanent: the message itself was refused (5xx to DATA or after it).
	Permanent
	// Ambiguous: the whole message including the final "." was sent but no
	// reply came; the server may have accepted it. Never send it again.
	Ambiguous
	// SenderUnreachable: the sender's server cannot be reached for now
	// (connection refused, DNS, a TLS handshake or greeting that fails, a
	// timeout, 4xx at connect or AUTH). Like SenderFault it is the
	// mailbox's problem, not the prospect's: hold the sender with backoff
	// and charge no prospect's step for it.
	SenderUnreachable
	// SenderQuota: the provider says the mailbox used up its sending quota
	// for the day (Gmail 550 5.4.5, Microsoft 365 554 5.2.0
	// SubmissionQuotaExceededException; see limits.go). Hold the sender
	// until its next day, like its own daily_limit; nothing was
	// delivered, and no prospect's step fails for it.
	SenderQuota
	// SenderThrottled: the provider slows the mailbox down for now (Gmail
	// 421 4.7.28 and 421 4.7.0 "try again later", Microsoft 365 432 4.3.2,
	// 550 5.2.25x "sender throttled"). Hold the sender with backoff; no
	// prospect's step fails for it.
	SenderThrottled
	// SenderBlocked: the provider has blocked the mailbox from sending
	// (Microsoft 365 5.1.8 "bad outbound sender", 5.7.501–503, Yahoo
	// [TSS09]): a person must act. Hold the sender until it is resumed by
	// hand (the circuit breaker's hold); no prospect's step fails for it.
	SenderBlocked
)

// SenderHeld reports whether k holds the sender rather than touching the
// prospect: the kinds for which no enrollment fails or bounces.
func (k FailKind) SenderHeld() bool {
	switch k {
	case SenderFault, SenderUnreachable, SenderQuota, SenderThrottled, SenderBlocked:
		return true
	}
	return false
}

var failKindNames = map[FailKind]string{
	Temporary:         "temporary",
	RecipientRejected: "recipient_rejected",
	SenderFault:       "sender_fault",
	Permanent:         "permanent",
	Ambiguous:         "ambiguous",
	SenderUnreachable: "sender_unreachable",
	SenderQuota:       "sender_quota",
	SenderThrottled:   "sender_throttled",
	SenderBlocked:     "sender_blocked",
}

func (k FailKind) String() string {
	if s, ok := failKindNames[k]; ok {
		return s
	}
	return "none"
}

// Stages of an SMTP delivery, as reported in SendError.Stage.
const (
	StageConnect = "connect" // dial, greeting, EHLO, TLS
	StageAuth    = "auth"
	StageMail    = "mail"
	StageRcpt    = "rcpt"
	StageData    = "data" // DATA, the message, and the reply to the final "."
)

// SendError is a failed delivery: what kind of failure, where, and the
// server's reply when there was one (Code 0 otherwise).
type SendError struct {
	Kind     FailKind
	Stage    string
	Code     int    // SMTP reply code, 0 when the server did not answer
	Enhanced string // "5.1.1", "" when absent
	Msg      string
	Err      error // the underlying error
	// Limit names the provider limit the reply means (SenderQuota,
	// SenderThrottled, SenderBlocked and some SenderFault), for logs and
	// status: "Gmail daily sending limit". Empty otherwise.
	Limit string
}

func (e *SendError) Error() string {
	kind := e.Kind.String()
	if e.Limit != "" {
		kind += ": " + e.Limit
	}
	if e.Code != 0 {
		ec := ""
		if e.Enhanced != "" {
			ec = e.Enhanced + " "
		}
		return fmt.Sprintf("smtp %s: %d %s%s (%s)", e.Stage, e.Code, ec, e.Msg, kind)
	}
	return fmt.Sprintf("smtp %s: %s (%s)", e.Stage, e.Msg, e.Kind)
}

func (e *SendError) Unwrap() error { return e.Err }

// Classify returns the kind of a Send error: 0 for nil, Temporary for an
// error that is not a *SendError.
func Classify(err error) FailKind {
	if err == nil {
		return 0
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Kind
	}
	return Temporary
}

// classify turns an error at stage into a SendError.
func classify(stage string, err error) *SendError {
	se := &SendError{Kind: Temporary, Stage: stage, Err: err}
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		se.Code = smtpErr.Code
		se.Msg = smtpErr.Message
		if ec := smtpErr.EnhancedCode; ec != smtp.EnhancedCodeNotSet && ec != smtp.NoEnhancedCode {
			se.Enhanced = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
		}
		if l, ok := matchLimit(se.Code, se.Enhanced, se.Msg); ok {
			// The mailbox's limit, whatever the stage: never the prospect's.
			se.Kind, se.Limit = l.kind, l.what
			return se
		}
		switch {
		case smtpErr.Code/100 != 5 && (stage == StageConnect || stage == StageAuth):
			// 421 at the greeting, 454 to AUTH: the server, for now.
			se.Kind = SenderUnreachable
		case smtpErr.Code/100 != 5:
			// 4xx, or a reply the protocol did not expect here.
		case stage == StageRcpt && senderProblemAtRcpt(se):
			se.Kind = SenderFault
		case stage == StageRcpt:
			se.Kind = RecipientRejected
		case stage == StageData:
			se.Kind = Permanent
		default:
			se.Kind = SenderFault
		}
		return se
	}
	se.Msg = err.Error()
	switch {
	case badTLS(err):
		se.Kind = SenderFault
	case errors.Is(err, context.Canceled):
		// Our own shutdown, not the server: try again soon.
	case transient(err) && (stage == StageConnect || stage == StageAuth):
		se.Kind = SenderUnreachable
	case transient(err):
	case stage == StageConnect || stage == StageAuth:
		// Not the network, not the server's word: a local or protocol
		// mismatch (no STARTTLS offered, an unexpected SASL challenge).
		se.Kind = SenderFault
	}
	return se
}

// senderProblemAtRcpt spots the RCPT rejections that are about the sender,
// not the recipient: authentication required (530) and relaying denied
// (5.7.x naming "relay", as Postfix and Exchange word it). Bouncing every
// prospect of a misconfigured mailbox would be far worse than pausing it.
func senderProblemAtRcpt(se *SendError) bool {
	return se.Code == 530 ||
		strings.HasPrefix(se.Enhanced, "5.7.") && strings.Contains(strings.ToLower(se.Msg), "relay")
}

func badTLS(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
	)
	return errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &uae) ||
		errors.As(err, &he) || errors.As(err, &cie)
}

func transient(err error) bool {
	var ne net.Error
	var pe textproto.ProtocolError
	return errors.As(err, &ne) || errors.As(err, &pe) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// staleConn reports a reused connection the server had already given up:
// closed under us, or a 421 "closing" reply.
func staleConn(se *SendError) bool {
	if se.Code == 421 {
		return true
	}
	var ne net.Error
	if errors.As(se.Err, &ne) && ne.Timeout() {
		return false
	}
	return se.Code == 0 && (errors.Is(se.Err, io.EOF) || errors.Is(se.Err, io.ErrUnexpectedEOF) ||
		errors.Is(se.Err, syscall.ECONNRESET) || errors.Is(se.Err, syscall.EPIPE))
}
