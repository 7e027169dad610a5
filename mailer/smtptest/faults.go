package smtptest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Stage is where in a session a fault strikes.
type Stage string

const (
	AtConnect Stage = "connect" // before the greeting
	AtAuth    Stage = "auth"    // when the credentials are checked
	AtMail    Stage = "mail"    // MAIL FROM
	AtRcpt    Stage = "rcpt"    // RCPT TO
	// BeforeData strikes at the command that follows an accepted RCPT:
	// DATA, for a single-recipient message as drip sends them. The client
	// never sees 354, so none of the body leaves it. Drop and Stall only.
	BeforeData Stage = "before-data"
	// AtData strikes while the body arrives, after AfterBytes of it. A
	// client that has written its whole message (anything smaller than
	// the socket buffers, i.e. a few MB) before it notices cannot tell
	// this from a drop after the final ".": use BeforeData to make it
	// fail before the body is sent.
	AtData Stage = "data"
	AtDot  Stage = "dot" // after the final ".", before the reply
)

// Action is what a fault does.
type Action int

const (
	Reply Action = iota // answer with Code (AtData: same as AtDot)
	Drop                // close the TCP connection without a word
	Stall               // stop answering for Fault.Stall, then carry on
)

// Fault is an injected failure. Set them with Server.SetFault; they stay
// until replaced, or until they fired Times times.
type Fault struct {
	Stage    Stage
	Action   Action
	Code     int    // Reply; 0 = 451
	Enhanced [3]int // Reply; zero: go-smtp's X.0.0
	Text     string // Reply
	// Stall is how long to stop answering; 0 = until the faults change or
	// the server closes.
	Stall time.Duration
	// Rcpts limits an AtRcpt fault to these recipients (case-insensitive);
	// empty = every recipient.
	Rcpts []string
	// AfterBytes is how much of the body an AtData fault lets through.
	AfterBytes int
	// Times is how often the fault fires before it is cleared; 0 = always.
	Times int

	fired    int
	released <-chan struct{}
}

// RejectConnect answers a new connection with 421 instead of a greeting.
func RejectConnect() Fault {
	return Fault{Stage: AtConnect, Code: 421, Enhanced: [3]int{4, 3, 2}, Text: "Service not available, try again later"}
}

// FailAuth refuses any credentials with 535 5.7.8.
func FailAuth() Fault {
	return Fault{Stage: AtAuth, Code: 535, Enhanced: [3]int{5, 7, 8}, Text: "Authentication credentials invalid"}
}

// RejectMail refuses the envelope sender with 553 5.7.1.
func RejectMail() Fault {
	return Fault{Stage: AtMail, Code: 553, Enhanced: [3]int{5, 7, 1}, Text: "Sender address rejected"}
}

// TempFailRcpt answers RCPT with 451 4.3.0.
func TempFailRcpt() Fault {
	return Fault{Stage: AtRcpt, Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Temporary failure, try again later"}
}

// UnknownUser answers RCPT for addrs (all recipients when none) with
// 550 5.1.1.
func UnknownUser(addrs ...string) Fault {
	return Fault{Stage: AtRcpt, Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such user here", Rcpts: addrs}
}

// RejectContent refuses the message after its final "." with 554 5.6.0.
func RejectContent() Fault {
	return Fault{Stage: AtDot, Code: 554, Enhanced: [3]int{5, 6, 0}, Text: "Message content rejected"}
}

// DropBeforeData closes the connection when the client sends DATA, before
// the 354: deterministically "connection lost, message not sent".
func DropBeforeData() Fault {
	return Fault{Stage: BeforeData, Action: Drop}
}

// DropInData closes the connection after afterBytes of the body arrived
// (see AtData for what the client can tell).
func DropInData(afterBytes int) Fault {
	return Fault{Stage: AtData, Action: Drop, AfterBytes: afterBytes}
}

// DropAfterDot accepts the whole message (it is recorded) and closes the
// connection instead of replying: the client cannot know it was delivered.
func DropAfterDot() Fault {
	return Fault{Stage: AtDot, Action: Drop}
}

// StallAt stops answering at stage for d (0: until the faults change).
func StallAt(stage Stage, d time.Duration) Fault {
	return Fault{Stage: stage, Action: Stall, Stall: d}
}

// SetFault replaces the active faults; SetFault() clears them. Stalls in
// progress end.
func (s *Server) SetFault(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = s.faults[:0]
	for _, f := range faults {
		s.faults = append(s.faults, &f)
	}
	close(s.released)
	s.released = make(chan struct{})
}

// take returns a copy of the first fault for stage (and recipient), and
// counts it as fired.
func (s *Server) take(stage Stage, rcpt string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Stage != stage && !(stage == AtDot && f.Stage == AtData && f.Action == Reply) {
			continue
		}
		if stage == AtData && f.Action == Reply {
			continue
		}
		if len(f.Rcpts) > 0 && !containsFold(f.Rcpts, rcpt) {
			continue
		}
		f.fired++
		if f.Times > 0 && f.fired >= f.Times {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		c.released = s.released
		return &c
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

var errDropped = errors.New("smtptest: connection dropped by fault")

// fault applies the fault for stage, if any: an error to answer with, or
// nil to carry on.
func (s *Server) fault(conn net.Conn, stage Stage, rcpt string) error {
	f := s.take(stage, rcpt)
	if f == nil {
		return nil
	}
	if f.Action == Reply {
		return f.smtpError()
	}
	return s.act(conn, f)
}

// act drops or stalls conn.
func (s *Server) act(conn net.Conn, f *Fault) error {
	switch f.Action {
	case Drop:
		_ = conn.Close()
		return errDropped
	case Stall:
		var timeout <-chan time.Time
		if f.Stall > 0 {
			t := time.NewTimer(f.Stall)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-timeout:
		case <-f.released:
		case <-s.done:
			return errDropped
		}
	}
	return nil
}

func (f *Fault) text() string {
	if f.Text != "" {
		return f.Text
	}
	return "Injected failure"
}

func (f *Fault) smtpError() *smtp.SMTPError {
	if f.Code == 0 {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: f.text()}
	}
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCode(f.Enhanced), Message: f.text()}
}

func (f *Fault) replyLine() string {
	if f.Code == 0 {
		return "451 4.3.0 " + f.text()
	}
	if f.Enhanced == [3]int{} {
		return fmt.Sprintf("%d %s", f.Code, f.text())
	}
	return fmt.Sprintf("%d %d.%d.%d %s", f.Code, f.Enhanced[0], f.Enhanced[1], f.Enhanced[2], f.text())
}
