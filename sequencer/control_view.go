package sequencer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

// ProspectView is a prospect, its enrollments and its timeline: the body
// of GET /api/v1/prospects/{email} and what `drip status E` prints. Times
// are in the prospect's time zone, to the second.
type ProspectView struct {
	Prospect    ProspectInfo     `json:"prospect"`
	Enrollments []EnrollmentView `json:"enrollments"`
	Timeline    []TimelineEntry  `json:"timeline"`
}

// ProspectInfo is the prospect part of a ProspectView.
type ProspectInfo struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Title     string `json:"title"`
	Phone     string `json:"phone"`
	MetAt     string `json:"met_at"`
	// Timezone is the zone its schedule is read in: its own, else that of
	// the sequence it is enrolled in.
	Timezone   string            `json:"timezone"`
	Language   string            `json:"language"`
	Notes      string            `json:"notes"`
	Suppressed bool              `json:"suppressed"`
	Fields     map[string]string `json:"fields"` // the custom fields, without the basis and country
	// Basis is the lawful basis on record (basis, basis_date,
	// basis_source) and the country.
	Basis
}

// EnrollmentView is one enrollment of a ProspectView.
type EnrollmentView struct {
	Sequence string      `json:"sequence"`
	Sender   string      `json:"sender"`
	State    store.State `json:"state"`
	Steps    int         `json:"steps"` // of the sequence as configured (0: no longer configured)
	LastStep int         `json:"last_step"`
	// NextStep and NextSendAt are the step planned next and its time by the
	// rules R1–R5; null when nothing is planned (paused or ended).
	NextStep     *int       `json:"next_step"`
	NextSendAt   *time.Time `json:"next_send_at"`
	FirstContact time.Time  `json:"first_contact"`
	PausedAt     *time.Time `json:"paused_at,omitempty"`
	Reason       string     `json:"reason,omitempty"` // why it stopped or failed
	// Successor: who took over, when the enrollment ended left and the
	// auto-reply named them.
	Successor *SuccessorView `json:"successor,omitempty"`
}

// TimelineEntry is one event of a ProspectView.
type TimelineEntry struct {
	At        time.Time       `json:"at"`
	Kind      store.EventKind `json:"kind"`
	Sequence  string          `json:"sequence"`
	Step      int             `json:"step"`
	MessageID string          `json:"message_id,omitempty"`
	Detail    string          `json:"detail,omitempty"`
}

// ProspectView reads a prospect by address.
func (c *Control) ProspectView(ctx context.Context, email string) (ProspectView, error) {
	p, err := c.Prospect(ctx, email)
	if err != nil {
		return ProspectView{}, err
	}
	return c.view(ctx, p)
}

func (c *Control) view(ctx context.Context, p store.Prospect) (ProspectView, error) {
	ens, err := c.Store.EnrollmentsByProspect(ctx, p.ID)
	if err != nil {
		return ProspectView{}, fmt.Errorf("reading enrollments: %w", err)
	}
	events, err := c.Store.Timeline(ctx, p.ID)
	if err != nil {
		return ProspectView{}, fmt.Errorf("reading timeline: %w", err)
	}
	suppressed, err := c.Store.Suppressed(ctx, p.Email)
	if err != nil {
		return ProspectView{}, fmt.Errorf("checking the suppression list: %w", err)
	}

	// One zone for the whole view: the prospect's own, else the sequence's
	// of its first enrollment that is still configured.
	loc := time.UTC
	if p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	} else {
		for _, e := range ens {
			if seq, ok := c.Config.Sequences[e.Sequence]; ok {
				loc = Location(p, seq)
				break
			}
		}
	}
	at := func(t time.Time) time.Time { return t.In(loc).Truncate(time.Second) }
	atPtr := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := at(*t)
		return &v
	}

	basis, fields := BasisOf(p.Fields)
	v := ProspectView{
		Prospect: ProspectInfo{
			Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, Company: p.Company,
			Title: p.Title, Phone: p.Phone, MetAt: p.MetAt, Timezone: loc.String(),
			Language: p.Language, Notes: p.Notes, Suppressed: suppressed, Fields: fields, Basis: basis,
		},
		Enrollments: make([]EnrollmentView, 0, len(ens)),
		Timeline:    make([]TimelineEntry, 0, len(events)),
	}
	now := c.now()
	for _, e := range ens {
		ev := EnrollmentView{
			Sequence: e.Sequence, Sender: e.Sender, State: e.State, LastStep: e.LastStep,
			FirstContact: at(e.FirstContact), PausedAt: atPtr(e.PausedAt), Reason: e.Reason,
			Successor: successorView(e),
		}
		if step, when := c.nextSend(p, e, now); step > 0 {
			ev.NextStep, ev.NextSendAt = &step, atPtr(&when)
		}
		if seq, ok := c.Config.Sequences[e.Sequence]; ok {
			ev.Steps = seq.Steps
		}
		v.Enrollments = append(v.Enrollments, ev)
	}
	for _, e := range events {
		v.Timeline = append(v.Timeline, TimelineEntry{
			At: at(e.At), Kind: e.Kind, Sequence: e.Sequence, Step: e.Step,
			MessageID: e.MessageID, Detail: e.Detail,
		})
	}
	if entry, ok := basisEntry(basis, p, loc); ok {
		v.Timeline = insertByTime(v.Timeline, entry)
	}
	return v, nil
}

