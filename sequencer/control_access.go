package sequencer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

// ProspectExport is everything drip holds about one prospect, the answer
// to a data subject's access request: `drip export E` and GET
// /api/v1/prospects/{email}/export. Times are RFC 3339 in the prospect's
// zone.
type ProspectExport struct {
	ExportedAt  time.Time            `json:"exported_at"`
	Prospect    ExportedProspect     `json:"prospect"`
	Enrollments []ExportedEnrollment `json:"enrollments"`
	// Messages are the sends of every step, in enrollment and step order,
	// each with its text re-rendered (see MessageText).
	Messages []ExportedMessage `json:"messages"`
	// Events is the whole timeline as stored, oldest first: what drip did,
	// and every inbound message it matched to the prospect (Inbound).
	Events []ExportedEvent `json:"events"`
	// MessageText says how the messages' text was obtained.
	MessageText string `json:"message_text"`
}

// ExportedProspect is the prospect as stored, with the basis lifted out
// of its custom fields.
type ExportedProspect struct {
	ProspectInfo
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ExportedEnrollment is an enrollment as stored.
type ExportedEnrollment struct {
	Sequence      string      `json:"sequence"`
	Sender        string      `json:"sender"`
	State         store.State `json:"state"`
	FirstContact  time.Time   `json:"first_contact"`
	Anchor        time.Time   `json:"anchor"`
	PausedAt      *time.Time  `json:"paused_at"`
	LastStep      int         `json:"last_step"`
	LastSentAt    *time.Time  `json:"last_sent_at"`
	NextSendAt    *time.Time  `json:"next_send_at"`
	ThreadSubject string      `json:"thread_subject"`
	ThreadRefs    []string    `json:"thread_references"`
	Reason        string      `json:"reason"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// ExportedMessage is one step's send record and its text.
type ExportedMessage struct {
	Sequence   string           `json:"sequence"`
	Step       int              `json:"step"`
	Sender     string           `json:"sender"`
	Status     store.SendStatus `json:"status"`
	MessageID  string           `json:"message_id"`
	Attempts   int              `json:"attempts"`
	PlannedAt  *time.Time       `json:"planned_at"`
	StartedAt  *time.Time       `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at"`
	Error      string           `json:"error"`
	// Subject, Text and HTML are the message re-rendered; empty, with
	// RenderError saying why, when it cannot be (a sequence no longer
	// configured). Skipped steps were never written, and have no text.
	Subject     string `json:"subject"`
	Text        string `json:"text"`
	HTML        string `json:"html,omitempty"`
	RenderError string `json:"render_error,omitempty"`
}

// ExportedEvent is one timeline entry as stored.
type ExportedEvent struct {
	At        time.Time       `json:"at"`
	Kind      store.EventKind `json:"kind"`
	Inbound   bool            `json:"inbound"` // a message that arrived in the sender's mailbox
	Sequence  string          `json:"sequence"`
	Step      int             `json:"step"`
	MessageID string          `json:"message_id"`
	Detail    string          `json:"detail"`
}

// inboundKinds are the timeline kinds recorded from an inbound message.
var inboundKinds = map[store.EventKind]bool{
	store.EventReply: true, store.EventAutoReply: true, store.EventBounce: true, store.EventUnsubscribe: true,
	store.EventDelayed: true, "deferred": true, "left": true, "flagged": true,
}

// exportMessageText is ProspectExport.MessageText.
const exportMessageText = "re-rendered: drip does not keep the text of what it sends; each message is rendered again " +
	"from the sequence's current templates and the prospect's current data, at its send time, in the prospect's language. " +
	"It differs from what was sent when either changed since. The unsubscribe link is not reproduced."

// ExportProspect gathers everything drip holds about the prospect with
// this address. A forgotten or unknown address is not found.
func (c *Control) ExportProspect(ctx context.Context, email string) (ProspectExport, error) {
	p, err := c.Prospect(ctx, email)
	if err != nil {
		return ProspectExport{}, err
	}
	v, err := c.view(ctx, p)
	if err != nil {
		return ProspectExport{}, err
	}
	loc, err := time.LoadLocation(v.Prospect.Timezone)
	if err != nil {
		loc = time.UTC
	}
	at := func(t time.Time) time.Time { return t.In(loc) }
	atPtr := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		x := at(*t)
		return &x
	}
	out := ProspectExport{
		ExportedAt:  at(c.now()),
		Prospect:    ExportedProspect{ProspectInfo: v.Prospect, CreatedAt: at(p.CreatedAt), UpdatedAt: at(p.UpdatedAt)},
		Enrollments: []ExportedEnrollment{},
		Messages:    []ExportedMessage{},
		Events:      []ExportedEvent{},
		MessageText: exportMessageText,
	}
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return ProspectExport{}, fmt.Errorf("reading enrollments: %w", err)
	}
	sets := map[string]*Sequence{}
	for _, e := range ens {
		out.Enrollments = append(out.Enrollments, ExportedEnrollment{
			Sequence: e.Sequence, Sender: e.Sender, State: e.State, FirstContact: at(e.FirstContact),
			Anchor: at(e.Anchor), PausedAt: atPtr(e.PausedAt), LastStep: e.LastStep, LastSentAt: atPtr(e.LastSentAt),
			NextSendAt: atPtr(e.NextSendAt), ThreadSubject: e.ThreadSubject, ThreadRefs: strings.Fields(e.ThreadRefs),
			Reason: e.Reason, CreatedAt: at(e.CreatedAt), UpdatedAt: at(e.UpdatedAt),
		})
		sends, err := c.Store.SendsByEnrollment(ctx, e.ID)
		if err != nil {
			return ProspectExport{}, fmt.Errorf("reading sends: %w", err)
		}
		for _, s := range sends {
			m := ExportedMessage{Sequence: e.Sequence, Step: s.Step, Sender: s.Sender, Status: s.Status,
				MessageID: s.MessageID, Attempts: s.Attempts, PlannedAt: atPtr(s.PlannedAt),
				StartedAt: atPtr(s.StartedAt), FinishedAt: atPtr(s.FinishedAt), Error: s.Error}
			if s.Status != store.SendSkipped {
				c.rerender(&m, sets, p, e, s)
			}
			out.Messages = append(out.Messages, m)
		}
	}
	events, err := c.Store.Timeline(ctx, p.ID)
	if err != nil {
		return ProspectExport{}, fmt.Errorf("reading timeline: %w", err)
	}
	for _, e := range events {
		out.Events = append(out.Events, ExportedEvent{At: at(e.At), Kind: e.Kind, Inbound: inboundKinds[e.Kind],
			Sequence: e.Sequence, Step: e.Step, MessageID: e.MessageID, Detail: e.Detail})
	}
	return out, nil
}

