package sequencer

import (
	"fmt"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

// Sequence is a configured sequence with its loaded templates.
type Sequence struct {
	Config    *configs.Sequence
	Templates *templates.Set // as loaded at start

	reloaded atomic.Pointer[templates.Set]
}

// ReloadTemplates makes every later send use set (templates edited while
// the engine runs; the contract: an edited template applies to every
// later send).
func (s *Sequence) ReloadTemplates(set *templates.Set) { s.reloaded.Store(set) }

// templates is the set in use.
func (s *Sequence) templates() *templates.Set {
	if t := s.reloaded.Load(); t != nil {
		return t
	}
	return s.Templates
}

// Sender is a configured mailbox as the engine uses it.
type Sender struct {
	Config    *configs.Sender
	FromName  string
	FromEmail string
	Location  *time.Location // where its day (daily_limit) begins
	Transport Transport
}

// NewSender resolves a configured sender; transport may be nil for
// commands that only compose (preview).
func NewSender(c *configs.Sender, transport Transport) (*Sender, error) {
	addr, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("sender %s: from %q: %w", c.Name, c.From, err)
	}
	loc := time.UTC
	if c.Timezone != "" {
		if loc, err = time.LoadLocation(c.Timezone); err != nil {
			return nil, fmt.Errorf("sender %s: timezone: %w", c.Name, err)
		}
	}
	return &Sender{Config: c, FromName: addr.Name, FromEmail: addr.Address, Location: loc, Transport: transport}, nil
}

// domain is the host part of the sender's address, for Message-IDs.
func (s *Sender) domain() string {
	if i := strings.LastIndexByte(s.FromEmail, '@'); i >= 0 {
		return s.FromEmail[i+1:]
	}
	return "localhost"
}

// Location resolves the zone a prospect's schedule is read in: its own
// time zone, else the sequence's.
func Location(p store.Prospect, seq *configs.Sequence) *time.Location {
	if p.Timezone != "" {
		if loc, err := time.LoadLocation(p.Timezone); err == nil {
			return loc
		}
	}
	if seq.Location != nil {
		return seq.Location
	}
	return time.UTC
}

// Composed is a step rendered into a message, with what the enrollment
// keeps of it once it is sent.
type Composed struct {
	Message       mailer.Message
	ThreadSubject string // the enrollment's thread subject after this send
	ThreadRefs    string // the enrollment's thread references after this send
}

// Compose renders step of seq for prospect p on enrollment e into the
// message that goes out, with threading per the contract: with thread:
// true, the first message sent starts the thread and every later one is
// "Re: " + its subject, In-Reply-To the previous message, References the
// root first and the previous one last.
func Compose(seq *Sequence, snd *Sender, p store.Prospect, e store.Enrollment, step int,
	messageID, unsubscribeURL string, now time.Time) (Composed, error) {
	loc := Location(p, seq.Config)
	r, err := seq.templates().Render(step, templates.Data{
		Prospect: templates.Prospect{
			Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, Company: p.Company,
			Title: p.Title, Phone: p.Phone, MetAt: p.MetAt, Language: p.Language,
			FirstContact: e.FirstContact.In(loc), Fields: p.Fields,
		},
		Sender:         templates.Sender{Name: snd.Config.Name, FromName: snd.FromName, Email: snd.FromEmail},
		Step:           step,
		Steps:          seq.Config.Steps,
		UnsubscribeURL: unsubscribeURL,
	})
	if err != nil {
		return Composed{}, err
	}
	m := mailer.Message{
		FromName: snd.FromName, FromEmail: snd.FromEmail,
		ToName:  strings.TrimSpace(p.FirstName + " " + p.LastName),
		ToEmail: p.Email,
		Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		MessageID: messageID, Date: now.In(loc),
		UnsubscribeURL: unsubscribeURL,
	}
	c := Composed{Message: m}
	if !seq.Config.Thread {
		return c, nil
	}
	refs := strings.Fields(e.ThreadRefs)
	if len(refs) == 0 {
		c.ThreadSubject = r.Subject
	} else {
		c.ThreadSubject = e.ThreadSubject
		c.Message.Subject = reply(e.ThreadSubject)
		c.Message.InReplyTo = refs[len(refs)-1]
		c.Message.References = refs
	}
	c.ThreadRefs = strings.Join(trimRefs(append(refs, messageID)), " ")
	return c, nil
}

// reply prefixes "Re: " once.
func reply(subject string) string {
	if len(subject) >= 3 && strings.EqualFold(subject[:3], "re:") {
		return subject
	}
	return "Re: " + subject
}

// trimRefs keeps the thread root and the latest ones (mailer.MaxReferences in all).
func trimRefs(refs []string) []string {
	if len(refs) <= mailer.MaxReferences {
		return refs
	}
	return append([]string{refs[0]}, refs[len(refs)-mailer.MaxReferences+1:]...)
}