// nextSend is the step an active enrollment sends next and when, by the
// rules; step 0 when nothing is planned. The engine does not claim the
// enrollment before its stored NextSendAt (a retry's backoff, a sender's
// daily cap), so the later of the two is when it will go.
func (c *Control) nextSend(p store.Prospect, e store.Enrollment, now time.Time) (step int, at time.Time) {
	if e.State != store.StateActive {
		return 0, time.Time{}
	}
	seq, ok := c.Config.Sequences[e.Sequence]
	if !ok {
		if e.NextSendAt == nil {
			return 0, time.Time{}
		}
		return e.LastStep + 1, *e.NextSendAt
	}
	d := Decide(e, seq, Location(p, seq), now)
	if d.Action != Wait && d.Action != Send {
		return 0, time.Time{}
	}
	at = d.At
	if e.NextSendAt != nil && e.NextSendAt.After(at) {
		at = *e.NextSendAt
	}
	return d.Step, at
}

// SequenceStats is the funnel of a sequence: GET
// /api/v1/sequences/{name}/stats and a table of `drip status`.
type SequenceStats struct {
	Sequence string `json:"sequence"`
	Steps    int    `json:"steps"` // as configured; 0 when no longer configured
	// Enrollments counts the sequence's enrollments by state, every state.
	Enrollments map[store.State]int `json:"enrollments"`
	// Funnel has a row per step with any activity, in step order.
	Funnel []StepStats `json:"funnel"`
	Total  StepStats   `json:"total"` // the sum of the funnel (Step 0)
	// Languages is the funnel by the prospects' language, summed over the
	// steps: one row per language (by its base: "it" for "it-IT" and
	// "Italiano"; "" for prospects without one, last), by language.
	Languages []LanguageStats `json:"languages"`
}

// LanguageStats is the funnel of a sequence for the prospects of one
// language. Step is 0.
type LanguageStats struct {
	Language string `json:"language"` // "" = none given
	StepStats
	Enrollments int `json:"enrollments"`
}

// StepStats is one row of the funnel.
type StepStats struct {
	Step         int `json:"step"`
	Sent         int `json:"sent"` // accepted by the mail server
	Replied      int `json:"replied"`
	AutoReplies  int `json:"auto_replies"`
	Bounced      int `json:"bounced"`
	Unsubscribed int `json:"unsubscribed"`
	Skipped      int `json:"skipped"`
	Failed       int `json:"failed"`
	Unknown      int `json:"unknown"`
	// ReplyRate is human replies per email sent (auto-replies are not
	// replies), 0..1; 0 when nothing was sent.
	ReplyRate float64 `json:"reply_rate"`
}

func (s *StepStats) add(o store.StepStats) {
	s.Sent += o.Sent
	s.Replied += o.Replied
	s.AutoReplies += o.AutoReplies
	s.Bounced += o.Bounced
	s.Unsubscribed += o.Unsubscribed
	s.Skipped += o.Skipped
	s.Failed += o.Failed
	s.Unknown += o.Unknown
}

func (s *StepStats) rate() {
	if s.Sent > 0 {
		s.ReplyRate = float64(s.Replied) / float64(s.Sent)
	}
}

// Stats is the funnel of one sequence. A sequence that is neither
// configured nor has enrollments is not found.
func (c *Control) Stats(ctx context.Context, sequence string) (SequenceStats, error) {
	seq, configured := c.Config.Sequences[sequence]
	st, err := c.Store.SequenceStats(ctx, sequence)
	if err != nil {
		return SequenceStats{}, fmt.Errorf("reading statistics: %w", err)
	}
	out := SequenceStats{Sequence: sequence, Enrollments: map[store.State]int{}, Funnel: []StepStats{}}
	if configured {
		out.Steps = seq.Steps
	}
	total := 0
	for _, s := range store.States {
		out.Enrollments[s] = st.States[s]
		total += st.States[s]
	}
	if !configured && total == 0 {
		return SequenceStats{}, notFoundf("no sequence %q", sequence)
	}
	for _, s := range st.Steps {
		row := StepStats{Step: s.Step}
		row.add(s)
		row.rate()
		out.Funnel = append(out.Funnel, row)
		out.Total.add(s)
	}
	out.Total.rate()
	if out.Languages, err = c.languageStats(ctx, sequence); err != nil {
		return SequenceStats{}, err
	}
	return out, nil
}

// languageStats folds the store's rows by language key.
func (c *Control) languageStats(ctx context.Context, sequence string) ([]LanguageStats, error) {
	rows, err := c.Store.SequenceLanguageStats(ctx, sequence)
	if err != nil {
		return nil, fmt.Errorf("reading statistics by language: %w", err)
	}
	by := map[string]*LanguageStats{}
	for _, r := range rows {
		k := templates.LanguageKey(r.Language)
		if by[k] == nil {
			by[k] = &LanguageStats{Language: k}
		}
		by[k].add(r.StepStats)
		for _, n := range r.States {
			by[k].Enrollments += n
		}
	}
	out := make([]LanguageStats, 0, len(by))
	for _, l := range by {
		l.rate()
		out = append(out, *l)
	}
	// By language, the prospects without one last.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Language, out[j].Language
		if a == "" || b == "" {
			return b == "" && a != ""
		}
		return a < b
	})
	return out, nil
}

// StatsAll is the funnel of every configured sequence and of every
// sequence that still has enrollments, by name.
func (c *Control) StatsAll(ctx context.Context) ([]SequenceStats, error) {
	names := map[string]bool{}
	for name := range c.Config.Sequences {
		names[name] = true
	}
	counts, err := c.Store.EnrollmentCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting enrollments: %w", err)
	}
	for name := range counts {
		names[name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := make([]SequenceStats, 0, len(sorted))
	for _, n := range sorted {
		s, err := c.Stats(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