// rerender fills m's text: step s of enrollment e rendered for p as the
// engine composes it (the thread's "Re:" subject included), at the time it
// was sent.
func (c *Control) rerender(m *ExportedMessage, sets map[string]*Sequence, p store.Prospect, e store.Enrollment, s store.Send) {
	seq, ok := sets[e.Sequence]
	if !ok {
		if cfg, configured := c.Config.Sequences[e.Sequence]; configured {
			if set, err := templates.LoadSet(filepath.Join(c.Config.TemplatesDir, cfg.Templates), cfg); err == nil {
				seq = &Sequence{Config: cfg, Templates: set}
			}
		}
		sets[e.Sequence] = seq
	}
	if seq == nil {
		m.RenderError = fmt.Sprintf("sequence %s is no longer configured, or its templates do not load", e.Sequence)
		return
	}
	sc, ok := c.Config.Sender(s.Sender)
	if !ok {
		sc = c.Config.DefaultSender()
	}
	if sc == nil {
		m.RenderError = "no sender is configured"
		return
	}
	snd, err := NewSender(sc, nil)
	if err != nil {
		m.RenderError = err.Error()
		return
	}
	// Step 1 started the thread; a later step replied in it.
	e.ThreadRefs = ""
	if seq.Config.Thread && s.Step > 1 && e.ThreadSubject != "" {
		e.ThreadRefs = "<thread>"
	}
	when := c.now()
	for _, t := range []*time.Time{s.FinishedAt, s.StartedAt} {
		if t != nil {
			when = *t
			break
		}
	}
	unsub := strings.TrimRight(c.Config.HTTP.PublicURL, "/") + "/u/…"
	composed, err := Compose(seq, snd, p, e, s.Step, s.MessageID, unsub, when)
	if err != nil {
		m.RenderError = err.Error()
		return
	}
	m.Subject, m.Text, m.HTML = composed.Message.Subject, composed.Message.Text, composed.Message.HTML
}
